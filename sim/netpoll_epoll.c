// SPDX-License-Identifier: MIT
/*
 * The epoll back-end of the network poller. Go: runtime/netpoll_epoll.go (1.22): netpollinit
 * (epoll_create1(EPOLL_CLOEXEC) and a non-blocking pipe whose read end is registered
 * level-triggered), netpollopen (EPOLL_CTL_ADD with EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET and the
 * tagged pointer pd+fdseq as data), netpollclose (EPOLL_CTL_DEL), netpollBreak and netpoll(delay)
 * with its delay -> waitms mapping, 128-event buffer, EINTR rule, break-pipe drain, fdseq check
 * and event -> mode mapping. Same syscalls with the same flags as Go's.
 */
#include "sim/runtime.h"
#include "sim/sim.h"
#include "sim/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

int32_t epfd = -1;			  /* epoll descriptor */
uintptr_t netpollBreakRd, netpollBreakWr; /* for netpollBreak */
_Atomic uint32_t netpollWakeSig;	  /* used to avoid duplicate calls of netpollBreak */
static _Atomic uint64_t netpoll_calls, netpoll_breaks;
static void (*netpollinit_hook)(int epfd, int break_rd, int break_wr);

void sim_set_netpollinit_hook(void (*hook)(int epfd, int break_rd, int break_wr))
{
	netpollinit_hook = hook;
}

_Static_assert(sizeof(struct epoll_event) == 12, "x86-64 epoll_event is packed: 12 bytes");

/* Go's taggedPointerPack / pointer / tag for amd64 (runtime/tagptr_64bit.go). */
uint64_t taggedPointerPack(void *ptr, uintptr_t tag)
{
	return ((uint64_t)(uintptr_t)ptr << (64 - addrBits)) |
	       ((uint64_t)tag & ((1ULL << taggedPointerBits) - 1));
}

static void *taggedPointer_pointer(uint64_t tp)
{
	/* Arithmetic shift, to sign-extend addresses above the VA hole. */
	return (void *)(uintptr_t)(((int64_t)tp >> taggedPointerBits) << 3);
}

static uintptr_t taggedPointer_tag(uint64_t tp)
{
	return (uintptr_t)(tp & ((1ULL << taggedPointerBits) - 1));
}

void netpollinit(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		fprintf(stderr, "runtime: epollcreate failed with %d\n", errno);
		throwcode(NPS_THROW_NETPOLLINIT);
	}
	int p[2];
	/* nonblockingPipe: pipe2(O_NONBLOCK|O_CLOEXEC) (runtime/nbpipe_pipe2.go) */
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
		fprintf(stderr, "runtime: pipe failed with %d\n", errno);
		throwcode(NPS_THROW_PIPE);
	}
	struct epoll_event ev = {.events = EPOLLIN};
	/* The break fd's data is the address of netpollBreakRd, untagged. Level-triggered. */
	ev.data.u64 = (uint64_t)(uintptr_t)&netpollBreakRd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, p[0], &ev) != 0) {
		fprintf(stderr, "runtime: epollctl failed with %d\n", errno);
		throwcode(NPS_THROW_EPOLLCTL);
	}
	/*
	 * SIMPLIFICATION: a hook Go does not have, called before netpollinit returns, so before
	 * anything can write to or read the pipe: where `run` attaches the break pipe's probes.
	 */
	if (netpollinit_hook)
		netpollinit_hook(epfd, p[0], p[1]);
	netpollBreakRd = (uintptr_t)p[0];
	netpollBreakWr = (uintptr_t)p[1];
	struct m *mp = getm();
	struct nps_event *e = traceEv(mp, NPS_EV_NETPOLLINIT, -1);
	if (e) {
		e->u.init.epfd = epfd;
		e->u.init.break_rd = p[0];
		e->u.init.break_wr = p[1];
		e->u.init.break_data = (nps_u64)(uintptr_t)&netpollBreakRd;
		traceCommit(mp);
	}
}

bool netpollIsPollDescriptor(uintptr_t fd)
{
	return fd == (uintptr_t)epfd || fd == netpollBreakRd || fd == netpollBreakWr;
}

/* netpollopen/netpollclose are stamped before their epoll_ctl (see sim/trace.h). */
static void trace_ctl(struct nps_event *e, int op, uint32_t events, uint64_t data, int ret,
		      struct pollDesc *pd)
{
	if (!e)
		return;
	e->u.ctl.op = op;
	e->u.ctl.events = events;
	e->u.ctl.data = data;
	e->u.ctl.epfd = epfd;
	e->u.ctl.ret = ret;
	e->u.ctl.pd = (nps_u64)(uintptr_t)pd;
	traceCommit(getm());
}

uintptr_t netpollopen(uintptr_t fd, struct pollDesc *pd)
{
	struct epoll_event ev;
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	uint64_t tp = taggedPointerPack(pd, atomic_load(&pd->fdseq));
	ev.data.u64 = tp;
	struct nps_event *e = traceEv(getm(), NPS_EV_NETPOLLOPEN, (nps_s32)fd);
	int r = epoll_ctl(epfd, EPOLL_CTL_ADD, (int)fd, &ev);
	int err = r == 0 ? 0 : errno;
	trace_ctl(e, EPOLL_CTL_ADD, ev.events, tp, -err, pd);
	return (uintptr_t)err;
}

uintptr_t netpollclose(uintptr_t fd, struct pollDesc *pd)
{
	/* A non-NULL event for kernels before 2.6.9; its errno is ignored by the caller. */
	struct epoll_event ev = {0};
	struct nps_event *e = traceEv(getm(), NPS_EV_NETPOLLCLOSE, (nps_s32)fd);
	int r = epoll_ctl(epfd, EPOLL_CTL_DEL, (int)fd, &ev);
	int err = r == 0 ? 0 : errno;
	trace_ctl(e, EPOLL_CTL_DEL, 0, 0, -err, pd);
	return (uintptr_t)err;
}

/* Fill and commit a netpoll_break event begun before the pipe write (see sim/trace.h). */
static void trace_break(struct nps_event *e, uint8_t result, uint8_t fn, int64_t when)
{
	if (!e)
		return;
	e->u.brk.result = result;
	e->u.brk.fn = fn;
	e->u.brk.when = when;
	traceCommit(getm());
}

static struct nps_event *break_begin(void)
{
	return traceEv(getm(), NPS_EV_NETPOLL_BREAK, (nps_s32)netpollBreakWr);
}

/* Interrupt an M blocked in netpoll (Go's netpollBreak). fn/when: who asked, for the log. */
void netpollBreak(uint8_t fn, int64_t when)
{
	/* Failing to cas indicates there is an in-flight wakeup, so we're done here. */
	uint32_t zero = 0;
	if (!atomic_compare_exchange_strong(&netpollWakeSig, &zero, 1)) {
		trace_break(break_begin(), NPS_BRK_PENDING, fn, when);
		return;
	}
	for (;;) {
		char b = 0;
		struct nps_event *e = break_begin();
		ssize_t n = write((int)netpollBreakWr, &b, 1);
		int err = n == 1 ? 0 : errno;
		if (n == 1) {
			atomic_fetch_add(&netpoll_breaks, 1);
			trace_break(e, NPS_BRK_WROTE, fn, when);
			return;
		}
		if (err == EINTR) {
			traceCancel(getm(), e); /* nothing happened: Go just writes again */
			continue;
		}
		if (err == EAGAIN) {
			trace_break(e, NPS_BRK_EAGAIN, fn, when);
			return;
		}
		fprintf(stderr, "runtime: netpollBreak write failed with %d\n", errno);
		throwcode(NPS_THROW_BREAK_WRITE);
	}
}

static void trace_netpoll(uint16_t kind, uint64_t id, int64_t delay, int32_t waitms, int32_t n,
			  uint32_t ngs, int32_t delta, uint8_t caller, bool eintr)
{
	struct m *mp = getm();
	struct nps_event *e = traceEv(mp, kind, -1);
	if (!e)
		return;
	e->u.netpoll.id = id;
	e->u.netpoll.delay = delay;
	e->u.netpoll.waitms = waitms;
	e->u.netpoll.n = n;
	e->u.netpoll.ngs = (nps_u16)(ngs > 0xFFFF ? 0xFFFF : ngs);
	e->u.netpoll.delta = (nps_s16)delta;
	e->u.netpoll.caller = caller;
	e->u.netpoll.eintr = eintr;
	traceCommit(mp);
}

static void trace_npev(uint64_t id, int index, const struct epoll_event *ev, struct pollDesc *pd,
		       int32_t mode, uint8_t action)
{
	struct m *mp = getm();
	int32_t fd = pd ? pd_fd(pd) : (int32_t)netpollBreakRd;
	struct nps_event *e = traceEv(mp, NPS_EV_NETPOLL_EVENT, fd);
	if (!e)
		return;
	e->u.npev.id = id;
	e->u.npev.index = (nps_u16)index;
	e->u.npev.events = ev->events;
	e->u.npev.data = ev->data.u64;
	e->u.npev.pd = (nps_u64)(uintptr_t)pd;
	e->u.npev.mode = (nps_u8)mode;
	e->u.npev.action = action;
	traceCommit(mp);
}

static int32_t count_gs(const struct gList *l)
{
	int32_t n = 0;
	for (struct g *gp = l->head; gp; gp = gp->schedlink)
		n++;
	return n;
}

/*
 * Check for ready network connections. Returns the list of goroutines that become runnable and
 * the delta to add to netpollWaiters (the caller applies it after making them runnable).
 * delay < 0: block indefinitely; == 0: do not block, just poll; > 0: block for up to delay ns.
 * caller: who polls, for the event log.
 */
struct gList netpoll(int64_t delay, int32_t *deltap, uint8_t caller)
{
	struct gList toRun = {NULL};
	*deltap = 0;
	if (epfd == -1)
		return toRun;
	int32_t waitms;
	if (delay < 0)
		waitms = -1;
	else if (delay == 0)
		waitms = 0;
	else if (delay < 1000000)
		waitms = 1;
	else if (delay < 1000000000000000LL)
		waitms = (int32_t)(delay / 1000000);
	else
		/* An arbitrary cap on how long to wait for a timer: 1e9 ms == ~11.5 days. */
		waitms = 1000000000;
	uint64_t id = atomic_fetch_add(&netpoll_calls, 1) + 1;
	trace_netpoll(NPS_EV_NETPOLL_BEGIN, id, delay, waitms, 0, 0, 0, caller, false);
	struct epoll_event events[128];
	long n;
	bool eintr = false;
retry:
	/* Go calls epoll_pwait with a NULL sigmask (runtime/internal/syscall EpollWait). */
	n = syscall(SYS_epoll_pwait, epfd, events, 128, waitms, NULL, 0);
	if (n < 0) {
		int err = errno;
		if (err != EINTR) {
			fprintf(stderr, "runtime: epollwait on fd %d failed with %d\n", epfd, err);
			throwcode(NPS_THROW_NETPOLL);
		}
		eintr = true;
		/*
		 * If a timed sleep was interrupted, just return to recalculate how long we should
		 * sleep now.
		 */
		if (waitms > 0) {
			trace_netpoll(NPS_EV_NETPOLL_END, id, delay, waitms, -EINTR, 0, 0, caller,
				      true);
			return toRun;
		}
		goto retry;
	}
	int32_t delta = 0;
	for (long i = 0; i < n; i++) {
		struct epoll_event *ev = &events[i];
		if (ev->events == 0) {
			trace_npev(id, (int)i, ev, NULL, 0, NPS_NPEV_ZERO);
			continue;
		}
		if ((uintptr_t)ev->data.u64 == (uintptr_t)&netpollBreakRd) {
			/* INVARIANT */
			if (ev->events != EPOLLIN) {
				fprintf(stderr, "runtime: netpoll: break fd ready for %u\n",
					ev->events);
				throwcode(NPS_THROW_BREAK_UNEXPECTED);
			}
			if (delay != 0) {
				/*
				 * netpollBreak could be picked up by a non-blocking poll. Only
				 * read the byte if blocking.
				 */
				char tmp[16];
				ssize_t r = read((int)netpollBreakRd, tmp, sizeof(tmp));
				trace_npev(id, (int)i, ev, NULL, 0, NPS_NPEV_BREAK_DRAIN);
				struct m *mp = getm();
				struct nps_event *e =
				    traceEv(mp, NPS_EV_NETPOLL_DRAIN, (nps_s32)netpollBreakRd);
				if (e) {
					e->u.brk.ret = r;
					e->u.brk.fn = NPS_FN_NETPOLL;
					traceCommit(mp);
				}
				atomic_store(&netpollWakeSig, 0);
			} else {
				trace_npev(id, (int)i, ev, NULL, 0, NPS_NPEV_BREAK_LEAVE);
			}
			continue;
		}
		int32_t mode = 0;
		if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			mode += 'r';
		if (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			mode += 'w';
		if (mode == 0) {
			trace_npev(id, (int)i, ev, NULL, 0, NPS_NPEV_NOMODE);
			continue;
		}
		struct pollDesc *pd = taggedPointer_pointer(ev->data.u64);
		uintptr_t tag = taggedPointer_tag(ev->data.u64);
		if (atomic_load(&pd->fdseq) == tag) {
			trace_npev(id, (int)i, ev, pd, mode, NPS_NPEV_READY);
			setEventErr(pd, ev->events == EPOLLERR, tag);
			delta += netpollready(&toRun, pd, mode);
		} else {
			/* A stale event for a previous incarnation of pd: ignore it (Go 1.21+). */
			trace_npev(id, (int)i, ev, pd, mode, NPS_NPEV_STALE);
		}
	}
	*deltap = delta;
	trace_netpoll(NPS_EV_NETPOLL_END, id, delay, waitms, (int32_t)n, (uint32_t)count_gs(&toRun),
		      delta, caller, eintr);
	return toRun;
}

/* Sim-only teardown after every M stopped: Go never closes these (the process exits). */
void netpoll_shutdown(void)
{
	if (epfd >= 0) {
		close(epfd);
		close((int)netpollBreakRd);
		close((int)netpollBreakWr);
		/* atomic: a run's forced end reads it (sim_stats) while this M may still be here */
		__atomic_store_n(&epfd, -1, __ATOMIC_RELAXED);
	}
}

void netpoll_counts(uint64_t *calls, uint64_t *breaks)
{
	*calls = atomic_load(&netpoll_calls);
	*breaks = atomic_load(&netpoll_breaks);
}
