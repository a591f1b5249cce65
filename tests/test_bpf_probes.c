// SPDX-License-Identifier: MIT
/*
 * The BPF probes against a real process making real epoll calls (tests/epoll_workload.c): every
 * field of every kernel event must match what the program says it did, and a deliberately tiny
 * ring buffer must lose events and count the loss exactly (delivered + lost = produced). As a
 * normal user these tests say "skipped: needs root" and are skipped.
 */
#include "bpf/probes.h"
#include "tests/testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct evvec {
	struct nps_event *v;
	size_t n, cap;
};

static void collect(void *ctx, const struct nps_event *e)
{
	struct evvec *vec = ctx;

	if (vec->n == vec->cap) {
		vec->cap = vec->cap ? vec->cap * 2 : 1024;
		vec->v = realloc(vec->v, vec->cap * sizeof(*vec->v));
		cr_assert_not_null(vec->v);
	}
	vec->v[vec->n++] = *e;
}

/* A workload started stopped (-s): its pid and the file its log goes to. */
struct workload {
	pid_t pid;
	char log[256];
};

/* The running workload, killed by kill_workload() even when an assertion fails. */
static pid_t workload_pid;

static void kill_workload(void)
{
	if (workload_pid > 0 && kill(workload_pid, SIGKILL) == 0)
		waitpid(workload_pid, NULL, 0);
	workload_pid = 0;
}

TestSuite(bpf_probes, .fini = kill_workload);

/* Start epoll_workload with args after "-s"; returns when it has stopped itself. */
static void workload_start(struct workload *w, const char *name, char *const args[])
{
	char path[512];
	char *argv[16] = {path, "-s"};
	int status, i = 2;

	snprintf(path, sizeof(path), "%s/tests/epoll_workload", tu_build_dir());
	snprintf(w->log, sizeof(w->log), "%s/%s.%d.log", tu_tmpdir(), name, (int)getpid());
	for (; args[i - 2] && i < 15; i++)
		argv[i] = args[i - 2];
	argv[i] = NULL;
	w->pid = workload_pid = fork();
	cr_assert_geq(w->pid, 0, "fork: %s", strerror(errno));
	if (w->pid == 0) {
		int fd = open(w->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		execv(path, argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(w->pid, &status, WUNTRACED), w->pid);
	cr_assert(WIFSTOPPED(status), "%s did not stop itself (status 0x%x; built? %s)", path,
		  status, path);
}

/* Attach the probes to the stopped workload (ring_bytes 0: default); kill it if that fails. */
static struct probes *workload_probes(const struct workload *w, size_t ring_bytes)
{
	struct probes_opts o = {.tgid = w->pid, .ring_bytes = ring_bytes};
	struct probes *p = NULL;
	char why[512];
	int err = probes_open(&o, &p, why, sizeof(why));

	if (err)
		kill(w->pid, SIGKILL);
	cr_assert_eq(err, 0, "probes_open: %s", why);
	return p;
}

/* Continue the workload and collect events until it exits or stops again; 1 if it stopped. */
static int workload_run(struct workload *w, struct probes *p, struct evvec *vec)
{
	int status;

	cr_assert_eq(kill(w->pid, SIGCONT), 0);
	for (;;) {
		int r = probes_poll(p, 20, collect, vec);

		cr_assert_geq(r, 0, "probes_poll: %s", strerror(-r));
		pid_t q = waitpid(w->pid, &status, WNOHANG | WUNTRACED);

		cr_assert_geq(q, 0);
		if (q == 0)
			continue;
		if (WIFSTOPPED(status))
			return 1;
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "workload failed: status 0x%x (log %s)", status, w->log);
		return 0;
	}
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_geq(getdelim(&buf, &len, '\0', f), 0);
	fclose(f);
	return buf;
}

/* The events the workload's log says the kernel must have seen, in order. */
/* The epoll_create event the workload's "create ..." log line says it made. */
static void expect_create(struct nps_event *e, uint8_t sub, int flags, int size, int ret)
{
	e->kind = NPS_EV_EPOLL_CREATE;
	e->sub = sub;
	e->u.create.flags = flags;
	e->u.create.size = size;
	e->u.create.ret = ret;
}

/* The epoll_ctl event the workload's "ctl ..." log line says it made. */
static void expect_ctl(struct nps_event *e, uint8_t sub, int epfd, int op, int fd, uint32_t events,
		       uint64_t data, int ret)
{
	e->kind = NPS_EV_EPOLL_CTL;
	e->sub = sub;
	e->fd = fd;
	e->u.ctl.epfd = epfd;
	e->u.ctl.op = op;
	e->u.ctl.events = events;
	e->u.ctl.data = data;
	e->u.ctl.ret = ret;
}

static size_t expected_from_log(const char *log, struct nps_event *exp, size_t max, int *rd,
				int *wr, unsigned *tid)
{
	size_t n = 0;
	const char *s = log;

	while (*s) {
		struct nps_event e;
		int a, b, c, d, f, g;
		unsigned u;
		unsigned long long x;
		size_t z;

		memset(&e, 0, sizeof(e));
		e.fd = -1;
		if (sscanf(s, "pid %d tid %u", &a, tid) == 2) {
		} else if (sscanf(s, "pipe rd %d wr %d", rd, wr) == 2) {
		} else if (sscanf(s, "create flags %d ret %d", &a, &b) == 2) {
			expect_create(&e, 0, a, 0, b);
		} else if (sscanf(s, "create old size %d ret %d", &a, &b) == 2) {
			expect_create(&e, NPS_CREATE_OLD, 0, a, b);
		} else if (sscanf(s, "ctl epfd %d op %d fd %d events %u data %llu ret %d", &a, &b,
				  &c, &u, &x, &d) == 6) {
			expect_ctl(&e, 0, a, b, c, u, x, d);
		} else if (sscanf(s, "ctl epfd %d op %d fd %d unread %llu ret %d", &a, &b, &c, &x,
				  &d) == 5) {
			/* no event to read: marked, with the address passed in the data */
			expect_ctl(&e, NPS_CTL_UNREAD, a, b, c, 0, x, d);
		} else if (sscanf(s, "wait sub %d epfd %d maxevents %d timeout %d ret %d", &a, &b,
				  &c, &d, &f) == 5) {
			e.kind = NPS_EV_EPOLL_WAIT;
			e.sub = (nps_u8)a;
			e.u.wait.epfd = b;
			e.u.wait.maxevents = c;
			e.u.wait.timeout_ms = d;
			e.u.wait.ret = f;
		} else if (sscanf(s, "ready index %d events %u data %llu", &a, &u, &x) == 3) {
			cr_assert(n > 0);
			e.kind = NPS_EV_EPOLL_READY;
			e.u.ready.index = (nps_u32)a;
			e.u.ready.events = u;
			e.u.ready.data = x;
			for (g = (int)n - 1; g >= 0 && exp[g].kind != NPS_EV_EPOLL_WAIT; g--)
				;
			cr_assert_geq(g, 0);
			e.u.ready.epfd = exp[g].u.wait.epfd;
		} else if (sscanf(s, "write fd %d count %zu ret %d", &a, &z, &b) == 3 ||
			   sscanf(s, "read fd %d count %zu ret %d", &a, &z, &b) == 3) {
			/* Only the break pipe's ends are traced (write on wr, read on rd). */
			if (a == (s[0] == 'w' ? *wr : *rd))
				e.kind = NPS_EV_SYSCALL;
			e.fd = a;
			e.u.sys.count = z;
			e.u.sys.ret = b;
			e.u.sys.op = s[0] == 'w' ? NPS_SYS_WRITE : NPS_SYS_READ;
			e.u.sys.fn = s[0] == 'w' ? NPS_FN_NETPOLLBREAK : NPS_FN_NETPOLL;
		}
		if (e.kind) {
			cr_assert_lt(n, max);
			exp[n++] = e;
		}
		s = strchr(s, '\n');
		if (!s)
			break;
		s++;
	}
	return n;
}

static uint64_t hits(const struct probes_stats *st, const char *tp)
{
	for (int i = 0; i < PROBES_NPROBES; i++)
		if (probes_probe_name(i) && !strcmp(probes_probe_name(i), tp))
			return st->hits[i];
	cr_assert_fail("no probe on %s", tp);
	return 0;
}

static const char *kname(unsigned k)
{
	switch (k) {
	case NPS_EV_EPOLL_CTL:
		return "epoll_ctl";
	case NPS_EV_EPOLL_WAIT:
		return "epoll_wait";
	case NPS_EV_EPOLL_READY:
		return "epoll_ready";
	case NPS_EV_EPOLL_CREATE:
		return "epoll_create";
	case NPS_EV_SYSCALL:
		return "syscall";
	case NPS_EV_LOST:
		return "lost";
	}
	return "?";
}

Test(bpf_probes, every_field_of_every_event, .timeout = 60)
{
	static struct nps_event exp[4096];
	struct probes_stats st;
	struct evvec got = {0};
	struct workload w;
	struct probes *p;
	int rd = -1, wr = -1;
	unsigned tid = 0;

	NEED_ROOT();
	workload_start(&w, "demo", (char *[]){"demo", NULL});
	char *log0 = slurp(w.log);
	expected_from_log(log0, exp, 4096, &rd, &wr, &tid);
	free(log0);
	cr_assert(rd >= 0 && wr >= 0, "no pipe line in %s", w.log);

	p = workload_probes(&w, 0);
	cr_assert_eq(probes_set_break_fds(p, rd, wr), 0);
	cr_assert_eq(workload_run(&w, p, &got), 0);
	cr_assert_eq(probes_detach(p), 0);
	cr_assert_geq(probes_poll(p, 0, collect, &got), 0);
	probes_stats(p, &st);
	probes_close(p);

	char *log = slurp(w.log);
	size_t nexp = expected_from_log(log, exp, 4096, &rd, &wr, &tid);
	/* and last, its end: main returned 0, the one thread left (sched_process_exit) */
	exp[nexp++] = (struct nps_event){.kind = NPS_EV_EXIT,
					 .src = NPS_SRC_KERNEL,
					 .tid = tid,
					 .fd = -1,
					 .m = -1,
					 .p = -1,
					 .u.exit.code = 0};

	/* The workload did what this test relies on. */
	int big = 0, huge = 0, efault = 0, pwait2_1250 = 0, pwait2_round = 0, pwait2_inval = 0;
	int pwait2_null = 0;
	int del = 0, bad = 0, unread = 0;
	for (size_t i = 0; i < nexp; i++) {
		const struct nps_event *e = &exp[i];

		if (e->kind == NPS_EV_EPOLL_WAIT) {
			big += e->u.wait.ret > 16 && e->u.wait.ret < 128;
			huge += e->u.wait.ret > 2 * 128;
			efault += e->u.wait.ret == -EFAULT;
			pwait2_1250 +=
			    e->sub == NPS_WAIT_EPOLL_PWAIT2 && e->u.wait.timeout_ms == 1250;
			pwait2_round +=
			    e->sub == NPS_WAIT_EPOLL_PWAIT2 && e->u.wait.timeout_ms == 1;
			/* {-1, 0}: EINVAL, and not "block" (-1) */
			pwait2_inval += e->sub == NPS_WAIT_EPOLL_PWAIT2 &&
					e->u.wait.timeout_ms == NPS_WAIT_TIMEOUT_INVALID &&
					e->u.wait.ret == -EINVAL;
			/* a NULL timespec blocks: -1, as epoll_wait's */
			pwait2_null +=
			    e->sub == NPS_WAIT_EPOLL_PWAIT2 && e->u.wait.timeout_ms == -1;
		}
		if (e->kind == NPS_EV_EPOLL_CTL) {
			del += e->u.ctl.op == NPS_EPOLL_CTL_DEL;
			bad += e->u.ctl.ret == -EBADF;
			unread += e->sub == NPS_CTL_UNREAD && e->u.ctl.ret == -EFAULT;
		}
	}
	cr_assert(big && huge && efault && pwait2_1250 && pwait2_round && pwait2_inval &&
		      pwait2_null && del && bad && unread == 2,
		  "workload log %s lacks a case: big %d huge %d efault %d pwait2 %d/%d/%d/%d del "
		  "%d bad %d unread %d",
		  w.log, big, huge, efault, pwait2_1250, pwait2_round, pwait2_inval, pwait2_null,
		  del, bad, unread);

	cr_assert_eq(st.lost, 0, "lost %llu events at the default ring size",
		     (unsigned long long)st.lost);
	uint64_t last_wait_id = 0, last_wait_ts = 0, prev_ts = 0, ndur0 = 0, nsys = 0;
	uint64_t old_creates = 0;
	for (size_t i = 0; i < nexp && i < got.n; i++) {
		const struct nps_event *e = &got.v[i], *x = &exp[i];

		cr_assert_eq(e->kind, x->kind, "event %zu: %s, expected %s", i, kname(e->kind),
			     kname(x->kind));
		cr_assert_eq(e->src, NPS_SRC_KERNEL, "event %zu: src", i);
		cr_assert_eq(e->tid, tid, "event %zu: tid %u, expected %u", i, e->tid, tid);
		cr_assert_eq(e->m, -1, "event %zu: m", i);
		cr_assert_eq(e->p, -1, "event %zu: p", i);
		cr_assert_eq(e->g, 0, "event %zu: g", i);
		cr_assert_eq(e->fd, x->fd, "event %zu (%s): fd %d, expected %d", i, kname(e->kind),
			     e->fd, x->fd);
		cr_assert_eq(e->sub, x->sub, "event %zu: sub", i);
		cr_assert_geq(e->ts, prev_ts, "event %zu: ts goes back", i);
		prev_ts = e->ts;
		switch (e->kind) {
		case NPS_EV_EPOLL_CREATE:
			cr_assert_eq(e->u.create.flags, x->u.create.flags, "event %zu: flags", i);
			cr_assert_eq(e->u.create.size, x->u.create.size, "event %zu: size", i);
			cr_assert_eq(e->u.create.ret, x->u.create.ret, "event %zu: ret", i);
			old_creates += e->sub == NPS_CREATE_OLD;
			break;
		case NPS_EV_EPOLL_CTL:
			cr_assert_eq(e->u.ctl.epfd, x->u.ctl.epfd, "event %zu: epfd", i);
			cr_assert_eq(e->u.ctl.op, x->u.ctl.op, "event %zu: op", i);
			cr_assert_eq(e->u.ctl.events, x->u.ctl.events,
				     "event %zu: events 0x%x/0x%x", i, e->u.ctl.events,
				     x->u.ctl.events);
			cr_assert_eq(e->u.ctl.data, x->u.ctl.data, "event %zu: data 0x%llx/0x%llx",
				     i, (unsigned long long)e->u.ctl.data,
				     (unsigned long long)x->u.ctl.data);
			cr_assert_eq(e->u.ctl.ret, x->u.ctl.ret, "event %zu: ret", i);
			cr_assert_eq(e->u.ctl.pd, 0, "event %zu: pd", i);
			break;
		case NPS_EV_EPOLL_WAIT:
			cr_assert_eq(e->u.wait.epfd, x->u.wait.epfd, "event %zu: epfd", i);
			cr_assert_eq(e->u.wait.maxevents, x->u.wait.maxevents,
				     "event %zu: maxevents", i);
			cr_assert_eq(e->u.wait.timeout_ms, x->u.wait.timeout_ms,
				     "event %zu: timeout %d, expected %d", i, e->u.wait.timeout_ms,
				     x->u.wait.timeout_ms);
			cr_assert_eq(e->u.wait.ret, x->u.wait.ret, "event %zu: ret", i);
			cr_assert(e->u.wait.id & NPS_KERNEL_ID_BIT, "event %zu: id 0x%llx", i,
				  (unsigned long long)e->u.wait.id);
			cr_assert_eq(e->u.wait.id,
				     last_wait_id ? last_wait_id + 1 : (NPS_KERNEL_ID_BIT | 1),
				     "event %zu: ids are not a per-process sequence from 1", i);
			cr_assert_leq(e->u.wait.dur, e->ts, "event %zu: dur", i);
			ndur0 += e->u.wait.dur == 0;
			last_wait_id = e->u.wait.id;
			last_wait_ts = e->ts;
			break;
		case NPS_EV_EPOLL_READY:
			cr_assert_eq(e->u.ready.id, last_wait_id, "event %zu: id of its wait", i);
			cr_assert_eq(e->ts, last_wait_ts, "event %zu: ts of its wait", i);
			cr_assert_eq(e->u.ready.index, x->u.ready.index, "event %zu: index", i);
			cr_assert_eq(e->u.ready.events, x->u.ready.events, "event %zu: events", i);
			cr_assert_eq(e->u.ready.data, x->u.ready.data, "event %zu: data", i);
			cr_assert_eq(e->u.ready.epfd, x->u.ready.epfd, "event %zu: epfd", i);
			break;
		case NPS_EV_SYSCALL:
			nsys++;
			cr_assert_eq(e->u.sys.op, x->u.sys.op, "event %zu: op", i);
			cr_assert_eq(e->u.sys.count, x->u.sys.count, "event %zu: count", i);
			cr_assert_eq(e->u.sys.ret, x->u.sys.ret, "event %zu: ret", i);
			cr_assert_eq(e->u.sys.fn, x->u.sys.fn, "event %zu: fn", i);
			break;
		case NPS_EV_EXIT:
			cr_assert_eq(i, nexp - 1, "event %zu: the exit is not the last", i);
			cr_assert_eq(e->u.exit.code, 0, "event %zu: code %d", i, e->u.exit.code);
			cr_assert_eq(e->u.exit.signal, 0, "event %zu: signal", i);
			cr_assert_eq(e->u.exit.core, 0, "event %zu: core", i);
			break;
		}
	}
	cr_assert_eq(got.n, nexp, "kernel events: got %zu, the workload made %zu (log %s)", got.n,
		     nexp, w.log);
	cr_assert_eq(st.produced, nexp);
	cr_assert_eq(st.delivered, nexp);
	cr_assert_eq(st.read_fail, (uint64_t)unread, "read_fail %llu",
		     (unsigned long long)st.read_fail);
	/* Per-probe hits: every wait went through an exit probe; break pipe calls counted. */
	uint64_t wait_exits = hits(&st, "sys_exit_epoll_wait") + hits(&st, "sys_exit_epoll_pwait") +
			      hits(&st, "sys_exit_epoll_pwait2");
	cr_assert_eq(wait_exits, (uint64_t)(last_wait_id & 0xffff), "wait exits %llu",
		     (unsigned long long)wait_exits);
	cr_assert_eq(hits(&st, "sys_exit_write") + hits(&st, "sys_exit_read"), nsys);
	/* the old epoll_create, twice (size 16, and 0: EINVAL), through its own probe */
	cr_assert_eq(old_creates, 2, "old epoll_create events: %llu",
		     (unsigned long long)old_creates);
	cr_assert_eq(hits(&st, "sys_exit_epoll_create"), 2);
	/* A wait whose entry probe did not run has dur 0, and is counted as unmatched. */
	cr_assert_eq(st.unmatched, ndur0, "unmatched %llu, waits with dur 0: %llu",
		     (unsigned long long)st.unmatched, (unsigned long long)ndur0);
	cr_assert_eq(st.filtered, 0);
	/*
	 * Batched wake-ups: these few records fill far less of the ring than a forced wake-up
	 * needs, so none was forced but the exit's (the trace ends there), and every other record
	 * reached the consumer through its poll timeout: the kernel woke it once at most (a
	 * default submit wakes it for nearly every record).
	 */
	cr_assert_eq(st.wakeups, 1, "%llu forced wake-ups", (unsigned long long)st.wakeups);
	cr_assert_leq(st.woken, 1, "the consumer was woken %llu times for %llu records",
		      (unsigned long long)st.woken, (unsigned long long)st.records);
	free(log);
	free(got.v);
}

/*
 * A 4 KiB ring that nobody drains while the workload makes 2000 calls: most records are lost.
 * The workload runs on CPU 0 only, and then, after a drain, on CPU 1: its next call's record
 * carries the loss in-band as one NPS_EV_LOST, though it is made on another CPU than the loss
 * (a thread that moved on must not have its next event before the loss: check would take a
 * lost epoll_ctl for a missing one).
 */
Test(bpf_probes, tiny_ring_counts_loss_exactly, .timeout = 60)
{
	const long n = 2000, m = 3;
	const int k = 3;
	struct probes_stats st;
	struct evvec got = {0};
	struct workload w;
	struct probes *p;

	NEED_ROOT();
	workload_start(&w, "loss", (char *[]){"-c", "0", "bench", "2000", "3", "3", NULL});
	p = workload_probes(&w, 4096);
	probes_stats(p, &st);
	cr_assert_eq(st.ring_bytes, 4096);

	/* Phase 1: nobody consumes. */
	cr_assert_eq(kill(w.pid, SIGCONT), 0);
	int status;
	cr_assert_eq(waitpid(w.pid, &status, WUNTRACED), w.pid);
	cr_assert(WIFSTOPPED(status), "workload did not stop after phase 1 (log %s)", w.log);
	probes_stats(p, &st);
	cr_assert_gt(st.lost, 0, "a 4 KiB ring lost nothing");
	cr_assert_eq(st.produced, (uint64_t)n * (1 + k));
	uint64_t lost1 = st.lost;
	cr_assert_geq(probes_poll(p, 0, collect, &got), 0);
	size_t phase1 = got.n;
	for (size_t i = 0; i < phase1; i++)
		cr_assert_neq(got.v[i].kind, NPS_EV_LOST, "a LOST before any room was made");

	/* Phase 2, on the other CPU: the first record has room, and carries the loss. */
	cpu_set_t other;
	CPU_ZERO(&other);
	CPU_SET(1, &other);
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1)
		cr_assert_eq(sched_setaffinity(w.pid, sizeof(other), &other), 0, "CPU 1: %s",
			     strerror(errno));
	else
		printf("one CPU: the loss is carried from the CPU it happened on\n");
	cr_assert_eq(workload_run(&w, p, &got), 0);
	cr_assert_eq(probes_detach(p), 0);
	cr_assert_geq(probes_poll(p, 0, collect, &got), 0);
	probes_stats(p, &st);
	probes_close(p);

	uint64_t delivered = 0, lost_events = 0, nlost = 0, exits = 0;
	for (size_t i = 0; i < got.n; i++) {
		const struct nps_event *e = &got.v[i];

		if (e->kind != NPS_EV_LOST) {
			delivered++;
			exits += e->kind == NPS_EV_EXIT;
			continue;
		}
		nlost++;
		lost_events += e->u.lost.count;
		cr_assert_eq(e->src, NPS_SRC_KERNEL);
		cr_assert_eq(e->u.lost.source, NPS_SRC_KERNEL);
		cr_assert_leq(e->u.lost.since, e->ts);
		cr_assert_eq(i, phase1, "the LOST is not where room was made again");
		cr_assert_lt(i + 1, got.n);
		cr_assert_eq(got.v[i + 1].kind, NPS_EV_EPOLL_WAIT);
		cr_assert_eq(got.v[i + 1].ts, e->ts, "LOST and the record it rode in");
	}
	/* each wait and its ready entries, and the exit */
	cr_assert_eq(st.produced, (uint64_t)(n + m) * (1 + k) + 1, "produced %llu",
		     (unsigned long long)st.produced);
	cr_assert_eq(st.lost, lost1, "phase 2 lost events too");
	cr_assert_eq(st.delivered, delivered);
	cr_assert_eq(delivered + st.lost, st.produced,
		     "delivered %llu + lost %llu != produced %llu", (unsigned long long)delivered,
		     (unsigned long long)st.lost, (unsigned long long)st.produced);
	cr_assert_eq(nlost, 1, "%llu LOST events", (unsigned long long)nlost);
	cr_assert_eq(lost_events, st.lost, "LOST events say %llu, counters %llu",
		     (unsigned long long)lost_events, (unsigned long long)st.lost);
	cr_assert_eq(st.lost_reported, st.lost);
	/* Whole records only: a wait and its ready entries are delivered or lost together. */
	cr_assert_eq(exits, 1, "the exit, after the drain, had room");
	cr_assert_eq((delivered - exits) % (1 + k), 0);
	free(got.v);
}

/*
 * probes_stop() stops every probe at once, before the slow detach: nothing is stamped after the
 * stop (but by a probe already running, microseconds later), and no wait's exit is seen without
 * its entry (the workload was stopped when the probes attached).
 */
Test(bpf_probes, stop_stops_every_probe_at_once, .timeout = 60)
{
	struct probes_stats st;
	struct evvec got = {0};
	struct workload w;
	struct probes *p;

	NEED_ROOT();
	workload_start(&w, "stop", (char *[]){"bench", "1000000000", "1", NULL});
	p = workload_probes(&w, 0);
	cr_assert_eq(kill(w.pid, SIGCONT), 0);
	for (int i = 0; i < 10; i++)
		cr_assert_geq(probes_poll(p, 20, collect, &got), 0);
	probes_stop(p);
	probes_stats(p, &st);
	cr_assert_gt(st.stop_ns, st.attach_ns);
	size_t at_stop = got.n;
	usleep(100000); /* the workload goes on calling epoll_wait */
	cr_assert_eq(probes_detach(p), 0);
	cr_assert_geq(probes_poll(p, 0, collect, &got), 0);
	probes_stats(p, &st);
	probes_close(p);
	kill_workload();

	cr_assert_gt(at_stop, 100, "the busy workload made %zu events", at_stop);
	for (size_t i = 0; i < got.n; i++)
		cr_assert_leq(got.v[i].ts, st.stop_ns + 1000000,
			      "event %zu/%zu stamped %.3f ms after the stop", i, got.n,
			      (double)(got.v[i].ts - st.stop_ns) / 1e6);
	cr_assert_eq(st.unmatched, 0, "%llu returns without their entry",
		     (unsigned long long)st.unmatched);
	cr_assert_eq(st.delivered, st.produced);
	free(got.v);
}

/* Losses that no later record can carry are reported by the final drain after detach. */
Test(bpf_probes, loss_reported_after_detach, .timeout = 60)
{
	struct probes_stats st;
	struct evvec got = {0};
	struct workload w;
	struct probes *p;

	NEED_ROOT();
	workload_start(&w, "loss2", (char *[]){"bench", "500", "2", NULL});
	p = workload_probes(&w, 4096);
	cr_assert_eq(kill(w.pid, SIGCONT), 0);
	int status;
	cr_assert_eq(waitpid(w.pid, &status, 0), w.pid);
	cr_assert_eq(probes_detach(p), 0);
	cr_assert_geq(probes_poll(p, 0, collect, &got), 0);
	probes_stats(p, &st);
	probes_close(p);

	uint64_t delivered = 0, lost_events = 0;
	for (size_t i = 0; i < got.n; i++) {
		if (got.v[i].kind == NPS_EV_LOST)
			lost_events += got.v[i].u.lost.count;
		else
			delivered++;
	}
	cr_assert_eq(st.produced, 500 * 3 + 1); /* each wait and its 2 ready entries; the exit */
	cr_assert_gt(st.lost, 0);
	cr_assert_eq(got.v[got.n - 1].kind, NPS_EV_LOST, "the final report is last");
	/* stamped when the probes stopped, not after the detach that followed */
	cr_assert_leq(got.v[got.n - 1].ts, st.stop_ns + 1000000, "the final report %.3f ms late",
		      (double)(got.v[got.n - 1].ts - st.stop_ns) / 1e6);
	cr_assert_leq(got.v[got.n - 1].u.lost.since, got.v[got.n - 1].ts);
	cr_assert_eq(delivered + st.lost, st.produced);
	cr_assert_eq(lost_events, st.lost);
	free(got.v);
}

/* Tracing ourselves: the consumer's own epoll_wait is filtered in the kernel, and counted. */
Test(bpf_probes, own_consumer_is_filtered, .timeout = 60)
{
	struct probes_opts o = {0};
	struct probes_stats st;
	struct evvec got = {0};
	struct probes *p;
	char why[512];

	NEED_ROOT();
	o.tgid = getpid();
	cr_assert_eq(probes_open(&o, &p, why, sizeof(why)), 0, "probes_open: %s", why);
	cr_assert_eq(probes_drained_upto(p), 0, "a watermark before any drain");
	for (int i = 0; i < 5; i++)
		cr_assert_geq(probes_poll(p, 1, collect, &got), 0);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t upto = probes_drained_upto(p);
	cr_assert_gt(upto, 0);
	cr_assert_lt(upto, (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec);
	/* A thread excluded by tid: its epoll calls vanish too. */
	cr_assert_eq(probes_exclude_tid(p, gettid()), 0);
	int ep = epoll_create1(0);
	cr_assert_geq(ep, 0);
	struct epoll_event ev[1];
	cr_assert_eq(epoll_wait(ep, ev, 1, 0), 0);
	cr_assert_geq(probes_poll(p, 0, collect, &got), 0);
	probes_stats(p, &st);
	probes_detach(p);
	probes_close(p);
	close(ep);

	/* Criterion's own threads may use epoll: look at this thread only. */
	for (size_t i = 0; i < got.n; i++)
		cr_assert(got.v[i].tid != (unsigned)gettid() ||
			      got.v[i].kind == NPS_EV_EPOLL_CREATE,
			  "the consumer traced itself: %s event", kname(got.v[i].kind));
	cr_assert_geq(st.filtered, 6, "filtered %llu", (unsigned long long)st.filtered);
	free(got.v);
}
