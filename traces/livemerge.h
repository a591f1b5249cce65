/* SPDX-License-Identifier: MIT */
/*
 * The live merge: the simulated runtime's event rings (traces/evring.h) and the kernel events
 * the BPF probes deliver, into one stream in timestamp order. Kernel events arrive in ring
 * buffer order, which can differ slightly from timestamp order across CPUs, so they are held in
 * a heap until the probes' consumer says how far it has drained; the runtime's events are held
 * back until the kernel side has caught up with them.
 *
 * At equal timestamps kernel events come first and keep their arrival order, so an epoll_wait
 * return and its ready entries always stay together.
 *
 * Late events. The bound is the caller's watermark (livemerge_kernel_upto: for run,
 * probes_drained_upto(), the last drain's start minus PROBES_INFLIGHT_NS, 1 ms), and nothing
 * proves a probe takes less than that from stamping an event (bpf_ktime_get_ns) to submitting
 * its record: preemption is disabled, but interrupts still run, and this VM's vCPU can be
 * descheduled by the hypervisor for longer than 1 ms (steal time) between the two; a record
 * reserved before ours also holds ours back in the ring until that slower probe submits it. A kernel event that arrives after events stamped later than it were
 * delivered is not dropped: it is delivered at once, out of time order, and the consumers count
 * it (fold_stats.late, shown in the run and replay summaries; the trace writer's footer "late",
 * next to "lost"); `check` reports its ts-order. Never seen on this machine (docs/kernel-view.md).
 */
#ifndef NPS_TRACES_LIVEMERGE_H
#define NPS_TRACES_LIVEMERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "traces/evring.h"

struct livemerge;

/* kernel: false when no kernel events will come (the merge then follows the sim alone). */
struct livemerge *livemerge_new(struct evmerge *sim, bool kernel);
void livemerge_free(struct livemerge *lm);

/* A kernel event, in ring order. 0 or -ENOMEM. */
int livemerge_push_kernel(struct livemerge *lm, const struct nps_event *e);

/* Every kernel event with ts <= upto has been pushed. */
void livemerge_kernel_upto(struct livemerge *lm, uint64_t upto);

/* Deliver what is safe (everything when final: all producers stopped). As evmerge_drain. */
int livemerge_drain(struct livemerge *lm, bool final, evmerge_cb cb, void *ctx);

/*
 * What was not delivered of the events stamped at or before end: those still in the runtime's
 * rings and the kernel events still held, and the oldest one's ts in *first (UINT64_MAX when
 * none). For an end that cannot wait for the producers to stop (a run's forced end), which
 * counts them as lost.
 */
void livemerge_undelivered(struct livemerge *lm, uint64_t end, uint64_t *sim, uint64_t *kernel,
			   uint64_t *first);

#endif /* NPS_TRACES_LIVEMERGE_H */
