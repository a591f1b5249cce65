/* SPDX-License-Identifier: MIT */
/*
 * How the simulated runtime writes the event log (docs/event-stream.md). Go's runtime/trace.go
 * plays the same role for Go's execution tracer: small emit functions called at the points
 * where state changes, writing into a per-M buffer with no global lock.
 *
 * Every function here is a no-op when the event log is off (nps_trace_on false) or when the
 * calling thread is not an M. Timestamps are taken inside the emit, at the point of the change,
 * so that events of different Ms that are causally ordered are also ordered in time.
 */
#ifndef NPS_SIM_TRACE_H
#define NPS_SIM_TRACE_H

#include "sim/runtime.h"
#include "traces/evring.h"

#include <string.h>

extern bool nps_trace_on;

/* Reserve an event on mp's ring with the header filled in; NULL when not logging. */
static inline struct nps_event *traceEv(struct m *mp, uint16_t kind, int32_t fd)
{
	if (!nps_trace_on || !mp || !mp->trace)
		return NULL;
	struct nps_event *e = evring_begin(mp->trace, kind);
	if (!e)
		return NULL;
	e->tid = (nps_u32)mp->procid;
	e->p = mp->p ? (nps_s16)mp->p->id : -1;
	e->g = (mp->gcur && mp->gcur != &mp->g0) ? mp->gcur->goid : 0;
	e->fd = fd;
	return e;
}

static inline void traceCommit(struct m *mp)
{
	evring_commit(mp->trace);
}

/* Drop an event begun with traceEv (it described a change that did not happen). */
static inline void traceCancel(struct m *mp, struct nps_event *e)
{
	if (e)
		evring_cancel(mp->trace);
}

/* The event-log value of pd.rg/wg: pdNil/pdReady/pdWait, or the G by goid. */
static inline nps_u64 trace_pdv(uintptr_t v)
{
	return v <= pdWait ? (nps_u64)v : NPS_PDV_G(((struct g *)v)->goid);
}

static inline void trace_gstatus(struct m *mp, struct g *gp, uint32_t from, uint32_t to, uint8_t fn,
				 uint8_t where, int32_t wherep)
{
	struct nps_event *e = traceEv(mp, NPS_EV_GSTATUS, -1);
	if (!e)
		return;
	e->u.gstatus.goid = gp->goid;
	e->u.gstatus.from = from;
	e->u.gstatus.to = to;
	e->u.gstatus.fn = fn;
	e->u.gstatus.where = where;
	e->u.gstatus.wakep = wherep;
	if (to == _Gwaiting) {
		e->u.gstatus.reason = gp->waitreason;
		e->u.gstatus.pd = mp->waitpd;
		e->u.gstatus.mode = mp->waitmode;
		if (mp->waitpd)
			e->fd = (nps_s32)pd_fd((struct pollDesc *)(uintptr_t)mp->waitpd);
	}
	traceCommit(mp);
}

static inline void trace_sched(struct m *mp, uint8_t op, int32_t m2, int32_t p2, int64_t n)
{
	struct nps_event *e = traceEv(mp, NPS_EV_SCHED, -1);
	if (!e)
		return;
	e->u.sched.op = op;
	e->u.sched.spinning = mp->spinning;
	e->u.sched.m2 = (nps_s16)m2;
	e->u.sched.p2 = (nps_s16)p2;
	e->u.sched.npidle = (nps_u32)atomic_load(&sched.npidle);
	e->u.sched.nmspinning = (nps_u32)atomic_load(&sched.nmspinning);
	e->u.sched.nmidle = (nps_u32)sched.nmidle;
	e->u.sched.n = n;
	traceCommit(mp);
}

/*
 * Syscalls are stamped when their effect can first be seen by another thread, so that the log
 * never shows an effect before its cause: a write, a close, an epoll_ctl or a break-pipe write
 * is stamped before it is made (trace_syscall_begin, then trace_syscall_end with the result:
 * the M emits nothing in between); a syscall that creates an fd (accept4, socket) is stamped
 * after, when the fd exists (trace_syscall).
 */
static inline struct nps_event *trace_syscall_begin(struct m *mp, int32_t fd)
{
	return traceEv(mp, NPS_EV_SYSCALL, fd);
}

static inline void trace_syscall_end(struct m *mp, struct nps_event *e, uint8_t op, int64_t ret,
				     uint64_t count, uint8_t fn)
{
	if (!e)
		return;
	e->u.sys.op = op;
	e->u.sys.ret = ret;
	e->u.sys.count = count;
	e->u.sys.fn = fn;
	traceCommit(mp);
}

static inline void trace_syscall(struct m *mp, int32_t fd, uint8_t op, int64_t ret, uint64_t count,
				 uint8_t fn)
{
	trace_syscall_end(mp, trace_syscall_begin(mp, fd), op, ret, count, fn);
}

static inline void trace_fderr(struct m *mp, int32_t fd, uint8_t err, int32_t errno_, uint8_t fn)
{
	struct nps_event *e = traceEv(mp, NPS_EV_FD_ERR, fd);
	if (!e)
		return;
	e->u.fderr.err = err;
	e->u.fderr.errno_ = errno_;
	e->u.fderr.fn = fn;
	traceCommit(mp);
}

/*
 * pd_open / pd_free / pd_evict / pd_deadline / pd_expire / pd_eventerr. Like syscalls, these are
 * stamped before the change others can observe (fdseq, atomicInfo) and filled in after it:
 * trace_pd_begin, change, trace_pd_end, with no other event emitted in between.
 */
struct nps_event *trace_pd_begin(struct m *mp, uint16_t kind, struct pollDesc *pd);
void trace_pd_end(struct m *mp, struct nps_event *e, struct pollDesc *pd, uint8_t mode, uint8_t fn,
		  uint8_t sub);
void trace_pd(struct m *mp, uint16_t kind, struct pollDesc *pd, uint8_t mode, uint8_t fn,
	      uint8_t sub);
void trace_timer(struct m *mp, uint8_t op, struct timer *t);

/*
 * A scenario's note for the narration ("client 3 sends 64 bytes"). Callable from any thread:
 * threads that are not Ms (the clients) write to a shared ring under a lock.
 */
void trace_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* NPS_SIM_TRACE_H */
