// SPDX-License-Identifier: MIT
/*
 * Timers: per-P 4-ary min-heaps, run by the scheduler (checkTimers at the top of findRunnable,
 * and for other Ps from stealWork). Go: runtime/time.go (1.22). Deadline timers of pollDescs
 * and timeSleep use them; the earliest timer decides how long the blocking netpoll sleeps, and
 * adding an earlier timer wakes the poller through wakeNetPoller -> netpollBreak.
 *
 * SIMPLIFICATION: Go 1.22 changes timers without locks through a status machine
 * (timerWaiting, timerModifiedEarlier, timerDeleted, ...) and fixes the heap later in
 * adjusttimers/cleantimers. Here every change takes the owning P's timersLock and fixes the
 * heap at once (Go 1.23 also moved to a locked heap): a timer runs once its time has come, and
 * an earlier timer wakes the blocked poller. Two differences can be seen. deltimer removes a
 * timer at once, as if its P had already cleaned it, so modtimer re-arms it on the current P
 * and always wakes the poller; Go revives a timer still marked timerDeleted on its old P and
 * wakes the poller only when the new time is earlier (a deadline set, cleared and set again
 * can make one netpollBreak that Go would not). And a timer moved later (or deleted) stops
 * bounding the poll at once: Go marks it timerModifiedLater (timerDeleted) and keeps timer0When
 * at the old time until adjusttimers/cleantimers run, so checkTimers and nobarrierWakeTime
 * still give the old, earlier time as pollUntil, and the poller wakes once with 0 events and
 * sleeps again. A SetReadDeadline before each Read therefore shows longer epoll_pwait timeouts
 * here than strace shows of a Go server (spec section 9.4), and none of those empty wake-ups.
 */
#include "sim/runtime.h"
#include "sim/sim.h"
#include "sim/trace.h"

#include <stdlib.h>

#define maxWhen INT64_MAX

enum {
	timerFree = 0,
	timerInHeap = 1,
	timerRunning = 2
};

static void goroutineReady(void *arg, uintptr_t seq);

uint8_t timer_fn_id(void (*f)(void *, uintptr_t))
{
	if (f == netpollReadDeadline)
		return NPS_FN_NETPOLLREADDEADLINE;
	if (f == netpollWriteDeadline)
		return NPS_FN_NETPOLLWRITEDEADLINE;
	if (f == netpollDeadline)
		return NPS_FN_NETPOLLDEADLINE;
	if (f == goroutineReady)
		return NPS_FN_GOROUTINEREADY;
	return NPS_FN_NONE;
}

/* Called with the timer's P's timersLock held (or t in no heap): t cannot run meanwhile. */
void trace_timer(struct m *mp, uint8_t op, struct timer *t)
{
	struct nps_event *e = traceEv(mp, NPS_EV_TIMER, -1);
	if (!e)
		return;
	e->u.timer.op = op;
	e->u.timer.when = t->when;
	e->u.timer.seq = t->seq;
	e->u.timer.fn = timer_fn_id(t->f);
	struct p *pp = t->pp;
	e->u.timer.tp = pp ? (nps_s16)pp->id : -1;
	if (t->f == goroutineReady) {
		e->u.timer.arg = ((struct g *)t->arg)->goid;
	} else if (t->arg) {
		struct pollDesc *pd = t->arg;
		e->u.timer.arg = (nps_u64)(uintptr_t)pd;
		e->fd = (nps_s32)pd_fd(pd);
	}
	traceCommit(mp);
}

/* ---- the heap (sched by when), pp->timersLock held ---- */

static void heap_set(struct p *pp, int32_t i, struct timer *t)
{
	pp->timers[i] = t;
	t->idx = i;
}

static void siftupTimer(struct p *pp, int32_t i)
{
	struct timer *t = pp->timers[i];
	while (i > 0) {
		int32_t parent = (i - 1) / 4;
		if (t->when >= pp->timers[parent]->when)
			break;
		heap_set(pp, i, pp->timers[parent]);
		i = parent;
	}
	heap_set(pp, i, t);
}

static void siftdownTimer(struct p *pp, int32_t i)
{
	int32_t n = pp->ntimers;
	struct timer *t = pp->timers[i];
	for (;;) {
		int32_t c = i * 4 + 1, best = -1;
		for (int32_t k = c; k < c + 4 && k < n; k++)
			if (best < 0 || pp->timers[k]->when < pp->timers[best]->when)
				best = k;
		if (best < 0 || pp->timers[best]->when >= t->when)
			break;
		heap_set(pp, i, pp->timers[best]);
		i = best;
	}
	heap_set(pp, i, t);
}

static void updateTimer0When(struct p *pp)
{
	atomic_store(&pp->timer0When, pp->ntimers ? pp->timers[0]->when : 0);
}

static void doaddtimer(struct p *pp, struct timer *t)
{
	/* Timers rely on the network poller to sleep: make sure it exists (Go's doaddtimer). */
	if (!netpollinited())
		netpollGenericInit();
	/* INVARIANT */
	if (t->pp)
		throw("doaddtimer: P already set in timer");
	if (pp->ntimers == pp->timerscap) {
		int32_t cap = pp->timerscap ? pp->timerscap * 2 : 16;
		struct timer **nt = realloc(pp->timers, (size_t)cap * sizeof(*nt));
		if (!nt)
			throw("runtime: cannot allocate memory");
		pp->timers = nt;
		pp->timerscap = cap;
	}
	t->pp = pp;
	heap_set(pp, pp->ntimers++, t);
	siftupTimer(pp, t->idx);
	atomic_store(&t->status, timerInHeap);
	updateTimer0When(pp);
	atomic_fetch_add(&pp->numTimers, 1);
	pMask_set(&timerpMask, pp->id);
}

static void dodeltimer(struct p *pp, struct timer *t)
{
	int32_t i = t->idx;
	int32_t last = --pp->ntimers;
	if (i != last) {
		heap_set(pp, i, pp->timers[last]);
		siftdownTimer(pp, i);
		siftupTimer(pp, pp->timers[i]->idx);
	}
	pp->timers[last] = NULL;
	t->idx = -1;
	t->pp = NULL;
	updateTimer0When(pp);
	atomic_fetch_sub(&pp->numTimers, 1);
}

/* Lock the P whose heap holds t; NULL (nothing locked) when t is in no heap. */
static struct p *lock_timer(struct timer *t)
{
	for (;;) {
		struct p *pp = t->pp;
		if (!pp)
			return NULL;
		lock(&pp->timersLock);
		if (t->pp == pp)
			return pp;
		unlock(&pp->timersLock);
	}
}

/* ---- Go's timer API ---- */

void addtimer(struct timer *t)
{
	/* INVARIANT */
	if (t->when <= 0)
		throw("timer when must be positive");
	if (t->period < 0)
		throw("timer period must be non-negative");
	if (atomic_load(&t->status) != timerFree)
		throw("addtimer called with initialized timer");
	struct m *mp = getm();
	struct p *pp = mp->p;
	lock(&pp->timersLock);
	doaddtimer(pp, t);
	trace_timer(mp, NPS_TIMER_ADD, t); /* under the lock: another M may run t at once */
	unlock(&pp->timersLock);
	wakeNetPoller(t->when);
}

bool deltimer(struct timer *t)
{
	struct p *pp = lock_timer(t);
	if (!pp)
		return false;		       /* already run, running, or never added */
	trace_timer(getm(), NPS_TIMER_DEL, t); /* while t still names its P */
	dodeltimer(pp, t);
	atomic_store(&t->status, timerFree);
	unlock(&pp->timersLock);
	return true;
}

bool modtimer(struct timer *t, int64_t when, int64_t period, void (*f)(void *, uintptr_t),
	      void *arg, uintptr_t seq)
{
	/* INVARIANT */
	if (when <= 0)
		throw("timer when must be positive");
	if (period < 0)
		throw("timer period must be non-negative");
	struct m *mp = getm();
	struct p *pp = lock_timer(t);
	bool pending = pp != NULL;
	t->period = period;
	t->f = f;
	t->arg = arg;
	t->seq = seq;
	t->nextwhen = when;
	if (pending) {
		int64_t old = t->when;
		t->when = when;
		siftupTimer(pp, t->idx);
		siftdownTimer(pp, t->idx);
		updateTimer0When(pp);
		trace_timer(mp, NPS_TIMER_MOD, t);
		unlock(&pp->timersLock);
		if (when < old)
			wakeNetPoller(when);
	} else {
		/*
		 * The timer already ran, or deltimer removed it: add it to the current P, as Go does
		 * for one that ran (timerNoStatus). SIMPLIFICATION: one stopped is re-armed here too,
		 * where Go revives it in place on its old P (timerDeleted): the header's difference.
		 */
		t->when = when;
		pp = mp->p;
		lock(&pp->timersLock);
		doaddtimer(pp, t);
		trace_timer(mp, NPS_TIMER_ADD, t);
		unlock(&pp->timersLock);
		wakeNetPoller(when);
	}
	return pending;
}

bool resettimer(struct timer *t, int64_t when)
{
	return modtimer(t, when, t->period, t->f, t->arg, t->seq);
}

/* Run the timer at the top of the heap (timersLock held; released around the callback). */
static void runOneTimer(struct p *pp, struct timer *t, int64_t now)
{
	void (*f)(void *, uintptr_t) = t->f;
	void *arg = t->arg;
	uintptr_t seq = t->seq;
	struct m *mp = getm();
	if (t->period > 0) {
		int64_t delta = t->when - now;
		t->when += t->period * (1 + -delta / t->period);
		if (t->when < 0)
			t->when = maxWhen;
		siftdownTimer(pp, 0);
		updateTimer0When(pp);
	} else {
		dodeltimer(pp, t);
		atomic_store(&t->status, timerRunning);
	}
	struct nps_event *e = traceEv(mp, NPS_EV_TIMER, -1);
	if (e) {
		e->u.timer.op = NPS_TIMER_RUN;
		e->u.timer.when = t->when;
		e->u.timer.seq = seq;
		e->u.timer.fn = timer_fn_id(f);
		e->u.timer.tp = (nps_s16)pp->id;
		if (f == goroutineReady) {
			e->u.timer.arg = ((struct g *)arg)->goid;
		} else {
			e->u.timer.arg = (nps_u64)(uintptr_t)arg;
			e->fd = (nps_s32)pd_fd((struct pollDesc *)arg);
		}
		traceCommit(mp);
	}
	unlock(&pp->timersLock);
	if (t->period == 0) {
		uint32_t running = timerRunning;
		atomic_compare_exchange_strong(&t->status, &running, timerFree);
	}
	f(arg, seq);
	lock(&pp->timersLock);
}

/*
 * Run the timers of pp that are due. Returns now (read if 0 was passed); *pollUntil is the
 * time of the next timer (0 if none) and *ran says whether any ran. Go: checkTimers.
 */
int64_t checkTimers(struct p *pp, int64_t now, int64_t *pollUntil, bool *ran)
{
	*ran = false;
	*pollUntil = 0;
	int64_t next = atomic_load(&pp->timer0When);
	if (next == 0)
		return now;
	if (now == 0)
		now = nanotime();
	if (now < next) {
		*pollUntil = next;
		return now;
	}
	lock(&pp->timersLock);
	while (pp->ntimers > 0) {
		struct timer *t = pp->timers[0];
		if (t->when > now) {
			*pollUntil = t->when;
			break;
		}
		runOneTimer(pp, t, now);
		*ran = true;
	}
	unlock(&pp->timersLock);
	return now;
}

int64_t nobarrierWakeTime(struct p *pp)
{
	return atomic_load(&pp->timer0When);
}

int64_t timeSleepUntil(void)
{
	int64_t next = maxWhen;
	for (int32_t i = 0; i < gomaxprocs; i++) {
		int64_t w = atomic_load(&allp[i]->timer0When);
		if (w != 0 && w < next)
			next = w;
	}
	return next;
}

/*
 * A timer at when was added: if an M is blocked in netpoll past that time, break it so that it
 * recomputes its timeout; if none is polling, make sure some M comes around (Go's
 * wakeNetPoller).
 */
void wakeNetPoller(int64_t when)
{
	if (atomic_load(&sched.lastpoll) == 0) {
		int64_t pollerPollUntil = atomic_load(&sched.pollUntil);
		if (pollerPollUntil == 0 || pollerPollUntil > when)
			netpollBreak(NPS_FN_WAKENETPOLLER, when);
	} else {
		wakep();
	}
}

/* ---- time.Sleep ---- */

static void goroutineReady(void *arg, uintptr_t seq)
{
	(void)seq;
	goready((struct g *)arg);
}

static bool resetForSleep(struct g *gp, void *ut)
{
	(void)gp;
	struct timer *t = ut;
	resettimer(t, t->nextwhen);
	return true;
}

void timeSleep(int64_t ns)
{
	if (ns <= 0)
		return;
	struct g *gp = getm()->curg;
	struct timer *t = gp->timer;
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			throw("runtime: cannot allocate memory");
		t->idx = -1;
		gp->timer = t;
	}
	t->f = goroutineReady;
	t->arg = gp;
	t->nextwhen = nanotime() + ns;
	if (t->nextwhen < 0)
		t->nextwhen = maxWhen;
	gopark(resetForSleep, t, NPS_WR_SLEEP);
}

void time_sleep(int64_t ns)
{
	timeSleep(ns);
}
