// SPDX-License-Identifier: MIT
/*
 * netpollsim's entry point: a table of subcommands, each in its own file (cli/cli.h), and the
 * top-level help. Nothing else happens here.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
    {"run", cmd_run, "run a scenario on the simulated Go runtime (live or headless)"},
    {"scenarios", cmd_scenarios, "list the scenarios and what each one teaches"},
    {"check", cmd_check, "validate a recorded trace against netpoll's rules"},
    {"replay", cmd_replay, "replay a recorded trace (narration, pacing)"},
    {"export", cmd_export, "convert a trace for Perfetto / chrome://tracing or jq"},
    {"trace", cmd_trace, "show the kernel's epoll view of any process (eBPF)"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: netpollsim COMMAND [OPTIONS]\n\n"
		     "Go's network poller, re-implemented in C and shown at work.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(out,
		"\n'netpollsim COMMAND --help' shows a command's options.\n"
		"examples:\n"
		"  netpollsim run --scenario echo\n"
		"  netpollsim run --scenario deadline --no-ui --narrate --record deadline.jsonl\n"
		"  netpollsim replay deadline.jsonl --no-ui --narrate\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return NPS_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return NPS_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "netpollsim: unknown command '%s' (try 'netpollsim --help')\n", argv[1]);
	return NPS_EXIT_USAGE;
}
