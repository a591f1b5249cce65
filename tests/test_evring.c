// SPDX-License-Identifier: MIT
/*
 * traces/evring.c: the merged stream is in timestamp order, nothing is lost silently, and a
 * ring's loss is announced where it began, before any younger event of another ring, whether
 * the rings are drained while they fill (real producer threads) or in the worst interleaving
 * (a producer that gets one free slot at a time, losing and reporting many times per drain);
 * and a consumer that drains a full ring slowly gives slots back as it goes.
 */
#include "traces/evring.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
	MAXEV = 1 << 20,
	NRING = 4
};

/* What the consumer saw, checked as it arrives. */
struct seen {
	uint64_t n, last_ts;
	uint64_t per_ring[NRING];   /* ordinary events delivered */
	uint64_t next_seq[NRING];   /* the g (sequence number) expected next, at least */
	uint64_t open_since[NRING]; /* the announced loss not yet reported, 0 none */
	uint64_t announced[NRING], reported[NRING], lost[NRING];
	uint64_t stop_after;  /* stop the drain after this many events (0: never) */
	void (*hook)(void *); /* called after each event (a producer acting mid-drain) */
	void *hook_arg;
};

static int take(void *ctx, const struct nps_event *e)
{
	struct seen *s = ctx;
	cr_assert_geq(
	    e->ts, s->last_ts, "event %lu (%s%s, ring %d) goes back in time: %lu after %lu",
	    (unsigned long)s->n, e->kind == NPS_EV_LOST ? "lost" : "event",
	    e->sub ? " announced" : "", e->m, (unsigned long)e->ts, (unsigned long)s->last_ts);
	s->last_ts = e->ts;
	s->n++;
	int r = e->m;
	cr_assert(r >= 0 && r < NRING, "an event names ring %d", r);
	if (e->kind == NPS_EV_LOST && e->sub == 1) {
		cr_assert_eq(e->u.lost.count, 0, "an announcement carries no count");
		cr_assert_eq(e->ts, e->u.lost.since,
			     "an announcement is stamped when the loss began");
		cr_assert_eq(s->open_since[r], 0, "ring %d: two announcements without a report", r);
		s->open_since[r] = e->u.lost.since;
		s->announced[r]++;
	} else if (e->kind == NPS_EV_LOST) {
		cr_assert_neq(s->open_since[r], 0, "ring %d: a loss reported but never announced",
			      r);
		cr_assert_eq(e->u.lost.since, s->open_since[r],
			     "ring %d: the report is for another loss than the one announced", r);
		cr_assert_gt(e->u.lost.count, 0);
		s->open_since[r] = 0;
		s->reported[r]++;
		s->lost[r] += e->u.lost.count;
	} else {
		cr_assert_eq(s->open_since[r], 0,
			     "ring %d: an event delivered while its loss was still unreported", r);
		cr_assert_geq((uint64_t)e->g, s->next_seq[r], "ring %d: events out of ring order",
			      r);
		s->next_seq[r] = (uint64_t)e->g + 1;
		s->per_ring[r]++;
	}
	if (s->hook)
		s->hook(s->hook_arg);
	return s->stop_after && s->n >= s->stop_after;
}

/* One event into r; false when it was lost. g is the producer's sequence number. */
static bool put(struct evring *r, uint64_t *seq)
{
	struct nps_event *e = evring_begin(r, NPS_EV_NOTE);
	uint64_t g = (*seq)++;
	if (!e)
		return false;
	e->g = (int64_t)g;
	evring_commit(r);
	return true;
}

Test(evring, loss_is_announced_before_younger_events_of_other_rings, .timeout = 10)
{
	struct evmerge *m = evmerge_new();
	struct evring *a = evring_new(4, 0, NPS_SRC_SIM), *b = evring_new(4, 1, NPS_SRC_SIM);
	evmerge_add(m, a);
	evmerge_add(m, b);
	uint64_t sa = 0, sb = 0;
	for (int i = 0; i < 16; i++)
		cr_assert(put(a, &sa), "ring a has 16 slots");
	cr_assert_not(put(a, &sa), "the 17th event of a full ring is lost");
	cr_assert_not(put(a, &sa));
	cr_assert(put(b, &sb));
	cr_assert_eq(evring_lost(a), 2);

	struct seen s = {0};
	cr_assert_eq(evmerge_drain(m, false, UINT64_MAX, NULL, take, &s), 0);
	cr_assert_eq(s.per_ring[0], 16);
	cr_assert_eq(s.announced[0], 1, "the loss is announced before the report is written");
	cr_assert_eq(s.per_ring[1], 1, "b's younger event follows the announcement");
	cr_assert_neq(s.open_since[0], 0);

	/* a has room again: its next event brings the count first */
	cr_assert(put(a, &sa));
	cr_assert_eq(evmerge_drain(m, false, UINT64_MAX, NULL, take, &s), 0);
	cr_assert_eq(s.reported[0], 1);
	cr_assert_eq(s.lost[0], 2, "the report counts both lost events");
	cr_assert_eq(s.per_ring[0], 17);
	evmerge_free(m);
}

struct trickle {
	struct evring *a, *b;
	uint64_t sa, sb;
	uint64_t produced_a;
};

/*
 * Run inside the consumer's callback: each time the consumer frees a slot, ring a writes its
 * report and one event, then loses again; ring b writes one event. Every loss begins and is
 * reported between two scans of the ring, many times per drain.
 */
static void trickle_step(void *arg)
{
	struct trickle *t = arg;
	if (t->produced_a >= 400)
		return;
	for (int i = 0; i < 3; i++) {
		put(t->a, &t->sa);
		t->produced_a++;
	}
	put(t->b, &t->sb);
}

/*
 * A merge of ring a (64 slots, filled until it loses: ~32 losses per drain) and ring b, their
 * events interleaved: the consumer hands slots back once per run of one ring, so each of a's
 * runs is one event long and frees one slot.
 */
static struct evmerge *trickle_start(struct trickle *t)
{
	struct evmerge *m = evmerge_new();
	t->a = evring_new(6, 0, NPS_SRC_SIM);
	t->b = evring_new(12, 1, NPS_SRC_SIM);
	cr_assert(m && t->a && t->b);
	evmerge_add(m, t->a);
	evmerge_add(m, t->b);
	while (put(t->a, &t->sa)) {
		t->produced_a++;
		put(t->b, &t->sb);
	}
	t->produced_a++;
	return m;
}

Test(evring, many_losses_between_drains_stay_in_order, .timeout = 10)
{
	struct trickle t = {0};
	struct evmerge *m = trickle_start(&t);

	struct seen s = {.hook = trickle_step, .hook_arg = &t};
	for (int i = 0; i < 200 && (evmerge_pending(m) || s.open_since[0]); i++)
		cr_assert_eq(evmerge_drain(m, false, UINT64_MAX, NULL, take, &s), 0);
	cr_assert_eq(evmerge_drain(m, true, UINT64_MAX, NULL, take, &s), 0);

	cr_assert_gt(s.reported[0], 16,
		     "more loss episodes (%lu) than the announcement queue holds",
		     (unsigned long)s.reported[0]);
	cr_assert_eq(s.announced[0], s.reported[0], "every loss announced and reported");
	cr_assert_eq(s.open_since[0], 0, "the final drain reports the last loss");
	cr_assert_eq(s.lost[0], evring_lost(t.a), "reports add up to the ring's lost count");
	cr_assert_eq(s.per_ring[0] + s.lost[0], t.sa, "every event of a delivered or counted");
	cr_assert_eq(s.per_ring[1] + evring_lost(t.b), t.sb);
	evmerge_free(m);
}

/* The final drain finds more losses than the queue holds at once: it still delivers them all. */
Test(evring, final_drain_delivers_past_a_full_announcement_queue, .timeout = 10)
{
	struct trickle t = {0};
	struct evmerge *m = trickle_start(&t);

	/* One drain during which a loses and reports ~30 times, all after the drain's scan. */
	struct seen s = {.hook = trickle_step, .hook_arg = &t};
	cr_assert_eq(evmerge_drain(m, false, UINT64_MAX, NULL, take, &s), 0);
	s.hook = NULL;
	uint64_t before = s.reported[0];
	cr_assert_eq(evmerge_drain(m, true, UINT64_MAX, NULL, take, &s), 0);

	cr_assert_gt(s.reported[0] - before, 16, "the final drain met %lu losses, not more than 16",
		     (unsigned long)(s.reported[0] - before));
	cr_assert_eq(evmerge_pending(m), 0, "the final drain left events behind");
	cr_assert_eq(s.announced[0], s.reported[0]);
	cr_assert_eq(s.per_ring[0] + s.lost[0], t.sa, "every event of a delivered or counted");
	cr_assert_eq(s.per_ring[1], t.sb);
	evmerge_free(m);
}

struct refill {
	struct evring *r;
	uint64_t seq, taken, put, lost;
};

/* Run inside the consumer's callback: after each event taken, the producer tries one more. */
static void refill_step(void *arg)
{
	struct refill *f = arg;
	f->taken++;
	if (put(f->r, &f->seq))
		f->put++;
	else
		f->lost++;
}

/*
 * A consumer too slow for its producer (narrating to a terminal) drains a full ring in one long
 * run: the producer gets slots back during the run, in batches, not only when the run ends.
 */
Test(evring, a_long_run_hands_slots_back_as_it_goes, .timeout = 10)
{
	struct evmerge *m = evmerge_new();
	struct refill f = {.r = evring_new(10, 0, NPS_SRC_SIM)};
	cr_assert(m && f.r);
	evmerge_add(m, f.r);
	while (put(f.r, &f.seq))
		;
	uint64_t lost_at_start = evring_lost(f.r);

	/* stop when the 1,024 events that filled the ring have been taken */
	struct seen s = {.hook = refill_step, .hook_arg = &f, .stop_after = 1024};
	cr_assert_eq(evmerge_drain(m, false, UINT64_MAX, NULL, take, &s), 1);
	cr_assert_eq(f.taken, 1024);
	cr_assert_geq(f.put, 512,
		      "the producer got %lu slots back while 1,024 were taken (lost %lu)",
		      (unsigned long)f.put, (unsigned long)f.lost);
	cr_assert_eq(evring_lost(f.r) - lost_at_start, f.lost, "every failed put is counted");
	evmerge_free(m);
}

struct producer {
	struct evring *r;
	uint64_t n, seq;
	_Atomic bool *go;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	while (!atomic_load(p->go))
		;
	for (uint64_t i = 0; i < p->n; i++)
		put(p->r, &p->seq);
	return NULL;
}

/* Real threads writing faster than the consumer drains small rings. */
Test(evring, concurrent_producers_merge_in_order_and_count_every_loss, .timeout = 60)
{
	struct evmerge *m = evmerge_new();
	struct producer p[3];
	pthread_t th[3];
	_Atomic bool go = false;
	for (int i = 0; i < 3; i++) {
		p[i] = (struct producer){evring_new(8, i, NPS_SRC_SIM), 100000, 0, &go};
		evmerge_add(m, p[i].r);
		cr_assert_eq(pthread_create(&th[i], NULL, produce, &p[i]), 0);
	}
	struct seen s = {0};
	atomic_store(&go, true);
	for (int i = 0; i < 2000; i++)
		cr_assert_eq(evmerge_drain(m, false, UINT64_MAX, NULL, take, &s), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(evmerge_drain(m, true, UINT64_MAX, NULL, take, &s), 0);

	uint64_t lost = 0;
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(s.per_ring[i] + s.lost[i], p[i].n,
			     "ring %d: %lu delivered + %lu reported lost != %lu written", i,
			     (unsigned long)s.per_ring[i], (unsigned long)s.lost[i],
			     (unsigned long)p[i].n);
		cr_assert_eq(s.lost[i], evring_lost(p[i].r));
		cr_assert_eq(s.announced[i], s.reported[i]);
		lost += s.lost[i];
	}
	cr_assert_eq(lost, evmerge_lost(m));
	evmerge_free(m);
}

/*
 * A merge that waits (evmerge_wait_when_full, for a record that must be complete): producers
 * far faster than a consumer that sleeps between drains wait for room and lose nothing, the
 * stream stays in order, and the waits are counted. One ring is added before the merge is told
 * to wait, the others after.
 */
Test(evring, a_merge_that_waits_loses_nothing, .timeout = 60)
{
	struct evmerge *m = evmerge_new();
	struct producer p[3];
	pthread_t th[3];
	_Atomic bool go = false;
	for (int i = 0; i < 3; i++) {
		if (i == 1)
			evmerge_wait_when_full(m, true);
		p[i] = (struct producer){evring_new(8, i, NPS_SRC_SIM), 20000, 0, &go};
		evmerge_add(m, p[i].r);
		cr_assert_eq(pthread_create(&th[i], NULL, produce, &p[i]), 0);
	}
	struct seen s = {0};
	atomic_store(&go, true);
	/* The consumer must go on draining until every producer is done: they wait for it. */
	while (s.per_ring[0] + s.per_ring[1] + s.per_ring[2] < 3 * 20000) {
		cr_assert_eq(evmerge_drain(m, false, UINT64_MAX, NULL, take, &s), 0);
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(evmerge_drain(m, true, UINT64_MAX, NULL, take, &s), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(s.per_ring[i], p[i].n, "ring %d: %lu of %lu delivered", i,
			     (unsigned long)s.per_ring[i], (unsigned long)p[i].n);
		cr_assert_eq(evring_lost(p[i].r), 0, "ring %d lost events", i);
	}
	uint64_t ns = 0;
	/* 20,000 events each into 256 slots, drained once a millisecond: they must have waited */
	cr_assert_gt(evmerge_waits(m, &ns), 0);
	cr_assert_gt(ns, 0);
	evmerge_free(m);
}

/*
 * A producer waiting for room gives up when the merge stops waiting (a consumer that is stuck,
 * or must end soon): the event is lost, and counted.
 */
Test(evring, a_producer_waiting_for_room_gives_up_when_told, .timeout = 30)
{
	struct evmerge *m = evmerge_new();
	evmerge_wait_when_full(m, true);
	_Atomic bool go = true;
	struct producer p = {evring_new(4, 0, NPS_SRC_SIM), 17, 0, &go};
	evmerge_add(m, p.r);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, produce, &p), 0);
	/* 16 slots: the 17th event waits, since nobody drains */
	while (evmerge_waits(m, NULL) == 0 && atomic_load(&p.r->head) < 16)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	nanosleep(&(struct timespec){0, 20000000}, NULL);
	cr_assert_eq(evring_lost(p.r), 0, "it waited rather than lose");
	evmerge_wait_when_full(m, false);
	pthread_join(th, NULL);
	cr_assert_eq(evring_lost(p.r), 1, "the 17th event, given up, is counted as lost");
	struct seen s = {0};
	cr_assert_eq(evmerge_drain(m, true, UINT64_MAX, NULL, take, &s), 0);
	cr_assert_eq(s.per_ring[0], 16);
	cr_assert_eq(s.lost[0], 1);
	evmerge_free(m);
}

/*
 * Whatever the rings' clock (TSC ticks when the kernel's clocksource is the TSC, converted on
 * delivery), a delivered event carries CLOCK_MONOTONIC ns: its ts lies between clock_gettime
 * reads made just before and just after its producer stamped it, give or take the pairing of
 * the two clocks (a few tens of ns). Events of one producer thread, drained while it writes,
 * over many drains and segments, and past the last one (the final drain).
 */
struct clocked {
	struct evring *r;
	_Atomic bool *go;
};

static void *produce_clocked(void *arg)
{
	struct clocked *c = arg;
	while (!atomic_load(c->go))
		;
	for (int i = 0; i < 200000; i++) {
		uint64_t before = nps_nanotime();
		struct nps_event *e = evring_begin(c->r, NPS_EV_SCHED);
		uint64_t after = nps_nanotime();
		if (!e)
			continue;
		e->u.sched.n = (int64_t)before;
		e->u.sched.npidle = (uint32_t)(after - before);
		evring_commit(c->r);
	}
	return NULL;
}

struct bracket {
	uint64_t n, last, worst; /* events, last ts, the largest distance outside its bracket */
};

static int check_bracket(void *ctx, const struct nps_event *e)
{
	struct bracket *b = ctx;
	if (e->kind != NPS_EV_SCHED)
		return 0;
	uint64_t before = (uint64_t)e->u.sched.n, after = before + e->u.sched.npidle;
	uint64_t out = e->ts < before ? before - e->ts : e->ts > after ? e->ts - after : 0;
	if (out > b->worst)
		b->worst = out;
	cr_assert_geq(e->ts, b->last, "time goes back: %lu after %lu", (unsigned long)e->ts,
		      (unsigned long)b->last);
	b->last = e->ts;
	b->n++;
	return 0;
}

static void stamps_are_clock_monotonic_ns(void)
{
	struct evmerge *m = evmerge_new();
	_Atomic bool go = false;
	struct clocked c = {evring_new(16, 0, NPS_SRC_SIM), &go};
	evmerge_add(m, c.r);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, produce_clocked, &c), 0);
	struct bracket b = {0};
	atomic_store(&go, true);
	for (int i = 0; i < 300; i++) {
		cr_assert_eq(evmerge_drain(m, false, UINT64_MAX, NULL, check_bracket, &b), 0);
		struct timespec us = {0, 50000};
		nanosleep(&us, NULL);
	}
	pthread_join(th, NULL);
	cr_assert_eq(evmerge_drain(m, true, UINT64_MAX, NULL, check_bracket, &b), 0);
	cr_assert_eq(b.n + evring_lost(c.r), 200000);
	cr_log_info("clock: %s, fence: %s; worst distance outside the bracket: %lu ns",
		    nps_evclock.tsc ? "TSC" : "clock_gettime",
		    nps_evclock.fence ? "membarrier" : "seq_cst", (unsigned long)b.worst);
	/* a pairing error, not a timing figure: the conversion is off by microseconds if wrong */
	cr_assert_leq(b.worst, 1000,
		      "an event's ts is %lu ns outside the clock_gettime reads "
		      "around its stamp",
		      (unsigned long)b.worst);
	evmerge_free(m);
}

Test(evring, delivered_stamps_are_clock_monotonic_ns, .timeout = 60)
{
	stamps_are_clock_monotonic_ns();
}

/* The portable clock and fence, which a machine without a TSC clocksource or membarrier gets. */
Test(evring, delivered_stamps_are_clock_monotonic_ns_with_clock_gettime, .timeout = 60)
{
	setenv("NPS_EVCLOCK", "gettime", 1);
	stamps_are_clock_monotonic_ns();
	cr_assert(!nps_evclock.tsc && !nps_evclock.fence);
}

/* One drain, as the run's observer makes every 2 ms: what it delivers goes through take(). */
static void drain(struct evmerge *m, struct seen *s)
{
	cr_assert_eq(evmerge_drain(m, false, UINT64_MAX, NULL, take, s), 0);
}

/* A merge of one ring of 2^order slots, *r. */
static struct evmerge *one_ring(unsigned order, struct evring **r)
{
	struct evmerge *m = evmerge_new();
	*r = evring_new(order, 0, NPS_SRC_SIM);
	cr_assert(m && *r);
	evmerge_add(m, *r);
	return m;
}

/* 10,000 drains with nothing to deliver: more than the clock pairs a merge keeps (4,096). */
static void idle_spell(struct evmerge *m, struct seen *s)
{
	uint64_t n = s->n;
	for (int i = 0; i < 10000; i++)
		drain(m, s);
	cr_assert_eq(s->n, n, "an idle drain delivered something");
}

/*
 * A run that idles (a server waiting for its next client) still drains every 2 ms, and each
 * drain reads a clock pair. Past the pairs a merge keeps (4,096), an event made after the idle
 * spell is delivered by the next drain, as at the start, not held back until the final one.
 */
Test(evring, an_event_after_a_long_idle_spell_is_delivered_at_once, .timeout = 60)
{
	struct evring *r;
	struct evmerge *m = one_ring(6, &r);
	struct seen s = {0};
	uint64_t seq = 0;
	cr_assert(put(r, &seq));
	drain(m, &s);
	cr_assert_eq(s.n, 1);
	idle_spell(m, &s);
	cr_assert_eq(s.n, 1);
	cr_assert(put(r, &seq));
	drain(m, &s);
	cr_assert_eq(s.n, 2, "the event made after the idle spell was not delivered");
	evmerge_free(m);
}

/*
 * A loss announced, then reported only after a long idle spell (its producer wrote nothing
 * more): the report names the start the announcement gave, to the ns, though the clock pairs of
 * that time are forgotten by then (take() checks the two agree).
 */
Test(evring, a_loss_reported_after_a_long_idle_spell_names_its_announced_start, .timeout = 60)
{
	struct evring *r;
	struct evmerge *m = one_ring(4, &r);
	struct seen s = {0};
	uint64_t seq = 0;
	for (int i = 0; i < 16; i++)
		cr_assert(put(r, &seq));
	cr_assert(!put(r, &seq), "the 17th event of a 16-slot ring is lost");
	drain(m, &s);
	cr_assert_eq(s.announced[0], 1);
	idle_spell(m, &s);
	cr_assert(put(r, &seq));
	drain(m, &s);
	cr_assert_eq(s.reported[0], 1);
	cr_assert_eq(s.lost[0], 1);
	cr_assert_eq(s.per_ring[0], 17);
	evmerge_free(m);
}

/*
 * More rings than any fixed table would hold: a run at GOMAXPROCS 256 has more than 256 Ms. The
 * merge held 256 rings and skipped the rest, the oldest Ms' (M0's among them): their events
 * were neither delivered nor counted as lost, and the fold reported violations that were not.
 */
enum {
	MANY = 300
};

static int count_ring(void *ctx, const struct nps_event *e)
{
	uint64_t *per = ctx;
	cr_assert(e->kind == NPS_EV_NOTE && e->m >= 0 && e->m < MANY, "%u from %d", e->kind, e->m);
	per[e->m]++;
	return 0;
}

Test(evring, a_merge_drains_every_ring_however_many, .timeout = 30)
{
	struct evmerge *m = evmerge_new();
	cr_assert(m);
	struct evring *r[MANY];
	for (int i = 0; i < MANY; i++) {
		cr_assert(r[i] = evring_new(4, i, NPS_SRC_SIM));
		evmerge_add(m, r[i]);
	}
	for (int round = 0; round < 2; round++) {
		uint64_t per[MANY] = {0}, seq = 0;
		for (int i = 0; i < MANY; i++)
			for (int k = 0; k < 3; k++)
				cr_assert(put(r[i], &seq));
		cr_assert_eq(evmerge_drain(m, round == 1, UINT64_MAX, NULL, count_ring, per), 0);
		for (int i = 0; i < MANY; i++)
			cr_assert_eq(per[i], 3, "drain %d: ring %d gave %lu events of 3", round, i,
				     (unsigned long)per[i]);
	}
	cr_assert_eq(evmerge_lost(m), 0);
	evmerge_free(m);
}

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * A run's forced end counts what its rings still hold up to the end as lost
 * (evmerge_pending_upto): the events stamped at or before it, not the ones after it, the oldest
 * one's ns being where the loss begins.
 */
Test(evring, pending_events_are_counted_up_to_an_end, .timeout = 10)
{
	struct evring *a, *b = evring_new(4, 1, NPS_SRC_SIM);
	struct evmerge *m = one_ring(4, &a);
	cr_assert(b);
	evmerge_add(m, b);
	uint64_t seq = 0, first, before = mono_ns();
	struct timespec ms = {0, 1000000};
	for (int k = 0; k < 3; k++)
		cr_assert(put(a, &seq));
	cr_assert(put(b, &seq));
	nanosleep(&ms, NULL);
	uint64_t end = mono_ns();
	nanosleep(&ms, NULL);
	for (int k = 0; k < 2; k++)
		cr_assert(put(a, &seq));
	cr_assert(put(b, &seq));
	cr_assert_eq(evmerge_pending_upto(m, end, &first), 4);
	cr_assert(first >= before && first <= end, "the oldest at %lu, not in %lu..%lu",
		  (unsigned long)first, (unsigned long)before, (unsigned long)end);
	cr_assert_eq(evmerge_pending_upto(m, before - 1, &first), 0);
	cr_assert_eq(first, UINT64_MAX);
	cr_assert_eq(evmerge_pending_upto(m, UINT64_MAX, NULL), 7);
	struct seen s = {0};
	drain(m, &s);
	cr_assert_eq(s.n, 7);
	cr_assert_eq(evmerge_pending_upto(m, UINT64_MAX, NULL), 0);
	evmerge_free(m);
}
