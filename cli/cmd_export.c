// SPDX-License-Identifier: MIT
/*
 * `netpollsim export FILE --format chrome|jsonl [-o OUT]`: convert a trace for Perfetto /
 * chrome://tracing, or rewrite it as canonical JSON Lines for jq (traces/export.h).
 */
#include "cli/cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "traces/export.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: netpollsim export FILE [--format chrome|jsonl] [-o OUT]\n\n"
		"Convert a trace. chrome: one Chrome trace-event JSON document for\n"
		"https://ui.perfetto.dev and chrome://tracing (a lane per pollDesc direction,\n"
		"goroutine and M; flows from epoll to the woken goroutine). jsonl: the trace as\n"
		"canonical JSON Lines, plain enough for jq.\n\n"
		"options:\n"
		"  -f, --format FMT   chrome (default; perfetto is the same) or jsonl\n"
		"  -o, --output OUT   output file, - for stdout (default); a file is replaced\n"
		"                     when complete, a FIFO or device written to\n"
		"  -h, --help         this help\n\n"
		"examples:\n"
		"  netpollsim export echo.jsonl --format chrome -o echo.json\n"
		"  netpollsim export echo.jsonl --format jsonl | jq 'select(.ev==\"pd_state\")'\n\n"
		"exit status: 0 written, 1 the trace cannot be read or the output written (a file\n"
		"is then left as it was), or lines of it could not be read (said, with file:line;\n"
		"the output holds every other event), 2 usage, 128 + N when signal N ended it\n"
		"(130: Ctrl-C)\n");
}

/*
 * A stop signal (Ctrl-C, kill) ends the export at once, also while it waits for input from a
 * FIFO or a terminal: its temporary file is removed and the exit status is 128 + the signal.
 */
static void on_signal(int sig)
{
	/* "interrupted by SIGINT (signal 2)", as replay says it: plain stores and write(2) only */
	static const char msg[] = "netpollsim export: interrupted by SIG";
	const char *ab = sigabbrev_np(sig); /* a constant string: safe in a handler */
	char buf[sizeof(msg) + 40];
	size_t n = sizeof(msg) - 1;
	trace_export_interrupted();
	memcpy(buf, msg, n);
	for (size_t i = 0; ab && ab[i] && i < 16; i++)
		buf[n++] = ab[i];
	memcpy(buf + n, " (signal ", 9);
	n += 9;
	if (sig >= 10)
		buf[n++] = (char)('0' + sig / 10 % 10);
	buf[n++] = (char)('0' + sig % 10);
	buf[n++] = ')';
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* nothing more to do */
	}
	_exit(128 + sig);
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	enum export_format fmt = EXPORT_CHROME;
	const char *out = "-";
	int c;
	optind = 1;
	opterr = 0; /* its errors are said as run says them (cli_option_error) */
	while ((c = cli_getopt("export", argc, argv, ":f:o:h", opts)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "chrome") || !strcmp(optarg, "chrome-json") ||
			    !strcmp(optarg, "perfetto"))
				fmt = EXPORT_CHROME;
			else if (!strcmp(optarg, "jsonl"))
				fmt = EXPORT_JSONL;
			else {
				char shown[128];
				cli_arg_text(optarg, shown, sizeof(shown));
				fprintf(
				    stderr,
				    "netpollsim export: --format '%s': unknown format (use chrome, "
				    "also named perfetto, or jsonl)\n",
				    shown);
				return NPS_EXIT_USAGE;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return NPS_EXIT_OK;
		default:
			return cli_option_error("export", c, argv, opts);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "netpollsim export: give exactly one trace file (see --help)\n");
		return NPS_EXIT_USAGE;
	}
	if (cli_refuse_closed_stdout("export", out))
		return NPS_EXIT_FAIL;
	/* SIGPIPE keeps its disposition: `export ... | head` ends quietly, as before */
	struct sigaction pipe;
	sigaction(SIGPIPE, NULL, &pipe);
	cli_catch_stop_signals(on_signal);
	sigaction(SIGPIPE, &pipe, NULL);
	if (trace_export(argv[optind], out, fmt, stderr)) {
		cli_hint_samples("export", argv[optind]);
		return NPS_EXIT_FAIL;
	}
	return NPS_EXIT_OK;
}
