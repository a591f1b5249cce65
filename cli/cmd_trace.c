// SPDX-License-Identifier: MIT
/*
 * netpollsim trace --pid PID: the kernel's view alone, for any process (a Go server, nginx):
 * its epoll_create1/epoll_ctl/epoll_wait family calls, decoded live, one line each, in
 * timestamp order (the probes deliver in ring order: traces/livemerge.h sorts), with the epoll
 * interest set rebuilt from its epoll_ctl calls (seeded from /proc/PID/fdinfo for what was
 * registered before we attached) and each ready entry's fd found in it. For a Go program (its
 * executable has .go.buildinfo) the netpoll break pipe is recognised (the one pipe registered
 * level-triggered for EPOLLIN alone) so that netpollBreak's write and netpoll's drain show up
 * too. --record writes the events as a trace file (src "kernel") that replay/check/export read
 * like any other, the seeded registrations first.
 *
 * On a terminal the events are narrated as `replay --narrate` narrates them (traces/narrate.h:
 * the same lines for the same recording), and every line, the interest-set tables included, fits
 * the terminal's width and follows it when the window is resized; a pipe or a file gets the full
 * layout, one line per event, as before (scripts read it).
 *
 * An exec(2) of the process (sched_process_exec) is followed: the line "[kernel] PID exec'd
 * PATH", the interest set forgotten (the old program's CLOEXEC epoll fds are closed: Go's are)
 * and read again from /proc for what survived, the break pipe's probes stopped in the kernel at
 * the exec itself and, for a new Go program, its break pipe found again.
 *
 * What it leaves out: the runtime's side (there is none to see in a foreign process: that is
 * what `netpollsim run` adds), and the children the process forks (the tgid is fixed at load
 * time): a process with no epoll fd has those of its descendants that have one named.
 */
#include "cli/cli.h"
#include "cli/out.h"
#include "cli/procfs.h"
#include "bpf/probes.h"
#include "traces/fold.h"
#include "traces/join.h"
#include "traces/json.h"
#include "traces/livemerge.h"
#include "traces/names.h"
#include "traces/narrate.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * How long an event waits for the ones stamped before it on other CPUs: the probes' records
 * arrive in ring order (reservation order across CPUs), not in timestamp order, so they are
 * sorted (traces/livemerge.h) and delivered once the ring has been drained this long past their
 * ts, on top of probes_drained_upto()'s PROBES_INFLIGHT_NS. Output lags by this plus a poll.
 */
#define TRACE_REORDER_NS 10000000ULL

static volatile sig_atomic_t stop_sig;
/* stop signals so far: a second one cuts the last read of /proc short (say_gone_unseen) */
static volatile sig_atomic_t stops;

/* Where the human-readable output goes: stdout, or stderr when the trace is recorded to "-". */
static FILE *human;
/*
 * The columns of the terminal human is (re-read after a resize: cli/out.h), 0 when it is a pipe
 * or a file, which get the full layout byte for byte as before (tests and scripts compare it).
 */
static unsigned human_width;
/* The read end of Go's break pipe being traced, -1 none: named where it shows (ready, set). */
static int break_rd_shown = -1;

/*
 * Human-readable text of whole lines: as it is into a pipe or a file, fitted to the terminal on
 * one (a line too long continues on the next, further in: narrate_fit_text).
 */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vsay(human, human_width, fmt, ap);
	va_end(ap);
}

static void on_signal(int sig)
{
	stop_sig = sig;
	stops++;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* When --duration is over (mono ns), 0 without one: a stop, as a signal is. */
static uint64_t trace_end_ns;

static int record_patience(void *ctx);

/*
 * human writes through cli/out.h, as run's narration does: a reader that stopped reading
 * (`trace ... | less` left idle, a FIFO) cannot hold a stopped trace. Its writes wait for room
 * with record_patience, and what the reader did not take in time is cut and said at the end.
 */
static struct cli_out human_out;

static ssize_t human_write(void *ctx, const char *buf, size_t n)
{
	struct cli_out *o = ctx;
	cli_out_text(o, buf, n);
	if (cli_out_flush(o) && o->err) {
		errno = o->err;
		return -1;
	}
	return (ssize_t)n; /* cut: the rest is counted, not written (human_close says so) */
}

static FILE *human_open(int fd)
{
	cli_out_init(&human_out, fd, fd == STDOUT_FILENO ? "stdout" : "stderr", record_patience,
		     NULL);
	FILE *f = fopencookie(&human_out, "w", (cookie_io_functions_t){.write = human_write});
	if (!f)
		return fd == STDOUT_FILENO ? stdout : stderr;
	/* as stdio buffers stdout and stderr: lines keep their order with stderr's messages */
	setvbuf(f, NULL, fd == STDERR_FILENO || isatty(fd) ? _IOLBF : _IOFBF, 0);
	return f;
}

/* Write out human; a failed or cut output is said, and makes the exit status rc (cli/main.c). */
static int human_close(int rc)
{
	if (human == stdout || human == stderr)
		return rc;
	fclose(human);
	human = human_out.fd == STDOUT_FILENO ? stdout : stderr;
	if (human_out.err == EPIPE)
		return rc == NPS_EXIT_OK ? 128 + SIGPIPE : rc;
	if (!human_out.err && !human_out.cut)
		return rc;
	fprintf(stderr, "netpollsim trace: writing to %s stopped: %s\n", human_out.what,
		cli_out_why(&human_out));
	return rc == NPS_EXIT_OK ? NPS_EXIT_FAIL : rc;
}

/*
 * How long a write of the recording may wait for a reader that stopped reading (a FIFO, a
 * pipe): for ever until the stop, then 5 s more, none after a second signal (as run's).
 */
static int record_patience(void *ctx)
{
	static uint64_t by;
	(void)ctx;
	uint64_t now = mono_ns();
	if (!stop_sig && (!trace_end_ns || now < trace_end_ns))
		return -1;
	if (stops >= 2)
		return 0;
	if (!by)
		by = now + 5000000000ULL;
	return now >= by ? 0 : (int)((by - now) / 1000000 + 1);
}

/*
 * The write end of a pipe whose reader went away (`trace ... | head -1`): POLLERR, seen
 * without writing (Linux's pipe_poll), so that a quiet process does not keep the trace going.
 */
static bool reader_gone(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = 0};
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR);
}

/*
 * The recording failed with err (-errno): the exit status it makes. A stop signal during the
 * open of a FIFO nobody reads yet, or a reader of "-" gone, end it as the signal would, quietly;
 * anything else is said, naming the file.
 */
static int record_failed(const char *record, int err)
{
	if (err == -EINTR && stop_sig)
		return 128 + stop_sig;
	if (err == -EPIPE)
		return 128 + SIGPIPE;
	char shown[256];
	fprintf(stderr, "netpollsim trace: --record '%s': %s\n",
		cli_arg_text(record, shown, sizeof(shown)),
		err == -ETIMEDOUT ? "its reader did not take it in time after the stop"
				  : strerror(-err));
	return NPS_EXIT_FAIL;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: netpollsim trace --pid PID [--record FILE] [--duration S] [options]\n\n"
		"Show the kernel's view of one process's epoll use, live (needs root: eBPF).\n"
		"On a terminal, narrated as replay narrates it, fitted to its width.\n\n"
		"  -p, --pid PID        the process to trace (any program: Go, nginx, ...);\n"
		"                       a thread id traces the thread's whole process\n"
		"  -o, --record FILE    also write the events to a trace file (JSON Lines)\n"
		"  -d, --duration S     stop after S seconds, at most 604800 (default: at Ctrl-C)\n"
		"      --break RD,WR    trace read(RD)/write(WR) as the netpoll break pipe\n"
		"                       (default: for a Go program, from /proc; 'none' to skip)\n"
		"      --ring BYTES     ring buffer size (default 4 MiB)\n"
		"  -q, --quiet          no event or set-up lines: only the \"tracing pid\" line\n"
		"                       and the summary (the interest set rebuilt at the end)\n"
		"  -v, --verbose        libbpf's messages (the verifier log on failure), and each\n"
		"                       probe's hits and run time in the summary\n"
		"  -h, --help           this help\n\n"
		"examples:\n"
		"  netpollsim trace --pid $(pgrep -n myserver)\n"
		"  netpollsim trace --pid 4242 --duration 10 --record kernel.jsonl\n\n"
		"exit status: 0 ok (--duration ended, or the process exited), 1 the process\n"
		"cannot be traced (none, a kernel thread, a zombie) or the probes or an output\n"
		"failed, 2 usage, 128 + N when signal N ended it (130: Ctrl-C)\n");
}

/*
 * Say which processes descended from pid have an epoll fd: as tracing begins (start; has_epoll:
 * pid has one itself), or in the summary, after it said that pid had none and made no epoll
 * call.
 */
static void say_descendants(int pid, bool start, bool has_epoll)
{
	char list[512];
	int first = 0, n = proc_epoll_descendants(pid, list, sizeof(list), &first);
	const char *who = n == 1 ? "a process it started" : "processes it started";
	const char *which = n == 1 ? "it" : "the first";

	if (!n)
		return;
	if (start && has_epoll) /* `go run`: the go command polls too, its child is the program */
		say("pid %d has %s with an epoll fd too: %s; this traces pid %d alone, --pid %d "
		    "traces %s\n",
		    pid, n == 1 ? "a child process" : "child processes", list, pid, first, which);
	else if (start)
		say("pid %d has no epoll fd, but %s %s: %s; this traces pid %d alone, --pid %d "
		    "traces %s\n",
		    pid, who, n == 1 ? "does" : "do", list, pid, first, which);
	else
		say("%s %s an epoll fd: %s; --pid %d traces %s\n", who, n == 1 ? "has" : "have",
		    list, first, which);
}

/*
 * Which break pipe is traced, or why none: go as proc_is_go() said; how: where it was found
 * ("--break" when given, NULL when none was named: /proc was searched); err: what attaching
 * the read/write probes returned.
 */
static void print_break(int pid, int go, const struct seed *s, const char *how, int rd, int wr,
			int err)
{
	bool given = how && !strcmp(how, "--break");

	if (rd >= 0 && err)
		say("break pipe: read fd %d, write fd %d not traced: %s\n", rd, wr, strerror(-err));
	else if (rd >= 0)
		say("break pipe: read fd %d, write fd %d (%s)\n", rd, wr,
		    how ? how : "found in /proc: Go's netpollBreak pipe");
	else if (given) /* --break none */
		return;
	else if (go == 0)
		say("break pipe: none (pid %d is not a Go program: its executable has no "
		    ".go.buildinfo section); --break RD,WR names one\n",
		    pid);
	else if (go < 0)
		say("break pipe: none (whether pid %d is a Go program is unknown: /proc/%d/exe: "
		    "%s); --break RD,WR names one\n",
		    pid, pid, strerror(-go));
	else if (!s->problem[0])
		say("break pipe: %s in /proc (Go's: one pipe or eventfd registered for EPOLLIN "
		    "alone, beside Go's sockets); --break RD,WR names it\n",
		    s->candidates ? "more than one candidate" : "none found");
}

struct trace_ctx {
	struct nps_join *join;
	struct livemerge *lm; /* kernel events in ring order in, in timestamp order out */
	struct probes *p;
	int pid;
	struct seed *seed;     /* what /proc said when tracing began, or after the last exec */
	uint64_t seed_ts;      /* when: the origin, or the exec's ts */
	bool seeds_pushed;     /* its registrations are in the stream (seeded epoll_ctl ADDs) */
	struct seed exec_seed; /* what /proc said after the last exec */
	int prog_go; /* is the program it runs now Go (proc_is_go: at attach, after each exec) */
	char exec_gover[64]; /* after an exec into Go: the Go that built the new program */
	/* after an exec: the new program's break pipe, once known */
	int exec_brd, exec_bwr, exec_berr;
	bool break_wanted;     /* a Go program exec'd: its netpollinit's EPOLLIN ADD names it */
	uint64_t break_ctl_ts; /* the ts of that ADD, to say so when it is delivered */
	struct trace_writer *w;
	uint64_t origin; /* CLOCK_MONOTONIC ns when the probes began tracing (probes_stats) */
	bool quiet;
	int werr; /* first writer error */
	uint64_t events, waits, readies, ctls, lost, seeded;
	uint64_t creates, execs, exits, lost_reports; /* the other kinds, for the summary */
	/* the process's end as its probe saw it (sched_process_exit): when, and its status */
	bool exit_seen;
	struct nps_event exit_ev;
	uint64_t break_writes, break_reads; /* of the break pipe: netpollBreak, netpoll's drain */
	uint64_t last_ts;		    /* of the last event delivered */
	uint64_t late, nomem; /* events delivered out of order; not held for lack of memory */
	bool said_ambiguous;  /* "fd ?" for a data shared by several fds was explained */
	bool said_unknown;    /* "fd ?" for a data no registration seen has was explained */
	/* on a terminal (not -q): the events narrated as replay narrates them, from this fold */
	bool narrate;
	bool headed; /* the columns' names are said (narrate_header) */
	struct nps_fold fold;
	uint64_t pos; /* events the fold applied: their position, for its verdicts */
	/* each thread's last epoll wait return, for the waits in progress at the end */
	struct tid_return {
		uint32_t tid;
		uint64_t ts;
	} * rets;
	size_t nrets, caprets;
};

/* ---- printing ---- */

/* Go's tagged pollDesc pointer (spec section 1.5), shown for netpollopen's registrations. */
static void go_data(uint32_t events, uint64_t data, char *buf, size_t len)
{
	char go[64];

	if (narrate_go_data(events, data, go, sizeof(go)))
		snprintf(buf, len, "  (Go: %s)", go);
}

/* A system call's result as the narration writes it: "5", or "-EINTR" for -4. */
static const char *ret_text(int64_t ret, char *buf, size_t len)
{
	const char *n = ret < 0 && ret > -4096 ? strerrorname_np((int)-ret) : NULL;
	if (n)
		snprintf(buf, len, "-%s", n);
	else
		snprintf(buf, len, "%" PRId64, ret);
	return buf;
}

/* An event in the full layout (a pipe, a file): one line, as scripts read it. */
static void print_event(struct trace_ctx *t, const struct nps_event *e)
{
	char rb[24];
	char mask[160], extra[200] = "";
	char rel[32], since[32];

	narrate_time((int64_t)(e->ts - t->origin), false, rel, sizeof(rel));

	switch (e->kind) {
	case NPS_EV_EPOLL_CREATE:
		fprintf(human, "%12s tid %-7u %s = %s\n", rel, e->tid,
			nps_epoll_create_call(e, mask, sizeof(mask)),
			ret_text(e->u.create.ret, rb, sizeof(rb)));
		break;
	case NPS_EV_EPOLL_CTL: {
		const char *op = nps_ctl_op_name(e->u.ctl.op);

		if (e->u.ctl.op == NPS_EPOLL_CTL_DEL) {
			fprintf(human, "%12s tid %-7u epoll_ctl(%d, DEL, %d) = %s\n", rel, e->tid,
				e->u.ctl.epfd, e->fd, ret_text(e->u.ctl.ret, rb, sizeof(rb)));
			break;
		}
		if (e->sub == NPS_CTL_UNREAD) { /* an address it has not mapped: strace's form */
			fprintf(human, "%12s tid %-7u epoll_ctl(%d, %s, %d, 0x%" PRIx64 ") = %s\n",
				rel, e->tid, e->u.ctl.epfd, op ? op : "?", e->fd, e->u.ctl.data,
				ret_text(e->u.ctl.ret, rb, sizeof(rb)));
			break;
		}
		go_data(e->u.ctl.events, e->u.ctl.data, extra, sizeof(extra));
		if (narrate_ctl_why(e->u.ctl.op, e->u.ctl.ret)) {
			size_t k = strlen(extra);
			snprintf(extra + k, sizeof(extra) - k, "  (%s)",
				 narrate_ctl_why(e->u.ctl.op, e->u.ctl.ret));
		}
		fprintf(human, "%12s tid %-7u epoll_ctl(%d, %s, %d, {%s, 0x%" PRIx64 "}) = %s%s\n",
			rel, e->tid, e->u.ctl.epfd, op ? op : "?", e->fd,
			nps_epoll_mask_format(e->u.ctl.events, mask, sizeof(mask)), e->u.ctl.data,
			ret_text(e->u.ctl.ret, rb, sizeof(rb)), extra);
		break;
	}
	case NPS_EV_EPOLL_WAIT: {
		const char *name = nps_wait_sub_name(e->sub);

		narrate_dur(e->u.wait.dur, extra, sizeof(extra));
		char tmo[24] = "invalid timespec";

		if (e->u.wait.timeout_ms != NPS_WAIT_TIMEOUT_INVALID)
			snprintf(tmo, sizeof(tmo), "%d", e->u.wait.timeout_ms);
		fprintf(human, "%12s tid %-7u %s(%d, %d, %s) = %s  %s\n", rel, e->tid,
			name ? name : "epoll_wait", e->u.wait.epfd, e->u.wait.maxevents, tmo,
			ret_text(e->u.wait.ret, rb, sizeof(rb)), extra);
		break;
	}
	case NPS_EV_EPOLL_READY:
		if (e->fd >= 0)
			snprintf(extra, sizeof(extra), "fd %d", e->fd);
		else
			snprintf(extra, sizeof(extra), "fd ?");
		fprintf(human, "%12s                [%u] %-6s %s  data 0x%" PRIx64 "%s\n", "",
			e->u.ready.index, extra,
			nps_epoll_mask_format(e->u.ready.events, mask, sizeof(mask)),
			e->u.ready.data,
			e->fd >= 0 && e->fd == break_rd_shown
			    ? "  (the break pipe: netpollBreak woke the poller)"
			    : "");
		break;
	case NPS_EV_SYSCALL:
		fprintf(human, "%12s tid %-7u %s(%d, %" PRIu64 ") = %s  %s\n", rel, e->tid,
			e->u.sys.op == NPS_SYS_WRITE ? "write" : "read", e->fd, e->u.sys.count,
			ret_text(e->u.sys.ret, rb, sizeof(rb)),
			e->u.sys.op == NPS_SYS_WRITE ? "netpollBreak: wakes the poller"
						     : "netpoll drains the break pipe");
		break;
	case NPS_EV_EXEC: {
		char path[4 * NPS_PATH_LEN + 1];

		/* as the narration says it: which thread called execve, when not the leader */
		fprintf(human, "%12s tid %-7u [kernel] %u exec'd %s", rel, e->tid, e->tid,
			narrate_exec_path(e, path, sizeof(path)));
		if (e->u.exec.old_tid > 0 && (uint32_t)e->u.exec.old_tid != e->tid)
			fprintf(human, " (execve called by thread %d)", e->u.exec.old_tid);
		fputc('\n', human);
		break;
	}
	case NPS_EV_EXIT: /* as the narration says it; the tid is its last thread's */
		fprintf(human, "%12s tid %-7u [kernel] the process %s\n", rel, e->tid,
			narrate_exit_status(e, extra, sizeof(extra)));
		break;
	case NPS_EV_LOST:
		fprintf(human,
			"%12s *** %" PRIu64 " kernel event%s lost (ring buffer full) since %s\n",
			rel, e->u.lost.count, nps_plural(e->u.lost.count),
			narrate_time((int64_t)(e->u.lost.since - t->origin), true, since,
				     sizeof(since)));
		break;
	default:
		break;
	}
}

/*
 * "fd ?" for a ready entry: why, once for each reason (a data several fds share, or one no
 * registration seen has). Under the entry in the full layout; on a terminal where the narration
 * puts its notes (narrate_verdict).
 */
static void explain_fd_unknown(struct trace_ctx *t, const struct nps_event *e)
{
	if (e->kind != NPS_EV_EPOLL_READY || e->fd >= 0)
		return;
	bool shared =
	    join_interest_fd(t->join, e->u.ready.epfd, e->u.ready.data) == JOIN_FD_AMBIGUOUS;
	bool *said = shared ? &t->said_ambiguous : &t->said_unknown;
	if (*said)
		return;
	*said = true;
	if (shared)
		say("%*s(fd ?: more than one fd was registered on epfd %d with data 0x%" PRIx64
		    ", and epoll returns only the data; some may have been closed since without "
		    "EPOLL_CTL_DEL, which removes them from epoll unseen)\n",
		    human_width ? 12 : 28, "", e->u.ready.epfd, e->u.ready.data);
	else
		say("%*s(fd ?: no registration on epfd %d with data 0x%" PRIx64
		    " was seen: another process that shares the epoll fd made it (a fork's parent "
		    "or child: the probes trace pid %d only), or it was there before tracing began "
		    "and /proc did not show it)\n",
		    human_width ? 12 : 28, "", e->u.ready.epfd, e->u.ready.data, t->pid);
}

/* The fold's verdicts on a terminal, as replay narrates them. */
static void say_verdicts(const struct fold_verdict *v, int nv)
{
	char line[NARRATE_LINE_MAX];

	for (int i = 0; i < nv; i++)
		if (narrate_verdict(&v[i], human_width, line, sizeof(line)))
			fprintf(human, "%s\n", line);
}

/*
 * An event on a terminal: the narration replay prints (traces/narrate.h), fitted to the width,
 * from the fold that has just applied it, with the verdicts it gave (v, nv), so that the live
 * view and a replay of its recording read alike.
 */
static void narrate_line(struct trace_ctx *t, const struct nps_event *e,
			 const struct fold_verdict *v, int nv)
{
	char line[NARRATE_LINE_MAX];

	if (narrate_event(e, &t->fold, t->origin, human_width, line, sizeof(line))) {
		char head[NARRATE_LINE_MAX];
		if (!t->headed && narrate_header(human_width, true, head, sizeof(head)))
			fprintf(human, "%s\n", head);
		t->headed = true;
		fprintf(human, "%s\n", line);
	}
	say_verdicts(v, nv);
}

/* Columns of a table row: "  " and each cell right- or left-aligned in its width. */
struct row {
	char buf[512];
	size_t n;
};

static void cell(struct row *r, int w, const char *s)
{
	int k = snprintf(r->buf + r->n, sizeof(r->buf) - r->n, "  %*s", w, s);

	if (k > 0)
		r->n += (size_t)k < sizeof(r->buf) - r->n ? (size_t)k : sizeof(r->buf) - r->n - 1;
}

/* The row, without the blanks a left-aligned last cell leaves. */
static void row_say(struct row *r)
{
	while (r->n && r->buf[r->n - 1] == ' ')
		r->buf[--r->n] = '\0';
	say("%s\n", r->buf);
}

/* The interest set's table on a terminal: which columns fit, and how wide each is. */
struct fitted {
	int epfd, fd, events, data, go; /* widths; 0: the column is left out */
	bool short_mask;		/* "IN|OUT|RDHUP|ET" for "EPOLLIN|EPOLLOUT|..." */
};

static void widen(int *w, const char *s)
{
	int n = (int)strlen(s);

	if (n > *w)
		*w = n;
}

static int fitted_width(const struct fitted *f)
{
	return 2 + f->epfd + 2 + f->fd + 2 + f->events + (f->data ? 2 + f->data : 0) +
	       (f->go ? 2 + f->go : 0);
}

/* The cells of registration r as the terminal table shows them. */
static void fitted_cells(const struct join_interest *r, bool short_mask, char epfd[16], char fd[16],
			 char mask[160], char data[24], char go[64])
{
	snprintf(epfd, 16, "%d", r->epfd);
	snprintf(fd, 16, "%d", r->fd);
	if (short_mask)
		narrate_epoll_mask_short(r->events, mask, 160);
	else
		nps_epoll_mask_format(r->events, mask, 160);
	snprintf(data, 24, "0x%" PRIx64, r->data);
	if (!narrate_go_data(r->events, r->data, go, 64))
		snprintf(go, 64, "%s", r->fd == break_rd_shown ? "the break pipe" : "");
}

/*
 * The interest set on a terminal, as wide as the content and no wider than the window: when it
 * does not fit, the decoded Go pollDesc goes first, then the data, then "EPOLL" from the masks;
 * epfd, fd and the events stay (they are what a ready entry is matched with). A line under the
 * table says what was left out. Narrower than even that (under 30 columns), the rows wrap.
 */
static void fit_interest(const struct join_interest *l, size_t n)
{
	char epfd[16], fd[16], mask[160], data[24], go[64];
	struct fitted f = {4, 2, 6, 4, 0, false}, s = {4, 2, 6, 0, 0, true};

	for (size_t i = 0; i < n; i++) {
		fitted_cells(&l[i], false, epfd, fd, mask, data, go);
		widen(&f.epfd, epfd);
		widen(&f.fd, fd);
		widen(&f.events, mask);
		widen(&f.data, data);
		widen(&f.go, go);
		widen(&s.events, narrate_epoll_mask_short(l[i].events, mask, sizeof(mask)));
	}
	s.epfd = f.epfd;
	s.fd = f.fd;
	bool no_go = f.go && fitted_width(&f) > (int)human_width;

	if (no_go)
		f.go = 0;
	bool no_data = fitted_width(&f) > (int)human_width;

	if (no_data)
		f.data = 0;
	if (fitted_width(&f) > (int)human_width)
		f = s;

	struct row r = {.n = 0};

	cell(&r, f.epfd, "epfd");
	cell(&r, f.fd, "fd");
	cell(&r, -f.events, "events");
	if (f.data)
		cell(&r, -f.data, "data");
	if (f.go)
		cell(&r, -f.go, "Go");
	row_say(&r);
	for (size_t i = 0; i < n; i++) {
		fitted_cells(&l[i], f.short_mask, epfd, fd, mask, data, go);
		r.n = 0;
		cell(&r, f.epfd, epfd);
		cell(&r, f.fd, fd);
		cell(&r, -f.events, mask);
		if (f.data)
			cell(&r, -f.data, data);
		if (f.go)
			cell(&r, -f.go, go);
		row_say(&r);
	}
	if (no_go || no_data)
		say("  (not shown at %u columns: %s)\n", human_width,
		    !no_go    ? "the data"
		    : no_data ? "the data, Go's pd and fdseq"
			      : "Go's pd and fdseq");
}

static void print_interest(const struct join_interest *l, size_t n, const char *title)
{
	char mask[160], extra[80];

	say("%s: %zu registration%s\n", title, n, nps_plural(n));
	if (human_width) {
		if (n)
			fit_interest(l, n);
		return;
	}
	if (n)
		fprintf(human, "  %5s %5s  %-44s %-18s\n", "epfd", "fd", "events", "data");
	for (size_t i = 0; i < n; i++) {
		extra[0] = '\0';
		go_data(l[i].events, l[i].data, extra, sizeof(extra));
		if (!extra[0] && l[i].fd == break_rd_shown)
			snprintf(extra, sizeof(extra), "  (Go: the break pipe, netpollBreakRd)");
		fprintf(human, "  %5d %5d  %-44s 0x%016" PRIx64 "%s\n", l[i].epfd, l[i].fd,
			nps_epoll_mask_format(l[i].events, mask, sizeof(mask)), l[i].data, extra);
	}
}

/*
 * After the exec line: the new program's break pipe (or why none) and the registrations that
 * survived the exec (from /proc after it; those an epoll_ctl changed meanwhile are the calls').
 */
static void print_after_exec(struct trace_ctx *t)
{
	const struct seed *s = &t->exec_seed;
	struct join_interest *l = s->nreg ? calloc(s->nreg, sizeof(*l)) : NULL;
	size_t n = 0;

	if (t->prog_go == 1) /* named when its registration is delivered (on_event) */
		say("break pipe: pid %d now runs a Go program (%s): its netpollinit's EPOLLIN "
		    "registration names it\n",
		    t->pid, t->exec_gover);
	else
		print_break(t->pid, t->prog_go, s, NULL, -1, -1, 0);
	for (size_t i = 0; l && i < s->nreg; i++)
		if (!(s->superseded && s->superseded[i]))
			l[n++] = s->reg[i];
	print_interest(l, n,
		       s->problem[0] ? "interest set after the exec (from /proc fdinfo, incomplete)"
				     : "interest set after the exec (from /proc fdinfo)");
	free(l);
}

/* An event in timestamp order: join, count, print, record. */
/* A wait of thread tid returned at ts. Few threads wait: a linear search, the last one first. */
static void note_return(struct trace_ctx *t, uint32_t tid, uint64_t ts)
{
	for (size_t i = t->nrets; i-- > 0;)
		if (t->rets[i].tid == tid) {
			t->rets[i].ts = ts;
			return;
		}
	if (t->nrets == t->caprets) {
		size_t cap = t->caprets ? t->caprets * 2 : 16;
		struct tid_return *v = realloc(t->rets, cap * sizeof(*v));

		if (!v)
			return; /* the end then says less of that thread's wait */
		t->rets = v;
		t->caprets = cap;
	}
	t->rets[t->nrets++] = (struct tid_return){tid, ts};
}

/*
 * The process's threads in an epoll wait now (/proc/PID/task/TID/syscall): as tracing begins,
 * a wait whose return will show without its blocked time; as it ends, one whose return no
 * probe will see, with the last return of the same thread that was seen.
 */
static void say_waits_now(const struct trace_ctx *t, bool end)
{
	struct wait_now w[8];
	int n = proc_waits_now(t->pid, w, 8);

	if (!n)
		return;
	if (end)
		say("in an epoll wait as tracing ends (/proc/%d/task/TID/syscall):\n", t->pid);
	else
		say("in an epoll wait as tracing begins (its return will show without its blocked "
		    "time):\n");
	for (int i = 0; i < n && i < 8; i++) {
		char since[80] = "";
		const struct tid_return *r = NULL;

		for (size_t k = 0; end && k < t->nrets && !r; k++)
			r = t->rets[k].tid == (uint32_t)w[i].tid ? &t->rets[k] : NULL;
		char at[32];

		if (r)
			snprintf(since, sizeof(since), ": since its last return at %s s or later",
				 narrate_time((int64_t)(r->ts - t->origin), false, at, sizeof(at)));
		else if (end)
			snprintf(since, sizeof(since),
				 ": none of its waits returned while tracing");
		say("   tid %-7d %s(%d, %d, %s)%s\n", w[i].tid,
		    nps_wait_sub_name((unsigned)w[i].sub), w[i].epfd, w[i].maxevents, w[i].timeout,
		    since);
	}
	if (n > 8)
		say("   and %d more threads\n", n - 8);
}

static int on_event(void *ctx, const struct nps_event *ev)
{
	struct trace_ctx *t = ctx;
	struct nps_event e = *ev;

	if (e.ts < t->last_ts)
		t->late++; /* it arrived after later events: delivered anyway, out of order */
	else
		t->last_ts = e.ts;
	join_apply(t->join, &e); /* on ENOMEM the event just stays unjoined */
	struct fold_verdict v[8];
	/* on ENOMEM the fold just knows less: the narration says less about the event */
	int nv = t->narrate ? fold_apply(&t->fold, &e, ++t->pos, v, 8) : 0;

	if (e.kind == NPS_EV_EPOLL_CTL && e.sub == NPS_CTL_SEEDED) {
		t->seeded++; /* the table "interest set at attach" showed it */
		if (t->w && !t->werr)
			t->werr = trace_writer_event(t->w, &e);
		return 0;
	}
	t->events++;
	t->waits += e.kind == NPS_EV_EPOLL_WAIT;
	if (e.kind == NPS_EV_EPOLL_WAIT)
		note_return(t, e.tid, e.ts);
	t->readies += e.kind == NPS_EV_EPOLL_READY;
	t->ctls += e.kind == NPS_EV_EPOLL_CTL;
	t->creates += e.kind == NPS_EV_EPOLL_CREATE;
	t->execs += e.kind == NPS_EV_EXEC;
	t->exits += e.kind == NPS_EV_EXIT;
	t->lost_reports += e.kind == NPS_EV_LOST;
	t->break_writes += e.kind == NPS_EV_SYSCALL && e.u.sys.op == NPS_SYS_WRITE;
	t->break_reads += e.kind == NPS_EV_SYSCALL && e.u.sys.op == NPS_SYS_READ;
	if (e.kind == NPS_EV_LOST)
		t->lost += e.u.lost.count;
	if (t->narrate)
		narrate_line(t, &e, v, nv > 0 ? nv : 0);
	else if (!t->quiet)
		print_event(t, &e);
	if (!t->quiet)
		explain_fd_unknown(t, &e);
	if (!t->quiet && e.kind == NPS_EV_EXEC)
		print_after_exec(t);
	if (!t->quiet && e.kind == NPS_EV_EPOLL_CTL && t->break_ctl_ts && e.ts == t->break_ctl_ts)
		print_break(t->pid, 1, &t->exec_seed,
			    "its netpollinit's registration, the write end found in /proc",
			    t->exec_brd, t->exec_bwr, t->exec_berr);
	if (t->w && !t->werr)
		t->werr = trace_writer_event(t->w, &e);
	return 0;
}

/*
 * A successful epoll_ctl made while /proc was being read: /proc may show its effect or not, so
 * the call decides, and the registration read from /proc for that fd is dropped.
 */
static void seed_supersede(struct seed *s, const struct nps_event *e)
{
	struct join_interest key = {.epfd = e->u.ctl.epfd, .fd = e->fd};
	struct join_interest *r =
	    s->nreg ? bsearch(&key, s->reg, s->nreg, sizeof(*s->reg), seed_cmp_reg) : NULL;

	if (r && s->superseded)
		s->superseded[r - s->reg] = true;
}

static void push_seeds(struct trace_ctx *t);

/*
 * The process exec'd. Its event comes in ring order, soon after the exec: /proc shows the new
 * program now. What survived the exec is read again, as at attach (an epoll_ctl made meanwhile
 * supersedes what /proc said of its fd), and whether the new program is Go. Its break pipe is
 * not looked for in /proc: an epoll fd without CLOEXEC survives the exec with its pipes, which
 * look like Go's; Go's own is registered by the new program's netpollinit, after the exec, so
 * its ADD comes after this event in the ring (on_break_registered). (Should the process exec
 * again before this read, /proc shows the newer program: its own exec event follows.)
 */
static void on_exec(struct trace_ctx *t, const struct nps_event *e)
{
	if (!t->seeds_pushed)
		push_seeds(t); /* the previous reading (attach or exec), as it stands */
	seed_free(&t->exec_seed);
	t->prog_go = proc_go(t->pid, t->exec_gover, sizeof(t->exec_gover));
	seed_from_proc(t->pid, false, &stops, &t->exec_seed);
	t->seed = &t->exec_seed;
	t->seed_ts = e->ts;
	t->seeds_pushed = false;
	t->exec_brd = t->exec_bwr = -1;
	break_rd_shown = -1; /* the old program's fds are gone with it */
	t->exec_berr = 0;
	t->break_ctl_ts = 0;
	t->break_wanted = t->prog_go == 1;
}

/*
 * A Go program exec'd: its netpollinit registers the break pipe's read end (or Go 1.23's
 * eventfd) for EPOLLIN alone, level-triggered (spec section 2.2), the first such ADD after the
 * exec; the write end is found in /proc as at attach (seed_find_break).
 */
static void on_break_registered(struct trace_ctx *t, const struct nps_event *e)
{
	struct join_interest r = {.epfd = e->u.ctl.epfd, .fd = e->fd, .events = e->u.ctl.events};
	struct seed s = {.reg = &r, .nreg = 1, .break_rd = -1, .break_wr = -1};

	seed_read_fds(t->pid, &s);
	seed_find_break(t->pid, &s);
	if (s.candidates == 1) {
		t->exec_brd = s.break_rd;
		t->exec_bwr = s.break_wr;
		t->exec_berr = probes_set_break_fds(t->p, t->exec_brd, t->exec_bwr);
		break_rd_shown = t->exec_berr ? -1 : t->exec_brd;
		t->break_wanted = false;
		t->break_ctl_ts = e->ts;
	}
	free(s.fds);
}

/* An event as the probes deliver it, in ring order: held until its turn. */
static void on_kernel(void *ctx, const struct nps_event *e)
{
	struct trace_ctx *t = ctx;

	if (e->kind == NPS_EV_EXEC)
		on_exec(t, e);
	if (e->kind == NPS_EV_EXIT && !t->exit_seen) { /* the trace ends: see the loop */
		t->exit_seen = true;
		t->exit_ev = *e;
	}
	if (t->break_wanted && e->kind == NPS_EV_EPOLL_CTL && e->u.ctl.op == NPS_EPOLL_CTL_ADD &&
	    !e->u.ctl.ret && e->u.ctl.events == 0x1 && e->ts > t->seed_ts)
		on_break_registered(t, e);
	if (!t->seeds_pushed && e->kind == NPS_EV_EPOLL_CTL && !e->u.ctl.ret &&
	    e->ts >= t->seed_ts && e->ts <= t->seed->done_ns)
		seed_supersede(t->seed, e);

	if (livemerge_push_kernel(t->lm, e)) {
		t->nomem++;
		on_event(t, e); /* no memory to hold it: deliver it now, out of order maybe */
	}
}

/*
 * The registrations read from /proc, into the stream as epoll_ctl ADDs at the origin (sub
 * NPS_CTL_SEEDED), before any event: the join learns the interest set from them, and a
 * recording keeps it for replay, check and export.
 */
static void push_seeds(struct trace_ctx *t)
{
	const struct seed *s = t->seed;

	t->seeds_pushed = true;
	for (size_t i = 0; i < s->nreg; i++) {
		struct nps_event e = {
		    .ts = t->seed_ts,
		    .fd = s->reg[i].fd,
		    .kind = NPS_EV_EPOLL_CTL,
		    .m = -1,
		    .p = -1,
		    .src = NPS_SRC_KERNEL,
		    .sub = NPS_CTL_SEEDED,
		    .u.ctl = {.data = s->reg[i].data,
			      .events = s->reg[i].events,
			      .epfd = s->reg[i].epfd,
			      .op = NPS_EPOLL_CTL_ADD},
		};

		if (!(s->superseded && s->superseded[i]))
			on_kernel(t, &e);
	}
}

/* Deliver, in timestamp order, what can no longer be preceded by a later arrival (final: all). */
static void deliver(struct trace_ctx *t, struct probes *p, bool final)
{
	uint64_t upto = probes_drained_upto(p);

	upto = upto > TRACE_REORDER_NS ? upto - TRACE_REORDER_NS : 0;
	if (!t->seeds_pushed) {
		/*
		 * Until then an epoll_ctl made while /proc was read may still come: only what
		 * came before the reading's exec (nothing, at attach) can go.
		 */
		if (!final && upto < t->seed->done_ns) {
			livemerge_kernel_upto(t->lm, upto < t->seed_ts ? upto : t->seed_ts - 1);
			livemerge_drain(t->lm, false, on_event, t);
			return;
		}
		push_seeds(t);
	}
	livemerge_kernel_upto(t->lm, upto);
	livemerge_drain(t->lm, final, on_event, t);
}

/* The interest set as the join rebuilt it. */
static void print_interest_now(struct nps_join *j, const char *title)
{
	size_t n = join_interest_list(j, NULL, 0);
	struct join_interest *l = n ? calloc(n, sizeof(*l)) : NULL;

	if (n && !l) {
		say("%s: %zu registration%s (no memory to list them)\n", title, n, nps_plural(n));
		return;
	}
	print_interest(l, n ? join_interest_list(j, l, n) : 0, title);
	free(l);
}

/*
 * Go's own exits with 2: a panic nobody recovered, a throw, a SIGQUIT dump. "" otherwise, or
 * when the program is not Go (prog_go: proc_is_go's answer).
 */
static const char *go_exit_hint(const struct nps_event *exit, int prog_go)
{
	return prog_go == 1 && exit->u.exit.code == 2
		   ? " (a Go program exits with 2 after a panic nobody recovered, a fatal error or "
		     "SIGQUIT: its stderr says which)"
		   : "";
}

/*
 * How the trace ended, for its footer's closing line (replay prints it under the heading); exit:
 * the process's end as its probe saw it, NULL when only /proc said it (the event was lost).
 */
static const char *trace_story(const struct probes_opts *o, bool exited,
			       const struct nps_event *exit, int prog_go)
{
	static char s[320];
	char sig[32], how[64];
	if (exited && exit)
		snprintf(s, sizeof(s), "pid %d %s%s: the trace ends with it", o->tgid,
			 narrate_exit_status(exit, how, sizeof(how)), go_exit_hint(exit, prog_go));
	else if (exited)
		snprintf(s, sizeof(s), "pid %d exited: the trace ends with it", o->tgid);
	else if (stop_sig && stop_sig != SIGPIPE)
		snprintf(s, sizeof(s), "the trace was stopped by %s",
			 stop_sig == SIGINT
			     ? "SIGINT (Ctrl-C, or kill -INT)"
			     : nps_or_q(nps_signal_name(stop_sig, sig, sizeof(sig))));
	else if (!stop_sig && trace_end_ns)
		snprintf(s, sizeof(s), "--duration ended the trace");
	else
		s[0] = '\0';
	return s;
}

/* The kernel events the probes lost so far. */
static uint64_t lost_so_far(struct probes *p)
{
	struct probes_stats st;
	probes_stats(p, &st);
	return st.lost;
}

/*
 * The registrations of the rebuilt set that the kernel's set no longer holds when tracing ends
 * (/proc/PID/fdinfo, read again): closing a file's last descriptor removes it from epoll, which
 * no epoll call shows (nginx closes its connections so). Said after the set, not taken out of
 * it: the set is what the calls showed, and a recording replays it so. After lost events (lost)
 * the likeliest cause comes first: the missing calls were among them (Go always DELs).
 */
static void say_gone_unseen(int pid, struct nps_join *j, uint64_t lost, bool go)
{
	size_t n = join_interest_list(j, NULL, 0), gone = 0, cap = 0;
	struct join_interest *l = n ? calloc(n, sizeof(*l)) : NULL;
	struct seed now;

	if (!l)
		return;
	n = join_interest_list(j, l, n);
	/*
	 * Only the epoll fds the set names, each once (the list is sorted by epfd): not every fd's
	 * link, which a server with 10,000 connections takes seconds to read. A missing fdinfo is
	 * an epoll fd closed since, whose registrations are gone with it; unless the process is.
	 */
	memset(&now, 0, sizeof(now));
	now.stops = &stops;
	now.stops0 = stops;
	for (size_t i = 0; i < n && !now.interrupted; i++)
		if (!i || l[i].epfd != l[i - 1].epfd)
			seed_read_epoll(pid, l[i].epfd, &now, &cap);
	if (now.nreg)
		qsort(now.reg, now.nreg, sizeof(*now.reg), seed_cmp_reg);
	if (proc_exited(pid))
		now.interrupted = true; /* it exited meanwhile: its fds say nothing */
	for (size_t i = 0; i < n && !now.problem[0] && !now.interrupted; i++) {
		if (bsearch(&l[i], now.reg, now.nreg, sizeof(*now.reg), seed_cmp_reg))
			continue;
		/* Go's netpollclose DELs every fd before its close: never closed without one */
		if (!gone++ && lost)
			say("not in the kernel's set when tracing ended (/proc/%d/fdinfo): their "
			    "EPOLL_CTL_DEL may be among the %llu lost events, %sor removed after "
			    "the probes stopped:\n",
			    pid, (unsigned long long)lost,
			    go ? "" : "or they were closed without one, ");
		else if (gone == 1 && go)
			say("not in the kernel's set when tracing ended (/proc/%d/fdinfo): removed "
			    "after the probes stopped (a Go program's netpollclose makes an "
			    "EPOLL_CTL_DEL before each close):\n",
			    pid);
		else if (gone == 1)
			say("not in the kernel's set when tracing ended (/proc/%d/fdinfo): "
			    "closed without EPOLL_CTL_DEL, which removes a registration unseen, "
			    "or removed after the probes stopped:\n",
			    pid);
		if (gone <= 8)
			say("   fd %d on epfd %d\n", l[i].fd, l[i].epfd);
	}
	if (gone > 8)
		say("   and %zu more\n", gone - 8);
	/* the other way: on those epoll fds, registrations no epoll_ctl of the process made */
	size_t unseen = 0;
	for (size_t i = 0; i < now.nreg && !now.problem[0] && !now.interrupted; i++) {
		if (bsearch(&now.reg[i], l, n, sizeof(*l), seed_cmp_reg))
			continue;
		if (!unseen++)
			say("in the kernel's set when tracing ended (/proc/%d/fdinfo) but not "
			    "seen added: %sby another process that shares the epoll fd (a fork's "
			    "parent or child: the probes trace pid %d only), or after the probes "
			    "stopped:\n",
			    pid, lost ? "its ADD among the lost events, or " : "", pid);
		if (unseen <= 8)
			say("   fd %d on epfd %d (data 0x%" PRIx64 ")\n", now.reg[i].fd,
			    now.reg[i].epfd, now.reg[i].data);
	}
	if (unseen > 8)
		say("   and %zu more\n", unseen - 8);
	seed_free(&now);
	free(l);
}

static void print_summary(const struct trace_ctx *t, struct probes *p, int verbose, bool exited)
{
	struct probes_stats st;

	probes_stats(p, &st);
	double secs = (double)(st.stop_ns - st.attach_ns) / 1e9;
	char brk[128] = "";
	if (t->break_writes || t->break_reads) /* how often the poller was woken early */
		snprintf(brk, sizeof(brk),
			 ", %" PRIu64 " write%s to the break pipe (netpollBreak) and %" PRIu64
			 " read%s (netpoll's drain)",
			 t->break_writes, nps_plural(t->break_writes), t->break_reads,
			 nps_plural(t->break_reads));
	/* every kind counted, so that the parts add up to the events (a replay's count too) */
	char more[256] = "";
	size_t k = 0;
	if (t->creates)
		k += (size_t)snprintf(more + k, sizeof(more) - k, ", %" PRIu64 " epoll_create%s",
				      t->creates, nps_plural(t->creates));
	if (t->execs && k < sizeof(more))
		k += (size_t)snprintf(more + k, sizeof(more) - k, ", %" PRIu64 " exec%s", t->execs,
				      nps_plural(t->execs));
	if (t->exits && k < sizeof(more))
		k += (size_t)snprintf(more + k, sizeof(more) - k, ", the exit");
	if (t->lost_reports && k < sizeof(more))
		k += (size_t)snprintf(more + k, sizeof(more) - k,
				      ", %" PRIu64 " report%s of lost events", t->lost_reports,
				      nps_plural(t->lost_reports));
	if (t->seeded && k < sizeof(more))
		snprintf(more + k, sizeof(more) - k,
			 "; and %" PRIu64 " registration%s read from /proc at attach (events at "
			 "time 0 in a recording)",
			 t->seeded, nps_plural(t->seeded));
	say("kernel view: %" PRIu64 " event%s in %.3f s (%.0f/s): %" PRIu64
	    " epoll_wait return%s, %" PRIu64 " ready %s, %" PRIu64 " epoll_ctl%s%s\n",
	    t->events, nps_plural(t->events), secs, secs > 0 ? (double)st.delivered / secs : 0.0,
	    t->waits, nps_plural(t->waits), t->readies, t->readies == 1 ? "entry" : "entries",
	    t->ctls, brk, more);
	say("probes: produced %" PRIu64 ", delivered %" PRIu64 ", lost %" PRIu64
	    " (ring %zu KiB), records %" PRIu64 ", wake-ups %" PRIu64 "\n",
	    st.produced, st.delivered, st.lost, st.ring_bytes >> 10, st.records, st.wakeups);
	if (st.lost) /* the ring filled between two reads of it */
		say("probes: events were lost because the ring buffer was full: a larger --ring "
		    "(now %zu KiB) holds more between two reads\n",
		    st.ring_bytes >> 10);
	/* nothing to see: a program that waits with poll(2) (python's http.server) looks so */
	/* the exit is no epoll activity: a process that only exited made no epoll call */
	if (t->events == t->exits && st.produced == t->exits && !seed_has_epoll(t->seed) &&
	    t->seed && !t->seed->problem[0]) {
		say("pid %d had no epoll fd and made no epoll call: it waits some other way "
		    "(poll(2), select(2)) or not at all, which these probes do not show\n",
		    t->pid);
		if (!exited)
			say_descendants(t->pid, false, false);
	}
	if (st.unmatched || st.exit_missed)
		say("probes: %" PRIu64 " epoll_wait returns without their entry (blocked time "
		    "unknown: in progress when tracing began), %" PRIu64
		    " entries without their return\n",
		    st.unmatched, st.exit_missed);
	if (t->late || t->nomem)
		say("order: %" PRIu64 " events arrived more than %.0f ms after later ones and "
		    "are out of time order; %" PRIu64 " could not be held (out of memory)\n",
		    t->late, (double)(TRACE_REORDER_NS + PROBES_INFLIGHT_NS) / 1e6, t->nomem);
	if (st.no_storage || st.read_fail || st.filtered)
		say("probes: no task storage %" PRIu64 ", unreadable user memory %" PRIu64
		    ", filtered %" PRIu64 "\n",
		    st.no_storage, st.read_fail, st.filtered);
	for (int i = 0; verbose && i < PROBES_NPROBES; i++)
		say("  %-24s %10" PRIu64 " hits %10" PRIu64 " runs %8.0f ns/run %6.3f s\n",
		    probes_probe_name(i), st.hits[i], st.run_cnt[i],
		    st.run_cnt[i] ? (double)st.run_ns[i] / (double)st.run_cnt[i] : 0.0,
		    (double)st.run_ns[i] / 1e9);
}

/*
 * s as one word a shell reads back as s: as it is when it holds only characters no shell
 * treats specially, else in single quotes (a quote inside as '"'"': no backslash, which
 * cli_arg_text would double); printable (cli_arg_text).
 */
static const char *shell_word(const char *s, char *buf, size_t len)
{
	char q[1024];
	size_t k = 0;

	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
			    "_./:=+,@%-") == strlen(s))
		return cli_arg_text(s, buf, len);
	q[k++] = '\'';
	for (; *s && k + 7 < sizeof(q); s++)
		if (*s == '\'') {
			memcpy(q + k, "'\"'\"'", 5);
			k += 5;
		} else {
			q[k++] = *s;
		}
	q[k++] = '\'';
	q[k] = '\0';
	return cli_arg_text(q, buf, len);
}

int cmd_trace(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"pid", required_argument, NULL, 'p'},
	    {"record", required_argument, NULL, 'o'},
	    {"duration", required_argument, NULL, 'd'},
	    {"break", required_argument, NULL, 'b'},
	    {"ring", required_argument, NULL, 'R'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct probes_opts o = {0};
	struct trace_ctx t = {0};
	struct probes *p = NULL;
	const char *record = NULL, *brk = NULL;
	double duration = 0;
	char why[512], txt[256], *end;
	int c, rc = NPS_EXIT_FAIL, brd = -1, bwr = -1, record_fd = -1;
	bool exited = false; /* the traced process exited (said, and in the footer's story) */
	struct seed seed = {0};

	human = stdout;
	optind = 1;
	opterr = 0; /* its errors are said as run says them (cli_option_error) */
	while ((c = cli_getopt("trace", argc, argv, ":p:o:d:qvh", longopts)) != -1) {
		switch (c) {
		case 'p': {
			long v = strtol(optarg, &end, 10);

			if (*end || v <= 0 || v > INT_MAX) {
				fprintf(stderr, "netpollsim trace: --pid: not a process id: '%s'\n",
					cli_arg_text(optarg, txt, sizeof(txt)));
				return NPS_EXIT_USAGE;
			}
			/* the probes follow one tgid: a second --pid would be dropped silently */
			if (o.tgid) {
				fprintf(
				    stderr,
				    "netpollsim trace: --pid given twice (%d, then %ld): a trace "
				    "follows one process; run one trace per process\n",
				    o.tgid, v);
				return NPS_EXIT_USAGE;
			}
			o.tgid = (int)v;
			break;
		}
		case 'o':
			record = optarg;
			break;
		case 'd':
			if (cli_parse_duration(optarg, &duration)) {
				fprintf(
				    stderr,
				    "netpollsim trace: --duration: wants a positive number of "
				    "seconds, at most 604800 (7 days; without --duration the trace "
				    "runs until Ctrl-C), got '%s'\n",
				    cli_arg_text(optarg, txt, sizeof(txt)));
				return NPS_EXIT_USAGE;
			}
			break;
		case 'b':
			brk = optarg;
			if (strcmp(brk, "none") &&
			    (sscanf(brk, "%d,%d", &brd, &bwr) != 2 || brd < 0 || bwr < 0)) {
				fprintf(stderr,
					"netpollsim trace: --break: expected RD,WR or none, got "
					"'%s'\n",
					cli_arg_text(brk, txt, sizeof(txt)));
				return NPS_EXIT_USAGE;
			}
			break;
		case 'R': {
			unsigned long long v = strtoull(optarg, &end, 10);

			if (*end || v == 0 || v > (1ULL << 30)) {
				fprintf(stderr,
					"netpollsim trace: --ring: bytes from 1 to 2^30, got "
					"'%s'\n",
					cli_arg_text(optarg, txt, sizeof(txt)));
				return NPS_EXIT_USAGE;
			}
			o.ring_bytes = (size_t)v;
			break;
		}
		case 'q':
			t.quiet = true;
			break;
		case 'v':
			o.verbose++;
			o.prog_stats = 1; /* the probes' own run time in the summary */
			break;
		case 'h':
			usage(stdout);
			return NPS_EXIT_OK;
		default:
			return cli_option_error("trace", c, argv, longopts);
		}
	}
	if (optind < argc || !o.tgid) {
		if (optind < argc && !o.tgid) { /* `trace CMD` or `trace -- CMD`, as strace takes */
			char cmd[256] = "";
			size_t k = 0;
			for (int i = optind; i < argc && k < sizeof(cmd); i++)
				k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, "%s%s",
						      i > optind ? " " : "",
						      shell_word(argv[i], txt, sizeof(txt)));
			fprintf(
			    stderr,
			    "netpollsim trace: unexpected argument '%s': trace follows a running "
			    "process (--pid PID); for a command, start it first: %s & "
			    "netpollsim trace --pid $!\n",
			    cli_arg_text(argv[optind], txt, sizeof(txt)), cmd);
		} else if (optind < argc)
			fprintf(
			    stderr,
			    "netpollsim trace: unexpected argument '%s' (one process: --pid PID; "
			    "see --help)\n",
			    cli_arg_text(argv[optind], txt, sizeof(txt)));
		else
			fprintf(stderr, "netpollsim trace: --pid PID is required (see --help)\n");
		return NPS_EXIT_USAGE;
	}
	if (cli_refuse_closed_stdout("trace", record))
		return NPS_EXIT_FAIL;
	/* stdout carries the trace to "-" */
	human = human_open(record && !strcmp(record, "-") ? STDERR_FILENO : STDOUT_FILENO);
	human_width = cli_term_width(human_out.fd);
	if (human_width)
		cli_term_follow();
	t.narrate = human_width && !t.quiet;
	/* The probes filter on the process (tgid): a thread id means its process. */
	struct proc_status ps;

	if (!proc_status(o.tgid, &ps) && ps.tgid > 0 && ps.tgid != o.tgid) {
		say("pid %d is a thread of process %d: tracing %d (all its threads)\n", o.tgid,
		    ps.tgid, ps.tgid);
		o.tgid = ps.tgid;
	}
	if (kill(o.tgid, 0) && errno == ESRCH) {
		fprintf(stderr, "netpollsim trace: no process %d\n", o.tgid);
		return NPS_EXIT_FAIL;
	}
	char comm[64];

	if (proc_kthread(o.tgid, comm, sizeof(comm))) {
		fprintf(
		    stderr,
		    "netpollsim trace: pid %d is a kernel thread (%s): it makes no epoll calls\n",
		    o.tgid, comm);
		return NPS_EXIT_FAIL;
	}
	if (proc_exited(o.tgid)) {
		fprintf(stderr,
			"netpollsim trace: process %d has exited (a zombie: its parent has not "
			"reaped it yet)\n",
			o.tgid);
		return NPS_EXIT_FAIL;
	}

	t.join = join_new();
	t.lm = livemerge_new(NULL, true);
	if (!t.join || !t.lm || (t.narrate && fold_init(&t.fold))) {
		fprintf(stderr, "netpollsim trace: out of memory\n");
		return NPS_EXIT_FAIL;
	}
	cli_catch_stop_signals(on_signal);
	/*
	 * The recording's file first, as run makes it: a path it cannot write is said before the
	 * probes load (and say what they found). After the stop signals are caught: a FIFO's open
	 * waits for its reader, and a Ctrl-C then ends the trace as it would later.
	 */
	if (record && (record_fd = cli_record_create("trace", record)) < 0) {
		rc = record_failed(record, record_fd);
		goto cleanup;
	}
	if (record && cli_record_is_stdout("trace", record, record_fd)) {
		close(record_fd); /* standard output's file: not this command's to remove */
		record_fd = -1;
		rc = NPS_EXIT_USAGE;
		goto cleanup;
	}

	t.origin = mono_ns();
	int err = probes_open(&o, &p, why, sizeof(why));
	if (err) {
		fprintf(stderr, "netpollsim trace: kernel view unavailable: %s\n", why);
		goto cleanup;
	}
	/*
	 * Time 0 is when the probes began tracing (no event is older), not before their load (a
	 * quarter of a second earlier): the times shown, the recording's and the summary's span
	 * (attach to stop) then agree.
	 */
	struct probes_stats at;
	probes_stats(p, &at);
	t.origin = at.attach_ns;
	/* After attaching: anything registered from now on is seen by the probes as well. */
	char gover[64];
	int isgo = proc_go(o.tgid, gover, sizeof(gover)), go = brk ? 0 : isgo;

	seed_from_proc(o.tgid, go == 1, &stops, &seed);
	/* gone during the probes' load (a quarter of a second) or the reading of /proc */
	if (proc_exited(o.tgid)) {
		fprintf(stderr,
			"netpollsim trace: process %d exited while the probes attached, before "
			"tracing began: nothing to trace\n",
			o.tgid);
		rc = NPS_EXIT_FAIL;
		goto cleanup;
	}
	t.seed = &seed;
	t.seed_ts = t.origin;
	t.pid = o.tgid;
	t.prog_go = isgo;
	t.p = p;
	/* Always said: without /proc, ready entries of fds registered before show as fd ?. */
	if (seed.problem[0])
		say("warning: %s: the interest set at attach, and the fds of ready entries "
		    "registered before it, are unknown\n",
		    seed.problem);
	if (go == 1 && seed.candidates == 1) {
		brd = seed.break_rd;
		bwr = seed.break_wr;
	}
	int berr = brd >= 0 ? probes_set_break_fds(p, brd, bwr) : 0;
	bool break_on = brd >= 0 && !berr;
	break_rd_shown = break_on ? brd : -1;

	/* what runs there: its program, and for Go its version and GOMAXPROCS */
	char exe[512];
	bool gmp_rt = false;
	int gmp = isgo == 1 ? proc_gomaxprocs(o.tgid, &gmp_rt) : 1;

	proc_exe(o.tgid, exe, sizeof(exe));
	if (!t.quiet && isgo == 1)
		say("pid %d runs %s (%s, GOMAXPROCS %d %s)\n", o.tgid, exe[0] ? exe : "?", gover,
		    gmp, gmp_rt ? "read from runtime.gomaxprocs" : "from its environment or CPUs");
	else if (!t.quiet)
		say("pid %d runs %s\n", o.tgid, exe[0] ? exe : "?");
	if (!t.quiet)
		print_break(o.tgid, go, &seed, brk ? "--break" : NULL, brd, bwr, berr);
	if (record) {
		/*
		 * What is known of the program at attach, nothing more (docs/trace-format.md): the
		 * Go version in its build info, "none" for a program that is not Go, "unknown" when
		 * its executable cannot be read; GOMAXPROCS is a Go program's only, and the reader
		 * requires the field: 1 otherwise, which the "go" field says means nothing.
		 */
		struct trace_header h = {
		    .scenario = "trace",
		    .gomaxprocs = gmp,
		    .go_version = isgo == 1   ? gover
				  : isgo == 0 ? "none"
					      : "unknown",
		    .kernel_view = 1,
		    .mono_origin = t.origin,
		    .exe = exe[0] ? exe : NULL,
		    .gomaxprocs_from = isgo != 1 ? NULL
				       : gmp_rt	 ? "runtime"
						 : "environment",
		};
		struct timespec wall;
		char opts[64];

		snprintf(opts, sizeof(opts), "{\"pid\": %d}", o.tgid);
		h.options_json = opts;
		clock_gettime(CLOCK_REALTIME, &wall);
		h.wall_start_ns = (int64_t)wall.tv_sec * 1000000000LL + wall.tv_nsec -
				  (int64_t)(mono_ns() - t.origin);
		err = trace_writer_open_created(record_fd, &h, &t.w);
		record_fd = -1; /* the writer's now, even when it failed */
		if (err) {
			rc = record_failed(record, err);
			goto cleanup;
		}
		trace_writer_set_patience(t.w, record_patience, NULL);
	}
	/* Always said, -q or not: scripts wait for this line to know the probes are attached. */
	struct probes_stats st;

	probes_stats(p, &st);
	say("tracing pid %d: epoll_create1, epoll_create, epoll_ctl, epoll_wait, epoll_pwait%s%s; "
	    "Ctrl-C to "
	    "stop\n",
	    o.tgid, st.pwait2 ? ", epoll_pwait2" : "", break_on ? " and the break pipe" : "");
	if (!t.quiet)
		print_interest(seed.reg, seed.nreg,
			       seed.problem[0]
				   ? "interest set at attach (from /proc fdinfo, incomplete)"
				   : "interest set at attach (from /proc fdinfo)");
	if (!t.quiet && !seed.problem[0])
		say_descendants(o.tgid, true, seed_has_epoll(&seed));
	if (!t.quiet)
		say_waits_now(&t, false);
	fflush(human);

	/* The trace's time span: from the probes' start (st.attach_ns) to their stop. */
	uint64_t deadline = duration > 0 ? st.attach_ns + (uint64_t)(duration * 1e9) : 0;
	trace_end_ns = deadline;
	while (!stop_sig) {
		uint64_t now = mono_ns();
		int timeout = 100; /* ms; shorter when the deadline is nearer */

		if (deadline && now >= deadline)
			break;
		if (deadline && deadline - now < 100000000)
			timeout = (int)((deadline - now + 999999) / 1000000);
		err = probes_poll(p, timeout, on_kernel, &t);
		if (err < 0) {
			fprintf(stderr, "netpollsim trace: reading the ring buffer: %s\n",
				strerror(-err));
			goto cleanup;
		}
		cli_term_refit(human_out.fd, &human_width); /* what follows fits a new window */
		deliver(&t, p, false);
		/*
		 * The recording gets what was delivered before the narration shows it (as run does
		 * every 2 ms): a SIGKILL then leaves every event shown, up to its last whole line,
		 * not just the header (the writer's own flush waits for 512 KiB).
		 */
		if (t.w && !t.werr)
			t.werr = trace_writer_flush_bulk(t.w);
		if (t.werr) {
			rc = record_failed(record, t.werr);
			goto cleanup;
		}
		if (!t.quiet)
			fflush(human);
		/* nothing to write may come for long: look, as run's narration does (cli/out.c) */
		if (reader_gone(human_out.fd)) {
			stop_sig = SIGPIPE;
			rc = 128 + SIGPIPE;
			goto cleanup; /* the recording still gets its footer */
		}
		/* its exit event (with its status), or /proc when that was lost */
		if (t.exit_seen || proc_exited(o.tgid)) {
			exited = true; /* said after its last events, delivered below */
			break;
		}
	}
	/*
	 * Every probe stops at once, before the slow detach: no wait's exit is left without its
	 * entry and nothing is stamped after the stop, so the trace ends where it was asked to.
	 */
	probes_detach(p);
	probes_poll(p, 0, on_kernel, &t);
	cli_term_refit(human_out.fd, &human_width);
	deliver(&t, p, true);
	if (exited && t.exit_seen) { /* the summary's first line: said under -q too */
		char how[64], at[32];
		say("process %d %s at %s s%s\n", o.tgid,
		    narrate_exit_status(&t.exit_ev, how, sizeof(how)),
		    narrate_time((int64_t)(t.exit_ev.ts - t.origin), false, at, sizeof(at)),
		    go_exit_hint(&t.exit_ev, t.prog_go));
	} else if (exited && !t.quiet) {
		say("process %d exited\n", o.tgid);
	}
	if (t.narrate) {
		/* what the end leaves owed, as a replay of the recording judges it */
		struct fold_verdict v[8];
		int n;
		do
			say_verdicts(v, n = fold_end(&t.fold, v, 8));
		while (n == 8);
	}

	if (!exited) /* where the events stop: what it is waiting in, that no probe shows */
		say_waits_now(&t, true);
	print_interest_now(t.join, exited ? "interest set as it exited (rebuilt from epoll_ctl)"
					  : "interest set (rebuilt from epoll_ctl)");
	if (!exited)
		say_gone_unseen(o.tgid, t.join, lost_so_far(p), t.prog_go == 1);
	print_summary(&t, p, o.verbose, exited);
	/* Ctrl-C or SIGTERM is the normal end of a trace without --duration (cli/cli.h). */
	rc = stop_sig ? 128 + stop_sig : NPS_EXIT_OK;

cleanup:
	/* made, but the trace ended before its header: no empty file left behind */
	if (record_fd >= 0 && record_fd != STDOUT_FILENO) {
		struct stat rs;
		if (!fstat(record_fd, &rs) && S_ISREG(rs.st_mode) && !rs.st_size)
			unlink(record);
		close(record_fd);
	}
	if (t.w) {
		struct probes_stats st;
		struct trace_footer f = {
		    .interrupted = stop_sig,
		    .story = trace_story(&o, exited, t.exit_seen ? &t.exit_ev : NULL, t.prog_go)};
		struct timespec wall;

		probes_stats(p, &st);
		clock_gettime(CLOCK_REALTIME, &wall);
		/* when the probes stopped, not now: the detach after it takes tens of ms */
		uint64_t now = mono_ns();
		f.wall_end_ns = (int64_t)wall.tv_sec * 1000000000LL + wall.tv_nsec -
				(st.stop_ns && st.stop_ns < now ? (int64_t)(now - st.stop_ns) : 0);
		f.lost_kernel = st.lost;
		err = trace_writer_close(t.w, &f);
		if (err && rc != NPS_EXIT_FAIL)
			rc = record_failed(record, err);
		if (!err && rc != NPS_EXIT_FAIL)
			say("recorded: %s\n", record);
	}
	probes_close(p);
	join_free(t.join);
	livemerge_free(t.lm);
	seed_free(&seed);
	seed_free(&t.exec_seed);
	free(t.rets);
	if (t.narrate)
		fold_fini(&t.fold);
	return human_close(rc);
}
