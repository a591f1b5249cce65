// SPDX-License-Identifier: MIT
/*
 * The scheduler: goroutines (G), OS threads (M), processors (P). Go: runtime/proc.go, with the
 * same functions in the same order of decisions: schedule -> findRunnable (local run queue,
 * global queue, non-blocking netpoll when there are waiters, work stealing, then the blocking
 * netpoll done by at most one M, guarded by the sched.lastpoll swap) -> execute; gopark and
 * park_m with the unlock function run after the goroutine is off its stack; ready/goready into
 * runnext; injectglist for the Gs a netpoll returns; wakep/startm/stopm for spinning and idle
 * Ms; sysmon with its 20 us .. 10 ms sleep and its 10 ms netpoll rule.
 *
 * What it leaves out (docs/go-mapping.md lists each; SIMPLIFICATION: marks the places where the
 * code that stays differs): preemption and retake, syscalls that release a P
 * (entersyscall/exitsyscall, handoffp: no goroutine here makes a blocking syscall), the GC and
 * its workers, locked threads (LockOSThread: nothing here locks one), checkdead's deadlock
 * report, per-P goid caches, trace reader goroutines.
 */
#include "sim/gogo.h"
#include "sim/runtime.h"
#include "sim/sim.h"
#include "sim/trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct schedt sched;
int32_t gomaxprocs;
int32_t ncpu;
struct p **allp;
_Atomic(struct m *) allm;
struct pMask idlepMask, timerpMask;
bool nps_trace_on;

static struct evmerge *trace_merge;
static unsigned trace_ring_order = NPS_SIM_RING_ORDER;
static struct evring *aux_ring; /* notes from threads that are not Ms */
static pthread_mutex_t aux_lock = PTHREAD_MUTEX_INITIALIZER;
static struct m m0;
static bool mainStarted;
static _Atomic int32_t live_threads; /* M threads other than M0 still running */
static _Atomic int sim_started;
static void (*throw_hook)(const char *msg);
static uint64_t rand_seed;
static _Atomic uint64_t nmcreated;

/* Go's forcegcperiod / 2: sysmon's longest deep sleep. */
#define sysmon_max_sleep (60LL * 1000 * 1000 * 1000)

int64_t nanotime(void)
{
	return (int64_t)nps_nanotime();
}

int64_t sim_now(void)
{
	return nanotime();
}

/* ---- fatal errors: Go: runtime/panic.go throw ---- */

/*
 * SIMPLIFICATION: Go prints "fatal error: <msg>" (a throw) or "panic: <msg>" (an unrecovered
 * panic) and a traceback of every goroutine and exits with status 2; here the message, the
 * running goroutine's header line, and the same status. Both are logged as a throw event and
 * call the hook (run finishes its trace).
 */
_Noreturn static void fatal(const char *prefix, const char *msg)
{
	int code = nps_throw_from_msg(msg);
	struct m *mp = getm();
	struct nps_event *e = traceEv(mp, NPS_EV_THROW, -1);
	if (e) {
		e->u.thr.msg = (nps_u16)(code > 0 ? code : NPS_THROW_OTHER);
		traceCommit(mp);
	}
	fprintf(stderr, "%s%s\n", prefix, msg);
	if (mp && mp->curg)
		fprintf(stderr, "\ngoroutine %llu [running]:\n",
			(unsigned long long)mp->curg->goid);
	fflush(stderr);
	if (throw_hook)
		throw_hook(msg);
	_exit(2);
}

_Noreturn void throw(const char *msg)
{
	fatal("fatal error: ", msg);
}

_Noreturn void fatalpanic(const char *msg)
{
	fatal("panic: ", msg);
}

_Noreturn void throwcode(unsigned code)
{
	const char *msg = nps_throw_msg(code);
	throw(msg ? msg : "runtime: internal error");
}

void sim_set_throw_hook(void (*hook)(const char *msg))
{
	throw_hook = hook;
}

/*
 * ---- randomness: Go's cheaprand and cheaprandn (rand.go), seeded by --seed ----
 * SIMPLIFICATION: the per-M generator is xorshift64*, not 1.22's wyrand; the reduction to
 * [0, n) is Go's. It only picks where work stealing starts.
 */

uint32_t cheaprand(void)
{
	struct m *mp = getm();
	uint64_t x = mp ? mp->cheaprand : rand_seed;
	/* xorshift64*: small and good enough for choosing where to steal from */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	if (mp)
		mp->cheaprand = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

uint32_t cheaprandn(uint32_t n)
{
	return (uint32_t)(((uint64_t)cheaprand() * n) >> 32);
}

/* ---- pMask ---- */

bool pMask_read(struct pMask *pm, uint32_t id)
{
	return (atomic_load(&pm->words[id / 32]) >> (id % 32)) & 1;
}

void pMask_set(struct pMask *pm, int32_t id)
{
	atomic_fetch_or(&pm->words[id / 32], 1U << (id % 32));
}

void pMask_clear(struct pMask *pm, int32_t id)
{
	atomic_fetch_and(&pm->words[id / 32], ~(1U << (id % 32)));
}

/* ---- goroutine status ---- */

static uint32_t casgstatus_where(struct g *gp, uint32_t oldval, uint32_t newval, uint8_t fn,
				 uint8_t where, int32_t wherep)
{
	uint32_t exp = oldval;
	/* INVARIANT */
	if (oldval == newval) {
		fprintf(stderr, "runtime: casgstatus: oldval=%#x newval=%#x\n", oldval, newval);
		throw("casgstatus: bad incoming values");
	}
	if (!atomic_compare_exchange_strong(&gp->atomicstatus, &exp, newval)) {
		/* a goroutine readied twice: Go's one check in its CAS loop */
		if (oldval == _Gwaiting && exp == _Grunnable)
			throw("casgstatus: waiting for Gwaiting but is Grunnable");
		/*
		 * SIMPLIFICATION: Go's loop waits for a _Gscan bit (the GC scanning the stack) to
		 * clear, and would spin forever on any other mismatch; this model has no GC and no
		 * scan bits, so any other mismatch is a bug: it throws instead of hanging.
		 */
		fprintf(stderr, "runtime: casgstatus: oldval=%#x newval=%#x status=%#x goid=%llu\n",
			oldval, newval, exp, (unsigned long long)gp->goid);
		throw("casgstatus: bad incoming values");
	}
	trace_gstatus(getm(), gp, oldval, newval, fn, where, wherep);
	return oldval;
}

uint32_t casgstatus(struct g *gp, uint32_t oldval, uint32_t newval, uint8_t fn)
{
	return casgstatus_where(gp, oldval, newval, fn, NPS_RQ_NONE, -1);
}

/* ---- gList / gQueue ---- */

void gList_push(struct gList *l, struct g *gp)
{
	gp->schedlink = l->head;
	l->head = gp;
}

struct g *gList_pop(struct gList *l)
{
	struct g *gp = l->head;
	if (gp)
		l->head = gp->schedlink;
	return gp;
}

static void gQueue_pushBack(struct gQueue *q, struct g *gp)
{
	gp->schedlink = NULL;
	if (q->tail)
		q->tail->schedlink = gp;
	else
		q->head = gp;
	q->tail = gp;
}

static void gQueue_pushBackAll(struct gQueue *q, struct gQueue q2)
{
	if (!q2.tail)
		return;
	q2.tail->schedlink = NULL;
	if (q->tail)
		q->tail->schedlink = q2.head;
	else
		q->head = q2.head;
	q->tail = q2.tail;
}

static struct g *gQueue_pop(struct gQueue *q)
{
	struct g *gp = q->head;
	if (gp) {
		q->head = gp->schedlink;
		if (!q->head)
			q->tail = NULL;
	}
	return gp;
}

/* ---- run queues: Go's lock-free per-P ring and the global queue ---- */

static bool runqempty(struct p *pp)
{
	/* Re-read tail so that a concurrent runnext kick-out is not missed (Go's comment). */
	for (;;) {
		uint32_t head = atomic_load(&pp->runqhead);
		uint32_t tail = atomic_load(&pp->runqtail);
		struct g *runnext = atomic_load(&pp->runnext);
		if (tail == atomic_load(&pp->runqtail))
			return head == tail && runnext == NULL;
	}
}

static void globrunqput(struct g *gp)
{
	gQueue_pushBack(&sched.runq, gp);
	sched.runqsize++;
}

static void globrunqputbatch(struct gQueue *batch, int32_t n)
{
	gQueue_pushBackAll(&sched.runq, *batch);
	sched.runqsize += n;
	batch->head = batch->tail = NULL;
}

/* Put g and a batch of work from the local runnable queue on the global queue. */
static bool runqputslow(struct p *pp, struct g *gp, uint32_t h, uint32_t t)
{
	struct g *batch[RUNQ_SIZE / 2 + 1];
	uint32_t n = (t - h) / 2;
	/* INVARIANT */
	if (n != RUNQ_SIZE / 2)
		throw("runqputslow: queue is not full");
	for (uint32_t i = 0; i < n; i++)
		batch[i] = atomic_load(&pp->runq[(h + i) % RUNQ_SIZE]);
	if (!atomic_compare_exchange_strong(&pp->runqhead, &h, h + n))
		return false;
	batch[n] = gp;
	for (uint32_t i = 0; i < n; i++)
		batch[i]->schedlink = batch[i + 1];
	struct gQueue q = {batch[0], batch[n]};
	lock(&sched.lock);
	globrunqputbatch(&q, (int32_t)(n + 1));
	unlock(&sched.lock);
	return true;
}

static void runqput(struct p *pp, struct g *gp, bool next)
{
	if (next) {
		struct g *oldnext = atomic_load(&pp->runnext);
		while (!atomic_compare_exchange_weak(&pp->runnext, &oldnext, gp))
			;
		if (!oldnext)
			return;
		/* Kick the old runnext out to the regular run queue. */
		gp = oldnext;
	}
	for (;;) {
		uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
		if (t - h < RUNQ_SIZE) {
			atomic_store_explicit(&pp->runq[t % RUNQ_SIZE], gp, memory_order_relaxed);
			atomic_store_explicit(&pp->runqtail, t + 1, memory_order_release);
			return;
		}
		if (runqputslow(pp, gp, h, t))
			return;
	}
}

/* Where runqput will put a G (for the event log, emitted before the G is published). */
static uint8_t runqput_where(struct p *pp, bool next)
{
	if (next)
		return NPS_RQ_RUNNEXT;
	uint32_t h = atomic_load(&pp->runqhead), t = atomic_load(&pp->runqtail);
	return t - h < RUNQ_SIZE ? NPS_RQ_LOCAL : NPS_RQ_GLOBAL;
}

static void runqputbatch(struct p *pp, struct gQueue *q, int qsize)
{
	uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
	uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
	uint32_t n = 0;
	while (q->head && t - h < RUNQ_SIZE) {
		struct g *gp = gQueue_pop(q);
		atomic_store_explicit(&pp->runq[t % RUNQ_SIZE], gp, memory_order_relaxed);
		t++;
		n++;
	}
	qsize -= (int)n;
	atomic_store_explicit(&pp->runqtail, t, memory_order_release);
	if (q->head) {
		lock(&sched.lock);
		globrunqputbatch(q, qsize);
		unlock(&sched.lock);
	}
}

static struct g *runqget(struct p *pp, bool *inheritTime)
{
	struct g *next = atomic_load(&pp->runnext);
	if (next && atomic_compare_exchange_strong(&pp->runnext, &next, NULL)) {
		*inheritTime = true;
		return next;
	}
	for (;;) {
		uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
		if (t == h) {
			*inheritTime = false;
			return NULL;
		}
		struct g *gp = atomic_load_explicit(&pp->runq[h % RUNQ_SIZE], memory_order_relaxed);
		if (atomic_compare_exchange_strong_explicit(
			&pp->runqhead, &h, h + 1, memory_order_release, memory_order_relaxed)) {
			*inheritTime = false;
			return gp;
		}
	}
}

/* Grab a batch of Gs from pp's run queue into batch (Go's runqgrab). */
static uint32_t runqgrab(struct p *pp, _Atomic(struct g *) *batch, uint32_t batchHead,
			 bool stealRunNextG)
{
	for (;;) {
		uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_acquire);
		uint32_t n = t - h;
		n = n - n / 2;
		if (n == 0) {
			if (stealRunNextG) {
				struct g *next = atomic_load(&pp->runnext);
				if (next) {
					/*
					 * A running P that just readied a G usually runs it next;
					 * give it a moment before stealing (Go sleeps 3 us).
					 */
					if (pp->status == _Prunning)
						runtime_usleep(3);
					if (!atomic_compare_exchange_strong(&pp->runnext, &next,
									    NULL))
						continue;
					atomic_store(&batch[batchHead % RUNQ_SIZE], next);
					return 1;
				}
			}
			return 0;
		}
		if (n > RUNQ_SIZE / 2) /* read inconsistent h and t */
			continue;
		for (uint32_t i = 0; i < n; i++) {
			struct g *gp = atomic_load(&pp->runq[(h + i) % RUNQ_SIZE]);
			atomic_store(&batch[(batchHead + i) % RUNQ_SIZE], gp);
		}
		if (atomic_compare_exchange_strong_explicit(
			&pp->runqhead, &h, h + n, memory_order_release, memory_order_relaxed))
			return n;
	}
}

static struct g *runqsteal(struct p *pp, struct p *p2, bool stealRunNextG)
{
	uint32_t t = atomic_load(&pp->runqtail);
	uint32_t n = runqgrab(p2, pp->runq, t, stealRunNextG);
	if (n == 0)
		return NULL;
	trace_sched(getm(), NPS_SCHED_STEAL, -1, p2->id, n);
	n--;
	struct g *gp = atomic_load(&pp->runq[(t + n) % RUNQ_SIZE]);
	if (n == 0)
		return gp;
	uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
	/* INVARIANT */
	if (t - h + n >= RUNQ_SIZE)
		throw("runqsteal: runq overflow");
	atomic_store_explicit(&pp->runqtail, t + n, memory_order_release);
	return gp;
}

/* Take a batch from the global queue; sched.lock held. */
static struct g *globrunqget(struct p *pp, int32_t max)
{
	if (sched.runqsize == 0)
		return NULL;
	int32_t n = sched.runqsize / gomaxprocs + 1;
	if (n > sched.runqsize)
		n = sched.runqsize;
	if (max > 0 && n > max)
		n = max;
	if (n > RUNQ_SIZE / 2)
		n = RUNQ_SIZE / 2;
	sched.runqsize -= n;
	struct g *gp = gQueue_pop(&sched.runq);
	n--;
	for (; n > 0; n--)
		runqput(pp, gQueue_pop(&sched.runq), false);
	return gp;
}

/* ---- idle Ps and Ms (sched.lock held) ---- */

static int64_t pidleput(struct p *pp, int64_t now)
{
	/* INVARIANT */
	if (!runqempty(pp))
		throw("pidleput: P has non-empty run queue");
	if (now == 0)
		now = nanotime();
	if (atomic_load(&pp->numTimers) == 0)
		pMask_clear(&timerpMask, pp->id); /* updateTimerPMask */
	pMask_set(&idlepMask, pp->id);
	pp->link = sched.pidle;
	sched.pidle = pp;
	atomic_fetch_add(&sched.npidle, 1);
	trace_sched(getm(), NPS_SCHED_PIDLEPUT, -1, pp->id, 0);
	return now;
}

static struct p *pidleget(int64_t now)
{
	(void)now;
	struct p *pp = sched.pidle;
	if (pp) {
		pMask_set(&timerpMask, pp->id);
		pMask_clear(&idlepMask, pp->id);
		sched.pidle = pp->link;
		atomic_fetch_sub(&sched.npidle, 1);
		trace_sched(getm(), NPS_SCHED_PIDLEGET, -1, pp->id, 0);
	}
	return pp;
}

static struct p *pidlegetSpinning(int64_t now)
{
	struct p *pp = pidleget(now);
	if (!pp) {
		/* A spinning M wanted a P: ask the next M that releases one to spin instead. */
		atomic_store(&sched.needspinning, 1);
		return NULL;
	}
	return pp;
}

static void mput(struct m *mp)
{
	mp->schedlink = sched.midle;
	sched.midle = mp;
	sched.nmidle++;
	/* SIMPLIFICATION: Go runs checkdead() here to report "all goroutines are asleep". */
}

static struct m *mget(void)
{
	struct m *mp = sched.midle;
	if (mp) {
		sched.midle = mp->schedlink;
		sched.nmidle--;
	}
	return mp;
}

/* ---- Ps and Ms ---- */

static void acquirep(struct p *pp)
{
	struct m *mp = getm();
	/* INVARIANT: Go's wirep */
	if (mp->p)
		throw("wirep: already in go");
	if (pp->m || pp->status != _Pidle) {
		fprintf(stderr, "wirep: p->m=%p p->status=%u\n", (void *)pp->m, pp->status);
		throw("wirep: invalid p state");
	}
	mp->p = pp;
	pp->m = mp;
	pp->status = _Prunning;
	trace_sched(mp, NPS_SCHED_ACQUIREP, -1, pp->id, 0);
}

static struct p *releasep(void)
{
	struct m *mp = getm();
	struct p *pp = mp->p;
	/* INVARIANT */
	if (!pp)
		throw("releasep: invalid arg");
	if (pp->m != mp || pp->status != _Prunning) {
		fprintf(stderr, "releasep: m=%p m->p=%p p->m=%p p->status=%u\n", (void *)mp,
			(void *)pp, (void *)pp->m, pp->status);
		throw("releasep: invalid p state");
	}
	trace_sched(mp, NPS_SCHED_RELEASEP, -1, pp->id, 0);
	mp->p = NULL;
	pp->m = NULL;
	pp->status = _Pidle;
	return pp;
}

static void becomeSpinning(struct m *mp)
{
	mp->spinning = true;
	atomic_fetch_add(&sched.nmspinning, 1);
	atomic_store(&sched.needspinning, 0);
	trace_sched(mp, NPS_SCHED_SPINNING, -1, -1, 0);
}

static void resetspinning(void)
{
	struct m *mp = getm();
	/* INVARIANT */
	if (!mp->spinning)
		throw("resetspinning: not a spinning m");
	mp->spinning = false;
	if (atomic_fetch_sub(&sched.nmspinning, 1) - 1 < 0)
		throw("findrunnable: negative nmspinning");
	trace_sched(mp, NPS_SCHED_UNSPIN, -1, -1, 0);
	/*
	 * This M found work while spinning: if there may be more, another M should look. Go's
	 * comment: "M wakeup policy is deliberately somewhat conservative".
	 */
	wakep();
}

static void mspinning(void)
{
	getm()->spinning = true;
}

static void *mstart(void *arg);

static struct m *allocm(struct p *pp, void (*fn)(void), int64_t id)
{
	(void)pp;
	struct m *mp = aligned_alloc(64, (sizeof(struct m) + 63) & ~(size_t)63);
	if (!mp)
		throw("runtime: cannot allocate memory");
	memset(mp, 0, sizeof(*mp));
	mp->id = id;
	mp->mstartfn = fn;
	mp->cheaprand = rand_seed ^ ((uint64_t)(id + 1) * 0x9E3779B97F4A7C15ULL);
	if (!mp->cheaprand)
		mp->cheaprand = 1;
	if (nps_trace_on) {
		mp->trace = evring_new(trace_ring_order, (int32_t)id, NPS_SRC_SIM);
		if (!mp->trace)
			throw("runtime: cannot allocate memory");
		evmerge_add(trace_merge, mp->trace);
	}
	struct m *old = atomic_load(&allm);
	do
		mp->alllink = old;
	while (!atomic_compare_exchange_weak(&allm, &old, mp));
	atomic_fetch_add(&nmcreated, 1);
	return mp;
}

static int64_t mReserveID(void)
{
	return sched.mnext++;
}

static void newm(void (*fn)(void), struct p *pp, int64_t id)
{
	struct m *mp = allocm(pp, fn, id);
	mp->nextp = pp;
	trace_sched(getm(), NPS_SCHED_NEWM, (int32_t)mp->id, pp ? pp->id : -1, 0);
	atomic_fetch_add(&live_threads, 1);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 1024 * 1024);
	int err = pthread_create(&mp->thread, &attr, mstart, mp);
	pthread_attr_destroy(&attr);
	if (err) {
		fprintf(stderr, "runtime: failed to create new OS thread (%s)\n", strerror(err));
		throw("newosproc");
	}
}

static void startm(struct p *pp, bool spinning, bool lockheld)
{
	if (!lockheld)
		lock(&sched.lock);
	if (!pp) {
		/* INVARIANT */
		if (spinning)
			throw("startm: P required for spinning=true");
		pp = pidleget(0);
		if (!pp) {
			if (!lockheld)
				unlock(&sched.lock);
			return;
		}
	}
	struct m *nmp = mget();
	if (!nmp) {
		int64_t id = mReserveID();
		unlock(&sched.lock);
		newm(spinning ? mspinning : NULL, pp, id);
		if (lockheld)
			lock(&sched.lock);
		return;
	}
	if (!lockheld)
		unlock(&sched.lock);
	/* INVARIANT */
	if (nmp->spinning)
		throw("startm: m is spinning");
	if (nmp->nextp)
		throw("startm: m has p");
	if (spinning && !runqempty(pp))
		throw("startm: p has runnable gs");
	nmp->spinning = spinning;
	nmp->nextp = pp;
	trace_sched(getm(), NPS_SCHED_STARTM, (int32_t)nmp->id, pp->id, spinning);
	notewakeup(&nmp->park);
}

void wakep(void)
{
	/* Be conservative: at most one spinning M at a time is woken by wakep. */
	int32_t zero = 0;
	if (atomic_load(&sched.nmspinning) != 0 ||
	    !atomic_compare_exchange_strong(&sched.nmspinning, &zero, 1))
		return;
	lock(&sched.lock);
	struct p *pp = pidlegetSpinning(0);
	if (!pp) {
		if (atomic_fetch_sub(&sched.nmspinning, 1) - 1 < 0)
			throw("wakep: negative nmspinning");
		unlock(&sched.lock);
		return;
	}
	unlock(&sched.lock);
	trace_sched(getm(), NPS_SCHED_WAKEP, -1, pp->id, 0);
	startm(pp, true, false);
}

/* Stop this M until new work is handed to it (Go's stopm). */
static void stopm(void)
{
	struct m *mp = getm();
	/* INVARIANT */
	if (mp->p)
		throw("stopm holding p");
	if (mp->spinning)
		throw("stopm spinning");
	lock(&sched.lock);
	/* SIMPLIFICATION (sim_exit): an M that stops after main returned is not put on the idle
	 * list; it goes back to mstart, which ends the thread. */
	if (atomic_load(&sched.exiting)) {
		unlock(&sched.lock);
		return;
	}
	mput(mp);
	/*
	 * Go's stopm: lock, mput, unlock, mPark. Logged after mput, as the event says (nmidle
	 * "after": this M is counted), and before the unlock, so that the startm that takes it
	 * off the idle list (mget) is logged after it.
	 */
	trace_sched(mp, NPS_SCHED_STOPM, -1, -1, 0);
	unlock(&sched.lock);
	notesleep(&mp->park); /* mPark */
	noteclear(&mp->park);
	if (!mp->nextp)
		return; /* SIMPLIFICATION (sim_exit): woken by the runtime's exit, with no P */
	struct p *pp = mp->nextp;
	/* Go's stopm: mPark returns (this M wakes, with the P startm handed it), then acquirep. */
	trace_sched(mp, NPS_SCHED_MWAKE, -1, pp->id, mp->spinning);
	acquirep(pp);
	mp->nextp = NULL;
}

/* ---- goroutines: creation, exit, park, ready ---- */

static struct g *malg(void)
{
	struct g *gp = calloc(1, sizeof(*gp));
	if (!gp)
		throw("runtime: cannot allocate memory");
	int err = stack_alloc(gp, NPS_STACK_SIZE);
	if (err) {
		fprintf(stderr, "runtime: cannot allocate goroutine stack: %s\n", strerror(-err));
		throw("out of memory");
	}
	atomic_store(&gp->atomicstatus, _Gdead);
	return gp;
}

/* Put a dead G on the P's free list, spilling to the global one (Go's gfput). */
static void gfput(struct p *pp, struct g *gp)
{
	gp->schedlink = pp->gFree.head;
	pp->gFree.head = gp;
	pp->gFree.n++;
	if (pp->gFree.n >= 64) {
		lock(&sched.gFree.lock);
		while (pp->gFree.n >= 32) {
			struct g *x = pp->gFree.head;
			pp->gFree.head = x->schedlink;
			pp->gFree.n--;
			x->schedlink = sched.gFree.stack;
			sched.gFree.stack = x;
			sched.gFree.n++;
		}
		unlock(&sched.gFree.lock);
	}
}

static struct g *gfget(struct p *pp)
{
	if (!pp->gFree.head && sched.gFree.stack) {
		lock(&sched.gFree.lock);
		while (pp->gFree.n < 32 && sched.gFree.stack) {
			struct g *x = sched.gFree.stack;
			sched.gFree.stack = x->schedlink;
			sched.gFree.n--;
			x->schedlink = pp->gFree.head;
			pp->gFree.head = x;
			pp->gFree.n++;
		}
		unlock(&sched.gFree.lock);
	}
	struct g *gp = pp->gFree.head;
	if (gp) {
		pp->gFree.head = gp->schedlink;
		pp->gFree.n--;
	}
	return gp;
}

struct g *newproc(void (*fn)(void *), void *arg)
{
	struct m *mp = getm();
	struct p *pp = mp->p;
	struct g *newg = gfget(pp);
	if (!newg)
		newg = malg();
	/* INVARIANT */
	if (atomic_load(&newg->atomicstatus) != _Gdead)
		throw("newproc1: new g is not Gdead");
	stack_prepare(newg);
	newg->startfn = fn;
	newg->startarg = arg;
	newg->dying = false;
	newg->asan_fake = NULL;
	newg->waitreason = NPS_WR_ZERO;
	/* SIMPLIFICATION: one global goid counter instead of Go's per-P goidcache batches. */
	newg->goid = atomic_fetch_add(&sched.goidgen, 1) + 1;
	casgstatus_where(newg, _Gdead, _Grunnable, NPS_FN_NEWPROC, NPS_RQ_RUNNEXT, pp->id);
	runqput(pp, newg, true);
	if (mainStarted)
		wakep();
	return newg;
}

void go(void (*fn)(void *), void *arg)
{
	newproc(fn, arg);
}

static void dropg(void)
{
	struct m *mp = getm();
	if (mp->curg) {
		mp->curg->m = NULL;
		mp->curg = NULL;
	}
}

void mcall(struct g *(*fn)(struct g *))
{
	struct m *mp = getm();
	struct g *gp = mp->curg;
	mp->mcallfn = fn;
	mp->gcur = &mp->g0;
	gogo_switch(gp, &mp->g0);
	/* Resumed, possibly on another M: nothing here may use mp. */
}

static struct g *goexit0(struct g *gp)
{
	struct m *mp = getm();
	casgstatus(gp, _Grunning, _Gdead, NPS_FN_GOEXIT0);
	dropg();
	gp->startfn = NULL;
	gp->startarg = NULL;
	gp->param = NULL;
	gfput(mp->p, gp);
	return NULL;
}

/* The first C frame of every goroutine (called from nps_gostart_tramp). */
_Noreturn void nps_gostart(void);
_Noreturn void nps_gostart(void)
{
	struct g *gp = getm()->curg;
	gogo_started(gp);
	gp->startfn(gp->startarg);
	/* goexit1: the goroutine's stack is no longer needed once g0 runs goexit0. */
	gp = getm()->curg;
	gp->dying = true;
	mcall(goexit0);
	throw("runtime: mcall function returned"); /* badmcall2, from asm_amd64.s's mcall */
}

static struct g *park_m(struct g *gp)
{
	struct m *mp = getm();
	casgstatus(gp, _Grunning, _Gwaiting, NPS_FN_PARK_M);
	dropg();
	bool (*fn)(struct g *, void *) = mp->waitunlockf;
	mp->waitunlockf = NULL;
	if (fn) {
		bool ok = fn(gp, mp->waitlock);
		mp->waitlock = NULL;
		mp->waitpd = 0;
		mp->waitmode = 0;
		if (!ok) {
			/* The unlock function said no (netpollblockcommit lost its CAS): run gp again. */
			casgstatus(gp, _Gwaiting, _Grunnable, NPS_FN_PARK_M);
			return gp;
		}
	}
	return NULL;
}

void gopark(bool (*unlockf)(struct g *, void *), void *lockp, uint8_t reason)
{
	struct m *mp = getm();
	struct g *gp = mp->curg;
	/* INVARIANT */
	if (atomic_load(&gp->atomicstatus) != _Grunning)
		throw("gopark: bad g status");
	mp->waitlock = lockp;
	mp->waitunlockf = unlockf;
	gp->waitreason = reason;
	mcall(park_m);
}

void ready(struct g *gp, bool next, uint8_t fn)
{
	struct m *mp = getm();
	/* INVARIANT */
	if (atomic_load(&gp->atomicstatus) != _Gwaiting)
		throw("bad g->status in ready");
	casgstatus_where(gp, _Gwaiting, _Grunnable, fn, runqput_where(mp->p, next), mp->p->id);
	runqput(mp->p, gp, next);
	wakep();
}

void goready(struct g *gp)
{
	ready(gp, true, NPS_FN_GOREADY);
}

/* Go: gosched_m, goschedImpl. SIMPLIFICATION: no "bad g status" throw (only running Gs yield). */
static struct g *gosched_m(struct g *gp)
{
	casgstatus_where(gp, _Grunning, _Grunnable, NPS_FN_GOSCHED_M, NPS_RQ_GLOBAL, -1);
	dropg();
	lock(&sched.lock);
	globrunqput(gp);
	unlock(&sched.lock);
	if (mainStarted)
		wakep();
	return NULL;
}

void gosched(void)
{
	mcall(gosched_m);
}

uint64_t sim_goid(void)
{
	struct m *mp = getm();
	return mp && mp->curg ? mp->curg->goid : 0;
}

/* Start up to n idle Ps with Ms to run what was just put on the global queue (injectglist's). */
static void startIdle(int n)
{
	for (int i = 0; i < n; i++) {
		lock(&sched.lock);
		struct p *pp = pidlegetSpinning(0);
		if (!pp) {
			unlock(&sched.lock);
			break;
		}
		startm(pp, false, true);
		unlock(&sched.lock);
	}
}

/*
 * Put a list of runnable Gs on run queues: on the global queue when this M has no P, else as
 * many as there are idle Ps on the global queue (starting those Ps) and the rest on the
 * local queue (Go's injectglist).
 */
void injectglist(struct gList *glist, uint8_t fn)
{
	if (gList_empty(glist))
		return;
	struct m *mp = getm();
	struct p *pp = mp->p;
	/*
	 * SIMPLIFICATION: sched.npidle is read before the Gs are marked runnable (Go reads it
	 * after), so that each G's gstatus event can say which queue it goes to. The split can
	 * differ from Go's only if a P goes idle or busy in between. A G said to go to the local
	 * queue that runqputbatch finds full goes to the global queue, as in Go, unsaid.
	 */
	int32_t npidle = pp ? atomic_load(&sched.npidle) : 0;
	struct g *head = glist->head, *tail = NULL;
	int qsize = 0;
	for (struct g *gp = head; gp; gp = gp->schedlink) {
		uint8_t where = (!pp || qsize < npidle) ? NPS_RQ_GLOBAL : NPS_RQ_LOCAL;
		tail = gp;
		qsize++;
		casgstatus_where(gp, _Gwaiting, _Grunnable, fn, where,
				 where == NPS_RQ_LOCAL ? pp->id : -1);
	}
	struct gQueue q = {head, tail};
	glist->head = NULL;

	if (!pp) {
		lock(&sched.lock);
		globrunqputbatch(&q, qsize);
		unlock(&sched.lock);
		startIdle(qsize);
		return;
	}
	struct gQueue globq = {NULL, NULL};
	int n;
	for (n = 0; n < npidle && q.head; n++)
		gQueue_pushBack(&globq, gQueue_pop(&q));
	if (n > 0) {
		lock(&sched.lock);
		globrunqputbatch(&globq, n);
		unlock(&sched.lock);
		startIdle(n);
		qsize -= n;
	}
	if (q.head)
		runqputbatch(pp, &q, qsize);
}

/* ---- stealing ---- */

/* Go's randomOrder: visit all Ps in a random order with a stride coprime to their count. */
static uint32_t *stealCoprimes;
static uint32_t stealNCoprimes;

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static void stealOrder_reset(uint32_t count)
{
	stealCoprimes = calloc(count, sizeof(uint32_t));
	if (!stealCoprimes)
		throw("runtime: cannot allocate memory");
	stealNCoprimes = 0;
	for (uint32_t i = 1; i <= count; i++)
		if (gcd(i, count) == 1)
			stealCoprimes[stealNCoprimes++] = i;
}

static struct g *stealWork(int64_t now, bool *inheritTime, int64_t *rnow, int64_t *pollUntil,
			   bool *newWork)
{
	struct m *mp = getm();
	struct p *pp = mp->p;
	bool ranTimer = false;
	const int stealTries = 4;
	*pollUntil = 0;
	*inheritTime = false;
	for (int i = 0; i < stealTries; i++) {
		bool stealTimersOrRunNextG = i == stealTries - 1;
		uint32_t r = cheaprand(); /* stealOrder.start(cheaprand()) */
		uint32_t count = (uint32_t)gomaxprocs;
		uint32_t pos = r % count;
		uint32_t inc = stealCoprimes[r / count % stealNCoprimes];
		for (uint32_t k = 0; k < count; k++, pos = (pos + inc) % count) {
			struct p *p2 = allp[pos];
			if (pp == p2)
				continue;
			if (stealTimersOrRunNextG && pMask_read(&timerpMask, pos)) {
				bool ran = false;
				int64_t w = 0;
				now = checkTimers(p2, now, &w, &ran);
				if (w != 0 && (*pollUntil == 0 || w < *pollUntil))
					*pollUntil = w;
				if (ran) {
					/* Timers of p2 readied Gs onto our P: run them. */
					struct g *gp = runqget(pp, inheritTime);
					if (gp) {
						*rnow = now;
						*newWork = ranTimer;
						return gp;
					}
					ranTimer = true;
				}
			}
			if (!pMask_read(&idlepMask, pos)) {
				struct g *gp = runqsteal(pp, p2, stealTimersOrRunNextG);
				if (gp) {
					*rnow = now;
					*newWork = ranTimer;
					return gp;
				}
			}
		}
	}
	*rnow = now;
	*newWork = ranTimer;
	return NULL;
}

static struct p *checkRunqsNoP(void)
{
	for (int32_t id = 0; id < gomaxprocs; id++) {
		if (!pMask_read(&idlepMask, (uint32_t)id) && !runqempty(allp[id])) {
			lock(&sched.lock);
			struct p *pp = pidlegetSpinning(0);
			unlock(&sched.lock);
			return pp;
		}
	}
	return NULL;
}

static int64_t checkTimersNoP(int64_t pollUntil)
{
	for (int32_t id = 0; id < gomaxprocs; id++) {
		if (pMask_read(&timerpMask, (uint32_t)id)) {
			int64_t w = nobarrierWakeTime(allp[id]);
			if (w != 0 && (pollUntil == 0 || w < pollUntil))
				pollUntil = w;
		}
	}
	return pollUntil;
}

/*
 * SIMPLIFICATION: a test hook Go does not have: called by findRunnable once this M has given
 * up its P, just before it tries to become the blocked poller, so a test can hold it in the
 * window where the runtime's exit may overtake it.
 */
void (*testHookBeforeBlockingPoll)(void);

static inline bool exiting(void)
{
	return atomic_load_explicit(&sched.exiting, memory_order_acquire) != 0;
}

/*
 * Find a runnable goroutine to execute: local and global run queues, the non-blocking poll,
 * stealing from other Ps, and, when there is nothing, the blocking poll until the next timer
 * (at most one M at a time) or stopm. Returns NULL only when the runtime is exiting.
 * Go: runtime/proc.go findRunnable.
 * SIMPLIFICATION: the GC steps (gcstopm, GC workers, idle mark work), the trace reader, the
 * finalizer goroutine, runSafePointFn and cgo_yield are left out, and so are the faketime
 * branches (the playground's) and wasm's beforeIdle; the rest keeps Go's order.
 */
static struct g *findRunnable(bool *inheritTime, bool *tryWakeP)
{
	struct m *mp = getm();
	*tryWakeP = false;
top:
	/* SIMPLIFICATION (sim_exit): the runtime winds down here; Go's exit(0) ends the process */
	if (exiting())
		return NULL;
	struct p *pp = mp->p;
	int64_t pollUntil = 0;
	bool ran = false;
	int64_t now = checkTimers(pp, 0, &pollUntil, &ran);

	/* Check the global runnable queue once in a while to ensure fairness. */
	if (pp->schedtick % 61 == 0 && sched.runqsize > 0) {
		lock(&sched.lock);
		struct g *gp = globrunqget(pp, 1);
		unlock(&sched.lock);
		if (gp) {
			*inheritTime = false;
			return gp;
		}
	}

	struct g *gp = runqget(pp, inheritTime);
	if (gp)
		return gp;

	if (sched.runqsize != 0) {
		lock(&sched.lock);
		gp = globrunqget(pp, 0);
		unlock(&sched.lock);
		if (gp) {
			*inheritTime = false;
			return gp;
		}
	}

	/*
	 * Poll network: an optimization before we resort to stealing. Only when there are
	 * waiters and no M is blocked in netpoll (lastpoll != 0).
	 */
	if (netpollinited() && netpollAnyWaiters() && atomic_load(&sched.lastpoll) != 0) {
		int32_t delta = 0;
		struct gList list = netpoll(0, &delta, NPS_NPC_FINDRUNNABLE);
		if (!gList_empty(&list)) {
			gp = gList_pop(&list);
			injectglist(&list, NPS_FN_INJECTGLIST);
			netpollAdjustWaiters(delta, NPS_FN_FINDRUNNABLE);
			casgstatus(gp, _Gwaiting, _Grunnable, NPS_FN_FINDRUNNABLE);
			*inheritTime = false;
			return gp;
		}
	}

	/* Spinning Ms: steal work. Limit spinning Ms to half the number of busy Ps. */
	if (mp->spinning ||
	    2 * atomic_load(&sched.nmspinning) < gomaxprocs - atomic_load(&sched.npidle)) {
		if (!mp->spinning)
			becomeSpinning(mp);
		int64_t tnow = now, w = 0;
		bool newWork = false;
		gp = stealWork(now, inheritTime, &tnow, &w, &newWork);
		if (gp)
			return gp;
		if (newWork)
			goto top;
		now = tnow;
		if (w != 0 && (pollUntil == 0 || w < pollUntil))
			pollUntil = w;
	}

	/* Nothing to do: give up the P and prepare to block. */
	lock(&sched.lock);
	if (sched.runqsize != 0) {
		gp = globrunqget(pp, 0);
		unlock(&sched.lock);
		*inheritTime = false;
		return gp;
	}
	if (!mp->spinning && atomic_load(&sched.needspinning) == 1) {
		/* See pidlegetSpinning: someone wanted a spinning M. */
		becomeSpinning(mp);
		unlock(&sched.lock);
		goto top;
	}
	if (releasep() != pp)
		throw("findrunnable: wrong p");
	now = pidleput(pp, now);
	unlock(&sched.lock);

	/*
	 * Delicate dance: this M is no longer spinning, but work may have been submitted since we
	 * last looked; re-check everything after dropping nmspinning (Go's long comment).
	 */
	bool wasSpinning = mp->spinning;
	if (mp->spinning) {
		mp->spinning = false;
		if (atomic_fetch_sub(&sched.nmspinning, 1) - 1 < 0)
			throw("findrunnable: negative nmspinning");
		trace_sched(mp, NPS_SCHED_UNSPIN, -1, -1, 0);

		lock(&sched.lock);
		if (sched.runqsize != 0) {
			struct p *np = pidlegetSpinning(0);
			if (np) {
				gp = globrunqget(np, 0);
				if (!gp)
					throw("global runq empty with non-zero runqsize");
				unlock(&sched.lock);
				acquirep(np);
				becomeSpinning(mp);
				*inheritTime = false;
				return gp;
			}
		}
		unlock(&sched.lock);

		struct p *np = checkRunqsNoP();
		if (np) {
			acquirep(np);
			becomeSpinning(mp);
			goto top;
		}
		pollUntil = checkTimersNoP(pollUntil);
	}

	if (testHookBeforeBlockingPoll)
		testHookBeforeBlockingPoll();
	/* Poll network until the next timer: this M becomes the one blocked poller. */
	if (netpollinited() && (netpollAnyWaiters() || pollUntil != 0) &&
	    atomic_exchange(&sched.lastpoll, 0) != 0) {
		/*
		 * SIMPLIFICATION (sim_exit): Go needs no check here, its exit(0) ends the process
		 * whatever its Ms are doing. Here every M must leave, and sim_exit's one
		 * netpollBreak wakes only the M that is the poller when the byte is drained: an M
		 * that passed the check at top before the exit and wins lastpoll after that poller
		 * left would sleep in netpoll(-1) forever (nothing else writes the pipe while
		 * readers stay parked). Now the poller, it sees the flag (seq_cst, as sim_exit's
		 * store), or sim_exit's break is still ahead of it.
		 */
		if (atomic_load(&sched.exiting)) {
			atomic_store(&sched.lastpoll, nanotime());
			return NULL;
		}
		atomic_store(&sched.pollUntil, pollUntil);
		/* INVARIANT */
		if (mp->p)
			throwcode(NPS_THROW_NETPOLL_WITH_P);
		if (mp->spinning)
			throwcode(NPS_THROW_NETPOLL_WITH_SPINNING);
		int64_t delay = -1;
		if (pollUntil != 0) {
			if (now == 0)
				now = nanotime();
			delay = pollUntil - now;
			if (delay < 0)
				delay = 0;
		}
		trace_sched(mp, NPS_SCHED_LASTPOLL, -1, -1, delay);
		int32_t delta = 0;
		struct gList list = netpoll(delay, &delta, NPS_NPC_FINDRUNNABLE_BLOCK);
		now = nanotime();
		atomic_store(&sched.pollUntil, 0);
		atomic_store(&sched.lastpoll, now);
		if (exiting()) {
			/*
			 * SIMPLIFICATION (sim_exit): Gs readied by this last poll are abandoned
			 * with everything else, neither injected nor taken off netpollWaiters.
			 */
			return NULL;
		}
		lock(&sched.lock);
		struct p *np = pidleget(now);
		unlock(&sched.lock);
		if (!np) {
			injectglist(&list, NPS_FN_INJECTGLIST);
			netpollAdjustWaiters(delta, NPS_FN_FINDRUNNABLE);
		} else {
			acquirep(np);
			if (!gList_empty(&list)) {
				gp = gList_pop(&list);
				injectglist(&list, NPS_FN_INJECTGLIST);
				netpollAdjustWaiters(delta, NPS_FN_FINDRUNNABLE);
				casgstatus(gp, _Gwaiting, _Grunnable, NPS_FN_FINDRUNNABLE);
				*inheritTime = false;
				return gp;
			}
			if (wasSpinning)
				becomeSpinning(mp);
			goto top;
		}
	} else if (pollUntil != 0 && netpollinited()) {
		int64_t pollerPollUntil = atomic_load(&sched.pollUntil);
		if (pollerPollUntil == 0 || pollerPollUntil > pollUntil)
			netpollBreak(NPS_FN_FINDRUNNABLE, pollUntil);
	}
	stopm();
	goto top;
}

static void execute(struct g *gp, bool inheritTime)
{
	struct m *mp = getm();
	mp->curg = gp;
	gp->m = mp;
	casgstatus(gp, _Grunnable, _Grunning, NPS_FN_EXECUTE);
	if (!inheritTime)
		mp->p->schedtick++;
	mp->gcur = gp;
	gogo_switch(&mp->g0, gp);
	/* gp called mcall: back on g0 with mp->mcallfn to run. */
}

/*
 * One round of scheduler: find a runnable goroutine and execute it, forever.
 * SIMPLIFICATION: Go's schedule() never returns because mcall resets g0's stack and every
 * mcall function ends by calling schedule() or execute() again; here execute returns to this
 * loop when the
 * goroutine mcalls, and the mcall function (park_m, goexit0, gosched_m) says whether to
 * resume the same goroutine at once. Returns when the runtime exits.
 */
static void schedule(void)
{
	struct m *mp = getm();
	for (;;) {
		struct p *pp = mp->p;
		/* INVARIANT */
		if (pp && mp->spinning && (atomic_load(&pp->runnext) || !runqempty(pp)))
			throw("schedule: spinning with local work");
		bool inheritTime = false, tryWakeP = false;
		struct g *gp = findRunnable(&inheritTime, &tryWakeP);
		if (!gp)
			return;
		/*
		 * This M is about to run a goroutine: if it was spinning, stop, and maybe start
		 * another spinning M for the remaining work.
		 */
		if (mp->spinning)
			resetspinning();
		if (tryWakeP)
			wakep();
		while (gp) {
			execute(gp, inheritTime);
			gp = mp->mcallfn(mp->curg);
			inheritTime = true;
		}
	}
}

/* ---- sysmon: Go: runtime/proc.go sysmon ---- */

static void sysmon(void)
{
	struct m *mp = getm();
	mp->issysmon = true;
	int idle = 0;
	uint32_t delay = 0;
	for (;;) {
		if (exiting())
			return; /* SIMPLIFICATION (sim_exit): Go's sysmon never returns */
		if (idle == 0)
			delay = 20; /* start with 20 us sleep... */
		else if (idle > 50)
			delay *= 2; /* start doubling the sleep after 1 ms... */
		if (delay > 10 * 1000)
			delay = 10 * 1000; /* up to 10 ms */
		runtime_usleep(delay);
		int64_t now = nanotime();
		if (atomic_load(&sched.npidle) == gomaxprocs) {
			lock(&sched.lock);
			if (atomic_load(&sched.npidle) == gomaxprocs && !exiting()) {
				bool syscallWake = false;
				int64_t next = timeSleepUntil();
				if (next > now) {
					atomic_store(&sched.sysmonwait, true);
					unlock(&sched.lock);
					int64_t sleep = sysmon_max_sleep;
					if (next - now < sleep)
						sleep = next - now;
					struct nps_event *e = traceEv(mp, NPS_EV_SYSMON, -1);
					if (e) {
						e->u.sysmon.op = NPS_SYSMON_SLEEP;
						e->u.sysmon.sleep = sleep;
						e->u.sysmon.idle = (nps_u32)idle;
						traceCommit(mp);
					}
					syscallWake = notetsleep(&sched.sysmonnote, sleep);
					lock(&sched.lock);
					atomic_store(&sched.sysmonwait, false);
					noteclear(&sched.sysmonnote);
				}
				if (syscallWake) {
					idle = 0;
					delay = 20;
				}
			}
			unlock(&sched.lock);
		}
		now = nanotime();
		int64_t lastpoll = atomic_load(&sched.lastpoll);
		/* Poll network if not polled for more than 10 ms. */
		if (netpollinited() && lastpoll != 0 && lastpoll + 10 * 1000 * 1000 < now) {
			atomic_compare_exchange_strong(&sched.lastpoll, &lastpoll, now);
			struct nps_event *e = traceEv(mp, NPS_EV_SYSMON, -1);
			if (e) {
				e->u.sysmon.op = NPS_SYSMON_POLL;
				e->u.sysmon.lastpoll = lastpoll;
				e->u.sysmon.idle = (nps_u32)idle;
				e->u.sysmon.sleep = delay;
				traceCommit(mp);
			}
			int32_t delta = 0;
			struct gList list = netpoll(0, &delta, NPS_NPC_SYSMON);
			if (!gList_empty(&list)) {
				/* SIMPLIFICATION: no incidlelocked dance (no checkdead). */
				injectglist(&list, NPS_FN_SYSMON);
				netpollAdjustWaiters(delta, NPS_FN_SYSMON);
			}
		}
		/*
		 * SIMPLIFICATION: retake() never hands off a P (no syscalls hold Ps, no
		 * preemption), so idle only grows and sysmon settles at 10 ms sleeps.
		 */
		idle++;
	}
}

/* ---- start and exit ---- */

/* Name the thread after its M ("nps-M3", "nps-sysmon"), as top -H and gdb show it. */
static void name_thread(struct m *mp)
{
	char name[16];
	if (mp->mstartfn == sysmon)
		snprintf(name, sizeof(name), "nps-sysmon");
	else
		snprintf(name, sizeof(name), "nps-M%lld", (long long)mp->id);
	pthread_setname_np(pthread_self(), name);
}

static void *mstart(void *arg)
{
	struct m *mp = arg;
	setm(mp);
	name_thread(mp);
	mp->procid = gettid();
	g0_init(&mp->g0);
	mp->gcur = &mp->g0;
	if (mp->mstartfn)
		mp->mstartfn();
	/* SIMPLIFICATION (sim_exit): an M started while the runtime winds down does not schedule */
	if (!mp->issysmon && !exiting()) {
		struct p *pp = mp->nextp;
		mp->nextp = NULL;
		acquirep(pp);
		schedule();
	}
	trace_sched(mp, NPS_SCHED_MEXIT, -1, -1, 0);
	atomic_fetch_sub(&live_threads, 1);
	return NULL;
}

/*
 * Main returned: stop every M.
 * SIMPLIFICATION: Go's runtime.main calls exit(0) and the process ends with every goroutine;
 * here the runtime winds down (Ms leave their loops, the epoll fd and pipe are closed) so the
 * program that embeds it can print its summary and flush its trace. Idle Ms are woken here,
 * the M in netpoll by the break; an M that becomes the poller after that break was drained
 * sees the flag in findRunnable instead.
 */
/* Go's entersyscall_sysmon (proc.go): wake a sysmon in its deep sleep. */
void entersyscall_sysmon(void)
{
	lock(&sched.lock);
	if (atomic_load(&sched.sysmonwait)) {
		atomic_store(&sched.sysmonwait, false);
		notewakeup(&sched.sysmonnote);
	}
	unlock(&sched.lock);
}

static void sim_exit(void)
{
	atomic_store(&sched.exiting, 1);
	lock(&sched.lock);
	struct m *mp;
	while ((mp = mget()) != NULL)
		notewakeup(&mp->park);
	if (atomic_load(&sched.sysmonwait)) {
		atomic_store(&sched.sysmonwait, false);
		notewakeup(&sched.sysmonnote);
	}
	unlock(&sched.lock);
	if (netpollinited())
		netpollBreak(NPS_FN_MAIN, 0);
}

struct main_arg {
	void (*fn)(void *);
	void *arg;
};

/* Go's runtime.main: start sysmon, run main.main, exit. */
static void runtime_main(void *arg)
{
	struct main_arg *ma = arg;
	lock(&sched.lock);
	int64_t id = mReserveID();
	unlock(&sched.lock);
	newm(sysmon, NULL, id);
	ma->fn(ma->arg);
	sim_exit();
}

static void raise_nofile(void)
{
	/* Go raises the soft RLIMIT_NOFILE to the hard limit at start-up (syscall/rlimit.go). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void procresize(int32_t nprocs)
{
	allp = calloc((size_t)nprocs, sizeof(*allp));
	size_t words = ((size_t)nprocs + 31) / 32;
	idlepMask.words = calloc(words, sizeof(uint32_t));
	timerpMask.words = calloc(words, sizeof(uint32_t));
	if (!allp || !idlepMask.words || !timerpMask.words)
		throw("runtime: cannot allocate memory");
	for (int32_t i = 0; i < nprocs; i++) {
		struct p *pp = aligned_alloc(64, (sizeof(struct p) + 63) & ~(size_t)63);
		if (!pp)
			throw("runtime: cannot allocate memory");
		memset(pp, 0, sizeof(*pp));
		pp->id = i;
		pp->status = _Pidle;
		allp[i] = pp;
	}
	stealOrder_reset((uint32_t)nprocs);
	acquirep(allp[0]);
	lock(&sched.lock);
	for (int32_t i = nprocs - 1; i >= 1; i--)
		pidleput(allp[i], 0);
	unlock(&sched.lock);
}

/*
 * The number of CPUs this process may run on: the bits set in its sched_getaffinity mask, so
 * `taskset -c 0` means one (Go: runtime/os_linux.go getproccount, with its 64K-CPU buffer and
 * its 1 when the call fails or the mask is empty). Not _SC_NPROCESSORS_ONLN, which counts the
 * machine's online CPUs whatever the affinity.
 */
int32_t getproccount(void)
{
	unsigned char buf[64 * 1024 / 8]; /* Go's maxCPUs = 64K, one bit each */
	/* The raw syscall, as Go: it returns the mask's size in bytes, glibc's wrapper 0. */
	long r = syscall(SYS_sched_getaffinity, 0, sizeof(buf), buf);
	if (r < 0)
		return 1;
	int32_t n = 0;
	for (long i = 0; i < r; i++)
		n += __builtin_popcount(buf[i]);
	return n == 0 ? 1 : n;
}

int sim_run(const struct sim_config *cfg, void (*main_fn)(void *), void *arg)
{
	if (atomic_exchange(&sim_started, 1))
		return -EALREADY;
	if (cfg->events && !cfg->merge)
		return -EINVAL;
	ncpu = getproccount();
	/* SIMPLIFICATION: Go's schedinit lets $GOMAXPROCS override ncpu; here the caller does. */
	gomaxprocs = cfg->gomaxprocs > 0 ? cfg->gomaxprocs : ncpu;
	if (gomaxprocs > 256) /* SIMPLIFICATION: Go 1.22 has no such limit (docs/go-mapping.md) */
		return -EINVAL;
	nps_trace_on = cfg->events;
	trace_merge = cfg->merge;
	if (cfg->ring_order)
		trace_ring_order = cfg->ring_order;
	rand_seed = cfg->seed ? cfg->seed : (uint64_t)nanotime();
	raise_nofile();
	if (nps_trace_on) {
		aux_ring = evring_new(12, -1, NPS_SRC_SIM);
		if (!aux_ring)
			return -ENOMEM;
		evmerge_add(trace_merge, aux_ring);
	}

	/* M0 is this thread (Go's m0). */
	struct m *mp = &m0;
	mp->id = sched.mnext++;
	mp->cheaprand = rand_seed | 1;
	if (nps_trace_on) {
		mp->trace = evring_new(trace_ring_order, 0, NPS_SRC_SIM);
		if (!mp->trace)
			return -ENOMEM;
		evmerge_add(trace_merge, mp->trace);
	}
	atomic_store(&allm, mp);
	atomic_fetch_add(&nmcreated, 1);
	setm(mp);
	mp->procid = gettid();
	if (mp->procid != getpid())
		name_thread(mp); /* M0 on a thread of its own (not the process's main thread) */
	g0_init(&mp->g0);
	mp->gcur = &mp->g0;

	atomic_store(&sched.lastpoll, nanotime());
	procresize(gomaxprocs);

	struct main_arg ma = {main_fn, arg};
	newproc(runtime_main, &ma);
	mainStarted = true;
	schedule();

	/* Exiting: wait for every other M to leave, then release what the OS would. */
	if (mp->p) {
		/* keep P0: nothing runs any more */
	}
	while (atomic_load(&live_threads) > 0)
		usleep(200);
	for (struct m *x = atomic_load(&allm); x; x = x->alllink)
		if (x != &m0)
			pthread_join(x->thread, NULL);
	trace_sched(mp, NPS_SCHED_MEXIT, -1, -1, 0);
	netpoll_shutdown();
	return 0;
}

/* ---- notes and stats ---- */

/*
 * The length of a note's next piece: at most NPS_NOTE_LEN bytes of s (n long), not cutting a
 * UTF-8 character in two (a continuation byte is 10xxxxxx).
 */
static size_t note_piece(const char *s, size_t n)
{
	if (n <= NPS_NOTE_LEN)
		return n;
	size_t k = NPS_NOTE_LEN;
	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	return k ? k : NPS_NOTE_LEN;
}

void trace_note(const char *fmt, ...)
{
	char text[NPS_NOTE_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!nps_trace_on)
		return;
	/* in pieces of one event each, consecutive in this producer's ring (NPS_NOTE_MORE) */
	struct m *mp = getm();
	if (!mp)
		pthread_mutex_lock(&aux_lock);
	for (size_t off = 0, n = strlen(text);;) {
		size_t k = note_piece(text + off, n - off);
		struct nps_event *e =
		    mp ? traceEv(mp, NPS_EV_NOTE, -1) : evring_begin(aux_ring, NPS_EV_NOTE);
		if (e) {
			e->sub = off + k < n ? NPS_NOTE_MORE : 0;
			memset(e->u.note.text, 0, NPS_NOTE_LEN);
			memcpy(e->u.note.text, text + off, k);
			if (mp) {
				traceCommit(mp);
			} else {
				e->tid = (nps_u32)gettid();
				evring_commit(aux_ring);
			}
		}
		off += k;
		if (off >= n)
			break;
	}
	if (!mp)
		pthread_mutex_unlock(&aux_lock);
}

void sim_note(const char *fmt, ...)
{
	char text[NPS_NOTE_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	trace_note("%s", text);
}

void sim_stats(struct sim_stats *st)
{
	memset(st, 0, sizeof(*st));
	netpoll_cache_stats(&st->pd_inuse, &st->pd_free, &st->pd_blocks);
	st->pd_per_block = pollBlockSize / sizeof(struct pollDesc);
	st->goroutines = atomic_load(&sched.goidgen);
	st->ms = atomic_load(&nmcreated);
	st->waiters = atomic_load(&netpollWaiters);
	netpoll_counts(&st->netpolls, &st->breaks);
	st->seed = rand_seed;
	/*
	 * Published by netpollInited, as Go's readers of epfd rely on; atomic because
	 * netpoll_shutdown sets it while a run's forced end may be reading it.
	 */
	st->epfd = netpollinited() ? __atomic_load_n(&epfd, __ATOMIC_RELAXED) : -1;
	st->break_rd = st->epfd >= 0 ? (int)netpollBreakRd : -1;
	st->break_wr = st->epfd >= 0 ? (int)netpollBreakWr : -1;
}

/*
 * A netpoll(0) from the current goroutine, its Gs injected into the run queues: what
 * findRunnable's non-blocking poll does, run at a point a lesson chooses. Returns the number of
 * goroutines readied.
 * SIMPLIFICATION: Go has no such entry point; the ready-before-park lesson uses it only when
 * GOMAXPROCS=1 leaves no other M to poll at the instant it needs (sysmon would, within 10 ms).
 */
int sim_netpoll_now(void)
{
	int32_t delta = 0;
	struct gList list = netpoll(0, &delta, NPS_NPC_OTHER);
	int n = 0;
	for (struct g *gp = list.head; gp; gp = gp->schedlink)
		n++;
	injectglist(&list, NPS_FN_INJECTGLIST);
	netpollAdjustWaiters(delta, NPS_FN_NETPOLL);
	return n;
}
