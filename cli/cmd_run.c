// SPDX-License-Identifier: MIT
/* Placeholder until the run command lands; it says so and fails. */
#include "cli/cli.h"

#include <stdio.h>

int cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "netpollsim run: not implemented yet\n");
	return NPS_EXIT_FAIL;
}

int cmd_scenarios(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "netpollsim scenarios: not implemented yet\n");
	return NPS_EXIT_FAIL;
}
