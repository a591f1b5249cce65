// SPDX-License-Identifier: MIT
/* Placeholder until the export command lands; it says so and fails. */
#include "cli/cli.h"

#include <stdio.h>

int cmd_export(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "netpollsim export: not implemented yet\n");
	return NPS_EXIT_FAIL;
}
