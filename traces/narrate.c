// SPDX-License-Identifier: MIT
/*
 * The narrator (traces/narrate.h): turns one event plus the fold's context into one line of
 * text, in Go's vocabulary (pdReady, pdWait, netpollblockcommit, ...). Kernel events are
 * narrated as the syscalls they are; once the join (traces/join.h) has set their id to the
 * netpoll call's, the epoll_wait line names that call, netpollready's line names the kernel
 * entry it serves, and the line of the goroutine made runnable tells the whole causal chain:
 * "epoll_pwait returned fd 7 IN → pd fd 7 rg: G12 → ready → G12 runnable on P0" (the fold
 * keeps the links: fold_chain_pd, fold_chain_g).
 */
#include "traces/narrate.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "traces/json.h"
#include "traces/names.h"

struct out {
	char *p;
	size_t len, n;
	bool ms; /* times in milliseconds, as the terminal layout's time column shows them */
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	if (o->n + 1 >= o->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(o->p + o->n, o->len - o->n, fmt, ap);
	va_end(ap);
	if (w > 0)
		o->n += (size_t)w < o->len - o->n ? (size_t)w : o->len - o->n - 1;
}

/*
 * s, then blanks to width columns (width < 0: blanks first, right-aligned), as "%-*s" ("%*s")
 * would put it (bytes, as printf counts them): the columns of every narrated line, without
 * printf's padding, a tenth of a headless replay's instructions.
 */
static void put_col(struct out *o, const char *s, int width)
{
	size_t n = strlen(s), w = (size_t)(width < 0 ? -width : width);
	size_t pad = n < w ? w - n : 0;
	if (o->n + n + pad + 1 >= o->len) {
		put(o, width < 0 ? "%*s" : "%-*s", (int)w, s); /* put cuts it as it fits */
		return;
	}
	if (width < 0) {
		memset(o->p + o->n, ' ', pad);
		o->n += pad;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
	if (width >= 0) {
		memset(o->p + o->n, ' ', pad);
		o->n += pad;
	}
	o->p[o->n] = '\0';
}

static const char *str_or(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

static const char *fn_of(unsigned fn)
{
	return str_or(nps_fn_name(fn), "?");
}

static const char *side(uint8_t mode)
{
	return mode == 'w' ? "wg" : "rg";
}

static const char *dir(uint8_t mode)
{
	return mode == 'w' ? "write" : mode == 'r' ? "read" : "read+write";
}

/*
 * A time since the origin as "[sign]S.uuuuuu" (seconds, the full layout) or "[sign]M.mmm"
 * (milliseconds, the terminal's): the sign next to the digits.
 */
static void format_rel(char *buf, size_t len, int64_t rel, const char *plus, bool ms)
{
	/* by hand, as snprintf's "%s%llu.%06llu" would: every narrated line has one */
	uint64_t a = rel < 0 ? -(uint64_t)rel : (uint64_t)rel, unit = ms ? 1000000 : 1000000000;
	uint64_t whole = a / unit, frac = a % unit / 1000;
	char tmp[48], *end = tmp + sizeof(tmp), *p = end;
	for (int i = 0; i < (ms ? 3 : 6); i++, frac /= 10)
		*--p = (char)('0' + frac % 10);
	*--p = '.';
	do
		*--p = (char)('0' + whole % 10);
	while (whole /= 10);
	for (const char *sign = rel < 0 ? "-" : plus, *q = sign + strlen(sign); q > sign;)
		*--p = *--q;
	size_t n = (size_t)(end - p) < len ? (size_t)(end - p) : len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

/*
 * A CLOCK_MONOTONIC time since the origin, in the unit of the time column, said as a time of
 * the trace ("at 100.588 ms"), not as a delay from now, which a "+" made it look like.
 */
static void put_when(struct out *o, int64_t t, uint64_t origin)
{
	char w[32];
	format_rel(w, sizeof(w), (int64_t)((uint64_t)t - origin), "", o->ms);
	put(o, "at %s %s", w, o->ms ? "ms" : "s");
}

static void put_deadline(struct out *o, const char *what, int64_t d, uint64_t origin)
{
	put(o, "%s ", what);
	if (d == 0)
		put(o, "none");
	else if (d < 0)
		put(o, "expired");
	else
		put_when(o, d, origin);
}

static void put_ret(struct out *o, int64_t ret)
{
	if (ret >= 0) {
		put(o, "= %lld", (long long)ret);
	} else {
		const char *n = ret > -4096 ? strerrorname_np((int)-ret) : NULL;
		put(o, "= -%s", str_or(n, "E?"));
	}
}

/* An epoll mask the short way the chain reads: "IN|OUT|RDHUP". */
static const char *mask_short(uint32_t events, char *buf, size_t len)
{
	char full[160];
	size_t n = 0;
	nps_epoll_mask_format(events, full, sizeof(full));
	for (const char *s = full; *s && n + 1 < len; s++) {
		if (!strncmp(s, "EPOLL", 5))
			s += 5;
		buf[n++] = *s;
		if (!*s)
			break;
	}
	buf[n < len ? n : len - 1] = '\0';
	return buf;
}

const char *narrate_epoll_mask_short(uint32_t events, char *buf, size_t len)
{
	return mask_short(events, buf, len);
}

/*
 * Go's taggedPointerUnpack on amd64 (runtime/tagptr_64bit.go): tagBits 19, the address << 3.
 * Go packs the address << 16, so a pollDesc (persistentalloc'd, far above 2^31) gives data of
 * 2^47 and more, which neither an fd number nor a plain pointer (as nginx's, with the same
 * mask) reaches.
 */
const char *narrate_span(uint64_t ns, char *buf, size_t len)
{
	/* one unit for every span under a millisecond: "0.001 ms" next to "0.8 us" read oddly */
	if (ns < 999950) /* what rounds to 1000.0 us is 1.000 ms */
		snprintf(buf, len, "%.1f us", (double)ns / 1e3);
	else
		snprintf(buf, len, "%.3f ms", (double)ns / 1e6);
	return buf;
}

const char *narrate_dur(uint64_t ns, char *buf, size_t len)
{
	char span[32];
	if (!ns)
		snprintf(buf, len, "(blocked time unknown)");
	else
		snprintf(buf, len, "after %s", narrate_span(ns, span, sizeof(span)));
	return buf;
}

const char *narrate_time(int64_t rel_ns, bool plus, char *buf, size_t len)
{
	format_rel(buf, len, rel_ns, plus ? "+" : "", false);
	return buf;
}

const char *narrate_ctl_why(int op, int64_t ret)
{
	/* Go: internal/poll FD.Init, "assume we are using blocking mode"; os.newFile goes on */
	if (op == NPS_EPOLL_CTL_ADD && ret == -EPERM)
		return "the fd does not support epoll: a regular file, a directory, /dev/null; Go "
		       "then does blocking I/O on it";
	return NULL;
}

const char *narrate_go_data(uint32_t events, uint64_t data, char *buf, size_t len)
{
	if (events != NPS_NETPOLL_EVENTS || data >> 47 == 0)
		return NULL;
	snprintf(buf, len, "pd 0x%llx fdseq %llu",
		 (unsigned long long)(uint64_t)(((int64_t)data >> 19) << 3),
		 (unsigned long long)(data & 0x7ffff));
	return buf;
}

static const char *wait_name(uint8_t sub)
{
	return str_or(nps_wait_sub_name(sub), "epoll_wait");
}

static void pd_state_text(struct out *o, const struct nps_event *e, const struct nps_fold *f)
{
	const struct fold_pd *p = fold_find_pd(f, e->u.pd_state.pd);
	uint64_t ready_from = !p			  ? NPS_PDV_NIL
			      : e->u.pd_state.mode == 'w' ? p->wg_ready_from
							  : p->rg_ready_from;
	const struct nps_ev_pd_state *s = &e->u.pd_state;
	char a[32], b[32], g[32];
	nps_pdv_goname(s->from, a, sizeof(a));
	nps_pdv_goname(s->to, b, sizeof(b));
	snprintf(g, sizeof(g), "G%llu", (unsigned long long)e->g);
	put(o, "%s %s → %s", side(s->mode), a, b);
	const char *gn = NPS_PDV_IS_G(s->from) ? a
			 : NPS_PDV_IS_G(s->to) ? b
			 : e->g		       ? g
					       : "the goroutine";
	switch (s->fn) {
	case NPS_FN_NETPOLLBLOCKCOMMIT:
		put(o, " (%s parks: IO wait)", b);
		break;
	case NPS_FN_NETPOLLBLOCK:
		if (s->to == NPS_PDV_WAIT)
			put(o, " (%s announces it will park)", gn);
		else if (s->from == NPS_PDV_READY && NPS_PDV_IS_G(ready_from))
			put(o, " (%s resumes: the readiness it was woken for)", gn);
		else if (s->from == NPS_PDV_READY && ready_from == NPS_PDV_WAIT)
			put(o, " (%s's commit failed: it takes the readiness)", gn);
		else if (s->from == NPS_PDV_READY)
			put(o, " (%s takes the readiness: no park)", gn);
		else
			put(o, " (%s does not park: an error is pending)", gn);
		break;
	case NPS_FN_NETPOLLREADY: {
		struct fold_chain ch;
		char m[160];
		if (NPS_PDV_IS_G(s->from))
			put(o, " (%s ready: I/O)", a);
		else if (s->from == NPS_PDV_WAIT)
			put(o, " (readiness during the announce: the commit will fail)");
		else
			put(o, " (readiness kept for the next %s)", dir(s->mode));
		if (fold_chain_pd(f, s->pd, s->mode, &ch))
			put(o, " ← %s ready[%u] fd %d %s", wait_name(ch.sub), ch.index, ch.fd,
			    mask_short(ch.events, m, sizeof(m)));
		break;
	}
	case NPS_FN_NETPOLLDEADLINEIMPL:
	case NPS_FN_POLLSETDEADLINE:
	case NPS_FN_POLLUNBLOCK: {
		const char *why = s->fn == NPS_FN_POLLUNBLOCK ? "close" : "deadline";
		const char *err = s->fn == NPS_FN_POLLUNBLOCK ? "use of closed network connection"
							      : "i/o timeout";
		/*
		 * netpollunblock wakes only a parked G: from pdWait it returns nil, and the
		 * goroutine that announced sees the error in netpollblock's recheck or when its
		 * commit fails (gopark then resumes it at once). e->g is the closer, or the timer's.
		 */
		if (s->from == NPS_PDV_WAIT)
			put(o,
			    " (%s during the announce: nobody to wake; the announcing goroutine "
			    "does "
			    "not stay parked, gets %s)",
			    why, err);
		else
			put(o, " (%s: %s woken, gets %s)", why, gn, err);
		break;
	}
	case NPS_FN_POLLRESET:
		/* prepareRead/prepareWrite: readiness is not trusted, the syscall will say */
		put(o, " (pending readiness cleared: the syscall is tried first)");
		break;
	case NPS_FN_POLLOPEN:
		put(o, " (new incarnation)");
		break;
	default:
		break;
	}
}

static void gstatus_text(struct out *o, const struct nps_event *e, const struct nps_fold *f)
{
	const struct nps_ev_gstatus *s = &e->u.gstatus;
	const char *from = str_or(nps_gstatus_name(s->from), "?");
	const char *to = str_or(nps_gstatus_name(s->to), "?");
	if (s->to == NPS_GRUNNABLE && (s->from == NPS_GDEAD || s->from == NPS_GIDLE)) {
		put(o, "G%llu created", (unsigned long long)s->goid);
		return;
	}
	put(o, "G%llu %s → %s", (unsigned long long)s->goid, from, to);
	if (s->to == NPS_GWAITING) {
		const struct fold_pd *p = s->pd ? fold_find_pd(f, s->pd) : NULL;
		put(o, " (%s", str_or(nps_waitreason_name(s->reason), "waiting"));
		if (p)
			put(o, " on fd %d %s", p->fd, dir(s->mode));
		put(o, ")");
	} else if (s->to == NPS_GRUNNABLE && s->where != NPS_RQ_NONE) {
		put(o, " (%s", str_or(nps_where_name(s->where), "?"));
		if (s->wakep >= 0 && s->where != NPS_RQ_GLOBAL)
			put(o, " of P%d", s->wakep);
		put(o, ")");
	} else if (s->to == NPS_GRUNNABLE) {
		put(o, " (runs next on this M)");
	} else if (s->to == NPS_GDEAD) {
		put(o, " (exits)");
	}
	struct fold_chain ch;
	if (s->to == NPS_GRUNNABLE && fold_chain_g(f, s->goid, &ch)) {
		/* the end of the chain the kernel started: tell it whole */
		char m[160], v[32];
		int16_t p = s->where == NPS_RQ_NONE	? e->p
			    : s->where == NPS_RQ_GLOBAL ? -1
							: s->wakep;
		put(o, ": %s returned fd %d %s → pd fd %d %s: %s → ready → G%llu runnable",
		    wait_name(ch.sub), ch.fd, mask_short(ch.events, m, sizeof(m)), ch.fd,
		    side(ch.mode), nps_pdv_format(ch.from, v, sizeof(v)),
		    (unsigned long long)s->goid);
		if (p >= 0)
			put(o, " on P%d", p);
		else if (s->where == NPS_RQ_GLOBAL)
			put(o, " on the global run queue");
	}
}

static void sched_text(struct out *o, const struct nps_event *e)
{
	const struct nps_ev_sched *s = &e->u.sched;
	switch (s->op) {
	case NPS_SCHED_ACQUIREP:
		put(o, "M%d takes P%d", e->m, s->p2);
		break;
	case NPS_SCHED_RELEASEP:
		put(o, "M%d gives up P%d", e->m, s->p2);
		break;
	case NPS_SCHED_STARTM:
		put(o, "start M%d for P%d%s", s->m2, s->p2, s->spinning ? " (spinning)" : "");
		break;
	case NPS_SCHED_NEWM:
		put(o, "new OS thread for M%d", s->m2);
		break;
	case NPS_SCHED_STOPM:
		put(o, "M%d sleeps (idle Ms %u)", e->m, s->nmidle);
		break;
	case NPS_SCHED_MWAKE:
		put(o, "M%d wakes with P%d", e->m, s->p2);
		break;
	case NPS_SCHED_HANDOFFP:
		put(o, "hand off P%d", s->p2);
		break;
	case NPS_SCHED_WAKEP:
		put(o, "idle P%d for a spinning M", s->p2);
		break;
	case NPS_SCHED_SPINNING:
		put(o, "M%d spins looking for work", e->m);
		break;
	case NPS_SCHED_UNSPIN:
		put(o, "M%d stops spinning", e->m);
		break;
	case NPS_SCHED_STEAL:
		put(o, "M%d steals %lld goroutine%s from P%d", e->m, (long long)s->n,
		    nps_plural((unsigned long long)s->n), s->p2);
		break;
	case NPS_SCHED_LASTPOLL:
		put(o, "M%d becomes the blocking poller (sched.lastpoll = 0)", e->m);
		break;
	case NPS_SCHED_MEXIT:
		put(o, "M%d exits", e->m);
		break;
	default:
		put(o, "%s", str_or(nps_sched_op_name(s->op), "sched"));
	}
}

static void pd_text(struct out *o, const struct nps_event *e, uint64_t origin)
{
	const struct nps_ev_pd *d = &e->u.pd;
	switch (e->kind) {
	case NPS_EV_PD_OPEN:
		put(o, "pollDesc 0x%llx for fd %d (fdseq %u%s)", (unsigned long long)d->pd, e->fd,
		    d->seq, e->sub == 1 ? ", fresh pollCache block" : "");
		break;
	case NPS_EV_PD_FREE:
		put(o, "pollDesc 0x%llx back on pollcache (fdseq now %u)",
		    (unsigned long long)d->pd, d->seq);
		break;
	case NPS_EV_PD_EVICT:
		/* the wake-ups, if a goroutine is parked, are the pd_state lines that follow */
		put(o, "fd %d closing: rseq and wseq bumped, any parked reader or writer is woken",
		    e->fd);
		break;
	case NPS_EV_PD_DEADLINE:
		put_deadline(o, "read deadline", d->rd, origin);
		put_deadline(o, ", write deadline", d->wd, origin);
		break;
	case NPS_EV_PD_EXPIRE:
		if (e->sub == 1)
			put(o, "stale deadline timer (seq mismatch): nothing changes");
		else
			put(o, "%s deadline expired", dir(d->mode));
		break;
	case NPS_EV_PD_EVENTERR:
		put(o, "eventErr %s (info 0x%x)", d->info & 2 ? "set" : "cleared", d->info);
		break;
	}
}

static void netpoll_text(struct out *o, const struct nps_event *e)
{
	const struct nps_ev_netpoll *n = &e->u.netpoll;
	/* the trace's name for findRunnable's second poll is no Go name: said in words */
	const char *who = n->caller == NPS_NPC_FINDRUNNABLE_BLOCK
			      ? "findRunnable (blocking poll)"
			      : str_or(nps_caller_name(n->caller), "?");
	if (e->kind == NPS_EV_NETPOLL_BEGIN) {
		if (n->waitms < 0) /* epoll_pwait's -1: no timeout */
			put(o, "netpoll #%llu by %s: epoll_pwait timeout -1 (blocks)",
			    (unsigned long long)n->id, who);
		else
			put(o, "netpoll #%llu by %s: epoll_pwait timeout %d ms%s",
			    (unsigned long long)n->id, who, n->waitms,
			    n->waitms == 0 ? " (non-blocking)" : "");
		return;
	}
	put(o, "netpoll #%llu returns: %d event%s, %u goroutine%s ready", (unsigned long long)n->id,
	    n->n, nps_plural((unsigned long long)n->n), n->ngs, nps_plural(n->ngs));
	if (n->delta)
		/* Go's name for it: netpoll returns delta, findRunnable's netpollAdjustWaiters adds it */
		put(o, ", netpollWaiters delta %+d", n->delta);
	if (n->eintr)
		put(o, " (EINTR)");
}

static void npev_text(struct out *o, const struct nps_event *e, const struct nps_fold *f)
{
	const struct nps_ev_netpoll_event *n = &e->u.npev;
	char mask[160];
	const struct fold_pd *p = n->pd ? fold_find_pd(f, n->pd) : NULL;
	nps_epoll_mask_format(n->events, mask, sizeof(mask));
	put(o, "netpoll #%llu: ", (unsigned long long)n->id);
	switch (n->action) {
	case NPS_NPEV_READY: {
		put(o, "fd %d %s → %s ready", p ? p->fd : -1, mask, dir(n->mode));
		/*
		 * A side already pdReady (an edge its goroutine has not consumed yet): Go's
		 * netpollunblock returns at once, so no netpollready line follows for it.
		 */
		bool r = n->mode != 'w' && p && !p->resync && p->rg == NPS_PDV_READY;
		bool w = n->mode != 'r' && p && !p->resync && p->wg == NPS_PDV_READY;
		if (r || w)
			put(o, " (%s already pdReady: netpollready leaves %s as %s)",
			    r && w ? "rg and wg"
			    : r	   ? "rg"
				   : "wg",
			    r && w ? "them" : "it", r && w ? "they are" : "it is");
		break;
	}
	case NPS_NPEV_STALE:
		put(o, "%s for an older incarnation (tag %u): ignored", mask,
		    (unsigned)(n->data & ((1u << 19) - 1)));
		break;
	case NPS_NPEV_BREAK_DRAIN:
		put(o, "break pipe readable: drain it");
		break;
	case NPS_NPEV_BREAK_LEAVE:
		put(o, "break pipe readable: left for the blocking poll");
		break;
	default:
		put(o, "%s skipped (%s)", mask, str_or(nps_npev_action_name(n->action), "?"));
	}
}

static void kernel_text(struct out *o, const struct nps_event *e, const struct nps_fold *f)
{
	char mask[160];
	switch (e->kind) {
	case NPS_EV_EPOLL_CTL:
		if (e->sub == NPS_CTL_SEEDED)
			put(o, "registered before tracing began (read from /proc): ");
		if (nps_ctl_op_name(e->u.ctl.op))
			put(o, "epoll_ctl(epfd %d, %s, fd %d", e->u.ctl.epfd,
			    nps_ctl_op_name(e->u.ctl.op), e->fd);
		else /* an op the kernel refused, as the program passed it */
			put(o, "epoll_ctl(epfd %d, op %d, fd %d", e->u.ctl.epfd, e->u.ctl.op,
			    e->fd);
		/*
		 * DEL ignores its event (CPython passes an uninitialised one): no mask shown. The
		 * data is what epoll_wait will return for the fd (Go: the pollDesc and its fdseq).
		 */
		if (e->u.ctl.op != NPS_EPOLL_CTL_DEL && e->sub == NPS_CTL_UNREAD)
			put(o, ", event at 0x%llx unreadable", (unsigned long long)e->u.ctl.data);
		else if (e->u.ctl.op != NPS_EPOLL_CTL_DEL)
			put(o, ", %s, data 0x%llx",
			    nps_epoll_mask_format(e->u.ctl.events, mask, sizeof(mask)),
			    (unsigned long long)e->u.ctl.data);
		put(o, ") ");
		put_ret(o, e->u.ctl.ret);
		if (narrate_ctl_why(e->u.ctl.op, e->u.ctl.ret))
			put(o, " (%s)", narrate_ctl_why(e->u.ctl.op, e->u.ctl.ret));
		/*
		 * A process seen from outside (netpollsim trace) has no netpollopen line to say
		 * whose registration this is: Go's mask tells, and its data is the pollDesc.
		 */
		if (fold_kernel_only(f) && e->u.ctl.op != NPS_EPOLL_CTL_DEL &&
		    e->sub != NPS_CTL_UNREAD &&
		    narrate_go_data(e->u.ctl.events, e->u.ctl.data, mask, sizeof(mask)))
			put(o, " (Go: %s)", mask);
		break;
	case NPS_EV_EPOLL_WAIT: {
		const struct nps_ev_wait *w = &e->u.wait;
		const char *err = w->ret < 0 && w->ret > -4096 ? strerrorname_np(-w->ret) : NULL;
		put(o, "%s(epfd %d, %d, ", wait_name(e->sub), w->epfd, w->maxevents);
		if (w->timeout_ms == NPS_WAIT_TIMEOUT_INVALID)
			put(o, "invalid timespec) returned ");
		else if (w->timeout_ms < 0) /* a teacher would read "-1 ms" as a duration */
			put(o, "%d: no timeout) returned ", w->timeout_ms);
		else
			put(o, "%d ms) returned ", w->timeout_ms);
		if (w->ret >= 0)
			put(o, "%d", w->ret);
		else
			put(o, "-%s", str_or(err, "E?"));
		char dur[40];

		put(o, " %s", narrate_dur(w->dur, dur, sizeof(dur)));
		if (!(w->id & NPS_KERNEL_ID_BIT)) {
			/* which M that thread is: the kernel knows tids, the lesson knows Ms */
			const struct fold_m *m = NULL;
			for (size_t i = 0; i < f->nms && !m; i++)
				if (f->ms[i].tid == e->tid && f->ms[i].netpoll_id == w->id)
					m = &f->ms[i];
			if (m)
				put(o, " (netpoll #%llu on M%d)", (unsigned long long)w->id, m->id);
			else
				put(o, " (netpoll #%llu)", (unsigned long long)w->id);
		}
		break;
	}
	case NPS_EV_EPOLL_READY:
		nps_epoll_mask_format(e->u.ready.events, mask, sizeof(mask));
		put(o, "  ready[%u]: ", e->u.ready.index);
		if (e->fd >= 0)
			put(o, "fd %d ", e->fd);
		put(o, "%s (data 0x%llx)", mask, (unsigned long long)e->u.ready.data);
		break;
	case NPS_EV_EPOLL_CREATE:
		put(o, "%s ", nps_epoll_create_call(e, mask, sizeof(mask)));
		put_ret(o, e->u.create.ret);
		break;
	case NPS_EV_EXEC: {
		char path[4 * NPS_PATH_LEN + 1];
		narrate_exec_path(e, path, sizeof(path));
		put(o, "%u exec'd %s", e->tid, path);
		if (e->u.exec.old_tid > 0 && (uint32_t)e->u.exec.old_tid != e->tid)
			put(o, " (execve called by thread %d)", e->u.exec.old_tid);
		break;
	}
	case NPS_EV_EXIT: {
		char how[64];
		put(o, "the process %s", narrate_exit_status(e, how, sizeof(how)));
		break;
	}
	}
}

const char *narrate_exit_status(const struct nps_event *e, char *buf, size_t len)
{
	char sig[32];
	if (e->u.exit.signal > 0 && !nps_signal_name(e->u.exit.signal, sig, sizeof(sig)))
		snprintf(sig, sizeof(sig), "signal %d", e->u.exit.signal); /* one with no name */
	if (e->u.exit.signal > 0)
		snprintf(buf, len, "was killed by %s%s", sig,
			 e->u.exit.core ? " (core dumped)" : "");
	else
		snprintf(buf, len, "exited with code %d", e->u.exit.code);
	return buf;
}

const char *narrate_exec_path(const struct nps_event *e, char *buf, size_t len)
{
	const char *path = nps_path_name(e->u.exec.path);
	if (!path)
		snprintf(buf, len, "(path unknown)");
	else
		trace_sanitize(path, strlen(path), buf, len);
	return buf;
}

/*
 * A timer event: its callback (what runs when it fires), its time as the time column shows it,
 * how far that is from the event ("in 1.000 ms", "0.323 ms ago": milliseconds in both
 * layouts), and the P whose heap holds it: "timer goroutineReady at 0.002482 (in 1.000 ms) on
 * P0". The function column names the timer function that made the change (timer_fn_column).
 */
static void timer_text(struct out *o, const struct nps_event *e, uint64_t origin)
{
	const struct nps_ev_timer *t = &e->u.timer;
	put(o, "timer");
	if (t->fn)
		put(o, " %s", fn_of(t->fn));
	if (t->when) {
		char at[32], d[32];
		int64_t delay = (int64_t)((uint64_t)t->when - e->ts);
		format_rel(at, sizeof(at), (int64_t)((uint64_t)t->when - origin), "", o->ms);
		format_rel(d, sizeof(d), delay < 0 ? -delay : delay, "", true);
		if (!strcmp(d, "0.000"))
			put(o, " at %s (now)", at);
		else
			put(o, " at %s (%s%s ms%s)", at, delay > 0 ? "in " : "", d,
			    delay > 0 ? "" : " ago");
	}
	if (t->tp >= 0)
		put(o, " on P%d", t->tp);
}

static void misc_text(struct out *o, const struct nps_event *e, const struct nps_fold *f,
		      uint64_t origin)
{
	char mask[160];
	switch (e->kind) {
	case NPS_EV_NETPOLL_BREAK:
		put(o, "%s",
		    e->u.brk.result == NPS_BRK_WROTE ? "wake the poller: one byte to the break pipe"
		    : e->u.brk.result == NPS_BRK_PENDING ? "a wake-up is already in flight"
							 : "break pipe full: a wake-up is pending");
		/* who asked: Go calls it from wakeNetPoller and findRunnable only */
		if (e->u.brk.fn == NPS_FN_MAIN)
			put(o,
			    " (the model's exit, so that its Ms leave: Go's exit(0) needs none)");
		else if (e->u.brk.fn)
			put(o, " (asked by %s)", fn_of(e->u.brk.fn));
		break;
	case NPS_EV_NETPOLL_DRAIN:
		put(o, "drained %lld byte%s from the break pipe", (long long)e->u.brk.ret,
		    nps_plural((unsigned long long)e->u.brk.ret));
		break;
	case NPS_EV_NETPOLLOPEN:
	case NPS_EV_NETPOLLCLOSE:
		nps_epoll_mask_format(e->u.ctl.events, mask, sizeof(mask));
		put(o, "epoll_ctl(%s, fd %d", str_or(nps_ctl_op_name(e->u.ctl.op), "?"), e->fd);
		if (e->kind == NPS_EV_NETPOLLOPEN)
			put(o, ", %s", mask);
		put(o, ") ");
		put_ret(o, e->u.ctl.ret);
		if (e->kind == NPS_EV_NETPOLLOPEN && e->u.ctl.ret)
			put(o, ": fd stays in blocking mode");
		break;
	case NPS_EV_TIMER:
		timer_text(o, e, origin);
		break;
	case NPS_EV_SYSMON:
		if (e->u.sysmon.op == NPS_SYSMON_WAKE)
			put(o, "sysmon wakes (slept %lld us)", (long long)e->u.sysmon.sleep);
		else if (e->u.sysmon.op == NPS_SYSMON_POLL)
			put(o, "sysmon: no poll for 10 ms, netpoll(0)");
		else
			put(o, "sysmon: all Ps idle, deep sleep");
		break;
	case NPS_EV_SYSCALL:
		put(o, "%s(fd %d", str_or(nps_sys_op_name(e->u.sys.op), "?"), e->fd);
		if (e->u.sys.count)
			put(o, ", %llu", (unsigned long long)e->u.sys.count);
		put(o, ") ");
		put_ret(o, e->u.sys.ret);
		/* the kernel's view of the break pipe: who made the call, in Go's words */
		if (e->src == NPS_SRC_KERNEL && e->u.sys.fn)
			put(o, " by %s", fn_of(e->u.sys.fn));
		break;
	case NPS_EV_FD_ERR:
		if (e->u.fderr.err == NPS_FDERR_ERRNO) {
			/*
			 * What Go prints for a syscall.Errno: its table's text, which is glibc's
			 * strerror in lower case ("broken pipe", "too many open files").
			 */
			char t[80];
			snprintf(t, sizeof(t), "%s", strerror(e->u.fderr.errno_));
			t[0] = (char)tolower((unsigned char)t[0]);
			put(o, "returns \"%s\" (%s)", t,
			    str_or(strerrorname_np(e->u.fderr.errno_), "E?"));
		} else {
			put(o, "returns \"%s\"", str_or(nps_fderr_name(e->u.fderr.err), "?"));
		}
		break;
	case NPS_EV_THROW:
		put(o, "fatal error: %s", str_or(nps_throw_msg(e->u.thr.msg), "?"));
		break;
	case NPS_EV_LOST:
		put(o, "LOST %llu %s event%s", (unsigned long long)e->u.lost.count,
		    str_or(nps_src_name(e->u.lost.source), "?"), nps_plural(e->u.lost.count));
		break;
	case NPS_EV_NOTE: {
		char t[4 * NPS_NOTE_MAX + 1];
		size_t n;
		const char *text = fold_note_text(f, e, &n);
		trace_sanitize(text, n, t, sizeof(t));
		put(o, "note: %s", t);
		break;
	}
	case NPS_EV_NETPOLLINIT:
		put(o, "epoll instance epfd %d, break pipe read end %d ← write end %d",
		    e->u.init.epfd, e->u.init.break_rd, e->u.init.break_wr);
		break;
	}
}

/*
 * The Go timer function that made a timer event's change (sim/time.c, Go 1.22's time.go). The
 * event does not say who called it; the op does: an add is doaddtimer's, whether addtimer or
 * modtimer (a timer that had run or was stopped: timeSleep's resettimer, a pollDesc's first
 * deadline) called it; a mod is modtimer's, a del deltimer's, a run runOneTimer's (Go's
 * runtimer calls it; sim/time.c's checkTimers, directly).
 */
static const char *timer_fn_column(uint8_t op)
{
	switch (op) {
	case NPS_TIMER_ADD:
		return "doaddtimer";
	case NPS_TIMER_MOD:
		return fn_of(NPS_FN_MODTIMER);
	case NPS_TIMER_DEL:
		return fn_of(NPS_FN_DELTIMER);
	case NPS_TIMER_RUN:
		return fn_of(NPS_FN_RUNONETIMER);
	default:
		return "timer";
	}
}

/* The Go function column (the kernel's syscall for kernel events). */
static const char *fn_column(const struct nps_event *e, const struct nps_fold *f)
{
	unsigned sub = e->kind == NPS_EV_EPOLL_READY ? fold_ready_sub(f, e) : e->sub;
	switch (e->kind) {
	case NPS_EV_PD_STATE:
		return fn_of(e->u.pd_state.fn);
	case NPS_EV_PD_OPEN:
		return "poll_runtime_pollOpen";
	case NPS_EV_PD_FREE:
		return "pollCache.free";
	case NPS_EV_PD_EVICT:
		return "poll_runtime_pollUnblock";
	case NPS_EV_PD_DEADLINE:
		return "poll_runtime_pollSetDeadline";
	case NPS_EV_PD_EXPIRE:
		return "netpolldeadlineimpl";
	case NPS_EV_PD_EVENTERR:
		return "pollDesc.setEventErr";
	case NPS_EV_GSTATUS:
		return fn_of(e->u.gstatus.fn);
	case NPS_EV_NETPOLL_BEGIN:
	case NPS_EV_NETPOLL_END:
	case NPS_EV_NETPOLL_EVENT:
	case NPS_EV_NETPOLL_DRAIN:
		return "netpoll";
	case NPS_EV_NETPOLL_BREAK:
		return "netpollBreak";
	case NPS_EV_NETPOLLOPEN:
		return "netpollopen";
	case NPS_EV_NETPOLLCLOSE:
		return "netpollclose";
	case NPS_EV_SCHED:
		return str_or(nps_sched_op_name(e->u.sched.op), "sched");
	case NPS_EV_TIMER:
		return timer_fn_column(e->u.timer.op);
	case NPS_EV_SYSMON:
		return "sysmon";
	case NPS_EV_SYSCALL:
		if (e->src == NPS_SRC_KERNEL) /* the probes' read/write of the break pipe */
			return e->u.sys.op == NPS_SYS_WRITE  ? "[kernel] write"
			       : e->u.sys.op == NPS_SYS_READ ? "[kernel] read"
							     : "[kernel] syscall";
		return e->u.sys.fn ? fn_of(e->u.sys.fn) : "syscall";
	case NPS_EV_FD_ERR:
		return e->u.fderr.fn ? fn_of(e->u.fderr.fn) : "internal/poll";
	case NPS_EV_THROW:
		return "throw";
	case NPS_EV_NETPOLLINIT:
		return "netpollinit";
	case NPS_EV_EPOLL_CTL:
		return "[kernel] epoll_ctl";
	case NPS_EV_EPOLL_WAIT:
	case NPS_EV_EPOLL_READY:
		return sub == NPS_WAIT_EPOLL_PWAIT2  ? "[kernel] epoll_pwait2"
		       : sub == NPS_WAIT_EPOLL_PWAIT ? "[kernel] epoll_pwait"
						     : "[kernel] epoll_wait";
	case NPS_EV_EPOLL_CREATE:
		return sub == NPS_CREATE_OLD ? "[kernel] epoll_create" : "[kernel] epoll_create1";
	case NPS_EV_EXEC:
	case NPS_EV_EXIT:
		return "[kernel]";
	case NPS_EV_LOST:
		return e->src == NPS_SRC_KERNEL ? "[kernel] lost" : "";
	default:
		return "";
	}
}

/*
 * The columns before the text. The full layout (width 0: a pipe or a file) is the one tests
 * and recordings compare byte for byte. The terminal's leaves 35 of 80 columns to the text, as
 * much as the short lines need ("rg pdWait → G1 (G1 parks: IO wait)") so most events stay one
 * line: milliseconds with 3 decimals (a lesson lasts about 100 ms), one-space gaps, who as wide
 * as "tid 12345" and "M2 P1 G12", and a function column as wide as the names the lessons turn on
 * (netpolldeadlineimpl, [kernel] epoll_pwait); a longer name (poll_runtime_pollSetDeadline)
 * pushes that line's text right, its continuation lines keep the column.
 */
struct layout {
	int when, who, fd, fn;
	const char *gap;
	bool ms;
};
static const struct layout full_layout = {11, 14, 6, 28, "  ", false};
static const struct layout term_layout = {7, 9, 5, 20, " ", true};

/*
 * Narrower than this, the columns before the function (time, who, fd: 24) cannot fit: the
 * terminal wraps what overflows.
 */
#define MIN_WIDTH 30
/* The fewest columns a continuation line leaves for the text: below it the indent shrinks. */
#define MIN_TEXT  20

static void trim(struct out *o)
{
	while (o->n && o->p[o->n - 1] == ' ')
		o->p[--o->n] = '\0';
}

/* Columns s[0..n) takes on a terminal: UTF-8 continuation bytes ("→") take none. */
static size_t cols(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* Bytes of s (n of them) that fill at most room columns, whole characters only. */
static size_t fit_bytes(const char *s, size_t n, size_t room)
{
	size_t i = 0, c = 0;
	while (i < n) {
		size_t k = i + 1;
		while (k < n && ((unsigned char)s[k] & 0xc0) == 0x80)
			k++;
		if (c + 1 > room)
			break;
		c++;
		i = k;
	}
	return i;
}

/*
 * Append s (one line of text) to o broken into lines of at most width columns: the first
 * continues a line already at column `at`, the others start at column `indent`. Breaks go at a
 * space (dropped) or after a '|' (in "EPOLLIN|EPOLLOUT"); a word wider than a whole line is
 * broken where the line ends, so nothing is ever cut. width 0: s as it is.
 */
/*
 * Is the space at s[i] glue, not a break: after "fd" ("fd 6"), "=" ("= 5") or "→": a line that
 * ends "(IO wait on fd" or "read(fd 7, 65536) =" leaves its reader to find the rest below.
 */
static bool glued(const char *s, size_t i)
{
	size_t w = i;
	while (w && s[w - 1] != ' ')
		w--;
	size_t wl = i - w;
	return (wl == 2 && !memcmp(s + w, "fd", 2)) || (wl == 3 && !memcmp(s + w, "(fd", 3)) ||
	       (wl == 1 && s[w] == '=') || (wl == 3 && !memcmp(s + w, "\xe2\x86\x92", 3));
}

static void put_wrapped(struct out *o, const char *s, size_t at, size_t indent, size_t width)
{
	size_t n = strlen(s), pos = at;
	if (!width) {
		put(o, "%s", s);
		return;
	}
	while (n) {
		size_t room = pos < width ? width - pos : 0;
		if (cols(s, n) <= room) {
			put(o, "%.*s", (int)n, s);
			return;
		}
		/* the last break that leaves the piece within room */
		size_t cut = 0, skip = 0;
		for (size_t i = 0; i < n; i++) {
			bool space = s[i] == ' ';
			size_t end = space ? i : i + 1;
			if ((!space && s[i] != '|') || (space && glued(s, i)))
				continue;
			if (cols(s, end) > room)
				break;
			if (end) {
				cut = end;
				skip = space;
			}
		}
		/* no break fits: a line further left may hold the word, else it is broken */
		if (!cut && pos <= indent) {
			cut = fit_bytes(s, n, room);
			if (!cut) /* room is never 0 here; still, never loop forever */
				cut = 1;
		}
		put(o, "%.*s", (int)cut, s);
		trim(o);
		put(o, "\n%*s", (int)indent, "");
		s += cut + skip;
		n -= cut + skip;
		while (n && *s == ' ') { /* a break leaves no blank at a line's start */
			s++;
			n--;
		}
		pos = indent;
	}
}

/* The continuation indent: the text column, or less when it would leave too little room. */
static size_t wrap_indent(size_t column, size_t width)
{
	return column + MIN_TEXT <= width ? column : width - MIN_TEXT;
}

static size_t clamp_width(unsigned width)
{
	return width && width < MIN_WIDTH ? MIN_WIDTH : width;
}

size_t narrate_event(const struct nps_event *e, const struct nps_fold *f, uint64_t origin,
		     unsigned width, char *buf, size_t len)
{
	const struct layout *l = width ? &term_layout : &full_layout;
	size_t wd = clamp_width(width);
	char text[NARRATE_LINE_MAX];
	struct out o = {text, sizeof(text), 0, l->ms};
	char who[48] = "", fd[16] = "";
	size_t wn = 0;
	if (!len)
		return 0;
	buf[0] = '\0';
	text[0] = '\0';
	if (e->kind == NPS_EV_WAITERS || (e->kind == NPS_EV_NOTE && (e->sub & NPS_NOTE_MORE)) ||
	    (e->kind == NPS_EV_SCHED &&
	     (e->u.sched.op == NPS_SCHED_PIDLEPUT || e->u.sched.op == NPS_SCHED_PIDLEGET)) ||
	    e->kind >= NPS_EV__COUNT || !nps_kind_name(e->kind))
		return 0;
	if (e->src == NPS_SRC_KERNEL) {
		/* a registration seeded from /proc was made by no thread the probes saw */
		if (e->kind == NPS_EV_EPOLL_CTL && e->sub == NPS_CTL_SEEDED)
			wn += (size_t)snprintf(who, sizeof(who), "/proc");
		else
			wn += (size_t)snprintf(who, sizeof(who), "tid %u", e->tid);
	} else {
		if (e->m >= 0)
			wn += (size_t)snprintf(who + wn, sizeof(who) - wn, "M%d ", e->m);
		if (e->p >= 0)
			wn += (size_t)snprintf(who + wn, sizeof(who) - wn, "P%d ", e->p);
		if (e->g)
			wn += (size_t)snprintf(who + wn, sizeof(who) - wn, "G%llu ",
					       (unsigned long long)e->g);
		if (wn)
			who[wn - 1] = '\0';
	}
	if (e->fd >= 0 && e->kind != NPS_EV_EPOLL_READY)
		snprintf(fd, sizeof(fd), "fd %d", e->fd);
	/* time since the origin: "   0.003000", "  -0.003000" (seconds) or "  3.000" (ms) */
	char when[32];
	format_rel(when, sizeof(when), (int64_t)(e->ts - origin), "", l->ms);
	switch (e->kind) {
	case NPS_EV_PD_STATE:
		pd_state_text(&o, e, f);
		break;
	case NPS_EV_PD_OPEN:
	case NPS_EV_PD_FREE:
	case NPS_EV_PD_EVICT:
	case NPS_EV_PD_DEADLINE:
	case NPS_EV_PD_EXPIRE:
	case NPS_EV_PD_EVENTERR:
		pd_text(&o, e, origin);
		break;
	case NPS_EV_GSTATUS:
		gstatus_text(&o, e, f);
		break;
	case NPS_EV_NETPOLL_BEGIN:
	case NPS_EV_NETPOLL_END:
		netpoll_text(&o, e);
		break;
	case NPS_EV_NETPOLL_EVENT:
		npev_text(&o, e, f);
		break;
	case NPS_EV_SCHED:
		sched_text(&o, e);
		break;
	case NPS_EV_EPOLL_CTL:
	case NPS_EV_EPOLL_WAIT:
	case NPS_EV_EPOLL_READY:
	case NPS_EV_EPOLL_CREATE:
	case NPS_EV_EXEC:
	case NPS_EV_EXIT:
		kernel_text(&o, e, f);
		break;
	default:
		misc_text(&o, e, f, origin);
	}
	struct out line = {buf, len, 0, l->ms};
	const char *fn = fn_column(e, f);
	size_t fn_at = (size_t)(l->when + (int)strlen(l->gap) + l->who + l->fd + 2);
	size_t column = fn_at + (size_t)l->fn + 1;
	/*
	 * Too narrow for the text column (under 65 columns): a text that does not fit after the
	 * function goes under it, from the function's column, so that every line of it starts
	 * at the same place (at 50 columns the text column would leave one word a line).
	 */
	bool narrow = wd && column + MIN_TEXT > wd;
	size_t indent = narrow ? wrap_indent(fn_at, wd) : wrap_indent(column, wd);
	put_col(&line, when, -l->when);
	put_col(&line, l->gap, 0);
	/*
	 * On a terminal a time of 1000 ms and more takes its extra columns from who's padding,
	 * then the fd's, so that the function and the text stay under the column names (from
	 * 10 s on, M, P, G and a two-digit fd all there, one column is still over).
	 */
	int over = (int)strlen(when) - l->when, ww = l->who, fw = l->fd;
	if (wd && over > 0)
		ww = l->who - over > (int)strlen(who) ? l->who - over : (int)strlen(who);
	put_col(&line, who, ww);
	put_col(&line, " ", 0);
	size_t fd_at =
	    fn_at - (size_t)l->fd - 1; /* and what who could not give, the fd's padding */
	if (wd && line.n > fd_at)
		fw = l->fd - (int)(line.n - fd_at) > (int)strlen(fd) ? l->fd - (int)(line.n - fd_at)
								     : (int)strlen(fd);
	put_col(&line, fd, fw);
	put_col(&line, " ", 0);
	if (narrow && !*fn) { /* a note: its text where a function goes, or under it */
		if (line.n <= indent) {
			put(&line, "%*s", (int)(indent - line.n), "");
		} else {
			trim(&line);
			put(&line, "\n%*s", (int)indent, "");
		}
		put_wrapped(&line, text, indent, indent, wd);
	} else if (wd && !narrow && strlen(fn) > (size_t)l->fn &&
		   line.n + strlen(fn) < column + 20) {
		/*
		 * A name wider than its column (poll_runtime_pollUnblock, [kernel] epoll_create1):
		 * the text starts on the next line, at the text column, as its continuations do.
		 */
		put(&line, "%s\n%*s", fn, (int)indent, "");
		put_wrapped(&line, text, indent, indent, wd);
	} else if (narrow && line.n + strlen(fn) <= wd && column + cols(text, strlen(text)) > wd) {
		put(&line, "%s\n%*s", fn, (int)indent, "");
		put_wrapped(&line, text, indent, indent, wd);
	} else if (wd && line.n + strlen(fn) > wd) {
		/*
		 * A narrow terminal and a long name (poll_runtime_pollSetDeadline): the name would
		 * overflow the first line, so it gets a line of its own, further left if it must
		 * (never broken: MIN_WIDTH leaves room for the longest), and the text follows.
		 */
		size_t fl = strlen(fn), at = indent + fl <= wd ? indent : wd > fl + 2 ? wd - fl : 2;
		trim(&line);
		put(&line, "\n%*s%s\n%*s", (int)at, "", fn, (int)indent, "");
		put_wrapped(&line, text, indent, indent, wd);
	} else {
		put_col(&line, fn, l->fn);
		put_col(&line, " ", 0);
		put_wrapped(&line, text, line.n, indent, wd);
	}
	trim(&line);
	return line.n;
}

size_t narrate_header(unsigned width, bool kernel_only, char *buf, size_t len)
{
	const struct layout *l = &term_layout;
	size_t wd = clamp_width(width);
	size_t column = (size_t)(l->when + (int)strlen(l->gap) + l->who + l->fd + l->fn + 3);
	if (!width || !len)
		return 0;
	/* as the lines below it: what happened beside the function, or (narrow) under it */
	int n = snprintf(buf, len, "%*s%s%-*s %-*s %-*s %s", l->when, "ms", l->gap, l->who, "who",
			 l->fd, "fd", l->fn, kernel_only ? "system call" : "Go function",
			 column + MIN_TEXT > wd ? "" : "what happened");
	size_t k = n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
	if (k > wd) /* under 35 columns the names have lines of their own: no column for them */
		k = (size_t)(l->when + (int)strlen(l->gap) + l->who + 1 + l->fd);
	while (k && buf[k - 1] == ' ')
		k--;
	buf[k] = '\0';
	return k;
}

size_t narrate_verdict(const struct fold_verdict *v, unsigned width, char *buf, size_t len)
{
	struct out o = {buf, len, 0, false};
	char t[sizeof(v->text) * 4], text[NARRATE_LINE_MAX];
	if (!len)
		return 0;
	buf[0] = '\0';
	trace_sanitize(v->text, strnlen(v->text, sizeof(v->text)), t, sizeof(t));
	snprintf(text, sizeof(text), "%s: %s: %s",
		 v->level == FOLD_VIOLATION ? "check VIOLATION" : "check note",
		 v->rule ? v->rule : "?", t);
	/* under the event it is about; its own continuation lines two columns further in */
	put(&o, "            ");
	put_wrapped(&o, text, o.n, 14, clamp_width(width));
	return o.n;
}

size_t narrate_fit_text(const char *s, size_t n, unsigned width, char *buf, size_t len)
{
	struct out o = {buf, len, 0, false};
	size_t wd = clamp_width(width);
	char line[NARRATE_LINE_MAX];
	if (!len)
		return 0;
	buf[0] = '\0';
	if (!width) {
		put(&o, "%.*s", (int)n, s);
		return o.n;
	}
	while (n) {
		const char *nl = memchr(s, '\n', n);
		size_t ln = nl ? (size_t)(nl - s) : n, lead = strspn(s, " ");
		snprintf(line, sizeof(line), "%.*s", (int)ln, s);
		/* a summary's "  name: a, b, c" continues under its items */
		put_wrapped(&o, line, 0, lead + 4 < wd ? lead + 4 : 0, wd);
		if (nl)
			put(&o, "\n");
		s += ln + (nl != NULL);
		n -= ln + (nl != NULL);
	}
	return o.n;
}

/* The summary's goroutine, pollDesc and netpoll lines. */
static void summary_runtime(FILE *out, const struct nps_fold *f)
{
	const struct fold_stats *s = &f->st;
	uint64_t waiting = 0, runnable = 0, running = 0;
	for (size_t i = 0; i < f->ngs; i++) {
		waiting += f->gs[i].status == NPS_GWAITING;
		runnable += f->gs[i].status == NPS_GRUNNABLE;
		running += f->gs[i].status == NPS_GRUNNING;
	}
	fprintf(out,
		"  goroutines: %llu created, %llu live (%llu running, %llu runnable, %llu waiting, "
		"%llu of them in IO wait)\n",
		(unsigned long long)s->goroutines_total, (unsigned long long)s->goroutines_live,
		(unsigned long long)running, (unsigned long long)runnable,
		(unsigned long long)waiting, (unsigned long long)s->parked_io);
	fprintf(out, "  pollDescs: %llu in use, %llu free (%llu registered with epoll)\n",
		(unsigned long long)s->pds_open, (unsigned long long)s->pds_free,
		(unsigned long long)s->fds_registered);
	fprintf(out,
		"  netpoll: %llu call%s (%llu blocking, %llu non-blocking), %llu event%s handled, "
		"%llu netpollBreak wake-up%s",
		(unsigned long long)s->netpolls, nps_plural(s->netpolls),
		(unsigned long long)s->netpolls_blocking,
		(unsigned long long)(s->netpolls - s->netpolls_blocking),
		(unsigned long long)s->netpoll_events, nps_plural(s->netpoll_events),
		(unsigned long long)s->breaks, nps_plural(s->breaks));
	/* the runtime's line counts every write to the pipe: say where the others come from */
	if (s->breaks_exit)
		fprintf(out, " (and %llu by the model's exit)", (unsigned long long)s->breaks_exit);
	fputc('\n', out);
}

/* The summary's wake-up and kernel/runtime agreement lines. */
static void summary_wakes_and_joins(FILE *out, const struct fold_stats *s)
{
	fprintf(out,
		"  wake-ups: %llu I/O, %llu deadline, %llu close, %llu past SetDeadline, %llu "
		"other (sleep, semaphore)\n",
		(unsigned long long)s->wakes[FOLD_WAKE_IO],
		(unsigned long long)s->wakes[FOLD_WAKE_TIMEOUT],
		(unsigned long long)s->wakes[FOLD_WAKE_CLOSE],
		(unsigned long long)s->wakes[FOLD_WAKE_SETDEADLINE],
		(unsigned long long)s->wakes[FOLD_WAKE_OTHER]);
	if (s->kernel_events) {
		fprintf(
		    out,
		    "  kernel/runtime agreement: %llu of %llu ready events produced the expected "
		    "pollDesc change, %llu of %llu goroutines they woke were made runnable\n",
		    (unsigned long long)s->fidelity_ok, (unsigned long long)s->fidelity_checked,
		    (unsigned long long)s->fidelity_wakes_ok,
		    (unsigned long long)s->fidelity_wakes_checked);
		fprintf(
		    out,
		    "  kernel/runtime joins: %llu of %llu epoll_wait ready lists match netpoll, "
		    "%llu of %llu netpollopen/netpollclose match the kernel's epoll_ctl, %llu "
		    "epoll wait%s not linked to a netpoll call\n",
		    (unsigned long long)s->lists_ok, (unsigned long long)s->lists_checked,
		    (unsigned long long)s->ctl_ok, (unsigned long long)s->ctl_checked,
		    (unsigned long long)s->waits_unjoined, nps_plural(s->waits_unjoined));
	}
}

/* " (2 ready-before-park, 1 commit-failed)": a live run without --narrate shows no verdict */
static void summary_rules(FILE *out, const struct fold_stats *s, int level)
{
	uint64_t named = 0, all = level == FOLD_NOTE ? s->notes : s->violations;
	for (int i = 0; i < FOLD_RULES_KEPT && s->by_rule[i].rule; i++) {
		if (s->by_rule[i].level != level)
			continue;
		fprintf(out, "%s%llu %s", named ? ", " : " (", (unsigned long long)s->by_rule[i].n,
			s->by_rule[i].rule);
		named += s->by_rule[i].n;
	}
	if (named && all > named)
		fprintf(out, ", %llu by other rules", (unsigned long long)(all - named));
	if (named)
		fputc(')', out);
}

void narrate_summary(FILE *out, const struct nps_fold *f, uint64_t span_ns)
{
	const struct fold_stats *s = &f->st;
	uint64_t dur = f->last_ts - f->first_ts;
	fprintf(out, "summary: %llu event%s over %llu.%06llu s", (unsigned long long)s->events,
		nps_plural(s->events), (unsigned long long)(dur / 1000000000),
		(unsigned long long)(dur % 1000000000 / 1000));
	/* a trace of 10 s whose last event came at 0.8 s: "over 0.8 s" alone hid the quiet rest */
	uint64_t slack = dur / 10 > 10000000 ? dur / 10 : 10000000;
	if (span_ns > dur + slack)
		fprintf(out, ", in a recording of %.3f s", (double)span_ns / 1e9);
	fputc('\n', out);
	/* netpollsim trace's view of another process: the runtime's lines would all say 0 */
	bool kernel_only = fold_kernel_only(f);
	if (kernel_only)
		fprintf(out, "  runtime: none seen (the kernel's view of a process: 'netpollsim "
			     "trace')\n");
	else
		summary_runtime(out, f);
	if (s->kernel_events) {
		fprintf(out,
			"  kernel: %llu epoll wait%s seen by the probes, %llu fd%s in the interest "
			"set",
			(unsigned long long)s->epoll_waits, nps_plural(s->epoll_waits),
			(unsigned long long)s->interest, nps_plural(s->interest));
		/* the pollDesc line counts netpollopen's fds: say why the two differ */
		size_t brk = fold_interest_breaks(f);
		if (brk)
			fprintf(out,
				brk == s->interest ? " (the break pipe)"
						   : " (%zu of them the break pipe)",
				brk);
		/* how often the poller was woken early: timers, or work for an idle P */
		if (s->kbreak_writes || s->kbreak_reads)
			fprintf(out,
				", %llu write%s to the break pipe (netpollBreak) and %llu read%s "
				"(netpoll's drain)",
				(unsigned long long)s->kbreak_writes, nps_plural(s->kbreak_writes),
				(unsigned long long)s->kbreak_reads, nps_plural(s->kbreak_reads));
		fputc('\n', out);
	} else if (kernel_only)
		fprintf(out, "  kernel: no epoll call seen\n");
	else if (fold_kernel_view(f))
		fprintf(out, "  kernel: no kernel events: the probes were on but saw no epoll call "
			     "of this process\n");
	else
		fprintf(out, "  kernel: no kernel events (the probes were off)\n");
	if (!kernel_only)
		summary_wakes_and_joins(out, s);
	/* Late: delivered after events stamped later than them (traces/livemerge.h). */
	fprintf(out,
		"  lost events: %llu sim, %llu kernel; late events (out of time order): %llu sim, "
		"%llu kernel\n",
		(unsigned long long)s->lost[1], (unsigned long long)s->lost[2],
		(unsigned long long)s->late[1], (unsigned long long)s->late[2]);
	fprintf(out, "  verdicts: %llu note%s", (unsigned long long)s->notes, nps_plural(s->notes));
	summary_rules(out, s, FOLD_NOTE);
	fprintf(out, ", %llu violation%s", (unsigned long long)s->violations,
		nps_plural(s->violations));
	summary_rules(out, s, FOLD_VIOLATION);
	fputc('\n', out);
}
