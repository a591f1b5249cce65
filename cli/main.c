// SPDX-License-Identifier: MIT
/*
 * netpollsim's entry point: a table of subcommands, each in its own file (cli/cli.h), the
 * top-level help, and what every command needs around it: standard descriptors that are open,
 * and stdout's write errors said.
 */
#include "cli/cli.h"
#include "traces/json.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	/*
	 * The command says itself when a write of its output to stdout fails, and fails then: its
	 * stdout is looked at here only when it succeeded (its help), not to say a failure twice.
	 */
	bool says_stdout;
	const char *help;
} cmds[] = {
    {"run", cmd_run, false, "run a scenario on the simulated Go runtime (live or headless)"},
    {"scenarios", cmd_scenarios, false, "list the scenarios and what each one teaches"},
    {"check", cmd_check, false, "validate a recorded trace against netpoll's rules"},
    {"replay", cmd_replay, true, "replay a recorded trace (narration, pacing)"},
    {"export", cmd_export, true, "convert a trace for Perfetto / chrome://tracing or jq"},
    {"trace", cmd_trace, false, "show the kernel's epoll view of any process (eBPF)"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: netpollsim COMMAND [OPTIONS]\n\n"
		     "Go's network poller, re-implemented in C and shown at work.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(out,
		"\n'netpollsim COMMAND --help' (or 'netpollsim help COMMAND') shows a command's\n"
		"options; 'netpollsim --version' what this build models.\n"
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
		cli_stdout_was_closed |= fd == STDOUT_FILENO;
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

/*
 * What stdio still holds for stdout is written, and a write that failed (a full disk, /dev/full)
 * is said, once for every command: stdio only keeps a flag nobody reads, and `check ... >
 * /dev/full` exited 0 with its report lost. A reader gone (EPIPE, where SIGPIPE is ignored) ends
 * the command quietly, as SIGPIPE would have. cmd: the command's name, NULL for netpollsim's own.
 */
static int finish_stdout(const char *cmd, int status)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return status;
	int err = errno ? errno : EIO; /* an earlier write failed, whose errno is gone */
	if (err != EPIPE)
		fprintf(stderr, "netpollsim%s%s: writing standard output: %s\n", cmd ? " " : "",
			cmd ? cmd : "", strerror(err));
	if (status != NPS_EXIT_OK)
		return status; /* the command's own failure, or the signal that ended it */
	return err == EPIPE ? 128 + SIGPIPE : NPS_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	if (open_std_fds())
		return NPS_EXIT_FAIL;
	if (argc < 2) {
		usage(stderr);
		return NPS_EXIT_USAGE;
	}
	bool help =
	    !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help");
	bool version = !strcmp(argv[1], "--version") || !strcmp(argv[1], "version");
	/* "help run" and "--help run" are "run --help", as git's */
	if (help && argc == 3)
		return main(3, (char *[]){argv[0], argv[2], "--help", NULL});
	if ((help || version) && argc > 2) {
		char shown[128];
		fprintf(stderr, "netpollsim: unexpected argument '%s' after %s (see --help)\n",
			cli_arg_text(argv[2], shown, sizeof(shown)), argv[1]);
		return NPS_EXIT_USAGE;
	}
	if (help) {
		usage(stdout);
		return finish_stdout(NULL, NPS_EXIT_OK);
	}
	if (version) {
		printf("netpollsim %s: models Go 1.22's netpoll and scheduler (go1.22); writes and "
		       "reads traces of format version %d\n",
		       NPS_VERSION, TRACE_VERSION);
		return finish_stdout(NULL, NPS_EXIT_OK);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		int status = cmds[i].fn(argc - 1, argv + 1);
		if (cmds[i].says_stdout && status != NPS_EXIT_OK)
			return status;
		return finish_stdout(cmds[i].name, status);
	}
	char shown[128];
	cli_arg_text(argv[1], shown, sizeof(shown));
	int near = cli_nearest(argv[1], cmds, sizeof(cmds[0]), sizeof(cmds) / sizeof(cmds[0]));
	if (near >= 0)
		fprintf(stderr, "netpollsim: unknown command '%s' (did you mean '%s'?)\n", shown,
			cmds[near].name);
	else
		fprintf(stderr, "netpollsim: unknown command '%s' (try 'netpollsim --help')\n",
			shown);
	return NPS_EXIT_USAGE;
}
