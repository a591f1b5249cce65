// SPDX-License-Identifier: MIT
/*
 * `netpollsim check FILE...`: validate recorded traces against the schema and netpoll's rules
 * (traces/check.h does the work). Exit status 0 only when every file is legal.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/check.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: netpollsim check [OPTIONS] FILE...\n\n"
		"Validate a trace: its schema, every pollDesc's rg/wg transitions (Go 1.22's\n"
		"netpoll.go; the table is in docs/event-stream.md), goroutine states and fd\n"
		"registration. Violations are errors (file:line, rule, event); the races Go\n"
		"handles on purpose are notes. A trace cut short (no footer) is INCOMPLETE.\n\n"
		"options:\n"
		"  -q, --quiet            print errors and the verdict only, no notes\n"
		"      --allow-truncated  a trace without footer (cut short) is not an error\n"
		"      --max-errors N     print at most N errors per file (default 50)\n"
		"      --max-notes N      print at most N notes per rule and file (default 10)\n"
		"  -h, --help             this help\n\n"
		"examples:\n"
		"  netpollsim check echo.jsonl\n"
		"  netpollsim check --quiet traces/samples/*.jsonl\n\n"
		"exit status: 0 every file legal, 1 a violation, a file cut short (INCOMPLETE) or\n"
		"one that cannot be read, 2 usage, 128 + N when signal N ended it (130: Ctrl-C)\n");
}

/* --max-errors N, --max-notes N: a number from 1 to 1000000 into *out; false, said, if not. */
static bool max_arg(const char *name, const char *arg, unsigned *out)
{
	char *end;
	long n = strtol(arg, &end, 10);
	if (*end || end == arg || n < 1 || n > 1000000) {
		char shown[128];
		cli_arg_text(arg, shown, sizeof(shown));
		fprintf(stderr, "netpollsim check: %s '%s': wants a number from 1 to 1000000\n",
			name, shown);
		return false;
	}
	*out = (unsigned)n;
	return true;
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"quiet", no_argument, NULL, 'q'},
	    {"allow-truncated", no_argument, NULL, 'T'},
	    {"max-errors", required_argument, NULL, 'M'},
	    {"max-notes", required_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct check_opts o = {.out = stdout};
	int c, status = NPS_EXIT_OK;
	optind = 1;
	opterr = 0; /* its errors are said as run says them (cli_option_error) */
	while ((c = cli_getopt("check", argc, argv, ":qh", opts)) != -1) {
		switch (c) {
		case 'q':
			o.quiet = true;
			break;
		case 'T':
			o.allow_truncated = true;
			break;
		case 'M':
			if (!max_arg("--max-errors", optarg, &o.max_shown))
				return NPS_EXIT_USAGE;
			break;
		case 'N':
			if (!max_arg("--max-notes", optarg, &o.max_notes))
				return NPS_EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return NPS_EXIT_OK;
		default:
			return cli_option_error("check", c, argv, opts);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "netpollsim check: no trace file given\n");
		usage(stderr);
		return NPS_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		int r = trace_check(argv[i], &o, NULL);
		if (r < 0) {
			fprintf(stderr, "netpollsim check: out of memory\n");
			return NPS_EXIT_FAIL;
		}
		if (r) {
			status = NPS_EXIT_FAIL;
			cli_hint_samples("check", argv[i]);
		}
	}
	return status; /* main writes out stdout and says if that failed */
}
