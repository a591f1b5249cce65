// SPDX-License-Identifier: MIT
/*
 * Kernel and runtime agree: a scenario run with the BPF probes attached records both views of
 * the same process in one trace, and `netpollsim check` holds them against each other (every
 * netpollopen/netpollclose has its epoll_ctl, every epoll_wait return joined to the netpoll call
 * that made it lists what that call handled, every ready entry made the pollDesc change
 * netpollready must make). Here, as a user would: the echo, close and break scenarios recorded
 * with the probes pass check, with fidelity N of N in the summary and the verdict line, every
 * kernel epoll_wait linked to its netpoll call, kernel and runtime events in one time order;
 * the DEL before the close and the break pipe's write and drain seen from the kernel side. The
 * recorded sample traces/samples/echo-kernel.jsonl and a hand-made trace show the causal chain
 * told in words; --no-bpf records the runtime's view alone. The runs need root (as a normal user
 * they say "skipped: needs root").
 */
#include "tests/test_trace_util.h"
#include "traces/json.h"

/* A whole trace in memory, in file order. */
struct trace {
	struct nps_event *v;
	size_t n;
	int kernel_view;
};

static void trace_load(const char *path, struct trace *t)
{
	struct trace_reader *r = NULL;
	struct nps_event e;
	size_t cap = 0;
	int rc = trace_reader_open(path, &r);
	cr_assert_eq(rc, 0, "%s: %s", path, r ? trace_reader_error(r) : "cannot open");
	memset(t, 0, sizeof(*t));
	t->kernel_view = trace_reader_info(r)->kernel_view;
	while ((rc = trace_reader_next(r, &e)) == 1) {
		if (t->n == cap) {
			cap = cap ? cap * 2 : 1024;
			t->v = realloc(t->v, cap * sizeof(*t->v));
			cr_assert(t->v);
		}
		t->v[t->n++] = e;
	}
	cr_assert_eq(rc, 0, "%s: %s", path, trace_reader_error(r));
	trace_reader_close(r);
}

/* Index of the netpoll_begin (dir -1, searching back) or netpoll_end (dir 1) of call id. */
static long netpoll_edge(const struct trace *t, size_t from, uint64_t id, int dir)
{
	uint16_t kind = dir < 0 ? NPS_EV_NETPOLL_BEGIN : NPS_EV_NETPOLL_END;
	for (long i = (long)from; i >= 0 && (size_t)i < t->n; i += dir)
		if (t->v[i].kind == kind && t->v[i].u.netpoll.id == id)
			return i;
	return -1;
}

/*
 * What every trace recorded with the probes must show: kernel events, each kernel epoll_wait
 * joined to a netpoll call and placed inside it (after its netpoll_begin, before its
 * netpoll_end), all in one non-decreasing time order. Returns the number of kernel events.
 */
static size_t assert_joined_and_ordered(const char *name, const struct trace *t)
{
	size_t kernel = 0, waits = 0, sim = 0;
	uint64_t blocked = 0;
	cr_assert(t->kernel_view, "%s: the header says the probes did not run", name);
	for (size_t i = 0; i < t->n; i++) {
		const struct nps_event *e = &t->v[i];
		if (i)
			cr_assert_geq(e->ts, t->v[i - 1].ts, "%s: event %zu goes back in time",
				      name, i + 1);
		if (e->src != NPS_SRC_KERNEL) {
			sim++;
			continue;
		}
		kernel++;
		if (e->kind != NPS_EV_EPOLL_WAIT)
			continue;
		waits++;
		uint64_t id = e->u.wait.id;
		cr_assert_eq(id & NPS_KERNEL_ID_BIT, 0,
			     "%s: event %zu: an epoll_wait return not linked to a netpoll call",
			     name, i + 1);
		/* one stream, not two: the kernel's return sits inside the call that made it */
		long b = netpoll_edge(t, i, id, -1), end = netpoll_edge(t, i, id, 1);
		cr_assert(b >= 0 && end >= 0, "%s: event %zu: netpoll #%llu is not around it", name,
			  i + 1, (unsigned long long)id);
		cr_assert_eq(t->v[b].tid, e->tid, "%s: event %zu: another thread's netpoll", name,
			     i + 1);
		/*
		 * The blocked time the probes measured (entry to exit) lies inside the call too:
		 * the syscall began after netpoll_begin. A blocking call that waited shows it.
		 */
		cr_assert_leq(e->u.wait.dur, e->ts - t->v[b].ts,
			      "%s: event %zu: blocked %llu ns, longer than its netpoll call", name,
			      i + 1, (unsigned long long)e->u.wait.dur);
		blocked += e->u.wait.dur;
	}
	cr_assert_gt(blocked, 0, "%s: no kernel epoll_wait took any time", name);
	cr_assert_gt(kernel, 0, "%s: no kernel event", name);
	cr_assert_gt(waits, 0, "%s: no kernel epoll_wait", name);
	cr_assert_gt(sim, 0, "%s: no runtime event", name);
	return kernel;
}

/* "label N of M": N, asserting N == M >= least. */
static unsigned long all_of(const char *out, const char *label, unsigned long least)
{
	const char *p = strstr(out, label);
	unsigned long n = 0, m = 0;
	cr_assert(p, "no '%s' in\n%s", label, out);
	cr_assert_eq(sscanf(p + strlen(label), "%lu of %lu", &n, &m), 2, "%s", p);
	cr_assert_eq(n, m, "%s: %lu of %lu\n%s", label, n, m, out);
	cr_assert_geq(n, least, "%s: nothing was checked\n%s", label, out);
	return n;
}

/*
 * check FILE: legal, with every kernel/runtime comparison agreeing, and at least `ready` ready
 * events judged for fidelity.
 */
static void assert_check_agrees(const char *path, unsigned long ready)
{
	char *out;
	int rc = tt_np(&out, "check --quiet %s", path);
	cr_assert_eq(rc, 0, "%s", out);
	all_of(out, "kernel/runtime agreement: fidelity ", ready);
	all_of(out, "ready lists ", 1);
	all_of(out, "epoll_ctl ", 1);
	free(out);
}

/*
 * Run a scenario with the probes on (the default as root; skipped otherwise), recorded, and
 * load the trace into t; at least `ready` ready events must have been judged. Returns what the
 * run printed (malloc'd).
 */
static char *run_recorded(const char *scenario, const char *opts, unsigned long ready,
			  struct trace *t)
{
	char file[64], *out;
	NEED_ROOT();
	snprintf(file, sizeof(file), "%s-kernel.jsonl", scenario);
	const char *path = tt_tmp(file);
	int rc = tt_np(&out, "run --scenario %s --no-ui %s --record %s", scenario, opts, path);
	cr_assert_eq(rc, 0, "%s: exit %d\n%s", scenario, rc, out);
	cr_assert(!strstr(out, "kernel view off"), "%s: the probes did not attach\n%s", scenario,
		  out);
	/* the live summary counts the same agreement */
	all_of(out, "kernel/runtime agreement: ", ready);
	/* a scenario may wake nobody through I/O (close wakes its goroutines by closing) */
	all_of(out, "ready events produced the expected pollDesc change, ", 0);
	assert_check_agrees(path, ready);
	trace_load(path, t);
	assert_joined_and_ordered(scenario, t);
	return out;
}

Test(kernel_agree, echo_with_the_probes_agrees, .timeout = 120)
{
	struct trace t;
	/* enough round trips that some read parks and is woken through epoll, even under TSan
	 * (with the default 2 x 3, every read once found its data already there) */
	char *out = run_recorded("echo", "--narrate --clients 4 --rounds 10", 1, &t);
	/* the chain, told live: the kernel's return → the pollDesc → the goroutine runnable */
	cr_assert(strstr(out, "[kernel] epoll_pwait"), "%s", out);
	cr_assert(strstr(out, "← epoll_pwait ready[0] fd "), "%s", out);
	cr_assert(strstr(out, ": epoll_pwait returned fd "), "%s", out);
	cr_assert(strstr(out, "→ ready → G"), "%s", out);
	cr_assert_eq(tu_count_lines(out, "VIOLATION"), 0, "%s", out);
	/*
	 * The probes' own cost line: every event they produced is in the trace (each entry of a
	 * ready list counts as one), none lost, and far fewer consumer wake-ups than events: the
	 * ring buffer wakes the consumer in batches, not once per event.
	 */
	size_t kernel = 0;
	for (size_t i = 0; i < t.n; i++)
		kernel += t.v[i].src == NPS_SRC_KERNEL && t.v[i].kind != NPS_EV_LOST;
	unsigned long long produced = 0, lost = 1, wakeups = 0;
	const char *pl = strstr(out, "\nprobes: ");
	cr_assert(pl, "no probes line: %s", out);
	cr_assert_eq(
	    sscanf(pl, "\nprobes: %llu kernel events (%*[0-9]/s), %llu lost, %llu ring wake-ups",
		   &produced, &lost, &wakeups),
	    3, "%s", pl);
	cr_assert_eq(produced, kernel, "the probes made %llu events, the trace holds %zu", produced,
		     kernel);
	cr_assert_eq(lost, 0);
	cr_assert_lt(wakeups * 4, produced, "%llu wake-ups for %llu events", wakeups, produced);
	free(out);
	free(t.v);
}

/* Index of the first event at or after i of this kind, src, fd (-2: any) and tid (0: any). */
static long find(const struct trace *t, size_t i, uint16_t kind, uint8_t src, int32_t fd,
		 uint32_t tid)
{
	for (; i < t->n; i++) {
		const struct nps_event *e = &t->v[i];
		if (e->kind == kind && e->src == src && (fd == -2 || e->fd == fd) &&
		    (!tid || e->tid == tid))
			return (long)i;
	}
	return -1;
}

Test(kernel_agree, close_shows_the_del_before_the_close, .timeout = 120)
{
	struct trace t;
	/* its goroutines are woken by the close: epoll may report no readiness at all */
	free(run_recorded("close", "", 0, &t));
	int closes = 0;
	for (long i = 0; (i = find(&t, (size_t)i, NPS_EV_NETPOLLCLOSE, NPS_SRC_SIM, -2, 0)) >= 0;
	     i++) {
		const struct nps_event *c = &t.v[i];
		long del = find(&t, (size_t)i + 1, NPS_EV_EPOLL_CTL, NPS_SRC_KERNEL, c->fd, c->tid);
		long cl = find(&t, (size_t)i + 1, NPS_EV_SYSCALL, NPS_SRC_SIM, c->fd, c->tid);
		cr_assert_geq(del, 0, "netpollclose of fd %d: no kernel epoll_ctl", c->fd);
		cr_assert_eq(t.v[del].u.ctl.op, NPS_EPOLL_CTL_DEL);
		cr_assert_eq(t.v[del].u.ctl.ret, 0);
		cr_assert_geq(cl, 0, "fd %d is never closed", c->fd);
		cr_assert_eq(t.v[cl].u.sys.op, NPS_SYS_CLOSE);
		cr_assert_lt(del, cl, "fd %d: the kernel's DEL comes after close(2)", c->fd);
		closes++;
	}
	cr_assert_geq(closes, 2, "only %d netpollclose", closes);
	free(t.v);
}

Test(kernel_agree, break_pipe_write_and_drain_seen_from_the_kernel, .timeout = 120)
{
	struct trace t;
	free(run_recorded("break", "", 0, &t));
	long init = find(&t, 0, NPS_EV_NETPOLLINIT, NPS_SRC_SIM, -2, 0);
	cr_assert_geq(init, 0);
	int32_t rd = t.v[init].u.init.break_rd, wr = t.v[init].u.init.break_wr;
	/* netpollBreak's write(2), as the kernel saw it */
	long w = find(&t, 0, NPS_EV_SYSCALL, NPS_SRC_KERNEL, wr, 0);
	cr_assert_geq(w, 0, "no kernel write on the break pipe (fd %d)", wr);
	cr_assert_eq(t.v[w].u.sys.op, NPS_SYS_WRITE);
	cr_assert_eq(t.v[w].u.sys.ret, 1);
	cr_assert_geq(find(&t, 0, NPS_EV_NETPOLL_BREAK, NPS_SRC_SIM, -2, t.v[w].tid), 0);
	/* the blocking poll that drains it: its read(2) between the break-drain and the drain */
	int drains = 0;
	for (long r = 0; (r = find(&t, (size_t)r, NPS_EV_SYSCALL, NPS_SRC_KERNEL, rd, 0)) >= 0;
	     r++) {
		cr_assert_eq(t.v[r].u.sys.op, NPS_SYS_READ);
		cr_assert_geq(t.v[r].u.sys.ret, 1);
		long d = find(&t, (size_t)r + 1, NPS_EV_NETPOLL_DRAIN, NPS_SRC_SIM, rd, t.v[r].tid);
		cr_assert_geq(d, 0, "the kernel's read of the break pipe has no netpoll drain");
		cr_assert_eq(t.v[d].u.brk.ret, t.v[r].u.sys.ret);
		drains++;
	}
	cr_assert_geq(drains, 1, "no kernel read on the break pipe (fd %d)", rd);
	free(t.v);
}

/*
 * The echo scenario ends within milliseconds: the break pipe's probes must be attached before
 * the runtime can use the pipe (in netpollinit), not when the consumer gets to the netpollinit
 * event, so that every netpollBreak write of the run is seen from the kernel side too.
 */
Test(kernel_agree, every_break_write_of_a_short_run_is_seen, .timeout = 120)
{
	struct trace t;
	char *out = run_recorded("echo", "--narrate", 1, &t);
	unsigned long long breaks = 0;
	const char *s = strstr(out, "netpollBreak write");
	cr_assert(s, "no runtime summary:\n%s", out);
	while (s > out && s[-1] != ',')
		s--;
	cr_assert_eq(sscanf(s, " %llu netpollBreak write", &breaks), 1, "%.60s", s);
	free(out);
	long init = find(&t, 0, NPS_EV_NETPOLLINIT, NPS_SRC_SIM, -2, 0);
	cr_assert_geq(init, 0);
	int32_t wr = t.v[init].u.init.break_wr;
	unsigned long long wrote = 0, kernel = 0;
	for (size_t i = 0; i < t.n; i++) {
		const struct nps_event *e = &t.v[i];
		wrote += e->src == NPS_SRC_SIM && e->kind == NPS_EV_NETPOLL_BREAK &&
			 e->u.brk.result == NPS_BRK_WROTE;
		kernel += e->src == NPS_SRC_KERNEL && e->kind == NPS_EV_SYSCALL && e->fd == wr &&
			  e->u.sys.op == NPS_SYS_WRITE;
	}
	cr_assert_eq(wrote, breaks, "the summary says %llu writes, the trace %llu", breaks, wrote);
	cr_assert_gt(wrote, 0, "the echo run made no netpollBreak write");
	cr_assert_eq(kernel, wrote, "the kernel saw %llu of the %llu netpollBreak writes", kernel,
		     wrote);
	free(t.v);
}

/*
 * --no-bpf turns the probes off even for root, who gets them by default: the recording says so
 * in its header and holds the runtime's events alone, the run prints no probes line and no
 * reason line (nothing went wrong), and check judges no agreement.
 */
Test(kernel_agree, no_bpf_records_the_runtime_view_alone, .timeout = 120)
{
	struct trace t;
	char *out;
	NEED_ROOT();
	const char *path = tt_tmp("echo-nobpf.jsonl");
	int rc = tt_np(&out, "run --scenario echo --no-ui --no-bpf --record %s", path);
	cr_assert_eq(rc, 0, "exit %d\n%s", rc, out);
	cr_assert(!strstr(out, "\nprobes: "), "the probes ran:\n%s", out);
	cr_assert(!strstr(out, "kernel view off"), "%s", out);
	cr_assert(!strstr(out, "kernel/runtime agreement"), "%s", out);
	free(out);
	trace_load(path, &t);
	cr_assert_not(t.kernel_view, "the header says the probes ran");
	cr_assert_gt(t.n, 0);
	for (size_t i = 0; i < t.n; i++)
		cr_assert_neq(t.v[i].src, NPS_SRC_KERNEL, "event %zu is the kernel's", i + 1);
	free(t.v);
	rc = tt_np(&out, "check %s", path);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(!strstr(out, "kernel/runtime agreement"), "%s", out);
	free(out);
}

/*
 * In a pid namespace (a container) the pids netpollsim knows are the namespace's, not the
 * ones the kernel's helpers give: the probes still follow the run (they used to see nothing,
 * and the summary said "0 kernel events").
 */
Test(kernel_agree, a_run_in_a_pid_namespace_is_seen_by_the_probes, .timeout = 120)
{
	struct trace t;
	char cmd[1024], *out;
	NEED_ROOT();
	const char *path = tt_tmp("pidns.jsonl");
	snprintf(cmd, sizeof(cmd),
		 "unshare --pid --fork --mount-proc %s run --scenario deadline --no-ui --record %s "
		 "2>&1",
		 tu_netpollsim(), path);
	int rc = tu_run(cmd, 0, &out);
	cr_assert_eq(rc, 0, "exit %d\n%s", rc, out);
	all_of(out, "kernel/runtime agreement: ", 1);
	free(out);
	assert_check_agrees(path, 1);
	trace_load(path, &t);
	assert_joined_and_ordered("deadline in a pid namespace", &t);
	free(t.v);
}

/* ---- without root: what was recorded with the probes ---- */

Test(kernel_agree, the_kernel_sample_agrees, .timeout = 60)
{
	const char *path = "traces/samples/echo-kernel.jsonl";
	struct trace t;
	assert_check_agrees(path, 1);
	trace_load(path, &t);
	assert_joined_and_ordered(path, &t);
	free(t.v);
	char *out;
	int rc = tt_np(&out, "replay %s --no-ui --narrate", path);
	cr_assert_eq(rc, 0, "%s", out);
	all_of(out, "kernel/runtime agreement: ", 1);
	cr_assert(strstr(out, "→ ready → G"), "no causal chain told in\n%s", out);
	cr_assert(strstr(out, "[kernel] epoll_pwait           ready[0]: fd "), "%s", out);
	free(out);
}

Test(kernel_agree, the_chain_is_told_in_words, .timeout = 30)
{
	char *out;
	int rc = tt_np(&out, "replay " TRACES "/legal_kernel_agree.jsonl --no-ui --narrate");
	cr_assert_eq(rc, 0, "%s", out);
	static const char *const story[] = {
	    "[kernel] epoll_pwait         epoll_pwait(epfd 3, 128, -1: no timeout) returned -EINTR "
	    "(blocked "
	    "time unknown) (netpoll #2 on M0)",
	    "[kernel] epoll_pwait         epoll_pwait(epfd 3, 128, -1: no timeout) returned 2 "
	    "after 500.0 us (netpoll #2 on M0)",
	    "[kernel] epoll_pwait           ready[0]: fd 7 EPOLLIN (data 0x7f00000010000001)",
	    "netpollready                 rg G5 → pdReady (G5 ready: I/O) ← epoll_pwait ready[0] "
	    "fd "
	    "7 IN",
	    /* a side already pdReady: netpollready changes nothing there, and says why no line */
	    "netpoll #2: fd 8 EPOLLIN|EPOLLOUT → read+write ready (wg already pdReady: "
	    "netpollready leaves it as it is)\n",
	    "netpollready                 rg pdNil → pdReady (readiness kept for the next read) ← "
	    "epoll_pwait ready[1] fd 8 IN|OUT",
	    "findRunnable                 G5 waiting → runnable (runs next on this M): epoll_pwait "
	    "returned fd 7 IN → pd fd 7 rg: G5 → ready → G5 runnable on P0",
	    /* the break pipe as the kernel saw it: how often the poller was woken early */
	    "  kernel: 7 epoll waits seen by the probes, 1 fd in the interest set (the break "
	    "pipe), "
	    "1 write to the "
	    "break pipe (netpollBreak) and 1 read (netpoll's drain)\n",
	    "kernel/runtime agreement: 3 of 3 ready events produced the expected pollDesc change",
	};
	TT_IN_ORDER(out, story);
	cr_assert(tt_terminal_safe(out, strlen(out)));
	free(out);
}

/*
 * An epoll_ctl whose event the probe could not read back (sub NPS_CTL_UNREAD: events 0, data
 * the address passed) is narrated as such, not as a mask and data the program never passed,
 * and its mask and data are not judged against netpollopen's: the rest of the call still is.
 */
Test(kernel_agree, an_unreadable_ctl_event_is_not_judged, .timeout = 30)
{
	static const char *const says[][2] = {
	    {"check", "epoll_ctl 5 of 5"},
	    {"replay --no-ui --narrate",
	     "[kernel] epoll_ctl           epoll_ctl(epfd 3, ADD, fd 7, "
	     "event at 0x7ffc12345670 unreadable) = 0\n"},
	    {"export --format chrome -o -",
	     "\"args\":{\"epfd\":3,\"event\":\"unreadable at 0x7ffc12345670\",\"ret\":0}"},
	};
	for (size_t i = 0; i < sizeof(says) / sizeof(says[0]); i++) {
		char *out;
		int rc = tt_np(&out, "%s " TRACES "/legal_kernel_unread.jsonl", says[i][0]);
		cr_assert_eq(rc, 0, "%s: %s", says[i][0], out);
		cr_assert(strstr(out, says[i][1]), "%s: no '%s' in\n%.3000s", says[i][0],
			  says[i][1], out);
		free(out);
	}
}
