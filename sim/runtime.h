/* SPDX-License-Identifier: MIT */
/*
 * The simulated Go runtime's data structures, with Go's names: g, m, p, schedt, pollDesc,
 * pollCache, timer, mutex, note. Internal to sim/: programs use sim/sim.h and sim/net.h.
 *
 * Go: runtime/runtime2.go (g, m, p, schedt), runtime/netpoll.go (pollDesc), runtime/time.go
 * (timer), runtime/lock_futex.go (mutex, note).
 *
 * What it leaves out: the garbage collector, stack growth and copying, preemption, cgo, locked
 * threads, syscalls that block a P (entersyscall/exitsyscall), signals. Each place where that
 * changes behaviour is marked SIMPLIFICATION: and listed in docs/go-mapping.md.
 */
#ifndef NPS_SIM_RUNTIME_H
#define NPS_SIM_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "traces/event.h"
#include "traces/names.h"

struct g;
struct m;
struct p;
struct timer;
struct evring;

/* ---- locks: Go: runtime/lock_futex.go ---- */

/* A futex-based lock, 8 bytes as Go's (key: 0 unlocked, 1 locked, 2 locked with sleepers). */
struct mutex {
	_Atomic uint32_t key;
	uint32_t _pad;
};
void lock(struct mutex *l);
void unlock(struct mutex *l);

/* One-shot wake-up, Go's note: key 0 = not woken, 1 = woken. */
struct note {
	_Atomic uint32_t key;
};
void noteclear(struct note *n);
void notewakeup(struct note *n);
void notesleep(struct note *n);
/* runtime.usleep (sys_linux_amd64.s): nanosleep(2) itself (libc's usleep is clock_nanosleep) */
void runtime_usleep(uint32_t usec);
bool notetsleep(struct note *n, int64_t ns); /* true if woken, false on timeout */

/* ---- goroutines: Go: runtime/runtime2.go ---- */

/* Go's _G* statuses (traces/event.h carries the same numbers). */
enum {
	_Gidle = NPS_GIDLE,
	_Grunnable = NPS_GRUNNABLE,
	_Grunning = NPS_GRUNNING,
	_Gsyscall = NPS_GSYSCALL,
	_Gwaiting = NPS_GWAITING,
	_Gdead = NPS_GDEAD,
};

/* Saved context of a goroutine (Go's gobuf): the stack pointer; the rest is on the stack. */
struct gobuf {
	void *sp;
};

struct g {
	struct gobuf sched; /* saved sp while not running; owned by whoever runs it next */
	uint64_t goid;	    /* constant from newproc; 0 for g0 */
	_Atomic uint32_t atomicstatus; /* _G*, changed by casgstatus */
	uint8_t waitreason;	       /* enum nps_waitreason, set by gopark */
	bool dying;		       /* goexit: its stack's fake frames can be dropped (ASan) */
	struct g *schedlink;	       /* run queue / gList / gQueue link */
	struct m *m;		       /* M running it, NULL when not running */
	void (*startfn)(void *);       /* the function go() started */
	void *startarg;
	struct timer *timer; /* timeSleep's timer, allocated on first sleep */
	void *param;	     /* passed by a waker (semaphores) */
	/* semaphore wait queue (Go's sudog, folded into g: one wait at a time) */
	struct g *waitlink;
	void *semaaddr;
	/* the stack: [stack_lo, stack_lo + stack_size), a PROT_NONE guard page below it */
	void *stack_lo;
	size_t stack_size;
	void *stack_map;
	size_t map_size;
	void *tsan_fiber; /* TSan fiber of this stack */
	void *asan_fake;  /* ASan fake stack saved across a switch */
};

/* An intrusive LIFO list of Gs through schedlink (Go's gList). */
struct gList {
	struct g *head;
};
/* A FIFO queue of Gs through schedlink (Go's gQueue). */
struct gQueue {
	struct g *head, *tail;
};

/* ---- Ms and Ps ---- */

struct m {
	struct g g0;	/* the scheduler's context, on the thread's own stack */
	struct g *curg; /* the user G assigned to this M, NULL in the scheduler */
	struct g *gcur; /* whichever g executes now: &g0 or curg */
	int64_t id;
	struct p *p;	 /* attached P, NULL when idle or polling */
	struct p *nextp; /* P handed over by startm */
	bool spinning;	 /* looking for work (counted in sched.nmspinning) */
	bool issysmon;
	struct note park;	/* stopm sleeps here */
	struct m *schedlink;	/* sched.midle */
	struct m *alllink;	/* allm */
	void (*mstartfn)(void); /* run first by a new M (mspinning, sysmon) */
	/* gopark's hand-off to park_m, on g0 */
	bool (*waitunlockf)(struct g *, void *);
	void *waitlock;
	uint64_t waitpd;  /* tracing: pollDesc of an IO wait */
	uint8_t waitmode; /* tracing: 'r'/'w' of an IO wait */
	/* mcall: what g0 runs after the user G switched to it */
	struct g *(*mcallfn)(struct g *);
	pid_t procid; /* OS thread id */
	pthread_t thread;
	struct evring *trace; /* this M's event ring, NULL when the event log is off */
	uint64_t cheaprand;   /* per-M random state (steal order) */
};

enum {
	_Pidle = 0,
	_Prunning = 1,
	_Psyscall = 2,
	_Pgcstop = 3,
	_Pdead = 4,
};

#define RUNQ_SIZE 256

struct p {
	int32_t id;
	_Atomic uint32_t status;   /* _P*, by its M or under sched.lock; read racily by stealers */
	struct p *link;		   /* sched.pidle */
	uint32_t schedtick;	   /* incremented on every scheduler call */
	struct m *m;		   /* M holding it, NULL when idle */
	_Atomic uint32_t runqhead; /* local run queue: lock-free, Go's algorithm */
	_Atomic uint32_t runqtail;
	_Atomic(struct g *) runq[RUNQ_SIZE];
	_Atomic(struct g *) runnext; /* G to run next, ahead of runq */
	struct {
		struct g *head; /* dead Gs with stacks, for reuse */
		int32_t n;
	} gFree;
	struct mutex timersLock; /* protects timers */
	struct timer **timers;	 /* min-heap on when */
	int32_t ntimers, timerscap;
	_Atomic int64_t timer0When; /* when of timers[0], 0 if none */
	_Atomic uint32_t numTimers;
};

/* Go's schedt, the global scheduler state. */
struct schedt {
	_Atomic uint64_t goidgen;
	_Atomic int64_t lastpoll;  /* time of the last netpoll; 0 = an M is blocked in netpoll */
	_Atomic int64_t pollUntil; /* when the blocked poller intends to wake; 0 = never */
	struct mutex lock;
	struct m *midle;	/* idle Ms waiting for work */
	_Atomic int32_t nmidle; /* written under lock; read racily by the event log */
	int64_t mnext;		/* next M id */
	struct p *pidle;	/* idle Ps */
	_Atomic int32_t npidle;
	_Atomic int32_t nmspinning;
	_Atomic uint32_t needspinning;
	struct gQueue runq;	  /* global run queue, under lock */
	_Atomic int32_t runqsize; /* under lock; read racily as a hint, as Go does */
	struct {
		struct mutex lock;
		_Atomic(struct g *) stack; /* dead Gs (with stacks); read racily as a hint */
		int32_t n;
	} gFree;
	struct note sysmonnote;
	_Atomic bool sysmonwait;
	_Atomic uint32_t exiting; /* set when main returns: Ms leave their loops */
};

extern struct schedt sched;
extern int32_t gomaxprocs;
extern int32_t ncpu;
extern struct p **allp;
extern _Atomic(struct m *) allm;

/* Bitmaps of Ps (Go's pMask): idle Ps, Ps that may have timers. */
struct pMask {
	_Atomic uint32_t *words;
};
extern struct pMask idlepMask, timerpMask;
bool pMask_read(struct pMask *pm, uint32_t id);
void pMask_set(struct pMask *pm, int32_t id);
void pMask_clear(struct pMask *pm, int32_t id);

/* ---- timers: Go: runtime/time.go (1.22 fields; see sim/time.c for the model) ---- */

struct timer {
	struct p *pp; /* heap holding it, NULL when not in a heap */
	int64_t when;
	int64_t period;
	void (*f)(void *arg, uintptr_t seq); /* "armed" for pollDesc timers means f != NULL */
	void *arg;
	int32_t idx; /* position in pp->timers, -1 when not in a heap */
	uint32_t _pad;
	uintptr_t seq;
	int64_t nextwhen;
	_Atomic uint32_t status; /* 0: not in a heap, 1: in a heap, 2: running */
	uint32_t _pad2;
};

/* ---- pollDesc: Go: runtime/netpoll.go, the same 248 bytes as Go 1.22 on amd64 ---- */

enum {
	pollNoError = 0,
	pollErrClosing = 1,
	pollErrTimeout = 2,
	pollErrNotPollable = 3,
};

#define pdNil	((uintptr_t)0)
#define pdReady ((uintptr_t)1)
#define pdWait	((uintptr_t)2)

#define pollBlockSize 4096

/* atomicInfo bits */
enum {
	pollClosing = 1 << 0,
	pollEventErr = 1 << 1,
	pollExpiredReadDeadline = 1 << 2,
	pollExpiredWriteDeadline = 1 << 3,
	pollFDSeq = 1 << 4, /* 16: used as a shift count, as in Go (spec 1.3) */
};
#define pollFDSeqBits 20
#define pollFDSeqMask ((1U << pollFDSeqBits) - 1)

/* Go's taggedPointer on amd64: 48 address bits, 19 tag bits. */
#define addrBits	  48
#define taggedPointerBits (64 - addrBits + 3)

struct pollDesc {
	struct pollDesc *link;	     /* in pollcache, protected by pollcache.lock */
	uintptr_t fd;		     /* constant for pollDesc usage lifetime */
	_Atomic uintptr_t fdseq;     /* protects against stale pollDesc */
	_Atomic uint32_t atomicInfo; /* atomic pollInfo */
	uint32_t _pad0;
	_Atomic uintptr_t rg; /* pdReady, pdWait, G waiting for read or pdNil */
	_Atomic uintptr_t wg; /* pdReady, pdWait, G waiting for write or pdNil */
	struct mutex lock;    /* protects the following fields */
	bool closing;
	_Atomic uint8_t tracelock; /* orders this pd's events in the log (sim only; Go's padding) */
	uint8_t _pad1[2];
	uint32_t user;	       /* user settable cookie (unused on Linux) */
	uintptr_t rseq;	       /* protects from stale read timers */
	struct timer rt;       /* read deadline timer (set if rt.f != NULL) */
	int64_t rd;	       /* read deadline (a nanotime in the future, -1 when expired) */
	uintptr_t wseq;	       /* protects from stale write timers */
	struct timer wt;       /* write deadline timer */
	int64_t wd;	       /* write deadline */
	struct pollDesc *self; /* storage for the timer argument (Go's makeArg) */
};

/*
 * pd->fd for the event log. The log reads it from threads that do not own the pollDesc (a stale
 * epoll event, a timer), while pollOpen may be giving the descriptor a new fd: Go never reads
 * it there, so only the log needs the atomic access (pollOpen stores it with pd_setfd).
 */
static inline int32_t pd_fd(struct pollDesc *pd)
{
	return (int32_t)__atomic_load_n(&pd->fd, __ATOMIC_RELAXED);
}

static inline void pd_setfd(struct pollDesc *pd, uintptr_t fd)
{
	__atomic_store_n(&pd->fd, fd, __ATOMIC_RELAXED);
}

struct pollCache {
	struct mutex lock;
	struct pollDesc *first;
};
extern struct pollCache pollcache;

/* ---- globals of netpoll (Go: netpoll.go, netpoll_epoll.go) ---- */

extern int32_t epfd;
extern uintptr_t netpollBreakRd, netpollBreakWr;
extern _Atomic uint32_t netpollWakeSig;
extern _Atomic uint32_t netpollInited;
extern _Atomic uint32_t netpollWaiters;

/* ---- functions shared inside sim/ ---- */

/* proc.c */
struct m *getm(void); /* the current M (TLS read, never cached across a park) */
int64_t nanotime(void);
_Noreturn void throw(const char *msg);
/* An unrecovered panic (Go: runtime/panic.go fatalpanic): "panic: msg", status 2. */
_Noreturn void fatalpanic(const char *msg);
_Noreturn void throwcode(unsigned code); /* enum nps_throw: Go's message for it */
uint32_t casgstatus(struct g *gp, uint32_t oldval, uint32_t newval, uint8_t fn);
void gopark(bool (*unlockf)(struct g *, void *), void *lock, uint8_t reason);
void goready(struct g *gp);
void ready(struct g *gp, bool next, uint8_t fn);
void injectglist(struct gList *glist, uint8_t fn);
void wakep(void);
void entersyscall_sysmon(void);
/*
 * Before a system call (Go: syscall.Syscall's entersyscall, reentersyscall): a sysmon in its
 * deep sleep is woken, so that its 10 ms netpoll rule watches a program that runs again.
 * SIMPLIFICATION: the rest of entersyscall (the P left in _Psyscall for retake to take, the
 * M's syscall accounting) is not modelled: the model has no blocking system calls.
 */
static inline void entersyscall(void)
{
	if (atomic_load_explicit(&sched.sysmonwait, memory_order_relaxed))
		entersyscall_sysmon();
}
void mcall(struct g *(*fn)(struct g *));
struct g *newproc(void (*fn)(void *), void *arg);
uint32_t cheaprand(void);
uint32_t cheaprandn(uint32_t n);
void gList_push(struct gList *l, struct g *gp);
struct g *gList_pop(struct gList *l);
static inline bool gList_empty(const struct gList *l)
{
	return l->head == NULL;
}

/* time.c */
void addtimer(struct timer *t);
bool deltimer(struct timer *t);
bool modtimer(struct timer *t, int64_t when, int64_t period, void (*f)(void *, uintptr_t),
	      void *arg, uintptr_t seq);
bool resettimer(struct timer *t, int64_t when);
int64_t checkTimers(struct p *pp, int64_t now, int64_t *pollUntil, bool *ran);
int64_t nobarrierWakeTime(struct p *pp);
int64_t timeSleepUntil(void);
void wakeNetPoller(int64_t when);
void timeSleep(int64_t ns);
uint8_t timer_fn_id(void (*f)(void *, uintptr_t));

/* netpoll.c / netpoll_epoll.c */
void netpollGenericInit(void);
bool netpollinited(void);
bool netpollAnyWaiters(void);
void netpollAdjustWaiters(int32_t delta, uint8_t fn);
struct gList netpoll(int64_t delay, int32_t *delta, uint8_t caller);
void netpollBreak(uint8_t fn, int64_t when);
void netpollinit(void);
uintptr_t netpollopen(uintptr_t fd, struct pollDesc *pd);
uintptr_t netpollclose(uintptr_t fd, struct pollDesc *pd);
bool netpollIsPollDescriptor(uintptr_t fd);
int32_t netpollready(struct gList *toRun, struct pollDesc *pd, int32_t mode);
void setEventErr(struct pollDesc *pd, bool b, uintptr_t seq);
void netpoll_shutdown(void);

struct pollDesc *poll_runtime_pollOpen(uintptr_t fd, int *errno_out);
void poll_runtime_pollClose(struct pollDesc *pd);
int poll_runtime_pollReset(struct pollDesc *pd, int mode);
int poll_runtime_pollWait(struct pollDesc *pd, int mode);
void poll_runtime_pollSetDeadline(struct pollDesc *pd, int64_t d, int mode);
/* The deadline timers' functions (pd.rt.f, pd.wt.f): both modes, read, write. */
void netpollDeadline(void *arg, uintptr_t seq);
void netpollReadDeadline(void *arg, uintptr_t seq);
void netpollWriteDeadline(void *arg, uintptr_t seq);
void poll_runtime_pollUnblock(struct pollDesc *pd);
void poll_runtime_pollServerInit(void);

/* used across sim/ files and by the tests (Go's export_test.go) */
bool netpollblock(struct pollDesc *pd, int32_t mode, bool waitio);
bool netpollblockcommit(struct g *gp, void *gpp);
struct g *netpollunblock(struct pollDesc *pd, int32_t mode, bool ioready, int32_t *delta,
			 uint8_t fn);
int netpollcheckerr_for_test(struct pollDesc *pd, int32_t mode);
uint64_t taggedPointerPack(void *ptr, uintptr_t tag);
void netpoll_cache_stats(uint64_t *inuse, uint64_t *freelist, uint64_t *blocks);
void netpoll_counts(uint64_t *calls, uint64_t *breaks);
extern void (*testHookAfterAnnounce)(struct pollDesc *pd, int32_t mode);
extern void (*testHookBeforeBlockingPoll)(void);

/* sema.c: Go: runtime/sema.go */
void semacquire1(uint32_t *addr, uint8_t reason);
void semrelease1(uint32_t *addr, bool handoff);

#endif /* NPS_SIM_RUNTIME_H */
