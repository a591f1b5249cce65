// SPDX-License-Identifier: MIT
/*
 * Event rings and their merge (traces/evring.h). The producer side is on the hot path of the
 * simulated runtime: one clock read (the TSC where it is CLOCK_MONOTONIC's source), a 64-byte
 * slot, and stores to the producer's own cache line, all plain when membarrier(2) lets the
 * consumer fence for both sides; it reads the consumer's line only when its ring looks full.
 * The ordering argument for the merge watermark is written next to watermark().
 */
#include "traces/evring.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct nps_evclock nps_evclock;

/* The TSC counts CLOCK_MONOTONIC's ticks only when the kernel's clocksource is the TSC. */
static bool clocksource_is_tsc(void)
{
	char buf[32] = "";
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	if (!f)
		return false;
	bool tsc = fgets(buf, sizeof(buf), f) && !strcmp(buf, "tsc\n");
	fclose(f);
	return tsc;
}

static void evclock_init_once(void)
{
	/* NPS_EVCLOCK=gettime keeps the portable clock and fence (tests compare the two) */
	const char *want = getenv("NPS_EVCLOCK");
	if (want && !strcmp(want, "gettime"))
		return;
#if defined(__x86_64__)
	nps_evclock.tsc = clocksource_is_tsc();
#endif
	nps_evclock.fence =
	    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

void nps_evclock_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, evclock_init_once);
}

struct evring *evring_new(unsigned order, int32_t id, uint8_t src)
{
	if (order < 4 || order > 24)
		return NULL;
	nps_evclock_init(); /* before the first stamp: the clock never changes under a ring */
	/* aligned_alloc wants a size that is a multiple of the alignment */
	struct evring *r = aligned_alloc(64, (sizeof(*r) + 63) & ~(size_t)63);
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->slots = aligned_alloc(64, sizeof(struct nps_event) << order);
	if (!r->slots) {
		free(r);
		return NULL;
	}
	r->mask = (1U << order) - 1;
	r->id = id;
	r->src = src;
	return r;
}

void evring_free(struct evring *r)
{
	if (!r)
		return;
	free(r->slots);
	free(r);
}

/*
 * A full ring of a merge that waits (evmerge_wait_when_full): sleep until the consumer has
 * taken some events. The producer stays in flight with its stamp taken, which cannot hold the
 * consumer back: the watermark then stops at this ring's last published event, so every event
 * of this ring can still be delivered and its slots handed back (watermark()). It gives up when
 * the merge stops waiting (the event is then lost). Returns the tail.
 */
static uint64_t wait_for_room(struct evring *r, uint64_t h, uint64_t cap)
{
	uint64_t t0 = nps_nanotime(), t;
	do {
		/* the consumer drains every few ms: a short sleep, not a spin on its CPU */
		nanosleep(&(struct timespec){0, 50000}, NULL);
		t = atomic_load_explicit(&r->tail, memory_order_acquire);
	} while (h - t >= cap && atomic_load_explicit(&r->wait_full, memory_order_relaxed));
	atomic_fetch_add_explicit(&r->waits, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->waited_ns, nps_nanotime() - t0, memory_order_relaxed);
	return t;
}

/* evring_begin past its common case: a loss to report first, or a ring that looks full. */
struct nps_event *evring_begin_slow(struct evring *r, uint16_t kind, uint64_t ts)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t cap = (uint64_t)r->mask + 1;
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (!r->pending_lost && h - t >= cap &&
	    atomic_load_explicit(&r->wait_full, memory_order_relaxed))
		t = wait_for_room(r, h, cap);
	r->tail_seen = t;
	if (r->pending_lost && h - t + 1 < cap) {
		/* Room for the loss report and this event: report the gap first. */
		struct nps_event *l = &r->slots[h & r->mask];
		evring_stamp(l, r, ts, NPS_EV_LOST);
		l->u.lost.count = r->pending_lost;
		l->u.lost.since = r->pending_lost_ts;
		l->u.lost.source = r->src;
		r->pending_lost = 0;
		r->reported = true; /* loss_since is cleared once the report is published */
		h++;
	}
	if (r->pending_lost || h - t >= cap) {
		if (!r->pending_lost++) {
			r->pending_lost_ts = ts;
			atomic_store_explicit(&r->loss_since, ts, memory_order_release);
		}
		atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
		atomic_store_explicit(&r->inflight, 0, memory_order_release);
		return NULL;
	}
	r->wpos = h;
	struct nps_event *e = &r->slots[h & r->mask];
	evring_stamp(e, r, ts, kind);
	return e;
}

/*
 * A loss report was published (evring_publish) and so ends its loss:
 * loss_since is cleared only now, after the head store, so a consumer that reads
 * loss_since == 0 and then head finds the report (evmerge_drain).
 */
void evring_reported(struct evring *r)
{
	r->reported = false;
	atomic_store_explicit(&r->loss_since, 0, memory_order_release);
}

void evring_cancel(struct evring *r)
{
	/* Publish what came before the cancelled slot: a loss report written with it. */
	if (r->wpos != atomic_load_explicit(&r->head, memory_order_relaxed))
		evring_publish(r, r->wpos);
	atomic_store_explicit(&r->inflight, 0, memory_order_release);
}

/*
 * From TSC stamps to CLOCK_MONOTONIC ns: a (tick, ns) pair is read at each drain, and a stamp
 * is converted on the line through the two pairs around it. Each pair's ns is read between two
 * TSC reads a few tens of ns apart, so a converted stamp is within that of what clock_gettime
 * would have said, and stays in order with the kernel's events. A drain delivers only stamps up
 * to its own pair, and a pair is never moved once stamps after it may have been delivered: a
 * stamp's ns never change, so the stream stays in order. Past the last pair (the final drain)
 * and before the first, stamps follow the slope measured since the start.
 */
#define CAL_N                                                                                      \
	4096 /* pairs kept: one a drain (2 ms); cal_add forgets those no stamp to come needs */

struct cal_pair {
	uint64_t tick, ns;
	uint64_t mult; /* ns per tick from this pair on, 32.32 fixed point */
};

struct evcal {
	uint64_t lo, span, ns, mult; /* the segment the last conversion used: ticks lo..lo+span */
	unsigned n, cur;	     /* pairs kept; that segment's index */
	struct cal_pair anchor;	     /* the first pair: the long slope is measured from it */
	struct cal_pair p[CAL_N];
};

struct evmerge {
	_Atomic(struct evring *) rings; /* lock-free push list */
	_Atomic bool wait_full;		/* rings wait for room (evmerge_wait_when_full) */
	uint64_t last;			/* consumer: stamp of the last event delivered */
	uint64_t done;			/* consumer: every stamp up to here is delivered */
	struct evcal cal;		/* consumer: TSC stamps to ns */
};

/*
 * One (tick, ns) pair: the ns read between two ticks, paired with their midpoint. The narrowest
 * of a few tries: a thread preempted between its reads would pair the ns with a tick far off.
 */
static struct cal_pair cal_read(void)
{
	struct cal_pair best = {0};
	uint64_t width = UINT64_MAX;
	for (int i = 0; i < 16 && width > 300; i++) {
		uint64_t a = nps_evstamp(), ns = nps_nanotime(), b = nps_evstamp();
		if (b - a < width) {
			width = b - a;
			best = (struct cal_pair){a + (b - a) / 2, ns, 0};
		}
	}
	return best;
}

static uint64_t seg_mult(const struct cal_pair *a, const struct cal_pair *b)
{
	uint64_t dt = b->tick - a->tick;
	return dt ? (uint64_t)(((unsigned __int128)(b->ns - a->ns) << 32) / dt) : a->mult;
}

/*
 * The segment of tick t: moves on from the last one used, as stamps arrive in order, and is
 * kept in c->lo..mult for the next stamps (stamp_ns's fast path). The last segment has no end.
 */
static unsigned cal_seg(struct evcal *c, uint64_t t)
{
	unsigned i = c->cur < c->n ? c->cur : c->n - 1;
	while (i + 1 < c->n && t >= c->p[i + 1].tick)
		i++;
	while (i > 0 && t < c->p[i].tick)
		i--;
	c->lo = c->p[i].tick;
	/* open-ended, but a stamp before lo wraps to 2^63 or more: not in it */
	c->span = i + 1 < c->n ? c->p[i + 1].tick - c->lo : UINT64_MAX >> 1;
	c->ns = c->p[i].ns;
	c->mult = c->p[i].mult;
	return c->cur = i;
}

static void cal_start(struct evcal *c)
{
	c->anchor = cal_read();
	/* a first slope, for stamps before the first pair or past it before a second drain */
	struct timespec ms = {0, 1000000};
	nanosleep(&ms, NULL);
	struct cal_pair q = cal_read();
	c->anchor.mult = seg_mult(&c->anchor, &q);
	c->p[0] = c->anchor;
	c->n = 1;
	cal_seg(c, c->anchor.tick);
}

/*
 * A drain's pair, read before it looks for producers in flight. Returns the tick up to which the
 * drain may deliver: the pair's own, or the last pair's when no more can be kept (a producer
 * has held the merge back for CAL_N drains).
 */
static uint64_t cal_add(struct evmerge *m)
{
	struct evcal *c = &m->cal;
	struct cal_pair q = cal_read();
	/*
	 * Full: forget the pairs before the segment of the oldest stamp still to come. That is
	 * after m->done, the watermark of the last drain that delivered all it could, which an
	 * idle run moves on too (m->last, the last stamp delivered, does not move).
	 */
	if (c->n == CAL_N) {
		uint64_t from = m->done > m->last ? m->done : m->last;
		unsigned i = cal_seg(c, from);
		memmove(c->p, c->p + i, (c->n - i) * sizeof(c->p[0]));
		c->n -= i;
		c->cur = 0;
		cal_seg(c, from);
	}
	struct cal_pair *last = &c->p[c->n - 1];
	if (c->n == CAL_N || q.tick <= last->tick)
		return last->tick;
	last->mult = seg_mult(last, &q);
	q.mult = seg_mult(&c->anchor, &q);
	c->p[c->n++] = q;
	cal_seg(c, c->lo); /* the cached segment may have been the last, open-ended one */
	return q.tick;
}

/* A stamp in CLOCK_MONOTONIC ns: on every event the observer delivers, so the segment is cached. */
static inline uint64_t stamp_ns(struct evmerge *m, uint64_t t)
{
	struct evcal *c = &m->cal;
	if (!nps_evclock.tsc || t == UINT64_MAX)
		return t;
	if (__builtin_expect(t - c->lo >= c->span, 0))
		cal_seg(c, t);
	if (t >= c->lo)
		return c->ns + (uint64_t)(((unsigned __int128)(t - c->lo) * c->mult) >> 32);
	/*
	 * Before the first pair kept: the start of a loss reported long after it began, once the
	 * pairs of that time are forgotten. On the slope since the start, from the anchor.
	 */
	const struct cal_pair *s = &c->anchor;
	if (t >= s->tick)
		return s->ns + (uint64_t)(((unsigned __int128)(t - s->tick) * s->mult) >> 32);
	uint64_t back = (uint64_t)(((unsigned __int128)(s->tick - t) * s->mult) >> 32);
	return back < s->ns ? s->ns - back : 0;
}

/* The last stamp whose ns are not after ns (a drain's limit, given in ns). */
static uint64_t ns_stamp(struct evmerge *m, uint64_t ns)
{
	if (!nps_evclock.tsc || ns == UINT64_MAX)
		return ns;
	const struct evcal *c = &m->cal;
	unsigned i = c->n - 1;
	while (i > 0 && ns < c->p[i].ns)
		i--;
	const struct cal_pair *s = ns >= c->p[i].ns ? &c->p[i] : &c->anchor;
	if (!s->mult) /* a flat segment (two pairs on one ns): deliver less now, the rest later */
		return s->tick;
	__int128 d = ((__int128)ns - (__int128)s->ns) * ((__int128)1 << 32) / (__int128)s->mult;
	uint64_t t = d < -(__int128)s->tick ? 0 : (uint64_t)((__int128)s->tick + d);
	while (t > 0 && stamp_ns(m, t) > ns) /* rounding: a tick or two */
		t--;
	return t;
}

/*
 * Delivered events carry ns: the stamps of a slot of ring r (or of a loss the merge reports)
 * converted. A loss's report gives the start its announcement gave, in the same ns, however long
 * after it comes (the pairs of that time may be forgotten by then).
 */
static void deliver_ns(struct evmerge *m, struct evring *r, struct nps_event *e)
{
	if (!nps_evclock.tsc)
		return;
	e->ts = stamp_ns(m, e->ts);
	if (e->kind != NPS_EV_LOST)
		return;
	if (e->sub == 1 || e->u.lost.since != r->ann_stamp) {
		r->ann_stamp = e->u.lost.since;
		r->ann_ns = stamp_ns(m, e->u.lost.since);
	}
	e->u.lost.since = r->ann_ns;
}

struct evmerge *evmerge_new(void)
{
	nps_evclock_init();
	struct evmerge *m = calloc(1, sizeof(struct evmerge));
	if (m && nps_evclock.tsc)
		cal_start(&m->cal);
	return m;
}

void evmerge_free(struct evmerge *m)
{
	if (!m)
		return;
	struct evring *r = atomic_load(&m->rings);
	while (r) {
		struct evring *n = r->next;
		evring_free(r);
		r = n;
	}
	free(m);
}

void evmerge_add(struct evmerge *m, struct evring *r)
{
	atomic_store(&r->wait_full, atomic_load(&m->wait_full));
	struct evring *old = atomic_load(&m->rings);
	do
		r->next = old;
	while (!atomic_compare_exchange_weak(&m->rings, &old, r));
}

/*
 * Why the watermark is safe. The consumer reads the clock (t0), then each ring's inflight flag.
 * A producer sets inflight before it reads the clock, and the two sides are fenced: either
 * the producer's store is sequentially consistent and so is the consumer's barrier, or the store
 * is plain and the consumer's membarrier(2) makes every running thread of the process execute a
 * barrier (a thread not running has passed one in its context switch). If the consumer saw
 * inflight == 0, the producer's store comes after that barrier, so its clock read comes after
 * the consumer's (the producer's lfence keeps the read after the store's place in its program,
 * and an interrupt is taken between instructions): its timestamp is >= t0. If the consumer saw
 * inflight == 1, the pending event's timestamp is >= that ring's last published timestamp. So
 * no event still to be published can be older than min(t0, last_ts of the rings caught in
 * flight), and every event up to that watermark can be released. The lfence keeps the CPU from
 * reading the flags before the clock (rdtsc is not ordered with later loads).
 */
static uint64_t watermark(struct evmerge *m)
{
	uint64_t wm = nps_evclock.tsc ? cal_add(m) : nps_evstamp();
#if defined(__x86_64__)
	__asm__ __volatile__("lfence" ::: "memory");
#endif
	if (nps_evclock.fence) {
		/* registered, it cannot fail; if it did, nothing would be safe to release */
		if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
			return 0;
	} else {
		/* A full barrier (a locked RMW; TSan does not model atomic_thread_fence). */
		static _Atomic uint64_t fence;
		atomic_fetch_add_explicit(&fence, 1, memory_order_seq_cst);
	}
	for (struct evring *r = atomic_load(&m->rings); r; r = r->next) {
		if (atomic_load_explicit(&r->inflight, memory_order_seq_cst)) {
			uint64_t l = atomic_load_explicit(&r->last_ts, memory_order_relaxed);
			if (l < wm)
				wm = l;
		}
	}
	return wm;
}

/* Queue the start of a loss for announcement, once. False when the queue is full. */
static bool note_loss(struct evring *r, uint64_t since)
{
	if (since <= r->noted)
		return true;
	if (r->nannounce == sizeof(r->announce) / sizeof(r->announce[0]))
		return false;
	r->announce[r->nannounce++] = since;
	r->noted = since;
	return true;
}

/*
 * Find the losses of ring r not yet announced, oldest first: the reports in the slots published
 * since the last drain, then the loss still going on (loss_since, read before head: if it was
 * cleared, its report is before head). A loss that starts after the watermark read is later than
 * the watermark (the producer sets inflight before reading the clock), so every loss older than
 * the watermark is found here, before anything younger than it is delivered.
 *
 * A producer that gets one free slot at a time loses, reports and loses again many times per
 * drain; when the queue is full, the search stops and returns the start of the first loss it
 * could not queue: nothing at or after it may be delivered in this drain. Otherwise UINT64_MAX.
 */
static uint64_t find_losses(struct evring *r, uint64_t since, uint64_t head)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (r->scanned > t)
		t = r->scanned;
	uint64_t stop = UINT64_MAX;
	/* A report is published after the loss count it reports: no count, no report to look for. */
	if (evring_lost(r)) {
		for (; t != head; t++) {
			const struct nps_event *e = &r->slots[t & r->mask];
			if (e->kind == NPS_EV_LOST && !note_loss(r, e->u.lost.since)) {
				stop = e->u.lost.since;
				break;
			}
		}
	}
	r->scanned = t;
	if (since && t == head && !note_loss(r, since))
		stop = since;
	return stop;
}

/*
 * The final drain: the producers have stopped, some while losing. Their losses were announced;
 * deliver the counts they never had room to write, after everything else.
 */
static int report_losses(struct evmerge *m, struct evring *rings, evmerge_cb cb, void *ctx)
{
	for (struct evring *r = rings; r; r = r->next) {
		/* loss_since first: pending_lost is the producer's, read only once it is losing */
		if (!atomic_load_explicit(&r->loss_since, memory_order_acquire) || !r->pending_lost)
			continue;
		struct nps_event l;
		evring_stamp(&l, r, m->last > r->pending_lost_ts ? m->last : r->pending_lost_ts,
			     NPS_EV_LOST);
		l.u.lost.count = r->pending_lost;
		l.u.lost.since = r->pending_lost_ts;
		l.u.lost.source = r->src;
		r->pending_lost = 0;
		atomic_store_explicit(&r->loss_since, 0, memory_order_relaxed);
		m->last = l.ts;
		deliver_ns(m, r, &l);
		int rc = cb(ctx, &l);
		if (rc)
			return rc;
	}
	return 0;
}

int evmerge_drain(struct evmerge *m, bool final, uint64_t limit, uint64_t *upto, evmerge_cb cb,
		  void *ctx)
{
again:;
	uint64_t wm = final ? UINT64_MAX : watermark(m);
	limit = ns_stamp(m, limit); /* stamps from here on, ns again for *upto and the callback */
	if (wm > limit)
		wm = limit;
	bool held = false; /* wm lowered to a loss the queue could not take */
	uint64_t last = m->last;
	/*
	 * The rings as they are now, every one of them (any number of Ms). A ring added after
	 * this load belongs to an M whose events are all stamped after the watermark's clock read.
	 */
	struct evring *rings = atomic_load(&m->rings);
	for (struct evring *r = rings; r; r = r->next) {
		/* loss_since before head (find_losses), head before the slots */
		uint64_t since = atomic_load_explicit(&r->loss_since, memory_order_acquire);
		r->dhead = atomic_load_explicit(&r->head, memory_order_acquire);
		if (since || r->scanned != r->dhead) {
			uint64_t stop = find_losses(r, since, r->dhead);
			if (stop != UINT64_MAX && stop <= wm) {
				wm = stop - 1;
				held = true;
			}
		}
	}
	if (upto)
		*upto = stamp_ns(m, wm);
	for (;;) {
		/* The ring with the oldest next event, and the next oldest of the others. */
		struct evring *best = NULL;
		uint64_t best_ts = 0, second_ts = UINT64_MAX;
		for (struct evring *r = rings; r; r = r->next) {
			uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
			uint64_t ts = t != r->dhead ? r->slots[t & r->mask].ts : UINT64_MAX;
			/* A loss comes after what the ring wrote before it, before what it wrote after. */
			if (r->nannounce && r->announce[0] < ts)
				ts = r->announce[0];
			else if (t == r->dhead)
				continue;
			if (!best || ts < best_ts) {
				if (best)
					second_ts = best_ts;
				best = r;
				best_ts = ts;
			} else if (ts < second_ts) {
				second_ts = ts;
			}
		}
		if (!best || best_ts > wm)
			break;
		struct evring *r = best;
		uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
		if (r->nannounce && (t == r->dhead || r->announce[0] < r->slots[t & r->mask].ts)) {
			struct nps_event a;
			evring_stamp(&a, r, r->announce[0], NPS_EV_LOST);
			a.sub = 1; /* the loss has begun; its count comes when the ring has room */
			a.u.lost.since = r->announce[0];
			a.u.lost.source = r->src;
			last = a.ts;
			memmove(r->announce, r->announce + 1,
				--r->nannounce * sizeof(r->announce[0]));
			deliver_ns(m, r, &a);
			int rc = cb(ctx, &a);
			if (rc) {
				m->last = last;
				return rc;
			}
			continue;
		}
		/*
		 * Deliver a run from that ring while it stays the oldest (most of a drain), stopping
		 * before its own next loss.
		 */
		uint64_t lim = second_ts < wm ? second_ts : wm;
		if (r->nannounce && r->announce[0] - 1 < lim)
			lim = r->announce[0] - 1;
		/*
		 * The slots are handed back every 256 events and at the end of the run, not per
		 * event: the producer reads tail only when its ring looks full, and a store per
		 * event would keep moving this cache line between the two CPUs. Not only at the
		 * end either: a slow consumer (narrating to a terminal) on a full ring would make
		 * the producer lose for the whole run.
		 */
		int rc;
		do {
			struct nps_event *e = &r->slots[t & r->mask];
			last = e->ts;
			deliver_ns(m, r, e); /* the slot is the consumer's until tail passes it */
			rc = cb(ctx, e);
			t++;
			if (!(t & 255))
				atomic_store_explicit(&r->tail, t, memory_order_release);
		} while (!rc && t != r->dhead && r->slots[t & r->mask].ts <= lim);
		atomic_store_explicit(&r->tail, t, memory_order_release);
		if (rc) {
			m->last = last;
			return rc;
		}
	}
	m->last = last;
	m->done = wm; /* no rc: everything up to the watermark is delivered */
	/* A final drain delivers everything: the queue has room again, take the next losses. */
	if (final && held)
		goto again;
	return wm == UINT64_MAX ? report_losses(m, rings, cb, ctx) : 0;
}

uint64_t evmerge_lost(struct evmerge *m)
{
	uint64_t n = 0;
	for (struct evring *r = atomic_load(&m->rings); r; r = r->next)
		n += evring_lost(r);
	return n;
}

void evmerge_wait_when_full(struct evmerge *m, bool on)
{
	atomic_store(&m->wait_full, on);
	for (struct evring *r = atomic_load(&m->rings); r; r = r->next)
		atomic_store(&r->wait_full, on);
}

uint64_t evmerge_waits(struct evmerge *m, uint64_t *ns)
{
	uint64_t n = 0, t = 0;
	for (struct evring *r = atomic_load(&m->rings); r; r = r->next) {
		n += atomic_load_explicit(&r->waits, memory_order_relaxed);
		t += atomic_load_explicit(&r->waited_ns, memory_order_relaxed);
	}
	if (ns)
		*ns = t;
	return n;
}

uint64_t evmerge_pending(struct evmerge *m)
{
	uint64_t n = 0;
	for (struct evring *r = atomic_load(&m->rings); r; r = r->next)
		n += atomic_load(&r->head) - atomic_load(&r->tail);
	return n;
}

uint64_t evmerge_pending_upto(struct evmerge *m, uint64_t ns, uint64_t *first)
{
	uint64_t n = 0, limit = ns_stamp(m, ns), oldest = UINT64_MAX;
	for (struct evring *r = atomic_load(&m->rings); r; r = r->next) {
		uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
		/* a ring's stamps only grow: its events up to limit are the first ones */
		for (uint64_t t = atomic_load(&r->tail);
		     t != h && r->slots[t & r->mask].ts <= limit; t++, n++)
			if (r->slots[t & r->mask].ts < oldest)
				oldest = r->slots[t & r->mask].ts;
	}
	if (first)
		*first = oldest == UINT64_MAX ? oldest : stamp_ns(m, oldest);
	return n;
}
