/* SPDX-License-Identifier: MIT */
/*
 * The one event struct of netpollsim. The simulator (sim/) emits it, the BPF probes (bpf/) fill
 * it in the kernel's ring buffer, traces/ serialises it to JSON Lines and back, and the fold
 * (traces/fold.h) turns a stream of them into the state the dashboard, the checker and the
 * narrator show. Nothing translates between "sim events" and "kernel events": both are this.
 *
 * Rules: fixed-width fields only, 64 bytes, the same layout under gcc and clang -target bpf
 * (checked by _Static_assert here and by a test that compiles this header for BPF). The
 * header includes nothing, so that a BPF program using vmlinux.h can include it.
 *
 * Event kinds are documented like Go's runtime/trace.go: each constant lists, in brackets, the
 * header fields and the payload member it uses. Numbers and names never change meaning once
 * released (they are the trace file format, docs/trace-format.md); new kinds are appended.
 */
#ifndef NPS_TRACES_EVENT_H
#define NPS_TRACES_EVENT_H

typedef __UINT8_TYPE__ nps_u8;
typedef __UINT16_TYPE__ nps_u16;
typedef __UINT32_TYPE__ nps_u32;
typedef __UINT64_TYPE__ nps_u64;
typedef __INT16_TYPE__ nps_s16;
typedef __INT32_TYPE__ nps_s32;
typedef __INT64_TYPE__ nps_s64;

/* Where an event comes from: the runtime model, or the kernel as seen by the BPF probes. */
enum nps_src {
	NPS_SRC_SIM = 1,
	NPS_SRC_KERNEL = 2,
};

/*
 * Event kinds. Header fields every event has: ts, src, kind, tid; m, p, g where known (-1/0
 * otherwise). "fd" below means the header's fd field.
 */
enum nps_kind {
	NPS_EV_NONE = 0,
	/* sim: one change of pd.rg or pd.wg [fd, u.pd_state] */
	NPS_EV_PD_STATE = 1,
	/* sim: poll_runtime_pollOpen initialised a descriptor [fd, u.pd: pd, seq, info; sub=1 when
	 * pollCache.alloc had to allocate a fresh block] */
	NPS_EV_PD_OPEN = 2,
	/* sim: pollCache.free after poll_runtime_pollClose: fdseq bumped [fd, u.pd: pd, seq (new)] */
	NPS_EV_PD_FREE = 3,
	/* sim: poll_runtime_pollUnblock (evict) set closing [fd, u.pd: pd, seq, info] */
	NPS_EV_PD_EVICT = 4,
	/* sim: poll_runtime_pollSetDeadline stored rd/wd [fd, u.pd: pd, mode, rd, wd, info] */
	NPS_EV_PD_DEADLINE = 5,
	/* sim: netpolldeadlineimpl ran [fd, u.pd: pd, mode (which side expired), rd, wd, info;
	 * sub=1 when the timer was stale (seq mismatch) and nothing changed] */
	NPS_EV_PD_EXPIRE = 6,
	/* sim: setEventErr flipped the eventErr bit [fd, u.pd: pd, seq, info] */
	NPS_EV_PD_EVENTERR = 7,
	/* sim: a goroutine's status changed [u.gstatus] */
	NPS_EV_GSTATUS = 8,
	/* sim: netpoll(delay) is about to call epoll_pwait [u.netpoll: id, delay, waitms, caller] */
	NPS_EV_NETPOLL_BEGIN = 9,
	/* sim: netpoll returned [u.netpoll: id, delay, waitms, n, ngs, delta, caller] */
	NPS_EV_NETPOLL_END = 10,
	/* sim: netpoll handled one returned epoll event [fd, u.netpoll_event] */
	NPS_EV_NETPOLL_EVENT = 11,
	/* sim: netpollBreak was called [u.brk: result, when] */
	NPS_EV_NETPOLL_BREAK = 12,
	/* sim: netpoll drained the break pipe [fd (break read end), u.brk: ret = bytes read] */
	NPS_EV_NETPOLL_DRAIN = 13,
	/* sim: netpollAdjustWaiters changed netpollWaiters [u.waiters] */
	NPS_EV_WAITERS = 14,
	/* sim: netpollopen registered fd with epoll [fd, u.ctl: op ADD, events, data, ret] */
	NPS_EV_NETPOLLOPEN = 15,
	/* sim: netpollclose removed fd from epoll [fd, u.ctl: op DEL, ret] */
	NPS_EV_NETPOLLCLOSE = 16,
	/* sim: a scheduler step on Ms and Ps [u.sched: op, m2, p2, counters] */
	NPS_EV_SCHED = 17,
	/* sim: a timer was added, modified, deleted or run [u.timer] */
	NPS_EV_TIMER = 18,
	/* sim: a sysmon step: its 10 ms netpoll rule fired, or it goes to deep sleep [u.sysmon] */
	NPS_EV_SYSMON = 19,
	/* sim or kernel: an I/O syscall made by the FD layer (sim) or on the netpoll break pipe
	 * (kernel) [fd, u.sys] */
	NPS_EV_SYSCALL = 20,
	/* sim: an FD-layer call returned an error to the program [fd, u.fderr] */
	NPS_EV_FD_ERR = 21,
	/* sim: a fatal runtime error; the process is about to abort [u.throw] */
	NPS_EV_THROW = 22,
	/* sim or kernel: events were lost at this point [u.lost; sub=1: a loss has begun here and
	 * its count comes with a later lost event (count 0 in this one)] */
	NPS_EV_LOST = 23,
	/* sim: a scenario's note for the narration [u.note; sub NPS_NOTE_MORE: its text goes on in
	 * the next note of the same producer (a longer note comes in pieces of 32 bytes)] */
	NPS_EV_NOTE = 24,
	/* sim: netpollinit created the epoll instance and the break pipe [u.init] */
	NPS_EV_NETPOLLINIT = 25,
	/* kernel: epoll_ctl returned [fd, u.ctl: epfd, op, events, data, ret; sub NPS_CTL_SEEDED:
	 * not a call, a registration read from /proc when tracing began, as an ADD at the origin;
	 * sub NPS_CTL_UNREAD: the event could not be read, data is its address] */
	NPS_EV_EPOLL_CTL = 32,
	/* kernel: epoll_wait/epoll_pwait/epoll_pwait2 returned [u.wait; sub = NPS_WAIT_*]; its
	 * ready list follows as u.wait.ret NPS_EV_EPOLL_READY events with the same id */
	NPS_EV_EPOLL_WAIT = 33,
	/* kernel: one entry of an epoll_wait ready list [fd (-1 until joined), u.ready; sub is 0:
	 * the syscall is its EPOLL_WAIT's sub] */
	NPS_EV_EPOLL_READY = 34,
	/* kernel: epoll_create1 returned [u.create]; sub NPS_CREATE_OLD: epoll_create(2) did */
	NPS_EV_EPOLL_CREATE = 35,
	/* kernel: the traced process exec'd a new program (sched_process_exec) [tid: the process
	 * id, which the exec keeps; u.exec]. Every CLOEXEC fd is closed from here on (Go's epoll
	 * fd and break pipe among them): the interest set is what /proc shows after it */
	NPS_EV_EXEC = 36,
	/* kernel: the traced process ended, its last thread leaving the kernel's do_exit
	 * (sched_process_exit with the thread group dead) [tid: that thread; u.exit]. Every fd
	 * it had is closed: its epoll fds and their interest sets with them */
	NPS_EV_EXIT = 37,
	NPS_EV__COUNT = 38,
};

/* Value of pd.rg / pd.wg in an event: pdNil, pdReady, pdWait, or the parked G (by goid). */
#define NPS_PDV_NIL	0ULL
#define NPS_PDV_READY	1ULL
#define NPS_PDV_WAIT	2ULL
#define NPS_PDV_GBIT	(1ULL << 63)
#define NPS_PDV_G(goid) (NPS_PDV_GBIT | (nps_u64)(goid))
#define NPS_PDV_IS_G(v) (((v)&NPS_PDV_GBIT) != 0)
#define NPS_PDV_GOID(v) ((v) & ~NPS_PDV_GBIT)

/*
 * Go runtime functions an event names ("fn"). Numbered for the wire; the names are Go's own
 * (traces/names.c), so that narration and traces can be grepped against Go's source.
 */
enum nps_fn {
	NPS_FN_NONE = 0,
	NPS_FN_POLLOPEN,	     /* poll_runtime_pollOpen */
	NPS_FN_POLLCLOSE,	     /* poll_runtime_pollClose */
	NPS_FN_POLLRESET,	     /* poll_runtime_pollReset */
	NPS_FN_POLLWAIT,	     /* poll_runtime_pollWait */
	NPS_FN_POLLUNBLOCK,	     /* poll_runtime_pollUnblock */
	NPS_FN_POLLSETDEADLINE,	     /* poll_runtime_pollSetDeadline */
	NPS_FN_NETPOLLBLOCK,	     /* netpollblock */
	NPS_FN_NETPOLLBLOCKCOMMIT,   /* netpollblockcommit */
	NPS_FN_NETPOLLUNBLOCK,	     /* netpollunblock */
	NPS_FN_NETPOLLREADY,	     /* netpollready */
	NPS_FN_NETPOLLDEADLINEIMPL,  /* netpolldeadlineimpl */
	NPS_FN_NETPOLLGOREADY,	     /* netpollgoready */
	NPS_FN_NETPOLL,		     /* netpoll */
	NPS_FN_NETPOLLBREAK,	     /* netpollBreak */
	NPS_FN_NETPOLLINIT,	     /* netpollinit */
	NPS_FN_NETPOLLOPEN,	     /* netpollopen */
	NPS_FN_NETPOLLCLOSE,	     /* netpollclose */
	NPS_FN_POLLCACHE_ALLOC,	     /* pollCache.alloc */
	NPS_FN_POLLCACHE_FREE,	     /* pollCache.free */
	NPS_FN_SETEVENTERR,	     /* pollDesc.setEventErr */
	NPS_FN_NETPOLLADJUSTWAITERS, /* netpollAdjustWaiters */
	NPS_FN_GOPARK,		     /* gopark */
	NPS_FN_PARK_M,		     /* park_m */
	NPS_FN_GOREADY,		     /* goready */
	NPS_FN_READY,		     /* ready */
	NPS_FN_INJECTGLIST,	     /* injectglist */
	NPS_FN_EXECUTE,		     /* execute */
	NPS_FN_NEWPROC,		     /* newproc */
	NPS_FN_GOEXIT0,		     /* goexit0 */
	NPS_FN_GOSCHED_M,	     /* gosched_m */
	NPS_FN_FINDRUNNABLE,	     /* findRunnable */
	NPS_FN_SCHEDULE,	     /* schedule */
	NPS_FN_SYSMON,		     /* sysmon */
	NPS_FN_STEALWORK,	     /* stealWork */
	NPS_FN_WAKEP,		     /* wakep */
	NPS_FN_STARTM,		     /* startm */
	NPS_FN_STOPM,		     /* stopm */
	NPS_FN_HANDOFFP,	     /* handoffp */
	NPS_FN_ACQUIREP,	     /* acquirep */
	NPS_FN_RELEASEP,	     /* releasep */
	NPS_FN_NEWM,		     /* newm */
	NPS_FN_WAKENETPOLLER,	     /* wakeNetPoller */
	NPS_FN_ADDTIMER,	     /* addtimer */
	NPS_FN_MODTIMER,	     /* modtimer */
	NPS_FN_DELTIMER,	     /* deltimer */
	NPS_FN_RUNONETIMER,	     /* runOneTimer */
	NPS_FN_CHECKTIMERS,	     /* checkTimers */
	NPS_FN_NETPOLLREADDEADLINE,  /* netpollReadDeadline */
	NPS_FN_NETPOLLWRITEDEADLINE, /* netpollWriteDeadline */
	NPS_FN_NETPOLLDEADLINE,	     /* netpollDeadline */
	NPS_FN_GOROUTINEREADY,	     /* goroutineReady */
	NPS_FN_TIMESLEEP,	     /* timeSleep */
	NPS_FN_RESETFORSLEEP,	     /* resetForSleep */
	NPS_FN_SEMACQUIRE,	     /* semacquire1 */
	NPS_FN_SEMRELEASE,	     /* semrelease1 */
	NPS_FN_FD_INIT,		     /* (*FD).Init */
	NPS_FN_FD_READ,		     /* (*FD).Read */
	NPS_FN_FD_WRITE,	     /* (*FD).Write */
	NPS_FN_FD_ACCEPT,	     /* (*FD).Accept */
	NPS_FN_FD_CLOSE,	     /* (*FD).Close */
	NPS_FN_FD_DESTROY,	     /* (*FD).destroy */
	NPS_FN_SETDEADLINEIMPL,	     /* setDeadlineImpl */
	NPS_FN_CONNECT,		     /* (*netFD).connect */
	NPS_FN_MAIN,		     /* main: the scenario's main goroutine */
	NPS_FN__COUNT,
};

/* Goroutine status values, as Go's runtime2.go numbers them. */
enum nps_gstatus {
	NPS_GIDLE = 0,
	NPS_GRUNNABLE = 1,
	NPS_GRUNNING = 2,
	NPS_GSYSCALL = 3,
	NPS_GWAITING = 4,
	NPS_GDEAD = 6,
};

/* Why a goroutine waits (Go's waitReason subset the model uses). */
enum nps_waitreason {
	NPS_WR_ZERO = 0,
	NPS_WR_IOWAIT,		/* "IO wait" */
	NPS_WR_SLEEP,		/* "sleep" */
	NPS_WR_SEMACQUIRE,	/* "semacquire" */
	NPS_WR_WAITGROUP,	/* "sync.WaitGroup.Wait" (old traces) */
	NPS_WR_SELECT_NO_CASES, /* "select (no cases)": a goroutine parked forever */
	NPS_WR__COUNT,
};

/* Where ready/injectglist/newproc put a runnable G. */
enum nps_runq_where {
	NPS_RQ_NONE = 0, /* not queued: returned to the caller to run directly */
	NPS_RQ_RUNNEXT,	 /* the P's runnext slot */
	NPS_RQ_LOCAL,	 /* the P's local run queue */
	NPS_RQ_GLOBAL,	 /* sched.runq */
};

/* Who called netpoll (u.netpoll.caller). */
enum nps_netpoll_caller {
	NPS_NPC_FINDRUNNABLE = 1,   /* findRunnable's non-blocking poll */
	NPS_NPC_FINDRUNNABLE_BLOCK, /* findRunnable's blocking poll (the one poller M) */
	NPS_NPC_SYSMON,		    /* sysmon's 10 ms rule */
	NPS_NPC_OTHER,		    /* a scenario hook (documented where used) */
};

/* What netpoll did with one returned epoll event (u.netpoll_event.action). */
enum nps_npev_action {
	NPS_NPEV_READY = 1,   /* tag matched: setEventErr + netpollready */
	NPS_NPEV_STALE,	      /* tag != pd.fdseq: ignored */
	NPS_NPEV_BREAK_DRAIN, /* the break pipe, drained (blocking poll) */
	NPS_NPEV_BREAK_LEAVE, /* the break pipe, left for a blocking poll (delay == 0) */
	NPS_NPEV_ZERO,	      /* events == 0: skipped */
	NPS_NPEV_NOMODE,      /* no r/w bit: skipped */
};

/* netpollBreak's outcome (u.brk.result). */
enum nps_break_result {
	NPS_BRK_WROTE = 1, /* wrote one byte to the pipe */
	NPS_BRK_PENDING,   /* netpollWakeSig CAS failed: a wake-up is already in flight */
	NPS_BRK_EAGAIN,	   /* pipe full: a wake-up is certainly pending */
};

/* Scheduler operations (u.sched.op). m2/p2 name the other M/P involved. */
enum nps_sched_op {
	NPS_SCHED_ACQUIREP = 1, /* this M took P p2 */
	NPS_SCHED_RELEASEP,	/* this M gave up P p2 */
	NPS_SCHED_PIDLEPUT,	/* P p2 went on the idle list */
	NPS_SCHED_PIDLEGET,	/* P p2 left the idle list */
	NPS_SCHED_STARTM,	/* startm: M m2 will run P p2 (spinning flag) */
	NPS_SCHED_NEWM,		/* newm: a new OS thread for M m2 */
	NPS_SCHED_STOPM,	/* stopm: this M parks on its note */
	NPS_SCHED_MWAKE,	/* this M woke from stopm with P p2 */
	NPS_SCHED_HANDOFFP, /* reserved: handoffp of P p2 (not emitted: no P leaves in a syscall) */
	NPS_SCHED_WAKEP,    /* wakep found an idle P p2 for a spinning M */
	NPS_SCHED_SPINNING, /* this M became spinning */
	NPS_SCHED_UNSPIN,   /* this M stopped spinning */
	NPS_SCHED_STEAL,    /* stole Gs from P p2 (count in n) */
	NPS_SCHED_LASTPOLL, /* sched.lastpoll swap: this M became the poller (n = pollUntil ms) */
	NPS_SCHED_MEXIT,    /* this M's thread ends (runtime shutdown) */
};

/* Timer operations (u.timer.op). */
enum nps_timer_op {
	NPS_TIMER_ADD = 1,
	NPS_TIMER_MOD,
	NPS_TIMER_DEL,
	NPS_TIMER_RUN,
};

/* sysmon steps (u.sysmon.op). */
enum nps_sysmon_op {
	NPS_SYSMON_WAKE = 1, /* reserved: woke from usleep(delay) (not emitted: too frequent) */
	NPS_SYSMON_POLL,     /* the 10 ms rule fired: netpoll(0) follows */
	NPS_SYSMON_SLEEP,    /* all Ps idle: deep sleep on sysmonnote until the next timer */
};

/* Syscalls named by NPS_EV_SYSCALL (u.sys.op). */
enum nps_sys_op {
	NPS_SYS_READ = 1,
	NPS_SYS_WRITE,
	NPS_SYS_ACCEPT4,
	NPS_SYS_CONNECT,
	NPS_SYS_CLOSE,
	NPS_SYS_SOCKET,
	NPS_SYS_LISTEN,
	NPS_SYS_BIND,
};

/* Errors the FD layer returns (u.fderr.err), internal/poll's. */
enum nps_fd_errcode {
	NPS_FDERR_CLOSING = 1, /* ErrNetClosing: "use of closed network connection" */
	NPS_FDERR_TIMEOUT,     /* ErrDeadlineExceeded: "i/o timeout" */
	NPS_FDERR_NOTPOLLABLE, /* ErrNotPollable: "not pollable" */
	NPS_FDERR_EOF,	       /* io.EOF */
	NPS_FDERR_ERRNO,       /* a syscall error (errno in u.fderr.errno) */
	NPS_FDERR_NODEADLINE,  /* ErrNoDeadline: "file type does not support deadline" */
};

/* The epoll syscall an NPS_EV_EPOLL_WAIT came from (header sub). */
enum nps_wait_sub {
	NPS_WAIT_EPOLL_WAIT = 0,
	NPS_WAIT_EPOLL_PWAIT = 1,
	NPS_WAIT_EPOLL_PWAIT2 = 2,
};

/*
 * u.wait.timeout_ms of an epoll_pwait2 whose timespec the kernel refuses: negative, nanoseconds
 * of 1 s or more (EINVAL), or unreadable (EFAULT). Never a real timeout: epoll_pwait2 takes no
 * milliseconds, and -1 stays "block" (a NULL timespec).
 */
#define NPS_WAIT_TIMEOUT_INVALID (-2147483647 - 1)

/*
 * The sub of an NPS_EV_EPOLL_CTL that no probe saw: `netpollsim trace` read the registration
 * from /proc/PID/fdinfo when it began (op ADD, ret 0, tid 0, ts = the trace's origin; events
 * without the EPOLLERR|EPOLLHUP the kernel adds), so that a recording holds the interest set it
 * began with.
 */
#define NPS_CTL_SEEDED 1

/*
 * The sub of an NPS_EV_EPOLL_CTL ADD or MOD whose epoll_event the probe could not read back: the
 * program passed an address it has not mapped (NULL, say), which the kernel refuses with EFAULT.
 * events is 0 and data holds the address the program passed (as strace prints it), since what
 * is there is unknown.
 */
#define NPS_CTL_UNREAD 2

/*
 * The sub of an NPS_EV_EPOLL_CREATE made by epoll_create(2), the call before epoll_create1 (Redis
 * and older libevent still make it): flags is 0, size its argument.
 */
#define NPS_CREATE_OLD 1

/* epoll_ctl ops, as the kernel numbers them. */
#define NPS_EPOLL_CTL_ADD 1
#define NPS_EPOLL_CTL_DEL 2
#define NPS_EPOLL_CTL_MOD 3

/* The mask netpollopen registers: EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET. */
#define NPS_NETPOLL_EVENTS 0x80002005U

/* The ids of kernel epoll_wait returns not (yet) joined to a netpoll call have this bit. */
#define NPS_KERNEL_ID_BIT (1ULL << 63)

/* ---- payloads: each at most 32 bytes ---- */

struct nps_ev_pd_state {
	nps_u64 pd;   /* pollDesc address */
	nps_u64 from; /* NPS_PDV_* value before */
	nps_u64 to;   /* NPS_PDV_* value after */
	nps_u32 seq;  /* pd.fdseq */
	nps_u8 mode;  /* 'r' (rg) or 'w' (wg) */
	nps_u8 fn;    /* enum nps_fn: the Go function that made the change */
	nps_u16 _pad;
};

struct nps_ev_pd {
	nps_u64 pd; /* pollDesc address */
	nps_s64
	    rd; /* read deadline after the change: 0 none, >0 ns (CLOCK_MONOTONIC), <0 expired */
	nps_s64 wd;   /* write deadline, same encoding */
	nps_u32 seq;  /* pd.fdseq */
	nps_u8 mode;  /* 'r', 'w' or 'r'+'w' (233) where it applies */
	nps_u8 fn;    /* enum nps_fn */
	nps_u16 info; /* low 16 bits of pd.atomicInfo after the change (pollClosing...) */
};

struct nps_ev_gstatus {
	nps_u64 goid;  /* the goroutine whose status changed */
	nps_u64 pd;    /* IO wait: the pollDesc it parks on; else 0 */
	nps_u32 from;  /* enum nps_gstatus */
	nps_u32 to;    /* enum nps_gstatus */
	nps_u8 reason; /* enum nps_waitreason (to == waiting) */
	nps_u8 fn;     /* enum nps_fn: who changed it */
	nps_u8 where;  /* enum nps_runq_where (to == runnable) */
	nps_u8 mode;   /* IO wait: 'r' or 'w' */
	nps_s32 wakep; /* the P whose queue got it, -1 none */
};

struct nps_ev_netpoll {
	nps_u64 id;	/* netpoll call number, from 1 */
	nps_s64 delay;	/* argument: ns, <0 block, 0 poll */
	nps_s32 waitms; /* epoll_pwait timeout derived from delay (spec section 5) */
	nps_s32 n;	/* END: epoll_pwait's return (events), -errno on error */
	nps_u16 ngs;	/* END: goroutines in the returned list */
	nps_s16 delta;	/* END: netpollWaiters delta returned */
	nps_u8 caller;	/* enum nps_netpoll_caller */
	nps_u8 eintr;	/* END: 1 when an EINTR made it return or retry */
	nps_u16 _pad;
};

struct nps_ev_netpoll_event {
	nps_u64 id;	/* netpoll call number */
	nps_u64 data;	/* epoll_event.data as returned (tagged pointer) */
	nps_u64 pd;	/* pollDesc unpacked from data (0 for the break pipe) */
	nps_u32 events; /* epoll_event.events */
	nps_u8 mode;	/* 'r', 'w', 'r'+'w' or 0 */
	nps_u8 action;	/* enum nps_npev_action */
	nps_u16 index;	/* position in the returned array */
};

struct nps_ev_break {
	nps_s64 when;  /* NETPOLL_BREAK: the timer time that asked for it (0 unknown) */
	nps_s64 ret;   /* NETPOLL_DRAIN: bytes read from the pipe */
	nps_u8 result; /* NETPOLL_BREAK: enum nps_break_result */
	nps_u8 fn;     /* caller: wakeNetPoller, findRunnable, or main (the runtime's exit) */
	nps_u8 _pad[14];
};

struct nps_ev_waiters {
	nps_s32 delta; /* added to netpollWaiters */
	nps_u32 value; /* netpollWaiters after */
	nps_u8 fn;     /* caller */
	nps_u8 _pad[23];
};

struct nps_ev_ctl {
	nps_u64 data;	/* epoll_event.data */
	nps_u32 events; /* epoll_event.events */
	nps_s32 epfd;
	nps_s32 op;  /* NPS_EPOLL_CTL_* */
	nps_s32 ret; /* 0 or -errno */
	nps_u64 pd;  /* sim: the pollDesc (kernel: 0) */
};

struct nps_ev_sched {
	nps_u8 op;	 /* enum nps_sched_op */
	nps_u8 spinning; /* the M's spinning flag after */
	nps_s16 m2;	 /* the other M, -1 none */
	nps_s16 p2;	 /* the P, -1 none */
	nps_u16 _pad;
	nps_u32 npidle;	    /* sched.npidle after */
	nps_u32 nmspinning; /* sched.nmspinning after */
	nps_u32 nmidle;	    /* sched.nmidle after */
	nps_u32 _pad2;
	nps_s64 n; /* op-specific count */
};

struct nps_ev_timer {
	nps_s64 when; /* ns, CLOCK_MONOTONIC */
	nps_u64 arg;  /* the pollDesc (deadline timers) or goid (sleep) */
	nps_u64 seq;  /* the seq the timer carries */
	nps_u8 op;    /* enum nps_timer_op */
	nps_u8 fn;    /* the callback: netpollReadDeadline... or goroutineReady */
	nps_s16 tp;   /* the P whose heap holds it */
	nps_u32 _pad;
};

struct nps_ev_sysmon {
	nps_s64 sleep;	  /* SLEEP: ns it will sleep; POLL, WAKE: the usleep delay in us */
	nps_s64 lastpoll; /* sched.lastpoll seen */
	nps_u32 idle;	  /* idle rounds */
	nps_u8 op;	  /* enum nps_sysmon_op */
	nps_u8 _pad[11];
};

struct nps_ev_sys {
	nps_s64 ret;   /* return value, -errno on error */
	nps_u64 count; /* bytes asked for (read/write), 0 otherwise */
	nps_u8 op;     /* enum nps_sys_op */
	nps_u8 fn;     /* the FD method that made it */
	nps_u8 _pad[14];
};

struct nps_ev_fderr {
	nps_s32 errno_; /* NPS_FDERR_ERRNO: the errno */
	nps_u8 err;	/* enum nps_fd_errcode */
	nps_u8 fn;	/* the FD method returning it */
	nps_u8 _pad[26];
};

struct nps_ev_throw {
	nps_u16 msg; /* the message's index: nps_throw_msg() (traces/names.c) */
	nps_u8 _pad[30];
};

struct nps_ev_lost {
	nps_u64 count; /* events lost here */
	nps_u64 since; /* ts of the first of them (the event's own ts is when the loss ended) */
	nps_u8 source; /* enum nps_src whose events were lost */
	nps_u8 _pad[15];
};

#define NPS_NOTE_LEN  32
/*
 * A note longer than one event's 32 bytes is written as consecutive notes of one producer (an M,
 * or a client thread), every one but the last with sub NPS_NOTE_MORE; the fold joins them
 * (fold_note_text), up to NPS_NOTE_MAX bytes.
 */
#define NPS_NOTE_MORE 1
#define NPS_NOTE_MAX  256
struct nps_ev_note {
	char text[NPS_NOTE_LEN]; /* NUL-terminated unless all 32 bytes are used */
};

struct nps_ev_init {
	nps_s32 epfd;	  /* epoll_create1 result */
	nps_s32 break_rd; /* netpollBreakRd */
	nps_s32 break_wr; /* netpollBreakWr */
	nps_u32 _pad;
	nps_u64 break_data; /* the break fd's epoll data: &netpollBreakRd */
	nps_u64 _pad2;
};

struct nps_ev_wait {
	nps_u64 id;  /* joined netpoll id, or NPS_KERNEL_ID_BIT|kernel sequence */
	nps_u64 dur; /* ns between syscall entry and exit */
	nps_s32 epfd;
	nps_s32 maxevents;
	nps_s32 timeout_ms; /* -1 block; pwait2: from the timespec (-1 for NULL,
			     * NPS_WAIT_TIMEOUT_INVALID for one the kernel refuses) */
	nps_s32 ret;	    /* events returned, or -errno */
};

struct nps_ev_ready {
	nps_u64 id;	/* the epoll_wait's id */
	nps_u64 data;	/* epoll_event.data */
	nps_u32 events; /* epoll_event.events */
	nps_u32 index;	/* position in the array */
	nps_s32 epfd;
	nps_u32 _pad;
};

struct nps_ev_create {
	nps_s32 flags; /* epoll_create1 flags */
	nps_s32 ret;   /* the epoll fd or -errno */
	nps_s32
	    size; /* epoll_create's size (sub NPS_CREATE_OLD), which the kernel only checks > 0 */
	nps_u8 _pad[20];
};

struct nps_ev_exec {
	nps_u32 path;	 /* the new program as execve(2) named it: an id of the path table
			  * (traces/names.h nps_path_name), 0 unknown */
	nps_s32 old_tid; /* the thread that called execve (it takes the process id) */
	nps_u8 _pad[24];
};

/* How the process ended, as wait(2) tells its parent. */
struct nps_ev_exit {
	nps_s32 code;	/* the exit status (exit_group's argument, & 0xff), -1 when a signal
			 * killed it */
	nps_s32 signal; /* the signal that killed it, 0 when it exited */
	nps_u8 core;	/* 1: that signal dumped core */
	nps_u8 _pad[23];
};

struct nps_event {
	nps_u64 ts;   /* CLOCK_MONOTONIC ns (bpf_ktime_get_ns on the kernel side) */
	nps_u64 g;    /* goid running on this M when emitted, 0 for none/g0/kernel */
	nps_u32 tid;  /* OS thread id */
	nps_s32 fd;   /* the fd concerned, -1 none */
	nps_u16 kind; /* enum nps_kind */
	nps_s16 m;    /* M id, -1 unknown */
	nps_s16 p;    /* P id, -1 none */
	nps_u8 src;   /* enum nps_src */
	nps_u8 sub;   /* kind-specific subtype (documented with the kind) */
	union {
		struct nps_ev_pd_state pd_state;
		struct nps_ev_pd pd;
		struct nps_ev_gstatus gstatus;
		struct nps_ev_netpoll netpoll;
		struct nps_ev_netpoll_event npev;
		struct nps_ev_break brk;
		struct nps_ev_waiters waiters;
		struct nps_ev_ctl ctl;
		struct nps_ev_sched sched;
		struct nps_ev_timer timer;
		struct nps_ev_sysmon sysmon;
		struct nps_ev_sys sys;
		struct nps_ev_fderr fderr;
		struct nps_ev_throw thr;
		struct nps_ev_lost lost;
		struct nps_ev_note note;
		struct nps_ev_init init;
		struct nps_ev_wait wait;
		struct nps_ev_ready ready;
		struct nps_ev_create create;
		struct nps_ev_exec exec;
		struct nps_ev_exit exit;
		nps_u64 raw[4];
	} u;
};

_Static_assert(sizeof(struct nps_event) == 64, "nps_event must stay 64 bytes");
_Static_assert(__builtin_offsetof(struct nps_event, u) == 32, "payload at offset 32");
_Static_assert(sizeof(((struct nps_event *)0)->u) == 32, "payload is 32 bytes");

#endif /* NPS_TRACES_EVENT_H */
