// SPDX-License-Identifier: MIT
/*
 * netpollsim's entry point: a table of subcommands, each in its own file (cli/cli.h), the
 * top-level help, and what every command needs around it (standard descriptors that are open).
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/*
 * A standard descriptor closed by the caller (`>&-`, `2>&-`) is given /dev/null before anything
 * is opened: otherwise the first file a command opens (the trace being recorded, the export's
 * output) takes its number, and what the command prints to stdout or stderr lands in that file.
 * 0, or -1 when /dev/null cannot be opened.
 */
static int open_std_fds(void)
{
	static const char *const names[] = {"standard input", "standard output", "standard error"};
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* the lowest free number: fd itself, since those below it are open by now */
		int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n == fd)
			continue;
		int err = n < 0 ? errno : EBADF;
		if (n >= 0)
			close(n);
		/* when stderr is the one closed, the exit status alone tells */
		fprintf(stderr,
			"netpollsim: %s is closed and /dev/null cannot take its place: %s\n",
			names[fd], strerror(err));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (open_std_fds())
		return NPS_EXIT_FAIL;
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
