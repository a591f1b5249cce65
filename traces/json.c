// SPDX-License-Identifier: MIT
/*
 * Trace files in JSON Lines (traces/json.h, docs/trace-format.md). One table of field
 * descriptors per event kind drives both directions: the writer formats each field straight into
 * its buffer, the reader looks each one up in the cJSON object and checks its presence, type and
 * range. A field therefore cannot be written under one name and read under another.
 *
 * Numbers: JSON readers (cJSON, jq, JavaScript) hold numbers as doubles, exact only up to 2^53.
 * So 64-bit addresses and epoll data are hex strings, absolute times (ts, deadlines, timer whens)
 * are written relative to the trace origin, and the reader refuses any integer beyond 2^53.
 */
#include "traces/json.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "traces/names.h"

#define N_OF(a)	   (sizeof(a) / sizeof((a)[0]))
#define WBUF_FLUSH (512u << 10) /* the writer flushes once this much is buffered */
#define WBUF_CAP   (WBUF_FLUSH + TRACE_EVENT_MAX + TRACE_READY_MAX * 160u)
#define DIO_ALIGN  4096u       /* offset, length and address alignment of a direct write */
#define DIO_MIN	   (64u << 10) /* write directly when at least this much is new */
#define RBUF_CHUNK (64u << 10)
#define MODE_RW	   ('r' + 'w')

/* ---------------------------------------------------------------------------------------------
 * Field descriptors
 */

enum ftype {
	T_INT,	/* integer of size 1/2/4/8, F_SIGNED or not */
	T_HEX,	/* u64 as "0x..." */
	T_PDV,	/* pd.rg/wg value: "nil", "ready", "wait", "G12" */
	T_MODE, /* 'r' / 'w' / 'r'+'w' as "r" / "w" / "rw" */
	T_TIME, /* s64 CLOCK_MONOTONIC ns: relative to the origin when after it (alt key otherwise) */
	T_NAME, /* small integer written as a name from a names.c table */
	T_STR,	/* the note's char[32] */
	T_PATH, /* u32 id of the path table (names.h nps_path_name): the path, a string */
	T_KID,	/* epoll_wait id: "id" when joined, "kseq" (alt) for a kernel sequence */
};

enum fflag {
	F_SIGNED = 1,
	F_REQ = 2, /* always written, must be present */
	F_OPT = 4, /* omitted when equal to dflt, dflt when absent */
	F_RW = 8,  /* T_MODE: both sides ("rw") is a value too */
	/* F_SIGNED fields whose domain is narrower than their type's (docs/trace-format.md) */
	F_NONE = 16, /* -1 or >= 0: fds, M and P ids (-1: none, unknown), waitms (-1: block) */
	F_NNEG = 32, /* >= 0: a duration, an errno, a thread id */
	F_RAW = 64,  /* T_NAME: an integer too, for a value with no name (a kernel epoll_ctl's op
		      * as the traced program passed it, which the kernel refused) */
};

/*
 * The name tables of T_NAME fields, and those of every line's "src" and "ev". The reader indexes
 * them by name (name_build); the writer keeps each table's first QN_VALUES names ready to copy,
 * quotes included (qn_build), so that formatting a name is one fixed-size copy, not a call and a
 * strlen.
 */
#define NAME_TABLES(X)                                                                             \
	X(kind)                                                                                    \
	X(src)                                                                                     \
	X(fn)                                                                                      \
	X(gstatus)                                                                                 \
	X(waitreason)                                                                              \
	X(where)                                                                                   \
	X(caller)                                                                                  \
	X(npev_action)                                                                             \
	X(break_result)                                                                            \
	X(ctl)                                                                                     \
	X(sched_op)                                                                                \
	X(timer_op)                                                                                \
	X(sysmon_op)                                                                               \
	X(sys_op)                                                                                  \
	X(fderr)                                                                                   \
	X(wait_sub)                                                                                \
	X(throwm)

#define QN_VALUES 128
struct qname {
	unsigned char len; /* 0: no name, or too long to keep: the formatter asks the table */
	char s[31];	   /* "name", with its quotes */
};
#define QN_DECL(t) static struct qname qn_##t[QN_VALUES];
NAME_TABLES(QN_DECL)

struct fdesc {
	const char *key;
	const char *pfx; /* ,"key": as written (the formatter copies it whole) */
	unsigned char plen;
	const char *alt; /* T_TIME: key when the time is not after the origin; T_KID: "kseq" */
	unsigned char type, off, size, flags;
	signed char dflt;
	const char *(*name)(unsigned);
	int (*from)(const char *);
	const struct qname *qn; /* T_NAME: the writer's copy of name's table */
};

#define EV_OFF(m) ((unsigned char)__builtin_offsetof(struct nps_event, m))
#define EV_SZ(m)  ((unsigned char)sizeof(((struct nps_event *)0)->m))
#define PFX(k)	  .pfx = ",\"" k "\":", .plen = sizeof(",\"" k "\":") - 1
#define INT(k, m, fl, d)                                                                           \
	{                                                                                          \
		.key = k, PFX(k), .type = T_INT, .off = EV_OFF(m), .size = EV_SZ(m), .flags = fl,  \
		.dflt = d                                                                          \
	}
#define TYP(k, t, m, fl)                                                                           \
	{                                                                                          \
		.key = k, PFX(k), .type = t, .off = EV_OFF(m), .size = EV_SZ(m), .flags = fl       \
	}
#define TIME(k, m, fl)                                                                             \
	{                                                                                          \
		.key = k, PFX(k), .alt = k "_abs", .type = T_TIME, .off = EV_OFF(m),               \
		.size = EV_SZ(m), .flags = fl                                                      \
	}
#define NAME(k, m, fl, tab)                                                                        \
	{                                                                                          \
		.key = k, PFX(k), .type = T_NAME, .off = EV_OFF(m), .size = EV_SZ(m), .flags = fl, \
		.name = nps_##tab##_name, .from = nps_##tab##_from_name, .qn = qn_##tab            \
	}
#define KID(m)                                                                                     \
	{                                                                                          \
		.key = "id", PFX("id"), .alt = "kseq", .type = T_KID, .off = EV_OFF(m), .size = 8, \
		.flags = F_REQ                                                                     \
	}
#define S_REQ  (F_SIGNED | F_REQ)
#define S_OPT  (F_SIGNED | F_OPT)
#define ID_REQ (S_REQ | F_NONE) /* an fd, M or P, waitms: -1 or >= 0 */
#define ID_OPT (S_OPT | F_NONE)

static const char *ctl_name(unsigned op)
{
	return nps_ctl_op_name((int)op);
}

static const char *throw_name(unsigned t)
{
	return t ? nps_throw_msg(t) : NULL;
}

#define nps_ctl_name	     ctl_name
#define nps_ctl_from_name    nps_ctl_op_from_name
#define nps_throwm_name	     throw_name
#define nps_throwm_from_name nps_throw_from_msg

/* Header fields every event may carry (ts, src and ev are handled apart). */
static const struct fdesc hdr_fields[] = {
    INT("m", m, ID_OPT, -1),   INT("p", p, ID_OPT, -1),	  INT("g", g, F_OPT, 0),
    INT("tid", tid, F_OPT, 0), INT("fd", fd, ID_OPT, -1),
};
static const struct fdesc sub_field = INT("sub", sub, F_OPT, 0);
static const struct fdesc fd_required = INT("fd", fd, ID_REQ, -1);

static const struct fdesc f_pd_state[] = {
    TYP("pd", T_HEX, u.pd_state.pd, F_REQ),	 INT("seq", u.pd_state.seq, F_REQ, 0),
    TYP("mode", T_MODE, u.pd_state.mode, F_REQ), TYP("from", T_PDV, u.pd_state.from, F_REQ),
    TYP("to", T_PDV, u.pd_state.to, F_REQ),	 NAME("fn", u.pd_state.fn, F_REQ, fn),
};
static const struct fdesc f_pd[] = {
    TYP("pd", T_HEX, u.pd.pd, F_REQ),
    INT("seq", u.pd.seq, F_OPT, 0),
    TYP("mode", T_MODE, u.pd.mode, F_OPT | F_RW),
    TIME("rd", u.pd.rd, F_OPT),
    TIME("wd", u.pd.wd, F_OPT),
    INT("info", u.pd.info, F_OPT, 0),
    NAME("fn", u.pd.fn, F_OPT, fn),
};
static const struct fdesc f_gstatus[] = {
    INT("goid", u.gstatus.goid, F_REQ, 0),     NAME("from", u.gstatus.from, F_REQ, gstatus),
    NAME("to", u.gstatus.to, F_REQ, gstatus),  NAME("reason", u.gstatus.reason, F_OPT, waitreason),
    NAME("fn", u.gstatus.fn, F_OPT, fn),       NAME("where", u.gstatus.where, F_OPT, where),
    TYP("pd", T_HEX, u.gstatus.pd, F_OPT),     TYP("mode", T_MODE, u.gstatus.mode, F_OPT),
    INT("wakep", u.gstatus.wakep, ID_OPT, -1),
};
/* netpoll_begin and netpoll_end carry the same fields; n, ngs and delta are the end's results. */
#define NETPOLL_FIELDS(res, ures)                                                                  \
	INT("id", u.netpoll.id, F_REQ, 0), INT("delay", u.netpoll.delay, S_REQ, 0),                \
	    INT("waitms", u.netpoll.waitms, ID_REQ, 0),                                            \
	    NAME("caller", u.netpoll.caller, F_OPT, caller), INT("n", u.netpoll.n, res, 0),        \
	    INT("ngs", u.netpoll.ngs, ures, 0), INT("delta", u.netpoll.delta, res, 0),             \
	    INT("eintr", u.netpoll.eintr, F_OPT, 0)
static const struct fdesc f_netpoll_begin[] = {NETPOLL_FIELDS(S_OPT, F_OPT)};
static const struct fdesc f_netpoll_end[] = {NETPOLL_FIELDS(S_REQ, F_REQ)};
static const struct fdesc f_npev[] = {
    INT("id", u.npev.id, F_REQ, 0),
    TYP("data", T_HEX, u.npev.data, F_REQ),
    TYP("pd", T_HEX, u.npev.pd, F_REQ),
    INT("events", u.npev.events, F_REQ, 0),
    TYP("mode", T_MODE, u.npev.mode, F_OPT | F_RW),
    NAME("action", u.npev.action, F_REQ, npev_action),
    INT("index", u.npev.index, F_OPT, 0),
};
static const struct fdesc f_break[] = {
    NAME("result", u.brk.result, F_REQ, break_result),
    NAME("fn", u.brk.fn, F_OPT, fn),
    TIME("when", u.brk.when, F_OPT),
    INT("ret", u.brk.ret, S_OPT, 0),
};
static const struct fdesc f_drain[] = {
    INT("ret", u.brk.ret, S_REQ, 0),
    NAME("fn", u.brk.fn, F_OPT, fn),
    NAME("result", u.brk.result, F_OPT, break_result),
    TIME("when", u.brk.when, F_OPT),
};
static const struct fdesc f_waiters[] = {
    INT("delta", u.waiters.delta, S_REQ, 0),
    INT("value", u.waiters.value, F_REQ, 0),
    NAME("fn", u.waiters.fn, F_OPT, fn),
};
static const struct fdesc f_simctl[] = {
    NAME("op", u.ctl.op, F_SIGNED | F_REQ, ctl),
    INT("epfd", u.ctl.epfd, ID_OPT, 0),
    INT("events", u.ctl.events, F_OPT, 0),
    TYP("data", T_HEX, u.ctl.data, F_OPT),
    INT("ret", u.ctl.ret, S_REQ, 0),
    TYP("pd", T_HEX, u.ctl.pd, F_OPT),
};
static const struct fdesc f_epoll_ctl[] = {
    NAME("op", u.ctl.op, F_SIGNED | F_REQ | F_RAW, ctl),
    INT("epfd", u.ctl.epfd, ID_REQ, 0),
    INT("events", u.ctl.events, F_REQ, 0),
    TYP("data", T_HEX, u.ctl.data, F_REQ),
    INT("ret", u.ctl.ret, S_REQ, 0),
    TYP("pd", T_HEX, u.ctl.pd, F_OPT),
};
static const struct fdesc f_sched[] = {
    NAME("op", u.sched.op, F_REQ, sched_op), INT("spinning", u.sched.spinning, F_OPT, 0),
    INT("m2", u.sched.m2, ID_OPT, -1),	     INT("p2", u.sched.p2, ID_OPT, -1),
    INT("npidle", u.sched.npidle, F_OPT, 0), INT("nmspinning", u.sched.nmspinning, F_OPT, 0),
    INT("nmidle", u.sched.nmidle, F_OPT, 0), INT("n", u.sched.n, S_OPT, 0),
};
static const struct fdesc f_timer[] = {
    NAME("op", u.timer.op, F_REQ, timer_op), TIME("when", u.timer.when, F_OPT),
    TYP("arg", T_HEX, u.timer.arg, F_OPT),   INT("seq", u.timer.seq, F_OPT, 0),
    NAME("fn", u.timer.fn, F_OPT, fn),	     INT("tp", u.timer.tp, ID_OPT, -1),
};
static const struct fdesc f_sysmon[] = {
    NAME("op", u.sysmon.op, F_REQ, sysmon_op),
    INT("sleep", u.sysmon.sleep, S_OPT | F_NNEG, 0),
    TIME("lastpoll", u.sysmon.lastpoll, F_OPT),
    INT("idle", u.sysmon.idle, F_OPT, 0),
};
static const struct fdesc f_sys[] = {
    NAME("op", u.sys.op, F_REQ, sys_op),
    INT("ret", u.sys.ret, S_REQ, 0),
    INT("count", u.sys.count, F_OPT, 0),
    NAME("fn", u.sys.fn, F_OPT, fn),
};
static const struct fdesc f_fderr[] = {
    NAME("err", u.fderr.err, F_REQ, fderr),
    INT("errno", u.fderr.errno_, S_OPT | F_NNEG, 0),
    NAME("fn", u.fderr.fn, F_OPT, fn),
};
static const struct fdesc f_throw[] = {
    NAME("msg", u.thr.msg, F_REQ, throwm),
};
static const struct fdesc f_lost[] = {
    NAME("source", u.lost.source, F_REQ, src),
    INT("count", u.lost.count, F_REQ, 0),
    TIME("since", u.lost.since, F_OPT),
};
static const struct fdesc f_note[] = {
    TYP("text", T_STR, u.note.text, F_REQ),
};
static const struct fdesc f_init[] = {
    INT("epfd", u.init.epfd, ID_REQ, 0),
    INT("break_rd", u.init.break_rd, ID_REQ, 0),
    INT("break_wr", u.init.break_wr, ID_REQ, 0),
    TYP("break_data", T_HEX, u.init.break_data, F_OPT),
};
static const struct fdesc f_wait[] = {
    NAME("syscall", sub, F_REQ, wait_sub),
    KID(u.wait.id),
    INT("epfd", u.wait.epfd, ID_REQ, 0),
    INT("maxevents", u.wait.maxevents, S_REQ, 0),
    INT("timeout_ms", u.wait.timeout_ms, S_REQ, 0),
    INT("n", u.wait.ret, S_REQ, 0),
    INT("dur", u.wait.dur, F_OPT, 0),
};
static const struct fdesc f_ready[] = {
    KID(u.ready.id),
    TYP("data", T_HEX, u.ready.data, F_REQ),
    INT("events", u.ready.events, F_REQ, 0),
    INT("index", u.ready.index, F_OPT, 0),
    INT("epfd", u.ready.epfd, ID_OPT, 0),
};
/* One entry of an epoll_wait line's "ready" list: {"fd","events","data"} (+"index" if unusual). */
static const struct fdesc f_ready_entry[] = {
    INT("fd", fd, ID_REQ, -1),
    INT("events", u.ready.events, F_REQ, 0),
    TYP("data", T_HEX, u.ready.data, F_REQ),
};
static const struct fdesc f_exec[] = {
    TYP("path", T_PATH, u.exec.path, F_REQ),
    INT("old_tid", u.exec.old_tid, S_REQ | F_NNEG, 0),
};
/* "code" when it exited, "signal" (and "core") when a signal killed it: one of the two */
static const struct fdesc f_exit[] = {
    INT("code", u.exit.code, ID_OPT, -1),
    INT("signal", u.exit.signal, S_OPT | F_NNEG, 0),
    INT("core", u.exit.core, F_OPT, 0),
};
static const struct fdesc f_create[] = {
    INT("flags", u.create.flags, S_OPT, 0),
    INT("ret", u.create.ret, S_REQ, 0),
    INT("size", u.create.size, S_OPT, 0),
};

struct kdesc {
	const struct fdesc *f;
	unsigned char nf;
	unsigned char need_fd; /* the header fd is a required field */
	unsigned char own_sub; /* sub is one of the kind's fields (not the generic "sub") */
};

#define KD(arr, fd_, sub_)                                                                         \
	{                                                                                          \
		arr, (unsigned char)N_OF(arr), fd_, sub_                                           \
	}
/* Every kind with its fields: kinds[] for the reader, one formatter per kind for the writer. */
#define KIND_LIST(X)                                                                               \
	X(NPS_EV_PD_STATE, f_pd_state, 1, 0)                                                       \
	X(NPS_EV_PD_OPEN, f_pd, 1, 0)                                                              \
	X(NPS_EV_PD_FREE, f_pd, 1, 0)                                                              \
	X(NPS_EV_PD_EVICT, f_pd, 1, 0)                                                             \
	X(NPS_EV_PD_DEADLINE, f_pd, 1, 0)                                                          \
	X(NPS_EV_PD_EXPIRE, f_pd, 1, 0)                                                            \
	X(NPS_EV_PD_EVENTERR, f_pd, 1, 0)                                                          \
	X(NPS_EV_GSTATUS, f_gstatus, 0, 0)                                                         \
	X(NPS_EV_NETPOLL_BEGIN, f_netpoll_begin, 0, 0)                                             \
	X(NPS_EV_NETPOLL_END, f_netpoll_end, 0, 0)                                                 \
	X(NPS_EV_NETPOLL_EVENT, f_npev, 0, 0)                                                      \
	X(NPS_EV_NETPOLL_BREAK, f_break, 0, 0)                                                     \
	X(NPS_EV_NETPOLL_DRAIN, f_drain, 0, 0)                                                     \
	X(NPS_EV_WAITERS, f_waiters, 0, 0)                                                         \
	X(NPS_EV_NETPOLLOPEN, f_simctl, 1, 0)                                                      \
	X(NPS_EV_NETPOLLCLOSE, f_simctl, 1, 0)                                                     \
	X(NPS_EV_SCHED, f_sched, 0, 0)                                                             \
	X(NPS_EV_TIMER, f_timer, 0, 0)                                                             \
	X(NPS_EV_SYSMON, f_sysmon, 0, 0)                                                           \
	X(NPS_EV_SYSCALL, f_sys, 1, 0)                                                             \
	X(NPS_EV_FD_ERR, f_fderr, 0, 0)                                                            \
	X(NPS_EV_THROW, f_throw, 0, 0)                                                             \
	X(NPS_EV_LOST, f_lost, 0, 0)                                                               \
	X(NPS_EV_NOTE, f_note, 0, 0)                                                               \
	X(NPS_EV_NETPOLLINIT, f_init, 0, 0)                                                        \
	X(NPS_EV_EPOLL_CTL, f_epoll_ctl, 1, 0)                                                     \
	X(NPS_EV_EPOLL_WAIT, f_wait, 0, 1)                                                         \
	X(NPS_EV_EPOLL_READY, f_ready, 0, 0)                                                       \
	X(NPS_EV_EPOLL_CREATE, f_create, 0, 0)                                                     \
	X(NPS_EV_EXEC, f_exec, 0, 0)                                                               \
	X(NPS_EV_EXIT, f_exit, 0, 0)

#define KD_ENTRY(kind, arr, fd_, sub_) [kind] = KD(arr, fd_, sub_),
static const struct kdesc kinds[NPS_EV__COUNT] = {KIND_LIST(KD_ENTRY)};

static const struct kdesc *kind_desc(unsigned kind)
{
	return kind < NPS_EV__COUNT && kinds[kind].f ? &kinds[kind] : NULL;
}

/* Raw access to a field's bits (little-endian host: the same as the struct's). */
static inline __attribute__((always_inline)) uint64_t field_get(const struct nps_event *e,
								const struct fdesc *d)
{
	const unsigned char *p = (const unsigned char *)e + d->off;
	switch (d->size) {
	case 1:
		return d->flags & F_SIGNED ? (uint64_t)(int64_t) * (const int8_t *)p : *p;
	case 2: {
		uint16_t v;
		memcpy(&v, p, 2);
		return d->flags & F_SIGNED ? (uint64_t)(int64_t)(int16_t)v : v;
	}
	case 4: {
		uint32_t v;
		memcpy(&v, p, 4);
		return d->flags & F_SIGNED ? (uint64_t)(int64_t)(int32_t)v : v;
	}
	default: {
		uint64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	}
}

static void field_set(struct nps_event *e, const struct fdesc *d, uint64_t v)
{
	unsigned char *p = (unsigned char *)e + d->off;
	uint8_t v8 = (uint8_t)v;
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;
	switch (d->size) {
	case 1:
		memcpy(p, &v8, 1);
		break;
	case 2:
		memcpy(p, &v16, 2);
		break;
	case 4:
		memcpy(p, &v32, 4);
		break;
	default:
		memcpy(p, &v, 8);
	}
}

/* Range of a T_INT/T_NAME field: its type's, or for a signed one its documented domain's. */
static void field_range(const struct fdesc *d, int64_t *lo, int64_t *hi)
{
	int bits = d->size * 8;
	if (d->flags & F_SIGNED) {
		*lo = d->flags & F_NONE	  ? -1
		      : d->flags & F_NNEG ? 0
		      : bits >= 54	  ? -TRACE_INT_MAX
					  : -(1LL << (bits - 1));
		*hi = bits >= 54 ? TRACE_INT_MAX : (1LL << (bits - 1)) - 1;
	} else {
		*lo = 0;
		*hi = bits >= 54 ? TRACE_INT_MAX : (int64_t)((1ULL << bits) - 1);
	}
}

/* ---------------------------------------------------------------------------------------------
 * Text safety
 */

/*
 * The length of the well-formed UTF-8 character at s (n bytes left): 1 for ASCII, 2 to 4, or 0
 * when s[0] starts none (an invalid byte: overlong forms, surrogates and code points past
 * U+10FFFF are invalid, as RFC 3629 says).
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	size_t seq = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (seq > n)
		return 0;
	for (size_t k = 1; k < seq; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
		return 0;
	return seq;
}

/* A C1 control (U+0080..U+009F) encoded in UTF-8: c2 80..c2 9f. */
static bool utf8_c1(const unsigned char *s, size_t seq)
{
	return seq == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

/*
 * s[0..n) as well-formed UTF-8 into out, whole characters only, at most cap bytes: each invalid
 * byte becomes U+FFFD, as Go's encoding/json does with strings both ways. JSON text is UTF-8
 * (RFC 8259), so this is what a string read from a trace holds and what the writer writes.
 * Returns the length (out is not NUL-terminated).
 */
static size_t utf8_coerce(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t seq = utf8_seq((const unsigned char *)s + i, n - i);
		size_t len = seq ? seq : 3;
		if (o + len > cap)
			break;
		memcpy(out + o, seq ? s + i : "\xef\xbf\xbd", len);
		o += len;
		i += seq ? seq : 1;
	}
	return o;
}

size_t trace_sanitize(const char *s, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (!outlen)
		return 0;
	for (size_t i = 0; i < n && s; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[5];
		size_t tl = 0;
		size_t seq = c >= 0x80 ? utf8_seq((const unsigned char *)s + i, n - i) : 0;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			tmp[tl++] = (char)c;
		} else if (c == '\\') {
			tmp[tl++] = '\\';
			tmp[tl++] = '\\';
		} else if (c == '\n' || c == '\t' || c == '\r') {
			tmp[tl++] = '\\';
			tmp[tl++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		} else if (seq && !utf8_c1((const unsigned char *)s + i, seq)) {
			/* a well-formed UTF-8 sequence passes, except C1 controls (U+0080..U+009F) */
			memcpy(tmp, s + i, seq);
			tl = seq;
			i += seq - 1;
		}
		if (!tl) {
			tmp[0] = '\\';
			tmp[1] = 'x';
			tmp[2] = hex[c >> 4];
			tmp[3] = hex[c & 15];
			tl = 4;
		}
		if (o + tl + 1 > outlen)
			break;
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	out[o] = '\0';
	return o;
}

/* ---------------------------------------------------------------------------------------------
 * Formatting
 */

struct sbuf {
	char *p, *end;
};

static inline void sb_mem(struct sbuf *b, const char *s, size_t n)
{
	if ((size_t)(b->end - b->p) < n) {
		b->p = b->end + 1; /* overflow marker */
		return;
	}
	memcpy(b->p, s, n);
	b->p += n;
}

static inline void sb_ch(struct sbuf *b, char c)
{
	if (b->p < b->end)
		*b->p++ = c;
	else
		b->p = b->end + 1;
}

/* A NUL-terminated string (keys, names). */
static inline void sb_str(struct sbuf *b, const char *s)
{
	sb_mem(b, s, strlen(s));
}

/*
 * Decimal digits, two at a time from a table, in chunks of 4 and 8 that use 32-bit arithmetic and
 * do not depend on each other, instead of one chain of 64-bit divisions by 100 (a timestamp has
 * ~10 digits, and integers are the largest part of formatting a line).
 */
static const char d2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static inline void put2(char *p, uint32_t x)
{
	memcpy(p, d2 + 2 * x, 2);
}

static inline void put4(char *p, uint32_t x) /* x < 10^4, zero-padded */
{
	put2(p, x / 100);
	put2(p + 2, x % 100);
}

static inline void put8(char *p, uint32_t x) /* x < 10^8, zero-padded */
{
	put4(p, x / 10000);
	put4(p + 4, x % 10000);
}

static inline char *put_upto4(char *p, uint32_t x) /* x < 10^4, no leading zeros */
{
	if (x < 10) {
		*p = (char)('0' + x);
		return p + 1;
	}
	if (x < 100) {
		put2(p, x);
		return p + 2;
	}
	if (x < 1000) {
		*p = (char)('0' + x / 100);
		put2(p + 1, x % 100);
		return p + 3;
	}
	put4(p, x);
	return p + 4;
}

static inline char *put_upto8(char *p, uint32_t x) /* x < 10^8, no leading zeros */
{
	if (x < 10000)
		return put_upto4(p, x);
	p = put_upto4(p, x / 10000);
	put4(p, x % 10000);
	return p + 4;
}

/* v's decimal digits at p, which has room for 20; returns their end. Out of line: only the
 * common one-digit case is worth inlining (sb_u64). */
static char *u64_put(char *p, uint64_t v)
{
	if (v < 100000000)
		return put_upto8(p, (uint32_t)v);
	if (v < 10000000000000000ULL) {
		p = put_upto8(p, (uint32_t)(v / 100000000));
		put8(p, (uint32_t)(v % 100000000));
		return p + 8;
	}
	p = put_upto4(p, (uint32_t)(v / 10000000000000000ULL));
	put8(p, (uint32_t)(v / 100000000 % 100000000));
	put8(p + 8, (uint32_t)(v % 100000000));
	return p + 16;
}

static inline __attribute__((always_inline)) void sb_u64(struct sbuf *b, uint64_t v)
{
	if ((size_t)(b->end - b->p) < 20)
		b->p = b->end + 1;
	else if (v < 10) /* most fields: m, p, seq, small fds */
		*b->p++ = (char)('0' + v);
	else
		b->p = u64_put(b->p, v);
}

static inline __attribute__((always_inline)) void sb_s64(struct sbuf *b, int64_t v)
{
	if (v < 0) {
		sb_ch(b, '-');
		sb_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		sb_u64(b, (uint64_t)v);
	}
}

/* "0x..." at p, which has room for 20; returns its end. */
static char *hex_put(char *p, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	unsigned n = (unsigned)(64 - __builtin_clzll(v | 1) + 3) / 4;
	char *q = p + 3 + n;
	*q = '"';
	do {
		*--q = hex[v & 15];
		v >>= 4;
	} while (v);
	memcpy(p, "\"0x", 3);
	return p + 4 + n;
}

static inline __attribute__((always_inline)) void sb_hex(struct sbuf *b, uint64_t v)
{
	if ((size_t)(b->end - b->p) < 20)
		b->p = b->end + 1;
	else
		b->p = hex_put(b->p, v);
}

/* \u00XX: a control character in a JSON string. */
static void sb_u00(struct sbuf *b, unsigned cp)
{
	static const char hex[] = "0123456789abcdef";
	char t[6] = {'\\', 'u', '0', '0', hex[(cp >> 4) & 15], hex[cp & 15]};
	sb_mem(b, t, 6);
}

/*
 * JSON text (or a string's body, quotes and C0 controls already escaped) made plain: DEL and
 * the C1 controls as \u escapes, so that no line can change a terminal's state, invalid UTF-8
 * as U+FFFD (utf8_coerce), everything else as it is. Bytes from 0x7f up only occur in strings,
 * so whole cJSON output can go through here.
 */
static void sb_utf8(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		const unsigned char *c = (const unsigned char *)s + i;
		size_t seq = utf8_seq(c, n - i);
		if (*c == 0x7f || utf8_c1(c, seq))
			sb_u00(b, seq == 2 ? c[1] : *c);
		else if (seq)
			sb_mem(b, s + i, seq);
		else
			sb_mem(b, "\xef\xbf\xbd", 3);
		i += seq ? seq : 1;
	}
}

/*
 * A JSON string from a char[n] field or a path of n bytes: quotes, backslashes and controls
 * escaped, valid UTF-8 (invalid bytes as U+FFFD, still within n bytes once read back).
 */
static void jstr_sb(struct sbuf *b, const char *s, size_t n)
{
	char
	    t[NPS_PATH_LEN]; /* the longest string written, a path, whole (64 bytes cut it short) */
	size_t tn = utf8_coerce(s, strnlen(s, n), t, n < sizeof(t) ? n : sizeof(t));
	sb_mem(b, "\"", 1);
	for (size_t i = 0, k; i < tn; i = k) {
		unsigned char c = (unsigned char)t[i];
		k = i + 1;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			sb_mem(b, e, 2);
		} else if (c < 0x20) {
			sb_u00(b, c);
		} else {
			while (k < tn && (unsigned char)t[k] >= 0x20 && t[k] != '"' && t[k] != '\\')
				k++;
			sb_utf8(b, t + i, k - i);
		}
	}
	sb_mem(b, "\"", 1);
}

/* Out of line, and on a copy of the buffer, so that the caller's stays in registers. */
static __attribute__((noinline)) char *jstr_put(char *p, char *end, const char *s, size_t n)
{
	struct sbuf b = {p, end};
	jstr_sb(&b, s, n);
	return b.p;
}

static inline void sb_jstr(struct sbuf *b, const char *s, size_t n)
{
	b->p = jstr_put(b->p, b->end, s, n);
}

static inline void sb_key(struct sbuf *b, const char *key)
{
	sb_ch(b, ',');
	sb_ch(b, '"');
	sb_str(b, key);
	sb_ch(b, '"');
	sb_ch(b, ':');
}

/* "name" */
static inline void sb_qstr(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	if ((size_t)(b->end - b->p) < n + 2) {
		b->p = b->end + 1;
		return;
	}
	*b->p++ = '"';
	memcpy(b->p, s, n);
	b->p += n;
	*b->p++ = '"';
}

/* The field's ,"key": prefix. */
static inline void sb_pfx(struct sbuf *b, const struct fdesc *d)
{
	sb_mem(b, d->pfx, d->plen);
}

/* A cached name: one fixed-size copy when the buffer has room for it. */
static inline __attribute__((always_inline)) void sb_qname(struct sbuf *b, const struct qname *q)
{
	if ((size_t)(b->end - b->p) >= sizeof q->s) {
		memcpy(b->p, q->s, sizeof q->s);
		b->p += q->len;
	} else {
		sb_mem(b, q->s, q->len);
	}
}

/* sb_name's slow path: a name past the cache, or none. */
static __attribute__((noinline)) char *name_put(char *p, char *end, const char *(*tab)(unsigned),
						uint64_t v, bool sgn)
{
	struct sbuf b = {p, end};
	const char *n = v <= 0xffff ? tab((unsigned)v) : NULL;
	if (n && *n)
		sb_qstr(&b, n);
	else if (sgn)
		sb_s64(&b, (int64_t)v); /* unknown value: the reader takes it only where F_RAW */
	else
		sb_u64(&b, v);
	return b.p;
}

/* v by its name in tab (qn: tab's cached names), or as a number when it has none. */
static inline __attribute__((always_inline)) void
sb_name(struct sbuf *b, const struct qname *qn, const char *(*tab)(unsigned), uint64_t v, bool sgn)
{
	if (v < QN_VALUES && qn[v].len)
		sb_qname(b, &qn[v]);
	else
		b->p = name_put(b->p, b->end, tab, v, sgn);
}

static pthread_once_t qn_once = PTHREAD_ONCE_INIT;

static void qn_fill(struct qname *q, const char *(*tab)(unsigned))
{
	for (unsigned v = 0; v < QN_VALUES; v++) {
		const char *n = tab(v);
		size_t l = n ? strlen(n) : 0;
		if (!l || l + 2 > sizeof q[v].s)
			continue;
		q[v].s[0] = '"';
		memcpy(q[v].s + 1, n, l);
		q[v].s[l + 1] = '"';
		q[v].len = (unsigned char)(l + 2);
	}
}

static void qn_build(void)
{
#define QN_FILL(t) qn_fill(qn_##t, nps_##t##_name);
	NAME_TABLES(QN_FILL)
#undef QN_FILL
}

static const char *mode_text(uint64_t m)
{
	return m == 'r' ? "r" : m == 'w' ? "w" : m == MODE_RW ? "rw" : m == 0 ? "" : NULL;
}

/*
 * One field. Always inlined, and only ever called with descriptors from the constant tables
 * (put_kind's loops are unrolled): the compiler then resolves the field's size, type, default and
 * name table at compile time, and each kind gets its own straight-line formatter. A generic loop
 * over the table cost the recorder 3.5x more (118 against 34 ns an event), mostly in mispredicted branches (docs/performance.md).
 */
static inline __attribute__((always_inline)) void
put_field(struct sbuf *b, const struct nps_event *e, const struct fdesc *d, uint64_t origin)
{
	uint64_t v = field_get(e, d);
	if ((d->flags & F_OPT) && v == (uint64_t)(int64_t)d->dflt)
		return;
	switch (d->type) {
	case T_INT:
		sb_pfx(b, d);
		if (d->flags & F_SIGNED)
			sb_s64(b, (int64_t)v);
		else
			sb_u64(b, v);
		break;
	case T_HEX:
		sb_pfx(b, d);
		sb_hex(b, v);
		break;
	case T_PDV: {
		sb_pfx(b, d);
		if (NPS_PDV_IS_G(v)) {
			sb_ch(b, '"');
			sb_ch(b, 'G');
			sb_u64(b, NPS_PDV_GOID(v));
			sb_ch(b, '"');
		} else if (v > NPS_PDV_WAIT) {
			sb_hex(b, v);
		} else {
			sb_qstr(b, v == NPS_PDV_NIL	? "nil"
				   : v == NPS_PDV_READY ? "ready"
							: "wait");
		}
		break;
	}
	case T_MODE: {
		const char *t = mode_text(v);
		sb_pfx(b, d);
		if (t) {
			sb_qstr(b, t);
		} else {
			sb_u64(b, v);
		}
		break;
	}
	case T_TIME: {
		int64_t t = (int64_t)v;
		if (t > 0 && (uint64_t)t > origin) {
			sb_pfx(b, d);
			sb_u64(b, (uint64_t)t - origin);
		} else if (t > 0) {
			sb_key(b, d->alt);
			sb_u64(b, (uint64_t)t);
		} else {
			sb_pfx(b, d);
			sb_s64(b, t);
		}
		break;
	}
	case T_NAME:
		sb_pfx(b, d);
		sb_name(b, d->qn, d->name, v, d->flags & F_SIGNED);
		break;
	case T_STR:
		sb_pfx(b, d);
		sb_jstr(b, (const char *)e + d->off, d->size);
		break;
	case T_PATH: {
		/* "" when unknown (the table was full); NPS_PATH_LEN bytes fit TRACE_EVENT_MAX */
		const char *path = nps_path_name((unsigned)v);
		sb_pfx(b, d);
		sb_jstr(b, path ? path : "", path ? strlen(path) : 0);
		break;
	}
	case T_KID:
		if (v & NPS_KERNEL_ID_BIT) {
			sb_key(b, d->alt);
			sb_u64(b, v & ~NPS_KERNEL_ID_BIT);
		} else {
			sb_pfx(b, d);
			sb_u64(b, v);
		}
		break;
	}
}

static inline __attribute__((always_inline)) void put_fields(struct sbuf *b,
							     const struct nps_event *e,
							     const struct fdesc *f, size_t n,
							     uint64_t origin)
{
#pragma GCC unroll 16
	for (size_t i = 0; i < n; i++)
		put_field(b, e, &f[i], origin);
}

/* The header fields, then the kind's (need_fd, own_sub: its kdesc's flags). */
static inline __attribute__((always_inline)) void
put_kind(struct sbuf *b, const struct nps_event *e, const struct fdesc *f, size_t n, bool need_fd,
	 bool own_sub, uint64_t origin)
{
#pragma GCC unroll 8
	for (size_t i = 0; i < N_OF(hdr_fields); i++)
		if (!(need_fd && hdr_fields[i].off == fd_required.off))
			put_field(b, e, &hdr_fields[i], origin);
	if (need_fd)
		put_field(b, e, &fd_required, origin);
	if (!own_sub)
		put_field(b, e, &sub_field, origin);
	put_fields(b, e, f, n, origin);
}

/*
 * One formatter per kind: the kind's name, the header fields and the kind's own, compiled from
 * its constant table. Separate functions keep each one small (compile time, and the hot kinds'
 * code apart); the buffer passed by value stays in registers.
 */
#define KIND_FN(kind, arr, fd_, sub_)                                                              \
	static __attribute__((noinline)) char *fmt_##kind(                                         \
	    char *p, char *end, const struct nps_event *e, uint64_t origin)                        \
	{                                                                                          \
		struct sbuf b = {p, end};                                                          \
		sb_name(&b, qn_kind, nps_kind_name, kind, false);                                  \
		put_kind(&b, e, arr, N_OF(arr), fd_, sub_, origin);                                \
		return b.p;                                                                        \
	}
KIND_LIST(KIND_FN)
#undef KIND_FN

/* Everything of the line but the closing brace. */
static void format_open(struct sbuf *out, const struct nps_event *e, uint64_t origin)
{
	struct sbuf lb = *out, *b = &lb; /* a local the compiler keeps in registers */
	pthread_once(&qn_once, qn_build);
	sb_mem(b, "{\"ts\":", 6);
	sb_s64(b, (int64_t)(e->ts - origin));
	sb_mem(b, ",\"src\":", 7);
	sb_name(b, qn_src, nps_src_name, e->src, false);
	sb_mem(b, ",\"ev\":", 6);
	switch (e->kind) {
#define PUT_KIND(kind, arr, fd_, sub_)                                                             \
	case kind:                                                                                 \
		lb.p = fmt_##kind(lb.p, lb.end, e, origin);                                        \
		break;
		KIND_LIST(PUT_KIND)
#undef PUT_KIND
	default: /* a kind this build does not know: its raw bytes */
		sb_u64(b, e->kind);
		put_kind(b, e, NULL, 0, false, false, origin);
		for (int i = 0; i < 4; i++) {
			sb_key(b, i == 0 ? "raw0" : i == 1 ? "raw1" : i == 2 ? "raw2" : "raw3");
			sb_hex(b, e->u.raw[i]);
		}
	}
	*out = lb;
}

int trace_event_format(const struct nps_event *e, uint64_t origin, char *buf, size_t len)
{
	struct sbuf b = {buf, buf + len};
	format_open(&b, e, origin);
	if (e->kind == NPS_EV_EPOLL_WAIT)
		sb_str(&b, ",\"ready\":[]");
	sb_mem(&b, "}", 1);
	if (b.p > b.end || b.p == b.end)
		return -ENOSPC;
	*b.p = '\0';
	return (int)(b.p - buf);
}

/* ---------------------------------------------------------------------------------------------
 * Writer
 */

struct trace_writer {
	int fd;
	bool own_fd;
	bool direct;	 /* fd is a regular file that takes O_DIRECT writes (wr_flush_buf) */
	bool positional; /* pwrite at base: set with direct, kept if direct writes stop */
	bool stream;	 /* a pipe, FIFO, socket or terminal: its reader may stop reading */
	int (*patience)(void *ctx); /* trace_writer_set_patience; NULL: block */
	void *pctx;
	int err; /* sticky -errno */
	uint64_t origin;
	char *buf;     /* DIO_ALIGN-aligned */
	size_t len;    /* bytes in buf */
	size_t synced; /* of them, already in the file (positional) */
	uint64_t base; /* file offset of buf[0] (positional) */
	uint64_t counts[NPS_EV__COUNT];
	uint64_t total;
	uint64_t lost[3];
	uint64_t late[3]; /* events stamped before the latest one written, by source */
	uint64_t last_ts; /* the latest ts written */
	bool has_wait;	  /* an epoll_wait waiting for its ready entries */
	struct nps_event wait;
	size_t nready, want;
	struct nps_event ready[TRACE_READY_MAX];
};

/* All of p, EINTR retried: at file offset off (pwrite), or where the fd is when off < 0. */
static int write_all(int fd, const char *p, size_t n, int64_t off)
{
	while (n) {
		ssize_t w = off < 0 ? write(fd, p, n) : pwrite(fd, p, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
		if (off >= 0)
			off += w;
	}
	return 0;
}

/*
 * All of p into a stream whose reader may have stopped reading, as the patience allows: room is
 * waited for in slices of 100 ms, asking the patience again after each (the stop may have come,
 * its signal caught by another thread), and a pipe with room takes PIPE_BUF bytes whole, so
 * that no write blocks. -ETIMEDOUT when the reader did not take it in time.
 */
static int write_patient(struct trace_writer *w, const char *p, size_t n)
{
	while (n) {
		for (;;) {
			int ms = w->patience(w->pctx);
			struct pollfd pf = {.fd = w->fd, .events = POLLOUT};
			int k = poll(&pf, 1, ms < 0 || ms > 100 ? 100 : ms);
			if (k > 0)
				break; /* room, or POLLERR: the write says which */
			if (k < 0 && errno != EINTR)
				return -errno;
			if (k == 0 && ms == 0)
				return -ETIMEDOUT;
		}
		ssize_t k = write(w->fd, p, n < PIPE_BUF ? n : PIPE_BUF);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

void trace_writer_set_patience(struct trace_writer *w, int (*patience)(void *ctx), void *ctx)
{
	w->patience = patience;
	w->pctx = ctx;
}

/* One direct write of buf's first n bytes (aligned) at base; O_DIRECT is on only meanwhile. */
static int wr_direct(struct trace_writer *w, size_t n)
{
	int fl = fcntl(w->fd, F_GETFL);
	if (fl < 0 || fcntl(w->fd, F_SETFL, fl | O_DIRECT) < 0)
		return -EINVAL;
	int r = write_all(w->fd, w->buf, n, (int64_t)w->base);
	if (fcntl(w->fd, F_SETFL, fl) < 0 && !r)
		r = -errno;
	return r;
}

/* Drops buf's first n bytes, which are in the file. */
static void wr_shift(struct trace_writer *w, size_t n)
{
	if (!n)
		return;
	memmove(w->buf, w->buf + n, w->len - n);
	w->len -= n;
	w->synced -= n;
	w->base += n;
}

/*
 * What is buffered into the file. A regular file the writer opened itself is written in whole
 * aligned blocks with O_DIRECT when there is enough new text, the rest through the page cache.
 * The buffer keeps the unaligned tail, so that the next direct write starts on an aligned offset
 * (rewriting the tail whole if it was written meanwhile). all: the tail too, so the file ends
 * with the last complete line; otherwise (bulk, the run's flush every 2 ms) a direct write
 * leaves the tail, less than a block, for the next flush: writing it through the page cache
 * each time, then invalidating it at the next direct write, cost as much as the direct write.
 * Why direct: on a VM whose memory the host backs on first touch (this machine), every new
 * page-cache page costs microseconds, and copying a fast recording (~200 MB/s) into the page
 * cache took a quarter of a CPU, the largest part of what recording cost
 * (docs/performance.md). If the file system refuses a direct write, the writer stays with the
 * page cache from then on.
 */
static int wr_flush_buf(struct trace_writer *w, bool all)
{
	if (w->err)
		return w->err;
	int r = 0;
	if (w->direct && w->len - w->synced >= DIO_MIN) {
		size_t n = w->len & ~(size_t)(DIO_ALIGN - 1);
		r = wr_direct(w, n);
		if (r == -EINVAL) {
			w->direct = false;
			r = 0;
		} else if (!r) {
			if (w->synced < n)
				w->synced = n;
			wr_shift(w, n);
			if (!all)
				return 0;
		}
	}
	if (!r && w->len > w->synced && w->stream && w->patience)
		r = write_patient(w, w->buf + w->synced, w->len - w->synced);
	else if (!r && w->len > w->synced)
		r = write_all(w->fd, w->buf + w->synced, w->len - w->synced,
			      w->positional ? (int64_t)(w->base + w->synced) : -1);
	if (r)
		return w->err = r;
	w->synced = w->len;
	wr_shift(w, w->direct ? w->len & ~(size_t)(DIO_ALIGN - 1) : w->len);
	return 0;
}

static void count_event(struct trace_writer *w, const struct nps_event *e)
{
	if (e->kind < NPS_EV__COUNT)
		w->counts[e->kind]++;
	w->total++;
	if (e->kind == NPS_EV_LOST && e->u.lost.source < 3)
		w->lost[e->u.lost.source] += e->u.lost.count;
	/* Out of time order: a live merge delivered it late (traces/livemerge.h); counted, shown
	 * in the footer next to the losses, never dropped. */
	if (e->ts < w->last_ts && e->src < 3)
		w->late[e->src]++;
	else
		w->last_ts = e->ts;
}

/* Append one line for e (and, for an epoll_wait, its ready entries). */
static int wr_line(struct trace_writer *w, const struct nps_event *e, const struct nps_event *rd,
		   size_t nrd)
{
	struct sbuf b = {w->buf + w->len, w->buf + WBUF_CAP - 1};
	format_open(&b, e, w->origin);
	if (e->kind == NPS_EV_EPOLL_WAIT) {
		sb_str(&b, ",\"ready\":[");
		for (size_t i = 0; i < nrd; i++) {
			sb_str(&b, i ? ",{\"fd\":" : "{\"fd\":");
			sb_s64(&b, rd[i].fd);
			put_fields(&b, &rd[i], f_ready_entry + 1, N_OF(f_ready_entry) - 1,
				   w->origin);
			if (rd[i].u.ready.index != i) {
				sb_key(&b, "index");
				sb_u64(&b, rd[i].u.ready.index);
			}
			sb_mem(&b, "}", 1);
		}
		sb_mem(&b, "]", 1);
	}
	sb_mem(&b, "}\n", 2);
	if (b.p > b.end)
		return w->err = -EOVERFLOW;
	w->len = (size_t)(b.p - w->buf);
	count_event(w, e);
	for (size_t i = 0; i < nrd; i++)
		count_event(w, &rd[i]);
	if (w->len >= WBUF_FLUSH)
		return wr_flush_buf(w, false);
	return 0;
}

static int wr_pending(struct trace_writer *w)
{
	if (!w->has_wait)
		return 0;
	w->has_wait = false;
	return wr_line(w, &w->wait, w->ready, w->nready);
}

/* Will the reader rebuild e exactly from an entry of wait's "ready" list? */
static bool ready_fits(const struct nps_event *wait, const struct nps_event *e)
{
	struct nps_event x = *e;
	x.fd = -1;
	x.u.ready.index = 0;
	x.u.ready.data = 0;
	x.u.ready.events = 0;
	struct nps_event y = {.ts = wait->ts,
			      .g = wait->g,
			      .tid = wait->tid,
			      .fd = -1,
			      .kind = NPS_EV_EPOLL_READY,
			      .m = wait->m,
			      .p = wait->p,
			      .src = wait->src}; /* sub 0: an entry's syscall is its wait's sub */
	y.u.ready.id = wait->u.wait.id;
	y.u.ready.epfd = wait->u.wait.epfd;
	return !memcmp(&x, &y, sizeof(x));
}

int trace_writer_event(struct trace_writer *w, const struct nps_event *e)
{
	if (!w || !e)
		return -EINVAL;
	if (w->err)
		return w->err;
	if (e->kind == NPS_EV_EPOLL_READY && w->has_wait && w->nready < w->want &&
	    ready_fits(&w->wait, e)) {
		w->ready[w->nready++] = *e;
		return w->nready == w->want ? wr_pending(w) : 0;
	}
	int r = wr_pending(w);
	if (r)
		return r;
	if (e->kind == NPS_EV_EPOLL_WAIT && e->u.wait.ret > 0) {
		w->wait = *e;
		w->has_wait = true;
		w->nready = 0;
		w->want = (size_t)e->u.wait.ret < TRACE_READY_MAX ? (size_t)e->u.wait.ret
								  : TRACE_READY_MAX;
		return 0;
	}
	return wr_line(w, e, NULL, 0);
}

static int wr_flush(struct trace_writer *w, bool all)
{
	if (!w)
		return -EINVAL;
	int r = wr_pending(w);
	return r ? r : wr_flush_buf(w, all);
}

int trace_writer_flush(struct trace_writer *w)
{
	return wr_flush(w, true);
}

int trace_writer_flush_bulk(struct trace_writer *w)
{
	return wr_flush(w, false);
}

uint64_t trace_writer_count(const struct trace_writer *w)
{
	return w ? w->total : 0;
}

static void iso_time(int64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	if (ns <= 0 || !gmtime_r(&s, &tm)) {
		snprintf(buf, len, "unknown");
		return;
	}
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09lldZ", (long long)(ns % 1000000000));
}

static int emit_json(struct trace_writer *w, cJSON *obj)
{
	char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;
	cJSON_Delete(obj);
	if (!s)
		return -ENOMEM;
	size_t n = strlen(s);
	int r = 0;
	if (w->len + n + 1 >= WBUF_CAP)
		r = wr_flush_buf(w, true);
	if (!r) {
		/* cJSON leaves DEL, C1 controls and invalid UTF-8 in strings as they are */
		struct sbuf b = {w->buf + w->len, w->buf + WBUF_CAP - 1};
		sb_utf8(&b, s, n);
		sb_ch(&b, '\n');
		if (b.p > b.end)
			r = -E2BIG;
		else
			w->len = (size_t)(b.p - w->buf);
	}
	if (!r)
		r = wr_flush_buf(w, true);
	free(s);
	return r;
}

static void add_ns_string(cJSON *o, const char *key, uint64_t v)
{
	char tmp[24];
	snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	cJSON_AddStringToObject(o, key, tmp);
}

/* The first number of a line that is not a JSON number: where, in which field, and why. */
struct bad_num {
	const char *at, *end, *why, *key;
};

static void keep_numbers(cJSON *j, const char **at, const char *end, const char *key,
			 struct bad_num *bad);

/* Number nodes that hold their text (keep_numbers) print it as it was. */
static void numbers_raw(cJSON *j)
{
	for (; j; j = j->next) {
		if (cJSON_IsNumber(j) && j->valuestring)
			j->type = cJSON_Raw;
		numbers_raw(j->child);
	}
}

/* A line's object (parse_line: its numbers hold their text) in compact JSON, numbers as written. */
static char *print_exact(cJSON *o)
{
	numbers_raw(o->child);
	return cJSON_PrintUnformatted(o);
}

/*
 * A JSON object text as a cJSON object, NULL when it is none. Its numbers print as the text
 * wrote them: cJSON would print a double, and a seed of 2^63 - 1 as 9.2233720368547758e+18.
 */
static cJSON *parse_object(const char *text)
{
	cJSON *o = cJSON_Parse(text);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return NULL;
	}
	const char *at = text;
	struct bad_num bad = {0};
	keep_numbers(o->child, &at, text + strlen(text), NULL, &bad);
	numbers_raw(o->child);
	return o;
}

static cJSON *header_json(const struct trace_header *h)
{
	if (h->json)
		return parse_object(h->json);
	cJSON *o = cJSON_CreateObject(), *opts = NULL;
	struct utsname u;
	char when[48];
	if (h->options_json && !(opts = parse_object(h->options_json))) {
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_AddStringToObject(o, "format", TRACE_FORMAT);
	cJSON_AddNumberToObject(o, "version", TRACE_VERSION);
	cJSON_AddStringToObject(o, "scenario", h->scenario ? h->scenario : "");
	cJSON_AddItemToObject(o, "options", opts ? opts : cJSON_CreateObject());
	cJSON_AddNumberToObject(o, "gomaxprocs", h->gomaxprocs);
	cJSON_AddStringToObject(o, "go", h->go_version ? h->go_version : "go1.22");
	cJSON_AddStringToObject(o, "kernel",
				h->kernel	 ? h->kernel
				: uname(&u) == 0 ? u.release
						 : "unknown");
	cJSON_AddBoolToObject(o, "kernel_view", h->kernel_view != 0);
	cJSON_AddStringToObject(o, "clock", "CLOCK_MONOTONIC");
	add_ns_string(o, "mono_origin_ns", h->mono_origin);
	iso_time(h->wall_start_ns, when, sizeof(when));
	cJSON_AddStringToObject(o, "start", when);
	add_ns_string(o, "start_ns", (uint64_t)h->wall_start_ns);
	if (h->exe)
		cJSON_AddStringToObject(o, "exe", h->exe);
	if (h->gomaxprocs_from)
		cJSON_AddStringToObject(o, "gomaxprocs_from", h->gomaxprocs_from);
	cJSON_AddStringToObject(o, "writer", "netpollsim");
	return o;
}

/* A writer on fd; own: the writer opened fd itself (a path), and closes it. */
static int writer_new(int fd, bool own, const struct trace_header *h, struct trace_writer **out)
{
	*out = NULL;
	if (fd < 0 || !h)
		return -EINVAL;
	struct trace_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->buf = aligned_alloc(DIO_ALIGN, (WBUF_CAP + DIO_ALIGN - 1) & ~(DIO_ALIGN - 1));
	if (!w->buf) {
		free(w);
		return -ENOMEM;
	}
	w->fd = fd;
	w->own_fd = own;
	w->origin = h->mono_origin;
	struct stat st;
	int fl = fcntl(fd, F_GETFL);
	off_t at = lseek(fd, 0, SEEK_CUR);
	w->stream = fstat(fd, &st) == 0 &&
		    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode));
	/* Direct writes when the file system takes them (fcntl refuses O_DIRECT otherwise). */
	if (own && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fl >= 0 && at >= 0 &&
	    at % DIO_ALIGN == 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0) {
		w->direct = w->positional = fcntl(fd, F_SETFL, fl) == 0;
		w->base = (uint64_t)at;
	}
	cJSON *hj = header_json(h);
	int r = hj ? emit_json(w, hj) : -EINVAL;
	if (r) {
		free(w->buf);
		free(w);
		return r;
	}
	*out = w;
	return 0;
}

int trace_writer_open_fd(int fd, const struct trace_header *h, struct trace_writer **out)
{
	return writer_new(fd, false, h, out);
}

int trace_writer_create(const char *path)
{
	if (!path || !*path)
		return -ENOENT; /* open("") says so too */
	if (!strcmp(path, "-"))
		return STDOUT_FILENO;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : fd;
}

int trace_writer_open_created(int fd, const struct trace_header *h, struct trace_writer **out)
{
	*out = NULL;
	bool own = fd != STDOUT_FILENO;
	int r = writer_new(fd, own, h, out);
	if (r && own)
		close(fd);
	return r;
}

int trace_writer_open(const char *path, const struct trace_header *h, struct trace_writer **out)
{
	*out = NULL;
	if (!path)
		return -EINVAL;
	int fd = trace_writer_create(path);
	return fd < 0 ? fd : trace_writer_open_created(fd, h, out);
}

static int wr_release(struct trace_writer *w, int r)
{
	/* no fsync: what write(2) returned is in the page cache (or, direct, on the disk) and
	 * survives SIGKILL */
	if (w->own_fd && close(w->fd) < 0 && !r)
		r = -errno;
	free(w->buf);
	free(w);
	return r;
}

int trace_writer_abandon(struct trace_writer *w)
{
	return w ? wr_release(w, trace_writer_flush(w)) : 0;
}

int trace_writer_close(struct trace_writer *w, const struct trace_footer *f)
{
	if (!w)
		return 0;
	int r = trace_writer_flush(w);
	if (!r && f && f->json) {
		cJSON *o = parse_object(f->json);
		r = o ? emit_json(w, o) : -EINVAL;
	} else if (!r) {
		struct trace_footer none = {0};
		if (!f)
			f = &none;
		cJSON *o = cJSON_CreateObject(), *c = cJSON_AddObjectToObject(o, "counts");
		cJSON *l;
		char when[48];
		cJSON_AddBoolToObject(o, "footer", 1);
		cJSON_AddNumberToObject(o, "events", (double)w->total);
		for (unsigned k = 0; k < NPS_EV__COUNT; k++)
			if (w->counts[k] && nps_kind_name(k))
				cJSON_AddNumberToObject(c, nps_kind_name(k), (double)w->counts[k]);
		l = cJSON_AddObjectToObject(o, "lost");
		cJSON_AddNumberToObject(
		    l, "sim", (double)(f->lost_sim > w->lost[1] ? f->lost_sim : w->lost[1]));
		cJSON_AddNumberToObject(
		    l, "kernel",
		    (double)(f->lost_kernel > w->lost[2] ? f->lost_kernel : w->lost[2]));
		l = cJSON_AddObjectToObject(o, "late");
		cJSON_AddNumberToObject(l, "sim", (double)w->late[1]);
		cJSON_AddNumberToObject(l, "kernel", (double)w->late[2]);
		cJSON_AddNumberToObject(o, "interrupted", f->interrupted);
		char name[32];
		if (f->interrupted && nps_signal_name(f->interrupted, name, sizeof(name)))
			cJSON_AddStringToObject(o, "signal", name);
		if (f->story && f->story[0])
			cJSON_AddStringToObject(o, "story", f->story);
		iso_time(f->wall_end_ns, when, sizeof(when));
		cJSON_AddStringToObject(o, "end", when);
		add_ns_string(o, "end_ns", (uint64_t)f->wall_end_ns);
		r = emit_json(w, o);
	}
	return wr_release(w, r);
}

/* ---------------------------------------------------------------------------------------------
 * Name lookups: one hashed index over every names.c table the descriptors use, built once.
 */

#define NAME_SLOTS 1024

static struct {
	const char *(*tab)(unsigned);
	const char *name;
	int value;
} name_index[NAME_SLOTS];
static pthread_once_t name_once = PTHREAD_ONCE_INIT;

static uint32_t name_hash(const void *tab, const char *s)
{
	uint32_t h = 2166136261u ^ (uint32_t)((uintptr_t)tab >> 4);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void name_add(const char *(*tab)(unsigned))
{
	for (unsigned v = 0; v < 256; v++) {
		const char *n = tab(v);
		if (!n || !*n)
			continue;
		uint32_t i = name_hash((const void *)tab, n) & (NAME_SLOTS - 1);
		while (name_index[i].name)
			if (name_index[i].tab == tab && !strcmp(name_index[i].name, n))
				break; /* a duplicate name: the first value wins, as in names.c */
			else
				i = (i + 1) & (NAME_SLOTS - 1);
		if (!name_index[i].name)
			name_index[i] = (typeof(name_index[0])){tab, n, (int)v};
	}
}

static void name_build(void)
{
#define NAME_ADD(t) name_add(nps_##t##_name);
	NAME_TABLES(NAME_ADD)
#undef NAME_ADD
}

/* The value of name in the table behind tab, -1 when unknown. */
static int name_lookup(const char *(*tab)(unsigned), const char *name)
{
	pthread_once(&name_once, name_build);
	uint32_t i = name_hash((const void *)tab, name) & (NAME_SLOTS - 1);
	for (; name_index[i].name; i = (i + 1) & (NAME_SLOTS - 1))
		if (name_index[i].tab == tab && !strcmp(name_index[i].name, name))
			return name_index[i].value;
	return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Parsing one event line
 */

struct perr {
	char *buf;
	size_t len;
};

__attribute__((format(printf, 2, 3))) static int perr_set(struct perr *pe, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pe->buf, pe->len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *json_type(const cJSON *j)
{
	if (cJSON_IsNumber(j))
		return "a number";
	if (cJSON_IsString(j))
		return "a string";
	if (cJSON_IsBool(j))
		return "a boolean";
	if (cJSON_IsNull(j))
		return "null";
	if (cJSON_IsArray(j))
		return "an array";
	return "an object";
}

/* A short, safe rendering of a string value for messages. */
static const char *quote(const char *s, char *tmp, size_t len)
{
	size_t n = strlen(s);
	trace_sanitize(s, n > 40 ? 40 : n, tmp, len - 4);
	if (n > 40)
		strcat(tmp, "...");
	return tmp;
}

/*
 * A number as the file wrote it, for messages: its token when the line went through cJSON
 * (parse_line keeps it in valuestring, which cJSON leaves NULL for numbers: its double may
 * misquote the text, 9007199254740993 as 9007199254740992), cut and sanitised as a string value
 * is. The fast path takes canonical integers within ±(2^53 - 1) only: their double prints as
 * written.
 */
static const char *num_text(const cJSON *j, char *tmp, size_t len)
{
	if (j->valuestring)
		return quote(j->valuestring, tmp, len);
	double d = j->valuedouble;
	if (d == floor(d) && fabs(d) <= (double)TRACE_INT_MAX)
		snprintf(tmp, len, "%lld", (long long)d);
	else
		snprintf(tmp, len, "%.17g", d);
	return tmp;
}

enum num_class {
	NUM_INT,      /* an integer within ±(2^53 - 1): exact in a double */
	NUM_FRACTION, /* not an integer (also 1.0000000000000001, which a double rounds to 1) */
	NUM_ABOVE,    /* an integer above 2^53 - 1 */
	NUM_BELOW,    /* an integer below -(2^53 - 1) */
};

/*
 * The exact value of a number token (the syntax cJSON reads: -? digits [. digits] [e [+-]
 * digits], digits around the point optional), in decimal, not through a double: the token is
 * D * 10^scale with D its digits (the point left out) and scale the exponent less the digits
 * after the point; once D's trailing zeros are moved into scale, it is an integer exactly when
 * scale is not negative.
 */
static enum num_class num_exact(const char *s, int64_t *v)
{
	bool neg = *s == '-';
	const char *d0 = s + neg, *p = d0, *dot = NULL;
	for (; (*p >= '0' && *p <= '9') || (*p == '.' && !dot); p++)
		if (*p == '.')
			dot = p;
	const char *dend = p;
	int64_t exp = 0, scale;
	if (*p == 'e' || *p == 'E') {
		bool eneg = *++p == '-';
		p += *p == '-' || *p == '+';
		/* capped: beyond 10^9 the value is far out of range (or 0) anyway */
		for (; *p >= '0' && *p <= '9'; p++)
			if (exp < 1000000000)
				exp = exp * 10 + (*p - '0');
		exp = eneg ? -exp : exp;
	}
	scale = exp - (dot ? (int64_t)(dend - dot - 1) : 0);
	/* the significant digits: first and last non-zero */
	const char *first = NULL, *last = NULL;
	for (const char *c = d0; c < dend; c++)
		if (*c >= '1' && *c <= '9') {
			first = first ? first : c;
			last = c;
		}
	if (!first) {
		*v = 0;
		return NUM_INT;
	}
	for (const char *c = last + 1; c < dend; c++)
		scale += *c != '.'; /* D's trailing zeros */
	if (scale < 0)
		return NUM_FRACTION;
	int64_t ndig = 0;
	for (const char *c = first; c <= last; c++)
		ndig += *c != '.';
	if (ndig + scale > 16)
		return neg ? NUM_BELOW : NUM_ABOVE;
	uint64_t x = 0;
	for (const char *c = first; c <= last; c++)
		if (*c != '.')
			x = x * 10 + (uint64_t)(*c - '0');
	for (int64_t i = 0; i < scale; i++)
		x *= 10;
	if (x > (uint64_t)TRACE_INT_MAX)
		return neg ? NUM_BELOW : NUM_ABOVE;
	*v = neg ? -(int64_t)x : (int64_t)x;
	return NUM_INT;
}

static int get_int(const cJSON *j, const char *key, int64_t lo, int64_t hi, int64_t *v,
		   struct perr *pe)
{
	char tmp[64];
	if (!cJSON_IsNumber(j))
		return perr_set(pe, "field \"%s\": expected an integer, got %s", key, json_type(j));
	int64_t x = 0;
	enum num_class c;
	if (j->valuestring) {
		c = num_exact(j->valuestring, &x);
	} else { /* the fast path's (exact), or cJSON's when there was no memory for the text */
		double d = j->valuedouble;
		c = !isfinite(d) || d != floor(d) ? NUM_FRACTION
		    : d > (double)TRACE_INT_MAX	  ? NUM_ABOVE
		    : d < -(double)TRACE_INT_MAX  ? NUM_BELOW
						  : NUM_INT;
		x = c == NUM_INT ? (int64_t)d : 0;
	}
	if (c == NUM_FRACTION)
		return perr_set(pe, "field \"%s\": expected an integer, got %s", key,
				num_text(j, tmp, sizeof(tmp)));
	/*
	 * Beyond ±(2^53 - 1) a double cannot hold every integer (2^53 + 1 reads as 2^53): where
	 * the field's range goes that far the value would be a rounded one, so it is refused as
	 * such; a field with a narrower range says its range.
	 */
	if ((c == NUM_ABOVE && hi >= TRACE_INT_MAX) || (c == NUM_BELOW && lo <= -TRACE_INT_MAX))
		return perr_set(pe,
				"field \"%s\": %s is not an exact integer (integers must be "
				"within ±(2^53 - 1) to be exact in JSON)",
				key, num_text(j, tmp, sizeof(tmp)));
	if (c != NUM_INT || x < lo || x > hi)
		return perr_set(pe, "field \"%s\": %s is out of range [%lld, %lld]", key,
				num_text(j, tmp, sizeof(tmp)), (long long)lo, (long long)hi);
	*v = x;
	return 0;
}

static int parse_hex(const char *s, uint64_t *v)
{
	if (s[0] != '0' || s[1] != 'x' || !s[2])
		return -1;
	uint64_t x = 0;
	int nd = 0;
	for (const char *c = s + 2; *c; c++, nd++) {
		int d = *c >= '0' && *c <= '9'	 ? *c - '0'
			: *c >= 'a' && *c <= 'f' ? *c - 'a' + 10
			: *c >= 'A' && *c <= 'F' ? *c - 'A' + 10
						 : -1;
		if (d < 0 || nd >= 16)
			return -1;
		x = x << 4 | (uint64_t)d;
	}
	*v = x;
	return 0;
}

/*
 * The member named key, searched from *cur on (then from the start): the writer puts members in
 * descriptor order, so the next one is nearly always the one asked for. First match wins, as
 * with cJSON_GetObjectItemCaseSensitive.
 */
static const cJSON *member(const cJSON *o, const char *key, const cJSON **cur)
{
	const cJSON *start = *cur ? *cur : o->child;
	for (const cJSON *j = start; j; j = j->next)
		if (j->string && j->string[0] == key[0] && !strcmp(j->string, key)) {
			/* a duplicate before start would win with cJSON: look there too */
			for (const cJSON *k = o->child; k != start; k = k->next)
				if (k->string && k->string[0] == key[0] && !strcmp(k->string, key))
					return k;
			*cur = j->next;
			return j;
		}
	for (const cJSON *j = o->child; j != start; j = j->next)
		if (j->string && j->string[0] == key[0] && !strcmp(j->string, key))
			return j;
	return NULL;
}

static int get_field(const cJSON *o, const struct fdesc *d, uint64_t origin, struct nps_event *e,
		     struct perr *pe, const cJSON **cur)
{
	const cJSON *j = member(o, d->key, cur);
	const char *key = d->key;
	char tmp[64];
	int64_t lo, hi, iv;
	uint64_t v = 0;
	if (!j && d->alt && (d->type == T_TIME || d->type == T_KID)) {
		j = member(o, d->alt, cur);
		key = d->alt;
	}
	if (!j) {
		if (d->flags & F_REQ)
			return perr_set(pe, "field \"%s\": missing", d->key);
		field_set(e, d, (uint64_t)(int64_t)d->dflt);
		return 0;
	}
	switch (d->type) {
	case T_INT:
		field_range(d, &lo, &hi);
		if (get_int(j, key, lo, hi, &iv, pe))
			return -EINVAL;
		v = (uint64_t)iv;
		break;
	case T_HEX:
		if (!cJSON_IsString(j) || parse_hex(j->valuestring, &v))
			return perr_set(
			    pe, "field \"%s\": expected a hex string like \"0x7f00\", got %s", key,
			    cJSON_IsString(j) ? quote(j->valuestring, tmp, sizeof(tmp))
					      : json_type(j));
		break;
	case T_PDV:
		if (!cJSON_IsString(j) || nps_pdv_parse(j->valuestring, &v))
			return perr_set(pe,
					"field \"%s\": expected \"nil\", \"ready\", \"wait\" or "
					"\"G<goid>\", got %s",
					key,
					cJSON_IsString(j) ? quote(j->valuestring, tmp, sizeof(tmp))
							  : json_type(j));
		break;
	case T_MODE: {
		/* a side ("r", "w"), or for F_RW both ("rw"); "" only where the field is optional */
		const char *t = cJSON_IsString(j) ? j->valuestring : NULL;
		v = !t			      ? 1
		    : !strcmp(t, "r")	      ? 'r'
		    : !strcmp(t, "w")	      ? 'w'
		    : !strcmp(t, "rw")	      ? MODE_RW
		    : !*t && d->flags & F_OPT ? 0
					      : 1;
		if (v == 1 || (v == MODE_RW && !(d->flags & F_RW)))
			return perr_set(pe, "field \"%s\": expected %s, got %s", key,
					d->flags & F_RW ? "\"r\", \"w\" or \"rw\""
							: "\"r\" or \"w\"",
					t ? quote(t, tmp, sizeof(tmp)) : json_type(j));
		break;
	}
	case T_TIME:
		if (get_int(j, key, -TRACE_INT_MAX, TRACE_INT_MAX, &iv, pe))
			return -EINVAL;
		if (key == d->alt && iv <= 0)
			return perr_set(pe, "field \"%s\": must be positive", key);
		v = key == d->alt || iv <= 0 ? (uint64_t)iv : origin + (uint64_t)iv;
		break;
	case T_NAME: {
		if ((d->flags & F_RAW) && cJSON_IsNumber(j)) {
			if (get_int(j, key, INT32_MIN, INT32_MAX, &iv, pe))
				return -EINVAL;
			v = (uint64_t)iv;
			break;
		}
		if (!cJSON_IsString(j))
			return perr_set(pe, "field \"%s\": expected a name, got %s", key,
					json_type(j));
		int x = name_lookup(d->name, j->valuestring);
		field_range(d, &lo, &hi);
		if (x < 0 || x > hi)
			return perr_set(pe, "field \"%s\": unknown value %s", key,
					quote(j->valuestring, tmp, sizeof(tmp)));
		v = (uint64_t)x;
		break;
	}
	case T_PATH: {
		if (!cJSON_IsString(j))
			return perr_set(pe, "field \"%s\": expected a string, got %s", key,
					json_type(j));
		size_t n = strlen(j->valuestring);
		if (n > NPS_PATH_LEN)
			return perr_set(pe, "field \"%s\": longer than %u bytes", key,
					NPS_PATH_LEN);
		char path[NPS_PATH_LEN];
		size_t k = utf8_coerce(j->valuestring, n, path, sizeof(path));
		v = k ? nps_path_intern(path, k) : 0;
		break;
	}
	case T_STR: {
		if (!cJSON_IsString(j))
			return perr_set(pe, "field \"%s\": expected a string, got %s", key,
					json_type(j));
		size_t n = strlen(j->valuestring);
		if (n > d->size)
			return perr_set(pe, "field \"%s\": longer than %u bytes", key, d->size);
		memset((char *)e + d->off, 0, d->size);
		utf8_coerce(j->valuestring, n, (char *)e + d->off, d->size);
		return 0;
	}
	case T_KID:
		if (get_int(j, key, 0, TRACE_INT_MAX, &iv, pe))
			return -EINVAL;
		v = (uint64_t)iv | (key == d->alt ? NPS_KERNEL_ID_BIT : 0);
		break;
	}
	field_set(e, d, v);
	return 0;
}

static int get_fields(const cJSON *o, const struct fdesc *f, size_t n, uint64_t origin,
		      struct nps_event *e, struct perr *pe, const cJSON **cur)
{
	for (size_t i = 0; i < n; i++)
		if (get_field(o, &f[i], origin, e, pe, cur))
			return -EINVAL;
	return 0;
}

static int parse_ready(const cJSON *arr, const struct nps_event *w, struct nps_event *ready,
		       size_t max, size_t *nready, struct perr *pe)
{
	size_t i = 0;
	const cJSON *it;
	if (!cJSON_IsArray(arr))
		return perr_set(pe, "field \"ready\": expected an array, got %s", json_type(arr));
	cJSON_ArrayForEach(it, arr)
	{
		if (i >= max)
			return perr_set(pe, "field \"ready\": more than %zu entries", max);
		if (!cJSON_IsObject(it))
			return perr_set(pe, "field \"ready[%zu]\": expected an object", i);
		struct nps_event *r = &ready[i];
		memset(r, 0, sizeof(*r));
		r->ts = w->ts;
		r->g = w->g;
		r->tid = w->tid;
		r->m = w->m;
		r->p = w->p;
		r->src = w->src;
		r->kind = NPS_EV_EPOLL_READY; /* sub 0, as the probes send it (traces/event.h) */
		r->u.ready.id = w->u.wait.id;
		r->u.ready.epfd = w->u.wait.epfd;
		r->u.ready.index = (uint32_t)i;
		char sub[200];
		const cJSON *cur = NULL;
		int rc = get_fields(it, f_ready_entry, N_OF(f_ready_entry), 0, r, pe, &cur);
		const cJSON *ix = cJSON_GetObjectItemCaseSensitive(it, "index");
		int64_t iv;
		if (!rc && ix && !get_int(ix, "index", 0, UINT32_MAX, &iv, pe))
			r->u.ready.index = (uint32_t)iv;
		else if (!rc && ix)
			rc = -EINVAL;
		if (rc) {
			snprintf(sub, sizeof(sub), "%s", pe->buf);
			return perr_set(pe, "ready[%zu]: %s", i, sub);
		}
		i++;
	}
	*nready = i;
	return 0;
}

static int parse_obj(const cJSON *o, uint64_t origin, struct nps_event *e, struct nps_event *ready,
		     size_t ready_max, size_t *nready, struct perr *pe)
{
	const cJSON *j, *cur = NULL;
	char tmp[64];
	int64_t iv;
	memset(e, 0, sizeof(*e));
	if (nready)
		*nready = 0;
	j = member(o, "ev", &cur);
	if (!j)
		return perr_set(pe, "field \"ev\": missing");
	if (!cJSON_IsString(j))
		return perr_set(pe, "field \"ev\": expected a kind name, got %s", json_type(j));
	int kind = name_lookup(nps_kind_name, j->valuestring);
	const struct kdesc *k = kind > 0 ? kind_desc((unsigned)kind) : NULL;
	if (!k)
		return perr_set(pe, "field \"ev\": unknown event kind %s",
				quote(j->valuestring, tmp, sizeof(tmp)));
	e->kind = (uint16_t)kind;
	cur = NULL;
	j = member(o, "ts", &cur);
	if (!j)
		return perr_set(pe, "field \"ts\": missing");
	if (get_int(j, "ts", -TRACE_INT_MAX, TRACE_INT_MAX, &iv, pe))
		return -EINVAL;
	/* before the origin is fine (negative), before CLOCK_MONOTONIC's zero is not */
	if (iv < 0 && (uint64_t)-iv > origin)
		return perr_set(pe,
				"field \"ts\": %s is before CLOCK_MONOTONIC's zero (the origin "
				"is %llu ns: ts is at least -%llu)",
				num_text(j, tmp, sizeof(tmp)), (unsigned long long)origin,
				(unsigned long long)origin);
	e->ts = origin + (uint64_t)iv;
	j = member(o, "src", &cur);
	if (!j)
		return perr_set(pe, "field \"src\": missing");
	int src = cJSON_IsString(j) ? name_lookup(nps_src_name, j->valuestring) : -1;
	if (src <= 0)
		return perr_set(pe, "field \"src\": expected \"sim\" or \"kernel\", got %s",
				cJSON_IsString(j) ? quote(j->valuestring, tmp, sizeof(tmp))
						  : json_type(j));
	e->src = (uint8_t)src;
	j = member(o, "ev", &cur); /* the cursor after "ev": the header fields follow */
	for (size_t i = 0; i < N_OF(hdr_fields); i++) {
		const struct fdesc *d = k->need_fd && hdr_fields[i].off == fd_required.off
					    ? &fd_required
					    : &hdr_fields[i];
		if (get_field(o, d, origin, e, pe, &cur))
			return -EINVAL;
	}
	if (!k->own_sub && get_field(o, &sub_field, origin, e, pe, &cur))
		return -EINVAL;
	if (get_fields(o, k->f, k->nf, origin, e, pe, &cur))
		return -EINVAL;
	if (kind == NPS_EV_EXIT) {
		const struct nps_ev_exit *x = &e->u.exit;
		if (e->src != NPS_SRC_KERNEL) /* the probes see it; the runtime never logs one */
			return perr_set(pe, "field \"src\": an exit is the kernel's (\"kernel\")");
		if ((x->code >= 0) == (x->signal > 0))
			return perr_set(pe,
					"fields \"code\" and \"signal\": an exit has one of "
					"them (exited with a code, or killed by a signal), "
					"not %s",
					x->code >= 0 ? "both" : "neither");
		if (x->code > 255 || x->signal > 127 || x->core > 1 || (x->core && !x->signal))
			return perr_set(pe,
					"field \"%s\": out of range (code 0-255, signal "
					"1-127, core 0 or 1 with a signal)",
					x->code > 255	  ? "code"
					: x->signal > 127 ? "signal"
							  : "core");
	}
	if (kind == NPS_EV_EPOLL_WAIT) {
		j = member(o, "ready", &cur);
		if (!j)
			return perr_set(pe, "field \"ready\": missing");
		if (cJSON_GetArraySize(j) > 0 && !ready)
			return perr_set(pe, "field \"ready\": entries not expected here");
		if (parse_ready(j, e, ready, ready_max, nready, pe))
			return -EINVAL;
	}
	return 0;
}

/*
 * A \u0000 escape in a JSON text (valid JSON: backslashes only occur inside strings): cJSON
 * would end the string there and drop the rest silently. Sets its column and the key of the
 * string that holds it ("" for a key or an array element); false when there is none.
 */
static bool nul_escape(const char *s, size_t n, size_t *col, char *key, size_t klen)
{
	const char *str = NULL;		   /* the open string's first byte */
	const char *ks = NULL, *ke = NULL; /* the last string closed */
	bool value = false;		   /* the open string follows "key": */
	char prev = 0;			   /* the last byte outside strings but blanks */
	for (size_t i = 0; i < n; i++) {
		if (!str) {
			if (s[i] == '"') {
				str = s + i + 1;
				value = prev == ':';
			} else if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
				prev = s[i];
			}
		} else if (s[i] == '\\') {
			if (i + 5 < n && !memcmp(s + i + 1, "u0000", 5)) {
				*col = i + 1;
				snprintf(key, klen, "%.*s", value && ks ? (int)(ke - ks) : 0, ks);
				return true;
			}
			i++;
		} else if (s[i] == '"') {
			ks = str;
			ke = s + i;
			str = NULL;
			prev = '"';
		}
	}
	return false;
}

/*
 * What makes a number token (a run of the characters cJSON reads one from) not a JSON number,
 * or NULL when it is one: RFC 8259 section 6, -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]?
 * [0-9]+)?. cJSON reads numbers with strtod, which also takes 01, 1., -.5 and 1.e3: jq and
 * Python refuse them, and so does this reader, so that one file means one thing everywhere.
 */
static const char *num_syntax(const char *p, const char *end)
{
	p += p < end && *p == '-';
	if (p == end || *p < '0' || *p > '9')
		return "no digit before the point";
	if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
		return "a leading zero";
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p < end && *p == '.') {
		if (++p == end || *p < '0' || *p > '9')
			return "no digit after the point";
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		p += p < end && (*p == '+' || *p == '-');
		if (p == end || *p < '0' || *p > '9')
			return "no digit in the exponent";
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	return p == end ? NULL : "a sign inside it";
}

/*
 * Give each number of the tree its text from the line, in valuestring (which cJSON leaves NULL
 * for numbers and frees with the node): cJSON keeps only a double, which misquotes and rounds
 * what it cannot hold (get_int reads the text instead). The tree holds the line's values in the
 * line's order, so the n-th number node (depth first) is the n-th number outside strings: a
 * run of the characters cJSON reads a number from. A copy that fails leaves NULL (the double).
 * The first run that is not a JSON number goes in bad, with the name of its member (or of the
 * array that holds it).
 */
static void keep_numbers(cJSON *j, const char **at, const char *end, const char *key,
			 struct bad_num *bad)
{
	for (; j; j = j->next) {
		if (cJSON_IsNumber(j)) {
			const char *p = *at, *t;
			for (bool str = false; p < end; p++) {
				if (str && *p == '\\' && p + 1 < end)
					p++;
				else if (*p == '"')
					str = !str;
				else if (!str && (*p == '-' || (*p >= '0' && *p <= '9')))
					break;
			}
			for (t = p; t < end && *t && strchr("0123456789+-.eE", *t); t++)
				;
			*at = t;
			const char *why = bad->why ? NULL : num_syntax(p, t);
			if (why)
				*bad = (struct bad_num){p, t, why, j->string ? j->string : key};
			j->valuestring = t > p ? cJSON_malloc((size_t)(t - p) + 1) : NULL;
			if (j->valuestring) {
				memcpy(j->valuestring, p, (size_t)(t - p));
				j->valuestring[t - p] = '\0';
			}
		}
		keep_numbers(j->child, at, end, j->string ? j->string : key, bad);
	}
}

/* Parse a line as one JSON object, nothing after it but white space. */
/*
 * The bucket (0-63) of a member name of len bytes, for finding a name twice in one object: from
 * its first two bytes and its length, which part the names of each event the writer makes (in
 * a recorded echo run, 456 lines of 100,000 have two names in one bucket, then compared).
 */
static unsigned name_bucket(const char *name, size_t len)
{
	const unsigned char *n = (const unsigned char *)name;
	return (n[0] + (len > 1 ? n[1] * 27u : 0u) + (unsigned)len) & 63u;
}

/*
 * A member name that one object of the tree holds twice (RFC 8259 section 4: names SHOULD be
 * unique): readers disagree on which counts (cJSON, and so this reader, the first; jq the last),
 * so the line would say one thing here and another in jq. Only names that share a bucket are
 * compared.
 */
static const char *dup_key(const cJSON *o)
{
	uint64_t seen = 0;
	for (const cJSON *j = o->child; j; j = j->next) {
		const char *d = j->child ? dup_key(j) : NULL;
		if (d)
			return d;
		if (!j->string)
			continue;
		unsigned h = name_bucket(j->string, strlen(j->string));
		if (!(seen >> h & 1)) {
			seen |= 1ull << h;
			continue;
		}
		for (const cJSON *k = o->child; k != j; k = k->next)
			if (k->string && !strcmp(k->string, j->string))
				return j->string;
	}
	return NULL;
}

/* The UTF-16 unit of the \\uXXXX escape at s (n bytes from it), or -1 when there is none. */
static long u_escape(const char *s, size_t n)
{
	char hex[5];
	if (n < 6 || s[0] != '\\' || s[1] != 'u')
		return -1;
	for (int i = 0; i < 4; i++)
		if (!isxdigit((unsigned char)s[2 + i]))
			return -1;
	memcpy(hex, s + 2, 4);
	hex[4] = '\0';
	return strtol(hex, NULL, 16);
}

/*
 * A copy of line with each lone surrogate escape (a \\uD800-\\uDBFF not followed by a
 * \\uDC00-\\uDFFF, or one of those alone) replaced by \\uFFFD, or NULL when it has none. JSON's
 * grammar allows them (RFC 8259 section 8.2) and Go's encoding/json reads them as U+FFFD; cJSON
 * refuses the line.
 */
static char *surrogates_fixed(const char *line, size_t len)
{
	char *copy = NULL;
	bool in = false;
	for (size_t i = 0; i < len; i++) {
		if (line[i] == '"') {
			in = !in;
		} else if (in && line[i] == '\\') {
			long u = u_escape(line + i, len - i);
			long v =
			    u >= 0xd800 && u <= 0xdbff ? u_escape(line + i + 6, len - i - 6) : -1;
			if (u >= 0xd800 && u <= 0xdbff && v >= 0xdc00 && v <= 0xdfff) {
				i += 11; /* a pair */
			} else if (u >= 0xd800 && u <= 0xdfff) {
				if (!copy && (copy = malloc(len)))
					memcpy(copy, line, len);
				if (!copy)
					return NULL;
				memcpy(copy + i, "\\uFFFD", 6);
				i += 5;
			} else {
				i++; /* the escaped character */
			}
		}
	}
	return copy;
}

/* How many arrays and objects are open at byte at of line (strings skipped). */
static size_t nesting_at(const char *line, size_t at)
{
	size_t depth = 0, most = 0;
	bool in = false;
	for (size_t i = 0; i < at; i++) {
		char c = line[i];
		if (in && c == '\\')
			i++;
		else if (c == '"')
			in = !in;
		else if (!in && (c == '[' || c == '{'))
			most = ++depth > most ? depth : most;
		else if (!in && (c == ']' || c == '}') && depth)
			depth--;
	}
	return most;
}

static cJSON *parse_line(const char *line, size_t len, struct perr *pe)
{
	const char *end = NULL;
	/*
	 * cJSON takes a control character in a string as it is; JSON (RFC 8259 section 7) wants it
	 * escaped, and jq refuses the line: so do we. Outside strings only tab and CR may stand.
	 */
	const char *nul = memchr(line, '\0', len); /* first: a binary file is said as such */
	if (nul) {
		perr_set(pe, "contains a NUL byte at column %zu (a binary file?)",
			 (size_t)(nul - line) + 1);
		return NULL;
	}
	for (size_t i = 0, in = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (in && c == '\\')
			i++; /* the escaped character, whatever it is */
		else if (c == '"')
			in = !in;
		else if (c < 0x20 && (in || (c != '\t' && c != '\r'))) {
			perr_set(pe,
				 "not valid JSON: control character 0x%02x at column %zu (JSON "
				 "wants it escaped)",
				 c, i + 1);
			return NULL;
		}
	}
	cJSON *o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (!o) {
		const char *at = cJSON_GetErrorPtr();
		size_t col = at && at >= line && at <= line + len ? (size_t)(at - line) + 1 : 0;
		char *fixed = memchr(line, '\\', len) ? surrogates_fixed(line, len) : NULL;
		if (fixed) { /* the same length: columns and numbers stay where they were */
			o = cJSON_ParseWithLengthOpts(fixed, len, &end, 0);
			end = end ? line + (end - fixed) : NULL;
			free(fixed);
		}
		if (!o && col && nesting_at(line, col - 1) >= CJSON_NESTING_LIMIT) {
			perr_set(pe,
				 "not valid JSON for this reader: nested deeper than %d arrays and "
				 "objects (column %zu)",
				 CJSON_NESTING_LIMIT, col);
			return NULL;
		}
		if (!o) {
			perr_set(pe, "not valid JSON (column %zu)", col);
			return NULL;
		}
	}
	while (end && end < line + len && (*end == ' ' || *end == '\t' || *end == '\r'))
		end++;
	if (end && end < line + len) {
		cJSON_Delete(o);
		perr_set(pe, "not valid JSON: text after the object (column %zu)",
			 (size_t)(end - line) + 1);
		return NULL;
	}
	if (!cJSON_IsObject(o)) {
		perr_set(pe, "expected a JSON object, got %s", json_type(o));
		cJSON_Delete(o);
		return NULL;
	}
	const char *at = line;
	struct bad_num bad = {0};
	keep_numbers(o->child, &at, line + len, NULL, &bad);
	size_t col;
	char key[64], k[80];
	if (bad.why) {
		char num[48];
		int nl = bad.end - bad.at > 40 ? 40 : (int)(bad.end - bad.at);
		snprintf(num, sizeof(num), "%.*s%s", nl, bad.at,
			 bad.end - bad.at > 40 ? "..." : "");
		if (bad.key)
			perr_set(pe, "field \"%s\": %s is not a JSON number (column %zu: %s)",
				 quote(bad.key, k, sizeof(k)), num, (size_t)(bad.at - line) + 1,
				 bad.why);
		else
			perr_set(pe, "%s is not a JSON number (column %zu: %s)", num,
				 (size_t)(bad.at - line) + 1, bad.why);
		cJSON_Delete(o);
		return NULL;
	}
	const char *twice = dup_key(o);
	if (twice) {
		perr_set(pe,
			 "field \"%s\": appears twice in one object (JSON readers disagree on "
			 "which counts)",
			 quote(twice, k, sizeof(k)));
		cJSON_Delete(o);
		return NULL;
	}
	if (memchr(line, '\\', len) && nul_escape(line, len, &col, key, sizeof(key))) {
		cJSON_Delete(o);
		if (key[0])
			perr_set(pe,
				 "field \"%s\": holds \\u0000 (column %zu): a NUL cannot be kept",
				 quote(key, k, sizeof(k)), col);
		else
			perr_set(pe, "\\u0000 at column %zu: a NUL cannot be kept", col);
		return NULL;
	}
	return o;
}

/* ---------------------------------------------------------------------------------------------
 * The fast path: the exact subset the writer produces, parsed into cJSON nodes on the stack
 */

#define FAST_MEMBERS 48
#define FAST_TEXT    2048

struct fast {
	cJSON root;
	cJSON m[FAST_MEMBERS];
	char text[FAST_TEXT]; /* keys and string values, NUL-terminated */
};

/* Key t (len bytes) of member n is one of members 0..n-1's: cJSON's path says which. */
static bool fast_dup(const struct fast *f, int n, const char *t, size_t len, uint64_t *seen)
{
	unsigned h = name_bucket(t, len);
	if (!(*seen >> h & 1)) {
		*seen |= 1ull << h;
		return false;
	}
	for (int i = 0; i < n; i++)
		if (!strcmp(f->m[i].string, t))
			return true;
	return false;
}

/*
 * Parse line as a flat JSON object whose keys and string values are printable ASCII without
 * escapes, whose numbers are canonical integers within ±(2^53 - 1), and whose only array is
 * an empty one. Returns the root, or NULL when the line is anything else: the caller then hands
 * it to cJSON, which gives the same result on this subset (tests and fuzz_reader check it) and
 * the real error message outside it.
 */
static const cJSON *fast_parse(const char *line, size_t len, struct fast *f)
{
	const char *p = line, *end = line + len;
	size_t used = 0;
	int n = 0;
	uint64_t seen = 0;
	memset(&f->root, 0, sizeof(f->root));
	f->root.type = cJSON_Object;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p++ != '{')
		return NULL;
	if (p < end && *p == '}') {
		p++;
		goto tail;
	}
	for (;;) {
		cJSON *m = &f->m[n];
		if (n == FAST_MEMBERS || p == end || *p != '"')
			return NULL;
		memset(m, 0, sizeof(*m));
		/* key, then value if it is a string: copy into text */
		for (int pass = 0; pass < 2; pass++) {
			const char *q = ++p;
			while (p < end && *p != '"') {
				if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ||
				    *p == '\\')
					return NULL;
				p++;
			}
			size_t tl = (size_t)(p - q);
			if (p == end || used + tl + 1 > FAST_TEXT)
				return NULL;
			char *t = f->text + used;
			memcpy(t, q, tl);
			t[tl] = '\0';
			used += tl + 1;
			p++;
			if (pass == 0) {
				m->string = t;
				if (p == end || *p++ != ':' || fast_dup(f, n, t, tl, &seen))
					return NULL;
				if (p < end && *p == '"')
					continue;
				break;
			}
			m->type = cJSON_String;
			m->valuestring = t;
		}
		if (!m->type) {
			if (p + 1 < end && p[0] == '[' && p[1] == ']') {
				m->type = cJSON_Array;
				p += 2;
			} else {
				const char *q = p;
				bool neg = p < end && *p == '-';
				int64_t v = 0;
				if (neg)
					p++;
				if (p == end || *p < '0' || *p > '9' ||
				    (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9'))
					return NULL;
				while (p < end && *p >= '0' && *p <= '9') {
					if (p - q > 15)
						return NULL;
					v = v * 10 + (*p++ - '0');
				}
				/* cJSON's reading of "-0" or of what a double cannot hold exactly
				 * keeps the text for messages (num_text): only cJSON does that */
				if ((p < end && (*p == '.' || *p == 'e' || *p == 'E')) ||
				    v > TRACE_INT_MAX || (neg && !v))
					return NULL;
				m->type = cJSON_Number;
				m->valuedouble = (double)(neg ? -v : v);
				m->valueint = v > INT32_MAX ? (neg ? INT32_MIN : INT32_MAX)
							    : (int)(neg ? -v : v);
			}
		}
		if (n) {
			f->m[n - 1].next = m;
			m->prev = &f->m[n - 1];
		}
		n++;
		if (p == end)
			return NULL;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p++ != '}')
			return NULL;
		break;
	}
tail:
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p != end)
		return NULL;
	if (n) {
		f->root.child = &f->m[0];
		f->m[0].prev = &f->m[n - 1];
	}
	return &f->root;
}

int trace_event_parse_slow(const char *line, size_t len, uint64_t origin, struct nps_event *e,
			   struct nps_event *ready, size_t ready_max, size_t *nready, char *err,
			   size_t errlen)
{
	struct perr pe = {err, errlen};
	size_t dummy;
	cJSON *o = parse_line(line, len, &pe);
	if (!o)
		return -EINVAL;
	int r = parse_obj(o, origin, e, ready, ready_max, nready ? nready : &dummy, &pe);
	cJSON_Delete(o);
	return r;
}

int trace_event_parse(const char *line, size_t len, uint64_t origin, struct nps_event *e,
		      struct nps_event *ready, size_t ready_max, size_t *nready, char *err,
		      size_t errlen)
{
	struct perr pe = {err, errlen};
	size_t dummy;
	struct fast f;
	const cJSON *o = memchr(line, '\0', len) ? NULL : fast_parse(line, len, &f);
	if (o && cJSON_GetObjectItemCaseSensitive(o, "ev"))
		return parse_obj(o, origin, e, ready, ready_max, nready ? nready : &dummy, &pe);
	return trace_event_parse_slow(line, len, origin, e, ready, ready_max, nready, err, errlen);
}

/* ---------------------------------------------------------------------------------------------
 * Reader
 */

struct trace_reader {
	int fd;
	bool own_fd;
	const unsigned char *mem;
	size_t memlen, mempos;
	char *buf;
	size_t cap, start, end;
	bool eof;
	uint64_t lineno;  /* lines consumed so far */
	uint64_t ev_line; /* line of the last event returned */
	uint64_t skipped; /* lines refused (-EINVAL) by trace_reader_next */
	bool after_footer;
	char name[256];
	char err[1024];
	char errmsg[520]; /* err without its "file:line: " */
	uint64_t errline;
	struct trace_info info;
	struct nps_event ready[TRACE_READY_MAX];
	size_t nready, iready;
};

__attribute__((format(printf, 3, 4))) static int rd_err(struct trace_reader *r, uint64_t line,
							const char *fmt, ...)
{
	char *msg = r->errmsg;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	r->errline = line;
	if (line)
		snprintf(r->err, sizeof(r->err), "%s:%llu: %s", r->name, (unsigned long long)line,
			 msg);
	else
		snprintf(r->err, sizeof(r->err), "%s: %s", r->name, msg);
	return -EINVAL;
}

/* More bytes into buf[end..cap). 0 at EOF, >0 bytes read, -errno. */
static ssize_t rd_fill(struct trace_reader *r)
{
	size_t room = r->cap - r->end;
	if (r->mem) {
		size_t n = r->memlen - r->mempos;
		if (n > room)
			n = room;
		if (n > RBUF_CHUNK)
			n = RBUF_CHUNK;
		memcpy(r->buf + r->end, r->mem + r->mempos, n);
		r->mempos += n;
		r->end += n;
		return (ssize_t)n;
	}
	for (;;) {
		ssize_t n = read(r->fd, r->buf + r->end, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		r->end += (size_t)n;
		return n;
	}
}

/*
 * The next line: 1 with line and len set (no newline), 0 at EOF, -E2BIG when the line is longer than
 * TRACE_LINE_MAX bytes, newline excluded (skipped without keeping it), -errno on I/O errors. A
 * last line without its newline is returned too, with *complete false.
 */
static int rd_line(struct trace_reader *r, const char **line, size_t *len, bool *complete)
{
	size_t scan = r->start;
	bool skipping = false; /* over the limit: what was read of it is dropped */
	for (;;) {
		char *nl = memchr(r->buf + scan, '\n', r->end - scan);
		if (nl || r->eof) {
			char *stop = nl ? nl : r->buf + r->end;
			if (!nl && !skipping && r->start == r->end)
				return 0;
			r->lineno++;
			*line = r->buf + r->start;
			*len = (size_t)(stop - *line);
			*complete = nl != NULL;
			r->start = nl ? (size_t)(nl - r->buf) + 1 : r->end;
			return skipping || *len > TRACE_LINE_MAX ? -E2BIG : 1;
		}
		if (!skipping && r->end - r->start > TRACE_LINE_MAX) {
			/* the header: refused at once (`check /dev/zero` would never find its end) */
			if (r->lineno == 0) {
				r->lineno++;
				return -E2BIG;
			}
			skipping = true;
		}
		if (skipping) {
			r->start = r->end = 0; /* drop what we have: constant memory */
		} else if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		if (r->end == r->cap) {
			size_t ncap = r->cap * 2 > TRACE_LINE_MAX + RBUF_CHUNK + 1
					  ? TRACE_LINE_MAX + RBUF_CHUNK + 1
					  : r->cap * 2;
			char *nb = realloc(r->buf, ncap);
			if (!nb)
				return -ENOMEM;
			r->buf = nb;
			r->cap = ncap;
		}
		scan = r->end;
		ssize_t n = rd_fill(r);
		if (n < 0)
			return (int)n;
		if (n == 0)
			r->eof = true;
	}
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static int get_ns_string(const cJSON *o, const char *key, bool req, uint64_t *v, struct perr *pe)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	char tmp[64];
	if (!j)
		return req ? perr_set(pe, "field \"%s\": missing", key) : 0;
	const char *s = cJSON_IsString(j) ? j->valuestring : NULL;
	uint64_t x = 0;
	if (!s || !*s || strlen(s) > 20)
		goto bad;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9' || x > (UINT64_MAX - 9) / 10)
			goto bad;
		x = x * 10 + (uint64_t)(*c - '0');
	}
	*v = x;
	return 0;
bad:
	return perr_set(pe, "field \"%s\": expected a string of decimal digits (ns), got %s", key,
			s ? quote(s, tmp, sizeof(tmp)) : json_type(j));
}

static int get_text(const cJSON *o, const char *key, bool req, char *out, size_t len,
		    struct perr *pe)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!j)
		return req ? perr_set(pe, "field \"%s\": missing", key) : 0;
	if (!cJSON_IsString(j))
		return perr_set(pe, "field \"%s\": expected a string, got %s", key, json_type(j));
	trace_sanitize(j->valuestring, strlen(j->valuestring), out, len);
	return 0;
}

/*
 * The header's options that run and trace write (the scenario's, or trace's pid), each of the
 * type and range they write; other members are ignored, as unknown fields are. The seed is any
 * integer from 0 (run takes up to 2^63 - 1, beyond what a double holds: only its text counts).
 */
static int check_options(const cJSON *opts, struct perr *pe)
{
	static const struct {
		const char *name;
		int64_t lo, hi;
	} ints[] = {
	    {"procs", 1, 1 << 15},	{"clients", 0, INT32_MAX}, {"rounds", 0, INT32_MAX},
	    {"msg_size", 1, INT32_MAX}, {"pid", 1, INT32_MAX},
	};
	char key[48], tmp[64];
	int64_t v;
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		const cJSON *j = cJSON_GetObjectItemCaseSensitive(opts, ints[i].name);
		snprintf(key, sizeof(key), "options.%s", ints[i].name);
		if (j && get_int(j, key, ints[i].lo, ints[i].hi, &v, pe))
			return -EINVAL;
	}
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(opts, "seed");
	if (j && (!cJSON_IsNumber(j) ||
		  (j->valuestring ? !*j->valuestring || strspn(j->valuestring, "0123456789") !=
							    strlen(j->valuestring)
				  : j->valuedouble < 0)))
		return perr_set(pe, "field \"options.seed\": expected an integer from 0, got %s",
				cJSON_IsNumber(j) ? num_text(j, tmp, sizeof(tmp)) : json_type(j));
	j = cJSON_GetObjectItemCaseSensitive(opts, "duration");
	if (j && (!cJSON_IsNumber(j) || !isfinite(j->valuedouble) || j->valuedouble < 0))
		return perr_set(
		    pe, "field \"options.duration\": expected seconds, a number from 0, got %s",
		    cJSON_IsNumber(j) ? num_text(j, tmp, sizeof(tmp)) : json_type(j));
	j = cJSON_GetObjectItemCaseSensitive(opts, "listen");
	if (j && !cJSON_IsString(j))
		return perr_set(pe, "field \"options.listen\": expected a string, got %s",
				json_type(j));
	return 0;
}

static const char chrome_doc[] =
    "a Chrome trace-event document (as 'netpollsim export --format chrome' writes, for "
    "Perfetto), not a netpollsim trace: give the .jsonl recording it was exported from";

static int parse_header(struct trace_reader *r, const cJSON *o, struct perr *pe)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "format");
	char tmp[64];
	int64_t iv;
	struct trace_info *in = &r->info;
	if (!j && cJSON_GetObjectItemCaseSensitive(o, "traceEvents"))
		return perr_set(pe, "%s", chrome_doc);
	if (!cJSON_IsString(j) || strcmp(j->valuestring, TRACE_FORMAT))
		return perr_set(pe,
				"field \"format\": not a netpollsim trace (the first line must be "
				"{\"format\":\"" TRACE_FORMAT "\",...}), got %s",
				cJSON_IsString(j) ? quote(j->valuestring, tmp, sizeof(tmp))
				: j		  ? json_type(j)
						  : "no such field");
	j = cJSON_GetObjectItemCaseSensitive(o, "version");
	if (!j)
		return perr_set(pe, "field \"version\": missing");
	if (get_int(j, "version", 0, TRACE_INT_MAX, &iv, pe))
		return -EINVAL;
	if (iv != TRACE_VERSION)
		return perr_set(pe,
				"field \"version\": unsupported version %s (this netpollsim reads "
				"version %d)",
				num_text(j, tmp, sizeof(tmp)), TRACE_VERSION);
	in->version = (int)iv;
	if (get_text(o, "scenario", true, in->scenario, sizeof(in->scenario), pe) ||
	    get_text(o, "go", true, in->go_version, sizeof(in->go_version), pe) ||
	    get_text(o, "kernel", false, in->kernel, sizeof(in->kernel), pe) ||
	    get_text(o, "start", false, in->start, sizeof(in->start), pe) ||
	    get_text(o, "exe", false, in->exe, sizeof(in->exe), pe) ||
	    get_text(o, "gomaxprocs_from", false, in->gomaxprocs_from, sizeof(in->gomaxprocs_from),
		     pe))
		return -EINVAL;
	j = cJSON_GetObjectItemCaseSensitive(o, "gomaxprocs");
	if (!j)
		return perr_set(pe, "field \"gomaxprocs\": missing");
	if (get_int(j, "gomaxprocs", 1, 1 << 15, &iv, pe))
		return -EINVAL;
	in->gomaxprocs = (int)iv;
	j = cJSON_GetObjectItemCaseSensitive(o, "kernel_view");
	in->kernel_view = cJSON_IsTrue(j);
	if (j && !cJSON_IsBool(j))
		return perr_set(pe, "field \"kernel_view\": expected a boolean, got %s",
				json_type(j));
	j = cJSON_GetObjectItemCaseSensitive(o, "options");
	if (j && !cJSON_IsObject(j))
		return perr_set(pe, "field \"options\": expected an object, got %s", json_type(j));
	if (j && check_options(j, pe))
		return -EINVAL;
	const cJSON *pid = j ? cJSON_GetObjectItemCaseSensitive(j, "pid") : NULL;
	in->pid = cJSON_IsNumber(pid) ? (int)pid->valuedouble : 0; /* its range checked above */
	char *opts =
	    j ? print_exact((cJSON *)j) : NULL; /* after check_options: numbers as written */
	snprintf(in->options_json, sizeof(in->options_json), "%s",
		 opts && strlen(opts) < sizeof(in->options_json) ? opts : "{}");
	free(opts);
	/* the clock of every ts, the one the kernel's events are stamped with */
	j = cJSON_GetObjectItemCaseSensitive(o, "clock");
	if (cJSON_IsString(j) && strcmp(j->valuestring, "CLOCK_MONOTONIC"))
		return perr_set(pe, "field \"clock\": expected \"CLOCK_MONOTONIC\", got \"%s\"",
				quote(j->valuestring, tmp, sizeof(tmp)));
	if (j && !cJSON_IsString(j))
		return perr_set(pe, "field \"clock\": expected \"CLOCK_MONOTONIC\", got %s",
				json_type(j));
	uint64_t ws = 0;
	if (get_ns_string(o, "mono_origin_ns", true, &in->mono_origin, pe) ||
	    get_ns_string(o, "start_ns", false, &ws, pe))
		return -EINVAL;
	if (in->mono_origin > TRACE_ORIGIN_MAX)
		return perr_set(pe,
				"field \"mono_origin_ns\": %llu is out of range [0, %llu] (every "
				"time, origin plus ts, must fit a signed 64-bit CLOCK_MONOTONIC "
				"value)",
				(unsigned long long)in->mono_origin,
				(unsigned long long)TRACE_ORIGIN_MAX);
	in->wall_start_ns = (int64_t)ws;
	return 0;
}

static int parse_footer(struct trace_reader *r, const cJSON *o, struct perr *pe)
{
	struct trace_info *in = &r->info;
	const cJSON *j, *it;
	int64_t iv;
	char tmp[64];
	j = cJSON_GetObjectItemCaseSensitive(o, "events");
	if (!j)
		return perr_set(pe, "field \"events\": missing");
	if (get_int(j, "events", 0, TRACE_INT_MAX, &iv, pe))
		return -EINVAL;
	in->footer_events = (uint64_t)iv;
	j = cJSON_GetObjectItemCaseSensitive(o, "counts");
	if (!cJSON_IsObject(j))
		return perr_set(pe, "field \"counts\": expected an object, got %s",
				j ? json_type(j) : "nothing");
	cJSON_ArrayForEach(it, j)
	{
		int k = nps_kind_from_name(it->string);
		if (k <= 0)
			return perr_set(pe, "field \"counts\": unknown event kind %s",
					quote(it->string, tmp, sizeof(tmp)));
		if (get_int(it, "counts", 0, TRACE_INT_MAX, &iv, pe))
			return -EINVAL;
		in->footer_counts[k] = (uint64_t)iv;
	}
	j = cJSON_GetObjectItemCaseSensitive(o, "lost");
	if (!cJSON_IsObject(j))
		return perr_set(pe, "field \"lost\": expected an object, got %s",
				j ? json_type(j) : "nothing");
	for (int s = 1; s <= 2; s++) {
		it = cJSON_GetObjectItemCaseSensitive(j, nps_src_name((unsigned)s));
		if (it &&
		    get_int(it, s == 1 ? "lost.sim" : "lost.kernel", 0, TRACE_INT_MAX, &iv, pe))
			return -EINVAL;
		in->footer_lost[s] = it ? (uint64_t)iv : 0;
	}
	/* "late" (optional: traces written before it was counted have none) */
	j = cJSON_GetObjectItemCaseSensitive(o, "late");
	if (j && !cJSON_IsObject(j))
		return perr_set(pe, "field \"late\": expected an object, got %s", json_type(j));
	for (int s = 1; s <= 2 && j; s++) {
		it = cJSON_GetObjectItemCaseSensitive(j, nps_src_name((unsigned)s));
		if (it &&
		    get_int(it, s == 1 ? "late.sim" : "late.kernel", 0, TRACE_INT_MAX, &iv, pe))
			return -EINVAL;
		in->footer_late[s] = it ? (uint64_t)iv : 0;
	}
	j = cJSON_GetObjectItemCaseSensitive(o, "interrupted");
	if (j && get_int(j, "interrupted", 0, 128, &iv, pe))
		return -EINVAL;
	in->interrupted = j ? (int)iv : 0;
	/* "signal" names "interrupted" (the writer derives it): one may not say another signal */
	j = cJSON_GetObjectItemCaseSensitive(o, "signal");
	if (j) {
		char name[32], got[64];
		if (!cJSON_IsString(j))
			return perr_set(pe, "field \"signal\": expected a string, got %s",
					json_type(j));
		if (!in->interrupted || !nps_signal_name(in->interrupted, name, sizeof(name)) ||
		    strcmp(name, j->valuestring))
			return perr_set(pe, "field \"signal\": %s, but \"interrupted\" is %d (%s)",
					quote(j->valuestring, got, sizeof(got)), in->interrupted,
					in->interrupted &&
						nps_signal_name(in->interrupted, name, sizeof(name))
					    ? name
					    : "no signal");
	}
	if (get_text(o, "story", false, in->story, sizeof(in->story), pe))
		return -EINVAL;
	uint64_t we = 0;
	if (get_ns_string(o, "end_ns", false, &we, pe))
		return -EINVAL;
	in->wall_end_ns = (int64_t)we;
	in->has_footer = true;
	in->footer_line = r->lineno;
	return 0;
}

static int reader_init(struct trace_reader *r, const char *name)
{
	r->cap = RBUF_CHUNK * 2;
	r->buf = malloc(r->cap);
	if (!r->buf)
		return -ENOMEM;
	trace_sanitize(name, strlen(name), r->name, sizeof(r->name));
	const char *line;
	size_t len;
	bool complete;
	int rc;
	/* blank lines before the header are skipped, as they are everywhere else */
	while ((rc = rd_line(r, &line, &len, &complete)) == 1 && complete && blank(line, len))
		;
	if (rc == 0 || (rc == 1 && blank(line, len))) {
		rd_err(r, 0,
		       r->lineno ? "no header line: the file holds blank lines only"
				 : "empty file: no header line");
		return -ENODATA;
	}
	if (rc == -E2BIG)
		return rd_err(r, 1, "line longer than %u bytes (not a trace?)", TRACE_LINE_MAX);
	if (rc < 0) {
		rd_err(r, 0, "read failed: %s", strerror(-rc));
		return rc;
	}
	char msg[400];
	struct perr pe = {msg, sizeof(msg)};
	cJSON *o = parse_line(line, len, &pe);
	if (!o && !complete)
		return rd_err(r, r->lineno,
			      "header: cut short: the file ends inside the header line, after %zu "
			      "bytes (%s)",
			      len, msg);
	/* what `export --format chrome` writes, given back: say so, not "not valid JSON" */
	if (!o && (memmem(line, len, "\"traceEvents\"", 13) ||
		   memmem(line, len, "\"displayTimeUnit\"", 17)))
		return rd_err(r, r->lineno, "header: %s", chrome_doc);
	if (!o)
		return rd_err(r, r->lineno, "header: %s", msg);
	rc = parse_header(r, o, &pe);
	r->info.header_json = rc ? NULL : print_exact(o);
	cJSON_Delete(o);
	if (rc)
		return rd_err(r, r->lineno, "header: %s", msg);
	/* a whole header without its newline is read (not ignored): the file ends after it */
	return 0;
}

int trace_reader_open_mem(const void *buf, size_t len, const char *name, struct trace_reader **out)
{
	struct trace_reader *r = calloc(1, sizeof(*r));
	*out = r;
	if (!r)
		return -ENOMEM;
	r->fd = -1;
	r->mem = buf;
	r->memlen = len;
	return reader_init(r, name ? name : "<memory>");
}

int trace_reader_open(const char *path, struct trace_reader **out)
{
	struct trace_reader *r = calloc(1, sizeof(*r));
	*out = r;
	if (!r)
		return -ENOMEM;
	if (!strcmp(path, "-")) {
		r->fd = STDIN_FILENO;
		return reader_init(r, "<stdin>");
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		int e = errno;
		trace_sanitize(path, strlen(path), r->name, sizeof(r->name));
		rd_err(r, 0, "cannot open: %s", strerror(e));
		return -e;
	}
	r->own_fd = true;
	return reader_init(r, path);
}

static int reader_next(struct trace_reader *r, struct nps_event *e)
{
	if (r->iready < r->nready) {
		*e = r->ready[r->iready++];
		return 1;
	}
	for (;;) {
		const char *line;
		size_t len;
		bool complete;
		int rc = rd_line(r, &line, &len, &complete);
		if (rc == 0)
			return 0;
		if (rc == -E2BIG)
			return rd_err(r, r->lineno, "%sline longer than %u bytes: skipped",
				      r->after_footer ? "data after the footer: " : "",
				      TRACE_LINE_MAX);
		if (rc < 0) {
			rd_err(r, r->lineno, "read failed: %s", strerror(-rc));
			return rc;
		}
		if (blank(line, len))
			continue;
		if (r->after_footer) /* whatever it is, complete or cut short */
			return rd_err(r, r->lineno, "data after the footer (line %llu)",
				      (unsigned long long)r->info.footer_line);
		char msg[400];
		struct perr pe = {msg, sizeof(msg)};
		struct fast fp;
		const cJSON *fo = memchr(line, '\0', len) ? NULL : fast_parse(line, len, &fp);
		const cJSON *fcur = NULL;
		if (fo && member(fo, "ev", &fcur)) {
			r->nready = r->iready = 0;
			rc = parse_obj(fo, r->info.mono_origin, e, r->ready, TRACE_READY_MAX,
				       &r->nready, &pe);
			if (rc) {
				r->nready = 0;
				return rd_err(r, r->lineno, "%s", msg);
			}
			r->ev_line = r->lineno;
			return 1;
		}
		cJSON *o = parse_line(line, len, &pe);
		if (!o) {
			if (!complete) {
				r->info.truncated_line = true;
				return 0;
			}
			return rd_err(r, r->lineno, "%s", msg);
		}
		const cJSON *cur = NULL;
		bool is_event = member(o, "ev", &cur) != NULL;
		if (!is_event && cJSON_GetObjectItemCaseSensitive(o, "format")) {
			cJSON_Delete(o);
			return rd_err(r, r->lineno,
				      "a second header (traces cannot be concatenated)");
		}
		const cJSON *ft = is_event ? NULL : cJSON_GetObjectItemCaseSensitive(o, "footer");
		if (ft) {
			rc = cJSON_IsTrue(ft)
				 ? parse_footer(r, o, &pe)
				 : perr_set(&pe, "field \"footer\": expected true, got %s",
					    cJSON_IsFalse(ft) ? "false" : json_type(ft));
			r->info.footer_json = rc ? NULL : print_exact(o);
			cJSON_Delete(o);
			if (rc) {
				r->info.footer_bad =
				    true; /* there, but unreadable: not cut short */
				return rd_err(r, r->lineno, "footer: %s", msg);
			}
			r->after_footer = true;
			continue;
		}
		r->nready = r->iready = 0;
		rc = parse_obj(o, r->info.mono_origin, e, r->ready, TRACE_READY_MAX, &r->nready,
			       &pe);
		cJSON_Delete(o);
		if (rc) {
			r->nready = 0;
			return rd_err(r, r->lineno, "%s", msg);
		}
		r->ev_line = r->lineno;
		return 1;
	}
}

int trace_reader_next(struct trace_reader *r, struct nps_event *e)
{
	int rc = reader_next(r, e);
	if (rc == -EINVAL)
		r->skipped++;
	return rc;
}

/* Bad lines reported one by one at most: as in check, a file of garbage cannot flood stderr. */
#define SKIPPED_SHOWN 50

int trace_reader_next_skipping(struct trace_reader *r, struct nps_event *e, FILE *err)
{
	for (;;) {
		int rc = trace_reader_next(r, e);
		if (rc != -EINVAL)
			return rc;
		/* what was printed before goes out first: in a narration the error then stands
		 * where its line was, also when stdout and stderr are one file */
		fflush(stdout);
		if (r->skipped <= SKIPPED_SHOWN)
			fprintf(err, "%s\n", r->err);
		else if (r->skipped == SKIPPED_SHOWN + 1)
			fprintf(err,
				"%s: more unreadable lines follow, not shown (the count comes at "
				"the end)\n",
				r->name);
	}
}

uint64_t trace_reader_skipped(const struct trace_reader *r)
{
	return r->skipped;
}

const struct trace_info *trace_reader_info(const struct trace_reader *r)
{
	return &r->info;
}

const char *trace_reader_name(const struct trace_reader *r)
{
	return r->name;
}

uint64_t trace_reader_line(const struct trace_reader *r)
{
	return r->ev_line;
}

uint64_t trace_reader_lines(const struct trace_reader *r)
{
	return r->lineno - (r->info.truncated_line ? 1 : 0);
}

const char *trace_reader_cut_short(const struct trace_reader *r, char *buf, size_t len)
{
	if (r->info.has_footer || r->info.footer_bad)
		return NULL;
	snprintf(buf, len,
		 "the trace has no footer: it was cut short after line %llu%s (the recording was "
		 "killed, or its disk filled?)",
		 (unsigned long long)trace_reader_lines(r),
		 r->info.truncated_line ? ", in the middle of the next one" : "");
	return buf;
}

const char *trace_reader_error(const struct trace_reader *r)
{
	return r ? r->err : "out of memory";
}

const char *trace_reader_errmsg(const struct trace_reader *r, uint64_t *line)
{
	if (line)
		*line = r ? r->errline : 0;
	return r ? r->errmsg : "out of memory";
}

void trace_reader_close(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	free(r->info.header_json);
	free(r->info.footer_json);
	free(r->buf);
	free(r);
}
