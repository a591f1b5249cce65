/* SPDX-License-Identifier: MIT */
/*
 * The simulated Go runtime, as programs see it: start it, start goroutines, sleep, wait for a
 * group of goroutines. Networking is in sim/net.h. A program written against these reads like
 * a small Go program: main starts goroutines with go(fn, arg), they block in net reads and
 * writes, and the runtime's netpoller wakes them.
 *
 * One runtime per process (Go has one too): sim_run() may be called once.
 */
#ifndef NPS_SIM_SIM_H
#define NPS_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

struct evmerge;

#define NPS_SIM_RING_ORDER 16 /* the default size of each M's event ring: 2^16 events */

struct sim_config {
	int gomaxprocs;	       /* number of Ps; 0 = number of CPUs, as Go */
	bool events;	       /* record the event log (docs/event-stream.md) */
	unsigned ring_order;   /* each M's ring holds 2^ring_order events; 0 = NPS_SIM_RING_ORDER */
	struct evmerge *merge; /* where the Ms' rings are registered (required when events) */
	uint64_t seed;	       /* seeds the scheduler's random choices (steal order) */
};

/*
 * Start the runtime on the calling thread, which becomes M0, run main_fn(arg) as the main
 * goroutine, and return when it returns (as Go's program ends when main returns: goroutines
 * still parked are abandoned). Returns 0, or -errno if the runtime could not start.
 */
int sim_run(const struct sim_config *cfg, void (*main_fn)(void *), void *arg);

/* The CPUs this process may run on (its affinity mask): GOMAXPROCS's default, as Go's. */
int32_t getproccount(void);

/* Start a goroutine running fn(arg) (Go: newproc). */
void go(void (*fn)(void *), void *arg);

/* Sleep the calling goroutine for ns nanoseconds (Go: time.Sleep -> timeSleep). */
void time_sleep(int64_t ns);

/* Yield the processor (Go: runtime.Gosched). */
void gosched(void);

/* CLOCK_MONOTONIC, in ns: the runtime's clock (Go: nanotime). */
int64_t sim_now(void);

/* The running goroutine's id (0 outside goroutines). */
uint64_t sim_goid(void);

/* A sync.WaitGroup: Add, Done, Wait (Go: sync/waitgroup.go, on runtime semaphores). */
struct waitgroup {
	_Atomic uint64_t state; /* high 32 bits: counter, low 32: waiters */
	uint32_t sema;
};
void wg_add(struct waitgroup *wg, int delta);
void wg_done(struct waitgroup *wg);
void wg_wait(struct waitgroup *wg);

/* Counters of the runtime, for summaries and tests. */
struct sim_stats {
	uint64_t pd_inuse;	/* pollDescs handed out and not freed */
	uint64_t pd_free;	/* pollDescs on pollcache's free list */
	uint64_t pd_blocks;	/* pollBlockSize blocks allocated */
	uint64_t pd_per_block;	/* pollBlockSize / sizeof(pollDesc) */
	uint64_t goroutines;	/* created so far */
	uint64_t ms;		/* Ms (threads) created, sysmon included */
	uint32_t waiters;	/* netpollWaiters now */
	uint64_t netpolls;	/* netpoll calls */
	uint64_t breaks;	/* netpollBreak writes */
	uint64_t seed;		/* cheaprand's: --seed, else the clock */
	int epfd;		/* the epoll fd, -1 before netpollinit */
	int break_rd, break_wr; /* the break pipe */
};
void sim_stats(struct sim_stats *st);

/* Called (on the throwing thread) before a fatal runtime error exits the process with status 2. */
void sim_set_throw_hook(void (*hook)(const char *msg));

/*
 * Called by netpollinit on its thread once the epoll fd and the break pipe exist, before
 * netpollinit returns: nothing can use the pipe before the hook has returned. Not Go's (see
 * docs/go-mapping.md): `run` attaches the break pipe's kernel probes there.
 */
void sim_set_netpollinit_hook(void (*hook)(int epfd, int break_rd, int break_wr));

/* Emit a note into the event log, from any thread (scenarios narrate with it). */
void sim_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Scenario hook: run netpoll(0) from the current goroutine (caller "other"). */
int sim_netpoll_now(void);

#endif /* NPS_SIM_SIM_H */
