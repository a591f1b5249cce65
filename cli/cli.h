/* SPDX-License-Identifier: MIT */
/*
 * The subcommands of netpollsim. Each lives in its own cli/cmd_*.c and is the only place where
 * the modules it needs meet (sim, traces, bpf, ui). Every command takes (argc, argv) with
 * argv[0] the subcommand's name, prints its errors to stderr and returns the exit status.
 */
#ifndef NPS_CLI_CLI_H
#define NPS_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

int cmd_run(int argc, char **argv);	  /* cli/cmd_run.c: run a scenario */
int cmd_scenarios(int argc, char **argv); /* cli/cmd_run.c: list the scenarios */
int cmd_check(int argc, char **argv);	  /* cli/cmd_check.c: validate a trace */
int cmd_replay(int argc, char **argv);	  /* cli/cmd_replay.c: replay a trace */
int cmd_export(int argc, char **argv);	  /* cli/cmd_export.c: convert a trace */
int cmd_trace(int argc, char **argv);	  /* cli/cmd_trace.c: kernel view of any process */

/* Exit statuses shared by the commands. */
#define NPS_EXIT_OK    0
#define NPS_EXIT_FAIL  1 /* the operation failed (bad trace, violations, ...) */
#define NPS_EXIT_USAGE 2 /* bad command line */

#define NPS_VERSION	     "0.9" /* --version; the trace format has its own (TRACE_VERSION) */
#define NPS_EXIT_INTERRUPTED 130   /* SIGINT ended a run (any signal: 128 + the signal) */

/*
 * A --duration value: seconds, > 0, finite, at most CLI_DURATION_MAX_S (7 days; longer runs
 * leave --duration out and stop with Ctrl-C). 0 with *secs set, or -1 (*secs untouched).
 */
#define CLI_DURATION_MAX_S (7 * 86400)
int cli_parse_duration(const char *s, double *secs);

/*
 * A bad option in cmd's command line, for getopt_long() run with opterr = 0 and an option string
 * that starts with ':' (c: what it returned, ':' or '?'; opts: its long options). Said as run
 * says it, in one line on stderr: "netpollsim export: -o needs a value", "unknown option
 * '--bogus' (see --help)", "--help takes no value". Returns NPS_EXIT_USAGE.
 */
struct option;
int cli_option_error(const char *cmd, int c, char **argv, const struct option *opts);

/*
 * getopt_long() for cmd, which also refuses an option's value that is the next option
 * ("run --procs --no-ui": getopt would take "--no-ui" as the number). It says so in one line
 * ("--procs needs a value: '--no-ui' is an option") and returns CLI_OPT_SAID, which
 * cli_option_error() turns into NPS_EXIT_USAGE without a second message. A value that merely
 * starts with '-' ("-" for stdout, "-1") is a value.
 */
#define CLI_OPT_SAID (-2)

/*
 * The caller started us with stdout closed (`>&-`): main gave /dev/null its place. An output
 * asked of stdout ("-") would vanish without a word: cli_refuse_closed_stdout() says so and
 * returns NPS_EXIT_FAIL when path is "-" and stdout was closed, else 0.
 */
extern bool cli_stdout_was_closed;
int cli_refuse_closed_stdout(const char *cmd, const char *path);

/*
 * A value the user typed, for a message: any control character escaped (traces/json.h's
 * trace_sanitize), so that nothing printed can change the terminal's state. Returns buf.
 */
const char *cli_arg_text(const char *s, char *buf, size_t len);

/*
 * The name a mistyped one most likely meant ("ech", "Echo", "slowreader", "--narate", "replya"):
 * the one it starts (3 characters at least) or ends (4), or the nearest within 2 edits (1 for
 * a word of 3 or 4 letters), case aside; never for 2 letters, nor "no-X" for "X". table: n entries of stride bytes, each starting with its name (a const char *, as
 * struct option and struct scenario do). Its index, or -1 when none or a tie.
 */
int cli_nearest(const char *typed, const void *table, size_t stride, size_t n);

/*
 * Where the recorded sample traces are for this binary: PREFIX/share/netpollsim/samples
 * beside an installed PREFIX/bin/netpollsim, samples/ in the binary's own directory (a copy
 * handed out), the source tree's traces/samples beside build/netpollsim; NULL when none is.
 */
const char *cli_samples_dir(void);
/* The directory this binary is in (/proc/self/exe's), NULL when unknown. */
const char *cli_exe_dir(void);
/*
 * After "cannot open" for a trace path that does not exist (a sample's name typed wrong):
 * "netpollsim CMD: the sample traces are in DIR (e.g. DIR/echo.jsonl)" on stderr, when there are
 * samples beside this binary.
 */
void cli_hint_samples(const char *cmd, const char *path);

/*
 * --record's file (record_fd, made for path) is where standard output goes too (`--record
 * x.jsonl > x.jsonl`, `--record /dev/stdout`): the narration and summary would write into the
 * trace. Says so for cmd and returns true; "-" is the way to put the trace on stdout.
 */
bool cli_record_is_stdout(const char *cmd, const char *path, int record_fd);

/*
 * --record's file made (traces/json.h trace_writer_create): a FIFO nobody reads yet makes the
 * open wait for a reader, which is said first, not waited on in silence.
 */
int cli_record_create(const char *cmd, const char *path);
int cli_getopt(const char *cmd, int argc, char **argv, const char *optstring,
	       const struct option *opts);

/*
 * Catch every signal that would end the process (cli/signals.c says which), so that the
 * command can stop cleanly: handler only records the signal. SIGPIPE is ignored.
 */
void cli_catch_stop_signals(void (*handler)(int));

#endif /* NPS_CLI_CLI_H */
