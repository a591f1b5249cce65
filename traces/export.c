// SPDX-License-Identifier: MIT
/*
 * The exporters (traces/export.h). The Chrome exporter streams: it folds each event (the same
 * fold as the checker and the narrator) and turns state changes into X slices, emitted when each
 * slice ends, which is also when it is known whether a flow continues from it. A flow therefore
 * carries flow_out only when its next step really exists, and every bind_id has a direction.
 *
 * Lanes (Chrome "threads") get process-wide unique tids, numbered as they appear, because
 * Perfetto keys threads by tid alone and would split a tid reused across processes.
 */
#include "traces/export.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "traces/fold.h"
#include "traces/json.h"
#include "traces/names.h"
#include "traces/narrate.h"

enum {
	PID_PD = 1,
	PID_G,
	PID_M,
	PID_KERNEL,
	PID_COUNTERS
};
static const char *const pid_names[] = {
    [PID_PD] = "pollDescs (rg/wg)",	 [PID_G] = "goroutines",
    [PID_M] = "Ms (OS threads)",	 [PID_KERNEL] = "kernel (eBPF)",
    [PID_COUNTERS] = "netpoll counters",
};
static const char *const pid_cats[] = {
    [PID_PD] = "pollDesc",   [PID_G] = "goroutine",	 [PID_M] = "M",
    [PID_KERNEL] = "kernel", [PID_COUNTERS] = "counter",
};

#define KCHILD_MAX 256
#define NCOUNTERS  4

struct slice {
	bool on;
	bool fin, succ; /* flow_in; a next step consumed the flow (flow_out) */
	uint64_t start;
	uint64_t flow; /* bind_id, 0 none */
	uint64_t pd;   /* netpoll child: the pollDesc it readies */
	char name[64];
	char args[256];
};

struct lane {
	int idx, pid, tid;
	long sort;
	char name[96];
	struct slice cur, child;
	/* an M's goroutine, cut by a netpoll that goroutine made, drawn again when it returns */
	struct slice paused;
	/*
	 * Where the next slice may start: the end of the last slice (floor) and of the current
	 * one's last child (cfloor). A trace whose events are out of time order (late events)
	 * would otherwise give slices that overlap without nesting, which Perfetto drops.
	 */
	uint64_t floor, cfloor;
	/* a kernel lane: its last epoll_wait slice, which holds the ready entries that follow */
	uint64_t kstart, kend, kid;
	uint32_t kn;
};

/* A kernel epoll_wait entry waiting to be matched with the runtime's netpoll_event. */
struct kchild {
	uint64_t start, end; /* its place inside its epoll_wait slice */
	uint64_t id, data;
	uint32_t events, index;
	int32_t fd;
	int lane;
};

/* A flow waiting for its next step on a goroutine. */
struct gin {
	uint64_t flow;
	int lane; /* the lane whose current slice holds the flow */
};

struct ex {
	FILE *out;
	uint64_t base;
	bool any;
	bool markers; /* anything on PID_COUNTERS: a counter or a global instant */
	struct nps_fold f;
	struct lane **lanes; /* each allocated apart: pointers stay valid as lanes are added */
	size_t nlanes, cap_lanes;
	int *pdl, *gl, *ml; /* lane index + 1, by fold index (pd: 2*index + side) */
	int *gml;	    /* by fold g index: the M lane showing it running, + 1 */
	size_t cap_pdl, cap_gl, cap_ml, cap_gml;
	struct gin *gin; /* by fold g index */
	size_t cap_gin;
	struct {
		uint32_t tid;
		int lane;
	} * kl;
	size_t nkl, cap_kl;
	struct kchild kc[KCHILD_MAX];
	size_t nkc;
	uint64_t next_flow;
	uint64_t counters[NCOUNTERS];
	unsigned counters_set; /* bit i: counter i emitted */
	bool runtime_seen;     /* an event of the runtime (not a loss) */
	int err;
};

static const char *const counter_names[NCOUNTERS] = {
    "parked_goroutines",
    "registered_fds",
    "netpoll_waiters",
    "lost_events",
};

/* ---- output ---- */

__attribute__((format(printf, 2, 3))) static void emit(struct ex *x, const char *fmt, ...)
{
	va_list ap;
	fputs(x->any ? ",\n" : "\n", x->out);
	x->any = true;
	va_start(ap, fmt);
	vfprintf(x->out, fmt, ap);
	va_end(ap);
}

/* Microseconds since the first event, 3 decimals (ns precision). */
static const char *us(const struct ex *x, uint64_t ts, char *buf, size_t len)
{
	uint64_t rel = ts > x->base ? ts - x->base : 0;
	snprintf(buf, len, "%llu.%03llu", (unsigned long long)(rel / 1000),
		 (unsigned long long)(rel % 1000));
	return buf;
}

/* A JSON string body from trusted-or-sanitised text: quotes and backslashes escaped. */
static void jcopy(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	for (; *src && o + 3 < len; src++) {
		unsigned char c = (unsigned char)*src;
		if (c == '"' || c == '\\')
			dst[o++] = '\\';
		dst[o++] = c < 0x20 ? '?' : (char)c;
	}
	dst[o] = '\0';
}

/*
 * A slice lasts at least 1 ns: Perfetto stacks a zero-duration slice on top of the next one that
 * starts at the same time (its slice tracker closes a slice only once time has passed), so two
 * steps stamped in the same ns would show as parent and child. Returns its end.
 */
static uint64_t emit_slice(struct ex *x, const struct lane *l, const struct slice *s, uint64_t end)
{
	char a[32], flow[96] = "";
	uint64_t start = s->start < x->base ? x->base : s->start;
	if (end <= start)
		end = start + 1;
	uint64_t dur = end - start;
	if (s->flow && (s->fin || s->succ))
		snprintf(flow, sizeof(flow), ",\"bind_id\":%llu%s%s", (unsigned long long)s->flow,
			 s->fin ? ",\"flow_in\":true" : "", s->succ ? ",\"flow_out\":true" : "");
	emit(x,
	     "{\"ph\":\"X\",\"name\":\"%s\",\"cat\":\"%s\",\"pid\":%d,\"tid\":%d,\"ts\":%s,"
	     "\"dur\":%llu.%03llu,\"args\":{%s}%s}",
	     s->name, pid_cats[l->pid], l->pid, l->tid, us(x, start, a, sizeof(a)),
	     (unsigned long long)(dur / 1000), (unsigned long long)(dur % 1000), s->args, flow);
	return end;
}

static void emit_instant(struct ex *x, const struct lane *l, uint64_t ts, const char *name,
			 const char *args)
{
	char a[32];
	if (l)
		emit(x,
		     "{\"ph\":\"i\",\"s\":\"t\",\"name\":\"%s\",\"cat\":\"%s\",\"pid\":%d,\"tid\":%"
		     "d,"
		     "\"ts\":%s,\"args\":{%s}}",
		     name, pid_cats[l->pid], l->pid, l->tid, us(x, ts, a, sizeof(a)), args);
	else if ((x->markers = true))
		emit(x,
		     "{\"ph\":\"i\",\"s\":\"g\",\"name\":\"%s\",\"cat\":\"marker\",\"pid\":%d,"
		     "\"tid\":0,"
		     "\"ts\":%s,\"args\":{%s}}",
		     name, PID_COUNTERS, us(x, ts, a, sizeof(a)), args);
}

/* ---- lanes ---- */

static int *slot(int **arr, size_t *cap, size_t i)
{
	if (i >= *cap) {
		size_t nc = *cap ? *cap : 64;
		while (nc <= i)
			nc *= 2;
		int *n = realloc(*arr, nc * sizeof(int));
		if (!n)
			return NULL;
		memset(n + *cap, 0, (nc - *cap) * sizeof(int));
		*arr = n;
		*cap = nc;
	}
	return &(*arr)[i];
}

static int lane_new(struct ex *x, int pid, long sort, const char *name)
{
	if (x->nlanes == x->cap_lanes) {
		size_t nc = x->cap_lanes ? x->cap_lanes * 2 : 64;
		struct lane **n = realloc(x->lanes, nc * sizeof(*n));
		if (!n) {
			x->err = -ENOMEM;
			return -1;
		}
		x->lanes = n;
		x->cap_lanes = nc;
	}
	struct lane *l = calloc(1, sizeof(*l));
	if (!l) {
		x->err = -ENOMEM;
		return -1;
	}
	x->lanes[x->nlanes] = l;
	l->idx = (int)x->nlanes;
	l->pid = pid;
	l->tid = (int)x->nlanes + 1;
	l->sort = sort;
	snprintf(l->name, sizeof(l->name), "%s", name);
	return (int)x->nlanes++;
}

static struct lane *lane_at(struct ex *x, int i)
{
	return i >= 0 ? x->lanes[i] : NULL;
}

/* The lane of a fold entity: arr[idx] holds lane+1; created on first use. */
static int lane_of(struct ex *x, int **arr, size_t *cap, size_t idx, int pid, long sort,
		   const char *name)
{
	int *s = slot(arr, cap, idx);
	if (!s) {
		x->err = -ENOMEM;
		return -1;
	}
	if (!*s) {
		int l = lane_new(x, pid, sort, name);
		if (l < 0)
			return -1;
		*s = l + 1;
	}
	return *s - 1;
}

/*
 * Go's pollCache hands a freed pollDesc to the next fd opened, so one pollDesc lane can serve
 * several fds in turn: its name lists each, "pd 0x... rg (fd 47, 46)" (", ..." once it is
 * full), so that a wake-up of fd 46 is not seen landing on a lane that says fd 47. The names
 * are emitted at the end (emit_metadata), when every fd is known.
 */
static bool fd_listed(const char *list, const char *num)
{
	size_t n = strlen(num);
	for (const char *at = list; at; at = strchr(at, ',')) {
		at += *at == ',' ? 2 : 0; /* past ", " */
		if (!strncmp(at, num, n) && (at[n] == ',' || at[n] == ')'))
			return true;
	}
	return false;
}

static void lane_add_fd(struct lane *l, int fd)
{
	char num[16];
	size_t len = strlen(l->name), cap = sizeof(l->name);
	const char *list = strstr(l->name, " (fd ");
	snprintf(num, sizeof(num), "%d", fd);
	if (!list || l->name[len - 1] != ')' || fd_listed(list + 5, num) ||
	    (len >= 6 && !strcmp(l->name + len - 6, ", ...)")))
		return;
	if (len + strlen(num) + 2 + 5 < cap) /* and room left for ", ...)" */
		snprintf(l->name + len - 1, cap - len + 1, ", %s)", num);
	else if (len + 5 < cap)
		snprintf(l->name + len - 1, cap - len + 1, ", ...)");
}

/*
 * fd: the event's, which names the fd before the fold's pollDesc knows it (pollOpen resets rg/wg
 * before its pd_open); -1 adds none.
 */
static int pd_lane(struct ex *x, uint64_t pd, int side, int fd)
{
	const struct fold_pd *p = fold_find_pd(&x->f, pd);
	char name[96];
	if (!p)
		return -1;
	size_t i = (size_t)(p - x->f.pds);
	if (fd < 0)
		fd = p->fd;
	snprintf(name, sizeof(name), "pd 0x%llx %s (fd %d)", (unsigned long long)pd,
		 side ? "wg" : "rg", fd);
	int li = lane_of(x, &x->pdl, &x->cap_pdl, 2 * i + (size_t)side, PID_PD,
			 (long)(2 * i) + side, name);
	if (li >= 0 && fd >= 0)
		lane_add_fd(x->lanes[li], fd);
	return li;
}

static int g_lane(struct ex *x, uint64_t goid)
{
	const struct fold_g *g = fold_find_g(&x->f, goid);
	char name[32];
	if (!g)
		return -1;
	snprintf(name, sizeof(name), "G%llu", (unsigned long long)goid);
	return lane_of(x, &x->gl, &x->cap_gl, (size_t)(g - x->f.gs), PID_G, (long)goid, name);
}

static int m_lane(struct ex *x, int16_t m)
{
	const struct fold_m *fm = m >= 0 ? fold_find_m(&x->f, m) : NULL;
	char name[32];
	if (!fm)
		return -1;
	snprintf(name, sizeof(name), "M%d", m);
	return lane_of(x, &x->ml, &x->cap_ml, (size_t)(fm - x->f.ms), PID_M, m, name);
}

static int k_lane(struct ex *x, uint32_t tid)
{
	char name[32];
	for (size_t i = 0; i < x->nkl; i++)
		if (x->kl[i].tid == tid)
			return x->kl[i].lane;
	if (x->nkl == x->cap_kl) {
		size_t nc = x->cap_kl ? x->cap_kl * 2 : 16;
		void *n = realloc(x->kl, nc * sizeof(*x->kl));
		if (!n) {
			x->err = -ENOMEM;
			return -1;
		}
		x->kl = n;
		x->cap_kl = nc;
	}
	/* tid 0: what trace --pid read from /proc at attach, which no thread did then */
	snprintf(name, sizeof(name), tid ? "tid %u" : "/proc: interest set at attach", tid);
	int l = lane_new(x, PID_KERNEL, tid, name);
	if (l >= 0) {
		x->kl[x->nkl].tid = tid;
		x->kl[x->nkl++].lane = l;
	}
	return l;
}

static uint64_t at_least(uint64_t ts, uint64_t floor)
{
	return ts < floor ? floor : ts;
}

/*
 * The earliest start of a flow's step on another lane: 1 ns after the step it follows began.
 * Perfetto's importer reads slices of equal ts longest first (its sorter's SlowOperatorLess), so
 * a longer step that shared its predecessor's start (the pollDesc's pdReady after "netpollready
 * fd 7 (wg too)", which the same event starts) would be read first, and its arrow dropped as
 * flow_end_without_start.
 */
static uint64_t flow_after(uint64_t start)
{
	return start + 1;
}

static void child_end(struct ex *x, struct lane *l, uint64_t ts)
{
	if (l->child.on)
		l->cfloor = emit_slice(x, l, &l->child, ts);
	l->child.on = false;
}

/* A child slice of the current one, after its previous child. */
static struct slice *child_begin(struct lane *l, uint64_t ts, uint64_t pd)
{
	memset(&l->child, 0, sizeof(l->child));
	l->child.on = true;
	l->child.start = at_least(ts, l->cfloor);
	l->child.pd = pd;
	return &l->child;
}

static void lane_end(struct ex *x, struct lane *l, uint64_t ts)
{
	if (!l)
		return;
	/*
	 * A child that began with its slice (a netpoll_event in the netpoll call's first ns, or
	 * stamped before it and moved there) and ends with it would have its very span, and,
	 * written first, would be drawn holding it: the slice ends 1 ns after such a child.
	 */
	bool from_start = l->child.on && l->cur.on && l->child.start <= l->cur.start;
	child_end(x, l, ts);
	if (l->cur.on) /* not before its children's end */
		l->floor = emit_slice(x, l, &l->cur, at_least(ts, l->cfloor + from_start));
	l->cur.on = false;
}

static struct slice *lane_begin(struct ex *x, struct lane *l, uint64_t ts, const char *name,
				uint64_t flow, bool fin)
{
	lane_end(x, l, ts);
	memset(&l->cur, 0, sizeof(l->cur));
	l->cur.on = true;
	l->cur.start = at_least(ts, l->floor);
	l->cfloor = l->cur.start;
	l->cur.flow = flow;
	l->cur.fin = fin;
	snprintf(l->cur.name, sizeof(l->cur.name), "%s", name);
	return &l->cur;
}

/* ---- the kernel side ---- */

static void kchild_emit(struct ex *x, size_t i, uint64_t flow)
{
	struct kchild *k = &x->kc[i];
	struct lane *l = lane_at(x, k->lane);
	struct slice s = {.on = true, .start = k->start, .flow = flow, .succ = flow != 0};
	char mask[160];
	nps_epoll_mask_format(k->events, mask, sizeof(mask));
	if (k->fd >= 0)
		snprintf(s.name, sizeof(s.name), "ready fd %d", k->fd);
	else
		snprintf(s.name, sizeof(s.name), "ready[%u]", k->index);
	snprintf(s.args, sizeof(s.args), "\"events\":\"%s\",\"data\":\"0x%llx\",\"index\":%u", mask,
		 (unsigned long long)k->data, k->index);
	if (l)
		emit_slice(x, l, &s, k->end);
	x->kc[i] = x->kc[--x->nkc];
}

static void kchildren_flush(struct ex *x, int lane)
{
	for (size_t i = x->nkc; i-- > 0;)
		if (lane < 0 || x->kc[i].lane == lane)
			kchild_emit(x, i, 0);
}

static void on_kernel(struct ex *x, const struct nps_event *e)
{
	int li = k_lane(x, e->tid);
	struct lane *l = lane_at(x, li);
	char a[32], args[256], mask[160];
	if (!l)
		return;
	if (e->kind == NPS_EV_EPOLL_WAIT) {
		const struct nps_ev_wait *w = &e->u.wait;
		/* a dur longer than the trace (a bad file) starts at its beginning */
		struct slice s = {.on = true, .start = w->dur < e->ts ? e->ts - w->dur : 0};
		uint64_t n = w->ret > 0 ? (uint64_t)w->ret : 0, room = n ? n : 1, end = e->ts;
		kchildren_flush(x, li);
		/* room for its ready entries, 1 ns each at least: before its end if it can be */
		if (end - s.start < room)
			s.start = end >= room ? end - room : 0;
		s.start = at_least(s.start, l->floor);
		end = at_least(end, s.start + room);
		/* dur 0: the probes missed its entry (in progress as tracing began), as narrated */
		snprintf(s.name, sizeof(s.name), "%s%s",
			 nps_wait_sub_name(e->sub) ? nps_wait_sub_name(e->sub) : "epoll_wait",
			 w->dur ? "" : " (blocked time unknown)");
		snprintf(s.args, sizeof(s.args),
			 "\"epfd\":%d,\"maxevents\":%d,\"timeout_ms\":%d,\"n\":%d%s", w->epfd,
			 w->maxevents, w->timeout_ms, w->ret,
			 w->dur ? "" : ",\"blocked\":\"unknown: begun before tracing\"");
		if (!(w->id & NPS_KERNEL_ID_BIT))
			snprintf(s.args + strlen(s.args), sizeof(s.args) - strlen(s.args),
				 ",\"netpoll\":%llu", (unsigned long long)w->id);
		l->floor = emit_slice(x, l, &s, end);
		l->kstart = s.start;
		l->kend = l->floor;
		l->kn = (uint32_t)n;
		l->kid = w->id;
	} else if (e->kind == NPS_EV_EPOLL_READY) {
		/*
		 * The kernel copies the ready list out as epoll_wait returns: the entries share the
		 * end of its slice, one after the other (up to 1 µs each), so that they sit in it as
		 * its children rather than each on top of the last.
		 */
		uint32_t i = e->u.ready.index, n = l->kn;
		uint64_t step = (l->kend - l->kstart) / (n ? n : 1);
		step = step > 1000 ? 1000 : step ? step : 1;
		uint64_t end = l->kend - (n > i ? n - 1 - i : 0) * step;
		if (l->kid != e->u.ready.id || i >= n) {
			/* not its wait's (a bad file): alone, after what the lane holds */
			end = at_least(e->ts, l->floor) + 1;
			step = 1;
			l->floor = end;
		}
		if (x->nkc == KCHILD_MAX)
			kchild_emit(x, 0, 0);
		x->kc[x->nkc++] = (struct kchild){end > step ? end - step : 0,
						  end,
						  e->u.ready.id,
						  e->u.ready.data,
						  e->u.ready.events,
						  e->u.ready.index,
						  e->fd,
						  li};
	} else if (e->kind == NPS_EV_EPOLL_CTL) {
		char name[64];
		nps_epoll_mask_format(e->u.ctl.events, mask, sizeof(mask));
		snprintf(name, sizeof(name), "epoll_ctl %s fd %d",
			 nps_or_q(nps_ctl_op_name(e->u.ctl.op)), e->fd);
		if (e->u.ctl.op == NPS_EPOLL_CTL_DEL) /* the kernel ignores the event passed */
			snprintf(args, sizeof(args), "\"epfd\":%d,\"ret\":%d", e->u.ctl.epfd,
				 e->u.ctl.ret);
		else if (e->sub == NPS_CTL_UNREAD) /* nothing readable at the address passed */
			snprintf(args, sizeof(args),
				 "\"epfd\":%d,\"event\":\"unreadable at 0x%llx\",\"ret\":%d",
				 e->u.ctl.epfd, (unsigned long long)e->u.ctl.data, e->u.ctl.ret);
		else
			snprintf(args, sizeof(args),
				 "\"epfd\":%d,\"events\":\"%s\",\"data\":\"0x%llx\",\"ret\":%d",
				 e->u.ctl.epfd, mask, (unsigned long long)e->u.ctl.data,
				 e->u.ctl.ret);
		emit_instant(x, l, e->ts, name, args);
	} else if (e->kind == NPS_EV_EPOLL_CREATE) {
		/* netpollinit's epoll_create1(EPOLL_CLOEXEC), as the kernel answered it; or the old
		 * epoll_create(size) of another program */
		char fl[32];
		bool old = e->sub == NPS_CREATE_OLD;
		if (old)
			snprintf(args, sizeof(args), "\"size\":%d,\"ret\":%d", e->u.create.size,
				 e->u.create.ret);
		else
			snprintf(args, sizeof(args), "\"flags\":\"%s\",\"ret\":%d",
				 nps_epoll_create_flags_format(e->u.create.flags, fl, sizeof(fl)),
				 e->u.create.ret);
		emit_instant(x, l, e->ts, old ? "epoll_create" : "epoll_create1", args);
	} else if (e->kind == NPS_EV_EXEC) {
		/* the process runs a new program: its old fds closed on exec, epoll's among them */
		char path[4 * NPS_PATH_LEN + 1], jpath[sizeof(path) + 64], name[sizeof(jpath) + 32];
		jcopy(jpath, sizeof(jpath), narrate_exec_path(e, path, sizeof(path)));
		snprintf(name, sizeof(name), "exec'd %s", jpath);
		char xargs[sizeof(jpath) + 64];
		snprintf(xargs, sizeof(xargs), "\"path\":\"%s\",\"old_tid\":%d", jpath,
			 e->u.exec.old_tid);
		emit_instant(x, l, e->ts, name, xargs);
	} else if (e->kind == NPS_EV_EXIT) {
		/* the process ended: every fd closed, its interest sets with them */
		char how[64];
		if (e->u.exit.signal > 0) /* the fields that apply, as the trace has them */
			snprintf(args, sizeof(args), "\"signal\":%d,\"core\":%s", e->u.exit.signal,
				 e->u.exit.core ? "true" : "false");
		else
			snprintf(args, sizeof(args), "\"code\":%d", e->u.exit.code);
		emit_instant(x, l, e->ts, narrate_exit_status(e, how, sizeof(how)), args);
	} else if (e->kind == NPS_EV_SYSCALL) {
		/* The break pipe: netpollBreak's write, netpoll's drain (read). Instants: the
		 * probes stamp the exit only, so there is no duration to show. */
		bool wr = e->u.sys.op == NPS_SYS_WRITE;
		char name[64];
		snprintf(name, sizeof(name), "%s fd %d", wr ? "write" : "read", e->fd);
		snprintf(args, sizeof(args),
			 "\"fd\":%d,\"count\":%llu,\"ret\":%lld,\"what\":\"%s\"", e->fd,
			 (unsigned long long)e->u.sys.count, (long long)e->u.sys.ret,
			 wr ? "netpollBreak: wakes the poller" : "netpoll drains the break pipe");
		emit_instant(x, l, e->ts, name, args);
	}
	(void)a;
}

/* ---- the runtime side ---- */

static void on_pd_state(struct ex *x, const struct nps_event *e)
{
	const struct nps_ev_pd_state *s = &e->u.pd_state;
	int side = s->mode == 'w';
	struct lane *l = lane_at(x, pd_lane(x, s->pd, side, e->fd));
	char from[32], to[32];
	uint64_t flow = 0, after = 0; /* a flow's step starts after the step it follows */
	bool fin = false;
	if (!l)
		return;
	if (s->to == NPS_PDV_NIL) {
		lane_end(x, l, e->ts);
		return;
	}
	if (s->fn == NPS_FN_NETPOLLREADY) {
		struct lane *m = lane_at(x, m_lane(x, e->m));
		if (m && m->child.on && m->child.pd == s->pd && m->child.flow && m->child.succ) {
			/*
			 * One entry readied both sides (EPOLLIN|EPOLLOUT): a slice carries one flow,
			 * so the second side gets a slice of its own in the netpoll call, right after
			 * the first, for its own arrow (the kernel's goes to the first).
			 */
			struct slice first = m->child;
			child_end(x, m, e->ts);
			struct slice *c = child_begin(m, e->ts, s->pd);
			snprintf(c->name, sizeof(c->name), "%.50s (%s too)", first.name,
				 side ? "wg" : "rg");
			snprintf(c->args, sizeof(c->args), "%s", first.args);
			c->flow = ++x->next_flow;
		}
		if (m && m->child.on && m->child.pd == s->pd && m->child.flow && !m->child.succ) {
			flow = m->child.flow;
			fin = true;
			m->child.succ = true;
			after = flow_after(m->child.start);
		} else {
			flow = ++x->next_flow;
		}
	}
	nps_pdv_goname(s->from, from, sizeof(from));
	nps_pdv_goname(s->to, to, sizeof(to));
	/* stamped before the netpollready that made it (a late event): drawn after it */
	struct slice *sl = lane_begin(x, l, at_least(e->ts, after), to, flow, fin);
	snprintf(sl->args, sizeof(sl->args),
		 "\"fd\":%d,\"seq\":%u,\"from\":\"%s\",\"to\":\"%s\",\"fn\":\"%s\"", e->fd, s->seq,
		 from, to, nps_or_q(nps_fn_name(s->fn)));
	if (flow && NPS_PDV_IS_G(s->from)) {
		const struct fold_g *g = fold_find_g(&x->f, NPS_PDV_GOID(s->from));
		size_t gi = g ? (size_t)(g - x->f.gs) : 0;
		if (g && gi >= x->cap_gin) {
			size_t nc = x->cap_gin ? x->cap_gin : 64;
			while (nc <= gi)
				nc *= 2;
			struct gin *n = realloc(x->gin, nc * sizeof(*n));
			if (!n) {
				x->err = -ENOMEM;
				return;
			}
			memset(n + x->cap_gin, 0, (nc - x->cap_gin) * sizeof(*n));
			x->gin = n;
			x->cap_gin = nc;
		}
		if (g)
			x->gin[gi] = (struct gin){flow, l->idx};
	}
}

static struct gin *gin_of(struct ex *x, uint64_t goid)
{
	const struct fold_g *g = fold_find_g(&x->f, goid);
	size_t gi = g ? (size_t)(g - x->f.gs) : SIZE_MAX;
	return gi < x->cap_gin && x->gin[gi].flow ? &x->gin[gi] : NULL;
}

static void on_gstatus(struct ex *x, const struct nps_event *e)
{
	const struct nps_ev_gstatus *s = &e->u.gstatus;
	int li = g_lane(x, s->goid);
	struct lane *l = lane_at(x, li);
	const struct fold_g *g = fold_find_g(&x->f, s->goid);
	struct gin *in = gin_of(x, s->goid);
	char name[64];
	uint64_t flow = 0, after = 0; /* a flow's step starts after the step it follows */
	bool fin = false;
	if (!l || !g)
		return;
	/* the M lane: running this G */
	if (s->from == NPS_GRUNNING) {
		struct lane *m = lane_at(x, m_lane(x, g->m));
		char gname[32];
		snprintf(gname, sizeof(gname), "G%llu", (unsigned long long)s->goid);
		if (m && m->cur.on && !strcmp(m->cur.name, gname))
			lane_end(x, m, e->ts);
		if (m && m->paused.on && !strcmp(m->paused.name, gname))
			m->paused.on = false;
	}
	if (s->to == NPS_GRUNNING && e->m >= 0) {
		int mi = m_lane(x, e->m);
		struct lane *m = lane_at(x, mi);
		int *shown = slot(&x->gml, &x->cap_gml, (size_t)(g - x->f.gs));
		snprintf(name, sizeof(name), "G%llu", (unsigned long long)s->goid);
		/* after a loss it may not have been seen to stop on the M it ran on before */
		struct lane *old = shown && *shown ? lane_at(x, *shown - 1) : NULL;
		if (old && old != m && old->cur.on && !strcmp(old->cur.name, name))
			lane_end(x, old, e->ts);
		if (shown && mi >= 0)
			*shown = mi + 1;
		if (m)
			snprintf(lane_begin(x, m, e->ts, name, 0, false)->args, sizeof(m->cur.args),
				 "\"goid\":%llu,\"p\":%d", (unsigned long long)s->goid, e->p);
	}
	/* flows: pd ready → runnable → running */
	if (in) {
		struct lane *src = lane_at(x, in->lane);
		bool live = src && src->cur.on && src->cur.flow == in->flow;
		if (s->to == NPS_GRUNNABLE && live && src != l) {
			src->cur.succ = true;
			flow = in->flow;
			fin = true;
			after = flow_after(src->cur.start);
			in->lane = li;
		} else if (s->to == NPS_GRUNNING && live && src == l) {
			src->cur.succ = true;
			flow = in->flow;
			fin = true;
			in->flow = 0;
		} else {
			in->flow = 0;
		}
	}
	switch (s->to) {
	case NPS_GRUNNING:
		snprintf(name, sizeof(name), "running");
		break;
	case NPS_GRUNNABLE:
		snprintf(name, sizeof(name), "runnable");
		break;
	case NPS_GSYSCALL:
		snprintf(name, sizeof(name), "syscall");
		break;
	case NPS_GWAITING:
		if (s->reason == NPS_WR_IOWAIT && g->fd >= 0)
			snprintf(name, sizeof(name), "IO wait fd %d %s", g->fd,
				 s->mode == 'w' ? "write" : "read");
		else
			snprintf(name, sizeof(name), "waiting: %s",
				 nps_waitreason_name(s->reason) && *nps_waitreason_name(s->reason)
				     ? nps_waitreason_name(s->reason)
				     : "?");
		break;
	default:
		lane_end(x, l, e->ts);
		return;
	}
	struct slice *sl = lane_begin(x, l, at_least(e->ts, after), name, flow, fin);
	snprintf(sl->args, sizeof(sl->args), "\"from\":\"%s\",\"fn\":\"%s\",\"m\":%d,\"p\":%d",
		 nps_or_q(nps_gstatus_name(s->from)), nps_or_q(nps_fn_name(s->fn)), e->m, e->p);
}

static void on_netpoll(struct ex *x, const struct nps_event *e)
{
	struct lane *l = lane_at(x, m_lane(x, e->m));
	char name[64], mask[160];
	if (!l)
		return;
	if (e->kind == NPS_EV_NETPOLL_BEGIN) {
		const struct nps_ev_netpoll *n = &e->u.netpoll;
		if (n->waitms < 0)
			snprintf(name, sizeof(name), "netpoll #%llu (blocks)",
				 (unsigned long long)n->id);
		else
			snprintf(name, sizeof(name), "netpoll #%llu (%d ms)",
				 (unsigned long long)n->id, n->waitms);
		/*
		 * A goroutine's own netpoll(0) (sim_netpoll_now in ready-before-park; Go's
		 * pollWork-like calls): a lane holds a slice and its children, not three levels, so
		 * the goroutine's slice stops for the call and starts again after it.
		 */
		l->paused = l->cur.on && l->cur.name[0] == 'G' ? l->cur : (struct slice){0};
		struct slice *s = lane_begin(x, l, e->ts, name, 0, false);
		snprintf(s->args, sizeof(s->args),
			 "\"id\":%llu,\"delay\":%lld,\"waitms\":%d,\"caller\":\"%s\"",
			 (unsigned long long)n->id, (long long)n->delay, n->waitms,
			 nps_or_q(nps_caller_name(n->caller)));
		return;
	}
	if (e->kind == NPS_EV_NETPOLL_END) {
		lane_end(x, l, e->ts);
		if (l->paused.on)
			snprintf(lane_begin(x, l, e->ts, l->paused.name, 0, false)->args,
				 sizeof(l->cur.args), "%s", l->paused.args);
		l->paused.on = false;
		return;
	}
	/* NETPOLL_EVENT: a child slice of the netpoll call */
	const struct nps_ev_netpoll_event *n = &e->u.npev;
	const struct fold_pd *p = n->pd ? fold_find_pd(&x->f, n->pd) : NULL;
	child_end(x, l, e->ts);
	child_begin(l, e->ts, n->pd);
	nps_epoll_mask_format(n->events, mask, sizeof(mask));
	if (n->action == NPS_NPEV_READY) {
		snprintf(l->child.name, sizeof(l->child.name), "netpollready fd %d",
			 p ? p->fd : -1);
		l->child.flow = ++x->next_flow;
		for (size_t i = 0; i < x->nkc; i++)
			if (!(n->id & NPS_KERNEL_ID_BIT) && x->kc[i].id == n->id &&
			    x->kc[i].data == n->data) {
				l->child.start =
				    at_least(l->child.start, flow_after(x->kc[i].start));
				kchild_emit(x, i, l->child.flow);
				l->child.fin = true;
				break;
			}
	} else {
		snprintf(l->child.name, sizeof(l->child.name), "%s",
			 nps_or_q(nps_npev_action_name(n->action)));
	}
	snprintf(l->child.args, sizeof(l->child.args), "\"events\":\"%s\",\"data\":\"0x%llx\"",
		 mask, (unsigned long long)n->data);
}

static void on_sched(struct ex *x, const struct nps_event *e)
{
	struct lane *l = lane_at(x, m_lane(x, e->m));
	if (!l)
		return;
	if (e->u.sched.op == NPS_SCHED_STOPM)
		lane_begin(x, l, e->ts, "idle (stopm)", 0, false);
	else if ((e->u.sched.op == NPS_SCHED_MWAKE || e->u.sched.op == NPS_SCHED_MEXIT) &&
		 l->cur.on && !strcmp(l->cur.name, "idle (stopm)"))
		lane_end(x, l, e->ts);
}

static void on_marker(struct ex *x, const struct nps_event *e)
{
	char name[160], t[4 * NPS_NOTE_LEN + 1], args[160];
	const char *msg;
	switch (e->kind) {
	case NPS_EV_LOST: {
		/*
		 * Where the loss began: the announcement (count 0, "sub":1) is made there, the
		 * report when the ring has room again, with the time it began in since.
		 */
		const char *src = nps_or_q(nps_src_name(e->u.lost.source));
		uint64_t since =
		    e->u.lost.since && e->u.lost.since < e->ts ? e->u.lost.since : e->ts;
		char a[32], b[32];
		if (e->u.lost.count)
			snprintf(name, sizeof(name), "lost %llu %s events (from here to %s µs)",
				 (unsigned long long)e->u.lost.count, src,
				 us(x, e->ts, b, sizeof(b)));
		else
			snprintf(name, sizeof(name), "%s events lost from here (how many: later)",
				 src);
		snprintf(args, sizeof(args), "\"lost\":%llu,\"since_us\":%s,\"reported_us\":%s",
			 (unsigned long long)e->u.lost.count, us(x, since, a, sizeof(a)),
			 us(x, e->ts, b, sizeof(b)));
		emit_instant(x, NULL, since, name, args);
		break;
	}
	case NPS_EV_THROW:
		msg = nps_throw_msg(e->u.thr.msg);
		snprintf(name, sizeof(name), "fatal error: %s", msg ? msg : "?");
		emit_instant(x, NULL, e->ts, name, "");
		break;
	case NPS_EV_NOTE: {
		if (e->sub & NPS_NOTE_MORE)
			break; /* a piece: the note is shown whole at its last (fold_note_text) */
		size_t n;
		const char *text = fold_note_text(&x->f, e, &n);
		trace_sanitize(text, n, t, sizeof(t));
		jcopy(name, sizeof(name), t);
		emit_instant(x, NULL, e->ts, name, "");
		break;
	}
	case NPS_EV_NETPOLLOPEN:
	case NPS_EV_NETPOLLCLOSE: {
		const struct fold_pd *p =
		    e->u.ctl.pd ? fold_find_pd(&x->f, e->u.ctl.pd) : fold_find_fd(&x->f, e->fd);
		struct lane *l = p ? lane_at(x, pd_lane(x, p->pd, 0, e->fd)) : NULL;
		snprintf(name, sizeof(name), "epoll_ctl %s fd %d",
			 nps_or_q(nps_ctl_op_name(e->u.ctl.op)), e->fd);
		snprintf(args, sizeof(args), "\"ret\":%d", e->u.ctl.ret);
		if (l)
			emit_instant(x, l, e->ts, name, args);
		break;
	}
	}
}

static void on_verdicts(struct ex *x, const struct nps_event *e, const struct fold_verdict *v,
			int n, uint64_t line)
{
	for (int i = 0; i < n; i++) {
		char name[96], t[sizeof(v->text) * 4], args[sizeof(t) + 64];
		trace_sanitize(v[i].text, strnlen(v[i].text, sizeof(v[i].text)), t, sizeof(t));
		snprintf(args, sizeof(args), "\"line\":%llu,\"text\":\"", (unsigned long long)line);
		jcopy(args + strlen(args), sizeof(args) - strlen(args) - 2, t);
		strcat(args, "\"");
		if (v[i].level == FOLD_VIOLATION) {
			snprintf(name, sizeof(name), "ILLEGAL %s", v[i].rule);
			emit_instant(x, NULL, e->ts, name, args);
		} else if (e->kind == NPS_EV_PD_STATE) {
			struct lane *l = lane_at(
			    x, pd_lane(x, e->u.pd_state.pd, e->u.pd_state.mode == 'w', e->fd));
			if (l)
				emit_instant(x, l, e->ts, v[i].rule, args);
		}
	}
}

static void on_counters(struct ex *x, uint64_t ts)
{
	const struct fold_stats *s = &x->f.st;
	uint64_t now[NCOUNTERS] = {s->parked_io, s->fds_registered, s->netpoll_waiters,
				   s->lost[1] + s->lost[2]};
	char a[32];
	for (int i = 0; i < NCOUNTERS; i++) {
		/* the runtime's counters once there is a runtime: not in trace --pid's view */
		if (((x->counters_set >> i & 1) && now[i] == x->counters[i]) ||
		    (!x->runtime_seen && i != NCOUNTERS - 1))
			continue;
		emit(x,
		     "{\"ph\":\"C\",\"name\":\"%s\",\"pid\":%d,\"tid\":0,\"ts\":%s,"
		     "\"args\":{\"value\":%llu}}",
		     counter_names[i], PID_COUNTERS, us(x, ts, a, sizeof(a)),
		     (unsigned long long)now[i]);
		x->counters[i] = now[i];
		x->counters_set |= 1U << i;
		x->markers = true;
	}
}

static void on_event(struct ex *x, const struct nps_event *e, const struct fold_verdict *v, int n,
		     uint64_t line)
{
	x->runtime_seen |= e->src == NPS_SRC_SIM && e->kind != NPS_EV_LOST;
	switch (e->kind) {
	case NPS_EV_PD_STATE:
		on_pd_state(x, e);
		break;
	case NPS_EV_GSTATUS:
		on_gstatus(x, e);
		break;
	case NPS_EV_NETPOLL_BEGIN:
	case NPS_EV_NETPOLL_END:
	case NPS_EV_NETPOLL_EVENT:
		on_netpoll(x, e);
		break;
	case NPS_EV_SCHED:
		on_sched(x, e);
		break;
	case NPS_EV_EPOLL_WAIT:
	case NPS_EV_EPOLL_READY:
	case NPS_EV_EPOLL_CTL:
	case NPS_EV_EPOLL_CREATE:
	case NPS_EV_EXEC:
	case NPS_EV_EXIT:
		on_kernel(x, e);
		break;
	case NPS_EV_SYSCALL: /* the runtime's own syscalls have no lane; the kernel's do */
		if (e->src == NPS_SRC_KERNEL)
			on_kernel(x, e);
		break;
	default:
		on_marker(x, e);
	}
	on_verdicts(x, e, v, n, line);
	on_counters(x, e->ts);
}

static void emit_metadata(struct ex *x)
{
	/*
	 * Only the processes something was drawn in: a `trace --pid` recording has no runtime,
	 * and empty pollDesc, goroutine and M tracks would say there was one to see.
	 */
	bool used[PID_COUNTERS + 1] = {[PID_COUNTERS] = x->markers};
	for (size_t i = 0; i < x->nlanes; i++)
		used[x->lanes[i]->pid] = true;
	for (int p = PID_PD; p <= PID_COUNTERS; p++) {
		if (!used[p])
			continue;
		emit(x,
		     "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"args\":{\"name\":\"%s\"}"
		     "}",
		     p, pid_names[p]);
		emit(x,
		     "{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":%d,\"args\":{\"sort_"
		     "index\":%d}}",
		     p, p);
	}
	for (size_t i = 0; i < x->nlanes; i++) {
		const struct lane *l = x->lanes[i];
		char name[128];
		snprintf(name, sizeof(name), "%s", l->name);
		if (l->pid == PID_M) {
			for (size_t k = 0; k < x->f.nms; k++)
				if (x->ml && k < x->cap_ml && x->ml[k] == (int)i + 1 &&
				    x->f.ms[k].tid)
					snprintf(name, sizeof(name), "%s (tid %u)", l->name,
						 x->f.ms[k].tid);
		}
		emit(x,
		     "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,\"args\":{"
		     "\"name\":"
		     "\"%s\"}}",
		     l->pid, l->tid, name);
		emit(x,
		     "{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%d,\"tid\":%d,\"args\":{"
		     "\"sort_index\":%ld}}",
		     l->pid, l->tid, l->sort);
	}
}

static int export_chrome(struct trace_reader *r, FILE *out, FILE *err)
{
	struct ex x = {.out = out};
	const struct trace_info *in = trace_reader_info(r);
	struct nps_event e;
	struct fold_verdict v[8];
	char scen[200], go[80], kern[300], exe[1100], from[40], traced[1300] = "";
	int rc = 0;
	if (fold_init(&x.f))
		return -ENOMEM;
	jcopy(scen, sizeof(scen), in->scenario);
	jcopy(go, sizeof(go), in->go_version);
	jcopy(kern, sizeof(kern), in->kernel);
	jcopy(exe, sizeof(exe), in->exe);
	jcopy(from, sizeof(from), in->gomaxprocs_from);
	/* netpollsim trace: which process, which program, and whence its GOMAXPROCS */
	size_t k = in->pid ? (size_t)snprintf(traced, sizeof(traced), ",\"pid\":%d", in->pid) : 0;
	if (exe[0] && k < sizeof(traced))
		k += (size_t)snprintf(traced + k, sizeof(traced) - k, ",\"exe\":\"%s\"", exe);
	if (from[0] && k < sizeof(traced))
		snprintf(traced + k, sizeof(traced) - k, ",\"gomaxprocs_from\":\"%s\"", from);
	fprintf(out,
		"{\"displayTimeUnit\":\"ns\",\"otherData\":{\"source\":\"netpollsim\",\"scenario\":"
		"\"%s\",\"go\":\"%s\",\"kernel\":\"%s\",\"gomaxprocs\":%d%s},\"traceEvents\":[",
		scen, go, kern, in->gomaxprocs, traced);
	for (;;) {
		rc = trace_reader_next_skipping(r, &e, err); /* a bad line adds nothing */
		if (rc <= 0)
			break;
		if (!x.f.st.events)
			x.base = e.ts;
		int n = fold_apply(&x.f, &e, trace_reader_line(r), v, 8);
		if (n < 0 || x.err) {
			rc = -ENOMEM;
			break;
		}
		on_event(&x, &e, v, n, trace_reader_line(r));
	}
	if (rc == 0) {
		uint64_t end = x.f.last_ts;
		kchildren_flush(&x, -1);
		for (size_t i = 0; i < x.nlanes; i++)
			lane_end(&x, x.lanes[i], end);
		emit_metadata(&x);
		fputs("\n]}\n", out);
	} else {
		fprintf(err, "netpollsim export: %s\n",
			rc == -ENOMEM ? "out of memory" : trace_reader_error(r));
	}
	for (size_t i = 0; i < x.nlanes; i++)
		free(x.lanes[i]);
	free(x.lanes);
	free(x.pdl);
	free(x.gl);
	free(x.ml);
	free(x.gml);
	free(x.gin);
	free(x.kl);
	fold_fini(&x.f);
	return rc;
}

/* "netpollsim export: cannot write 'OUT': why" (what: create, write); returns rc, a -errno. */
static int out_error(FILE *err, const char *what, const char *name, int rc)
{
	fprintf(err, "netpollsim export: cannot %s '%s': %s\n", what, name, strerror(-rc));
	return rc;
}

/*
 * The trace itself, canonical: the writer's lines for the events, the input's header and footer
 * copied as they were (only written again in the writer's form), so that an export of an export
 * is the same file and a wrong footer stays wrong for check to see. No footer in, none out.
 */
static int export_jsonl(struct trace_reader *r, int fd, const char *name, FILE *err)
{
	const struct trace_info *in = trace_reader_info(r);
	struct trace_header h = {.mono_origin = in->mono_origin, .json = in->header_json};
	struct trace_writer *w = NULL;
	struct nps_event e;
	int rc = in->header_json ? trace_writer_open_fd(fd, &h, &w) : -ENOMEM, rd = 0;
	while (!rc && (rd = trace_reader_next_skipping(r, &e, err)) > 0)
		rc = trace_writer_event(w, &e);
	if (!rc && rd < 0) {
		fprintf(err, "netpollsim export: %s\n", trace_reader_error(r));
		trace_writer_abandon(w);
		return rd;
	}
	struct trace_footer ft = {.json = in->footer_json}; /* read by now, at the end */
	if (!rc && in->has_footer && ft.json) {
		rc = trace_writer_close(w, &ft);
	} else {
		int ra = trace_writer_abandon(w);
		if (!rc)
			rc = in->has_footer ? -ENOMEM : ra; /* no copy of the footer: no memory */
	}
	return rc ? out_error(err, "write", name, rc) : 0;
}

/* ---- the output ---- */

/*
 * The temporary file of the export in progress, for trace_export_interrupted() in a signal
 * handler: created, renamed and removed with every signal blocked, so that tmp_live says
 * exactly whether it exists.
 */
static char tmp_path[PATH_MAX];
static volatile sig_atomic_t tmp_live;

void trace_export_interrupted(void)
{
	if (tmp_live)
		unlink(tmp_path);
}

static void signals_block(sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, old);
}

struct dest {
	int fd;
	bool unnamed;	     /* an O_TMPFILE file: named tmp_path, then path, when complete */
	bool tmp;	     /* written to tmp_path, renamed over path when complete */
	char path[PATH_MAX]; /* the regular file to replace or create (its symlinks followed) */
	char name[512];	     /* the output as given, sanitised for messages */
};

/*
 * path with the symbolic links of its last component followed, as open(2) follows them: the file
 * a link names is the one to replace, and a dangling link names the one to create. 0 or -errno.
 */
static int follow_links(const char *path, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s", path) >= (int)len)
		return -ENAMETOOLONG;
	for (int hops = 0;; hops++) {
		char to[PATH_MAX];
		ssize_t n = readlink(buf, to, sizeof(to));
		if (n < 0) /* EINVAL: not a link; ENOENT: nothing there (yet) */
			return errno == EINVAL || errno == ENOENT ? 0 : -errno;
		if (hops == 40)
			return -ELOOP; /* as the kernel says after 40 */
		const char *slash = strrchr(buf, '/');
		size_t dir = to[0] == '/' || !slash ? 0 : (size_t)(slash - buf) + 1;
		if ((size_t)n == sizeof(to) || dir + (size_t)n >= len)
			return -ENAMETOOLONG;
		memcpy(buf + dir, to, (size_t)n);
		buf[dir + (size_t)n] = '\0';
	}
}

/* The same regular file: writing one would destroy the other as it is read. */
static bool same_file(const struct stat *a, const struct stat *b)
{
	return S_ISREG(a->st_mode) && a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* "netpollsim export: OUT: cannot create a file next to it in DIR: why"; returns 1. */
static int beside_error(FILE *err, const char *name, const char *path, int rc)
{
	const char *slash = strrchr(path, '/');
	char dir[512];
	if (!slash)
		snprintf(dir, sizeof(dir), "the current directory");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		trace_sanitize(path, (size_t)(slash - path), dir, sizeof(dir));
	fprintf(err,
		"netpollsim export: cannot write '%s': it is replaced whole by a new file made "
		"beside it, and %s refuses that: %s (-o a file in a directory you can write, or "
		"- for standard output)\n",
		name, dir, strerror(-rc));
	return 1;
}

/* The directory path is in: "." for a bare name, "/" for one at the root. */
static void dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, len, ".");
	else
		snprintf(dir, len, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/*
 * Is path (whose stat is st) someone else's file in a sticky directory (/tmp) whose owner we
 * are not either: there rename(2) may not replace it (EPERM), whatever its mode.
 */
static bool sticky_other(const char *path, const struct stat *st)
{
	char dir[PATH_MAX];
	struct stat ds;
	uid_t me = geteuid();
	dir_of(path, dir, sizeof(dir));
	return me != 0 && st->st_uid != me && !stat(dir, &ds) && (ds.st_mode & S_ISVTX) &&
	       ds.st_uid != me;
}

/*
 * An unnamed file (O_TMPFILE) in the directory of path: no name until it is complete, so that
 * even SIGKILL, which no handler sees, leaves nothing behind. -EOPNOTSUPP where the file system
 * (or the kernel: EISDIR) has no such files; the fd, or -errno.
 */
static int open_unnamed(const char *path)
{
	char dir[PATH_MAX];
	dir_of(path, dir, sizeof(dir));
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	if (fd >= 0)
		return fd;
	return errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL ? -EOPNOTSUPP : -errno;
}

/*
 * Give the complete unnamed file its temporary name (dest_close renames it at once): through
 * /proc, as any user may; AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, for a machine without /proc.
 */
static int name_unnamed(const struct dest *d)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", d->fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp_path, AT_SYMLINK_FOLLOW) == 0 ||
	    linkat(d->fd, "", AT_FDCWD, tmp_path, AT_EMPTY_PATH) == 0)
		return 0;
	return -errno;
}

/*
 * Open the output. A regular file, or a new one, is written to a temporary file beside it (beside
 * the file a symlink names) with the mode and owner of the file it replaces, renamed over it when
 * complete: a failed export leaves the old file, or none. The temporary file has no name until
 * then where the file system allows (open_unnamed): a killed export leaves nothing. Anything else (a FIFO, a character
 * device such as /dev/null or /dev/stdout) is written in place: a rename would replace the node
 * itself. The input is never the output: that would read what it writes, then replace the
 * recording. 0, or 1 with the error printed.
 */
static int dest_open(struct dest *d, const char *out, const struct stat *in, const char *in_name,
		     FILE *err)
{
	struct stat st;
	sigset_t old;
	bool std = !strcmp(out, "-");
	if (std)
		snprintf(d->name, sizeof(d->name), "standard output");
	else
		trace_sanitize(out, strlen(out), d->name, sizeof(d->name));
	bool exists = (std ? fstat(STDOUT_FILENO, &st) : stat(out, &st)) == 0;
	int rc = exists || errno == ENOENT ? 0 : -errno;
	if (exists && same_file(in, &st)) {
		fprintf(err,
			"netpollsim export: %s is the same file as the input %s: refusing to "
			"overwrite the trace\n",
			d->name, in_name);
		return 1;
	}
	if (std) {
		d->fd = STDOUT_FILENO;
		return 0;
	}
	if (rc) {
		/* stat's error */
	} else if (exists && S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
	} else if (exists && !S_ISREG(st.st_mode)) {
		d->fd = open(out, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		rc = d->fd < 0 ? -errno : 0;
	} else if (exists && faccessat(AT_FDCWD, out, W_OK, AT_EACCESS) != 0) {
		/* a file we may not write stays as it is, though its directory would let the
		 * rename replace it (as run --record leaves it) */
		return out_error(err, "write", d->name, -errno);
	} else if (exists && sticky_other(out, &st)) {
		fprintf(err,
			"netpollsim export: cannot write '%s': it is replaced whole by a new file "
			"made beside it, and in a sticky directory (as /tmp is) only its owner may "
			"replace it (-o a file of yours, or - for standard output)\n",
			d->name);
		return 1;
	} else {
		rc = follow_links(out, d->path, sizeof(d->path));
		if (!rc && snprintf(tmp_path, sizeof(tmp_path), "%s.tmp%d", d->path,
				    (int)getpid()) >= (int)sizeof(tmp_path))
			rc = -ENAMETOOLONG;
		if (!rc) {
			signals_block(&old);
			int fd = open_unnamed(d->path);
			d->unnamed = fd >= 0;
			if (fd == -EOPNOTSUPP) {
				fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
				fd = fd < 0 ? -errno : fd;
				tmp_live = d->tmp = fd >= 0;
			}
			d->fd = fd < 0 ? -1 : fd;
			rc = fd < 0 ? fd : 0;
			sigprocmask(SIG_SETMASK, &old, NULL);
			/* the file itself is not opened: its directory refused the new one beside it */
			if (rc && exists)
				return beside_error(err, d->name, d->path, rc);
		}
		/* the owner only where it may be given (root); the mode always */
		if (!rc && exists && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
		    fchown(d->fd, st.st_uid, st.st_gid) != 0) {
			/* the file becomes ours, as any new file would */
		}
		if (!rc && exists && fchmod(d->fd, st.st_mode & 07777) != 0)
			rc = -errno;
	}
	return rc ? out_error(err, "create", d->name, rc) : 0;
}

/* Close the output (rc: the export failed); a complete temporary file replaces the file. */
static int dest_close(struct dest *d, int rc, FILE *err)
{
	sigset_t old;
	signals_block(&old);
	int named = d->unnamed && !rc ? name_unnamed(d) : 0;
	if (named)
		rc = out_error(err, "write", d->name, named);
	else if (d->unnamed && !rc)
		tmp_live = d->tmp = true;
	if (d->fd >= 0 && d->fd != STDOUT_FILENO && close(d->fd) != 0 && !rc)
		rc = out_error(err, "write", d->name, -errno);
	if (d->tmp) {
		if (!rc && rename(tmp_path, d->path) != 0)
			rc = out_error(err, "write", d->name, -errno);
		if (rc)
			unlink(tmp_path);
		tmp_live = 0;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int trace_export(const char *in, const char *out, enum export_format fmt, FILE *err)
{
	struct trace_reader *r = NULL;
	struct dest d = {.fd = -1};
	struct stat ist = {0};
	int rc = trace_reader_open(in, &r);
	if (rc) {
		fprintf(err, "netpollsim export: %s\n", trace_reader_error(r));
		trace_reader_close(r);
		return 1;
	}
	if (strcmp(in, "-") ? stat(in, &ist) : fstat(STDIN_FILENO, &ist))
		ist.st_mode = 0;
	if (dest_open(&d, out, &ist, trace_reader_name(r), err)) {
		trace_reader_close(r);
		dest_close(&d, -EINVAL, err);
		return 1;
	}
	if (fmt == EXPORT_JSONL) {
		rc = export_jsonl(r, d.fd, d.name, err);
	} else {
		/* a copy of the fd for the stream: dest_close names the file through d.fd */
		int sfd = d.fd == STDOUT_FILENO ? -1 : fcntl(d.fd, F_DUPFD_CLOEXEC, 0);
		FILE *o = d.fd == STDOUT_FILENO ? stdout : sfd >= 0 ? fdopen(sfd, "w") : NULL;
		rc = o ? export_chrome(r, o, err) : out_error(err, "write", d.name, -errno);
		errno = EIO; /* for a write error that ferror() alone remembers */
		if (o && (fflush(o) != 0 || ferror(o)) && !rc)
			rc = out_error(err, "write", d.name, -errno);
		if (o && o != stdout && fclose(o) != 0 && !rc)
			rc = out_error(err, "write", d.name, -errno);
		else if (!o && sfd >= 0)
			close(sfd);
	}
	rc = dest_close(&d, rc, err);
	/*
	 * Lines the reader refused were reported and left out: the output is complete without
	 * them (a valid document), so it is kept, but the export did not copy everything.
	 */
	uint64_t skipped = trace_reader_skipped(r);
	if (!rc && skipped)
		fprintf(err,
			"netpollsim export: %s: %llu line%s skipped: unreadable (the errors "
			"above name them); the output holds every other event\n",
			trace_reader_name(r), (unsigned long long)skipped, nps_plural(skipped));
	/* a cut recording exports as far as it goes, and says so: Perfetto cannot */
	char cut[200];
	if (!rc && trace_reader_cut_short(r, cut, sizeof(cut)))
		fprintf(err,
			"netpollsim export: %s: %s; the output holds the events before, and what "
			"was under way then shows as never ending\n",
			trace_reader_name(r), cut);
	trace_reader_close(r);
	return rc || skipped ? 1 : 0;
}
