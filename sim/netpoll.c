// SPDX-License-Identifier: MIT
/*
 * The portable half of the network poller. Go: runtime/netpoll.go (1.22), function by function:
 * pollDesc and its rg/wg binary semaphores, pollCache, poll_runtime_pollOpen/Close/Reset/
 * Wait/SetDeadline/Unblock, netpollblock/netpollblockcommit/netpollunblock/netpollready,
 * netpollcheckerr, the deadline timers (netpolldeadlineimpl) and netpollWaiters.
 *
 * The rg/wg state machine, as Go's comment states it: each semaphore is pdNil (nothing), pdReady
 * (an I/O notification is pending), pdWait (a goroutine prepares to park) or a G pointer (the
 * goroutine is parked). The waiter moves nil -> wait -> G and consumes ready -> nil; wakers
 * move wait/G -> ready on I/O readiness and wait/G -> nil on timeout or close.
 *
 * Every change of rg/wg goes through pd_cas/pd_swap/pd_store below, which also write the
 * event log: the change and its timestamp happen under the pollDesc's trace lock, so the log
 * shows each pollDesc's changes in the order they happened. With the log off they are plain
 * atomics, as in Go.
 */
#include "sim/runtime.h"
#include "sim/sim.h"
#include "sim/trace.h"

#include <stdlib.h>

struct pollCache pollcache;
_Atomic uint32_t netpollInited;
_Atomic uint32_t netpollWaiters;
static struct mutex netpollInitLock;
static _Atomic uint64_t pd_blocks, pd_inuse, pd_freelist;

_Static_assert(sizeof(struct pollDesc) == 248, "pollDesc must be Go 1.22's 248 bytes on amd64");
_Static_assert(sizeof(struct timer) == 72, "timer must be Go 1.22's 72 bytes on amd64");

/* ---- logging rg/wg changes ---- */

static inline void pd_tracelock(struct pollDesc *pd)
{
	while (atomic_exchange_explicit(&pd->tracelock, 1, memory_order_acquire))
		__builtin_ia32_pause();
}

static inline void pd_traceunlock(struct pollDesc *pd)
{
	atomic_store_explicit(&pd->tracelock, 0, memory_order_release);
}

static void trace_pd_state(struct pollDesc *pd, _Atomic uintptr_t *gpp, uintptr_t from,
			   uintptr_t to, uint8_t fn)
{
	struct m *mp = getm();
	struct nps_event *e = traceEv(mp, NPS_EV_PD_STATE, (nps_s32)pd_fd(pd));
	if (!e)
		return;
	e->u.pd_state.pd = (nps_u64)(uintptr_t)pd;
	e->u.pd_state.from = trace_pdv(from);
	e->u.pd_state.to = trace_pdv(to);
	e->u.pd_state.seq = (nps_u32)atomic_load(&pd->fdseq);
	e->u.pd_state.mode = gpp == &pd->rg ? 'r' : 'w';
	e->u.pd_state.fn = fn;
	traceCommit(mp);
}

static bool pd_cas(struct pollDesc *pd, _Atomic uintptr_t *gpp, uintptr_t old, uintptr_t new,
		   uint8_t fn)
{
	if (!nps_trace_on)
		return atomic_compare_exchange_strong(gpp, &old, new);
	pd_tracelock(pd);
	uintptr_t expect = old;
	bool ok = atomic_compare_exchange_strong(gpp, &expect, new);
	if (ok && old != new)
		trace_pd_state(pd, gpp, old, new, fn);
	pd_traceunlock(pd);
	return ok;
}

static uintptr_t pd_swap(struct pollDesc *pd, _Atomic uintptr_t *gpp, uintptr_t new, uint8_t fn)
{
	if (!nps_trace_on)
		return atomic_exchange(gpp, new);
	pd_tracelock(pd);
	uintptr_t old = atomic_exchange(gpp, new);
	if (old != new)
		trace_pd_state(pd, gpp, old, new, fn);
	pd_traceunlock(pd);
	return old;
}

static void pd_store(struct pollDesc *pd, _Atomic uintptr_t *gpp, uintptr_t new, uint8_t fn)
{
	(void)pd_swap(pd, gpp, new, fn);
}

struct nps_event *trace_pd_begin(struct m *mp, uint16_t kind, struct pollDesc *pd)
{
	return traceEv(mp, kind, (nps_s32)pd_fd(pd));
}

void trace_pd(struct m *mp, uint16_t kind, struct pollDesc *pd, uint8_t mode, uint8_t fn,
	      uint8_t sub)
{
	trace_pd_end(mp, trace_pd_begin(mp, kind, pd), pd, mode, fn, sub);
}

void trace_pd_end(struct m *mp, struct nps_event *e, struct pollDesc *pd, uint8_t mode, uint8_t fn,
		  uint8_t sub)
{
	if (!e)
		return;
	e->fd = (nps_s32)pd_fd(pd);
	e->sub = sub;
	e->u.pd.pd = (nps_u64)(uintptr_t)pd;
	e->u.pd.rd = pd->rd;
	e->u.pd.wd = pd->wd;
	e->u.pd.seq = (nps_u32)atomic_load(&pd->fdseq);
	e->u.pd.mode = mode;
	e->u.pd.fn = fn;
	e->u.pd.info = (nps_u16)atomic_load(&pd->atomicInfo);
	traceCommit(mp);
}

/* ---- pollInfo ---- */

static uint32_t pd_info(struct pollDesc *pd)
{
	return atomic_load(&pd->atomicInfo);
}

/*
 * Publish closing/rd/wd/fdseq into atomicInfo; must hold pd->lock, and must come before any
 * netpollunblock that follows such a change (that order is what stops a concurrent
 * netpollblock from parking after the error became visible).
 */
static void publishInfo(struct pollDesc *pd)
{
	uint32_t info = 0;
	if (pd->closing)
		info |= pollClosing;
	if (pd->rd < 0)
		info |= pollExpiredReadDeadline;
	if (pd->wd < 0)
		info |= pollExpiredWriteDeadline;
	/* Go's quirk, kept on purpose: pollFDSeq, a flag (1 << 4 = 16), is used as a shift count. */
	info |= (uint32_t)(atomic_load(&pd->fdseq) & pollFDSeqMask) << pollFDSeq;
	uint32_t x = atomic_load(&pd->atomicInfo);
	while (!atomic_compare_exchange_weak(&pd->atomicInfo, &x, (x & pollEventErr) | info))
		;
}

/* Set the eventErr bit to b, unless seq says the event is for another incarnation. */
void setEventErr(struct pollDesc *pd, bool b, uintptr_t seq)
{
	uint32_t mSeq = (uint32_t)(seq & pollFDSeqMask);
	uint32_t x = atomic_load(&pd->atomicInfo);
	uint32_t xSeq = (x >> pollFDSeq) & pollFDSeqMask;
	if (seq != 0 && xSeq != mSeq)
		return;
	if (((x & pollEventErr) != 0) == b)
		return;
	struct m *mp = getm();
	struct nps_event *e = trace_pd_begin(mp, NPS_EV_PD_EVENTERR, pd);
	while (((x & pollEventErr) != 0) != b) {
		if (atomic_compare_exchange_weak(&pd->atomicInfo, &x, x ^ pollEventErr)) {
			trace_pd_end(mp, e, pd, 0, NPS_FN_SETEVENTERR, 0);
			return;
		}
		xSeq = (x >> pollFDSeq) & pollFDSeqMask;
		if (seq != 0 && xSeq != mSeq)
			break;
	}
	traceCancel(mp, e);
}

/* ---- pollCache: Go's type-stable pollDesc memory ---- */

static struct pollDesc *pollcache_alloc(bool *fresh)
{
	lock(&pollcache.lock);
	*fresh = false;
	if (!pollcache.first) {
		size_t n = pollBlockSize / sizeof(struct pollDesc);
		if (n == 0)
			n = 1;
		/*
		 * persistentalloc: zeroed, never freed, never moved, because epoll and timers keep
		 * raw references to pollDescs after their fd is closed.
		 */
		char *mem = aligned_alloc(64, pollBlockSize);
		if (!mem)
			throw("runtime: cannot allocate memory");
		memset(mem, 0, pollBlockSize);
		for (size_t i = 0; i < n; i++) {
			struct pollDesc *pd =
			    (struct pollDesc *)(mem + i * sizeof(struct pollDesc));
			pd->link = pollcache.first;
			pollcache.first = pd;
		}
		atomic_fetch_add(&pd_blocks, 1);
		atomic_fetch_add(&pd_freelist, n);
		*fresh = true;
	}
	struct pollDesc *pd = pollcache.first;
	pollcache.first = pd->link;
	atomic_fetch_sub(&pd_freelist, 1);
	atomic_fetch_add(&pd_inuse, 1);
	unlock(&pollcache.lock);
	return pd;
}

static void pollcache_free(struct pollDesc *pd)
{
	/*
	 * Bump fdseq so that a timer or an epoll event still in flight for this incarnation is
	 * recognised as stale once the descriptor is reused.
	 */
	lock(&pd->lock);
	struct m *mp = getm();
	/*
	 * Under the trace lock: an rg/wg change another M logs meanwhile (a late netpollready)
	 * is stamped wholly before this free, with the old fdseq, or wholly after, with the new.
	 */
	if (nps_trace_on)
		pd_tracelock(pd);
	struct nps_event *e = trace_pd_begin(mp, NPS_EV_PD_FREE, pd);
	uintptr_t fdseq = atomic_load(&pd->fdseq);
	fdseq = (fdseq + 1) & (((uintptr_t)1 << taggedPointerBits) - 1);
	atomic_store(&pd->fdseq, fdseq);
	publishInfo(pd);
	trace_pd_end(mp, e, pd, 0, NPS_FN_POLLCACHE_FREE, 0);
	if (nps_trace_on)
		pd_traceunlock(pd);
	unlock(&pd->lock);

	lock(&pollcache.lock);
	pd->link = pollcache.first;
	pollcache.first = pd;
	atomic_fetch_add(&pd_freelist, 1);
	atomic_fetch_sub(&pd_inuse, 1);
	unlock(&pollcache.lock);
}

/* ---- initialisation ---- */

void netpollGenericInit(void)
{
	if (atomic_load(&netpollInited) == 0) {
		lock(&netpollInitLock);
		if (atomic_load(&netpollInited) == 0) {
			netpollinit();
			atomic_store(&netpollInited, 1);
		}
		unlock(&netpollInitLock);
	}
}

bool netpollinited(void)
{
	return atomic_load(&netpollInited) != 0;
}

void poll_runtime_pollServerInit(void)
{
	netpollGenericInit();
}

/* ---- open, close ---- */

struct pollDesc *poll_runtime_pollOpen(uintptr_t fd, int *errno_out)
{
	bool fresh;
	struct pollDesc *pd = pollcache_alloc(&fresh);
	lock(&pd->lock);
	uintptr_t wg = atomic_load(&pd->wg);
	/* INVARIANT */
	if (wg != pdNil && wg != pdReady)
		throwcode(NPS_THROW_BLOCKED_WRITE_FREE);
	uintptr_t rg = atomic_load(&pd->rg);
	if (rg != pdNil && rg != pdReady)
		throwcode(NPS_THROW_BLOCKED_READ_FREE);
	pd_setfd(pd, fd);
	if (atomic_load(&pd->fdseq) == 0)
		atomic_store(&pd->fdseq, 1);
	pd->closing = false;
	setEventErr(pd, false, 0);
	/* Go's order: a stale pdReady is cleared before the new incarnation's info is published */
	pd->rseq++;
	pd_store(pd, &pd->rg, pdNil, NPS_FN_POLLOPEN);
	pd->rd = 0;
	pd->wseq++;
	pd_store(pd, &pd->wg, pdNil, NPS_FN_POLLOPEN);
	pd->wd = 0;
	pd->self = pd;
	publishInfo(pd);
	trace_pd(getm(), NPS_EV_PD_OPEN, pd, 0, NPS_FN_POLLOPEN, fresh);
	unlock(&pd->lock);

	uintptr_t errno_ = netpollopen(fd, pd);
	if (errno_ != 0) {
		pollcache_free(pd);
		*errno_out = (int)errno_;
		return NULL;
	}
	*errno_out = 0;
	return pd;
}

void poll_runtime_pollClose(struct pollDesc *pd)
{
	/* INVARIANT */
	if (!pd->closing)
		throwcode(NPS_THROW_CLOSE_WO_UNBLOCK);
	uintptr_t wg = atomic_load(&pd->wg);
	if (wg != pdNil && wg != pdReady)
		throwcode(NPS_THROW_BLOCKED_WRITE_CLOSING);
	uintptr_t rg = atomic_load(&pd->rg);
	if (rg != pdNil && rg != pdReady)
		throwcode(NPS_THROW_BLOCKED_READ_CLOSING);
	netpollclose(pd->fd, pd);
	pollcache_free(pd);
}

/* ---- the waiter's side ---- */

static int netpollcheckerr(struct pollDesc *pd, int32_t mode)
{
	uint32_t info = pd_info(pd);
	if (info & pollClosing)
		return pollErrClosing;
	if ((mode == 'r' && (info & pollExpiredReadDeadline)) ||
	    (mode == 'w' && (info & pollExpiredWriteDeadline)))
		return pollErrTimeout;
	/*
	 * Report an event scanning error only on a read event; an error on a write event will be
	 * captured in a subsequent write call that is able to report a more specific error.
	 */
	if (mode == 'r' && (info & pollEventErr))
		return pollErrNotPollable;
	return pollNoError;
}

int netpollcheckerr_for_test(struct pollDesc *pd, int32_t mode)
{
	return netpollcheckerr(pd, mode);
}

/*
 * SIMPLIFICATION: a test hook Go does not have (Go tests use their own testHook variables):
 * called by netpollblock right after it announced
 * pdWait and before it re-checks errors and parks, so a test can act in that window.
 */
void (*testHookAfterAnnounce)(struct pollDesc *pd, int32_t mode);

int poll_runtime_pollReset(struct pollDesc *pd, int mode)
{
	int errcode = netpollcheckerr(pd, mode);
	if (errcode != pollNoError)
		return errcode;
	if (mode == 'r')
		pd_store(pd, &pd->rg, pdNil, NPS_FN_POLLRESET);
	else if (mode == 'w')
		pd_store(pd, &pd->wg, pdNil, NPS_FN_POLLRESET);
	return pollNoError;
}

/* Runs on g0 in park_m, after the goroutine is off its stack: CAS pdWait -> G. */
bool netpollblockcommit(struct g *gp, void *gpp_)
{
	_Atomic uintptr_t *gpp = gpp_;
	struct pollDesc *pd = (struct pollDesc *)(uintptr_t)getm()->waitpd;
	bool r = pd_cas(pd, gpp, pdWait, (uintptr_t)gp, NPS_FN_NETPOLLBLOCKCOMMIT);
	if (r) {
		/*
		 * Bump the count of goroutines waiting for the poller. The scheduler uses this to
		 * decide whether to block waiting for the poller if there is nothing else to do.
		 */
		netpollAdjustWaiters(1, NPS_FN_NETPOLLBLOCKCOMMIT);
	}
	return r;
}

/*
 * Returns true if IO is ready, or false if timed out or closed. waitio: wait only for completed
 * IO, ignore errors (Windows only in Go; always false here).
 */
bool netpollblock(struct pollDesc *pd, int32_t mode, bool waitio)
{
	_Atomic uintptr_t *gpp = mode == 'w' ? &pd->wg : &pd->rg;
	/* Set the gpp semaphore to pdWait. */
	for (;;) {
		/* Consume notification if already ready. */
		if (pd_cas(pd, gpp, pdReady, pdNil, NPS_FN_NETPOLLBLOCK))
			return true;
		if (pd_cas(pd, gpp, pdNil, pdWait, NPS_FN_NETPOLLBLOCK))
			break;
		/* Double check that this isn't corrupt; otherwise we'd loop forever. */
		uintptr_t v = atomic_load(gpp);
		if (v != pdReady && v != pdNil)
			throwcode(NPS_THROW_DOUBLE_WAIT);
	}
	/*
	 * Need to recheck error states after setting gpp to pdWait. This is necessary because
	 * runtime_pollUnblock/runtime_pollSetDeadline/deadlineimpl do the opposite: store to
	 * closing/rd/wd, publishInfo, load of rg/wg.
	 */
	if (testHookAfterAnnounce)
		testHookAfterAnnounce(pd, mode);
	if (waitio || netpollcheckerr(pd, mode) == pollNoError) {
		struct m *mp = getm();
		mp->waitpd = (uint64_t)(uintptr_t)pd;
		mp->waitmode = (uint8_t)mode;
		gopark(netpollblockcommit, (void *)gpp, NPS_WR_IOWAIT);
	}
	/* Be careful to not lose concurrent pdReady notification. */
	uintptr_t old = pd_swap(pd, gpp, pdNil, NPS_FN_NETPOLLBLOCK);
	if (old > pdWait)
		throwcode(NPS_THROW_CORRUPTED);
	return old == pdReady;
}

int poll_runtime_pollWait(struct pollDesc *pd, int mode)
{
	int errcode = netpollcheckerr(pd, mode);
	if (errcode != pollNoError)
		return errcode;
	/* Go calls netpollarm here only on level-triggered back-ends (Solaris, AIX, wasip1). */
	while (!netpollblock(pd, mode, false)) {
		errcode = netpollcheckerr(pd, mode);
		if (errcode != pollNoError)
			return errcode;
		/*
		 * Can happen if timeout has fired and unblocked us, but before we had a chance to
		 * run, timeout has been reset. Pretend it has not happened and retry.
		 */
	}
	return pollNoError;
}

/* ---- the wakers' side ---- */

/*
 * Move gpp to pdReady (ioready) or pdNil (timeout, close) and return the parked G, if any.
 * delta gets -1 for each G taken off the semaphore. fn is the caller, for the event log.
 */
struct g *netpollunblock(struct pollDesc *pd, int32_t mode, bool ioready, int32_t *delta,
			 uint8_t fn)
{
	_Atomic uintptr_t *gpp = mode == 'w' ? &pd->wg : &pd->rg;
	for (;;) {
		uintptr_t old = atomic_load(gpp);
		if (old == pdReady)
			return NULL;
		if (old == pdNil && !ioready) {
			/*
			 * Only set pdReady for ioready. runtime_pollWait will check for timeout/
			 * cancel before waiting.
			 */
			return NULL;
		}
		uintptr_t new = ioready ? pdReady : pdNil;
		if (pd_cas(pd, gpp, old, new, fn)) {
			if (old == pdWait)
				old = pdNil;
			else if (old != pdNil)
				*delta -= 1;
			return (struct g *)old;
		}
	}
}

static void netpollgoready(struct g *gp)
{
	ready(gp, true, NPS_FN_NETPOLLGOREADY);
}

/*
 * Called by netpoll for each ready pollDesc: unblock the reader and/or writer and put them on
 * toRun (reader first, each pushed on the front). Returns the waiters delta.
 */
int32_t netpollready(struct gList *toRun, struct pollDesc *pd, int32_t mode)
{
	int32_t delta = 0;
	struct g *rg = NULL, *wg = NULL;
	if (mode == 'r' || mode == 'r' + 'w')
		rg = netpollunblock(pd, 'r', true, &delta, NPS_FN_NETPOLLREADY);
	if (mode == 'w' || mode == 'r' + 'w')
		wg = netpollunblock(pd, 'w', true, &delta, NPS_FN_NETPOLLREADY);
	if (rg)
		gList_push(toRun, rg);
	if (wg)
		gList_push(toRun, wg);
	return delta;
}

bool netpollAnyWaiters(void)
{
	return atomic_load(&netpollWaiters) > 0;
}

/* Orders the log's waiters events as the changes happen (only while the log is on). */
static _Atomic uint8_t waiters_tracelock;

void netpollAdjustWaiters(int32_t delta, uint8_t fn)
{
	if (delta == 0)
		return;
	if (!nps_trace_on) {
		atomic_fetch_add(&netpollWaiters, (uint32_t)delta);
		return;
	}
	while (atomic_exchange_explicit(&waiters_tracelock, 1, memory_order_acquire))
		__builtin_ia32_pause();
	uint32_t v = atomic_fetch_add(&netpollWaiters, (uint32_t)delta) + (uint32_t)delta;
	struct m *mp = getm();
	struct nps_event *e = traceEv(mp, NPS_EV_WAITERS, -1);
	if (e) {
		e->u.waiters.delta = delta;
		e->u.waiters.value = v;
		e->u.waiters.fn = fn;
		traceCommit(mp);
	}
	atomic_store_explicit(&waiters_tracelock, 0, memory_order_release);
}

/* ---- deadlines ---- */

static void netpolldeadlineimpl(struct pollDesc *pd, uintptr_t seq, bool read, bool write)
{
	lock(&pd->lock);
	/* Seq arg is seq when the timer was set. If it's stale, ignore the timer event. */
	uintptr_t currentSeq = read ? pd->rseq : pd->wseq;
	if (seq != currentSeq) {
		/* The descriptor was reused or timers were reset. */
		trace_pd(getm(), NPS_EV_PD_EXPIRE, pd, read ? 'r' : 'w', NPS_FN_NETPOLLDEADLINEIMPL,
			 1);
		unlock(&pd->lock);
		return;
	}
	int32_t delta = 0;
	struct g *rg = NULL, *wg = NULL;
	if (read) {
		/* INVARIANT */
		if (pd->rd <= 0 || pd->rt.f == NULL)
			throwcode(NPS_THROW_INCONSISTENT_READ);
		struct nps_event *e = trace_pd_begin(getm(), NPS_EV_PD_EXPIRE, pd);
		pd->rd = -1;
		publishInfo(pd);
		trace_pd_end(getm(), e, pd, 'r', NPS_FN_NETPOLLDEADLINEIMPL, 0);
		rg = netpollunblock(pd, 'r', false, &delta, NPS_FN_NETPOLLDEADLINEIMPL);
	}
	if (write) {
		/* INVARIANT */
		if (pd->wd <= 0 || (pd->wt.f == NULL && !read))
			throwcode(NPS_THROW_INCONSISTENT_WRITE);
		struct nps_event *e = trace_pd_begin(getm(), NPS_EV_PD_EXPIRE, pd);
		pd->wd = -1;
		publishInfo(pd);
		trace_pd_end(getm(), e, pd, 'w', NPS_FN_NETPOLLDEADLINEIMPL, 0);
		wg = netpollunblock(pd, 'w', false, &delta, NPS_FN_NETPOLLDEADLINEIMPL);
	}
	unlock(&pd->lock);
	if (rg)
		netpollgoready(rg);
	if (wg)
		netpollgoready(wg);
	netpollAdjustWaiters(delta, NPS_FN_NETPOLLDEADLINEIMPL);
}

void netpollDeadline(void *arg, uintptr_t seq)
{
	netpolldeadlineimpl(arg, seq, true, true);
}

void netpollReadDeadline(void *arg, uintptr_t seq)
{
	netpolldeadlineimpl(arg, seq, true, false);
}

void netpollWriteDeadline(void *arg, uintptr_t seq)
{
	netpolldeadlineimpl(arg, seq, false, true);
}

void poll_runtime_pollSetDeadline(struct pollDesc *pd, int64_t d, int mode)
{
	lock(&pd->lock);
	if (pd->closing) {
		unlock(&pd->lock);
		return;
	}
	int64_t rd0 = pd->rd, wd0 = pd->wd;
	bool combo0 = rd0 > 0 && rd0 == wd0;
	if (d > 0) {
		/* Go's int64 addition wraps; C's signed one would be undefined: add unsigned */
		d = (int64_t)((uint64_t)d + (uint64_t)nanotime());
		if (d <= 0) /* If the user has a deadline in the future, but the delay calculation
			       overflows, then set the deadline to the maximum possible value. */
			d = INT64_MAX;
	}
	struct nps_event *e = trace_pd_begin(getm(), NPS_EV_PD_DEADLINE, pd);
	if (mode == 'r' || mode == 'r' + 'w')
		pd->rd = d;
	if (mode == 'w' || mode == 'r' + 'w')
		pd->wd = d;
	publishInfo(pd);
	trace_pd_end(getm(), e, pd, (uint8_t)mode, NPS_FN_POLLSETDEADLINE, 0);
	bool combo = pd->rd > 0 && pd->rd == pd->wd;
	void (*rtf)(void *, uintptr_t) = combo ? netpollDeadline : netpollReadDeadline;
	if (pd->rt.f == NULL) {
		if (pd->rd > 0) {
			pd->rt.f = rtf;
			/* Copy current seq into the timer arg; the timer checks it when it fires. */
			pd->rt.arg = pd->self;
			pd->rt.seq = pd->rseq;
			resettimer(&pd->rt, pd->rd);
		}
	} else if (pd->rd != rd0 || combo != combo0) {
		pd->rseq++; /* invalidate current timers */
		if (pd->rd > 0) {
			modtimer(&pd->rt, pd->rd, 0, rtf, pd->self, pd->rseq);
		} else {
			deltimer(&pd->rt);
			pd->rt.f = NULL;
		}
	}
	if (pd->wt.f == NULL) {
		if (pd->wd > 0 && !combo) {
			pd->wt.f = netpollWriteDeadline;
			pd->wt.arg = pd->self;
			pd->wt.seq = pd->wseq;
			resettimer(&pd->wt, pd->wd);
		}
	} else if (pd->wd != wd0 || combo != combo0) {
		pd->wseq++; /* invalidate current timers */
		if (pd->wd > 0 && !combo) {
			modtimer(&pd->wt, pd->wd, 0, netpollWriteDeadline, pd->self, pd->wseq);
		} else {
			deltimer(&pd->wt);
			pd->wt.f = NULL;
		}
	}
	/* If we set the new deadline in the past, unblock currently pending IO if any. */
	int32_t delta = 0;
	struct g *rg = NULL, *wg = NULL;
	if (pd->rd < 0)
		rg = netpollunblock(pd, 'r', false, &delta, NPS_FN_POLLSETDEADLINE);
	if (pd->wd < 0)
		wg = netpollunblock(pd, 'w', false, &delta, NPS_FN_POLLSETDEADLINE);
	unlock(&pd->lock);
	if (rg)
		netpollgoready(rg);
	if (wg)
		netpollgoready(wg);
	netpollAdjustWaiters(delta, NPS_FN_POLLSETDEADLINE);
}

void poll_runtime_pollUnblock(struct pollDesc *pd)
{
	lock(&pd->lock);
	/* INVARIANT */
	if (pd->closing)
		throwcode(NPS_THROW_UNBLOCK_CLOSING);
	struct nps_event *e = trace_pd_begin(getm(), NPS_EV_PD_EVICT, pd);
	pd->closing = true;
	pd->rseq++;
	pd->wseq++;
	publishInfo(pd);
	trace_pd_end(getm(), e, pd, 0, NPS_FN_POLLUNBLOCK, 0);
	int32_t delta = 0;
	struct g *rg = netpollunblock(pd, 'r', false, &delta, NPS_FN_POLLUNBLOCK);
	struct g *wg = netpollunblock(pd, 'w', false, &delta, NPS_FN_POLLUNBLOCK);
	if (pd->rt.f) {
		deltimer(&pd->rt);
		pd->rt.f = NULL;
	}
	if (pd->wt.f) {
		deltimer(&pd->wt);
		pd->wt.f = NULL;
	}
	unlock(&pd->lock);
	if (rg)
		netpollgoready(rg);
	if (wg)
		netpollgoready(wg);
	netpollAdjustWaiters(delta, NPS_FN_POLLUNBLOCK);
}

/* ---- numbers for summaries and tests ---- */

void netpoll_cache_stats(uint64_t *inuse, uint64_t *freelist, uint64_t *blocks)
{
	*inuse = atomic_load(&pd_inuse);
	*freelist = atomic_load(&pd_freelist);
	*blocks = atomic_load(&pd_blocks);
}
