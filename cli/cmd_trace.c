// SPDX-License-Identifier: MIT
/* Placeholder until the trace command lands; it says so and fails. */
#include "cli/cli.h"

#include <stdio.h>

int cmd_trace(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "netpollsim trace: not implemented yet\n");
	return NPS_EXIT_FAIL;
}
