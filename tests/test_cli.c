// SPDX-License-Identifier: MIT
/*
 * The command line as a new user meets it: help for every command, clear errors (naming the
 * option, value or file) with exit status 2 for bad usage, the scenario list, a headless run
 * that tells its story without a terminal, Ctrl-C ending a long run with its summary, and
 * `make install` honouring PREFIX and DESTDIR.
 */
#include <criterion/criterion.h>

#include "tests/test_trace_util.h" /* and testutil.h */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(cli, .timeout = 120);

/* Run "netpollsim ARGS" (stdout and stderr merged); the output in *out. Killed after 100 s. */
static int np(const char *args, char **out)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "timeout -s KILL 100 %s %s </dev/null", tu_netpollsim(), args);
	return tu_run(cmd, 1, out);
}

Test(cli, help_for_every_command)
{
	static const char *cmds[] = {"run", "scenarios", "check", "replay", "export", "trace"};
	char *out = NULL;
	cr_assert_eq(np("--help", &out), 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		cr_assert(strstr(out, cmds[i]), "top-level help lists %s: %s", cmds[i], out);
	free(out);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char args[64], *help = NULL;
		snprintf(args, sizeof(args), "%s --help", cmds[i]);
		int st = np(args, &help);
		cr_assert_eq(st, 0, "%s: exit %d: %s", args, st, help);
		cr_assert(strstr(help, "usage: netpollsim"), "%s prints a usage line: %s", args,
			  help);
		/* "help CMD" says the same, as git's and go's do */
		snprintf(args, sizeof(args), "help %s", cmds[i]);
		cr_assert_eq(np(args, &out), 0, "%s: %s", args, out);
		cr_assert_str_eq(out, help, "%s", args);
		free(out);
		free(help);
	}
	cr_assert_eq(np("--version", &out), 0, "%s", out);
	cr_assert(!strncmp(out, "netpollsim ", 11) && strstr(out, "go1.22") &&
		      strstr(out, "format version 1"),
		  "%s", out);
	free(out);
}

/* The widest line of s in characters (UTF-8: continuation bytes take no column of their own). */
static size_t widest_line(const char *s, const char **where)
{
	size_t widest = 0, cols = 0;
	const char *line = s;
	for (const char *p = s;; p++) {
		if (*p == '\n' || *p == '\0') {
			if (cols > widest) {
				widest = cols;
				*where = line;
			}
			if (*p == '\0')
				return widest;
			cols = 0;
			line = p + 1;
		} else if (((unsigned char)*p & 0xC0) != 0x80) {
			cols++;
		}
	}
}

/* A teacher projects an 80-column terminal: the list and every help text fit it unwrapped. */
Test(cli, help_and_scenarios_fit_80_columns)
{
	static const char *args[] = {"--help",		 "scenarios",	 "run --help",
				     "scenarios --help", "check --help", "replay --help",
				     "export --help",	 "trace --help"};
	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		char *out = NULL;
		const char *line = "";
		int st = np(args[i], &out);
		cr_assert_eq(st, 0, "%s: exit %d: %s", args[i], st, out);
		size_t w = widest_line(out, &line);
		cr_assert_leq(w, 80, "%s: a line of %zu columns: %.*s", args[i], w,
			      (int)strcspn(line, "\n"), line);
		free(out);
	}
}

/* Each command's help says what its exit status means: scripts and CI rely on it. */
Test(cli, every_help_says_its_exit_status)
{
	static const char *cmds[] = {"run", "scenarios", "check", "replay", "export", "trace"};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char args[64], *out = NULL;
		snprintf(args, sizeof(args), "%s --help", cmds[i]);
		cr_assert_eq(np(args, &out), 0, "%s: %s", args, out);
		cr_assert(strstr(out, "\n\nexit status: 0"), "%s: %s", args, out);
		cr_assert(strstr(out, "2 usage") || strstr(out, "2 for a usage error"), "%s: %s",
			  args, out);
		free(out);
	}
}

Test(cli, no_command_is_a_usage_error)
{
	char *out = NULL;
	cr_assert_eq(np("", &out), 2);
	cr_assert(strstr(out, "usage: netpollsim COMMAND"), "%s", out);
	free(out);
	cr_assert_eq(np("frobnicate", &out), 2);
	cr_assert_str_eq(out,
			 "netpollsim: unknown command 'frobnicate' (try 'netpollsim --help')\n");
	free(out);
}

/* A command line and what netpollsim says to it. */
struct says_case {
	const char *args, *says;
};

/* A mistyped command or option is named with the one it most likely meant, as scenarios are. */
Test(cli, a_mistyped_command_or_option_says_what_it_likely_meant)
{
	static const struct says_case cases[] = {
	    {"replya x", "netpollsim: unknown command 'replya' (did you mean 'replay'?)\n"},
	    {"Export x", "netpollsim: unknown command 'Export' (did you mean 'export'?)\n"},
	    {"replay x --narate",
	     "netpollsim replay: unknown option '--narate' (did you mean '--narrate'?)\n"},
	    {"run --procss 2",
	     "netpollsim run: unknown option '--procss' (did you mean '--procs'?)\n"},
	    {"export x --fromat=jsonl",
	     "netpollsim export: unknown option '--fromat=jsonl' (did you mean '--format'?)\n"},
	    /* no guess where a guess would mislead: two letters, the option turned off, a tail */
	    {"re x", "netpollsim: unknown command 're' (try 'netpollsim --help')\n"},
	    {"run --events", "netpollsim run: unknown option '--events' (see --help)\n"},
	    {"run --ord", "netpollsim run: unknown option '--ord' (see --help)\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		cr_assert_eq(np(cases[i].args, &out), 2, "%s: %s", cases[i].args, out);
		cr_assert_str_eq(out, cases[i].says, "%s", cases[i].args);
		free(out);
	}
}

/*
 * Each "netpollsim ARGS" of cases is a usage error (exit 2) that says its text: all it says
 * when whole, else somewhere in what it says.
 */
static void usage_errors_say(const struct says_case *cases, size_t n, bool whole)
{
	for (size_t i = 0; i < n; i++) {
		char *out = NULL;
		int st = np(cases[i].args, &out);
		cr_assert_eq(st, 2, "%s: exit %d: %s", cases[i].args, st, out);
		if (whole)
			cr_assert_str_eq(out, cases[i].says, "%s", cases[i].args);
		else
			cr_assert(strstr(out, cases[i].says), "%s: says '%s'? %s", cases[i].args,
				  cases[i].says, out);
		free(out);
	}
}

Test(cli, bad_run_options_name_the_problem)
{
	static const struct says_case cases[] = {
	    {"run --scenario nope", "unknown scenario 'nope'"},
	    {"run --procs 0", "--procs '0': expected an integer from 1 to 256"},
	    /* 0 round trips: clients that connect and close before anyone accepts them */
	    {"run --rounds 0", "--rounds '0': expected an integer from 1 to 1000000000"},
	    /* 0 is what no --seed means (one from the clock): it cannot be asked for */
	    {"run --seed 0", "--seed '0': expected an integer from 1 to 9223372036854775807"},
	    {"run --clients many", "--clients 'many'"},
	    {"run --duration -3", "--duration '-3'"},
	    {"run --bogus", "unknown option '--bogus'"},
	    {"run --record", "--record needs a value"},
	    /* a forgotten value: getopt would take the next option as it */
	    {"run --procs --no-ui",
	     "netpollsim run: --procs needs a value: '--no-ui' is an option"},
	    {"run -p -q", "netpollsim run: -p needs a value: '-q' is an option"},
	    {"run --narrate=yes", "netpollsim run: --narrate takes no value"},
	    {"run --clients 0", "--clients 0 serves outside clients"},
	    /* every lesson alike, with a --duration too: outside clients must know where */
	    {"run --clients 0 --duration 1", "--clients 0 serves outside clients: give --listen"},
	    {"run --scenario accept-burst --clients 0", "127.0.0.1:0 picks a free port"},
	    {"run extra", "unexpected argument 'extra'"},
	    {"run --listen nonsense", "--listen 'nonsense': expected IPv4:PORT"},
	    {"run --listen 127.0.0.1:99999", "the port must be a number from 0 to 65535"},
	    {"run --listen 127.0.0.1:", "'127.0.0.1:': the port must be a number"},
	    {"run --listen localhost:9000", "not an IPv4 address"},
	    {"run --no-bpf --bpf-break=on", "--bpf-break=on and --no-bpf contradict each other"},
	    {"run --bpf-break on --no-events", "--bpf-break=on and --no-events contradict"},
	    {"run --no-events --narrate",
	     "--no-events: there is nothing to narrate without events"},
	    {"run --scenario slow-reader --clients 3",
	     "--clients 3: slow-reader is written for 1 client"},
	    {"run --scenario ready-before-park --clients 7",
	     "--clients 7: ready-before-park runs with"},
	    {"run --scenario ready-before-park --clients 0", "an outside client cannot do"},
	    {"run --scenario break --procs 1", "--procs 1: break needs GOMAXPROCS 2 or more"},
	    {"run --scenario close --rounds 5", "--rounds: only echo's clients make round trips"},
	    {"run --clients 0 --listen 127.0.0.1:0 --msg-size 9",
	     "--msg-size: with --clients 0 the outside clients choose what they send"},
	};
	usage_errors_say(cases, sizeof(cases) / sizeof(cases[0]), false);
}

/*
 * What is taken for a forgotten value: only a word of its own that reads as an option, '-' or
 * "--" then a letter (either case, either end of the alphabet). A value attached with '=' or in
 * the option's own word is what the user typed, and a negative number is a value: each is a bad
 * number, said as one, never "is an option".
 */
#define PROCS_RANGE  "': expected an integer from 1 to 256 (see 'netpollsim run --help')\n"
#define IS_AN_OPTION "' is an option (see --help)\n"
Test(cli, only_an_option_word_is_taken_for_a_forgotten_value, .timeout = 60)
{
	static const struct says_case cases[] = {
	    {"run --procs=--x", "netpollsim run: --procs '--x" PROCS_RANGE},
	    {"run -p-x", "netpollsim run: --procs '-x" PROCS_RANGE},
	    {"run --procs -3", "netpollsim run: --procs '-3" PROCS_RANGE},
	    {"run -p -3", "netpollsim run: --procs '-3" PROCS_RANGE},
	    {"run --procs --no-ui", "netpollsim run: --procs needs a value: '--no-ui" IS_AN_OPTION},
	    {"run --procs -a", "netpollsim run: --procs needs a value: '-a" IS_AN_OPTION},
	    {"run --procs -z", "netpollsim run: --procs needs a value: '-z" IS_AN_OPTION},
	    {"run --procs -A", "netpollsim run: --procs needs a value: '-A" IS_AN_OPTION},
	    {"run --procs -Z", "netpollsim run: --procs needs a value: '-Z" IS_AN_OPTION},
	};
	usage_errors_say(cases, sizeof(cases) / sizeof(cases[0]), true);
}

Test(cli, check_names_a_missing_file)
{
	char *out = NULL;
	int st = np("check /nonexistent/trace.jsonl", &out);
	cr_assert_neq(st, 0);
	cr_assert(strstr(out, "/nonexistent/trace.jsonl"), "%s", out);
	free(out);
	/* as any command's error: on stderr, prefixed with the command; no report on stdout */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s check /nonexistent/trace.jsonl 2>&1 >/dev/null",
		 tu_netpollsim());
	st = tu_run(cmd, 0, &out);
	cr_assert_eq(st, 1, "exit %d: %s", st, out);
	static const char want[] =
	    "netpollsim check: /nonexistent/trace.jsonl: cannot open: No "
	    "such file or directory\nnetpollsim check: the sample traces are in ";
	cr_assert_eq(strncmp(out, want, strlen(want)), 0, "%s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s check /nonexistent/trace.jsonl 2>/dev/null",
		 tu_netpollsim());
	st = tu_run(cmd, 0, &out);
	cr_assert_str_eq(out, "", "nothing on stdout");
	free(out);
}

/*
 * A trace that cannot be opened is the command's error, on stderr, prefixed with its name; a
 * file not there, in a tree that has the samples, gets where they are (a teacher's typo).
 */
Test(cli, a_missing_trace_is_named_by_every_command)
{
	static const struct {
		const char *cmd, *opts;
	} cases[] = {{"check", ""}, {"replay", "--no-ui"}, {"export", ""}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[512], want[256], *out = NULL;
		snprintf(cmd, sizeof(cmd), "%s %s /nonexistent/t.jsonl %s 2>&1 >/dev/null",
			 tu_netpollsim(), cases[i].cmd, cases[i].opts);
		snprintf(want, sizeof(want),
			 "netpollsim %s: /nonexistent/t.jsonl: cannot open: No such file or "
			 "directory\n",
			 cases[i].cmd);
		int st = tu_run(cmd, 0, &out);
		cr_assert_eq(st, 1, "%s: exit %d: %s", cmd, st, out);
		cr_assert_eq(strncmp(out, want, strlen(want)), 0, "%s: %s", cmd, out);
		/* then where the samples are: a sample's name typed wrong? */
		snprintf(want, sizeof(want), "netpollsim %s: the sample traces are in /",
			 cases[i].cmd);
		const char *hint = strchr(out, '\n') + 1;
		cr_assert_eq(strncmp(hint, want, strlen(want)), 0, "%s: %s", cmd, out);
		cr_assert(strstr(hint, "/traces/samples/echo.jsonl)\n"), "%s: %s", cmd, out);
		cr_assert_eq(tu_count_lines(out, "netpollsim"), 2, "%s: %s", cmd, out);
		free(out);
	}
}

/* check, export, replay and trace say a bad option or argument as run does: one line naming it,
 * exit 2, no usage dump. */
Test(cli, bad_check_and_export_options_name_the_problem)
{
	static const struct says_case cases[] = {
	    {"export d.jsonl -o", "netpollsim export: -o needs a value\n"},
	    {"export d.jsonl --output", "netpollsim export: --output needs a value\n"},
	    {"export d.jsonl --format", "netpollsim export: --format needs a value\n"},
	    {"export --bogus d.jsonl",
	     "netpollsim export: unknown option '--bogus' (see --help)\n"},
	    {"export -z d.jsonl", "netpollsim export: unknown option '-z' (see --help)\n"},
	    {"export --help=yes", "netpollsim export: --help takes no value\n"},
	    {"check d.jsonl --max-errors", "netpollsim check: --max-errors needs a value\n"},
	    {"check -qz d.jsonl", "netpollsim check: unknown option '-z' (see --help)\n"},
	    {"check --quiet=1 d.jsonl", "netpollsim check: --quiet takes no value\n"},
	    {"replay d.jsonl --no-ui --speed", "netpollsim replay: --speed needs a value\n"},
	    {"trace --pid", "netpollsim trace: --pid needs a value\n"},
	    {"trace --pid -o t.jsonl",
	     "netpollsim trace: --pid needs a value: '-o' is an option (see --help)\n"},
	    {"export d.jsonl -o --format chrome",
	     "netpollsim export: -o needs a value: '--format' is an option (see --help)\n"},
	    {"check --max-errors -q d.jsonl",
	     "netpollsim check: --max-errors needs a value: '-q' is an option (see --help)\n"},
	    {"replay d.jsonl --speed --narrate",
	     "netpollsim replay: --speed needs a value: '--narrate' is an option (see --help)\n"},
	    /* the wrong number of arguments: one line too */
	    {"export", "netpollsim export: give exactly one trace file (see --help)\n"},
	    {"export a.jsonl b.jsonl",
	     "netpollsim export: give exactly one trace file (see --help)\n"},
	    {"trace --pid 1 2",
	     "netpollsim trace: unexpected argument '2' (one process: --pid PID; see --help)\n"},
	    {"trace", "netpollsim trace: --pid PID is required (see --help)\n"},
	    /* strace's form: the way to do it */
	    {"trace -- ./server -v",
	     "netpollsim trace: unexpected argument './server': trace follows a running process "
	     "(--pid PID); for a command, start it first: ./server -v & netpollsim trace --pid "
	     "$!\n"},
	    /* quoted so that the shell reads the same words back */
	    {"trace -- sh -c \"echo 'a b'; x\"",
	     "netpollsim trace: unexpected argument 'sh': trace follows a running process (--pid "
	     "PID); for a command, start it first: sh -c 'echo '\"'\"'a b'\"'\"'; x' & netpollsim "
	     "trace --pid $!\n"},
	    {"scenarios echo", "netpollsim scenarios: unexpected argument 'echo' (see --help)\n"},
	    {"--version x", "netpollsim: unexpected argument 'x' after --version (see --help)\n"},
	    {"--help run x", "netpollsim: unexpected argument 'run' after --help (see --help)\n"},
	    {"scenarios --bogus", "netpollsim scenarios: unknown option '--bogus' (see --help)\n"},
	    /* a shortened name that several options start with: which ones */
	    {"run --r 3", "netpollsim run: option '--r' is ambiguous: --rounds, --record, "
			  "--ring-order?\n"},
	    {"check --max x.jsonl", "netpollsim check: option '--max' is ambiguous: --max-errors, "
				    "--max-notes?\n"},
	    /* a mistyped scenario: the one it most likely meant */
	    {"run --scenario ech", "netpollsim run: unknown scenario 'ech' (did you mean 'echo'?); "
				   "'netpollsim scenarios' lists them\n"},
	    {"run --scenario slowreader", "netpollsim run: unknown scenario 'slowreader' (did you "
					  "mean 'slow-reader'?); 'netpollsim scenarios' lists "
					  "them\n"},
	    {"run --scenario burst", "netpollsim run: unknown scenario 'burst' (did you mean "
				     "'accept-burst'?); 'netpollsim scenarios' lists them\n"},
	    {"run --scenario xyz",
	     "netpollsim run: unknown scenario 'xyz'; 'netpollsim scenarios' lists them\n"},
	    {"check --max-errors -1 x.jsonl",
	     "netpollsim check: --max-errors '-1': wants a number from 1 to 1000000\n"},
	    /* what was typed is shown, never obeyed by the terminal */
	    {"'\x1b[31m'", "netpollsim: unknown command '\\x1b[31m' (try 'netpollsim --help')\n"},
	    {"run '--\x1b[31m'", "netpollsim run: unknown option '--\\x1b[31m' (see --help)\n"},
	    {"run --scenario '\x1b[31m'", "netpollsim run: unknown scenario '\\x1b[31m'; "
					  "'netpollsim scenarios' lists them\n"},
	};
	usage_errors_say(cases, sizeof(cases) / sizeof(cases[0]), true);
}

Test(cli, scenarios_each_say_what_they_teach)
{
	static const char *names[] = {"echo",	     "deadline",	  "close",
				      "slow-reader", "ready-before-park", "accept-burst",
				      "break"};
	char *out = NULL;
	cr_assert_eq(np("scenarios", &out), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char line[64];
		snprintf(line, sizeof(line), "%s ", names[i]);
		cr_assert(strstr(out, line), "missing %s: %s", names[i], out);
	}
	cr_assert(strstr(out, "\n\nA recorded trace of each, to replay, check or export (no root "
			      "needed):\n  "),
		  "%s", out);
	/* build/netpollsim (or build/asan/...): the source tree's samples, as a path to type */
	char want[1100], *real = realpath("traces/samples", NULL);
	cr_assert_not_null(real);
	snprintf(want, sizeof(want), "  %s/NAME.jsonl\n", real);
	free(real);
	cr_assert(strstr(out, want), "no '%s' in: %s", want, out);
	/* the one sample with the kernel's view, which a student without root cannot record */
	cr_assert(strstr(out, "\nand echo-kernel.jsonl: echo with the kernel's side too (eBPF: "),
		  "%s", out);
	cr_assert_eq(tu_count_lines(out, " "), 11, "one line per scenario: %s", out);
	free(out);
}

Test(cli, headless_deadline_tells_its_story)
{
	char *out = NULL;
	int st = np("run --scenario deadline --no-ui --narrate --no-bpf", &out);
	cr_assert_eq(st, 0, "exit %d: %s", st, out);
	/* The narration names the Go functions and the states, and the summary the outcome. */
	cr_assert(strstr(out, "netpollblockcommit"), "%s", out);
	cr_assert(strstr(out, "netpolldeadlineimpl"), "%s", out);
	cr_assert(strstr(out, "i/o timeout"), "%s", out);
	cr_assert(strstr(out, "== deadline"), "the summary follows: %s", out);
	cr_assert(strstr(out, "lost events: 0 sim"), "losses are shown: %s", out);
	/* The summary's pollDescs are pollCache's: one 4 KiB block of 16, all back on its list. */
	cr_assert(strstr(out, "pollDescs: 0 in use, 16 free"), "%s", out);
	cr_assert(strstr(out, "pollCache 0 in use / 16 free (1 block of 16)"), "%s", out);
	/* net reads somaxconn as Go's net/parse.go does: io.ReadFull into 64 KiB */
	cr_assert(strstr(out, ", 65536) = ") && strstr(out, ", 65531) = 0"), "%s", out);
	free(out);
}

/*
 * "netpollsim ARGS" under strace -f, tracing the system calls calls: strace's lines, one per call
 * (free them). A call another thread's call interrupted in strace's log ("pipe2( <unfinished
 * ...>", later "<... pipe2 resumed>[12, 13], O_CLOEXEC) = 0") is joined into one line where it
 * ended, so that a search for "pipe2([" finds it whatever the threads did meanwhile.
 */
static char *strace_np(const char *calls, const char *args)
{
	char cmd[2000], *out = NULL;
	tu_no_leak_check(); /* under strace */
	snprintf(cmd, sizeof(cmd),
		 "strace -f -qq -e trace=%s -o %s/np.strace %s %s >/dev/null </dev/null && "
		 "awk '/ <unfinished \\.\\.\\.>$/ { sub(/ <unfinished \\.\\.\\.>$/, \"\"); "
		 "u[$1] = $0; next } / <\\.\\.\\. [^ ]+ resumed>/ { p = $1; "
		 "sub(/^[0-9]+ +<\\.\\.\\. [^ ]+ resumed> ?/, \"\"); print u[p] $0; next } "
		 "{ print }' %s/np.strace",
		 calls, tu_tmpdir(), tu_netpollsim(), args, tu_tmpdir());
	cr_assert_eq(tu_run(cmd, 0, &out), 0, "%s: %s", cmd, out);
	return out;
}

/* The line that at points into, from at to its end (a static copy). */
static const char *line_at(const char *at)
{
	static char line[1024];
	size_t n = strcspn(at, "\n");
	snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1), at);
	return line;
}

/*
 * The first files a Go 1.22 net program opens, in a real Go binary's order (strace of one): os's
 * newFile makes somaxconn non-blocking (F_GETFL, F_SETFL) before the poller exists, then the
 * first FD.Init starts it (epoll_create1, the break pipe) and ADDs the file; os.Pipe's read end
 * likewise (F_SETFL, then its ADD), and its write end, an outside thread's, is made non-blocking
 * after. The event log has no fcntl: strace watches.
 */
Test(cli, os_files_are_made_non_blocking_before_the_poller_sees_them, .timeout = 100)
{
	char want[4][96];
	char *out = strace_np("openat,fcntl,epoll_create1,pipe2,epoll_ctl,getsockname",
			      "run --scenario deadline --no-ui --no-bpf");
	const char *at = strstr(out, "\"/proc/sys/net/core/somaxconn\", O_RDONLY|O_CLOEXEC) = ");
	cr_assert_not_null(at, "%s", out);
	int f = atoi(strstr(at, ") = ") + 4);
	snprintf(want[0], sizeof(want[0]), "fcntl(%d, F_GETFL)", f);
	snprintf(want[1], sizeof(want[1]), "fcntl(%d, F_SETFL, O_RDONLY|O_NONBLOCK", f);
	snprintf(want[2], sizeof(want[2]), "epoll_create1(EPOLL_CLOEXEC)");
	snprintf(want[3], sizeof(want[3]), "EPOLL_CTL_ADD, %d, {events=EPOLLIN|EPOLLOUT|", f);
	for (int i = 0; i < 4; i++) {
		const char *next = strstr(at, want[i]);
		cr_assert_not_null(next, "no '%s' after the last: %s", want[i], out);
		at = next;
	}
	/* os.Pipe: pipe2(O_CLOEXEC) (the runtime's break pipe is O_NONBLOCK|O_CLOEXEC) */
	while ((at = strstr(at, "pipe2([")) && strncmp(strchr(at, ']'), "], O_CLOEXEC)", 13))
		at++;
	cr_assert_not_null(at, "no os.Pipe after the poller started: %s", out);
	int rd = -1, wr = -1;
	cr_assert_eq(sscanf(at, "pipe2([%d, %d]", &rd, &wr), 2, "%s", line_at(at));
	snprintf(want[0], sizeof(want[0]), "fcntl(%d, F_SETFL, O_RDONLY|O_NONBLOCK", rd);
	snprintf(want[1], sizeof(want[1]), "EPOLL_CTL_ADD, %d, {events=EPOLLIN|EPOLLOUT|", rd);
	snprintf(want[2], sizeof(want[2]), "fcntl(%d, F_SETFL, O_WRONLY|O_NONBLOCK", wr);
	const char *nb = strstr(at, want[0]), *add = strstr(at, want[1]),
		   *wnb = strstr(at, want[2]);
	cr_assert(nb && add && nb < add, "the pipe's read end: %s", out);
	cr_assert(wnb && add < wnb, "the pipe's write end, non-blocking after: %s", out);
	/* ln.Addr() makes no system call: listenStream's getsockname and the accepted conn's */
	cr_assert_eq(tu_count_lines(out, " getsockname("), 2, "%s", out);
	free(out);
}

/*
 * A somaxconn the poller refuses (a regular file bind-mounted over it, as a container may do:
 * epoll_ctl says EPERM): os.newFile makes it blocking again (F_SETFL without O_NONBLOCK) and
 * reads it without the poller. The mount is in this test process's own mount namespace.
 */
Test(cli, an_os_file_the_poller_refuses_is_made_blocking_again, .timeout = 100)
{
	NEED_ROOT();
	char file[400], want[96];
	snprintf(file, sizeof(file), "%s/somaxconn", tu_tmpdir());
	FILE *fp = fopen(file, "w");
	cr_assert(fp && fputs("4096\n", fp) >= 0 && fclose(fp) == 0);
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
	cr_assert_eq(mount(file, "/proc/sys/net/core/somaxconn", NULL, MS_BIND, NULL), 0, "%s",
		     strerror(errno));
	char *out =
	    strace_np("openat,fcntl,epoll_ctl,close", "run --scenario deadline --no-ui --no-bpf");
	const char *at = strstr(out, "\"/proc/sys/net/core/somaxconn\", O_RDONLY|O_CLOEXEC) = ");
	cr_assert_not_null(at, "%s", out);
	int f = atoi(strstr(at, ") = ") + 4);
	snprintf(want, sizeof(want), "EPOLL_CTL_ADD, %d, ", f);
	at = strstr(at, want);
	cr_assert(at && strstr(line_at(at), "= -1 EPERM"), "the ADD refused: %s", out);
	/* before the file's close(2) (its fd is then another file's) */
	snprintf(want, sizeof(want), " close(%d)", f);
	const char *closed = strstr(at, want);
	snprintf(want, sizeof(want), "fcntl(%d, F_SETFL, ", f);
	at = strstr(at, want);
	cr_assert(at && closed && at < closed && !strstr(line_at(at), "O_NONBLOCK"),
		  "made blocking again: %s", out);
	free(out);
}

/*
 * The runtime's own sleeps (sysmon's, from 20 us; runqgrab's 3 us) are runtime.usleep, which is
 * nanosleep(2) itself, as strace shows Go's; libc's usleep would be clock_nanosleep.
 */
Test(cli, the_runtime_sleeps_with_nanosleep_as_go, .timeout = 100)
{
	char *out = strace_np("nanosleep", "run --scenario deadline --no-ui --no-bpf");
	cr_assert(strstr(out, " nanosleep({tv_sec=0, tv_nsec=20000}"), "sysmon's first sleep: %s",
		  out);
	free(out);
}

/* "netpollsim ARGS" exits 0 and says each of yes and none of no (both NULL-terminated). */
static void says(const char *args, const char *const *yes, const char *const *no)
{
	char *out = NULL;
	int st = np(args, &out);
	cr_assert_eq(st, 0, "%s: exit %d: %s", args, st, out);
	for (; *yes; yes++)
		cr_assert(strstr(out, *yes), "%s: no '%s' in: %s", args, *yes, out);
	for (; *no; no++)
		cr_assert_null(strstr(out, *no), "%s: '%s' in: %s", args, *no, out);
	free(out);
}

/*
 * The close lesson's main waits for its reader and writer on a WaitGroup: in Go 1.22 that
 * goroutine shows as [semacquire] (sync_runtime_Semacquire), as a goroutine dump would say.
 */
Test(cli, a_waitgroup_wait_parks_as_go_1_22_says)
{
	says("run --scenario close --procs 1 --no-ui --narrate --no-bpf",
	     (const char *[]){"G1 running → waiting (semacquire)", NULL},
	     (const char *[]){"sync.WaitGroup.Wait", NULL});
}

/*
 * A recorded run names the seed its scheduler used, given or not (it said 0 when not given),
 * and the summary says the one the runtime's cheaprand was seeded with: the same.
 */
/*
 * --record to the file standard output goes to (`--record x.jsonl > x.jsonl`, `--record
 * /dev/stdout > x.jsonl`, a pipe): the summary would write over the header. Refused, with the
 * way to do it; --record /dev/null with stdout there too is still fine (benchmarks use it).
 */
Test(cli, a_record_to_where_stdout_goes_is_refused, .timeout = 60)
{
	char file[600], cmd[2000], *out = NULL;
	snprintf(file, sizeof(file), "%s/same.jsonl", tu_tmpdir());
	for (int i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd),
			 "{ %s run --scenario close --no-ui --no-bpf --record %s %s%s; }",
			 tu_netpollsim(), i ? "/dev/stdout" : file, i == 2 ? "| cat >" : ">", file);
		/* stderr is what tu_run reads; a pipeline's status is cat's */
		int st = tu_run(cmd, 1, &out);
		cr_assert_eq(st, i == 2 ? 0 : 2, "%s: exit %d: %s", cmd, st, out);
		cr_assert(strstr(out,
				 "is where standard output goes too: the narration and summary "
				 "would write into the trace; --record - puts the trace on "
				 "standard output"),
			  "%s: %s", cmd, out);
		free(out);
	}
	snprintf(cmd, sizeof(cmd),
		 "%s run --scenario close --no-ui --no-bpf -q --record /dev/null >/dev/null",
		 tu_netpollsim());
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	free(out);
}

/*
 * --record to a FIFO nobody reads yet: the open waits for a reader, and says so first (it
 * waited in silence); once a reader comes the run goes on and records.
 */
Test(cli, a_record_to_a_fifo_without_reader_says_it_waits, .timeout = 60)
{
	/* the binary by its full path: the shell works in the test's directory */
	char cmd[2000], *out = NULL, *bin = realpath(tu_netpollsim(), NULL);
	cr_assert(bin);
	snprintf(
	    cmd, sizeof(cmd),
	    "cd %s && mkfifo f && { %s run --scenario close --no-ui --no-bpf -q --record f "
	    "2>err.txt & } && for i in $(seq 200); do grep -q 'waiting for its reader' err.txt "
	    "&& break; sleep 0.05; done; timeout 20 sh -c 'wc -l <f'; wait $!; "
	    "echo \"rc=$?\"; cat err.txt",
	    tu_tmpdir(), bin);
	free(bin);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	cr_assert(strstr(out, "\nrc=0\nnetpollsim run: --record 'f' is a FIFO nobody reads yet: "
			      "waiting for its reader (Ctrl-C stops)\n"),
		  "%s", out);
	cr_assert_gt(atoi(out), 100, "the trace came through the FIFO: %s", out);
	free(out);
}

Test(cli, the_trace_records_the_seed_used)
{
	static const char *const given[] = {"", "--seed 7"};
	for (size_t i = 0; i < 2; i++) {
		char args[512], path[400], *out = NULL;
		snprintf(path, sizeof(path), "%s/seed%zu.jsonl", tu_tmpdir(), i);
		snprintf(args, sizeof(args), "run --no-ui --no-bpf %s --record %s", given[i], path);
		int st = np(args, &out);
		cr_assert_eq(st, 0, "%s: exit %d: %s", args, st, out);
		const char *used = strstr(out, "\nruntime seed: ");
		cr_assert_not_null(used, "%s", out);
		unsigned long long runtime_seed = strtoull(used + 15, NULL, 10);
		free(out);
		char head[1024] = "";
		FILE *f = fopen(path, "r");
		cr_assert_not_null(f, "%s", path);
		cr_assert_not_null(fgets(head, sizeof(head), f));
		fclose(f);
		const char *seed = strstr(head, "\"seed\":");
		cr_assert_not_null(seed, "%s", head);
		if (i == 0)
			cr_assert_gt(strtoull(seed + 7, NULL, 10), 0, "%s", head);
		else
			cr_assert_eq(strtoull(seed + 7, NULL, 10), 7, "%s", head);
		cr_assert_eq(runtime_seed, strtoull(seed + 7, NULL, 10),
			     "the runtime used seed %llu, the trace says %s", runtime_seed, head);
		tt_assert_legal(path);
	}
}

/*
 * The largest GOMAXPROCS run accepts, busy enough to start more Ms than Ps (sysmon, spare Ms: 260
 * in this run here, not a fixed number): more than 256 rings.
 * The merge used to hold 256 of them and skip the oldest Ms' (M0's among them), losing their
 * events without counting them, and the fold then reported violations that were not.
 */
Test(cli, the_largest_gomaxprocs_loses_no_events, .timeout = 120)
{
	char args[512], path[400], *out = NULL;
	snprintf(path, sizeof(path), "%s/procs256.jsonl", tu_tmpdir());
	snprintf(args, sizeof(args),
		 "run --procs 256 --clients 100 --rounds 100 --no-ui --no-bpf --record %s", path);
	int st = np(args, &out);
	cr_assert_eq(st, 0, "exit %d: %.3000s", st, out);
	cr_assert(strstr(out, "lost events: 0 sim"), "%s", out);
	cr_assert(strstr(out, ", 0 violations\n"), "%s", out);
	free(out);
	tt_assert_legal(path);
}

/*
 * A record must be complete. With rings of 256 events, far fewer than the observer takes in at
 * each drain, a full-speed run loses events unless the runtime waits for the observer: when
 * the narration goes to a file or pipe, and when a trace is recorded, it waits, and says so.
 */
Test(cli, a_record_loses_nothing_however_small_the_rings)
{
	char path[400], args[600], *out = NULL;
	snprintf(path, sizeof(path), "%s/small-rings.jsonl", tu_tmpdir());
	const char *load = "run --no-ui --no-bpf --clients 10 --rounds 1000 --ring-order 8";
	for (int rec = 0; rec < 2; rec++) {
		if (rec)
			snprintf(args, sizeof(args), "%s --record %s", load, path);
		else
			snprintf(args, sizeof(args), "%s --narrate", load); /* to np's pipe */
		int st = np(args, &out);
		cr_assert_eq(st, 0, "%s: exit %d: %s", args, st, out);
		cr_assert(strstr(out, "10000 round trips"), "%s", out);
		cr_assert(strstr(out, "lost events: 0 sim, 0 kernel"), "%s: %s", args,
			  strstr(out, "lost events") ? strstr(out, "lost events") : out);
		cr_assert(strstr(out, "observer: the runtime's Ms waited "), "%s: %s", args,
			  strstr(out, "== echo") ? strstr(out, "== echo") : out);
		cr_assert(strstr(out, rec ? "rather than lose events of the recording"
					  : "rather than lose events of the narration"),
			  "%s", out);
		free(out);
	}
	tt_assert_legal(path);
	snprintf(args, sizeof(args), "jq -c 'select(.footer) | .lost' %s", path);
	cr_assert_eq(tu_run(args, 1, &out), 0);
	cr_assert_str_eq(out, "{\"sim\":0,\"kernel\":0}\n");
	free(out);
}

/*
 * A closed stdout or stderr (`>&-`, `2>&-`) is no place for the trace: the recording stays a
 * trace that check accepts, whatever the run printed (the summary, the "serving" line); an
 * export or a recording asked of the closed stdout is refused (it would vanish in /dev/null,
 * which takes stdout's place so that no file opened takes its number).
 */
Test(cli, a_closed_stdout_or_stderr_leaves_the_trace_whole)
{
	static const struct {
		const char *args, *redirect;
	} runs[] = {
	    {"run --scenario close --no-ui --no-bpf", ">&-"},
	    {"run --clients 0 --listen 127.0.0.1:0 --duration 0.2 --no-ui --no-bpf",
	     "2>&- >/dev/null"},
	};
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		char cmd[1024], path[400], *out = NULL;
		snprintf(path, sizeof(path), "%s/closed%zu.jsonl", tu_tmpdir(), i);
		snprintf(cmd, sizeof(cmd), "timeout -s KILL 100 %s %s --record %s </dev/null %s",
			 tu_netpollsim(), runs[i].args, path, runs[i].redirect);
		int st = tu_run(cmd, 0, &out);
		cr_assert_eq(st, 0, "%s: exit %d: %s", cmd, st, out);
		free(out);
		char args[512];
		snprintf(args, sizeof(args), "check %s", path);
		st = np(args, &out);
		cr_assert_eq(st, 0, "%s: exit %d: %s", runs[i].redirect, st, out);
		cr_assert(strstr(out, ": legal: "), "%s", out);
		free(out);
		/* an output asked of a closed stdout would vanish: refused, the input untouched */
		snprintf(cmd, sizeof(cmd), "%s export %s 2>&1 >&-", tu_netpollsim(), path);
		st = tu_run(cmd, 0, &out);
		cr_assert_eq(st, 1, "export to a closed stdout: exit %d: %s", st, out);
		cr_assert_str_eq(out, "netpollsim export: standard output is closed: the output "
				      "asked of it ('-') would be lost\n");
		free(out);
		st = np(args, &out);
		cr_assert_eq(st, 0, "the input after the export: exit %d: %s", st, out);
		free(out);
	}
	/* as is a recording asked of it */
	char cmd[512], *out = NULL;
	snprintf(cmd, sizeof(cmd), "%s run --scenario close --no-bpf -q --record - 2>&1 >&-",
		 tu_netpollsim());
	int st = tu_run(cmd, 0, &out);
	cr_assert_eq(st, 1, "exit %d: %s", st, out);
	cr_assert_str_eq(out, "netpollsim run: standard output is closed: the output asked of it "
			      "('-') would be lost\n");
	free(out);
}

/* Output that cannot be written (a full disk: /dev/full) is an error that says so, not exit 0. */
Test(cli, a_failed_write_of_stdout_is_an_error)
{
	static const struct {
		const char *args, *says;
	} cases[] = {
	    {"check traces/samples/close.jsonl",
	     "netpollsim check: writing standard output: No space left on device\n"},
	    {"scenarios",
	     "netpollsim scenarios: writing standard output: No space left on device\n"},
	    {"--help", "netpollsim: writing standard output: No space left on device\n"},
	    {"check --help",
	     "netpollsim check: writing standard output: No space left on device\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[1024], *out = NULL;
		/* stderr read, stdout full */
		snprintf(cmd, sizeof(cmd), "timeout -s KILL 100 %s %s 2>&1 >/dev/full </dev/null",
			 tu_netpollsim(), cases[i].args);
		int st = tu_run(cmd, 0, &out);
		cr_assert_eq(st, 1, "%s: exit %d: %s", cmd, st, out);
		cr_assert_str_eq(out, cases[i].says, "%s", cmd);
		free(out);
	}
}

/* A netpollsim serving in the background, as a user runs one in another terminal. */
struct bg {
	pid_t pid;
	int port;	 /* where it said it serves */
	char log[512];	 /* its stdout and stderr */
	char out[16384]; /* the log, once it ended */
};

static void slurp(const char *path, char *buf, size_t n)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (f) {
		buf[fread(buf, 1, n - 1, f)] = '\0';
		fclose(f);
	}
}

/*
 * Start the shell command line cmd, which execs netpollsim (b->pid is then netpollsim's), its
 * output in the log NAME.log.
 */
static void bg_spawn(struct bg *b, const char *name, const char *cmd)
{
	snprintf(b->log, sizeof(b->log), "%s/%s.log", tu_tmpdir(), name);
	b->pid = fork();
	if (b->pid == 0) {
		FILE *f = freopen(b->log, "w", stdout);
		(void)f;
		dup2(1, 2);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
}

/*
 * Start "netpollsim ARGS" (after "ulimit -n nofile" when nofile > 0), its output in the log
 * NAME.log, and wait until it says where it serves, as a user would: the port it picked.
 */
static void bg_start(struct bg *b, const char *name, const char *args, int nofile)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "ulimit -n %d; exec %s %s", nofile, tu_netpollsim(), args);
	if (nofile <= 0)
		snprintf(cmd, sizeof(cmd), "exec %s %s", tu_netpollsim(), args);
	bg_spawn(b, name, cmd);
	const char *at = NULL;
	for (int i = 0; i < 600 && !at; i++) {
		usleep(50 * 1000);
		slurp(b->log, b->out, sizeof(b->out));
		at = strstr(b->out, " on 127.0.0.1:");
	}
	b->port = at ? atoi(at + strlen(" on 127.0.0.1:")) : 0;
	cr_assert_neq(b->port, 0, "%s: no 'serving' line: %s", args, b->out);
}

static double since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Wait for it to end (killed after 30 s: a failure): its exit status; its output in b->out. */
static int bg_end(struct bg *b)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int st = 0;
	while (waitpid(b->pid, &st, WNOHANG) != b->pid) {
		if (since(&t0) > 30) {
			kill(b->pid, SIGKILL);
			waitpid(b->pid, &st, 0);
			slurp(b->log, b->out, sizeof(b->out));
			cr_assert_fail("still running after 30 s: %s", b->out);
		}
		usleep(10 * 1000);
	}
	slurp(b->log, b->out, sizeof(b->out));
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* A blocking TCP connection to 127.0.0.1:port. */
static int dial(int port)
{
	int s = tu_dial(port);
	cr_assert(s >= 0, "connect to %d: %s", port, strerror(errno));
	return s;
}

Test(cli, ctrl_c_ends_a_serving_run_with_its_summary)
{
	struct bg b;
	bg_start(&b, "serve", "run --listen 127.0.0.1:0 --clients 0 --no-ui --no-bpf --duration 60",
		 0);
	/* Ctrl-C once it says where it serves (the port it picked), as a user would. */
	kill(b.pid, SIGINT);
	int st = bg_end(&b);
	cr_assert_eq(st, 130, "exit status %d", st);
	cr_assert(strstr(b.out, "interrupted"), "the summary says it was interrupted: %s", b.out);
}

/*
 * A lesson that does not stop when asked is ended 5 s after the signal (at once after a second
 * one), still running: the summary says so in the story's place (its own story would be read
 * while it could still be writing it). Every lesson stops when asked, so the test hook
 * NPS_TEST_DEAF_LESSON=1 keeps the signal from it, as a lesson that hung would miss it.
 */
Test(cli, a_lesson_that_does_not_stop_is_ended_and_said_so)
{
	struct bg b;
	setenv("NPS_TEST_DEAF_LESSON", "1", 1);
	bg_start(&b, "deaf",
		 "run --scenario deadline --clients 0 --listen 127.0.0.1:0 --no-ui --no-bpf", 0);
	unsetenv("NPS_TEST_DEAF_LESSON");
	cr_assert_eq(kill(b.pid, SIGINT), 0);
	int st = bg_end(&b);
	cr_assert_eq(st, 130, "exit status %d: %s", st, b.out);
	cr_assert(strstr(b.out, "the scenario did not stop; ending now"), "%s", b.out);
	cr_assert(strstr(b.out, " -- interrupted\nthe lesson did not reach its end: the run was "
				"ended before it stopped.\n"),
		  "%s", b.out);
}

/*
 * Two signals at once while a busy lesson runs: the second ends the run without waiting for the
 * lesson, whose runtime may be shutting down (netpoll_shutdown closing the epoll fd) while the
 * summary reads the runtime's counters. Under TSan (make test's tsan pass) this read was a data
 * race, which ends the run with TSan's report and exit status 66 instead of 143.
 */
Test(cli, a_second_signal_ends_a_busy_run_at_once_with_its_summary, .timeout = 60)
{
	struct bg b;
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "exec %s run --scenario echo --clients 50 --rounds 100000000 --no-ui --no-bpf",
		 tu_netpollsim());
	bg_spawn(&b, "twice", cmd);
	usleep(1000 * 1000); /* its runtime and clients are busy (no assertion on time) */
	cr_assert_eq(kill(b.pid, SIGTERM), 0);
	cr_assert_eq(kill(b.pid, SIGTERM), 0);
	int st = bg_end(&b);
	cr_assert_eq(st, 128 + SIGTERM, "exit status %d: %s", st, b.out);
	cr_assert(strstr(b.out, "== echo (GOMAXPROCS "), "%s", b.out);
	cr_assert(strstr(b.out, " -- interrupted\n"), "%s", b.out);
	cr_assert(strstr(b.out, "\nruntime: "), "the runtime's counters: %s", b.out);
	cr_assert_null(strstr(b.out, "ThreadSanitizer"), "%s", b.out);
}

Test(cli, ctrl_c_ends_a_lesson_waiting_for_an_outside_client)
{
	static const char *lessons[] = {"deadline", "close", "slow-reader", "break", "slow-reader"};
	size_t n = sizeof(lessons) / sizeof(lessons[0]);
	for (size_t i = 0; i < n; i++) {
		char args[256];
		snprintf(args, sizeof(args),
			 "run --scenario %s --clients 0 --listen 127.0.0.1:0 --no-ui --no-bpf",
			 lessons[i]);
		struct bg b;
		bg_start(&b, lessons[i], args, 0);
		int s = -1;
		if (i == n - 1) {
			/* The last one: a client that connects, then neither reads nor closes. */
			s = dial(b.port);
			usleep(300 * 1000);
		}
		kill(b.pid, SIGINT);
		int st = bg_end(&b);
		if (s >= 0)
			close(s);
		cr_assert_eq(st, 130, "%s: exit %d: %s", args, st, b.out);
		/* it stopped by itself, not at the forced end 5 s after the signal (no timing) */
		cr_assert_null(strstr(b.out, "did not stop"), "%s: %s", args, b.out);
		cr_assert(s >= 0 || strstr(b.out, "interrupted before a client connected"),
			  "%s: %s", args, b.out);
	}
}

Test(cli, duration_ends_a_lesson)
{
	char *out = NULL;
	int st = np("run --scenario deadline --clients 0 --listen 127.0.0.1:0 --duration 1 --no-ui "
		    "--no-bpf",
		    &out);
	cr_assert_eq(st, 0, "exit %d: %s", st, out);
	cr_assert(strstr(out, "--duration was over before a client connected"), "%s", out);
	free(out);
	st = np("run --scenario slow-reader --duration 0.05 --no-ui --no-bpf", &out);
	cr_assert_eq(st, 0, "exit %d: %s", st, out);
	cr_assert(strstr(out, "the lesson did not reach its end: --duration was over"), "%s", out);
	free(out);
	/*
	 * A --duration over before the built-in clients are in: what the stop breaks (connects
	 * refused by the closed listener) is no error, and no lesson claims what it did not show
	 * (a lesson quick enough to show it within the millisecond may say so).
	 */
	static const char *const early[] = {"echo --clients 20", "accept-burst", "deadline",
					    "close"};
	for (size_t i = 0; i < sizeof(early) / sizeof(early[0]); i++) {
		char args[200];
		snprintf(args, sizeof(args),
			 "run --scenario %s --duration 0.001 --no-ui --no-bpf --narrate", early[i]);
		st = np(args, &out);
		cr_assert_eq(st, 0, "%s: exit %d: %s", args, st, out);
		cr_assert(!strstr(out, "client connect:") && !strstr(out, "errors:"), "%s: %s",
			  args, out);
		cr_assert_null(strstr(out, "\n0 connections were dialled at once"), "%s: %s", args,
			       out);
		/*
		 * A lesson may still finish before the stop lands (close takes ~2 ms): then, and
		 * only then, it tells its point, and the fold's own count shows it happened.
		 */
		const char *claim = strstr(out, "Close woke the parked reader and writer");
		const char *cut = strstr(out, "the lesson did not reach its end");
		cr_assert(!(claim && cut), "%s: both endings: %s", args, out);
		if (claim) {
			const char *w = strstr(out, "  wake-ups: ");
			int io = -1, dl = -1, cl = -1;
			cr_assert(w && sscanf(w, "  wake-ups: %d I/O, %d deadline, %d close", &io,
					      &dl, &cl) == 3,
				  "%s", out);
			cr_assert_geq(cl, 2, "%s: claims what it did not show: %s", args, out);
		}
		free(out);
	}
}

/*
 * An idle server waiting for outside clients says little: main waits in one Read (of a pipe,
 * until Ctrl-C or --duration), Accept in another. Main woke every 20 ms to look at a flag, about
 * 2,000 narrated lines a second that buried what an outside client did.
 */
Test(cli, an_idle_server_is_quiet)
{
	char *out = NULL;
	int st = np("run --clients 0 --listen 127.0.0.1:0 --duration 1 --no-ui --no-bpf --narrate",
		    &out);
	cr_assert_eq(st, 0, "exit %d: %s", st, out);
	cr_assert_eq(tu_count_lines(out, "waiting (sleep)"), 0, "%s", out);
	cr_assert_lt(tu_count_lines(out, ""), 300, "%s", out);
	cr_assert(strstr(out, "wake-ups: 0 I/O, 1 deadline, 1 close"), "%s", out);
	free(out);
}

/* After --duration's end echo's main waits for its clients asleep, not reading a spent deadline. */
Test(cli, a_run_past_its_duration_waits_for_its_clients_asleep)
{
	char *out = NULL;
	int st = np("run --clients 20 --duration 0.3 --no-ui --no-bpf --narrate", &out);
	cr_assert_eq(st, 0, "exit %d: %s", st, out);
	cr_assert_leq(tu_count_lines(out, "returns \"i/o timeout\""), 1, "%s", out);
	free(out);
}

/* The wait for --duration leaves no timer behind: break's poller still blocks in netpoll(-1). */
Test(cli, break_with_a_duration_blocks_in_netpoll_forever)
{
	says("run --scenario break --duration 30 --no-ui --no-bpf --narrate",
	     (const char *[]){"epoll_pwait timeout -1 (blocks)",
			      "the M blocked in netpoll(-1) was woken by netpollBreak", NULL},
	     (const char *[]){NULL});
}

Test(cli, accept_burst_serves_outside_clients)
{
	struct bg b;
	bg_start(&b, "burst",
		 "run --scenario accept-burst --clients 0 --listen 127.0.0.1:0 --duration 1 "
		 "--no-ui --no-bpf",
		 0);
	int s = dial(b.port);
	char msg[4] = "ping";
	cr_assert_eq(write(s, msg, 4), 4);
	cr_assert_eq(read(s, msg, 4), 4, "the echo comes back");
	close(s);
	int st = bg_end(&b);
	cr_assert_eq(st, 0, "exit %d: %s", st, b.out);
	/* its own story, not echo's: what the listener's goroutine did */
	cr_assert(strstr(b.out, "1 outside connection accepted; each time the listener's "
				"goroutine was woken (EPOLLIN, edge-triggered)"),
		  "%s", b.out);
	/* an outside client's round trips are its own: no "0 round trips over 1 connection" */
	cr_assert_null(strstr(b.out, "round trip"), "%s", b.out);
}

/*
 * A port already taken: the error is Go's ("listen tcp ADDR: bind: address already in use"),
 * said once, naming --listen, and no summary of a lesson that never ran; the recording shows it too: the failed bind(2) is an event, and the story in its footer
 * names the failure (a replay has no "error above" to point at).
 */
Test(cli, a_listen_that_fails_says_why_and_its_recording_shows_it)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	cr_assert(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 1) == 0 &&
		  getsockname(l, (struct sockaddr *)&sa, &len) == 0);
	char args[512], want[128], path[300], *out = NULL;
	snprintf(path, sizeof(path), "%s/fail.jsonl", tu_tmpdir());
	snprintf(args, sizeof(args),
		 "run --listen 127.0.0.1:%d --clients 0 --no-ui --no-bpf --record %s",
		 ntohs(sa.sin_port), path);
	int st = np(args, &out);
	cr_assert_eq(st, 1, "exit %d: %s", st, out);
	snprintf(want, sizeof(want), "listen tcp 127.0.0.1:%d: bind: address already in use",
		 ntohs(sa.sin_port));
	char line[400];
	/* Go's error, then what to do about it */
	snprintf(line, sizeof(line),
		 "netpollsim run: --listen 127.0.0.1:%d: %s (another socket listens there: `ss "
		 "-ltnp` names it; port 0 picks a free one)\n",
		 ntohs(sa.sin_port), want);
	cr_assert_str_eq(out, line, "one line, naming --listen");
	free(out);
	close(l);
	snprintf(args, sizeof(args),
		 "jq -c '(select(.op == \"bind\") | .ret), (.story // empty)' %s", path);
	cr_assert_eq(tu_run(args, 1, &out), 0, "%s", out);
	cr_assert(strstr(out, "-98\n"), "the bind is in the trace with -EADDRINUSE: %s", out);
	cr_assert(strstr(out, want), "the story names it: %s", out);
	free(out);
	tt_assert_legal(path);
}

/*
 * "Many clients at once" with thousands of them: the clients waiting for the go polled it every
 * millisecond, so 2,000 of them kept both CPUs busy and the run never got past starting them.
 */
Test(cli, accept_burst_with_thousands_of_clients_ends)
{
	says("run --scenario accept-burst --clients 2000 --no-ui --no-bpf",
	     (const char *[]){"2000 connections were dialled at once", NULL},
	     (const char *[]){NULL});
}

/*
 * --procs is GOMAXPROCS: with 1, echo (whose default is the CPU count) runs on P0 alone, and
 * the recording's header says 1 too.
 */
Test(cli, procs_sets_gomaxprocs)
{
	char args[512], path[400], *out = NULL;
	snprintf(path, sizeof(path), "%s/procs1.jsonl", tu_tmpdir());
	snprintf(args, sizeof(args), "run --procs 1 --no-ui --no-bpf --narrate --record %s", path);
	int st = np(args, &out);
	cr_assert_eq(st, 0, "%s: exit %d: %s", args, st, out);
	cr_assert(strstr(out, "\n== echo (GOMAXPROCS 1)\n"), "%s", out);
	cr_assert(strstr(out, " M0 P0 "), "%s", out);
	cr_assert_null(strstr(out, " P1 "), "a second P with GOMAXPROCS 1: %s", out);
	free(out);
	tt_assert_legal(path);
	snprintf(args, sizeof(args), "jq -c 'select(.format) | [.gomaxprocs, .options.procs]' %s",
		 path);
	cr_assert_eq(tu_run(args, 1, &out), 0, "%s", out);
	cr_assert_str_eq(out, "[1,1]\n");
	free(out);
}

/* Not "1 round trips over 1 connections" nor "1 connection ... one goroutine each". */
Test(cli, a_run_of_one_says_one)
{
	says("run --clients 1 --rounds 1 --no-ui --no-bpf",
	     (const char *[]){"\n1 connection served by its own goroutine; 1 round trip.\n",
			      "\nclients: 1 round trip over 1 connection\n", "(1 block of 16)",
			      NULL},
	     (const char *[]){"round trips over 1 connections", NULL});
}

Test(cli, builtin_clients_dial_the_listen_address)
{
	char *out = NULL;
	int st = np("run --listen 127.0.0.2:0 --no-ui --no-bpf", &out);
	cr_assert_eq(st, 0, "exit %d: %s", st, out);
	cr_assert(strstr(out, "clients: 6 round trips over 2 connections"), "%s", out);
	free(out);
}

Test(cli, a_client_that_cannot_connect_ends_the_run)
{
	char cmd[1024], *out = NULL;
	/*
	 * A million rounds: no client ends, so the others, started at once, run out of fds
	 * whatever the speed (with 3 rounds the first clients could end before the last began,
	 * and all 100 got through 64 fds); the first failure ends the run at once. --duration
	 * only bounds a run that would not fail.
	 */
	snprintf(
	    cmd, sizeof(cmd),
	    "timeout -s KILL 60 sh -c 'ulimit -n 64; exec %s run --clients 100 --rounds 1000000 "
	    "--duration 30 --no-ui --no-bpf' </dev/null",
	    tu_netpollsim());
	int st = tu_run(cmd, 1, &out);
	cr_assert_eq(st, 1, "exit %d: %s", st, out);
	cr_assert(strstr(out, "each client takes two in this process"), "%s", out);
	cr_assert(strstr(out, "client connect: too many open files"), "%s", out);
	cr_assert_null(strstr(out, "did not stop"), "%s", out);
	cr_assert_leq(tu_count_lines(out, "netpollsim: echo:"), 12, "a few lines only: %s", out);
	free(out);
}

Test(cli, clients_whose_syn_was_dropped_end_with_the_run, .timeout = 60)
{
	if (!tu_is_root()) {
		printf("skipped: needs root\n");
		cr_skip_test("needs root (a network namespace with a small listen queue)");
	}
	char cmd[1024], *out = NULL;
	/*
	 * A listen queue of 8 in a namespace of its own: most of the 2000 clients' SYNs are
	 * dropped and they wait for the kernel's retransmits while the first ones out of fds end
	 * the run. Those dials must end with it (they waited up to the next retransmit after the
	 * listener closed: minutes at 30000 clients), and say nothing more than the first error.
	 * A million rounds: no client ends, so the fds run out whatever the speed (with 3 rounds
	 * a run under ASan, its clients started more slowly, sometimes served them all with fewer
	 * than 1000 fds, through a minute of SYN retransmits). --duration only bounds a run that
	 * would not fail.
	 */
	snprintf(cmd, sizeof(cmd),
		 "timeout -s KILL 50 unshare -n sh -c 'ip link set lo up && sysctl -qw "
		 "net.core.somaxconn=8 && ulimit -n 1000 && exec %s run --clients 2000 --rounds "
		 "1000000 --duration 30 --no-ui --no-bpf' </dev/null",
		 tu_netpollsim());
	int st = tu_run(cmd, 1, &out);
	cr_assert_eq(st, 1, "exit %d: %s", st, out);
	cr_assert_eq(tu_count_lines(out, "out of fds: each client takes two in this process"), 1,
		     "%s", out);
	/*
	 * The server's Accept races the clients for the last fds: when it gets EMFILE too, it
	 * says so once and backs off (Go's net/http "Accept error: ...; retrying in 5ms"), and
	 * that is a second error. Nothing else.
	 */
	int accept_err = tu_count_lines(out, "netpollsim: echo: accept (retrying in 5 ms): too "
					     "many open files");
	cr_assert_leq(accept_err, 1, "%s", out);
	cr_assert_eq(tu_count_lines(out, "netpollsim: echo:"), 2 + accept_err,
		     "the out-of-fds line and its client connect error only: %s", out);
	cr_assert(strstr(out, "client connect: too many open files"), "%s", out);
	cr_assert(strstr(out, accept_err ? "\nerrors: 2 (see above)" : "\nerrors: 1 (see above)"),
		  "%s", out);
	free(out);
}

/*
 * "GUARD netpollsim run ARGS" where no SYN is ever answered: in a network namespace of its own
 * the server listens on 10.9.9.9 (ip_nonlocal_bind: not one of the namespace's addresses),
 * routed out of lo and dropped on the way back in (not local, no forwarding, no ICMP). Each
 * client's dial waits through the kernel's SYN retransmits, about two minutes, unless the run
 * cancels it. GUARD: a command prefix ("timeout ... ") or "".
 */
static void unanswered_cmd(char *cmd, size_t n, const char *guard, const char *args)
{
	snprintf(cmd, n,
		 "exec %sunshare -n sh -c 'ip link set lo up && sysctl -qw "
		 "net.ipv4.ip_nonlocal_bind=1 && ip route add 10.9.9.0/24 dev lo && exec %s run %s "
		 "--listen 10.9.9.9:0 --no-ui --no-bpf' </dev/null",
		 guard, tu_netpollsim(), args);
}

/* Sockets of pid's network namespace dialing 10.9.9.9 (SYN_SENT), from /proc/PID/net/tcp. */
static int dialing_unanswered(pid_t pid)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/net/tcp", (int)pid);
	FILE *f = fopen(path, "r");
	int n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char rem[32];
		unsigned st;
		/* "sl local_address rem_address st ...", addresses in host order hex */
		if (sscanf(line, "%*s %*s %31s %x", rem, &st) == 2 &&
		    !strncmp(rem, "0909090A:", 9) && st == 2)
			n++;
	}
	if (f)
		fclose(f);
	return n;
}

/*
 * The end of --duration cancels dials that get no answer, as a failure does: the run ends on
 * time, with status 0 and its story, not two minutes later when the kernel gives up the SYNs.
 * The suite's timeout is the hang detector.
 */
Test(cli, duration_ends_clients_whose_dial_gets_no_answer, .timeout = 40)
{
	NEED_ROOT();
	char cmd[1024], *out = NULL;
	/* killed after 100 s, should the timeout have left it behind */
	unanswered_cmd(cmd, sizeof(cmd), "timeout -s KILL 100 ", "--clients 4 --duration 0.5");
	int st = tu_run(cmd, 1, &out);
	cr_assert_eq(st, 0, "exit %d: %s", st, out);
	cr_assert(strstr(out, "\n0 connections served by one goroutine each; 0 round trips.\n"),
		  "%s", out);
	cr_assert(strstr(out, "\nclients: 0 round trips over 0 connections\n"), "%s", out);
	cr_assert_null(strstr(out, "client connect:"), "the stop's cancel is no error: %s", out);
	free(out);
}

/*
 * --rounds asked for more than --duration left time for: the story says the round trips are
 * what the stop let through, not the lesson's whole, and the run ends with 0 (it was asked to
 * stop then). Without --rounds, the clients run until --duration by design: nothing to say.
 */
Test(cli, a_duration_that_cuts_the_rounds_short_says_so, .timeout = 60)
{
	char *out = NULL;
	int st = np("run --clients 2 --rounds 100000000 --duration 0.2 --no-ui --no-bpf", &out);
	cr_assert_eq(st, 0, "exit %d: %s", st, out);
	cr_assert(strstr(out, " round trips of the 200000000 asked (--duration was over first).\n"),
		  "%s", out);
	free(out);
	st = np("run --clients 2 --duration 0.2 --no-ui --no-bpf", &out);
	cr_assert_eq(st, 0, "exit %d: %s", st, out);
	cr_assert_null(strstr(out, "asked"), "%s", out);
	cr_assert(strstr(out, "\n2 connections served by one goroutine each; "), "%s", out);
	free(out);
}

/*
 * Ctrl-C and kill cancel them too, while they dial: the run ends with 128 + the signal and its
 * whole summary. Before, it waited for the dials until its forced end 5 s later ("the scenario
 * did not stop"), whose summary has no story.
 */
Test(cli, a_signal_ends_clients_whose_dial_gets_no_answer, .timeout = 60)
{
	NEED_ROOT();
	static const struct {
		const char *args;
		int sig;
		const char *story;
	} cases[] = {
	    {"--clients 8", SIGINT,
	     " -- interrupted\n0 connections served by one goroutine each; 0 round trips of the "
	     "24 asked (interrupted first).\n"},
	    {"--scenario accept-burst --clients 8", SIGTERM,
	     " -- interrupted\nthe lesson did not reach its end: interrupted before a client "
	     "connected.\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[1024];
		unanswered_cmd(cmd, sizeof(cmd), "", cases[i].args); /* bg_end kills a hung one */
		struct bg b;
		bg_spawn(&b, "unanswered", cmd);
		/* Every client is dialing (the netns is the run's once 10.9.9.9 shows up). */
		while (dialing_unanswered(b.pid) < 8) {
			int st;
			if (waitpid(b.pid, &st, WNOHANG) == b.pid) {
				slurp(b.log, b.out, sizeof(b.out));
				cr_assert_fail("%s: ended before its clients dialed: %s",
					       cases[i].args, b.out);
			}
			usleep(10 * 1000);
		}
		kill(b.pid, cases[i].sig);
		int st = bg_end(&b);
		cr_assert_eq(st, 128 + cases[i].sig, "%s: exit %d: %s", cases[i].args, st, b.out);
		cr_assert_null(strstr(b.out, "did not stop"), "%s: %s", cases[i].args, b.out);
		cr_assert(strstr(b.out, cases[i].story), "%s: %s", cases[i].args, b.out);
		cr_assert_null(strstr(b.out, "client connect:"), "%s: %s", cases[i].args, b.out);
	}
}

Test(cli, a_failing_accept_backs_off)
{
	struct bg b;
	bg_start(&b, "emfile", "run --clients 0 --listen 127.0.0.1:0 --duration 3 --no-ui --no-bpf",
		 32);
	/* More connections than the server has fds: Accept fails with EMFILE until the end. */
	int s[60];
	for (int i = 0; i < 60; i++)
		s[i] = dial(b.port);
	/*
	 * Held past the end: the run ends with its handlers parked in Read, an M asleep in
	 * netpoll(-1) on their behalf (sim_netpoll exit_overtaking_a_late_poller_still_ends).
	 */
	int st = bg_end(&b);
	for (int i = 0; i < 60; i++)
		close(s[i]);
	cr_assert_eq(st, 1, "exit %d: %s", st, b.out);
	cr_assert(strstr(b.out, "accept (retrying in 5 ms): too many open files"), "%s", b.out);
	cr_assert(strstr(b.out, "accept (retrying in 640 ms)"), "it backs off: %s", b.out);
	/* 5 ms doubling to 1 s: about a dozen tries in 3 s (every 5 ms it would be 600). */
	const char *e = strstr(b.out, "errors: ");
	cr_assert_not_null(e, "%s", b.out);
	cr_assert_leq(atoi(e + 8), 15, "%s", b.out);
}

Test(cli, a_lesson_tells_what_really_happened)
{
	/* A client that sends at once: Read gets data; no deadline fires, no Close finds it. */
	static const struct {
		const char *lesson, *said, *told, *not ;
	} cases[] = {
	    {"deadline", "Read got data, not i/o timeout",
	     "Read returned data before its deadline: the client sent some",
	     "woken by its deadline timer"},
	    {"close", "the reader got data before Close: the client sent some",
	     "Close did not find both parked: the reader got data,", "timed out"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char args[256];
		snprintf(args, sizeof(args),
			 "run --scenario %s --clients 0 --listen 127.0.0.1:0 --no-ui --no-bpf",
			 cases[i].lesson);
		struct bg b;
		bg_start(&b, cases[i].lesson, args, 0);
		int s = dial(b.port);
		cr_assert_eq(write(s, "hello", 5), 5);
		int st = bg_end(&b);
		close(s);
		cr_assert_eq(st, 1, "%s: exit %d: %s", args, st, b.out);
		cr_assert(strstr(b.out, cases[i].said), "%s: %s", args, b.out);
		cr_assert(strstr(b.out, cases[i].told), "%s: %s", args, b.out);
		cr_assert_null(strstr(b.out, cases[i].not ), "%s: %s", args, b.out);
		cr_assert_eq(tu_count_lines(b.out, "netpollsim: "), 2, "one error: %s", b.out);
	}
}

/*
 * slow-reader with an outside client (nc in another terminal, read slowly): the client's
 * receive buffer is the kernel's default, not the 4 KiB the lesson's own client asks for, and
 * the writer must still meet a full buffer and park (64 KiB fitted in it: it never parked).
 */
/*
 * The break lesson with an outside client that sends: the reader's Read returns with the data,
 * so no M stays in netpoll(-1) for netpollBreak to wake. The story says so; it used to blame a
 * busy machine.
 */
Test(cli, the_break_lesson_says_when_the_client_sent_data)
{
	const char *args = "run --scenario break --clients 0 --listen 127.0.0.1:0 --no-ui --no-bpf";
	struct bg b;
	bg_start(&b, "break-data", args, 0);
	int s = dial(b.port);
	cr_assert_eq(write(s, "hello", 5), 5);
	int st = bg_end(&b);
	close(s);
	cr_assert_eq(st, 0, "%s: exit %d: %s", args, st, b.out);
	cr_assert(strstr(b.out, "no netpollBreak this time: the client sent data, so the reader's "
				"Read returned and no M stayed blocked in netpoll(-1)"),
		  "%s", b.out);
	cr_assert_null(strstr(b.out, "a busy machine"), "%s", b.out);
}

/* Without --narrate the output is the summary: its failure says "output", not "narration". */
Test(cli, a_summary_that_cannot_be_written_says_output)
{
	char cmd[700], *out;
	snprintf(cmd, sizeof(cmd), "%s run --no-ui --no-bpf 2>&1 >/dev/full", tu_netpollsim());
	int st = tu_run(cmd, 0, &out);
	cr_assert_eq(st, 1, "exit %d: %s", st, out);
	cr_assert(strstr(out, "netpollsim run: output to stdout stopped: No space left on device"),
		  "%s", out);
	free(out);
}

Test(cli, slow_reader_parks_the_writer_for_an_outside_client)
{
	struct bg b;
	bg_start(&b, "slow-outside",
		 "run --scenario slow-reader --clients 0 --listen 127.0.0.1:0 --duration 60 "
		 "--no-ui --no-bpf",
		 0);
	int s = dial(b.port);
	/* Read 4 KiB a millisecond until nothing more comes for 2 s (all written), then close. */
	struct timeval tv = {.tv_sec = 2};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	while ((n = read(s, buf, sizeof(buf))) > 0) {
		got += (size_t)n;
		usleep(1000);
	}
	close(s);
	int st = bg_end(&b);
	cr_assert_eq(st, 0, "exit %d after %zu bytes: %s", st, got, b.out);
	cr_assert(strstr(b.out, "times and parked on wg each time"), "%zu bytes: %s", got, b.out);
}

/*
 * The close lesson's writer sends an outside client (nc, say) text its terminal can show: line
 * after line of what it is, not 8 MiB of NUL bytes.
 */
Test(cli, the_close_lesson_sends_an_outside_client_readable_lines, .timeout = 60)
{
	static const char line[] = "netpollsim close lesson: 8 MiB to fill the socket buffers\n";
	struct bg b;
	bg_start(&b, "close-outside",
		 "run --scenario close --clients 0 --listen 127.0.0.1:0 --no-ui --no-bpf", 0);
	int s = dial(b.port);
	struct timeval tv = {.tv_sec = 20};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char got[2 * sizeof(line)] = "";
	size_t have = 0, want = 2 * (sizeof(line) - 1);
	ssize_t n;
	while (have < want && (n = read(s, got + have, want - have)) > 0)
		have += (size_t)n;
	/* then no more reads: the writer fills the buffers and parks, and Close ends the lesson */
	int st = bg_end(&b);
	close(s);
	cr_assert_eq(have, want, "%zu bytes: %s", have, b.out);
	cr_assert(!strncmp(got, line, sizeof(line) - 1) &&
		      !strncmp(got + sizeof(line) - 1, line, sizeof(line) - 1),
		  "the first two lines: '%.*s'", (int)have, got);
	cr_assert_eq(st, 0, "exit %d: %s", st, b.out);
}

/*
 * A copy of the binary handed out alone says it found no samples, and where it looked; handed
 * out with its samples/ beside it, it names them, as `replay` does for a file not found.
 */
Test(cli, scenarios_says_where_the_samples_are_or_that_they_are_not)
{
	char cmd[1400], want[700], *out = NULL;
	const char *dir = tu_tmpdir();
	snprintf(
	    cmd, sizeof(cmd),
	    "mkdir -p %s/handout && cp %s %s/handout/ && cd / && %s/handout/netpollsim scenarios",
	    dir, tu_netpollsim(), dir, dir);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "%s", out);
	snprintf(want, sizeof(want),
		 "\nThe recorded sample traces were not found: not in ../share/netpollsim/samples "
		 "nor\nsamples/ beside this binary (in %s/handout), nor in the source tree it was "
		 "built in\n(traces/samples).\n",
		 dir);
	cr_assert(strstr(out, want), "no '%s' in: %s", want, out);
	free(out);
	snprintf(cmd, sizeof(cmd),
		 "cp -r traces/samples %s/handout/ && cd / && %s/handout/netpollsim scenarios && "
		 "%s/handout/netpollsim replay nosuch.jsonl",
		 dir, dir, dir);
	cr_assert_eq(tu_run(cmd, 1, &out), 1, "%s", out);
	snprintf(want, sizeof(want), "\n  %s/handout/samples/NAME.jsonl\n", dir);
	cr_assert(strstr(out, want), "no '%s' in: %s", want + 1, out);
	snprintf(want, sizeof(want), "the sample traces are in %s/handout/samples (e.g. ", dir);
	cr_assert(strstr(out, want), "no '%s' in: %s", want, out);
	free(out);
}

Test(cli, make_install_honours_prefix_and_destdir)
{
	char cmd[1024], *out = NULL;
	const char *dest = tu_tmpdir();
	snprintf(
	    cmd, sizeof(cmd),
	    "make --no-print-directory -s install PREFIX=/opt/nps DESTDIR=%s/root >/dev/null && "
	    "cd %s/root && find . -type f | sort",
	    dest, dest);
	int st = tu_run(cmd, 1, &out);
	cr_assert_eq(st, 0, "%s: %s", cmd, out);
	cr_assert(strstr(out, "./opt/nps/bin/netpollsim\n"), "%s", out);
	cr_assert(strstr(out, "./opt/nps/share/netpollsim/samples/echo.jsonl\n"), "%s", out);
	cr_assert_eq(tu_count_lines(out, "./opt/nps/"), tu_count_lines(out, "./"),
		     "nothing outside PREFIX: %s", out);
	cr_assert(strstr(out, "./opt/nps/share/doc/netpollsim/event-stream.md\n"), "%s", out);
	free(out);
	/* run from elsewhere, it says where its samples are, and they are there */
	snprintf(cmd, sizeof(cmd), "cd / && %s/root/opt/nps/bin/netpollsim scenarios", dest);
	cr_assert_eq(tu_run(cmd, 1, &out), 0, "the installed binary runs: %s", out);
	char want[700];
	snprintf(want, sizeof(want), "\n  %s/root/opt/nps/share/netpollsim/samples/NAME.jsonl\n",
		 dest);
	cr_assert(strstr(out, want), "no '%s' in: %s", want + 1, out);
	free(out);
	/* uninstall takes back all of it, and nothing else */
	snprintf(cmd, sizeof(cmd), "touch %s/root/opt/nps/keep", dest);
	cr_assert_eq(tu_run(cmd, 0, NULL), 0);
	snprintf(cmd, sizeof(cmd),
		 "make --no-print-directory -s uninstall PREFIX=/opt/nps DESTDIR=%s/root "
		 ">/dev/null && cd %s/root && find . | sort",
		 dest, dest);
	st = tu_run(cmd, 1, &out);
	cr_assert_eq(st, 0, "%s: %s", cmd, out);
	cr_assert_str_eq(out,
			 ".\n./opt\n./opt/nps\n./opt/nps/bin\n./opt/nps/keep\n./opt/nps/share\n"
			 "./opt/nps/share/doc\n");
	free(out);
}
