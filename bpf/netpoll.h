/* SPDX-License-Identifier: MIT */
/*
 * What the BPF program (bpf/netpoll.bpf.c) and its loader (bpf/probes.c) share besides the
 * event struct itself (traces/event.h): the probe list, the per-CPU counters and the record
 * layout of the ring buffer. Like traces/event.h this header includes nothing and uses only
 * fixed-width types, so that it compiles both against vmlinux.h (clang -target bpf) and against
 * the C library (gcc).
 *
 * Ring buffer records: one record is an array of whole struct nps_event (64 bytes each), never
 * a partial one. An epoll_wait return is one record: [LOST] EPOLL_WAIT READY... (up to
 * NPS_BPF_CHUNK ready entries, which covers Go's 128), so the wait and its ready list are
 * delivered together or lost together; a return with more entries continues in records of up
 * to NPS_BPF_CHUNK EPOLL_READY events each. An exec is [LOST] EXEC PATH: the event, then
 * NPS_BPF_EXEC_PATH bytes of the new program's path, NUL-terminated; a longer path fills them
 * with its first bytes, the last one not NUL, and the loader cuts it there with the mark
 * NPS_PATH_CUT (traces/names.h). The loader turns the path into the event's path id. Every
 * other record is [LOST] EVENT. The optional leading NPS_EV_LOST
 * reports events this CPU lost since its last successful record (in-band, where the loss
 * happened, as traces/evring.h does for the simulator's rings).
 */
#ifndef NPS_BPF_NETPOLL_H
#define NPS_BPF_NETPOLL_H

#include "traces/event.h"

/* Ready entries per ring-buffer record (the first one holds the EPOLL_WAIT as well). */
#define NPS_BPF_CHUNK 128

/*
 * Bytes of an exec's path in its record (a multiple of the event size): paths of up to 255 bytes
 * whole, longer ones cut to 255 and marked.
 */
#define NPS_BPF_EXEC_PATH 256

/* Default ring buffer size (bytes) and the share of it that forces a consumer wake-up. */
#define NPS_BPF_RING_DEFAULT   (4U << 20)
#define NPS_BPF_WAKEUP_DIVISOR 8

/* x86-64's struct epoll_event is packed: 12 bytes, data at offset 4 (ebpf-notes section 4.4). */
struct nps_bpf_epoll_event {
	nps_u32 events;
	nps_u64 data;
} __attribute__((packed));

/*
 * The probes, one per BPF program, in the order of their per-probe hit counters. A hit is an
 * invocation that passed the process filter (for read/write: that concerned a break pipe fd).
 * Only the wait family has entry probes (for the blocked time): every exit probe reads the
 * call's arguments back from the task's saved user registers, so that a call whose entry was not
 * seen (in progress when tracing began) is still complete (docs/kernel-view.md, "returns without
 * their entry").
 */
enum nps_bpf_probe {
	NPS_PROBE_CREATE1_EXIT = 0,
	NPS_PROBE_CTL_EXIT,
	NPS_PROBE_WAIT_ENTER,
	NPS_PROBE_WAIT_EXIT,
	NPS_PROBE_PWAIT_ENTER,
	NPS_PROBE_PWAIT_EXIT,
	NPS_PROBE_PWAIT2_ENTER,
	NPS_PROBE_PWAIT2_EXIT,
	NPS_PROBE_READ_EXIT,
	NPS_PROBE_WRITE_EXIT,
	NPS_PROBE_EXEC,	       /* sched/sched_process_exec: the process runs a new program */
	NPS_PROBE_CREATE_EXIT, /* epoll_create(2), the old call */
	NPS_PROBE_EXIT,	       /* sched/sched_process_exit: the process's last thread exits */
	NPS_PROBE__COUNT,
};

/*
 * Per-CPU counters (struct nps_bpf_cpu.stat), after the per-probe hits; the loader sums them
 * over the CPUs. PRODUCED counts events emitted or attempted, LOST markers excluded.
 */
enum nps_bpf_stat {
	NPS_STAT_PRODUCED = NPS_PROBE__COUNT,
	NPS_STAT_LOST,	      /* events whose ring buffer reservation failed */
	NPS_STAT_LOST_MARKED, /* of those, reported by an in-band NPS_EV_LOST */
	NPS_STAT_RECORDS,     /* records submitted */
	NPS_STAT_WAKEUPS,     /* records submitted with a forced wake-up */
	NPS_STAT_FILTERED,    /* calls of the consumer itself (excluded tid/epfd) */
	NPS_STAT_READ_FAIL,   /* user memory that could not be read (EFAULT...) */
	NPS_STAT_UNMATCHED,   /* wait exits with no entry seen: dur unknown (0) */
	NPS_STAT_EXIT_MISSED, /* wait entries whose exit never ran */
	NPS_STAT_NO_STORAGE,  /* task storage allocation failed at entry */
	NPS_STAT__COUNT,
};

/* One CPU's slot of the per-CPU array map "cpu". */
struct nps_bpf_cpu {
	nps_u64 stat[NPS_STAT__COUNT];
};

/* Per-thread (task storage) state between a wait's entry and its exit. */
struct nps_bpf_pending {
	nps_u64 ts;   /* entry time, ns */
	nps_u64 uptr; /* the events array passed: with epfd, ties the exit to this entry */
	nps_s32 epfd;
	nps_u32 busy; /* 1 between an entry and its exit */
};

#endif /* NPS_BPF_NETPOLL_H */
