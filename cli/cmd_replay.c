// SPDX-License-Identifier: MIT
/* Placeholder until the replay command lands; it says so and fails. */
#include "cli/cli.h"

#include <stdio.h>

int cmd_replay(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "netpollsim replay: not implemented yet\n");
	return NPS_EXIT_FAIL;
}
