// SPDX-License-Identifier: MIT
/*
 * netpollsim run: a scenario on the simulated runtime, with the kernel's view when the probes
 * can attach, narrated, recorded, summarised. Two threads: the runtime runs on its own thread
 * (which becomes M0 and starts the other Ms), and this thread consumes the event stream: it
 * merges the runtime's rings with the probes' ring buffer (traces/livemerge.h), folds every event
 * (traces/fold.h), narrates it and writes it to the trace. Ctrl-C (SIGINT/SIGTERM) asks the
 * scenario to wind down; everything recorded before the signal is flushed and the trace gets its
 * footer. A second Ctrl-C, or a scenario that does not stop within 5 s, ends at once, still
 * with every event drained so far written and the footer.
 *
 * netpollsim scenarios: the list of scenarios and their lessons.
 */
#include "cli/cli.h"
#include "cli/out.h"

#include "bpf/probes.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "traces/fold.h"
#include "traces/join.h"
#include "traces/json.h"
#include "traces/livemerge.h"
#include "traces/names.h"
#include "traces/narrate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct run_opts {
	const char *scenario;
	int procs;
	int clients;
	int rounds;
	double duration;
	uint64_t seed;
	const char *listen;
	const char *record;
	int msg_size;
	unsigned ring_order;
	int bpf_break; /* -1 auto (with --narrate, --record or the UI), 0 off, 1 on */
	bool no_ui, narrate, no_bpf, no_events, quiet;
};

struct run_state {
	struct run_opts o;
	int record_fd; /* --record's file, made before anything else (trace_writer_create) */
	char record_shown[256]; /* its name as messages show it (control characters escaped) */
	const struct scenario *sc;
	struct sim_config cfg;
	struct scenario_opts so;
	bool narrate_behind;  /* this drain found the rings filling up: no narration */
	bool headed;	      /* the columns' names are said (narrate_header) */
	bool forced;	      /* the run ended with the scenario still running */
	uint64_t undelivered; /* then: the events it counted as lost (drain_forced) */
	bool deaf;	      /* test hook: the lesson is not told of a stop signal */
	bool illegal;	      /* test hook: one illegal pd_state is judged (NPS_TEST_ILLEGAL) */
	unsigned ring_order;  /* of the runtime's rings */
	struct scenario_result res;
	int sim_err;
	_Atomic int done; /* the runtime thread has finished */
	_Atomic int stop; /* the scenario should wind down (Ctrl-C) */
	struct evmerge *merge;
	struct livemerge *lm;
	struct probes *probes;
	struct nps_join *join; /* links kernel events to the netpoll calls that made them */
	struct nps_fold fold;
	struct trace_writer *tw;
	struct cli_out narr; /* where narration goes: stdout, or stderr when the trace does */
	unsigned width;	     /* its terminal's columns (re-read after a resize), 0: none */
	struct cli_out err;  /* messages once the run is under way (stderr), as patient */
	bool narr_reported;  /* its failure was said */
	int pipe_sig;	     /* SIGPIPE when an output's reader went away: the run ends as if so */
	uint64_t origin;
	uint64_t
	    forced_at; /* after a stop signal: when the run ends even if the scenario has not */
	uint64_t events, violations, notes;
	int write_err;
};

/*
 * The last stop signal (cli_catch_stop_signals), and how many came. Atomic, not sig_atomic_t:
 * two signals may run the handler at once on two threads (an M takes one), and a count lost
 * there would leave a second Ctrl-C unheard. Lock-free, so safe in a handler.
 */
static _Atomic int got_signal, signal_count;
static _Atomic int *stop_flag;
static struct run_state *throw_state;
static _Atomic int throw_pending; /* a runtime thread threw: the consumer flushes, then 2 */

static void on_signal(int sig)
{
	atomic_store(&got_signal, sig);
	atomic_fetch_add(&signal_count, 1);
	if (stop_flag)
		atomic_store(stop_flag, 1);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: netpollsim run [--scenario NAME] [OPTIONS]\n\n"
		"Run a scenario on the simulated Go runtime (Go 1.22's netpoll and scheduler)\n"
		"over real sockets on 127.0.0.1.\n\n"
		"  -s, --scenario NAME   what to run (default: echo; see 'netpollsim scenarios')\n"
		"  -p, --procs P         GOMAXPROCS (default: the scenario's, else the CPUs this\n"
		"                        process may run on, as Go counts them)\n"
		"  -c, --clients N       client threads (default: the scenario's); 0 serves\n"
		"                        outside clients; a lesson takes its own number or 0\n"
		"                        (accept-burst: any number)\n"
		"  -r, --rounds R        round trips per echo client (default 3)\n"
		"  -d, --duration S      stop after S seconds at the latest: echo's clients run\n"
		"                        until then; a lesson (well under a second with its own\n"
		"                        clients) cut short says so\n"
		"      --seed N          seed of the scheduler's random choices (default: from\n"
		"                        the clock; the trace and the summary say which); the\n"
		"                        sockets' timing still differs from run to run\n"
		"  -l, --listen IP:PORT  serve on this address; with --clients 0, serve outside\n"
		"                        clients (nc, wrk, ...) until --duration or Ctrl-C\n"
		"      --msg-size B      bytes per echo message (default 64)\n"
		"  -o, --record FILE     write the trace (JSON Lines) to FILE, '-' for stdout\n"
		"  -n, --narrate         print one line per event as it happens (on a terminal:\n"
		"                        fitted to its width, times in ms)\n"
		"      --no-ui           headless: no dashboard (narration and summary only)\n"
		"      --no-bpf          do not attach the kernel probes\n"
		"      --bpf-break=WHEN  trace the netpoll break pipe's reads and writes in the\n"
		"                        kernel: auto (when narrating or recording), on or off.\n"
		"                        These probes see every read and write on the machine.\n"
		"      --no-events       turn the event log off (benchmark baseline)\n"
		"      --ring-order K    each M's event ring holds 2^K events (8-24; default 16)\n"
		"  -q, --quiet           no summary\n"
		"  -h, --help            this help\n\n"
		"examples:\n"
		"  netpollsim run --scenario deadline --no-ui --narrate\n"
		"  netpollsim run --clients 50 --rounds 1000 --no-ui --record echo.jsonl\n"
		"  netpollsim run --listen 127.0.0.1:9000 --clients 0 --no-ui --duration 30\n\n"
		"exit status: 0 ok, 1 the scenario, the checker or an output failed, 2 usage,\n"
		"128 + N when signal N ended it (130: Ctrl-C; 141: its reader went away)\n");
}

static int bad_arg(const char *opt, const char *val, const char *why)
{
	char shown[256]; /* what the user typed, with any control character made visible */
	cli_arg_text(val, shown, sizeof(shown));
	fprintf(stderr, "netpollsim run: %s '%s': %s (see 'netpollsim run --help')\n", opt, shown,
		why);
	return NPS_EXIT_USAGE;
}

/* --listen IP:PORT: an IPv4 address and a port 0..65535 (0: the kernel picks one). */
static int check_listen(const char *v)
{
	const char *colon = strrchr(v, ':');
	char ip[INET_ADDRSTRLEN];
	struct in_addr a;
	size_t iplen = colon ? (size_t)(colon - v) : 0;
	if (!colon || iplen == 0 || iplen >= sizeof(ip))
		return bad_arg("--listen", v, "expected IPv4:PORT, e.g. 127.0.0.1:9000");
	memcpy(ip, v, iplen);
	ip[iplen] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1)
		return bad_arg("--listen", v, "not an IPv4 address (only IPv4 is served)");
	const char *port = colon + 1;
	size_t n = strspn(port, "0123456789");
	if (n == 0 || port[n] || n > 5 || atoi(port) > 65535)
		return bad_arg("--listen", v, "the port must be a number from 0 to 65535");
	return 0;
}

static int parse_int(const char *opt, const char *s, long min, long max, long *v)
{
	char *end;
	errno = 0;
	long x = strtol(s, &end, 10);
	if (errno || end == s || *end || x < min || x > max) {
		char why[64];
		snprintf(why, sizeof(why), "expected an integer from %ld to %ld", min, max);
		return bad_arg(opt, s, why);
	}
	*v = x;
	return 0;
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
	enum {
		O_SEED = 256,
		O_NOUI,
		O_NOBPF,
		O_NOEVENTS,
		O_MSG,
		O_RING,
		O_BREAK
	};
	static const struct option longopts[] = {
	    {"scenario", required_argument, NULL, 's'},
	    {"procs", required_argument, NULL, 'p'},
	    {"clients", required_argument, NULL, 'c'},
	    {"rounds", required_argument, NULL, 'r'},
	    {"duration", required_argument, NULL, 'd'},
	    {"seed", required_argument, NULL, O_SEED},
	    {"listen", required_argument, NULL, 'l'},
	    {"record", required_argument, NULL, 'o'},
	    {"narrate", no_argument, NULL, 'n'},
	    {"no-ui", no_argument, NULL, O_NOUI},
	    {"no-bpf", no_argument, NULL, O_NOBPF},
	    {"no-events", no_argument, NULL, O_NOEVENTS},
	    {"msg-size", required_argument, NULL, O_MSG},
	    {"ring-order", required_argument, NULL, O_RING},
	    {"bpf-break", required_argument, NULL, O_BREAK},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->scenario = "echo";
	o->clients = -1;
	o->rounds = -1;
	o->bpf_break = -1;
	optind = 1;
	opterr = 0;
	int c;
	long v;
	while ((c = cli_getopt("run", argc, argv, ":s:p:c:r:d:l:o:nqh", longopts)) != -1) {
		int rc = 0;
		switch (c) {
		case 's':
			o->scenario = optarg;
			break;
		case 'p':
			rc = parse_int("--procs", optarg, 1, 256, &v);
			o->procs = (int)v;
			break;
		case 'c':
			rc = parse_int("--clients", optarg, 0, 100000, &v);
			o->clients = (int)v;
			break;
		case 'r':
			rc = parse_int("--rounds", optarg, 1, 1000000000L, &v);
			o->rounds = (int)v;
			break;
		case 'd':
			if (cli_parse_duration(optarg, &o->duration))
				return bad_arg("--duration", optarg,
					       "wants a positive number of seconds, at most 604800 "
					       "(7 days)");
			break;
		case O_SEED:
			rc = parse_int("--seed", optarg, 1, __LONG_MAX__,
				       &v); /* 0: from the clock */
			o->seed = (uint64_t)v;
			break;
		case 'l':
			o->listen = optarg;
			rc = check_listen(optarg);
			break;
		case 'o':
			o->record = optarg;
			break;
		case 'n':
			o->narrate = true;
			break;
		case O_NOUI:
			o->no_ui = true;
			break;
		case O_NOBPF:
			o->no_bpf = true;
			break;
		case O_NOEVENTS:
			o->no_events = true;
			break;
		case O_MSG:
			rc = parse_int("--msg-size", optarg, 1, 1 << 20, &v);
			o->msg_size = (int)v;
			break;
		case O_RING:
			rc = parse_int("--ring-order", optarg, 8, 24, &v);
			o->ring_order = (unsigned)v;
			break;
		case O_BREAK:
			if (!strcmp(optarg, "auto"))
				o->bpf_break = -1;
			else if (!strcmp(optarg, "on"))
				o->bpf_break = 1;
			else if (!strcmp(optarg, "off"))
				o->bpf_break = 0;
			else
				return bad_arg("--bpf-break", optarg, "expected auto, on or off");
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default: /* a missing value (':'), an unknown option, a value where none goes */
			return cli_option_error("run", c, argv, longopts);
		}
		if (rc)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "netpollsim run: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return NPS_EXIT_USAGE;
	}
	if (o->no_events && (o->narrate || o->record)) {
		fprintf(stderr,
			"netpollsim run: --no-events: there is nothing to %s without events\n",
			o->narrate ? "narrate" : "record");
		return NPS_EXIT_USAGE;
	}
	/* the break pipe is traced by kernel probes, which these two leave unattached */
	if (o->bpf_break == 1 && (o->no_bpf || o->no_events)) {
		fprintf(stderr,
			"netpollsim run: --bpf-break=on and %s contradict each other: the break "
			"pipe is traced by the kernel probes (drop one of them)\n",
			o->no_bpf ? "--no-bpf" : "--no-events");
		return NPS_EXIT_USAGE;
	}
	return 0;
}

/* ---- the consumer ---- */

static void write_line(struct run_state *st, const char *line, size_t n)
{
	cli_out_line(&st->narr, line, n);
}

/*
 * An output write after the stop found no room (a reader that does not read): a stopped run
 * ends in time, so the Ms no longer wait for this stuck observer; what they cannot put in
 * their rings from then on is counted as lost. Nothing made before the stop is: it is in the
 * rings already. An observer that is not stuck (a file, a reader that reads) keeps draining,
 * and the Ms go on waiting for it.
 */
static void out_stalled(void *ctx)
{
	struct run_state *st = ctx;
	if (st->merge)
		evmerge_wait_when_full(st->merge, false);
}

/*
 * How long an output write may still wait for its reader: as long as it takes until a stop
 * signal, then until the run's forced end (5 s after the first, none after a second); or 5 s
 * after --duration is over.
 */
static int out_patience(void *ctx)
{
	struct run_state *st = ctx;
	uint64_t now = (uint64_t)sim_now();
	if (!got_signal) {
		/*
		 * --duration over is a stop too: a reader that stopped reading gets as long as after
		 * a signal, but the run is not forced (its lesson winds down by itself).
		 */
		uint64_t end = st->o.duration > 0 && st->origin
				   ? st->origin + (uint64_t)(st->o.duration * 1e9) + 5000000000ULL
				   : 0;
		if (!end || now + 5000000000ULL < end)
			return -1;
		return now >= end ? 0 : (int)((end - now) / 1000000 + 1);
	}
	if (signal_count >= 2)
		return 0;
	if (!st->forced_at)
		st->forced_at = now + 5000000000ULL;
	return now >= st->forced_at ? 0 : (int)((st->forced_at - now) / 1000000 + 1);
}

/*
 * A message once the run is under way. Through st->err, not stdio: when stderr is the same
 * stalled pipe as the narration (`2>&1 | less`), a message must not hold a stopped run either.
 */
__attribute__((format(printf, 2, 3))) static void say(struct run_state *st, const char *fmt, ...)
{
	char line[640];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	cli_out_line(&st->err, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	cli_out_flush(&st->err);
}

/* An output's reader went away (EPIPE): the run winds down as SIGPIPE would have ended it. */
static void reader_gone(struct run_state *st)
{
	st->pipe_sig = SIGPIPE;
	atomic_store(&st->stop, 1);
	scenario_wake();
}

/* Why the recording failed, for a message: a -errno, or the patience's -ETIMEDOUT. */
static const char *record_why(int err)
{
	return err == -ETIMEDOUT ? "its reader did not take it in time after the stop"
				 : strerror(-err);
}

/* The trace could not be written: say it once; the file stays valid up to its last line. */
static void trace_failed(struct run_state *st, const char *doing, int err)
{
	if (st->write_err)
		return;
	st->write_err = err;
	say(st, "netpollsim run: %s %s: %s (the trace ends at its last complete line)", doing,
	    st->record_shown, record_why(err));
	if (err == -EPIPE)
		reader_gone(st);
}

/* Write the narration buffered so far; its failure is said once. */
static void flush_narration(struct run_state *st)
{
	if (!cli_out_flush(&st->narr) || st->narr_reported)
		return;
	st->narr_reported = true;
	/* a reader gone (`| head`) ends the run quietly, unless it cuts a recording short */
	if (st->narr.err != EPIPE || st->o.record)
		say(st, "netpollsim run: %s to %s stopped: %s",
		    st->o.narrate ? "narration" : "output", st->narr.what, cli_out_why(&st->narr));
	if (st->narr.err == EPIPE)
		reader_gone(st);
}

/*
 * Whether the event being consumed is narrated. To a terminal (keeping up), not in a drain that
 * found the rings filling up (the fold and the recording come first: the rings must not
 * overflow), nor when the terminal has no room: the line is skipped, counted, and said.
 */
static bool narrate_now(struct run_state *st)
{
	if (!st->narr.keep_up)
		return true;
	if (st->narrate_behind) {
		cli_out_skip(&st->narr);
		return false;
	}
	/* before the line is formatted: a terminal that fell behind costs no formatting */
	return cli_out_room(&st->narr, NARRATE_LINE_MAX);
}

/*
 * TEST HOOK (NPS_TEST_ILLEGAL=1): before the first pd_state, one the runtime never makes: rg
 * pdNil → G by netpollblockcommit, which Go's table forbids (commit only turns pdWait into a G).
 * The only way to show what a run does when its checker finds a violation, since the runtime
 * makes none (tests/test_trace_record.c).
 */
static int consume(void *ctx, const struct nps_event *ev);
static void inject_illegal(struct run_state *st, const struct nps_event *ev)
{
	st->illegal = false;
	struct nps_event bad = *ev;
	bad.u.pd_state.from = NPS_PDV_NIL;
	bad.u.pd_state.to = NPS_PDV_G(ev->g ? (uint64_t)ev->g : 1);
	bad.u.pd_state.mode = 'r';
	bad.u.pd_state.fn = NPS_FN_NETPOLLBLOCKCOMMIT;
	consume(st, &bad);
}

static int consume(void *ctx, const struct nps_event *ev)
{
	struct run_state *st = ctx;
	if (__builtin_expect(st->illegal, 0) && ev->kind == NPS_EV_PD_STATE)
		inject_illegal(st, ev);
	/* Only the kernel's events are changed by the join: the runtime's are not copied. */
	struct nps_event joined;
	const struct nps_event *e = ev;
	if (st->join) {
		if (ev->src == NPS_SRC_KERNEL) {
			joined = *ev;
			join_apply(st->join, &joined);
			e = &joined;
		} else {
			join_learn(st->join, ev);
		}
	}
	struct fold_verdict v[4];
	int nv = fold_apply(&st->fold, e, st->events + 1, v, 4);
	st->events++;
	if (st->o.narrate && narrate_now(st)) {
		char line[NARRATE_LINE_MAX];
		size_t n = narrate_event(e, &st->fold, st->origin, st->width, line, sizeof(line));
		if (n && !st->headed) {
			char head[NARRATE_LINE_MAX];
			size_t h = narrate_header(st->width, false, head, sizeof(head));
			if (h)
				write_line(st, head, h);
			st->headed = true;
		}
		if (n)
			write_line(st, line, n);
		for (int i = 0; i < nv; i++) {
			n = narrate_verdict(&v[i], st->width, line, sizeof(line));
			if (n)
				write_line(st, line, n);
		}
	}
	for (int i = 0; i < nv; i++) {
		if (v[i].level == FOLD_VIOLATION) {
			st->violations++;
			if (!st->o.narrate) {
				char line[NARRATE_LINE_MAX];
				size_t n = narrate_verdict(&v[i], 0, line, sizeof(line)), k = 0;
				while (k < n &&
				       line[k] == ' ') /* the narration's columns: none here */
					k++;
				if (!strncmp(line + k, "check ",
					     6)) /* the run's own line says it */
					k += 6;
				say(st, "netpollsim run: %.*s", (int)(n - k), line + k);
			}
		} else if (v[i].level == FOLD_NOTE) {
			st->notes++;
		}
	}
	if (st->tw && !st->write_err) {
		int err = trace_writer_event(st->tw, e);
		if (err)
			trace_failed(st, "writing", err);
	}
	return 0;
}

static void on_kernel_event(void *ctx, const struct nps_event *e)
{
	struct run_state *st = ctx;
	if (livemerge_push_kernel(st->lm, e))
		say(st, "netpollsim run: out of memory holding kernel events");
}

/* What a drain ends with: the trace written out (all of it when final), the narration shown. */
static void drain_out(struct run_state *st, bool final)
{
	if (st->tw && !st->write_err) {
		/* bulk: a fast recording keeps its last partial block for the next drain */
		int err = final ? trace_writer_flush(st->tw) : trace_writer_flush_bulk(st->tw);
		if (err)
			trace_failed(st, "writing", err);
	}
	flush_narration(st);
}

/* Drain what is safe now; final: everything (the runtime has stopped). */
static void drain(struct run_state *st, bool final)
{
	if (!st->merge)
		return;
	cli_term_refit(st->narr.fd, &st->width); /* what is narrated from here on fits the window */
	/*
	 * A backlog of a 64th of a ring, 1,024 events by default (a lesson never has one, a
	 * full-speed run soon does), with a terminal to keep up with: this drain does not narrate. Narration costs the observer more than everything else it
	 * does; without it the drains catch up, and the next ones narrate again.
	 */
	st->narrate_behind =
	    st->narr.keep_up && evmerge_pending(st->merge) > (1u << st->ring_order) / 64;
	if (st->probes) {
		if (final)
			probes_detach(st->probes);
		probes_poll(st->probes, 0, on_kernel_event, st);
		livemerge_kernel_upto(st->lm, probes_drained_upto(st->probes));
	}
	livemerge_drain(st->lm, final, consume, st);
	drain_out(st, final);
}

/*
 * The forced end: the runtime did not stop, so its rings cannot be drained to the end
 * (evmerge_drain's final drain needs every producer stopped), and what it logs from now on is
 * after the recording's end. The end is now or, with the probes, the instant they stop: the
 * kernel view ends there, and a netpoll after it would have no epoll_wait to match. Every event
 * stamped up to the end is delivered, or counted as lost, last (the kernel's losses the probes
 * had not reported yet too), so that the trace, its footer and the summary say it.
 */
static void drain_forced(struct run_state *st)
{
	if (!st->merge)
		return;
	uint64_t end = (uint64_t)sim_now(), left[3] = {0, 0, 0}, first; /* per enum nps_src */
	if (st->probes) {
		struct probes_stats ps;
		probes_stop(st->probes);
		probes_stats(st->probes, &ps);
		end = ps.stop_ns;
		/* a probe still running at the stop submits what it stamped */
		usleep(PROBES_INFLIGHT_NS / 1000);
		probes_poll(st->probes, 0, on_kernel_event, st);
		livemerge_kernel_upto(st->lm, end);
		probes_stats(st->probes, &ps);
		left[NPS_SRC_KERNEL] = ps.lost - ps.lost_reported;
	}
	livemerge_drain(st->lm, false, consume, st);
	uint64_t sim, kernel, lost = evmerge_lost(st->merge);
	livemerge_undelivered(st->lm, end, &sim, &kernel, &first);
	left[NPS_SRC_SIM] =
	    sim + (lost > st->fold.st.lost[NPS_SRC_SIM] ? lost - st->fold.st.lost[NPS_SRC_SIM] : 0);
	left[NPS_SRC_KERNEL] += kernel;
	for (int src = NPS_SRC_SIM; src <= NPS_SRC_KERNEL; src++) {
		if (!left[src])
			continue;
		struct nps_event l = {
		    .kind = NPS_EV_LOST, .src = (uint8_t)src, .ts = st->fold.last_ts};
		l.m = l.p = -1;
		l.fd = -1;
		l.u.lost.count = left[src];
		l.u.lost.since = first < l.ts ? first : l.ts;
		l.u.lost.source = (uint8_t)src;
		consume(st, &l);
		st->undelivered += left[src];
	}
	drain_out(st, true);
}

/* ---- the runtime thread ---- */

static void *runtime_thread(void *arg)
{
	struct run_state *st = arg;
	st->sim_err = scenario_run(st->sc, &st->so, &st->cfg, &st->res);
	atomic_store(&st->done, 1);
	return NULL;
}

/* A runtime throw: let the consumer write out everything, then the runtime exits with 2. */
static void on_throw(const char *msg)
{
	(void)msg;
	if (!throw_state)
		return;
	atomic_store(&throw_pending, 1);
	for (int i = 0; i < 2000 && atomic_load(&throw_pending) != 2; i++)
		usleep(1000);
}

/*
 * The scenario's closing line. Not read from a scenario still running (the forced end): it
 * may be writing it, and it never reached its end.
 */
static const char *story(const struct run_state *st)
{
	if (st->forced)
		return "the lesson did not reach its end: the run was ended before it stopped";
	return st->res.story;
}

static void finish_trace(struct run_state *st, int sig)
{
	if (!st->tw)
		return;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	/*
	 * The end is when the probes stopped, not after their detach (tens of ms each, half a
	 * second for them all): replay said "in a recording of 0.446 s" of a 5 ms lesson.
	 */
	int64_t detach_ns = 0;
	if (st->probes) {
		struct probes_stats ps;
		probes_stats(st->probes, &ps);
		uint64_t mono = (uint64_t)sim_now();
		if (ps.stop_ns && ps.stop_ns < mono)
			detach_ns = (int64_t)(mono - ps.stop_ns);
	}
	struct trace_footer f = {
	    .interrupted = sig,
	    .wall_end_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec - detach_ns,
	    .lost_sim = st->fold.st.lost[NPS_SRC_SIM],
	    .lost_kernel = st->fold.st.lost[NPS_SRC_KERNEL],
	    .story = story(st),
	};
	int err = trace_writer_close(st->tw, &f);
	st->tw = NULL;
	if (err)
		trace_failed(st, "closing", err);
}

static void summarise(struct run_state *st, FILE *out, bool interrupted)
{
	struct sim_stats ss;
	sim_stats(&ss);
	fprintf(out, "\n== %s (GOMAXPROCS %d)%s\n", st->sc->name, st->cfg.gomaxprocs,
		interrupted ? " -- interrupted" : "");
	if (story(st)[0])
		fprintf(out, "%s.\n", story(st));
	if (st->merge)
		narrate_summary(out, &st->fold, 0);
	unsigned long long g = ss.goroutines, ms = ss.ms, blocks = ss.pd_blocks,
			   polls = ss.netpolls, breaks = ss.breaks;
	fprintf(out,
		"runtime: %llu goroutine%s, %llu M%s, pollCache %llu in use / %llu free "
		"(%llu block%s of %llu), %llu netpoll call%s, %llu netpollBreak write%s\n",
		g, nps_plural(g), ms, nps_plural(ms), (unsigned long long)ss.pd_inuse,
		(unsigned long long)ss.pd_free, blocks, nps_plural(blocks),
		(unsigned long long)ss.pd_per_block, polls, nps_plural(polls), breaks,
		nps_plural(breaks));
	/* the seed the scheduler used (cheaprand), to run again with the same random choices */
	if (ss.seed)
		fprintf(out, "runtime seed: %llu\n", (unsigned long long)ss.seed);
	/* outside clients' round trips are theirs: the story counts their connections */
	if (st->o.clients != 0 && (st->res.round_trips || !strcmp(st->sc->name, "echo"))) {
		unsigned long long rt = st->res.round_trips, n = st->res.connections;
		fprintf(out, "clients: %llu round trip%s over %llu connection%s\n", rt,
			nps_plural(rt), n, nps_plural(n));
	}
	if (st->probes) {
		struct probes_stats ps;
		probes_stats(st->probes, &ps);
		uint64_t end = ps.stop_ns ? ps.stop_ns : ps.drain_ns; /* the probes' own span */
		double secs = (double)(end - ps.attach_ns) / 1e9;
		unsigned long long ev = ps.produced, wakeups = ps.wakeups;
		fprintf(out,
			"probes: %llu kernel event%s (%.0f/s), %llu lost, %llu ring wake-up%s\n",
			ev, nps_plural(ev), secs > 0 ? (double)ev / secs : 0.0,
			(unsigned long long)ps.lost, wakeups, nps_plural(wakeups));
	}
	if (st->narr.skipped_total) {
		unsigned long long k = st->narr.skipped_total;
		fprintf(out,
			"narration: %llu line%s not shown: the terminal fell behind (their events "
			"are in the summary%s)\n",
			k, nps_plural(k),
			st->o.record ? " and the recording"
				     : "; to read every line, run again with --record FILE, then "
				       "netpollsim replay FILE --no-ui --narrate --speed X");
	}
	uint64_t waited_ns, waits = st->merge ? evmerge_waits(st->merge, &waited_ns) : 0;
	if (waits)
		fprintf(
		    out,
		    "observer: the runtime's Ms waited %llu time%s for room in their event rings "
		    "(%.1f ms, summed over the Ms) rather than lose events of the %s\n",
		    (unsigned long long)waits, nps_plural(waits), (double)waited_ns / 1e6,
		    st->o.record ? "recording" : "narration");
	if (st->res.errors)
		fprintf(out, "errors: %d (see above)\n", st->res.errors);
	if (st->o.record)
		fprintf(out, "trace: %s%s%s%s\n", st->record_shown,
			st->write_err ? " (incomplete: " : "",
			st->write_err ? record_why(st->write_err) : "", st->write_err ? ")" : "");
}

/* What to do about a listener the kernel refused (Go's own error says only what). */
static const char *listen_hint(int err)
{
	switch (err) {
	case EACCES:
		return " (a port below 1024 needs root or CAP_NET_BIND_SERVICE; port 0 picks a "
		       "free "
		       "one)";
	case EADDRINUSE:
		return " (another socket listens there: `ss -ltnp` names it; port 0 picks a free "
		       "one)";
	case EADDRNOTAVAIL:
		return " (no interface of this machine has that address: 127.0.0.1 is loopback)";
	default:
		return "";
	}
}

/* The summary goes where the narration goes, after it. */
static void print_summary(struct run_state *st, bool interrupted)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem) {
		fprintf(stderr, "netpollsim run: out of memory for the summary\n");
		return;
	}
	summarise(st, mem, interrupted);
	if (fclose(mem) == 0) {
		/* fitted to the terminal as the narration is: a wrapped line may grow 4 columns */
		size_t cap = len * 4 + 1;
		char *fit = malloc(cap);
		if (fit)
			cli_out_text(&st->narr, fit,
				     narrate_fit_text(text, len, st->width, fit, cap));
		else
			cli_out_text(&st->narr, text, len);
		free(fit);
	}
	free(text);
	flush_narration(st);
}

static int resolve_procs(const struct run_opts *o, const struct scenario *sc)
{
	if (o->procs > 0)
		return o->procs;
	if (sc->procs > 0)
		return sc->procs;
	/* Go's default: the CPUs in the affinity mask (taskset -c 0 gives 1), not those online. */
	return getproccount();
}

static int open_trace(struct run_state *st)
{
	char opts[512], echo[64] = "";
	/*
	 * rounds and msg_size only where the clients make echo round trips, and rounds only when
	 * they stop after that many (not when they run until --duration ends).
	 */
	if (scenario_echoes(st->sc, &st->so) && (st->o.rounds >= 0 || st->o.duration <= 0))
		snprintf(echo, sizeof(echo), "\"rounds\":%d,",
			 st->o.rounds >= 0 ? st->o.rounds : st->sc->rounds);
	if (scenario_echoes(st->sc, &st->so))
		snprintf(echo + strlen(echo), sizeof(echo) - strlen(echo), "\"msg_size\":%d,",
			 st->o.msg_size ? st->o.msg_size : 64);
	snprintf(opts, sizeof(opts),
		 "{\"procs\":%d,\"clients\":%d,%s\"duration\":%g,\"seed\":%llu,"
		 "\"listen\":\"%s\"}",
		 st->cfg.gomaxprocs, st->o.clients >= 0 ? st->o.clients : st->sc->clients, echo,
		 st->o.duration, (unsigned long long)st->o.seed,
		 st->o.listen ? st->o.listen : "127.0.0.1:0");
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	struct trace_header h = {
	    .scenario = st->sc->name,
	    .options_json = opts,
	    .gomaxprocs = st->cfg.gomaxprocs,
	    .go_version = "go1.22",
	    .kernel_view = st->probes != NULL,
	    .mono_origin = st->origin,
	    .wall_start_ns = (int64_t)wall.tv_sec * 1000000000LL + wall.tv_nsec,
	};
	int err = trace_writer_open_created(st->record_fd, &h, &st->tw);
	if (err == -EPIPE) /* `--record - | true`: its reader went away, as later in the run */
		return 128 + SIGPIPE;
	if (!err) /* a FIFO or pipe whose reader stops reading cannot hold a stopped run */
		trace_writer_set_patience(st->tw, out_patience, st);
	if (err)
		fprintf(stderr, "netpollsim run: --record '%s': cannot write: %s\n",
			st->record_shown, strerror(-err));
	return err;
}

static struct probes *break_probes; /* the probes to give the break pipe (netpollinit) */

/*
 * On the runtime's thread, inside netpollinit, before the pipe can be used: so that the
 * kernel's side shows every netpollBreak write and drain of the run, even of a run shorter
 * than the consumer's first look at the netpollinit event.
 */
static void on_netpollinit(int epfd, int break_rd, int break_wr)
{
	(void)epfd;
	int err = probes_set_break_fds(break_probes, break_rd, break_wr);
	if (err)
		fprintf(stderr,
			"netpollsim: the break pipe's reads and writes are not traced: %s\n",
			strerror(-err));
}

static void attach_probes(struct run_state *st)
{
	if (st->o.no_bpf || st->o.no_events)
		return;
	struct probes_opts po = {.tgid = getpid()};
	char why[512] = "";
	int err = probes_open(&po, &st->probes, why, sizeof(why));
	if (err) {
		st->probes = NULL;
		/* fitted to the terminal as the narration is: a class may project 40 columns */
		cli_say_err(cli_term_width(STDERR_FILENO),
			    "netpollsim: kernel view off: %s (runtime view only; --no-bpf hides "
			    "this line)\n",
			    why);
		return;
	}
	if (st->o.bpf_break) {
		break_probes = st->probes;
		sim_set_netpollinit_hook(on_netpollinit);
	}
}

int cmd_run(int argc, char **argv)
{
	static struct run_state state;
	struct run_state *st = &state;
	int rc = parse_args(argc, argv, &st->o);
	if (rc)
		return rc < 0 ? NPS_EXIT_OK : rc;
	if ((rc = cli_refuse_closed_stdout("run", st->o.record)))
		return rc;
	st->sc = scenario_find(st->o.scenario);
	if (!st->sc) {
		char shown[128], hint[96] = "";
		cli_arg_text(st->o.scenario, shown, sizeof(shown));
		int n;
		const struct scenario *t = scenario_list(&n);
		int near = cli_nearest(st->o.scenario, t, sizeof(*t), (size_t)n);
		if (near >= 0)
			snprintf(hint, sizeof(hint), " (did you mean '%s'?)", t[near].name);
		fprintf(stderr,
			"netpollsim run: unknown scenario '%s'%s; 'netpollsim scenarios' "
			"lists them\n",
			shown, hint);
		return NPS_EXIT_USAGE;
	}
	char why[256];
	st->so = (struct scenario_opts){
	    .clients = st->o.clients,
	    .rounds = st->o.rounds,
	    .duration_ns = (int64_t)(st->o.duration * 1e9),
	    .listen = st->o.listen,
	    .msg_size = st->o.msg_size,
	    .stop = &st->stop,
	};
	if (scenario_check(st->sc, &st->so, resolve_procs(&st->o, st->sc), why, sizeof(why))) {
		fprintf(stderr, "netpollsim run: %s (see 'netpollsim run --help')\n", why);
		return NPS_EXIT_USAGE;
	}
	/* every lesson alike: outside clients must be told where (127.0.0.1:0 picks a port) */
	if (st->o.clients == 0 && !st->o.listen) {
		fprintf(stderr, "netpollsim run: --clients 0 serves outside clients: give --listen "
				"IP:PORT (127.0.0.1:0 picks a free port and says which), then "
				"--duration, or stop with Ctrl-C\n");
		return NPS_EXIT_USAGE;
	}
	/*
	 * The recording's file first: a path it cannot write is the one thing said, before the
	 * probes' set-up says anything (or takes its time). Its header comes when the run starts.
	 */
	st->record_fd = st->o.record ? cli_record_create("run", st->o.record) : -1;
	if (st->o.record)
		cli_arg_text(st->o.record, st->record_shown, sizeof(st->record_shown));
	if (st->record_fd < 0 && st->o.record) {
		fprintf(stderr, "netpollsim run: --record '%s': cannot create: %s\n",
			st->record_shown, strerror(-st->record_fd));
		return NPS_EXIT_FAIL;
	}
	if (st->o.record && cli_record_is_stdout("run", st->o.record, st->record_fd)) {
		close(st->record_fd);
		return NPS_EXIT_USAGE;
	}
	if (!st->o.no_ui && !st->o.narrate && !st->o.no_events) {
		/* The dashboard is not part of this build yet: narrate in the terminal instead. */
		cli_say_no_dashboard();
		st->o.narrate = true;
	}
	/*
	 * From here on a stop signal ends the run cleanly (even one during the probes' set-up).
	 * TEST HOOK: NPS_TEST_DEAF_LESSON=1 keeps the signal from the lesson, as a lesson that
	 * failed to stop would: the only way to show the run's forced end, since every lesson
	 * stops when asked (tests/test_cli.c).
	 */
	st->deaf = getenv("NPS_TEST_DEAF_LESSON") && !strcmp(getenv("NPS_TEST_DEAF_LESSON"), "1");
	st->illegal = getenv("NPS_TEST_ILLEGAL") && !strcmp(getenv("NPS_TEST_ILLEGAL"), "1");
	stop_flag = st->deaf ? NULL : &st->stop;
	cli_catch_stop_signals(on_signal);
	if (st->o.record && strcmp(st->o.record, "-") == 0)
		cli_out_init(&st->narr, STDERR_FILENO, "stderr", out_patience, st);
	else
		cli_out_init(&st->narr, STDOUT_FILENO, "stdout", out_patience, st);
	cli_out_init(&st->err, STDERR_FILENO, "stderr", out_patience, st);
	st->narr.stalled = st->err.stalled = out_stalled;
	st->width = cli_term_width(st->narr.fd);
	if (st->width && st->o.narrate) {
		cli_term_follow();
		/*
		 * A terminal shows a few thousand lines a second; the runtime can make a million
		 * events. Waiting for it would overflow the rings: the recording and the summary
		 * would lose events to a display. So the narration skips what the terminal cannot
		 * take yet and says so (a pipe or a file still gets every line, at its pace:
		 * the runtime waits for it, see evmerge_wait_when_full below).
		 */
		cli_out_keep_up(&st->narr, true);
	}
	if (st->o.bpf_break < 0)
		st->o.bpf_break = st->o.narrate || st->o.record;

	st->cfg.gomaxprocs = resolve_procs(&st->o, st->sc);
	st->cfg.events = !st->o.no_events;
	st->cfg.ring_order = st->o.ring_order;
	st->ring_order = st->o.ring_order ? st->o.ring_order : NPS_SIM_RING_ORDER;
	/* No --seed: one from the clock, as Go seeds cheaprand, and recorded (the trace's options). */
	if (!st->o.seed)
		st->o.seed = ((uint64_t)sim_now() & (uint64_t)__LONG_MAX__) | 1;
	st->cfg.seed = st->o.seed;

	if (fold_init(&st->fold)) {
		fprintf(stderr, "netpollsim run: out of memory\n");
		return NPS_EXIT_FAIL;
	}
	if (st->cfg.events) {
		st->merge = evmerge_new();
		if (!st->merge) {
			fprintf(stderr, "netpollsim run: out of memory\n");
			return NPS_EXIT_FAIL;
		}
		st->cfg.merge = st->merge;
		/*
		 * A record (a trace, or narration to a file or pipe) must be complete: the
		 * runtime's Ms then wait for room when their rings fill, as a program traced by
		 * strace waits for it, rather than lose events. A terminal or a summary alone
		 * never makes the runtime wait (the terminal is kept up with: cli_out_keep_up).
		 */
		if (st->o.record || (st->o.narrate && !st->width))
			evmerge_wait_when_full(st->merge, true);
		attach_probes(st);
		if (st->probes) /* attached before the runtime starts: they see all it does */
			fold_set_kernel_view(&st->fold);
		st->lm = livemerge_new(st->merge, st->probes != NULL);
		st->join = st->probes ? join_new() : NULL;
		if (!st->lm || (st->probes && !st->join))
			return NPS_EXIT_FAIL;
	}
	/* Time 0 of the narration and the trace: after the probes' set-up, as the run starts. */
	st->origin = (uint64_t)sim_now();
	if (st->o.record && (rc = open_trace(st)))
		return rc > 0 ? rc : NPS_EXIT_FAIL;

	throw_state = st;
	sim_set_throw_hook(on_throw);

	/*
	 * A resize is the narration's business: SIGWINCH is blocked in the runtime's thread, and so
	 * in every M and client thread it starts, so that it reaches this thread alone and
	 * interrupts no epoll_wait of the lesson (its EINTR would be narrated).
	 */
	sigset_t winch, mask;
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &winch, &mask);
	pthread_t rt;
	int err = pthread_create(&rt, NULL, runtime_thread, st);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	if (err) {
		fprintf(stderr, "netpollsim run: cannot start the runtime thread\n");
		return NPS_EXIT_FAIL;
	}
	bool forced = false, stop_seen = false;
	for (;;) {
		if (atomic_load(&st->done))
			break;
		if (atomic_load(&throw_pending) == 1) {
			drain(st, true);
			finish_trace(st, 0);
			fflush(NULL);
			atomic_store(&throw_pending, 2);
			pause();
		}
		if (got_signal && !stop_seen) {
			stop_seen = true;
			/* out_patience may have set it already, for a write the signal caught */
			if (!st->forced_at)
				st->forced_at = (uint64_t)sim_now() + 5000000000ULL;
			if (!st->deaf)
				scenario_wake(); /* the stop flag is set: the scenario's waiter looks */
			/* the terminal echoed "^C" where the next line starts: end that line */
			if (st->width && st->o.narrate)
				write_line(st, "", 0);
		}
		if (signal_count >= 2 || (st->forced_at && (uint64_t)sim_now() > st->forced_at)) {
			forced = st->forced = true;
			break;
		}
		drain(st, false);
		/*
		 * Drain in batches every 2 ms: sooner would steal CPU from the runtime being
		 * watched (the rings and the probes' ring buffer hold far more than 2 ms).
		 */
		usleep(2000);
	}
	if (!forced)
		pthread_join(rt, NULL);
	else
		pthread_detach(rt); /* still running, or ending: the process exits without it */
	if (forced)
		drain_forced(st);
	else
		drain(st, true);
	/* a signal, or SIGPIPE's part when an output's reader went away */
	int sig = got_signal ? got_signal : st->pipe_sig;
	if (!forced && st->merge) {
		/* Everything was drained: judge what the end leaves owed. */
		struct fold_verdict v[8];
		int n;
		do {
			n = fold_end(&st->fold, v, 8);
			for (int i = 0; i < n; i++) {
				char line[NARRATE_LINE_MAX];
				size_t len = narrate_verdict(&v[i], st->o.narrate ? st->width : 0,
							     line, sizeof(line));
				if (v[i].level == FOLD_VIOLATION)
					st->violations++;
				if (len && st->o.narrate)
					write_line(st, line, len);
				else if (len && v[i].level == FOLD_VIOLATION)
					say(st, "%.*s", (int)len, line);
			}
		} while (n == 8);
	}
	if (forced && st->undelivered)
		say(st,
		    "netpollsim run: the scenario did not stop; ending now (%llu event%s not yet "
		    "drained, counted as lost)",
		    (unsigned long long)st->undelivered, nps_plural(st->undelivered));
	else if (forced)
		say(st, "netpollsim run: the scenario did not stop; ending now");
	/* the trace first: complete even while the terminal still shows the narration */
	finish_trace(st, sig);
	cli_out_keep_up(&st->narr, false); /* the summary is shown whole */
	if (st->res.listen_err[0]) /* nothing ran: the reason alone, not a summary of nothing */
		fprintf(stderr, "netpollsim run: --listen %s: %s%s\n",
			st->o.listen ? st->o.listen : "127.0.0.1:0", st->res.listen_err,
			listen_hint(st->res.listen_errno));
	else if (!st->o.quiet)
		print_summary(st, sig != 0);
	flush_narration(st);
	probes_close(st->probes);
	join_free(st->join);
	fflush(NULL);

	if (sig || forced)
		return sig ? 128 + sig : NPS_EXIT_INTERRUPTED;
	if (st->sim_err) {
		fprintf(stderr, "netpollsim run: the runtime could not start: %s\n",
			strerror(-st->sim_err));
		return NPS_EXIT_FAIL;
	}
	if (st->res.errors || st->violations || st->write_err || st->narr_reported)
		return NPS_EXIT_FAIL;
	return NPS_EXIT_OK;
}

int cmd_scenarios(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: netpollsim scenarios\n\nList the scenarios 'netpollsim run "
		       "--scenario NAME' runs,\nwith what each one teaches, and where their "
		       "recorded sample traces are.\n\noptions:\n  -h, --help   this help\n\n"
		       "exit status: 0, or 2 for a usage error\n");
		return NPS_EXIT_OK;
	}
	if (argc > 1) {
		char shown[128];
		cli_arg_text(argv[1], shown, sizeof(shown));
		fprintf(stderr, "netpollsim scenarios: %s '%s' (see --help)\n",
			argv[1][0] == '-' && argv[1][1] ? "unknown option" : "unexpected argument",
			shown);
		return NPS_EXIT_USAGE;
	}
	int n;
	const struct scenario *t = scenario_list(&n);
	for (int i = 0; i < n; i++)
		printf("%-18s %s\n", t[i].name, t[i].teaches);
	const char *samples = cli_samples_dir();
	if (samples)
		printf("\nA recorded trace of each, to replay, check or export (no root needed):\n"
		       "  %s/NAME.jsonl\n"
		       "and echo-kernel.jsonl: echo with the kernel's side too (eBPF: epoll_ctl,\n"
		       "epoll_pwait and its ready list, linked to what the runtime did)\n",
		       samples);
	else /* said: --help promises where they are */
		printf("\nThe recorded sample traces were not found: not in "
		       "../share/netpollsim/samples "
		       "nor\nsamples/ beside this binary (in %s), nor in the source tree it was "
		       "built in\n(traces/samples).\n",
		       nps_or_q(cli_exe_dir()));
	return NPS_EXIT_OK;
}
