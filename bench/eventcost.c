// SPDX-License-Identifier: MIT
/*
 * eventcost: what one event of the runtime's log costs its producer (traces/evring.h), and how
 * much of that is the clock. Single-threaded, so it prices the instructions and the clock read,
 * not the cache traffic with a consumer on another CPU (bench/observer_cpu.sh and the costs
 * section of bench/run.sh see that). For each figure it keeps the fastest of --repeat passes
 * of --events iterations:
 *
 *   event_ns        evring_begin, three fields filled, evring_commit (a drain every 4096
 *                   events hands the slots back; its time is not counted), with the rings'
 *                   clock and fence (evring.h): "clock" says which (NPS_EVCLOCK=gettime for
 *                   the portable ones)
 *   clock_ns        clock_gettime(CLOCK_MONOTONIC) alone
 *   store_clock_ns  the sequentially consistent store that announces an event, then the clock:
 *                   what evring_begin does before it touches the slot
 *   store_tsc_ns    the same store, then lfence; rdtsc: the cheapest clock read the merge's
 *                   watermark could use (x86-64 only; 0 elsewhere)
 *
 * Prints one JSON line. Used for docs/performance.md, "What the event log costs".
 *
 *   eventcost [--events N] [--repeat N]
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/benchutil.h"
#include "traces/evring.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#define BATCH 4096

static volatile uint64_t sink; /* keeps the clock reads from being optimised away */
static _Atomic uint32_t flag;

static int drop(void *ctx, const struct nps_event *e)
{
	(void)ctx;
	sink += e->ts;
	return 0;
}

/* ns per event of the producer's path: begin, fill, commit. */
static double time_events(struct evmerge *m, struct evring *r, long n)
{
	double spent = 0;
	for (long done = 0; done < n; done += BATCH) {
		double t0 = bench_now();
		for (int i = 0; i < BATCH; i++) {
			struct nps_event *e = evring_begin(r, NPS_EV_NOTE);
			if (!e)
				continue;
			e->g = i;
			e->fd = i;
			e->tid = 1;
			evring_commit(r);
		}
		spent += bench_now() - t0;
		evmerge_drain(m, false, UINT64_MAX, NULL, drop, NULL);
	}
	return spent * 1e9 / (double)n;
}

static double time_clock(long n, int store, int tsc)
{
	(void)tsc; /* x86-64 only */
	double t0 = bench_now();
	for (long i = 0; i < n; i++) {
		if (store)
			atomic_store_explicit(&flag, 1, memory_order_seq_cst);
#if defined(__x86_64__)
		if (tsc) {
			_mm_lfence();
			sink += __rdtsc();
			continue;
		}
#endif
		sink += nps_nanotime();
	}
	return (bench_now() - t0) * 1e9 / (double)n;
}

static double best(double a, double b)
{
	return b > 0 && (a == 0 || b < a) ? b : a;
}

int main(int argc, char **argv)
{
	long n = 10000000, repeat = 3;
	for (int i = 1; i < argc; i++) {
		int rc = 0;
		if (!strcmp(argv[i], "--events") && i + 1 < argc)
			rc = bench_parse_count("eventcost", "--events", argv[++i], BATCH, 1L << 40,
					       &n);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			rc =
			    bench_parse_count("eventcost", "--repeat", argv[++i], 1, 1000, &repeat);
		else
			rc = -1;
		if (rc) {
			fprintf(stderr, "usage: eventcost [--events N] [--repeat N]\n");
			return 2;
		}
	}
	struct evmerge *m = evmerge_new();
	struct evring *r = evring_new(16, 0, NPS_SRC_SIM);
	if (!m || !r) {
		fprintf(stderr, "eventcost: out of memory\n");
		return 1;
	}
	evmerge_add(m, r);
	double ev = 0, clk = 0, sclk = 0, stsc = 0;
	for (long k = 0; k < repeat; k++) {
		ev = best(ev, time_events(m, r, n));
		clk = best(clk, time_clock(n, 0, 0));
		sclk = best(sclk, time_clock(n, 1, 0));
#if defined(__x86_64__)
		stsc = best(stsc, time_clock(n, 1, 1));
#endif
	}
	if (evring_lost(r)) {
		fprintf(stderr, "eventcost: %llu events lost: the drain did not keep up\n",
			(unsigned long long)evring_lost(r));
		return 1;
	}
	printf("{\"events\":%ld,\"clock\":\"%s\",\"event_ns\":%.1f,\"clock_ns\":%.1f,"
	       "\"store_clock_ns\":%.1f,\"store_tsc_ns\":%.1f}\n",
	       n, nps_evclock.tsc ? (nps_evclock.fence ? "tsc+membarrier" : "tsc") : "gettime", ev,
	       clk, sclk, stsc);
	evmerge_free(m);
	return 0;
}
