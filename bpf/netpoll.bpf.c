// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * The kernel's view of netpoll: syscall tracepoints on epoll_create1, epoll_ctl, epoll_wait,
 * epoll_pwait and epoll_pwait2, and on read/write of the netpoll break pipe, for one process
 * (targ_tgid). Each call becomes struct nps_event (traces/event.h) in a BPF ring
 * buffer, stamped with bpf_ktime_get_ns (CLOCK_MONOTONIC), so that the loader can merge the
 * kernel's events with the simulated runtime's into one timeline. Go's counterpart is the code
 * that makes these calls: runtime/netpoll_epoll.go (netpollinit, netpollopen, netpollclose,
 * netpoll, netpollBreak).
 *
 * Why syscall tracepoints: kprobes and fentry are unavailable on the target kernel
 * (docs/kernel-view.md); raw_tp/tp_btf sys_enter would run for every syscall of every process,
 * while these run only for the syscalls we name. Exit probes read the arguments back from the
 * task's saved user registers (they are preserved across a system call), so only the wait
 * family needs an entry probe, for the time it blocked; that also keeps a call complete when
 * it was in progress as tracing began. What it leaves out: close(2) of an epoll fd, and the
 * signal masks of epoll_pwait.
 *
 * Record layout and loss reporting: bpf/netpoll.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "traces/event.h"
#include "bpf/netpoll.h"

/* The kernel requires a GPL-compatible licence for bpf_probe_read_user and the ring buffer. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define EV_SIZE ((__u32)sizeof(struct nps_event))

/* Set by the loader before load: the verifier sees them as constants. */
const volatile __u32 targ_tgid = 0;
const volatile __u64 wakeup_bytes = NPS_BPF_RING_DEFAULT / NPS_BPF_WAKEUP_DIVISOR;
/*
 * TEST HOOK, false in every real run: the loader sets it only when NPS_TEST_BPF_REJECT=1, so
 * that tests/test_bpf_priv.c can show what a user sees when the kernel's verifier really rejects
 * one of our programs (nps_exit_epoll_create1, below). False, the verifier knows its branch is
 * dead, never walks it and removes the jump: what remains is the flag's load (two
 * instructions), once per epoll_create1 of the traced process.
 */
const volatile bool test_reject = false;
/*
 * The loader's pid namespace, when it is not the initial one (a container; 0 otherwise): the
 * pids it knows (getpid, --pid, gettid) are that namespace's, bpf_get_current_pid_tgid's the
 * initial one's. Constant: outside a namespace the verifier drops the other branch.
 */
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;

/*
 * Set by the loader at any time, through the mmapped .data map: the break pipe fds are known
 * only after the engine's netpollinit, and the consumer's epoll fd only after ring_buffer__new.
 * A plain load from a global is cheaper than a map lookup on every read(2) and write(2).
 */
volatile int break_rd = -1;
volatile int break_wr = -1;
/*
 * 1 while tracing: set once every probe is attached, cleared before any is detached, so that
 * entries and exits start and stop at the same instant (detaching takes tens of ms per probe).
 */
volatile int tracing = 0;
volatile int self_epfd = -1;  /* the loader's own ring-buffer epoll fd, -1 when tracing another */
volatile __u32 nexcluded = 0; /* entries in excluded_tids: skip the lookup when 0 */

/* Per-process sequence of epoll_wait returns (the low bits of their ids). */
__u64 wait_seq = 0;

/*
 * Events lost and not yet reported in-band (atomic), and the ts of the first of them. One
 * count for every CPU, not one per CPU: the next record of any CPU carries the loss, so that it
 * comes before every later event of the process. Counted per CPU, a loss waited for that CPU's
 * next record, and a thread that had moved to another CPU went on without it: check then took
 * its lost epoll_ctl for a missing one.
 */
__u64 lost_pending __attribute__((aligned(64))) = 0; /* read by every record: not beside wait_seq */
__u64 lost_since = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NPS_BPF_RING_DEFAULT);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nps_bpf_cpu);
} cpu SEC(".maps");

/* Threads whose epoll calls are not traced: the loader's consumer threads. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u8);
} excluded_tids SEC(".maps");

/*
 * A wait's entry time kept until its exit, per thread. Task storage instead of a tid-keyed
 * hash: no update/delete per call, and nothing left behind by a thread that dies in a call.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct nps_bpf_pending);
} pending SEC(".maps");

/* One ring-buffer record being written. */
struct rec {
	struct bpf_dynptr dp;
	__u32 off; /* next free byte */
};

/* What the ready-list writer needs; also the bpf_loop context for the overflow chunks. */
struct wait_ret {
	__u64 uptr; /* the user's epoll_event array */
	__u64 id;   /* the wait's id */
	__u64 ts;   /* its exit time: every event of the return carries it */
	__u64 n;    /* entries returned */
	__u32 tid;
	__s32 epfd;
};

static __always_inline struct nps_bpf_cpu *cpu_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu, &zero);
}

/*
 * Per-CPU, yet atomic: the perf syscall path runs these programs with preemption disabled here,
 * but where BPF programs only disable migration (PREEMPT_RT), another of them can run on this
 * CPU in the middle of ours, and the counters must stay exact (delivered + lost = produced).
 */
static __always_inline void stat_add(struct nps_bpf_cpu *c, __u32 i, __u64 n)
{
	if (i < NPS_STAT__COUNT)
		__sync_fetch_and_add(&c->stat[i], n);
}

/* tgid << 32 | tid of the current task, as the loader's pid namespace numbers them; 0 outside */
static __always_inline __u64 current_id(void)
{
	struct bpf_pidns_info ns;

	if (!pidns_ino)
		return bpf_get_current_pid_tgid();
	if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
		return 0; /* a task outside that namespace: never the traced process */
	return (__u64)ns.tgid << 32 | ns.pid;
}

static __always_inline bool is_traced(__u64 pid_tgid)
{
	return (__u32)(pid_tgid >> 32) == targ_tgid && tracing;
}

static __always_inline bool is_excluded(__u32 tid, int epfd)
{
	int self = self_epfd;

	if (self >= 0 && epfd == self)
		return true;
	return nexcluded && bpf_map_lookup_elem(&excluded_tids, &tid);
}

static __always_inline struct nps_bpf_pending *pending_get(bool create)
{
	return bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

static __always_inline void ev_init(struct nps_event *e, __u16 kind, __u64 ts, __u32 tid, __s32 fd)
{
	__builtin_memset(e, 0, sizeof(*e));
	e->ts = ts;
	e->tid = tid;
	e->fd = fd;
	e->kind = kind;
	e->m = -1;
	e->p = -1;
	e->src = NPS_SRC_KERNEL;
}

/* nev events could not be stored: count them, and remember when the gap began. */
static __always_inline void lose(struct nps_bpf_cpu *c, __u64 nev, __u64 now)
{
	stat_add(c, NPS_STAT_LOST, nev);
	if (__sync_fetch_and_add(&lost_pending, nev) == 0)
		lost_since = now;
}

/*
 * Reserve a record for nev events, preceded by an NPS_EV_LOST when events were lost since the
 * last record (on any CPU): the loss then appears in the stream where it happened. 0, or -1
 * when the ring buffer is full (the events are counted as lost; nothing to submit).
 */
static __always_inline int rec_open_extra(struct rec *r, struct nps_bpf_cpu *c, __u64 nev,
					  __u32 extra, __u64 now, __u32 tid)
{
	__u64 lost = 0, since = 0;

	if (lost_pending) {
		since = lost_since;
		lost = __sync_lock_test_and_set(&lost_pending, 0);
		if (since > now) /* lost on another CPU since this program began */
			since = now;
	}
	stat_add(c, NPS_STAT_PRODUCED, nev);
	r->off = 0;
	if (bpf_ringbuf_reserve_dynptr(&rb, (nev + (lost ? 1 : 0)) * EV_SIZE + extra, 0, &r->dp)) {
		/* A failed reservation still has to be released (it is a null dynptr). */
		bpf_ringbuf_discard_dynptr(&r->dp, 0);
		if (lost)
			__sync_fetch_and_add(&lost_pending, lost);
		lose(c, nev, now);
		return -1;
	}
	if (lost) {
		struct nps_event e;

		ev_init(&e, NPS_EV_LOST, now, tid, -1);
		e.u.lost.count = lost;
		e.u.lost.since = since;
		e.u.lost.source = NPS_SRC_KERNEL;
		bpf_dynptr_write(&r->dp, 0, &e, EV_SIZE, 0);
		r->off = EV_SIZE;
		stat_add(c, NPS_STAT_LOST_MARKED, lost);
	}
	return 0;
}

/* rec_open_extra without bytes after the events: every record but an exec's. */
static __always_inline int rec_open(struct rec *r, struct nps_bpf_cpu *c, __u64 nev, __u64 now,
				    __u32 tid)
{
	return rec_open_extra(r, c, nev, 0, now, tid);
}

static __always_inline void rec_put(struct rec *r, const struct nps_event *e)
{
	bpf_dynptr_write(&r->dp, r->off, (void *)e, EV_SIZE, 0);
	r->off += EV_SIZE;
}

/*
 * Submit. Batched wake-ups: waking the consumer for every record costs an irq_work and a context
 * switch per event (2.5 us here, ebpf-notes section 7), so wake it only when the ring is filling
 * up; otherwise the consumer's periodic poll timeout collects the records.
 */
static __always_inline void rec_close_wake(struct rec *r, struct nps_bpf_cpu *c, bool now)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (now || bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >= wakeup_bytes) {
		flags = BPF_RB_FORCE_WAKEUP;
		stat_add(c, NPS_STAT_WAKEUPS, 1);
	}
	bpf_ringbuf_submit_dynptr(&r->dp, flags);
	stat_add(c, NPS_STAT_RECORDS, 1);
}

static __always_inline void rec_close(struct rec *r, struct nps_bpf_cpu *c)
{
	rec_close_wake(r, c, false);
}

/*
 * Append entries [first, first + cnt) of the returned array (cnt <= NPS_BPF_CHUNK), read back
 * from user memory. The array is x86-64's packed 12-byte struct epoll_event.
 */
static __always_inline void put_ready(struct rec *r, struct nps_bpf_cpu *c,
				      const struct wait_ret *w, __u64 first, __u64 cnt)
{
	struct nps_bpf_epoll_event ue;
	struct nps_event e;

	ev_init(&e, NPS_EV_EPOLL_READY, w->ts, w->tid, -1);
	e.u.ready.id = w->id;
	e.u.ready.epfd = w->epfd;
	for (__u32 i = 0; i < NPS_BPF_CHUNK; i++) {
		if (i >= cnt)
			break;
		__u64 idx = first + i;

		if (bpf_probe_read_user(&ue, sizeof(ue), (void *)(w->uptr + idx * sizeof(ue)))) {
			stat_add(c, NPS_STAT_READ_FAIL, 1);
			ue.events = 0;
			ue.data = 0;
		}
		e.u.ready.events = ue.events;
		e.u.ready.data = ue.data;
		e.u.ready.index = (__u32)idx;
		rec_put(r, &e);
	}
}

/* bpf_loop callback: chunk i + 1 of a ready list longer than NPS_BPF_CHUNK. */
static long ready_chunk(__u32 i, void *ctx)
{
	const struct wait_ret *w = ctx;
	struct nps_bpf_cpu *c = cpu_slot();
	__u64 first = ((__u64)i + 1) * NPS_BPF_CHUNK;
	struct rec r;

	if (!c || first >= w->n)
		return 1;
	__u64 cnt = w->n - first;
	if (cnt > NPS_BPF_CHUNK)
		cnt = NPS_BPF_CHUNK;
	if (rec_open(&r, c, cnt, w->ts, w->tid))
		return 0;
	put_ready(&r, c, w, first, cnt);
	rec_close(&r, c);
	return 0;
}

/* The calling thread's saved user registers: the system call's arguments, at exit too. */
static __always_inline struct pt_regs *user_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* ---- epoll_wait, epoll_pwait, epoll_pwait2 ---- */

static __always_inline int wait_enter(__u32 probe, int epfd, __u64 uptr)
{
	__u64 id = current_id();
	struct nps_bpf_cpu *c;
	struct nps_bpf_pending *p;

	if (!is_traced(id) || !(c = cpu_slot()))
		return 0;
	stat_add(c, probe, 1);
	if (is_excluded((__u32)id, epfd)) {
		stat_add(c, NPS_STAT_FILTERED, 1);
		return 0;
	}
	p = pending_get(true);
	if (!p) {
		stat_add(c, NPS_STAT_NO_STORAGE, 1);
		return 0;
	}
	if (p->busy)
		stat_add(c, NPS_STAT_EXIT_MISSED, 1);
	p->uptr = uptr;
	p->epfd = epfd;
	p->busy = 1;
	p->ts = bpf_ktime_get_ns();
	return 0;
}

/*
 * epoll_pwait2 takes a struct __kernel_timespec * (NULL: block). Shown in ms like the others,
 * rounded up so that a sub-millisecond wait never reads as a non-blocking poll (0). A timespec
 * the kernel refuses (EINVAL: negative, or nanoseconds >= 1 s) or cannot read (EFAULT) is
 * NPS_WAIT_TIMEOUT_INVALID, never -1 ("block"). Unsigned division only: clang 14 cannot emit
 * signed division for BPF.
 */
static __always_inline int timespec_ms(struct nps_bpf_cpu *c, __u64 uts)
{
	struct __kernel_timespec ts;
	__u64 v;

	if (!uts)
		return -1;
	if (bpf_probe_read_user(&ts, sizeof(ts), (void *)uts)) {
		stat_add(c, NPS_STAT_READ_FAIL, 1);
		return NPS_WAIT_TIMEOUT_INVALID;
	}
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
		return NPS_WAIT_TIMEOUT_INVALID;
	/* before the product, which wraps from 2^64 / 1000 s on: the kernel waits that long */
	if ((__u64)ts.tv_sec >= 0x7fffffff / 1000)
		return 0x7fffffff;
	v = (__u64)ts.tv_sec * 1000 + ((__u64)ts.tv_nsec + 999999) / 1000000;
	return v > 0x7fffffff ? 0x7fffffff : (int)v;
}

static __always_inline int wait_exit(__u32 probe, __u8 sub, long ret)
{
	__u64 id = current_id();
	struct pt_regs *regs;
	struct nps_bpf_cpu *c;
	struct nps_bpf_pending *p;
	struct wait_ret w;
	struct nps_event e;
	struct rec r;
	__u64 entry = 0;
	int maxevents;

	if (!is_traced(id) || !(c = cpu_slot()))
		return 0;
	w.ts = bpf_ktime_get_ns();
	regs = user_regs();
	w.epfd = (int)PT_REGS_PARM1_CORE_SYSCALL(regs);
	if (is_excluded((__u32)id, w.epfd))
		return 0; /* counted at entry */
	stat_add(c, probe, 1);
	w.uptr = PT_REGS_PARM2_CORE_SYSCALL(regs);
	maxevents = (int)PT_REGS_PARM3_CORE_SYSCALL(regs);
	w.tid = (__u32)id;
	p = pending_get(false);
	if (p && p->busy && p->epfd == w.epfd && p->uptr == w.uptr)
		entry = p->ts;
	else
		stat_add(c, NPS_STAT_UNMATCHED, 1);
	if (p)
		p->busy = 0;
	w.n = 0;
	if (ret > 0) {
		w.n = (__u64)ret;
		if (maxevents > 0 && w.n > (__u64)maxevents)
			w.n = (__u64)maxevents;
	}
	w.id = NPS_KERNEL_ID_BIT | (__sync_fetch_and_add(&wait_seq, 1) + 1);

	ev_init(&e, NPS_EV_EPOLL_WAIT, w.ts, w.tid, -1);
	e.sub = sub;
	e.u.wait.id = w.id;
	e.u.wait.dur = entry ? w.ts - entry : 0;
	e.u.wait.epfd = w.epfd;
	e.u.wait.maxevents = maxevents;
	if (sub == NPS_WAIT_EPOLL_PWAIT2)
		e.u.wait.timeout_ms = timespec_ms(c, PT_REGS_PARM4_CORE_SYSCALL(regs));
	else
		e.u.wait.timeout_ms = (int)PT_REGS_PARM4_CORE_SYSCALL(regs);
	e.u.wait.ret = (__s32)ret;

	__u64 first = w.n < NPS_BPF_CHUNK ? w.n : NPS_BPF_CHUNK;
	if (!rec_open(&r, c, 1 + first, w.ts, w.tid)) {
		rec_put(&r, &e);
		put_ready(&r, c, &w, 0, first);
		rec_close(&r, c);
	}
	if (w.n > NPS_BPF_CHUNK)
		bpf_loop((__u32)((w.n - 1) / NPS_BPF_CHUNK), ready_chunk, &w, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_epoll_wait")
int nps_enter_epoll_wait(struct trace_event_raw_sys_enter *ctx)
{
	return wait_enter(NPS_PROBE_WAIT_ENTER, (int)ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_epoll_wait")
int nps_exit_epoll_wait(struct trace_event_raw_sys_exit *ctx)
{
	return wait_exit(NPS_PROBE_WAIT_EXIT, NPS_WAIT_EPOLL_WAIT, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_epoll_pwait")
int nps_enter_epoll_pwait(struct trace_event_raw_sys_enter *ctx)
{
	return wait_enter(NPS_PROBE_PWAIT_ENTER, (int)ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_epoll_pwait")
int nps_exit_epoll_pwait(struct trace_event_raw_sys_exit *ctx)
{
	return wait_exit(NPS_PROBE_PWAIT_EXIT, NPS_WAIT_EPOLL_PWAIT, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_epoll_pwait2")
int nps_enter_epoll_pwait2(struct trace_event_raw_sys_enter *ctx)
{
	return wait_enter(NPS_PROBE_PWAIT2_ENTER, (int)ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_epoll_pwait2")
int nps_exit_epoll_pwait2(struct trace_event_raw_sys_exit *ctx)
{
	return wait_exit(NPS_PROBE_PWAIT2_EXIT, NPS_WAIT_EPOLL_PWAIT2, ctx->ret);
}

/* Emit a single-event record. */
static __always_inline void put_one(struct nps_bpf_cpu *c, const struct nps_event *e)
{
	struct rec r;

	if (rec_open(&r, c, 1, e->ts, e->tid))
		return;
	rec_put(&r, e);
	rec_close(&r, c);
}

/* ---- epoll_ctl: everything at the exit (the caller's epoll_event is still there) ---- */

SEC("tracepoint/syscalls/sys_exit_epoll_ctl")
int nps_exit_epoll_ctl(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = current_id();
	struct nps_bpf_epoll_event ue = {};
	struct nps_bpf_cpu *c;
	struct pt_regs *regs;
	struct nps_event e;
	__u64 uev;
	int epfd, op;

	if (!is_traced(id) || !(c = cpu_slot()))
		return 0;
	ev_init(&e, NPS_EV_EPOLL_CTL, bpf_ktime_get_ns(), (__u32)id, -1);
	regs = user_regs();
	epfd = (int)PT_REGS_PARM1_CORE_SYSCALL(regs);
	stat_add(c, NPS_PROBE_CTL_EXIT, 1);
	if (is_excluded((__u32)id, epfd)) {
		stat_add(c, NPS_STAT_FILTERED, 1);
		return 0;
	}
	op = (int)PT_REGS_PARM2_CORE_SYSCALL(regs);
	e.fd = (int)PT_REGS_PARM3_CORE_SYSCALL(regs);
	uev = PT_REGS_PARM4_CORE_SYSCALL(regs);
	/*
	 * EPOLL_CTL_DEL passes NULL (or anything: the kernel ignores it); read what is there. An
	 * ADD or MOD whose event cannot be read (the kernel's EFAULT) is marked so, with the
	 * address the program passed in place of the data, as strace shows it: never a {0, 0}
	 * event the program did not pass.
	 */
	if (!uev || bpf_probe_read_user(&ue, sizeof(ue), (void *)uev)) {
		ue.events = 0;
		ue.data = 0;
		if (op != NPS_EPOLL_CTL_DEL) {
			stat_add(c, NPS_STAT_READ_FAIL, 1);
			e.sub = NPS_CTL_UNREAD;
			ue.data = uev;
		}
	}
	e.u.ctl.data = ue.data;
	e.u.ctl.events = ue.events;
	e.u.ctl.epfd = epfd;
	e.u.ctl.op = op;
	e.u.ctl.ret = (__s32)ctx->ret;
	put_one(c, &e);
	return 0;
}

/* ---- epoll_create1, epoll_create ---- */

/* An epoll_create1 (old: epoll_create, whose one argument is a size) returned ret. */
static __always_inline void create_exit(struct nps_bpf_cpu *c, __u64 id, bool old, long ret)
{
	struct nps_event e;
	int arg = (int)PT_REGS_PARM1_CORE_SYSCALL(user_regs());

	ev_init(&e, NPS_EV_EPOLL_CREATE, bpf_ktime_get_ns(), (__u32)id, -1);
	e.sub = old ? NPS_CREATE_OLD : 0;
	e.u.create.flags = old ? 0 : arg;
	e.u.create.size = old ? arg : 0;
	e.u.create.ret = (__s32)ret;
	put_one(c, &e);
}

SEC("tracepoint/syscalls/sys_exit_epoll_create")
int nps_exit_epoll_create(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = current_id();
	struct nps_bpf_cpu *c;

	if (!is_traced(id) || !(c = cpu_slot()))
		return 0;
	stat_add(c, NPS_PROBE_CREATE_EXIT, 1);
	create_exit(c, id, true, ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_epoll_create1")
int nps_exit_epoll_create1(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = current_id();
	struct nps_bpf_cpu *c;

	if (!is_traced(id) || !(c = cpu_slot()))
		return 0;
	stat_add(c, NPS_PROBE_CREATE1_EXIT, 1);
	create_exit(c, id, false, ctx->ret);
	/*
	 * Last, so that the verifier has walked the whole program before it refuses: its log is
	 * as long as a real rejection's (10 KB here), and its reason is at the end.
	 */
	if (test_reject) {
		/* The classic mistake the verifier refuses: a map value used without a NULL check. */
		__u32 tid = (__u32)id;
		__u8 *unchecked = bpf_map_lookup_elem(&excluded_tids, &tid);

		(void)*(volatile __u8 *)unchecked;
	}
	return 0;
}

/* ---- read/write on the netpoll break pipe (netpollBreak and its drain) ---- */

/*
 * These run for every read(2)/write(2) of every process, so the common case must be cheap: one
 * compare of the tgid, then of the fd read back from the registers. No entry probes: the
 * kernel's write entry event copies the user's buffer before any BPF program runs.
 */
static __always_inline int rw_exit(__u32 probe, __u8 op, int want, long ret)
{
	__u64 id = current_id();
	struct nps_bpf_cpu *c;
	struct pt_regs *regs;
	struct nps_event e;
	int fd;

	if (!is_traced(id) || want < 0)
		return 0;
	regs = user_regs();
	fd = (int)PT_REGS_PARM1_CORE_SYSCALL(regs);
	if (fd != want || !(c = cpu_slot()))
		return 0;
	stat_add(c, probe, 1);
	ev_init(&e, NPS_EV_SYSCALL, bpf_ktime_get_ns(), (__u32)id, fd);
	e.u.sys.ret = ret;
	e.u.sys.count = PT_REGS_PARM3_CORE_SYSCALL(regs);
	e.u.sys.op = op;
	e.u.sys.fn = op == NPS_SYS_READ ? NPS_FN_NETPOLL : NPS_FN_NETPOLLBREAK;
	put_one(c, &e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int nps_exit_read(struct trace_event_raw_sys_exit *ctx)
{
	return rw_exit(NPS_PROBE_READ_EXIT, NPS_SYS_READ, break_rd, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_write")
int nps_exit_write(struct trace_event_raw_sys_exit *ctx)
{
	return rw_exit(NPS_PROBE_WRITE_EXIT, NPS_SYS_WRITE, break_wr, ctx->ret);
}

/* ---- exec: the process runs a new program ---- */

/* The path being copied (too big for the 512-byte stack with the event). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[NPS_BPF_EXEC_PATH]);
} exec_path SEC(".maps");

/*
 * After an exec the fds the old program closed on exec are gone (Go's epoll fd and break pipe
 * are CLOEXEC), and the numbers will be reused by the new program: the break pipe's probes stop
 * here, in the kernel, at the exec itself; the loader names the new pipe, if any. The process
 * keeps its id (a non-leader thread that execs takes it), so the tgid filter still holds.
 */
SEC("tracepoint/sched/sched_process_exec")
int nps_sched_process_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	__u64 id = current_id();
	struct nps_bpf_cpu *c;
	struct nps_event e;
	struct rec r;
	__u32 zero = 0;
	const char *name;
	char *path;
	long n;

	if (!is_traced(id) || !(c = cpu_slot()) || !(path = bpf_map_lookup_elem(&exec_path, &zero)))
		return 0;
	break_rd = -1;
	break_wr = -1;
	stat_add(c, NPS_PROBE_EXEC, 1);
	ev_init(&e, NPS_EV_EXEC, bpf_ktime_get_ns(), (__u32)id, -1);
	e.u.exec.old_tid = ctx->old_pid;
	/* the filename execve(2) was given: the low 16 bits of __data_loc are its offset */
	name = (void *)ctx + (ctx->__data_loc_filename & 0xffff);
	n = bpf_probe_read_kernel_str(path, NPS_BPF_EXEC_PATH, name);
	if (n < 0) {
		stat_add(c, NPS_STAT_READ_FAIL, 1);
		path[0] = '\0';
	} else if (n == NPS_BPF_EXEC_PATH) {
		/*
		 * The buffer is full: its last byte becomes the name's next one instead of the NUL,
		 * so that the loader tells a name cut here from one that ended here (bpf/netpoll.h).
		 * A failed read leaves the NUL (the helper zeroes what it could not read).
		 */
		bpf_probe_read_kernel(&path[NPS_BPF_EXEC_PATH - 1], 1,
				      name + NPS_BPF_EXEC_PATH - 1);
	}
	if (rec_open_extra(&r, c, 1, NPS_BPF_EXEC_PATH, e.ts, e.tid))
		return 0;
	rec_put(&r, &e);
	bpf_dynptr_write(&r.dp, r.off, path, NPS_BPF_EXEC_PATH, 0);
	rec_close(&r, c);
	return 0;
}

/* ---- exit: the process ends ---- */

/* Set by the first exit event: two threads leaving at once may both see the group dead. */
__u32 exit_said = 0;

/*
 * The process's end, with its status as wait(2) will give it to the parent: the trace ends here
 * (the loader stops at this event instead of noticing the exit in /proc up to 100 ms later, with
 * no status). Every thread's exit runs this; only the last one's counts: do_exit decrements
 * signal->live before the tracepoint, so 0 means the thread group is dead (the tracepoint's own
 * group_dead field is newer than the kernels we run on). exit_code is set before it too: for
 * exit_group(2) and a fatal signal it is the group's (do_group_exit passes the group's code to
 * every thread), which is what the parent reaps.
 */
SEC("tracepoint/sched/sched_process_exit")
int nps_sched_process_exit(void *ctx)
{
	__u64 id = current_id();
	struct task_struct *task;
	struct nps_bpf_cpu *c;
	struct nps_event e;
	struct rec r;
	int code;

	if (!is_traced(id) || !(c = cpu_slot()))
		return 0;
	stat_add(c, NPS_PROBE_EXIT, 1);
	task = bpf_get_current_task_btf();
	if (BPF_CORE_READ(task, signal, live.counter) != 0 ||
	    __sync_lock_test_and_set(&exit_said, 1))
		return 0;
	code = BPF_CORE_READ(task, exit_code);
	ev_init(&e, NPS_EV_EXIT, bpf_ktime_get_ns(), (__u32)id, -1);
	if (code & 0x7f) { /* killed: the signal in the low 7 bits, 0x80 if it dumped core */
		e.u.exit.code = -1;
		e.u.exit.signal = code & 0x7f;
		e.u.exit.core = (code & 0x80) != 0;
	} else {
		e.u.exit.code = (code >> 8) & 0xff;
	}
	if (rec_open(&r, c, 1, e.ts, e.tid))
		return 0;
	rec_put(&r, &e);
	rec_close_wake(&r, c, true); /* the last record: the loader ends the trace at once */
	return 0;
}
