// SPDX-License-Identifier: MIT
/* Placeholder until the check command lands; it says so and fails. */
#include "cli/cli.h"

#include <stdio.h>

int cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "netpollsim check: not implemented yet\n");
	return NPS_EXIT_FAIL;
}
