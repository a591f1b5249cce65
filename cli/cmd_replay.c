// SPDX-License-Identifier: MIT
/*
 * `netpollsim replay FILE --no-ui [--narrate] [--speed X] [--quiet]`: read a trace back through the fold
 * and print the same narration a live run prints (traces/narrate.h), then the summary. With
 * --speed the events are paced in real time (X times faster); by default as fast as possible;
 * --max-gap S caps each pause at S seconds (a lesson's 100 ms deadline at 0.001 is 100 s).
 * On a terminal a paced replay reads keys (cli/keys.h): space pauses, n steps, q ends.
 * SIGINT/SIGTERM stop the replay after the current event; the summary is still printed.
 * The dashboard (ui/) is not part of this command yet: without --no-ui it narrates.
 */
#include "cli/cli.h"
#include "cli/keys.h"
#include "cli/out.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "traces/check.h"
#include "traces/fold.h"
#include "traces/json.h"
#include "traces/names.h"
#include "traces/narrate.h"

static volatile sig_atomic_t stop_sig;
static bool no_dashboard; /* neither --no-ui nor --narrate: the notice run also gives */

static void on_signal(int sig)
{
	stop_sig = sig;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: netpollsim replay FILE [--no-ui] [--narrate [--speed X [--max-gap S]]]\n"
		"                         [--quiet]\n\n"
		"Replay a recorded trace: its events narrated as a live run narrates them (with\n"
		"--narrate, or without --no-ui), then the summary (--no-ui alone: the summary).\n\n"
		"options:\n"
		"      --no-ui       print to the terminal, not the dashboard (which is not in\n"
		"                    this build: without --no-ui the replay narrates)\n"
		"  -n, --narrate     one line per event that matters, with notes and violations\n"
		"                    (on a terminal: fitted to its width, times in ms)\n"
		"      --speed X     pace the events in real time, X times faster (default: as\n"
		"                    fast as possible; 1e-6 to 1e9). A lesson lasts 1-200 ms:\n"
		"                    0.001 shows one ms of it per second, 0.0002 one ms in\n"
		"                    five seconds.\n"
		"                    On a terminal: space pauses and resumes, n (paused) shows\n"
		"                    the next event, q ends the replay\n"
		"      --max-gap S   with --speed: a stretch without events that would take more\n"
		"                    than S seconds is shown in S, and said (a 100 ms deadline at\n"
		"                    0.001 would be 100 s of silence)\n"
		"  -q, --quiet       no summary (what went wrong with the file is still said)\n"
		"  -h, --help        this help\n\n"
		"examples:\n"
		"  netpollsim replay deadline.jsonl --no-ui --narrate\n"
		"  netpollsim replay echo.jsonl --no-ui --narrate --speed 0.001\n"
		"  netpollsim replay deadline.jsonl --no-ui --narrate --speed 0.001 --max-gap 2\n\n"
		"exit status: 0 every line read, violations included (they are told; 'netpollsim\n"
		"check' judges them), 1 the file or a line cannot be read or an output failed,\n"
		"2 usage, 128 + N when signal N ended it (130: Ctrl-C)\n");
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The replay clock of a paced replay, and what the keys did to it (cli/keys.h). */
struct pacer {
	double speed;
	uint64_t t0;   /* CLOCK_MONOTONIC ns when the replay clock read 0 (moved by pauses) */
	uint64_t last; /* the replay time (ns) of the last event shown */
	bool keys;     /* keys are read: space pauses and resumes, n steps, q ends */
	bool paused, quit;
	bool step; /* n while paused: events go out until one is narrated */
	unsigned *width;
};

static void out_line(const char *line);

#define PAUSED "-- paused: space resumes, n shows the next event, q ends the replay --"

/* A line about the replay itself, under the narration's text column, fitted as it is. */
static void say_replay(const struct pacer *pc, const char *text)
{
	char line[200], fit[800];
	int n = snprintf(line, sizeof(line), "%s%s", *pc->width ? "  " : "            ", text);
	out_line(*pc->width && narrate_fit_text(line, (size_t)n, *pc->width, fit, sizeof(fit))
		     ? fit
		     : line);
	fflush(stdout);
}

/*
 * Wait until the event at replay time rel_ns is due; false when a signal or q stopped it. Waits
 * in slices of at most 50 ms so that a signal is seen promptly even where its delivery is
 * deferred to the end of a blocking call (TSan does that). Paused, only n lets an event out.
 */
static bool pace(struct pacer *pc, double rel_ns)
{
	double at = rel_ns / pc->speed;
	if (at > 1e15)
		at = 1e15;
	for (;;) {
		if (stop_sig || pc->quit)
			return false;
		if (keys_continued()) { /* stopped by Ctrl-Z: on from the last event shown */
			pc->t0 = now_ns() - (uint64_t)((double)pc->last / pc->speed);
			if (pc->paused) /* the shell's lines are on the screen now: say it again */
				say_replay(pc, PAUSED);
		}
		uint64_t now = now_ns(), until = pc->t0 + (uint64_t)at;
		if ((!pc->paused && now >= until) || pc->step) {
			pc->last = rel_ns;
			return true;
		}
		uint64_t left = pc->paused || until - now > 50000000u ? 50000000u : until - now;
		switch (keys_wait(left)) {
		case ' ':
		case 'p':
			pc->paused = !pc->paused;
			if (pc->paused) {
				say_replay(pc, PAUSED);
			} else { /* the clock goes on from the last event shown */
				pc->t0 = now_ns() - (uint64_t)((double)pc->last / pc->speed);
				say_replay(pc, "-- resumed --");
			}
			break;
		case 'n':
			if (pc->paused) {
				pc->last = rel_ns;
				pc->step = true;
				return true;
			}
			break;
		case 'q':
			pc->quit = true;
			break;
		default:
			break;
		}
	}
}

/* The first failed write to stdout (a full disk, a closed pipe), 0 none: said at the end. */
static int out_errno;

/* One narrated line; a failed write is kept, and once stdout failed nothing more is tried. */
static void out_line(const char *line)
{
	if (!out_errno && puts(line) == EOF)
		out_errno = errno ? errno : EIO;
}

/* The lines mem holds (then closed), fitted to the terminal as the narration is. */
static void out_fitted(FILE *mem, char **text, size_t *len, unsigned width)
{
	if (fclose(mem) == 0) {
		size_t cap = *len * 4 + 1; /* a wrapped line may grow 4 columns */
		char *fit = malloc(cap);
		if (fit) {
			size_t n = narrate_fit_text(*text, *len, width, fit, cap);
			if (!out_errno && fwrite(fit, 1, n, stdout) != n)
				out_errno = errno ? errno : EIO;
		}
		free(fit);
	}
	free(*text);
	*text = NULL;
}

/*
 * What was recorded: the scenario's name for a run; for `netpollsim trace`, the process and its
 * program ("trace of pid 2887, /srv/httpsrv"), as far as the header says them.
 */
static const char *what_said(const struct trace_info *in)
{
	static char s[640];

	if (strcmp(in->scenario, "trace") || !in->pid)
		return in->scenario;
	snprintf(s, sizeof(s), "trace of pid %d%s%s", in->pid, in->exe[0] ? ", " : "", in->exe);
	return s;
}

/*
 * "GOMAXPROCS 2" for a run; for a traced Go program, where `trace` found it (its $GOMAXPROCS, or
 * the CPUs it may use: Go's default), since a runtime.GOMAXPROCS call in the program would not
 * show; what the header says of any other traced program ("go": "none" or "unknown"), whose
 * gomaxprocs is only a placeholder.
 */
static const char *procs_said(const struct trace_info *in)
{
	static char s[128];
	if (!strncmp(in->go_version, "go", 2) && !strcmp(in->gomaxprocs_from, "runtime"))
		snprintf(s, sizeof(s), "%s, GOMAXPROCS %d read from runtime.gomaxprocs",
			 in->go_version, in->gomaxprocs);
	else if (!strncmp(in->go_version, "go", 2) && !strcmp(in->scenario, "trace"))
		snprintf(s, sizeof(s), "%s, GOMAXPROCS %d from its environment or CPUs",
			 in->go_version, in->gomaxprocs);
	else if (!strncmp(in->go_version, "go", 2))
		snprintf(s, sizeof(s), "GOMAXPROCS %d", in->gomaxprocs);
	else if (!strcmp(in->go_version, "none"))
		snprintf(s, sizeof(s), "not a Go program");
	else
		snprintf(s, sizeof(s), "Go or not: %s", in->go_version);
	return s;
}

/*
 * --max-gap: the trace time a stretch without events that would take more than max_gap seconds
 * at speed loses, added to *cut (the replay clock runs that much ahead from there), and said.
 */
static void cut_gap(uint64_t gap_ns, double speed, double max_gap, double *cut, unsigned width,
		    bool keys)
{
	/* trace ns shown in max_gap seconds: under 1 ns at the slowest speeds, hence doubles */
	double keep = max_gap * speed * 1e9;
	double wait = (double)gap_ns / 1e9 / speed;
	char line[200], fit[800], span[32], gap[40];
	int n;
	if (max_gap <= 0 && wait > 10) {
		/* a pause longer than a class waits in silence: how long, and how to shorten it */
		if (wait < 120)
			snprintf(span, sizeof(span), "%.0f s", wait);
		else if (wait < 7200)
			snprintf(span, sizeof(span), "%.0f min", wait / 60);
		else if (wait < 172800)
			snprintf(span, sizeof(span), "%.1f h", wait / 3600);
		else
			snprintf(span, sizeof(span), "%.0f days", wait / 86400);
		n = snprintf(line, sizeof(line),
			     "%s... %s without events: the next one in %s at --speed %g "
			     "(%s--max-gap S shows such a pause in S seconds)",
			     width ? "  " : "            ", narrate_span(gap_ns, gap, sizeof(gap)),
			     span, speed, keys ? "space then n shows it now; " : "");
	} else if (max_gap > 0 && (double)gap_ns > keep) {
		*cut += (double)gap_ns - keep;
		n = snprintf(
		    line, sizeof(line), "%s... %s without events, shown in %g s (--max-gap)",
		    width ? "  " : "            ", narrate_span(gap_ns, gap, sizeof(gap)), max_gap);
	} else {
		return;
	}
	/* under the text column in a pipe; on a terminal, fitted to it as the narration is */
	out_line(width && narrate_fit_text(line, (size_t)n, width, fit, sizeof(fit)) ? fit : line);
}

static int replay(const char *path, bool narrate, double speed, double max_gap, bool quiet)
{
	struct trace_reader *r = NULL;
	struct nps_fold f;
	struct nps_event e;
	struct fold_verdict v[8];
	char line[NARRATE_LINE_MAX];
	char *text = NULL;
	size_t tlen = 0;
	FILE *mem;
	unsigned width = cli_term_width(STDOUT_FILENO);
	int rc, status = NPS_EXIT_OK;
	if (width && narrate)
		cli_term_follow();
	if (fold_init(&f)) {
		fprintf(stderr, "netpollsim replay: out of memory\n");
		return NPS_EXIT_FAIL;
	}
	rc = trace_reader_open(path, &r);
	if (rc) {
		/* stopped while the open waited (a FIFO nobody writes yet): no error, as check */
		if (!stop_sig)
			fprintf(stderr, "netpollsim replay: %s\n", trace_reader_error(r));
		if (!stop_sig)
			cli_hint_samples("replay", path);
		trace_reader_close(r);
		fold_fini(&f);
		return stop_sig ? 128 + stop_sig : NPS_EXIT_FAIL;
	}
	if (no_dashboard) /* after the open: a file not there is the one thing to say */
		cli_say_no_dashboard();
	const struct trace_info *in = trace_reader_info(r);
	if (in->kernel_view) /* as check judges it: the probes were on from the start */
		fold_set_kernel_view(&f);
	if (narrate && !quiet && (mem = open_memstream(&text, &tlen))) {
		fprintf(mem, "replay of %s: %s, %s, recorded %s on kernel %s\n",
			trace_reader_name(r), what_said(in), procs_said(in),
			in->start[0] ? in->start : "?", in->kernel[0] ? in->kernel : "?");
		out_fitted(mem, &text, &tlen, width);
	}
	struct pacer pc = {.speed = speed, .width = &width};
	/* a class pauses a paced replay to talk over it: keys, on a terminal */
	if (speed > 0 && narrate && (pc.keys = keys_start()))
		say_replay(&pc,
			   "keys: space pauses and resumes, n (paused) shows the next event, q "
			   "ends the replay");
	pc.t0 = now_ns();
	uint64_t first = 0, prev = 0;
	double cut = 0;				 /* trace ns --max-gap took out so far */
	bool have_first = false, headed = false; /* headed: the columns' names said */
	/* a bad line is reported where it is and skipped (docs/trace-format.md), the replay goes
	 * on; only an error that is not about one line (I/O) stops it */
	while (!stop_sig && !pc.quit && (rc = trace_reader_next_skipping(r, &e, stderr)) > 0) {
		if (!have_first) {
			first = prev = e.ts;
			have_first = true;
		}
		if (speed > 0 && e.ts > prev)
			cut_gap(e.ts - prev, speed, max_gap, &cut, width, pc.keys);
		prev = e.ts > prev ? e.ts : prev;
		if (speed > 0 && !pace(&pc, fmax((double)(e.ts - first) - cut, 0)))
			break;
		int n = fold_apply(&f, &e, trace_reader_line(r), v, 8);
		if (n < 0) {
			rc = -ENOMEM;
			break;
		}
		if (!narrate)
			continue;
		cli_term_refit(STDOUT_FILENO, &width); /* a paced replay may be resized meanwhile */
		if (narrate_event(&e, &f, in->mono_origin, width, line, sizeof(line))) {
			char head[NARRATE_LINE_MAX];
			if (!headed && narrate_header(width, !strcmp(in->scenario, "trace"), head,
						      sizeof(head)))
				out_line(head);
			headed = true;
			out_line(line);
			pc.step = false; /* a step shows one narrated event */
		}
		for (int i = 0; i < n; i++)
			if (narrate_verdict(&v[i], width, line, sizeof(line)))
				out_line(line);
		if (out_errno == EPIPE)
			break; /* the reader went away: nobody reads the rest */
	}
	keys_stop();
	bool ended = stop_sig || pc.quit; /* before the trace's end */
	if (rc < 0) {
		fflush(stdout);
		fprintf(stderr, "netpollsim replay: %s\n",
			rc == -ENOMEM ? "out of memory" : trace_reader_error(r));
		status = NPS_EXIT_FAIL;
	}
	if (rc == 0 && !ended && in->has_footer) {
		/* A complete trace: judge what its end leaves owed (an epoll_ctl never shown). */
		int n;
		do {
			n = fold_end(&f, v, 8);
			for (int i = 0; narrate && i < n; i++)
				if (narrate_verdict(&v[i], width, line, sizeof(line)))
					out_line(line);
		} while (n == 8);
	}
	/* The ending the live run printed: its heading, and the scenario's closing line. */
	mem = open_memstream(&text, &tlen);
	if (!mem) {
		fprintf(stderr, "netpollsim replay: out of memory for the summary\n");
		mem = stdout; /* as it is, unfitted */
	}
	if (!quiet) {
		/* a trace's stop signal is how it ends (its story says so), not an interruption */
		fprintf(mem, "%s== %s (%s)%s\n", narrate ? "\n" : "", what_said(in), procs_said(in),
			in->interrupted && strcmp(in->scenario, "trace") ? " -- interrupted" : "");
		if (in->story[0])
			fprintf(mem, "%s.\n", in->story);
		/* the footer's end less the header's start: the events may stop well before it */
		bool spanned =
		    in->has_footer && in->wall_start_ns > 0 && in->wall_end_ns > in->wall_start_ns;
		narrate_summary(mem, &f,
				spanned ? (uint64_t)(in->wall_end_ns - in->wall_start_ns) : 0);
	}
	char shortened[200];
	if (rc == 0 && !ended && trace_reader_cut_short(r, shortened, sizeof(shortened)))
		fprintf(mem, "  %s\n", shortened);
	int wrong =
	    rc == 0 && !ended ? trace_footer_mismatches(in, &f, f.st.events, NULL, NULL) : 0;
	if (wrong) /* a file edited, or joined from two: check calls it illegal */
		fprintf(mem,
			"  the footer disagrees with the events read in %d count%s (netpollsim "
			"check names %s)\n",
			wrong, nps_plural((uint64_t)wrong), wrong > 1 ? "them" : "it");
	uint64_t skipped = trace_reader_skipped(r);
	if (skipped) {
		/* the summary counts the events read: the user must know some lines were not */
		fprintf(mem, "  %llu line%s skipped: unreadable (the errors above name them)\n",
			(unsigned long long)skipped, nps_plural(skipped));
		status = NPS_EXIT_FAIL;
	}
	if (pc.quit && !stop_sig)
		fprintf(mem, "  replay ended by q after %llu event%s\n",
			(unsigned long long)f.st.events, nps_plural(f.st.events));
	if (stop_sig) {
		char sig[32];
		const char *name = nps_signal_name(stop_sig, sig, sizeof(sig));
		fprintf(mem, "  replay interrupted by %s (signal %d)\n", name ? name : "a signal",
			(int)stop_sig);
		status = 128 + stop_sig;
	}
	if (mem != stdout) {
		cli_term_refit(STDOUT_FILENO, &width);
		out_fitted(mem, &text, &tlen, width);
	}
	if (fflush(stdout) && !out_errno)
		out_errno = errno ? errno : EIO;
	if (out_errno) {
		/*
		 * A closed pipe (`| head`) ends the replay quietly, as SIGPIPE would have; any other
		 * failure is an error that says why.
		 */
		if (out_errno != EPIPE)
			fprintf(stderr, "netpollsim replay: writing to stdout: %s\n",
				strerror(out_errno));
		if (status == NPS_EXIT_OK)
			status = out_errno == EPIPE ? 128 + SIGPIPE : NPS_EXIT_FAIL;
	}
	trace_reader_close(r);
	fold_fini(&f);
	return status;
}

/* A number in [min, max] for an option; false, said with what it wants, for anything else. */
static bool number_arg(const char *opt, const char *arg, double min, double max, const char *wants,
		       double *v)
{
	char *end;
	*v = strtod(arg, &end);
	if (!*end && isfinite(*v) && *v >= min && *v <= max)
		return true;
	char shown[64];
	cli_arg_text(arg, shown, sizeof(shown));
	fprintf(stderr, "netpollsim replay: %s wants %s, not '%s'\n", opt, wants, shown);
	return false;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"no-ui", no_argument, NULL, 'U'},
	    {"narrate", no_argument, NULL, 'n'},
	    {"speed", required_argument, NULL, 's'},
	    {"max-gap", required_argument, NULL, 'g'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	bool no_ui = false, narrate = false, quiet = false;
	double speed = 0, max_gap = 0;
	int c;
	optind = 1;
	opterr = 0; /* its errors are said as run says them (cli_option_error) */
	while ((c = cli_getopt("replay", argc, argv, ":nqh", opts)) != -1) {
		switch (c) {
		case 'U':
			no_ui = true;
			break;
		case 'n':
			narrate = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 's':
			if (!number_arg(
				"--speed", optarg, 1e-6, 1e9,
				"a number from 1e-6 (one microsecond of the trace a second) up "
				"to 1e9 (1 = real time, 0.001 = one ms of the trace a second, as a "
				"class watches it)",
				&speed))
				return NPS_EXIT_USAGE;
			break;
		case 'g':
			if (!number_arg("--max-gap", optarg, 0.001, 86400,
					"a number of seconds from 0.001 up to 86400", &max_gap))
				return NPS_EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return NPS_EXIT_OK;
		default:
			return cli_option_error("replay", c, argv, opts);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "netpollsim replay: give exactly one trace file (see --help)\n");
		return NPS_EXIT_USAGE;
	}
	if (!no_ui && !narrate) {
		/* as run does: the dashboard is not part of this build yet (said once the file opens) */
		no_dashboard = true;
		narrate = true;
	}
	if (speed > 0 && !narrate) {
		/* it would only wait, silent, as long as the trace lasted, then print the summary */
		fprintf(stderr, "netpollsim replay: --speed paces the narration: add --narrate\n");
		return NPS_EXIT_USAGE;
	}
	if (max_gap > 0 && speed <= 0) {
		fprintf(stderr, "netpollsim replay: --max-gap shortens the pauses of --speed: add "
				"--speed X\n");
		return NPS_EXIT_USAGE;
	}
	cli_catch_stop_signals(on_signal);
	return replay(argv[optind], narrate, speed, max_gap, quiet);
}
