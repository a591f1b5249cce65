/* SPDX-License-Identifier: MIT */
/*
 * The kernel's view of one process: the loader of the BPF probes (bpf/netpoll.bpf.c) and the
 * consumer of their ring buffer. It turns the process's epoll_create1, epoll_ctl, epoll_wait,
 * epoll_pwait, epoll_pwait2 calls and its reads and writes of the netpoll break pipe into
 * struct nps_event (src NPS_SRC_KERNEL, CLOCK_MONOTONIC timestamps), ready to be merged with the
 * simulated runtime's events. docs/kernel-view.md says what is probed and what it costs.
 *
 * Two implementations share this header: bpf/probes.c (libbpf CO-RE) and bpf/probes_stub.c,
 * linked instead when the BPF toolchain was missing at build time; its probes_open() fails with
 * the reason. Callers never need an #ifdef.
 *
 * Threads: probes_poll() from one consumer thread at a time; probes_stats() from any thread;
 * probes_set_break_fds() and probes_exclude_tid() from any thread, at any time.
 */
#ifndef NPS_BPF_PROBES_H
#define NPS_BPF_PROBES_H

#include <stddef.h>
#include <stdint.h>

#include "traces/event.h"

#define PROBES_NPROBES 13 /* enum nps_bpf_probe (bpf/netpoll.h) */

struct probes_opts {
	int tgid;	   /* process to trace (> 0); getpid() traces ourselves */
	size_t ring_bytes; /* ring buffer size, 0 = default (4 MiB); rounded up to 2^n pages */
	int verbose;	   /* 0: quiet; 1: libbpf warnings (verifier log) to stderr; 2: + debug */
	int prog_stats;	   /* 1: turn on the kernel's run-time accounting (probes' ns in stats) */
};

struct probes_stats {
	uint64_t produced;	/* events the probes emitted or tried to (not LOST markers) */
	uint64_t delivered;	/* of those, handed to a probes_poll() callback */
	uint64_t lost;		/* of those, dropped: the ring buffer was full */
	uint64_t lost_reported; /* lost events already reported by NPS_EV_LOST in the stream */
	uint64_t records;	/* ring buffer records submitted */
	uint64_t wakeups;	/* records that forced a consumer wake-up (batching at work) */
	uint64_t woken;		/* times a probe woke the consumer (not its poll's timeout) */
	uint64_t filtered;	/* calls of the consumer itself, not traced (excluded tid/epfd) */
	uint64_t read_fail;	/* user memory the probes could not read (the EFAULT case) */
	uint64_t unmatched;	/* wait exits with no entry seen: dur unknown, shown as 0 */
	uint64_t exit_missed;	/* wait entries whose exit probe never ran */
	uint64_t no_storage;	/* entries dropped: no task storage */
	uint64_t hits[PROBES_NPROBES];	  /* per probe, calls of the traced process */
	uint64_t run_ns[PROBES_NPROBES];  /* per probe, kernel time spent (prog_stats), else 0 */
	uint64_t run_cnt[PROBES_NPROBES]; /* per probe, runs of every process (prog_stats) */
	uint64_t missed[PROBES_NPROBES];  /* per probe, runs the kernel skipped (recursion) */
	int run_stats;			  /* 1 when run_ns/run_cnt are valid */
	size_t ring_bytes;		  /* actual ring buffer size */
	uint64_t attach_ns;		  /* CLOCK_MONOTONIC when the probes were attached */
	uint64_t drain_ns; /* CLOCK_MONOTONIC when the last probes_poll() began draining */
	uint64_t stop_ns;  /* CLOCK_MONOTONIC when the probes stopped (probes_stop), else 0 */
	int detached;	   /* probes_detach() was called */
	int pwait2;	   /* 1 when epoll_pwait2 is probed (its tracepoint exists) */
};

struct probes;

/* The tracepoint of probe i ("sys_enter_epoll_ctl"), NULL when out of range. */
const char *probes_probe_name(int i);

/*
 * Load the probes for o->tgid, attach them, and set up the ring buffer consumer: events flow
 * from the moment this returns. When o->tgid is our own process, the consumer's own epoll fd is
 * excluded before attaching. As root, mounts tracefs on /sys/kernel/tracing when it is missing.
 *
 * Returns 0 with *out set, or -errno with *out NULL and a one-line reason in why (no trailing
 * newline), keyed on the stage and the errno:
 *   "not root: ..." (bpf() EPERM), "no bpf(): ..." (ENOSYS), "no BTF: ...",
 *   "tracefs not mounted: ...", "tracefs not readable: ..." (EACCES on tracefs),
 *   "verifier rejected ..." (EACCES at load), "tracepoint missing: ...",
 *   "built without eBPF support: ..." (the stub), or "... failed: <strerror>" otherwise.
 * Blocking: loading and verifying takes about 0.4 s. One probes_open() at a time (libbpf's log
 * callback is process-wide); not async-signal-safe.
 */
int probes_open(const struct probes_opts *o, struct probes **out, char *why, size_t whylen);

/*
 * Trace read(2) on rd and write(2) on wr (the netpoll break pipe: netpollBreak and its drain),
 * known only after the traced runtime's netpollinit. -1 turns one off. The read/write probes
 * run for every read(2)/write(2) on the machine, so they are attached here, on the first call
 * with an fd, not by probes_open(). 0, -EINVAL, or -errno of the attach (tracefs...).
 */
int probes_set_break_fds(struct probes *p, int rd, int wr);

/* Stop tracing the epoll calls of thread tid (a consumer thread). 0, -ENOSPC (64 max) or -errno. */
int probes_exclude_tid(struct probes *p, int tid);

/*
 * Wait up to timeout_ms (0: do not wait, -1: until woken) for the ring buffer, then drain it,
 * calling cb for every event in ring order: an epoll_wait return is its NPS_EV_EPOLL_WAIT
 * immediately followed by its NPS_EV_EPOLL_READY entries (same ts, same id). Events lost to a
 * full ring buffer arrive as NPS_EV_LOST (src kernel) where the loss happened; after
 * probes_detach() the final drain also reports losses that no later record could carry. The
 * ring is drained on every call, whether or not a wake-up came (wake-ups are batched).
 * Returns the number of events delivered (>= 0), or -errno; a signal ends the wait early (0).
 */
int probes_poll(struct probes *p, int timeout_ms, void (*cb)(void *ctx, const struct nps_event *e),
		void *ctx);

/*
 * A watermark for merging (traces/livemerge.h livemerge_kernel_upto): every kernel event with
 * ts <= the returned value has been delivered by the probes_poll() calls so far. It is the start
 * of the last drain minus PROBES_INFLIGHT_NS, the longest a probe may take between stamping an
 * event and submitting it (the probes run with preemption disabled). 0 before the first poll.
 */
#define PROBES_INFLIGHT_NS 1000000ULL
uint64_t probes_drained_upto(struct probes *p);

/*
 * Stop tracing: from now on no probe emits an event (a flag the probes read, so that every
 * probe stops at the same instant; a probe already running may still stamp an event a few
 * microseconds later). Fast; stats' stop_ns says when. Idempotent; probes_detach() calls it.
 */
void probes_stop(struct probes *p);

/*
 * Stop (probes_stop), then detach the probes; the ring buffer stays readable. Detaching waits
 * for the kernel (tens of ms; the probes are detached in parallel). 0 or -errno.
 */
int probes_detach(struct probes *p);

/* Counters so far (produced = delivered + lost once detached and drained). */
void probes_stats(struct probes *p, struct probes_stats *st);

/* Detach and free everything. NULL-safe. */
void probes_close(struct probes *p);

#endif /* NPS_BPF_PROBES_H */
