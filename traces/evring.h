/* SPDX-License-Identifier: MIT */
/*
 * Event rings: the per-producer buffers of the event log, and the merge that turns them into
 * one stream in timestamp order.
 *
 * Each producer (an M of the simulated runtime: one OS thread) owns one ring and writes to it
 * with no lock: evring_begin() takes the timestamp and returns a slot, evring_commit()
 * publishes it. By default a full ring never blocks the producer: the event is counted as lost,
 * and the next event that fits is preceded by an NPS_EV_LOST event carrying the count and the
 * time of the first loss, so losses appear in the stream where they happened. A merge whose
 * consumer writes a complete record asks its rings to wait for room instead
 * (evmerge_wait_when_full).
 *
 * The consumer does not wait for that report to learn of a loss: as soon as a ring starts losing,
 * evmerge_drain() announces it with an NPS_EV_LOST of count 0 (sub 1) at the time of the first
 * loss, before any later event of another ring, so that what is folded after it is not checked
 * against a history with a hole in it.
 *
 * One consumer thread calls evmerge_drain(), which releases, across all rings, every event
 * older than a watermark no producer can still undercut: the time at which the drain started,
 * lowered to the last published timestamp of any producer caught between taking a timestamp
 * and publishing. The merged output is therefore in timestamp order.
 */
#ifndef NPS_TRACES_EVRING_H
#define NPS_TRACES_EVRING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "traces/event.h"

struct evring {
	/* producer side (one cache line) */
	_Atomic uint64_t head;	     /* next slot to write; written by the producer only */
	_Atomic uint32_t inflight;   /* 1 between the timestamp and the publish */
	uint32_t mask;		     /* slots - 1 */
	_Atomic uint64_t last_ts;    /* ts of the last published event */
	uint64_t pending_lost;	     /* events lost since the last NPS_EV_LOST written */
	uint64_t pending_lost_ts;    /* ts of the first of them */
	_Atomic uint64_t lost;	     /* total events lost (read by anyone) */
	uint64_t wpos;		     /* slot reserved by evring_begin, published by evring_commit */
	uint64_t tail_seen;	     /* the consumer's tail as last read: re-read only when it
					says the ring is full, so the producer does not pull the
					consumer's cache line across CPUs on every event */
	bool reported;		     /* a loss report is among the slots to publish */
	_Atomic bool wait_full;	     /* wait for room rather than lose (evmerge_wait_when_full) */
	_Atomic uint64_t waits;	     /* events that waited for room */
	_Atomic uint64_t waited_ns;  /* and the time they waited, in all */
	_Atomic uint64_t loss_since; /* ts of the first loss not yet reported in the ring, 0 none */
	/* consumer side (its own cache line) */
	_Alignas(64) _Atomic uint64_t tail; /* next slot to read; written by the consumer only */
	uint64_t dhead;			    /* consumer: head as the current drain read it */
	uint64_t scanned;	    /* consumer: slots before this were searched for loss reports */
	uint64_t noted;		    /* consumer: the latest loss start queued for announcement */
	uint64_t announce[16];	    /* consumer: loss starts to announce, oldest first */
	uint64_t ann_stamp, ann_ns; /* consumer: the last loss start delivered, and its ns */
	uint32_t nannounce;
	struct nps_event *slots;
	struct evring *next; /* registry link (evmerge) */
	int32_t id;	     /* producer id, for the lost events' m field */
	uint8_t src;	     /* enum nps_src of its events */
};

/* CLOCK_MONOTONIC in ns. */
static inline uint64_t nps_nanotime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * The rings' clock. A producer stamps each event with the cheapest read that still orders it
 * after what its M saw: when the kernel keeps CLOCK_MONOTONIC on the TSC (x86-64), the TSC
 * read as the vDSO reads it (lfence; rdtsc) without the vDSO's conversion to ns; otherwise
 * clock_gettime. The merge converts stamps to CLOCK_MONOTONIC ns as it delivers them
 * (evmerge_drain), from (TSC, clock_gettime) pairs it reads at each drain: every delivered event
 * carries CLOCK_MONOTONIC ns, the clock of the kernel's bpf_ktime_get_ns.
 *
 * The announcing store (evring_begin) is plain when the process could register for
 * membarrier(2): the consumer's membarrier then does the producer's half of the fence
 * (watermark, in evring.c). Together: ~17 ns an event instead of ~30 on this machine
 * (bench/eventcost), with ~14 events a round trip.
 */
struct nps_evclock {
	bool tsc;   /* stamps are TSC ticks, converted on delivery */
	bool fence; /* the consumer fences with membarrier: the producer's store can be plain */
};
extern struct nps_evclock nps_evclock;

void nps_evclock_init(void); /* once per process (evring_new and evmerge_new call it) */

static inline uint64_t nps_evstamp(void)
{
#if defined(__x86_64__)
	if (__builtin_expect(nps_evclock.tsc, 1)) {
		uint32_t lo, hi;
		/* lfence: the read waits for the loads before it, as the vDSO's rdtsc_ordered */
		__asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
		return (uint64_t)hi << 32 | lo;
	}
#endif
	return nps_nanotime();
}

/* A ring of 2^order slots (order 4..24). NULL on ENOMEM. evring_free(NULL) is a no-op. */
struct evring *evring_new(unsigned order, int32_t id, uint8_t src);
void evring_free(struct evring *r);

/*
 * Reserve the next slot and stamp it: ts = now, kind, src, m = id; the rest zeroed (fd = -1,
 * p = -1). Returns NULL (and counts a loss) when the ring is full. Must be followed by
 * evring_commit() when non-NULL.
 */
static inline struct nps_event *evring_begin(struct evring *r, uint16_t kind);
static inline void evring_commit(struct evring *r);

/* Drop the event begun by evring_begin (a loss report written with it is still published). */
void evring_cancel(struct evring *r);

/* Events lost by this ring so far. */
static inline uint64_t evring_lost(const struct evring *r)
{
	return atomic_load_explicit(&r->lost, memory_order_relaxed);
}

/*
 * The producer's path, inline: it runs for every event of the runtime. The slow paths (a loss
 * to report or to count, a ring that looks full) are in evring.c.
 */
static inline void evring_stamp(struct nps_event *e, const struct evring *r, uint64_t ts,
				uint16_t kind)
{
	memset(e, 0, sizeof(*e));
	e->ts = ts;
	e->kind = kind;
	e->src = r->src;
	e->m = (nps_s16)r->id;
	e->p = -1;
	e->fd = -1;
}

struct nps_event *evring_begin_slow(struct evring *r, uint16_t kind, uint64_t ts);
void evring_reported(struct evring *r);

static inline struct nps_event *evring_begin(struct evring *r, uint16_t kind)
{
	/*
	 * Announce before reading the clock: a consumer that does not see inflight set knows this
	 * event's timestamp will be later than its own clock read (see evmerge_drain).
	 */
	if (__builtin_expect(nps_evclock.fence, 1)) {
		atomic_store_explicit(&r->inflight, 1, memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
	} else {
		atomic_store_explicit(&r->inflight, 1, memory_order_seq_cst);
	}
	uint64_t ts = nps_evstamp();
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* The common case: no loss to report, and room by the tail already seen. */
	if (__builtin_expect(r->pending_lost || h - r->tail_seen > r->mask, 0))
		return evring_begin_slow(r, kind, ts);
	r->wpos = h;
	struct nps_event *e = &r->slots[h & r->mask];
	evring_stamp(e, r, ts, kind);
	return e;
}

/* Publish the slots before head (evring_commit, evring_cancel). */
static inline void evring_publish(struct evring *r, uint64_t head)
{
	atomic_store_explicit(&r->last_ts, r->slots[(head - 1) & r->mask].ts, memory_order_relaxed);
	atomic_store_explicit(&r->head, head, memory_order_release);
	if (__builtin_expect(r->reported, 0))
		evring_reported(r);
}

static inline void evring_commit(struct evring *r)
{
	evring_publish(r, r->wpos + 1);
	atomic_store_explicit(&r->inflight, 0, memory_order_release);
}

/* The merge of several rings. Rings are added by any thread; drained by one consumer. */
struct evmerge;

struct evmerge *evmerge_new(void);
void evmerge_free(struct evmerge *m); /* frees the rings too */
void evmerge_add(struct evmerge *m, struct evring *r);

/*
 * Deliver, in timestamp order, every event that is safe to release and not after limit (all of
 * them when final is true and limit is UINT64_MAX: call it so once every producer has stopped;
 * it then also reports, last, the losses the producers never had room to report).
 * *upto (may be NULL) gets the watermark used: every
 * event at or before it has now been delivered, and no later drain will deliver an older one.
 * cb returns 0 to go on; a non-zero return stops the drain and is returned. Returns 0 otherwise.
 */
typedef int (*evmerge_cb)(void *ctx, const struct nps_event *e);
int evmerge_drain(struct evmerge *m, bool final, uint64_t limit, uint64_t *upto, evmerge_cb cb,
		  void *ctx);

/* Totals over all rings: events lost, and events currently buffered. */
uint64_t evmerge_lost(struct evmerge *m);
uint64_t evmerge_pending(struct evmerge *m);

/*
 * The consumer's count of the buffered events stamped at or before ns (CLOCK_MONOTONIC), and in
 * *first (may be NULL) the oldest one's ns (UINT64_MAX when none): what an end that cannot
 * wait for the producers to stop leaves undelivered (cli/cmd_run.c, a forced end).
 */
uint64_t evmerge_pending_upto(struct evmerge *m, uint64_t ns, uint64_t *first);

/*
 * on: from now on, a producer whose ring is full waits until the consumer makes room, instead
 * of losing the event: for a consumer that writes a record that must be complete, at the price
 * of slowing the producers to its pace. While it is on, the consumer must keep draining until
 * every producer has stopped. off: full rings lose events again, and producers waiting give up
 * (a consumer that is stuck, or must end soon). Applies to the rings already added and to those
 * added later.
 */
void evmerge_wait_when_full(struct evmerge *m, bool on);

/* Totals over all rings: events that waited for room, and *ns (may be NULL) the time waited. */
uint64_t evmerge_waits(struct evmerge *m, uint64_t *ns);

#endif /* NPS_TRACES_EVRING_H */
