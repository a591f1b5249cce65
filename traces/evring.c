// SPDX-License-Identifier: MIT
/*
 * Event rings and their merge (traces/evring.h). The producer side is on the hot path of the
 * simulated runtime: one clock read, a 64-byte slot, and stores to the producer's own cache
 * line (one of them sequentially consistent); it reads the consumer's line only when its ring
 * looks full. The ordering argument for the merge watermark is written next to
 * evmerge_drain().
 */
#include "traces/evring.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct evring *evring_new(unsigned order, int32_t id, uint8_t src)
{
	if (order < 4 || order > 24)
		return NULL;
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

/* evring_begin past its common case: a loss to report first, or a ring that looks full. */
struct nps_event *evring_begin_slow(struct evring *r, uint16_t kind, uint64_t ts)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t cap = (uint64_t)r->mask + 1;
	r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint64_t t = r->tail_seen;
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

struct evmerge {
	_Atomic(struct evring *) rings; /* lock-free push list */
	uint64_t last;			/* consumer: ts of the last event delivered */
};

struct evmerge *evmerge_new(void)
{
	return calloc(1, sizeof(struct evmerge));
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
	struct evring *old = atomic_load(&m->rings);
	do
		r->next = old;
	while (!atomic_compare_exchange_weak(&m->rings, &old, r));
}

/*
 * Why the watermark is safe. The consumer reads the clock (t0), then each ring's inflight flag.
 * A producer sets inflight (sequentially consistent store) before it reads the clock. If the
 * consumer saw inflight == 0, the producer's store comes later in the total order, so its clock
 * read comes after the consumer's: its timestamp is >= t0. If the consumer saw inflight == 1,
 * the pending event's timestamp is >= that ring's last published timestamp. So no event still
 * to be published can be older than min(t0, last_ts of the rings caught in flight), and every
 * event up to that watermark can be released. The lfence keeps the CPU from reading the flags
 * before the clock (rdtsc is not ordered with later loads).
 */
static uint64_t watermark(struct evmerge *m)
{
	uint64_t wm = nps_nanotime();
#if defined(__x86_64__)
	__asm__ __volatile__("lfence" ::: "memory");
#endif
	/* A full barrier (a locked RMW; TSan does not model atomic_thread_fence). */
	static _Atomic uint64_t fence;
	atomic_fetch_add_explicit(&fence, 1, memory_order_seq_cst);
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
static int report_losses(struct evmerge *m, struct evring **rs, int n, evmerge_cb cb, void *ctx)
{
	for (int i = 0; i < n; i++) {
		struct evring *r = rs[i];
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
	if (wm > limit)
		wm = limit;
	bool held = false; /* wm lowered to a loss the queue could not take */
	enum {
		MAXR = 256
	};
	struct evring *rs[MAXR];
	uint64_t heads[MAXR];
	uint64_t last = m->last;
	int n = 0;

	for (struct evring *r = atomic_load(&m->rings); r && n < MAXR; r = r->next) {
		rs[n] = r;
		/* loss_since before head (find_losses), head before the slots */
		uint64_t since = atomic_load_explicit(&r->loss_since, memory_order_acquire);
		heads[n] = atomic_load_explicit(&r->head, memory_order_acquire);
		if (since || r->scanned != heads[n]) {
			uint64_t stop = find_losses(r, since, heads[n]);
			if (stop != UINT64_MAX && stop <= wm) {
				wm = stop - 1;
				held = true;
			}
		}
		n++;
	}
	if (upto)
		*upto = wm;
	for (;;) {
		/* The ring with the oldest next event, and the next oldest of the others. */
		int best = -1;
		uint64_t best_ts = 0, second_ts = UINT64_MAX;
		for (int i = 0; i < n; i++) {
			struct evring *r = rs[i];
			uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
			uint64_t ts = t != heads[i] ? r->slots[t & r->mask].ts : UINT64_MAX;
			/* A loss comes after what the ring wrote before it, before what it wrote after. */
			if (r->nannounce && r->announce[0] < ts)
				ts = r->announce[0];
			else if (t == heads[i])
				continue;
			if (best < 0 || ts < best_ts) {
				if (best >= 0)
					second_ts = best_ts;
				best = i;
				best_ts = ts;
			} else if (ts < second_ts) {
				second_ts = ts;
			}
		}
		if (best < 0 || best_ts > wm)
			break;
		struct evring *r = rs[best];
		uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
		if (r->nannounce &&
		    (t == heads[best] || r->announce[0] < r->slots[t & r->mask].ts)) {
			struct nps_event a;
			evring_stamp(&a, r, r->announce[0], NPS_EV_LOST);
			a.sub = 1; /* the loss has begun; its count comes when the ring has room */
			a.u.lost.since = r->announce[0];
			a.u.lost.source = r->src;
			last = a.ts;
			memmove(r->announce, r->announce + 1,
				--r->nannounce * sizeof(r->announce[0]));
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
			last = r->slots[t & r->mask].ts;
			rc = cb(ctx, &r->slots[t & r->mask]);
			t++;
			if (!(t & 255))
				atomic_store_explicit(&r->tail, t, memory_order_release);
		} while (!rc && t != heads[best] && r->slots[t & r->mask].ts <= lim);
		atomic_store_explicit(&r->tail, t, memory_order_release);
		if (rc) {
			m->last = last;
			return rc;
		}
	}
	m->last = last;
	/* A final drain delivers everything: the queue has room again, take the next losses. */
	if (final && held)
		goto again;
	return wm == UINT64_MAX ? report_losses(m, rs, n, cb, ctx) : 0;
}

uint64_t evmerge_lost(struct evmerge *m)
{
	uint64_t n = 0;
	for (struct evring *r = atomic_load(&m->rings); r; r = r->next)
		n += evring_lost(r);
	return n;
}

uint64_t evmerge_pending(struct evmerge *m)
{
	uint64_t n = 0;
	for (struct evring *r = atomic_load(&m->rings); r; r = r->next)
		n += atomic_load(&r->head) - atomic_load(&r->tail);
	return n;
}
