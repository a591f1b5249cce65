/* SPDX-License-Identifier: MIT */
/*
 * Names of the wire values in traces/event.h: event kinds, Go function names, goroutine
 * statuses, wait reasons, throw messages. One table each, used by the trace reader and writer,
 * the narrator and the dashboard, so that every module spells a thing the same way (and the
 * way Go's source spells it). Lookups by name return -1 when the name is unknown.
 */
#ifndef NPS_TRACES_NAMES_H
#define NPS_TRACES_NAMES_H

#include <stddef.h>

#include "traces/event.h"

/* Fatal errors the model raises, with Go's exact messages (spec section 4.8). */
enum nps_throw {
	NPS_THROW_NONE = 0,
	NPS_THROW_BLOCKED_WRITE_FREE,	 /* runtime: blocked write on free polldesc */
	NPS_THROW_BLOCKED_READ_FREE,	 /* runtime: blocked read on free polldesc */
	NPS_THROW_CLOSE_WO_UNBLOCK,	 /* runtime: close polldesc w/o unblock */
	NPS_THROW_BLOCKED_WRITE_CLOSING, /* runtime: blocked write on closing polldesc */
	NPS_THROW_BLOCKED_READ_CLOSING,	 /* runtime: blocked read on closing polldesc */
	NPS_THROW_UNBLOCK_CLOSING,	 /* runtime: unblock on closing polldesc */
	NPS_THROW_DOUBLE_WAIT,		 /* runtime: double wait */
	NPS_THROW_CORRUPTED,		 /* runtime: corrupted polldesc */
	NPS_THROW_INCONSISTENT_READ,	 /* runtime: inconsistent read deadline */
	NPS_THROW_INCONSISTENT_WRITE,	 /* runtime: inconsistent write deadline */
	NPS_THROW_NETPOLLINIT,		 /* runtime: netpollinit failed */
	NPS_THROW_PIPE,			 /* runtime: pipe failed */
	NPS_THROW_EPOLLCTL,		 /* runtime: epollctl failed */
	NPS_THROW_BREAK_WRITE,		 /* runtime: netpollBreak write failed */
	NPS_THROW_NETPOLL,		 /* runtime: netpoll failed */
	NPS_THROW_BREAK_UNEXPECTED, /* runtime: netpoll: break fd ready for something unexpected */
	NPS_THROW_UNUSED,	    /* runtime: unused */
	NPS_THROW_NETPOLL_WITH_P,   /* findrunnable: netpoll with p */
	NPS_THROW_NETPOLL_WITH_SPINNING, /* findrunnable: netpoll with spinning */
	/* the scheduler's, the timers', the locks' and internal/poll's (in sim/) */
	NPS_THROW_ADDTIMER_CALLED_WITH_INITIALIZED_TIMER, /* addtimer called with initialized timer */
	NPS_THROW_BAD_G_STATUS_IN_READY,		  /* bad g->status in ready */
	NPS_THROW_CASGSTATUS_BAD_INCOMING_VALUES,	  /* casgstatus: bad incoming values */
	NPS_THROW_DOADDTIMER_P_ALREADY_SET_IN_TIMER,	  /* doaddtimer: P already set in timer */
	NPS_THROW_FINDRUNNABLE_NEGATIVE_NMSPINNING,	  /* findrunnable: negative nmspinning */
	NPS_THROW_FINDRUNNABLE_WRONG_P,			  /* findrunnable: wrong p */
	NPS_THROW_GLOBAL_RUNQ_EMPTY_WITH_NON_ZERO_RUNQSIZE, /* global runq empty with non-zero runqsize */
	NPS_THROW_GOEXIT0_RETURNED, /* goexit0 returned (older traces: now mcall function returned) */
	NPS_THROW_GOPARK_BAD_G_STATUS,		       /* gopark: bad g status */
	NPS_THROW_NEWOSPROC,			       /* newosproc */
	NPS_THROW_NEWPROC1_NEW_G_IS_NOT_GDEAD,	       /* newproc1: new g is not Gdead */
	NPS_THROW_NOTEWAKEUP_DOUBLE_WAKEUP,	       /* notewakeup - double wakeup */
	NPS_THROW_OUT_OF_MEMORY,		       /* out of memory */
	NPS_THROW_PIDLEPUT_P_HAS_NON_EMPTY_RUN_QUEUE,  /* pidleput: P has non-empty run queue */
	NPS_THROW_RELEASEP_INVALID_P_STATE,	       /* releasep: invalid p state */
	NPS_THROW_RESETSPINNING_NOT_A_SPINNING_M,      /* resetspinning: not a spinning m */
	NPS_THROW_RUNQPUTSLOW_QUEUE_IS_NOT_FULL,       /* runqputslow: queue is not full */
	NPS_THROW_RUNQSTEAL_RUNQ_OVERFLOW,	       /* runqsteal: runq overflow */
	NPS_THROW_RUNTIME_CANNOT_ALLOCATE_MEMORY,      /* runtime: cannot allocate memory */
	NPS_THROW_SCHEDULE_SPINNING_WITH_LOCAL_WORK,   /* schedule: spinning with local work */
	NPS_THROW_STARTM_P_REQUIRED_FOR_SPINNING_TRUE, /* startm: P required for spinning=true */
	NPS_THROW_STARTM_M_HAS_P,		       /* startm: m has p */
	NPS_THROW_STARTM_M_IS_SPINNING,		       /* startm: m is spinning */
	NPS_THROW_STARTM_P_HAS_RUNNABLE_GS,	       /* startm: p has runnable gs */
	NPS_THROW_STOPM_HOLDING_P,		       /* stopm holding p */
	NPS_THROW_STOPM_SPINNING,		       /* stopm spinning */
	NPS_THROW_SYNC_NEGATIVE_WAITGROUP_COUNTER,     /* sync: negative WaitGroup counter */
	NPS_THROW_TIMER_PERIOD_MUST_BE_NON_NEGATIVE,   /* timer period must be non-negative */
	NPS_THROW_TIMER_WHEN_MUST_BE_POSITIVE,	       /* timer when must be positive */
	NPS_THROW_UNLOCK_OF_UNLOCKED_LOCK,	       /* unlock of unlocked lock */
	NPS_THROW_WAKEP_NEGATIVE_NMSPINNING,	       /* wakep: negative nmspinning */
	NPS_THROW_WIREP_ALREADY_IN_GO,		       /* wirep: already in go */
	NPS_THROW_WIREP_INVALID_P_STATE,	       /* wirep: invalid p state */
	NPS_THROW_INCONSISTENT_POLL_FDMUTEX,	       /* inconsistent poll.fdMutex */
	NPS_THROW_UNREACHABLE,			       /* unreachable */
	NPS_THROW_TOO_MANY_CONCURRENT_OPERATIONS, /* too many concurrent operations on a single file or socket (max 1048575) */
	NPS_THROW_CASGSTATUS_WAITING_BUT_RUNNABLE, /* casgstatus: waiting for Gwaiting but is Grunnable */
	NPS_THROW_RELEASEP_INVALID_ARG,		   /* releasep: invalid arg */
	NPS_THROW_MCALL_FUNCTION_RETURNED,	   /* runtime: mcall function returned */
	NPS_THROW_OTHER, /* a message not in this table (traces before these were named) */
	NPS_THROW__COUNT,
};

const char *nps_kind_name(unsigned kind); /* "pd_state"; NULL if unknown */
int nps_kind_from_name(const char *name);
const char *nps_fn_name(unsigned fn); /* "netpollready"; NULL if unknown */

/* A name from the functions here, or "?" for a code that has none (read from a damaged file). */
static inline const char *nps_or_q(const char *name)
{
	return name ? name : "?";
}
int nps_fn_from_name(const char *name);

/*
 * "s" for a count that is not one, for every count the program prints before a noun: "1 note",
 * "2 notes", "0 notes" (never "note(s)").
 */
static inline const char *nps_plural(unsigned long long n)
{
	return n == 1 ? "" : "s";
}
const char *nps_gstatus_name(unsigned st); /* "runnable"; NULL if unknown */
int nps_gstatus_from_name(const char *name);
const char *nps_waitreason_name(unsigned wr); /* "IO wait"; NULL if unknown */
int nps_waitreason_from_name(const char *name);
const char *nps_throw_msg(unsigned t); /* "runtime: double wait"; NULL if unknown */
/* "SIGINT", "SIGRTMIN+3" into buf; NULL if sig is no signal */
const char *nps_signal_name(int sig, char *buf, size_t len);
int nps_throw_from_msg(const char *msg);
const char *nps_src_name(unsigned src); /* "sim" / "kernel" */
int nps_src_from_name(const char *name);
const char *nps_where_name(unsigned w); /* "runnext", "local", "global", "none" */
int nps_where_from_name(const char *name);
const char *nps_caller_name(unsigned c); /* netpoll callers */
int nps_caller_from_name(const char *name);
const char *nps_npev_action_name(unsigned a);
int nps_npev_action_from_name(const char *name);
const char *nps_break_result_name(unsigned r);
int nps_break_result_from_name(const char *name);
const char *nps_sched_op_name(unsigned op);
int nps_sched_op_from_name(const char *name);
const char *nps_timer_op_name(unsigned op);
int nps_timer_op_from_name(const char *name);
const char *nps_sysmon_op_name(unsigned op);
int nps_sysmon_op_from_name(const char *name);
const char *nps_sys_op_name(unsigned op);
int nps_sys_op_from_name(const char *name);
const char *nps_fderr_name(unsigned e); /* "i/o timeout" ... */
int nps_fderr_from_name(const char *name);
const char *nps_ctl_op_name(int op); /* "ADD", "DEL", "MOD" */
int nps_ctl_op_from_name(const char *name);
const char *nps_wait_sub_name(unsigned sub); /* "epoll_wait", "epoll_pwait", "epoll_pwait2" */
int nps_wait_sub_from_name(const char *name);

/*
 * The path table: a program's path does not fit an event's 32-byte payload, so NPS_EV_EXEC
 * carries an id of it. nps_path_intern() returns the id of path (its first len bytes, cut at a
 * NUL; the same id for the same path), or 0 when the table is full (NPS_PATH_MAX_IDS paths,
 * NPS_PATH_MAX_BYTES in all) or out of memory: the path then reads as unknown. Thread-safe:
 * the probes' consumer and a trace reader may add paths while the narration reads them.
 */
#define NPS_PATH_LEN	   512	 /* longest path kept: a trace line must stay under 4 KiB */
#define NPS_PATH_CUT	   "..." /* ends a path the probe cut short (bpf/netpoll.h) */
#define NPS_PATH_MAX_IDS   4096
#define NPS_PATH_MAX_BYTES (4U << 20)
unsigned nps_path_intern(const char *path, size_t len);
const char *nps_path_name(unsigned id); /* NULL for 0 or an unknown id */

/*
 * pd.rg/wg values as text: "nil", "ready", "wait", "G12". nps_pdv_format writes into buf
 * (at least 24 bytes) and returns it; nps_pdv_parse returns 0 and sets *v, or -1.
 */
const char *nps_pdv_format(nps_u64 v, char *buf, unsigned long len);
int nps_pdv_parse(const char *s, nps_u64 *v);

/* Go's names for the pd state values, for narration: "pdNil", "pdReady", "pdWait", "G12". */
const char *nps_pdv_goname(nps_u64 v, char *buf, unsigned long len);

/* epoll event masks as "EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET" (unknown bits in hex). */
const char *nps_epoll_mask_format(nps_u32 mask, char *buf, unsigned long len);

/* epoll_create1's flags as "EPOLL_CLOEXEC", "0", or with the bits it refuses in hex. */
const char *nps_epoll_create_flags_format(nps_s32 flags, char *buf, unsigned long len);

/* An NPS_EV_EPOLL_CREATE's call as strace writes it: "epoll_create1(EPOLL_CLOEXEC)", or for the
 * old call (sub NPS_CREATE_OLD) "epoll_create(1)". */
const char *nps_epoll_create_call(const struct nps_event *e, char *buf, unsigned long len);

#endif /* NPS_TRACES_NAMES_H */
