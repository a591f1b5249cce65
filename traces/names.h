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
	NPS_THROW_OTHER,		 /* any other runtime throw (scheduler invariants) */
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
const char *nps_gstatus_name(unsigned st); /* "runnable"; NULL if unknown */
int nps_gstatus_from_name(const char *name);
const char *nps_waitreason_name(unsigned wr); /* "IO wait"; NULL if unknown */
int nps_waitreason_from_name(const char *name);
const char *nps_throw_msg(unsigned t); /* "runtime: double wait"; NULL if unknown */
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
#define NPS_PATH_LEN	   512 /* longest path kept: a trace line must stay under 4 KiB */
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

#endif /* NPS_TRACES_NAMES_H */
