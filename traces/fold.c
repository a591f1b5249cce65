// SPDX-License-Identifier: MIT
/*
 * The fold (traces/fold.h): events in, state and verdicts out. It mirrors what Go's runtime
 * holds (pollDesc rg/wg, goroutine status, Ms and Ps, netpollWaiters, the epoll interest set)
 * and judges every event against the rules of docs/trace-format.md: spec section 4.4's
 * transition table for rg/wg (Go: runtime/netpoll.go), Go's goroutine status changes
 * (Go: runtime/proc.go), and fd registration (no I/O on an fd not registered, no double ADD, no
 * close(2) of a registered fd).
 *
 * With the kernel's view in the stream it also checks that kernel and runtime agree (the
 * netpollopen/netpollclose epoll_ctl calls, each joined epoll_wait's ready list, and the
 * pollDesc change each ready entry must cause: Go: runtime/netpoll_epoll.go netpoll and
 * runtime/netpoll.go netpollready). The join itself (ids, fds) is traces/join.c's.
 *
 * Lookups go through small open-addressing hash maps kept in priv, so a million-event trace
 * folds in linear time.
 */
#include "traces/fold.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/names.h"

#define TAG_MASK ((1u << 19) - 1) /* taggedPointerBits on amd64 (spec section 1.5) */

/* ---- a u64 → u32 open-addressing map (value 0 = absent) ---- */

struct hmap {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, used;
	uint64_t last_k; /* one-entry cache: consecutive events mostly name the same M, P, pd, G */
	uint32_t last_v; /* 0: empty */
};

static size_t hm_slot(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

static uint32_t hm_get(struct hmap *h, uint64_t k)
{
	if (h->last_v && h->last_k == k)
		return h->last_v;
	if (!h->cap)
		return 0;
	for (size_t i = hm_slot(k, h->cap);; i = (i + 1) & (h->cap - 1)) {
		if (h->keys[i] == k && h->vals[i] != UINT32_MAX) {
			h->last_k = k;
			h->last_v = h->vals[i];
			return h->vals[i];
		}
		if (!h->vals[i])
			return 0;
	}
}

static int hm_put(struct hmap *h, uint64_t k, uint32_t v);

static int hm_grow(struct hmap *h)
{
	struct hmap n = {0};
	n.cap = h->cap ? h->cap * 2 : 64;
	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = calloc(n.cap, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < h->cap; i++)
		if (h->vals[i] && h->vals[i] != UINT32_MAX)
			hm_put(&n, h->keys[i], h->vals[i]);
	free(h->keys);
	free(h->vals);
	*h = n;
	return 0;
}

/* v != 0; UINT32_MAX marks a deleted slot (hm_del). */
static int hm_put(struct hmap *h, uint64_t k, uint32_t v)
{
	if ((h->used + 1) * 4 >= h->cap * 3 && hm_grow(h))
		return -ENOMEM;
	size_t i = hm_slot(k, h->cap);
	for (;; i = (i + 1) & (h->cap - 1)) {
		if (h->vals[i] && h->keys[i] == k)
			break;
		if (!h->vals[i]) {
			h->used++;
			break;
		}
	}
	h->keys[i] = k;
	h->vals[i] = v;
	h->last_k = k;
	h->last_v = v;
	return 0;
}

static void hm_del(struct hmap *h, uint64_t k)
{
	if (!h->cap)
		return;
	for (size_t i = hm_slot(k, h->cap);; i = (i + 1) & (h->cap - 1)) {
		if (!h->vals[i])
			return;
		if (h->keys[i] == k && h->vals[i] != UINT32_MAX) {
			h->vals[i] = UINT32_MAX;
			if (h->last_k == k)
				h->last_v = 0;
			return;
		}
	}
}

static void hm_free(struct hmap *h)
{
	free(h->keys);
	free(h->vals);
}

/* ---- private state ---- */

/* What the fold keeps beside each public fold_pd. */
struct pd_extra {
	bool resync[2];	     /* per side: unknown after a loss until its next change */
	uint8_t last_fn[2];  /* per side: fn of the last change */
	bool was_registered; /* netpollopen succeeded in this incarnation */
	bool freed;	     /* pd_free since its last pd_open (not merely never opened) */
	int32_t freed_fd;    /* the fd it served when freed */
	bool unevicted_said; /* pd-free-unevicted reported at netpollclose already */
};

struct g_extra {
	uint64_t pos; /* caller's position of the last status change */
	/* the kernel ready entry whose netpollready took this G from rg/wg (chain_state != 0) */
	struct fold_chain chain;
	uint8_t chain_state; /* CHAIN_NONE, CHAIN_PENDING (on netpoll's list), CHAIN_TOLD */
	uint32_t wk;	     /* index + 1 of its wake_expect in priv.wk, 0 none */
};

enum {
	CHAIN_NONE = 0,
	CHAIN_PENDING, /* taken by netpollready: a wake_expect is open */
	CHAIN_TOLD,    /* its last status change made it runnable: fold_chain_g() tells it */
};

/* A G netpollready took for a kernel entry: the call's caller must make it runnable. */
struct wake_expect {
	uint64_t pos; /* the netpoll_event of its entry */
	uint32_t g;   /* the G: its index in fold.gs (stable) */
	int16_t m;    /* the M that ran the netpoll call */
};

/* One fd as the FD layer uses it. */
struct fd_state {
	int32_t fd;
	uint32_t pd1;	  /* index+1 of the open pollDesc, 0 none */
	bool registered;  /* netpollopen succeeded, no netpollclose yet */
	bool notpollable; /* netpollopen failed: blocking I/O is legal */
	bool resync;	  /* unknown after a loss until its next ADD/DEL */
	uint64_t reg_pos; /* position of the ADD */
};

/* A call the kernel still owes: the epoll_ctl of a netpollopen/netpollclose, or (EXPECT_WAIT) the
 * epoll_wait of a netpoll call the kernel showed none for. */
struct ctl_expect {
	uint64_t data; /* ADD: the epoll data the kernel must show (pd+fdseq tagged pointer) */
	uint64_t pos;  /* the netpollopen / netpollclose / netpoll_end */
	uint32_t tid;  /* the thread making the call */
	int32_t fd, op, epfd, ret;
	uint32_t closed_by; /* DEL: the thread that closed the fd while it was owed, else 0 */
};
/* ctl_expect.op of a netpoll call whose epoll_wait the kernel did not show (data: its id) */
#define EXPECT_WAIT (-1)

/* One entry of a kernel epoll_wait ready list. */
struct kw_entry {
	uint64_t data;
	uint32_t events, index;
	int32_t fd; /* as the join resolved it, -1 */
	bool done;  /* netpoll handled it */
};

/*
 * A kernel epoll_wait return joined to a netpoll call that has not returned yet, and the
 * fidelity window of the entry that call is handling: from its netpoll_event to the next
 * netpoll_event or netpoll_end of the call, netpollready must leave each side the entry's mask
 * names pdReady (Go: netpoll → netpollready → netpollunblock(pd, mode, true)).
 */
struct kwait {
	uint64_t id;	    /* the netpoll call */
	uint64_t pos;	    /* the kernel epoll_wait */
	int32_t ret;	    /* what it returned */
	uint32_t nent, cap; /* entries received / room in ent */
	uint32_t handled;   /* netpoll_events of the call so far */
	uint8_t sub;	    /* enum nps_wait_sub */
	bool reported;	    /* a ready-list-mismatch was given: one per call */
	struct kw_entry *ent;
	bool fid;		  /* a window is open */
	uint8_t fid_sides;	  /* bit 0 rg, bit 1 wg: changed by netpollready in the window */
	uint8_t fid_ready;	  /* sides seen holding pdReady in the window */
	uint8_t fid_mode;	  /* the mode netpoll chose */
	int16_t fid_m;		  /* the M running the call: netpollready's changes are its */
	uint32_t fid_ent;	  /* the entry (index into ent) */
	uint64_t fid_pd, fid_pos; /* its pollDesc, its netpoll_event */
	uint32_t fid_pdi;	  /* that pollDesc's index in fold.pds (stable) */
	uint64_t fid_from[2];	  /* per side: the value netpollready replaced (where fid_sides) */
};

struct fold_priv {
	struct hmap pd_idx, g_idx, fd_idx, int_idx;
	/* Ms and Ps are numbered from 0 (int16): index them directly; value = slot + 1, 0 none */
	uint32_t m_idx[1 << 15], p_idx[1 << 15];
	struct pd_extra *px; /* parallel to f->pds */
	struct g_extra *gx;  /* parallel to f->gs */
	struct fd_state *fds;
	size_t nfds, cap_fds;
	bool lost_any;	    /* a loss happened: new entities start in resync */
	uint64_t pd_blocks; /* pollCache blocks seen allocated (pd_open, sub 1) */
	/* rings whose loss was announced (lost, sub 1) and not yet reported, by M id + 1 (-1..
	 * INT16_MAX), and the last announcement still open */
	uint8_t losing[(1 << 15) + 1];
	unsigned losing_rings;
	uint64_t losing_pos;
	int16_t losing_m;
	size_t end_at;	     /* fold_end: the owed kernel calls judged so far */
	uint64_t last_pos;   /* of the event with the latest ts */
	uint64_t break_data; /* netpollinit's: the break pipe's epoll data, 0 unknown */
	uint64_t exit_pos;   /* the process's exit event (NPS_EV_EXIT), 0 none yet */
	bool waiters_known;
	uint64_t waiters_pos;
	/* kernel/runtime agreement */
	bool kview;		/* kernel events are (or will be) in the stream */
	uint32_t klost;		/* kernel losses seen (fold_m.klost: at its netpoll_begin) */
	bool silent_said;	/* kernel-silent reported (fold_end may be called again) */
	struct ctl_expect *exp; /* owed epoll_ctl (and epoll_wait) calls, oldest first */
	size_t nexp, cap_exp;
	struct kwait *kw; /* [0, nkw) in use; the rest keep their ent buffers */
	size_t nkw, cap_kw;
	size_t nfid; /* kwaits with a fidelity window open */
	/*
	 * Windows that closed with a side short of pdReady while other Ms were inside netpoll:
	 * one of them may have made it pdReady first and stamped its change later (fid_close).
	 */
	struct fid_defer {
		uint32_t pdi;	      /* the pollDesc (index into fold.pds) */
		uint8_t missing;      /* bit 0 rg, bit 1 wg */
		uint8_t nwait;	      /* the netpoll calls it waits for: [0, nwait) */
		int16_t m[4];	      /* their Ms */
		uint64_t call[4];     /* and ids */
		uint64_t id, pos;     /* the window's netpoll call, its kernel epoll_wait */
		uint32_t events, idx; /* the kernel's entry */
	} defer[8];
	size_t ndefer;
	struct wake_expect *wk; /* Gs on a netpoll list, not yet made runnable */
	size_t nwk, cap_wk;
	uint64_t last_wait_id; /* the last kernel epoll_wait return: its id and sub */
	uint8_t last_wait_sub;
	/* notes in pieces (NPS_NOTE_MORE): those being joined, by producer, and the last whole */
	struct note_join {
		bool used;
		int16_t m;
		uint32_t tid;
		size_t len;
		char text[NPS_NOTE_MAX];
	} notes[4];
	struct nps_event note_ev; /* the last piece of the last whole note, and its text */
	size_t note_len;
	char note[NPS_NOTE_MAX];
};

static struct fold_priv *priv(const struct nps_fold *f)
{
	return f->priv;
}

/* Grow an array to hold n+1 elements (and a parallel one, if any). */
static int grow(void **arr, size_t *cap, size_t n, size_t size, void **par, size_t psize)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *a = realloc(*arr, nc * size);
	if (!a)
		return -ENOMEM;
	*arr = a;
	if (par) {
		void *p = realloc(*par, nc * psize);
		if (!p)
			return -ENOMEM;
		memset((char *)p + *cap * psize, 0, (nc - *cap) * psize);
		*par = p;
	}
	*cap = nc;
	return 0;
}

static void legal_build(void);
static pthread_once_t legal_once = PTHREAD_ONCE_INIT;

int fold_init(struct nps_fold *f)
{
	pthread_once(&legal_once, legal_build);
	memset(f, 0, sizeof(*f));
	f->priv = calloc(1, sizeof(struct fold_priv));
	return f->priv ? 0 : -ENOMEM;
}

void fold_fini(struct nps_fold *f)
{
	if (!f)
		return;
	struct fold_priv *pv = priv(f);
	if (pv) {
		hm_free(&pv->pd_idx);
		hm_free(&pv->g_idx);
		hm_free(&pv->fd_idx);
		hm_free(&pv->int_idx);
		free(pv->px);
		free(pv->gx);
		free(pv->fds);
		free(pv->exp);
		free(pv->wk);
		for (size_t i = 0; i < pv->cap_kw; i++)
			free(pv->kw[i].ent);
		free(pv->kw);
		free(pv);
	}
	free(f->pds);
	free(f->gs);
	free(f->ms);
	free(f->ps);
	free(f->interest);
	memset(f, 0, sizeof(*f));
}

/* ---- lookups ---- */

/*
 * A note's piece: joined to the pieces before it from the same producer (an M's ring, or a
 * client thread's), which came just before it in that producer's order. More producers in the
 * middle of a note than there are places: the first place is taken over (its text is lost, and
 * that note is told from its next piece on).
 */
static void apply_note(struct nps_fold *f, const struct nps_event *e)
{
	struct fold_priv *pv = priv(f);
	const size_t places = sizeof(pv->notes) / sizeof(pv->notes[0]);
	struct note_join *j = NULL, *free_place = NULL;
	for (size_t i = 0; i < places && !j; i++) {
		if (pv->notes[i].used && pv->notes[i].m == e->m && pv->notes[i].tid == e->tid)
			j = &pv->notes[i];
		else if (!pv->notes[i].used && !free_place)
			free_place = &pv->notes[i];
	}
	if (!j) {
		j = free_place ? free_place : &pv->notes[0];
		*j = (struct note_join){.used = true, .m = e->m, .tid = e->tid};
	}
	size_t n = strnlen(e->u.note.text, NPS_NOTE_LEN);
	if (n > sizeof(j->text) - j->len)
		n = sizeof(j->text) - j->len;
	memcpy(j->text + j->len, e->u.note.text, n);
	j->len += n;
	if (e->sub & NPS_NOTE_MORE)
		return;
	pv->note_ev = *e;
	pv->note_len = j->len;
	memcpy(pv->note, j->text, j->len);
	j->used = false;
}

const char *fold_note_text(const struct nps_fold *f, const struct nps_event *e, size_t *len)
{
	const struct fold_priv *pv = priv(f);
	if (pv && !memcmp(&pv->note_ev, e, sizeof(*e))) {
		*len = pv->note_len;
		return pv->note;
	}
	*len = strnlen(e->u.note.text, NPS_NOTE_LEN);
	return e->u.note.text;
}

const struct fold_pd *fold_find_pd(const struct nps_fold *f, uint64_t pd)
{
	uint32_t i = hm_get(&priv(f)->pd_idx, pd);
	return i ? &f->pds[i - 1] : NULL;
}

static struct fd_state *fd_find(const struct nps_fold *f, int32_t fd)
{
	uint32_t i = fd >= 0 ? hm_get(&priv(f)->fd_idx, (uint64_t)fd) : 0;
	return i ? &priv(f)->fds[i - 1] : NULL;
}

const struct fold_pd *fold_find_fd(const struct nps_fold *f, int32_t fd)
{
	const struct fd_state *s = fd_find(f, fd);
	return s && s->pd1 ? &f->pds[s->pd1 - 1] : NULL;
}

const struct fold_g *fold_find_g(const struct nps_fold *f, uint64_t goid)
{
	uint32_t i = hm_get(&priv(f)->g_idx, goid);
	return i ? &f->gs[i - 1] : NULL;
}

const struct fold_m *fold_find_m(const struct nps_fold *f, int16_t m)
{
	uint32_t i = m >= 0 ? priv(f)->m_idx[m] : 0;
	return i ? &f->ms[i - 1] : NULL;
}

/* ---- creation ---- */

static struct fold_pd *pd_get(struct nps_fold *f, uint64_t pd, bool create)
{
	struct fold_priv *pv = priv(f);
	uint32_t i = hm_get(&pv->pd_idx, pd);
	if (i || !create)
		return i ? &f->pds[i - 1] : NULL;
	if (grow((void **)&f->pds, &f->cap_pds, f->npds, sizeof(*f->pds), (void **)&pv->px,
		 sizeof(*pv->px)) ||
	    hm_put(&pv->pd_idx, pd, (uint32_t)f->npds + 1))
		return NULL;
	struct fold_pd *p = &f->pds[f->npds++];
	memset(p, 0, sizeof(*p));
	p->pd = pd;
	p->fd = -1;
	p->resync = pv->lost_any;
	pv->px[f->npds - 1].resync[0] = pv->px[f->npds - 1].resync[1] = pv->lost_any;
	return p;
}

static struct fold_g *g_get(struct nps_fold *f, uint64_t goid, bool create)
{
	struct fold_priv *pv = priv(f);
	uint32_t i = hm_get(&pv->g_idx, goid);
	if (i || !create)
		return i ? &f->gs[i - 1] : NULL;
	if (grow((void **)&f->gs, &f->cap_gs, f->ngs, sizeof(*f->gs), (void **)&pv->gx,
		 sizeof(*pv->gx)) ||
	    hm_put(&pv->g_idx, goid, (uint32_t)f->ngs + 1))
		return NULL;
	struct fold_g *g = &f->gs[f->ngs++];
	memset(g, 0, sizeof(*g));
	g->goid = goid;
	g->status = NPS_GIDLE;
	g->fd = -1;
	g->m = g->p = -1;
	g->resync = pv->lost_any;
	return g;
}

/* The M and P tables are indexed directly; only a first sight takes the slow path. */
static __attribute__((noinline)) struct fold_m *m_new(struct nps_fold *f, int16_t id)
{
	struct fold_priv *pv = priv(f);
	if (grow((void **)&f->ms, &f->cap_ms, f->nms, sizeof(*f->ms), NULL, 0))
		return NULL;
	pv->m_idx[id] = (uint32_t)f->nms + 1;
	struct fold_m *m = &f->ms[f->nms++];
	memset(m, 0, sizeof(*m));
	m->id = id;
	m->p = -1;
	m->waitms = 0;
	m->resync = pv->lost_any;
	return m;
}

static inline struct fold_m *m_get(struct nps_fold *f, int16_t id)
{
	if (id < 0)
		return NULL;
	uint32_t i = priv(f)->m_idx[id];
	return i ? &f->ms[i - 1] : m_new(f, id);
}

static __attribute__((noinline)) struct fold_p *p_new(struct nps_fold *f, int16_t id)
{
	struct fold_priv *pv = priv(f);
	if (grow((void **)&f->ps, &f->cap_ps, f->nps, sizeof(*f->ps), NULL, 0))
		return NULL;
	pv->p_idx[id] = (uint32_t)f->nps + 1;
	struct fold_p *p = &f->ps[f->nps++];
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->m = -1;
	return p;
}

static inline struct fold_p *p_get(struct nps_fold *f, int16_t id)
{
	if (id < 0)
		return NULL;
	uint32_t i = priv(f)->p_idx[id];
	return i ? &f->ps[i - 1] : p_new(f, id);
}

static struct fd_state *fd_get(struct nps_fold *f, int32_t fd)
{
	struct fold_priv *pv = priv(f);
	struct fd_state *s = fd_find(f, fd);
	if (s || fd < 0)
		return s;
	if (grow((void **)&pv->fds, &pv->cap_fds, pv->nfds, sizeof(*pv->fds), NULL, 0) ||
	    hm_put(&pv->fd_idx, (uint64_t)fd, (uint32_t)pv->nfds + 1))
		return NULL;
	s = &pv->fds[pv->nfds++];
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->resync = pv->lost_any;
	return s;
}

/* ---- verdicts ---- */

struct vctx {
	struct fold_verdict *out;
	int max, n;
	struct nps_fold *f;
	uint64_t pos; /* of the event being applied, 0 at the end */
};

__attribute__((format(printf, 5, 6))) static void
verdict(struct vctx *v, int level, const char *rule, uint64_t prev_pos, const char *fmt, ...)
{
	/*
	 * While a ring is losing events (announced, not yet reported), any rule can be broken by
	 * the hole: the state is followed, nothing is judged.
	 */
	if (level == FOLD_VIOLATION && priv(v->f)->losing_rings)
		return;
	if (level == FOLD_NOTE)
		v->f->st.notes++;
	else
		v->f->st.violations++;
	/* rare (a verdict is news): a scan of a few names is no cost */
	for (int i = 0; i < FOLD_RULES_KEPT; i++) {
		struct fold_rule_count *c = &v->f->st.by_rule[i];
		if (!c->rule)
			*c = (struct fold_rule_count){rule, level, 0};
		if (c->level == level && !strcmp(c->rule, rule)) {
			c->n++;
			break;
		}
	}
	if (v->n >= v->max)
		return;
	struct fold_verdict *o = &v->out[v->n++];
	va_list ap;
	o->level = level;
	o->rule = rule;
	o->prev_pos = prev_pos;
	va_start(ap, fmt);
	vsnprintf(o->text, sizeof(o->text), fmt, ap);
	va_end(ap);
}

/*
 * While a ring is losing events nothing is judged (verdict), so nothing is counted as checked
 * either: an agreement check that could not fail would make "N-1 of N" beside a legal verdict.
 */
static inline bool undecided(const struct nps_fold *f)
{
	return priv((struct nps_fold *)f)->losing_rings != 0;
}

/*
 * kernel/runtime agreement hooks (defined with the rules, below). fid_pd_state stays out of
 * apply_pd_state, the busiest function: inlined, it costs every rg/wg change a bigger frame
 * (measured: 7 instructions per event on a recorded echo trace).
 */
static void expect_push(struct nps_fold *f, const struct nps_event *e, uint64_t pos,
			struct vctx *v);
__attribute__((noinline)) static void fid_pd_state(struct nps_fold *f, const struct nps_event *e);
static void fid_defer_pd_state(struct nps_fold *f, const struct nps_event *e);
static void fid_defer_end(struct nps_fold *f, int16_t m, uint64_t call, struct vctx *v);
static bool fid_defer(struct nps_fold *f, const struct kwait *k, unsigned missing);
static void fid_short(const struct fold_pd *p, uint64_t id, uint64_t pos, uint32_t events,
		      uint32_t index, unsigned missing, struct vctx *v);
static void fid_wake(struct nps_fold *f, struct fold_g *g, struct g_extra *gx,
		     const struct nps_event *e, struct vctx *v);
static void kw_npev(struct nps_fold *f, const struct nps_event *e, uint64_t pos, struct vctx *v);
static void wake_overdue(struct nps_fold *f, const struct nps_event *e, struct vctx *v);
static void kw_end(struct nps_fold *f, const struct nps_event *e, bool judged, struct vctx *v);

/* ---- rg/wg: spec section 4.4 ---- */

enum {
	C_NIL = 1,
	C_READY = 2,
	C_WAIT = 4,
	C_G = 8,
};

static unsigned pdv_class(uint64_t v)
{
	if (NPS_PDV_IS_G(v))
		return C_G;
	return v == NPS_PDV_NIL	    ? C_NIL
	       : v == NPS_PDV_READY ? C_READY
	       : v == NPS_PDV_WAIT  ? C_WAIT
				    : 0;
}

static const struct {
	uint8_t fn, from, to;
} legal[] = {
    {NPS_FN_POLLOPEN, C_NIL | C_READY, C_NIL}, /* else Go throws: blocked read on free polldesc */
    {NPS_FN_POLLRESET, C_READY, C_NIL},
    {NPS_FN_NETPOLLBLOCK, C_READY, C_NIL},
    {NPS_FN_NETPOLLBLOCK, C_NIL, C_WAIT},
    {NPS_FN_NETPOLLBLOCK, C_WAIT, C_NIL},
    {NPS_FN_NETPOLLBLOCKCOMMIT, C_WAIT, C_G},
    {NPS_FN_NETPOLLREADY, C_NIL | C_WAIT | C_G, C_READY},
    {NPS_FN_NETPOLLDEADLINEIMPL, C_WAIT | C_G, C_NIL},
    {NPS_FN_POLLUNBLOCK, C_WAIT | C_G, C_NIL},
    {NPS_FN_POLLSETDEADLINE, C_WAIT | C_G, C_NIL},
};

static const char *class_names(unsigned c, char *buf, size_t len)
{
	static const char *const n[] = {"pdNil", "pdReady", "pdWait", "G"};
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < 4; i++)
		if (c & (1u << i))
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "/" : "", n[i]);
	return buf;
}

/* "netpollready may only make pdNil/pdWait/G → pdReady", or "... makes no rg/wg change". */
static void legal_text(unsigned fn, char *buf, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]) && o < len; i++) {
		if (legal[i].fn != fn)
			continue;
		char a[40], b[40];
		o += (size_t)snprintf(buf + o, len - o, "%s%s → %s", o ? ", " : "",
				      class_names(legal[i].from, a, sizeof(a)),
				      class_names(legal[i].to, b, sizeof(b)));
	}
	if (!o)
		snprintf(buf, len, "none: %s never changes rg/wg",
			 nps_fn_name(fn) ? nps_fn_name(fn) : "this function");
}

/*
 * legal[] as one mask per function, bit 4 * from + to over the classes' bit numbers: the
 * check runs on every pd_state event, the table above stays the one to read.
 */
static uint16_t legal_mask[256]; /* built once, by fold_init */

static void legal_build(void)
{
	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
		for (unsigned a = 0; a < 4; a++)
			for (unsigned b = 0; b < 4; b++)
				if ((legal[i].from >> a & 1) && (legal[i].to >> b & 1))
					legal_mask[legal[i].fn] |= (uint16_t)(1u << (4 * a + b));
}

static bool pd_legal(unsigned fn, uint64_t from, uint64_t to)
{
	unsigned cf = pdv_class(from), ct = pdv_class(to);
	if (!cf || !ct || fn > 255)
		return false;
	return legal_mask[fn] >> (4 * __builtin_ctz(cf) + __builtin_ctz(ct)) & 1;
}

static const char *side_name(uint8_t mode)
{
	return mode == 'w' ? "wg" : "rg";
}

/* Go 1.22 on amd64: pollBlockSize / unsafe.Sizeof(pollDesc{}) = 4096 / 248 */
#define PDS_PER_BLOCK (4096 / 248)

/*
 * Go's pollCache carves pollDescs out of 4 KiB blocks and never frees one: its free list is
 * every pollDesc of the blocks allocated that is not in use, not only those used before (or,
 * in a trace that does not show the blocks, the pollDescs seen that are not in use).
 */
static void pds_free_update(struct nps_fold *f)
{
	uint64_t all = priv(f)->pd_blocks * PDS_PER_BLOCK;
	if (all < f->npds)
		all = f->npds;
	f->st.pds_free = all - f->st.pds_open;
}

static void pd_set_open(struct nps_fold *f, struct fold_pd *p, bool open)
{
	if (p->open != open)
		f->st.pds_open += open ? 1 : (uint64_t)-1;
	p->open = open;
	pds_free_update(f);
}

static void pd_set_registered(struct nps_fold *f, struct fold_pd *p, bool reg)
{
	if (p->registered != reg)
		f->st.fds_registered += reg ? 1 : (uint64_t)-1;
	p->registered = reg;
}

/*
 * An rg/wg change on a pollDesc that is not open. One is legal: netpoll checked fdseq, then the
 * fd was closed and its pollDesc freed before netpollready ran (Go's window too; the next
 * pollOpen resets the semaphore). Such a change names the incarnation just freed: its fd, the
 * fdseq the free left (the engine stamps it under the lock pollCache.free bumps fdseq under),
 * the value rg/wg held, and it comes from a netpoll call running on its M. The next pollOpen
 * then clears it, before its pd_open (Go's order). Anything else is pd-not-open. Out of line:
 * apply_pd_state is the hot path.
 */
static __attribute__((noinline)) void pd_not_open(struct nps_fold *f, const struct fold_pd *p,
						  const struct pd_extra *px,
						  const struct nps_event *e, uint64_t cur,
						  uint64_t cpos, struct vctx *v)
{
	const struct nps_ev_pd_state *s = &e->u.pd_state;
	const struct fold_m *m = fold_find_m(f, e->m);
	char why[160] = "", a[32], b[32];
	if (!px->freed) {
		verdict(v, FOLD_VIOLATION, "pd-not-open", 0,
			"pd 0x%llx (fd %d) %s changed by %s but the pollDesc was never opened (no "
			"pd_open)",
			(unsigned long long)s->pd, e->fd, side_name(s->mode),
			nps_or_q(nps_fn_name(s->fn)));
		return;
	}
	/* the next pollOpen clearing what a late netpollready left: Go does it before publishing */
	if (s->fn == NPS_FN_POLLOPEN && s->to == NPS_PDV_NIL)
		return;
	if (s->fn != NPS_FN_NETPOLLREADY || s->to != NPS_PDV_READY)
		snprintf(why, sizeof(why), "only netpollready may still make it pdReady");
	else if (e->fd != px->freed_fd)
		snprintf(why, sizeof(why), "the event names fd %d, the pollDesc served fd %d",
			 e->fd, px->freed_fd);
	else if (s->seq != p->seq)
		snprintf(why, sizeof(why), "the event carries fdseq %u, the free left %u", s->seq,
			 p->seq);
	else if (s->from != cur)
		snprintf(why, sizeof(why), "the event says %s → pdReady but %s holds %s",
			 nps_pdv_goname(s->from, a, sizeof(a)), side_name(s->mode),
			 nps_pdv_goname(cur, b, sizeof(b)));
	else if (!(m && (m->polling || m->resync)) && !(!m && priv(f)->lost_any))
		snprintf(why, sizeof(why), "no netpoll call is running on M%d", e->m);
	if (!why[0]) {
		verdict(v, FOLD_NOTE, "late-ready", cpos,
			"pd 0x%llx (fd %d) %s: readiness for an incarnation freed meanwhile "
			"(harmless: the next pollOpen resets it)",
			(unsigned long long)s->pd, e->fd, side_name(s->mode));
		return;
	}
	verdict(v, FOLD_VIOLATION, "pd-not-open", cpos,
		"pd 0x%llx (fd %d) %s changed by %s after the pollDesc was freed, and not as a "
		"late netpollready: %s",
		(unsigned long long)s->pd, e->fd, side_name(s->mode), nps_or_q(nps_fn_name(s->fn)),
		why);
}

static void apply_pd_state(struct nps_fold *f, const struct nps_event *e, uint64_t pos,
			   struct vctx *v)
{
	const struct nps_ev_pd_state *s = &e->u.pd_state;
	struct fold_pd *p = pd_get(f, s->pd, true);
	char a[32], b[32], c[160];
	if (!p)
		return;
	struct pd_extra *px = &priv(f)->px[p - f->pds];
	int side = s->mode == 'w';
	uint64_t *cur = side ? &p->wg : &p->rg;
	uint64_t *cts = side ? &p->wg_ts : &p->rg_ts;
	uint64_t *cpos = side ? &p->wg_pos : &p->rg_pos;
	/* The names are formatted only when a verdict needs them: this is the hot path. */
#define FN   nps_or_q(nps_fn_name(s->fn))
#define FROM nps_pdv_goname(s->from, a, sizeof(a))
#define TO   nps_pdv_goname(s->to, b, sizeof(b))

	if (s->mode != 'r' && s->mode != 'w')
		verdict(v, FOLD_VIOLATION, "pd-transition", 0,
			"pd_state on fd %d: mode must be r or w", e->fd);
	if (!pd_legal(s->fn, s->from, s->to)) {
		legal_text(s->fn, c, sizeof(c));
		verdict(v, FOLD_VIOLATION, "pd-transition", *cpos,
			"pd fd %d %s: %s cannot move %s → %s (legal for %s: %s)", e->fd,
			side_name(s->mode), FN, FROM, TO, FN, c);
	}
	bool side_resync = p->resync && px->resync[side];
	if (!side_resync) {
		if (!p->open && !p->resync)
			pd_not_open(f, p, px, e, *cur, *cpos, v);
		else if (*cur != s->from) {
			char h[32];
			verdict(v, FOLD_VIOLATION, "pd-from", *cpos,
				"pd fd %d %s: %s says %s → %s but %s holds %s", e->fd,
				side_name(s->mode), FN, FROM, TO, side_name(s->mode),
				nps_pdv_goname(*cur, h, sizeof(h)));
		} else if (s->seq != p->seq)
			verdict(v, FOLD_VIOLATION, "pd-seq", 0,
				"pd fd %d %s: event carries fdseq %u but the pollDesc is at %u",
				e->fd, side_name(s->mode), s->seq, p->seq);
		if (p->open && !p->resync && e->fd != p->fd)
			verdict(v, FOLD_VIOLATION, "pd-fd", 0,
				"pd 0x%llx: event names fd %d but the pollDesc belongs to fd %d",
				(unsigned long long)s->pd, e->fd, p->fd);
	}

	/* races Go handles on purpose: told only when "from" is what rg/wg held (after a pd-from
	 * error the event's story is not what happened) */
	bool held = side_resync || *cur == s->from;
	if (held && s->fn == NPS_FN_NETPOLLREADY && s->from == NPS_PDV_WAIT)
		verdict(v, FOLD_NOTE, "ready-before-commit", *cpos,
			"fd %d %s: readiness arrived between the pdWait announce and the commit: "
			"the commit fails and the goroutine resumes without parking",
			e->fd, side_name(s->mode));
	if (held && s->fn == NPS_FN_NETPOLLBLOCK && s->from == NPS_PDV_READY &&
	    (side ? p->wg_ready_from : p->rg_ready_from) == NPS_PDV_NIL &&
	    px->last_fn[side] == NPS_FN_NETPOLLREADY)
		verdict(
		    v, FOLD_NOTE, "ready-before-park", *cpos,
		    "fd %d %s: readiness arrived before the goroutine parked: netpollblock takes "
		    "it without parking",
		    e->fd, side_name(s->mode));
	if (held && s->to == NPS_PDV_NIL && (NPS_PDV_IS_G(s->from) || s->from == NPS_PDV_WAIT)) {
		const char *what = s->fn == NPS_FN_NETPOLLDEADLINEIMPL ? "deadline-while-parked"
				   : s->fn == NPS_FN_POLLUNBLOCK       ? "close-while-parked"
				   : s->fn == NPS_FN_POLLSETDEADLINE   ? "deadline-while-parked"
								       : NULL;
		if (what)
			verdict(v, FOLD_NOTE, what, *cpos, "fd %d %s: %s while %s %s: %s → pdNil",
				e->fd, side_name(s->mode),
				s->fn == NPS_FN_POLLUNBLOCK ? "close" : "deadline",
				NPS_PDV_IS_G(s->from) ? FROM : "a goroutine",
				NPS_PDV_IS_G(s->from) ? "is parked" : "announces", FROM);
	}
	if (s->fn == NPS_FN_NETPOLLBLOCKCOMMIT && NPS_PDV_IS_G(s->to)) {
		const struct fold_g *g = fold_find_g(f, NPS_PDV_GOID(s->to));
		/* a goroutine never seen is parked nowhere (after a loss it may be unseen) */
		if ((g && !g->resync &&
		     (g->status != NPS_GWAITING || g->pd != s->pd || g->mode != s->mode)) ||
		    (!g && !priv(f)->lost_any))
			verdict(v, FOLD_VIOLATION, "park-mismatch", 0,
				"fd %d %s: commit stores %s but that goroutine is not waiting on "
				"this pollDesc%s",
				e->fd, side_name(s->mode), TO,
				!g				       ? " (no such goroutine)"
				: g->pd == s->pd && g->mode != s->mode ? " side"
								       : "");
		p->parks++;
	}
	if (s->to == NPS_PDV_READY) {
		p->readies++;
		*(side ? &p->wg_ready_from : &p->rg_ready_from) = s->from;
	}
	if (s->to == NPS_PDV_NIL && s->fn == NPS_FN_NETPOLLDEADLINEIMPL)
		p->timeouts++;
	if (s->to == NPS_PDV_NIL && s->fn == NPS_FN_POLLUNBLOCK)
		p->closes++;
	px->last_fn[side] = s->fn;
	*cur = s->to;
	*cts = e->ts;
	*cpos = pos;
	if (s->fn == NPS_FN_NETPOLLREADY && NPS_PDV_IS_G(s->from) && e->m >= 0) {
		struct fold_m *m = m_get(f, e->m);
		if (m && m->polling)
			m->took++;
	}
	if (priv(f)->nfid)
		fid_pd_state(f, e);
	if (priv(f)->ndefer)
		fid_defer_pd_state(f, e);
	if (p->resync) { /* after a loss: this event is the truth about this side */
		px->resync[side] = false;
		if (!p->open)
			pd_set_open(f, p, true);
		p->fd = e->fd;
		p->seq = s->seq;
		p->resync = px->resync[0] || px->resync[1];
	}
#undef FN
#undef FROM
#undef TO
}

/* ---- pd lifecycle ---- */

static void apply_pd(struct nps_fold *f, const struct nps_event *e, struct vctx *v)
{
	const struct nps_ev_pd *d = &e->u.pd;
	struct fold_pd *p = pd_get(f, d->pd, true);
	if (!p)
		return;
	struct pd_extra *px = &priv(f)->px[p - f->pds];
	struct fd_state *fs = fd_get(f, e->fd);
	char a[32], b[32];
	bool rs = p->resync;
	switch (e->kind) {
	case NPS_EV_PD_OPEN:
		if (e->sub == 1)
			priv(f)->pd_blocks++;
		if (p->open && !rs)
			verdict(v, FOLD_VIOLATION, "pd-reopen", p->rg_pos,
				"pd 0x%llx opened for fd %d while still open for fd %d",
				(unsigned long long)d->pd, e->fd, p->fd);
		if (!rs && (pdv_class(p->rg) & (C_WAIT | C_G) || pdv_class(p->wg) & (C_WAIT | C_G)))
			verdict(v, FOLD_VIOLATION, "pd-open-blocked", 0,
				"pd 0x%llx reused with rg %s, wg %s (Go throws \"runtime: blocked "
				"read on free polldesc\")",
				(unsigned long long)d->pd, nps_pdv_goname(p->rg, a, sizeof(a)),
				nps_pdv_goname(p->wg, b, sizeof(b)));
		/* poll_runtime_pollOpen keeps fdseq, which pollCache.free bumped; 0 becomes 1 */
		if (px->freed && !rs && d->seq != ((p->seq & TAG_MASK) ? p->seq : 1))
			verdict(
			    v, FOLD_VIOLATION, "pd-seq", 0,
			    "pd fd %d: pollOpen must keep the fdseq %u that pollCache.free left, "
			    "not %u",
			    e->fd, (p->seq & TAG_MASK) ? p->seq : 1, d->seq);
		pd_set_open(f, p, true);
		p->fd = e->fd;
		p->seq = d->seq;
		p->closing = false;
		pd_set_registered(f, p, false);
		p->rd = p->wd = 0;
		p->info = d->info;
		px->was_registered = false;
		px->freed = false;
		px->unevicted_said = false;
		if (fs) {
			fs->pd1 = (uint32_t)(p - f->pds) + 1;
			fs->notpollable = false;
		}
		break;
	case NPS_EV_PD_FREE:
		if (!p->open && !rs) {
			verdict(v, FOLD_VIOLATION, "pd-double-free", 0,
				"pd 0x%llx (fd %d) freed but it is not open",
				(unsigned long long)d->pd, e->fd);
		} else if (!rs) {
			if (pdv_class(p->rg) & (C_WAIT | C_G) || pdv_class(p->wg) & (C_WAIT | C_G))
				verdict(v, FOLD_VIOLATION, "pd-free-blocked", 0,
					"pd fd %d freed with rg %s, wg %s (Go throws \"runtime: "
					"blocked "
					"read on closing polldesc\")",
					e->fd, nps_pdv_goname(p->rg, a, sizeof(a)),
					nps_pdv_goname(p->wg, b, sizeof(b)));
			if (p->registered)
				verdict(v, FOLD_VIOLATION, "pd-free-registered",
					fs ? fs->reg_pos : 0,
					"pd fd %d freed while still registered with epoll (no "
					"netpollclose)",
					e->fd);
			if (px->was_registered && !p->closing && !px->unevicted_said)
				verdict(
				    v, FOLD_VIOLATION, "pd-free-unevicted", 0,
				    "pd fd %d freed without poll_runtime_pollUnblock (Go throws "
				    "\"runtime: close polldesc w/o unblock\")",
				    e->fd);
			if (((p->seq + 1) & TAG_MASK) != (d->seq & TAG_MASK))
				verdict(v, FOLD_VIOLATION, "pd-seq", 0,
					"pd fd %d: pollCache.free must bump fdseq %u to %u, not %u",
					e->fd, p->seq, (p->seq + 1) & TAG_MASK, d->seq);
		}
		if (fs) {
			if (!px->was_registered && !rs)
				fs->notpollable = true; /* netpollopen failed: blocking mode */
			fs->pd1 = 0;
		}
		pd_set_open(f, p, false);
		pd_set_registered(f, p, false);
		p->seq = d->seq;
		px->freed = true;
		px->freed_fd = e->fd;
		p->fd = -1;
		break;
	case NPS_EV_PD_EVICT:
		if (!p->open && !rs)
			verdict(v, FOLD_VIOLATION, "pd-not-open", 0,
				"pd 0x%llx (fd %d) evicted but it is not open",
				(unsigned long long)d->pd, e->fd);
		else if (p->closing && !rs)
			verdict(v, FOLD_VIOLATION, "pd-closing", 0,
				"pd fd %d evicted twice (Go throws \"runtime: unblock on closing "
				"polldesc\")",
				e->fd);
		p->closing = true;
		p->info = d->info;
		break;
	case NPS_EV_PD_DEADLINE:
		if (!p->open && !rs)
			verdict(v, FOLD_VIOLATION, "pd-not-open", 0,
				"deadline set on pd 0x%llx (fd %d) which is not open",
				(unsigned long long)d->pd, e->fd);
		else if (p->closing && !rs)
			verdict(v, FOLD_VIOLATION, "pd-closing", 0,
				"deadline set on pd fd %d after poll_runtime_pollUnblock (Go's "
				"pollSetDeadline returns at once on a closing pollDesc)",
				e->fd);
		p->rd = d->rd;
		p->wd = d->wd;
		p->info = d->info;
		break;
	case NPS_EV_PD_EXPIRE:
		if (e->sub == 1) {
			verdict(v, FOLD_NOTE, "deadline-stale", 0,
				"fd %d: a deadline timer fired for an older incarnation (seq "
				"mismatch): nothing changes",
				e->fd);
			break;
		}
		p->rd = d->rd;
		p->wd = d->wd;
		p->info = d->info;
		break;
	case NPS_EV_PD_EVENTERR:
		p->info = d->info;
		break;
	}
	if (!rs)
		return;
	/*
	 * After a loss this event is the truth about the incarnation; rg/wg stay unknown until
	 * their next change. A freed pollDesc holds no waiter, but a side may hold pdReady: Go's
	 * pollCache.free leaves rg/wg as they are and poll_runtime_pollOpen clears them (a side
	 * known since the loss keeps its value; one still unknown stays so until that clear).
	 */
	if (e->kind == NPS_EV_PD_FREE) {
		p->resync = px->resync[0] || px->resync[1];
		return;
	}
	pd_set_open(f, p, true);
	p->fd = e->fd;
	p->seq = d->seq;
}

/* ---- registration ---- */

/* Take entry i (index + 1) out of the kernel's interest set: the last one takes its place. */
static void interest_remove(struct nps_fold *f, uint32_t i)
{
	struct fold_priv *pv = priv(f);
	struct fold_interest *gone = &f->interest[i - 1], *last = &f->interest[f->ninterest - 1];
	hm_del(&pv->int_idx, (uint64_t)(uint32_t)gone->epfd << 32 | (uint32_t)gone->fd);
	if (last != gone) {
		*gone = *last;
		hm_put(&pv->int_idx, (uint64_t)(uint32_t)last->epfd << 32 | (uint32_t)last->fd, i);
	}
	f->st.interest = --f->ninterest;
}

/*
 * epoll_create1 returned the number epfd: an epoll instance that had it before was closed, and
 * its interest set with it.
 */
static void interest_forget_epfd(struct nps_fold *f, int32_t epfd)
{
	for (uint32_t i = (uint32_t)f->ninterest; i > 0; i--)
		if (f->interest[i - 1].epfd == epfd)
			interest_remove(f, i);
}

static void apply_ctl(struct nps_fold *f, const struct nps_event *e, uint64_t pos, struct vctx *v)
{
	const struct nps_ev_ctl *c = &e->u.ctl;
	if (e->kind == NPS_EV_EPOLL_CTL) {
		/* the kernel's interest set */
		struct fold_priv *pv = priv(f);
		uint64_t key = (uint64_t)(uint32_t)c->epfd << 32 | (uint32_t)e->fd;
		uint32_t i = hm_get(&pv->int_idx, key);
		if (c->ret != 0)
			return;
		/*
		 * The kernel refuses an ADD of a registered fd (EEXIST): one that succeeds proves
		 * the fd was not in the set. Closing an fd's last reference removes it from epoll
		 * without EPOLL_CTL_DEL (a Python selector closing a socket, say), and the fd number
		 * comes back: this ADD is the truth, the old entry is replaced. Go never does it
		 * (netpollclose before close), which the runtime's double-add rule checks.
		 */
		if (c->op == NPS_EPOLL_CTL_ADD && i && !f->interest[i - 1].resync)
			verdict(
			    v, FOLD_NOTE, "closed-without-del", 0,
			    "kernel: fd %d was added to epfd %d again without EPOLL_CTL_DEL: it "
			    "was closed and the number reused (epoll drops a registration when the "
			    "last descriptor of its file closes; a dup of it would keep the old "
			    "one)",
			    e->fd, c->epfd);
		if (c->op == NPS_EPOLL_CTL_ADD && i)
			f->interest[i - 1].since = e->ts;
		if (c->op == NPS_EPOLL_CTL_ADD && !i) {
			if (grow((void **)&f->interest, &f->cap_interest, f->ninterest,
				 sizeof(*f->interest), NULL, 0) ||
			    hm_put(&pv->int_idx, key, (uint32_t)f->ninterest + 1))
				return;
			i = (uint32_t)++f->ninterest;
			f->interest[i - 1].epfd = c->epfd;
			f->interest[i - 1].fd = e->fd;
			f->interest[i - 1].since = e->ts;
		}
		if (i)
			f->interest[i - 1].resync = false; /* this call is the truth again */
		if (i && c->op == NPS_EPOLL_CTL_DEL) {
			interest_remove(f, i);
		} else if (i) {
			f->interest[i - 1].events = c->events;
			f->interest[i - 1].data = c->data;
		}
		f->st.interest = f->ninterest;
		return;
	}
	/* the runtime's netpollopen / netpollclose */
	struct fd_state *fs = fd_get(f, e->fd);
	struct fold_pd *p = c->pd ? pd_get(f, c->pd, false) : NULL;
	if (!p && fs && fs->pd1)
		p = &f->pds[fs->pd1 - 1];
	if (!fs)
		return;
	if (priv(f)->kview)
		expect_push(f, e, pos, v);
	if (e->kind == NPS_EV_NETPOLLOPEN && c->ret == 0) {
		if (fs->registered && !fs->resync)
			verdict(v, FOLD_VIOLATION, "double-add", fs->reg_pos,
				"fd %d registered with epoll twice (netpollopen ADD while already "
				"registered)",
				e->fd);
		fs->registered = true;
		fs->reg_pos = pos;
		if (p) {
			pd_set_registered(f, p, true);
			priv(f)->px[p - f->pds].was_registered = true;
		}
	} else if (e->kind == NPS_EV_NETPOLLCLOSE) {
		if (!fs->registered && !fs->resync)
			verdict(v, FOLD_VIOLATION, "del-unregistered", 0,
				"netpollclose (DEL) of fd %d which is not registered", e->fd);
		/* poll_runtime_pollClose throws before its netpollclose when pollUnblock was not
		 * called: the same rule as at the free, said where Go says it */
		if (p && p->open && !p->closing && !p->resync) {
			verdict(
			    v, FOLD_VIOLATION, "pd-free-unevicted", 0,
			    "pd fd %d closed (netpollclose) without poll_runtime_pollUnblock (Go "
			    "throws \"runtime: close polldesc w/o unblock\")",
			    e->fd);
			priv(f)->px[p - f->pds].unevicted_said = true;
		}
		fs->registered = false;
		if (p)
			pd_set_registered(f, p, false);
	}
	fs->resync = false;
}

static void apply_syscall(struct nps_fold *f, const struct nps_event *e, struct vctx *v)
{
	const struct nps_ev_sys *s = &e->u.sys;
	if (e->src != NPS_SRC_SIM || e->fd < 0)
		return;
	struct fd_state *fs = fd_get(f, e->fd);
	if (!fs)
		return;
	bool io = s->op == NPS_SYS_READ || s->op == NPS_SYS_WRITE || s->op == NPS_SYS_ACCEPT4;
	if (io && !fs->registered && !fs->notpollable && !fs->resync)
		verdict(
		    v, FOLD_VIOLATION, "io-unregistered", fs->reg_pos,
		    "%s on fd %d which is not registered with epoll (no successful netpollopen)",
		    nps_sys_op_name(s->op), e->fd);
	if (s->op == NPS_SYS_CLOSE) {
		if (fs->registered && !fs->resync)
			verdict(
			    v, FOLD_VIOLATION, "close-registered", fs->reg_pos,
			    "close(2) of fd %d while it is still registered with epoll (Go does "
			    "netpollclose first)",
			    e->fd);
		fs->notpollable = false;
		fs->registered = false;
	}
}

/* ---- goroutines ---- */

static bool g_legal(unsigned from, unsigned to)
{
#define TO(s) (1u << (s))
	/*
	 * For each status, the statuses Go moves a goroutine to from it. SIMPLIFICATION: only on
	 * the paths the engine models: Go's GC and cgo paths also make waiting → running,
	 * runnable → waiting, syscall → dead and dead → syscall, which the engine never does.
	 */
	static const uint8_t next[8] = {
	    /* newproc1: malg's new G goes idle → dead, then dead → runnable; never idle → runnable */
	    [NPS_GIDLE] = TO(NPS_GDEAD),
	    [NPS_GDEAD] = TO(NPS_GRUNNABLE),
	    [NPS_GRUNNABLE] = TO(NPS_GRUNNING),
	    [NPS_GRUNNING] =
		TO(NPS_GWAITING) | TO(NPS_GRUNNABLE) | TO(NPS_GDEAD) | TO(NPS_GSYSCALL),
	    [NPS_GSYSCALL] = TO(NPS_GRUNNING) | TO(NPS_GRUNNABLE),
	    [NPS_GWAITING] = TO(NPS_GRUNNABLE),
	};
#undef TO
	return from < 8 && to < 8 && (next[from] >> to & 1);
}

static enum fold_wake_cause wake_cause(unsigned fn)
{
	switch (fn) {
	case NPS_FN_NETPOLLREADY:
		return FOLD_WAKE_IO;
	case NPS_FN_NETPOLLDEADLINEIMPL:
		return FOLD_WAKE_TIMEOUT;
	case NPS_FN_POLLUNBLOCK:
		return FOLD_WAKE_CLOSE;
	case NPS_FN_POLLSETDEADLINE:
		return FOLD_WAKE_SETDEADLINE;
	default:
		return FOLD_WAKE_OTHER;
	}
}

static void g_wake(struct nps_fold *f, struct fold_g *g, const struct nps_event *e, uint64_t pos,
		   struct vctx *v)
{
	enum fold_wake_cause cause = FOLD_WAKE_OTHER;
	if (g->reason == NPS_WR_IOWAIT && g->pd) {
		struct fold_pd *p = pd_get(f, g->pd, false);
		if (p) {
			int side = g->mode == 'w';
			uint64_t cur = side ? p->wg : p->rg;
			if (cur == NPS_PDV_G(g->goid) && !p->resync && !g->resync)
				verdict(
				    v, FOLD_VIOLATION, "g-woken-still-parked",
				    side ? p->wg_pos : p->rg_pos,
				    "G%llu made runnable while pd fd %d %s still holds it (nobody "
				    "ran netpollunblock)",
				    (unsigned long long)g->goid, p->fd, side_name(g->mode));
			cause = wake_cause(priv(f)->px[p - f->pds].last_fn[side]);
		}
		if (e->u.gstatus.fn == NPS_FN_PARK_M)
			verdict(v, FOLD_NOTE, "commit-failed", pos,
				"G%llu's netpollblockcommit failed (the pollDesc changed after the "
				"announce): it resumes without parking",
				(unsigned long long)g->goid);
	}
	f->st.wakes[cause]++;
	uint64_t *w[] = {&g->wakes_io, &g->wakes_timeout, &g->wakes_close, &g->wakes_timeout,
			 &g->wakes_other};
	(*w[cause])++;
}

/* Keep goroutines_live and parked_io as g changes status (sign -1 before, +1 after). */
static void g_count(struct nps_fold *f, const struct fold_g *g, int sign)
{
	uint64_t d = sign > 0 ? 1 : (uint64_t)-1;
	if (g->status != NPS_GDEAD && g->status != NPS_GIDLE)
		f->st.goroutines_live += d;
	if (g->status == NPS_GWAITING && g->reason == NPS_WR_IOWAIT)
		f->st.parked_io += d;
}

static void apply_gstatus(struct nps_fold *f, const struct nps_event *e, uint64_t pos,
			  struct vctx *v)
{
	const struct nps_ev_gstatus *s = &e->u.gstatus;
	bool fresh = !fold_find_g(f, s->goid);
	struct fold_g *g = g_get(f, s->goid, true);
	if (!g)
		return;
	struct g_extra *gx = &priv(f)->gx[g - f->gs];
	if (fresh)
		f->st.goroutines_total++;
	if (gx->chain_state)
		fid_wake(f, g, gx, e, v);
	if (!g_legal(s->from, s->to))
		verdict(v, FOLD_VIOLATION, "g-transition", gx->pos,
			"G%llu: Go never changes a goroutine from %s to %s",
			(unsigned long long)s->goid, nps_or_q(nps_gstatus_name(s->from)),
			nps_or_q(nps_gstatus_name(s->to)));
	else if (!fresh && s->from == NPS_GDEAD && s->to == NPS_GRUNNABLE)
		/* newproc1 takes a fresh goid from the P's goidcache: goids are never reused, even
		 * when the g struct is (gfget); so a goid seen before is never created again */
		verdict(
		    v, FOLD_VIOLATION, "goid-reuse", gx->pos,
		    "G%llu created again (dead → runnable by %s): Go gives every new goroutine a "
		    "new goid",
		    (unsigned long long)s->goid, nps_or_q(nps_fn_name(s->fn)));
	else if (fresh && !g->resync && s->from != NPS_GIDLE && s->from != NPS_GDEAD)
		verdict(v, FOLD_VIOLATION, "g-unknown", 0,
			"G%llu first appears %s → %s: a goroutine starts dead → runnable (newproc)",
			(unsigned long long)s->goid, nps_or_q(nps_gstatus_name(s->from)),
			nps_or_q(nps_gstatus_name(s->to)));
	else if (!fresh && !g->resync && g->status != s->from)
		verdict(v, FOLD_VIOLATION, "g-from", gx->pos,
			"G%llu: event says %s → %s but it is %s", (unsigned long long)s->goid,
			nps_or_q(nps_gstatus_name(s->from)), nps_or_q(nps_gstatus_name(s->to)),
			nps_or_q(nps_gstatus_name(g->status)));

	if (s->from == NPS_GWAITING && s->to == NPS_GRUNNABLE)
		g_wake(f, g, e, pos, v);
	if (g->status == NPS_GRUNNING && s->to != NPS_GRUNNING && g->m >= 0) {
		struct fold_m *m = m_get(f, g->m);
		if (m && m->curg == g->goid)
			m->curg = 0;
	}
	if (s->to == NPS_GRUNNING && e->m >= 0) {
		/*
		 * A goroutine running here is not running on the M it was last seen on: after a
		 * loss that M may still name it (the events that took it off were lost).
		 */
		if (g->m >= 0 && g->m != e->m) {
			struct fold_m *old = m_get(f, g->m);
			if (old && old->curg == g->goid)
				old->curg = 0;
		}
		struct fold_m *m = m_get(f, e->m);
		if (m && m->curg && m->curg != g->goid && !g->resync) {
			const struct fold_g *o = fold_find_g(f, m->curg);
			if (o && o->status == NPS_GRUNNING && !o->resync)
				verdict(v, FOLD_VIOLATION, "m-busy", 0,
					"G%llu starts running on M%d which is still running G%llu",
					(unsigned long long)g->goid, e->m,
					(unsigned long long)m->curg);
		}
		/* an M blocked in netpoll runs nothing: its netpoll_end is missing (said once) */
		if (m && m->polling && !m->resync) {
			verdict(v, FOLD_VIOLATION, "netpoll-unpaired", 0,
				"G%llu starts running on M%d, whose netpoll #%llu has not returned",
				(unsigned long long)g->goid, e->m,
				(unsigned long long)m->netpoll_id);
			m->polling = false;
		}
		if (m)
			m->curg = g->goid;
		g->m = e->m;
		g->p = e->p;
	}
	g_count(f, g, -1);
	g->status = (uint8_t)s->to;
	g->since = e->ts;
	g->resync = false;
	gx->pos = pos;
	if (s->to == NPS_GWAITING) {
		g->reason = s->reason;
		g->pd = s->pd;
		g->mode = (char)s->mode;
		const struct fold_pd *p = s->pd ? fold_find_pd(f, s->pd) : NULL;
		g->fd = p ? p->fd : -1;
	} else {
		g->reason = 0;
		g->pd = 0;
		g->mode = 0;
		g->fd = -1;
	}
	g_count(f, g, +1);
}

/* ---- Ms, Ps, netpoll ---- */

static void apply_sched(struct nps_fold *f, const struct nps_event *e)
{
	const struct nps_ev_sched *s = &e->u.sched;
	struct fold_m *m = e->m >= 0 ? m_get(f, e->m) : NULL;
	int16_t pid = s->p2 >= 0 ? s->p2 : e->p;
	struct fold_p *p = pid >= 0 ? p_get(f, pid) : NULL;
	switch (s->op) {
	case NPS_SCHED_ACQUIREP:
	case NPS_SCHED_MWAKE:
		if (m) {
			m->p = pid;
			m->parked = false;
			m->since = e->ts;
		}
		if (p) {
			p->m = e->m;
			p->idle = false;
			p->since = e->ts;
		}
		break;
	case NPS_SCHED_RELEASEP:
		if (m)
			m->p = -1;
		if (p && p->m == e->m)
			p->m = -1;
		break;
	case NPS_SCHED_PIDLEPUT:
		if (p) {
			p->idle = true;
			p->m = -1;
			p->since = e->ts;
		}
		break;
	case NPS_SCHED_PIDLEGET:
		if (p)
			p->idle = false;
		break;
	case NPS_SCHED_NEWM:
	case NPS_SCHED_STARTM:
		if (s->m2 >= 0)
			m_get(f, s->m2);
		break;
	case NPS_SCHED_STOPM:
		if (m) {
			m->parked = true;
			m->since = e->ts;
		}
		break;
	case NPS_SCHED_SPINNING:
	case NPS_SCHED_UNSPIN:
		if (m)
			m->spinning = s->op == NPS_SCHED_SPINNING;
		break;
	default:
		break;
	}
}

/*
 * At most one M blocks in netpoll: findRunnable enters its blocking netpoll only after winning
 * the sched.lastpoll swap to 0, and stores it back when netpoll returns (Go: runtime/proc.go
 * findRunnable). A blocking netpoll (waitms != 0) begun while another M's has not returned
 * breaks that. Ms are few and blocking polls rare next to the other events: a scan suffices.
 */
static void blocking_overlap(struct nps_fold *f, const struct fold_m *m, const struct nps_event *e,
			     struct vctx *v)
{
	for (size_t i = 0; i < f->nms; i++) {
		const struct fold_m *o = &f->ms[i];
		if (o == m || !o->polling || o->waitms == 0)
			continue;
		verdict(
		    v, FOLD_VIOLATION, "netpoll-two-blocking", 0,
		    "M%d starts blocking netpoll #%llu (waitms %d) while M%d is still blocked in "
		    "netpoll #%llu (waitms %d): at most one M polls blocking (findRunnable's "
		    "sched.lastpoll swap)",
		    e->m, (unsigned long long)e->u.netpoll.id, e->u.netpoll.waitms, o->id,
		    (unsigned long long)o->netpoll_id, o->waitms);
		return;
	}
}

/*
 * netpoll_end against the call it ends (netpoll_epoll.go's netpoll): one netpoll_event per entry
 * epoll_pwait returned (skipped, stale, the break pipe's included), and as many goroutines on
 * its list as netpollready took from rg/wg.
 */
static void netpoll_counts(const struct fold_m *m, const struct nps_ev_netpoll *n, struct vctx *v)
{
	if (n->n >= 0 && m->npevs != (uint32_t)n->n)
		verdict(v, FOLD_VIOLATION, "netpoll-count", 0,
			"netpoll #%llu returns %d event%s but handled %u",
			(unsigned long long)n->id, n->n, nps_plural((unsigned long long)n->n),
			m->npevs);
	if (n->ngs != 0xFFFF && m->took != n->ngs)
		verdict(v, FOLD_VIOLATION, "netpoll-count", 0,
			"netpoll #%llu returns %u goroutine%s ready but netpollready took %u",
			(unsigned long long)n->id, n->ngs, nps_plural(n->ngs), m->took);
}

static void apply_netpoll(struct nps_fold *f, const struct nps_event *e, struct vctx *v)
{
	const struct nps_ev_netpoll *n = &e->u.netpoll;
	struct fold_m *m = e->m >= 0 ? m_get(f, e->m) : NULL;
	if (!m)
		return;
	if (e->kind == NPS_EV_NETPOLL_BEGIN) {
		if (m->polling && !m->resync)
			verdict(v, FOLD_VIOLATION, "netpoll-unpaired", 0,
				"M%d starts netpoll #%llu while netpoll #%llu has not returned",
				e->m, (unsigned long long)n->id, (unsigned long long)m->netpoll_id);
		if (priv(f)->nwk)
			wake_overdue(f, e, v);
		if (n->waitms != 0)
			blocking_overlap(f, m, e, v);
		m->polling = true;
		m->npevs = m->took = 0;
		m->klost = priv(f)->klost;
		m->waitms = n->waitms;
		m->netpoll_id = n->id;
		m->since = e->ts;
		f->st.netpolls++;
		if (n->waitms != 0)
			f->st.netpolls_blocking++;
	} else {
		bool paired = m->polling && m->netpoll_id == n->id && !m->resync;
		if (!paired && !m->resync)
			verdict(v, FOLD_VIOLATION, "netpoll-unpaired", 0,
				"M%d: netpoll #%llu returns but it %s", e->m,
				(unsigned long long)n->id,
				m->polling ? "is in another netpoll call" : "never started");
		if (paired && !undecided(f))
			netpoll_counts(m, n, v);
		m->polling = false;
		m->since = e->ts;
		if (priv(f)->nkw || priv(f)->kview)
			kw_end(f, e, paired && m->klost == priv(f)->klost, v);
		if (priv(f)->ndefer)
			fid_defer_end(f, e->m, n->id, v);
	}
	m->resync = false; /* after a loss: from here its calls pair again */
}

/* The epoll bits netpoll looks at (Go: netpoll's mode computation). */
#define K_EPOLLIN    0x001u
#define K_EPOLLOUT   0x004u
#define K_EPOLLERR   0x008u
#define K_EPOLLHUP   0x010u
#define K_EPOLLRDHUP 0x2000u

/* The sides (bit 0 rg, bit 1 wg) netpoll must serve for an epoll mask. */
static unsigned mask_sides(uint32_t ev)
{
	return (ev & (K_EPOLLIN | K_EPOLLRDHUP | K_EPOLLHUP | K_EPOLLERR) ? 1u : 0u) |
	       (ev & (K_EPOLLOUT | K_EPOLLHUP | K_EPOLLERR) ? 2u : 0u);
}

/*
 * What Go 1.22's netpoll (netpoll_epoll.go) does with an event, from its mask and data alone:
 * events 0 skipped; the break pipe's data must come with EPOLLIN alone (anything else throws
 * "break fd ready for something unexpected") and is drained only when delay != 0 (waitms != 0;
 * a non-blocking poll leaves it for the blocking one); no r/w bit skipped; else the tag decides
 * between netpollready and stale (apply_npev judges that). m: the polling M, NULL when its poll
 * is not known (after a loss).
 */
static bool npev_action_fits(const struct fold_priv *pv, const struct fold_m *m,
			     const struct nps_ev_netpoll_event *n)
{
	bool brk = n->action == NPS_NPEV_BREAK_DRAIN || n->action == NPS_NPEV_BREAK_LEAVE;
	if (n->events == 0)
		return n->action == NPS_NPEV_ZERO;
	if (pv->break_data && n->data == pv->break_data)
		return brk && n->events == K_EPOLLIN &&
		       (!m ||
			n->action == (m->waitms ? NPS_NPEV_BREAK_DRAIN : NPS_NPEV_BREAK_LEAVE));
	if (!mask_sides(n->events))
		return n->action == NPS_NPEV_NOMODE;
	return n->action == NPS_NPEV_READY || n->action == NPS_NPEV_STALE ||
	       (brk && !pv->break_data);
}

static void apply_npev(struct nps_fold *f, const struct nps_event *e, uint64_t pos, struct vctx *v)
{
	const struct nps_ev_netpoll_event *n = &e->u.npev;
	char m[100];
	f->st.netpoll_events++;
	if (priv(f)->nkw)
		kw_npev(f, e, pos, v);
	struct fold_m *pm = e->m >= 0 ? m_get(f, e->m) : NULL;
	if (pm && (pm->resync || !pm->polling || pm->netpoll_id != n->id))
		pm = NULL;
	if (pm)
		pm->npevs++;
	if (!npev_action_fits(priv(f), pm, n))
		verdict(v, FOLD_VIOLATION, "npev-action", 0,
			"netpoll #%llu: an event %s data 0x%llx is not one Go's netpoll would %s",
			(unsigned long long)n->id, nps_epoll_mask_format(n->events, m, sizeof(m)),
			(unsigned long long)n->data,
			n->action == NPS_NPEV_READY    ? "make ready"
			: n->action == NPS_NPEV_STALE  ? "ignore as stale"
			: n->action == NPS_NPEV_ZERO   ? "skip as empty"
			: n->action == NPS_NPEV_NOMODE ? "skip for want of a mode"
						       : "take for the break pipe");
	if (n->action == NPS_NPEV_STALE)
		verdict(
		    v, FOLD_NOTE, "stale-event", 0,
		    "netpoll #%llu: epoll event for an older incarnation of pd 0x%llx (tag %u): "
		    "ignored, as Go 1.21+ does",
		    (unsigned long long)n->id, (unsigned long long)n->pd,
		    (unsigned)(n->data & TAG_MASK));
	const struct fold_pd *p = n->pd ? fold_find_pd(f, n->pd) : NULL;
	if (!p || p->resync || !p->open)
		return;
	unsigned tag = (unsigned)(n->data & TAG_MASK);
	if (n->action == NPS_NPEV_READY && tag != (p->seq & TAG_MASK))
		verdict(v, FOLD_VIOLATION, "stale-applied", 0,
			"netpoll #%llu applied an event with tag %u to fd %d whose fdseq is %u (a "
			"stale event must be ignored)",
			(unsigned long long)n->id, tag, p->fd, p->seq);
	if (n->action == NPS_NPEV_STALE && tag == (p->seq & TAG_MASK))
		verdict(v, FOLD_VIOLATION, "fresh-ignored", 0,
			"netpoll #%llu ignored an event for fd %d as stale but its tag %u matches "
			"fdseq",
			(unsigned long long)n->id, p->fd, tag);
}

/*
 * netpollWaiters is one atomic counter; the engine stamps each change in the order the changes
 * happened (it serialises them while the log is on), so every change must follow from the last.
 * It is a Uint32 in Go, and it can wrap below zero for a moment: netpollblockcommit's +1 comes
 * after its CAS to the G, so a netpoll on another M can wake that G and apply its -1 first.
 */
static void apply_waiters(struct nps_fold *f, const struct nps_event *e, uint64_t pos,
			  struct vctx *v)
{
	struct fold_priv *pv = priv(f);
	const struct nps_ev_waiters *w = &e->u.waiters;
	uint32_t before = (uint32_t)f->st.netpoll_waiters;
	if (pv->waiters_known && w->value - (uint32_t)w->delta != before)
		verdict(v, FOLD_VIOLATION, "waiters-count", pv->waiters_pos,
			"netpollWaiters: the change %+d -> %u does not follow from the value %u",
			w->delta, w->value, before);
	else if (pv->waiters_known && w->delta < 0 && w->value > before)
		verdict(
		    v, FOLD_NOTE, "waiters-wrapped", pos,
		    "netpollWaiters wrapped below zero (%u - %d): a wake-up's -1 came before the "
		    "+1 of the netpollblockcommit that parked the G; the +1 follows",
		    before, -w->delta);
	f->st.netpoll_waiters = w->value;
	pv->waiters_known = true;
	pv->waiters_pos = pos;
}

/* ---- kernel and runtime agree (docs/trace-format.md, "Kernel and runtime") ---- */

#define EXPECT_MAX     256 /* epoll_ctl calls the kernel may owe at once; then the oldest is judged */
#define KW_MAX	       256  /* joined waits held at once (one per polling M in practice) */
#define KW_ENTRIES_MAX 4096 /* ready entries kept per wait (Go asks for 128) */
#define WAKE_MAX       4096 /* Gs on netpoll lists awaiting their wake at once */

/* Go's taggedPointerPack on amd64: the pointer in the top 48 bits, fdseq in the low 19. */
static uint64_t netpoll_tag(uint64_t pd, uint32_t seq)
{
	return pd << 16 | (seq & TAG_MASK);
}

static unsigned mode_sides(uint8_t mode)
{
	return mode == 'r' ? 1u : mode == 'w' ? 2u : mode == 'r' + 'w' ? 3u : 0u;
}

static const char *sides_name(unsigned s)
{
	return s == 3 ? "rg and wg" : s == 2 ? "wg" : s == 1 ? "rg" : "no side";
}

/* The thread of an event: its own tid, or its M's (hand-made traces leave tid out). */
static uint32_t event_tid(const struct nps_fold *f, const struct nps_event *e)
{
	const struct fold_m *m = e->tid ? NULL : fold_find_m(f, e->m);
	return e->tid ? e->tid : m ? m->tid : 0;
}

/* "epoll_pwait", "epoll_ctl DEL of fd 9", "write on fd 5": what a kernel event shows. */
static void kernel_call(const struct nps_event *e, char *buf, size_t len)
{
	const char *n = e->kind == NPS_EV_EPOLL_WAIT || e->kind == NPS_EV_EPOLL_READY
			    ? nps_wait_sub_name(e->sub)
			: e->kind == NPS_EV_SYSCALL ? nps_sys_op_name(e->u.sys.op)
						    : nps_kind_name(e->kind);
	if (e->kind == NPS_EV_EPOLL_CTL)
		snprintf(buf, len, "epoll_ctl %s of fd %d", nps_or_q(nps_ctl_op_name(e->u.ctl.op)),
			 e->fd);
	else if (e->kind == NPS_EV_SYSCALL)
		snprintf(buf, len, "%s on fd %d", n ? n : "?", e->fd);
	else
		snprintf(buf, len, "%s", n ? n : "?");
}

/* Append to a message buffer, clamped. */
__attribute__((format(printf, 4, 5))) static size_t cat(char *b, size_t len, size_t o,
							const char *fmt, ...)
{
	va_list ap;
	if (o + 1 >= len)
		return o;
	va_start(ap, fmt);
	int w = vsnprintf(b + o, len - o, fmt, ap);
	va_end(ap);
	return w < 0 ? o : o + (size_t)w < len ? o + (size_t)w : len - 1;
}

void fold_set_kernel_view(struct nps_fold *f)
{
	priv(f)->kview = true;
}

bool fold_kernel_view(const struct nps_fold *f)
{
	return priv((struct nps_fold *)f)->kview;
}

bool fold_kernel_only(const struct nps_fold *f)
{
	return f->st.kernel_events == f->st.events;
}

size_t fold_interest_breaks(const struct nps_fold *f)
{
	uint64_t data = priv((struct nps_fold *)f)->break_data;
	size_t n = 0;
	for (size_t i = 0; data && i < f->ninterest; i++)
		n += f->interest[i].data == data;
	return n;
}

/* netpollopen / netpollclose: the same thread's epoll_ctl is owed by the kernel. */
static void expect_missing(struct nps_fold *f, const struct ctl_expect *x, const char *why,
			   struct vctx *v);

static void expect_push(struct nps_fold *f, const struct nps_event *e, uint64_t pos, struct vctx *v)
{
	struct fold_priv *pv = priv(f);
	const struct nps_ev_ctl *c = &e->u.ctl;
	uint32_t tid = event_tid(f, e);
	if (!tid)
		return;
	if (pv->nexp == EXPECT_MAX) {
		/* the bound: the oldest has waited for its thread's next epoll call long enough */
		struct ctl_expect old = pv->exp[0];
		memmove(pv->exp, pv->exp + 1, --pv->nexp * sizeof(*pv->exp));
		expect_missing(f, &old, "its thread made no call the kernel saw since", v);
	}
	if (grow((void **)&pv->exp, &pv->cap_exp, pv->nexp, sizeof(*pv->exp), NULL, 0))
		return;
	struct ctl_expect *x = &pv->exp[pv->nexp++];
	x->pos = pos;
	x->tid = tid;
	x->closed_by = 0;
	if (e->kind == NPS_EV_NETPOLL_END) {
		x->op = EXPECT_WAIT;
		x->data = e->u.netpoll.id;
		x->fd = -1;
		return;
	}
	const struct fold_pd *p = c->pd ? fold_find_pd(f, c->pd) : NULL;
	x->op = e->kind == NPS_EV_NETPOLLOPEN ? NPS_EPOLL_CTL_ADD : NPS_EPOLL_CTL_DEL;
	/* what netpollopen must register: the pollDesc with its fdseq as the fold knows them */
	x->data = p && p->open && !p->resync ? netpoll_tag(c->pd, p->seq) : c->data;
	x->fd = e->fd;
	x->epfd = c->epfd;
	x->ret = c->ret;
}

static void expect_missing(struct nps_fold *f, const struct ctl_expect *x, const char *why,
			   struct vctx *v)
{
	bool add = x->op == NPS_EPOLL_CTL_ADD;
	if (undecided(f))
		return;
	if (x->op == EXPECT_WAIT) {
		f->st.lists_checked++;
		verdict(v, FOLD_VIOLATION, "kernel-wait-missing", x->pos,
			"netpoll #%llu: the kernel shows no epoll_wait from thread %u for it (%s); "
			"Go's netpoll always calls one",
			(unsigned long long)x->data, x->tid, why);
		return;
	}
	f->st.ctl_checked++;
	verdict(v, FOLD_VIOLATION, add ? "kernel-add-missing" : "kernel-del-missing", x->pos,
		"%s of fd %d: the kernel shows no epoll_ctl %s from thread %u%s (%s)",
		add ? "netpollopen" : "netpollclose", x->fd, add ? "ADD" : "DEL", x->tid,
		add ? "" : " before the fd is closed", why);
}

/* The kernel's epoll_ctl for expectation x: the same call, as the runtime made it? */
static void expect_match(struct nps_fold *f, const struct ctl_expect *x, const struct nps_event *k,
			 struct vctx *v)
{
	const struct nps_ev_ctl *c = &k->u.ctl;
	bool add = x->op == NPS_EPOLL_CTL_ADD;
	char d[200], m[100];
	size_t o = 0;
	if (undecided(f))
		return;
	f->st.ctl_checked++;
	/* an event the probe could not read (k->sub NPS_CTL_UNREAD) has no mask or data to judge */
	bool event = add && k->sub != NPS_CTL_UNREAD;
	if (event && c->events != NPS_NETPOLL_EVENTS)
		o = cat(d, sizeof(d), o, "events 0x%x (%s) where netpollopen registers 0x%x",
			c->events, nps_epoll_mask_format(c->events, m, sizeof(m)),
			NPS_NETPOLL_EVENTS);
	if (event && c->data != x->data)
		o = cat(d, sizeof(d), o, "%sdata 0x%llx where the pollDesc's pd+fdseq is 0x%llx",
			o ? ", " : "", (unsigned long long)c->data, (unsigned long long)x->data);
	if (c->epfd != x->epfd)
		o = cat(d, sizeof(d), o, "%sepfd %d where the runtime's is %d", o ? ", " : "",
			c->epfd, x->epfd);
	if (c->ret != x->ret)
		o = cat(d, sizeof(d), o, "%sreturned %d where the runtime got %d", o ? ", " : "",
			c->ret, x->ret);
	if (!o) {
		f->st.ctl_ok++;
		return;
	}
	verdict(v, FOLD_VIOLATION, add ? "kernel-add-mismatch" : "kernel-del-mismatch", x->pos,
		"the kernel's epoll_ctl %s of fd %d is not what %s did: %s", add ? "ADD" : "DEL",
		x->fd, add ? "netpollopen" : "netpollclose", d);
}

/*
 * A kernel event of thread tid settles what that thread owed: the runtime stamps netpollopen
 * and netpollclose just before making the epoll_ctl, so the call's kernel event is the thread's
 * next one. Deciding on the thread's next kernel event (not its next runtime event) lets a
 * kernel loss, which the probes report in front of the next record they could write, cancel
 * the expectation first (apply_lost) instead of turning into a false "missing".
 */
static void expect_resolve(struct nps_fold *f, const struct nps_event *e, struct vctx *v)
{
	struct fold_priv *pv = priv(f);
	for (size_t i = 0; i < pv->nexp;) {
		if (pv->exp[i].tid != e->tid) {
			i++;
			continue;
		}
		struct ctl_expect x = pv->exp[i];
		memmove(&pv->exp[i], &pv->exp[i + 1], (pv->nexp - i - 1) * sizeof(*pv->exp));
		pv->nexp--;
		char call[48], why[80];
		bool same = x.op != EXPECT_WAIT && e->kind == NPS_EV_EPOLL_CTL &&
			    e->u.ctl.op == x.op && e->fd == x.fd;
		if (same && x.closed_by) {
			snprintf(why, sizeof(why), "it came after thread %u closed the fd",
				 x.closed_by);
			expect_missing(f, &x, why, v);
			return;
		}
		if (same) {
			expect_match(f, &x, e, v);
			return;
		}
		kernel_call(e, call, sizeof(call));
		snprintf(why, sizeof(why), "its next call the kernel saw is %s", call);
		expect_missing(f, &x, why, v);
	}
}

/*
 * The runtime's close(2) of fd e->fd (Go: (*FD).destroy, after runtime_pollClose): a DEL still
 * owed for that fd did not come before the close. The kernel's event for the DEL is decided at
 * its thread's next kernel event, but close(2) is a runtime event: without this mark a DEL
 * after the close (a runtime that closes first, so that the kernel drops the registration itself
 * and the DEL fails with EBADF, as the runtime's netpollclose then says too) would pass.
 */
static void expect_closed(struct nps_fold *f, const struct nps_event *e)
{
	struct fold_priv *pv = priv(f);
	for (size_t i = 0; i < pv->nexp; i++)
		if (pv->exp[i].op == NPS_EPOLL_CTL_DEL && pv->exp[i].fd == e->fd &&
		    !pv->exp[i].closed_by)
			pv->exp[i].closed_by = event_tid(f, e);
}

int fold_end(struct nps_fold *f, struct fold_verdict *out, int max)
{
	struct fold_priv *pv = priv(f);
	struct vctx v = {out, out ? max : 0, 0, f, 0};
	/*
	 * A loss announced and never reported: nothing was judged after it (verdict), so the trace
	 * could hide anything there. Its report is written before the footer (docs/event-stream.md).
	 */
	if (pv->losing_rings) {
		pv->losing_rings = 0;
		memset(pv->losing, 0, sizeof(pv->losing));
		verdict(&v, FOLD_VIOLATION, "lost-unreported", pv->losing_pos,
			"M%d announced a loss of sim events and never reported it: nothing after "
			"the announcement could be judged",
			pv->losing_m);
	}
	/*
	 * The header says the probes watched from the start, the runtime polled, and the kernel
	 * showed nothing, not even a loss: the probes watched another process (a pid namespace
	 * they did not follow, say). Nothing the kernel owed can be judged then.
	 */
	if (pv->kview && !f->st.kernel_events && f->st.netpolls && !pv->silent_said) {
		pv->silent_said = true;
		verdict(&v, FOLD_VIOLATION, "kernel-silent", 0,
			"the probes were on from the start, but the kernel shows none of the "
			"runtime's %llu netpoll call%s (no epoll_wait, no epoll_ctl, no loss): "
			"they watched another process",
			(unsigned long long)f->st.netpolls, nps_plural(f->st.netpolls));
	}
	/* no kernel event at all: the probes were off whatever the header said */
	for (; pv->end_at < pv->nexp && f->st.kernel_events && v.n < v.max; pv->end_at++)
		expect_missing(f, &pv->exp[pv->end_at], "the trace ends without it", &v);
	if (pv->end_at >= pv->nexp || !f->st.kernel_events || !v.max)
		pv->nexp = pv->end_at = 0;
	return v.n;
}

/* ---- joined epoll_wait returns against what netpoll handled ---- */

static struct kwait *kw_find(struct fold_priv *pv, uint64_t id)
{
	for (size_t i = 0; i < pv->nkw; i++)
		if (pv->kw[i].id == id)
			return &pv->kw[i];
	return NULL;
}

/* Take w out of use; its slot keeps its entry buffer for the next wait. */
static void kw_release(struct fold_priv *pv, struct kwait *w)
{
	struct kwait t = *w;
	if (w->fid)
		pv->nfid--;
	t.fid = false;
	*w = pv->kw[pv->nkw - 1];
	pv->kw[--pv->nkw] = t;
}

static struct kwait *kw_new(struct fold_priv *pv)
{
	if (pv->nkw == KW_MAX)
		kw_release(pv, &pv->kw[0]);
	if (pv->nkw == pv->cap_kw) {
		size_t nc = pv->cap_kw ? pv->cap_kw * 2 : 4;
		struct kwait *n = realloc(pv->kw, nc * sizeof(*n));
		if (!n)
			return NULL;
		memset(n + pv->cap_kw, 0, (nc - pv->cap_kw) * sizeof(*n));
		pv->kw = n;
		pv->cap_kw = nc;
	}
	struct kwait *k = &pv->kw[pv->nkw++];
	struct kw_entry *ent = k->ent;
	uint32_t cap = k->cap;
	memset(k, 0, sizeof(*k));
	k->ent = ent;
	k->cap = cap;
	return k;
}

/* One ready-list-mismatch per call: what follows a first difference says nothing new. */
__attribute__((format(printf, 3, 4))) static void list_mismatch(struct kwait *k, struct vctx *v,
								const char *fmt, ...)
{
	char t[200];
	va_list ap;
	if (k->reported)
		return;
	k->reported = true;
	va_start(ap, fmt);
	vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	verdict(v, FOLD_VIOLATION, "ready-list-mismatch", k->pos, "netpoll #%llu: %s",
		(unsigned long long)k->id, t);
}

static void kw_wait(struct nps_fold *f, const struct nps_event *e, uint64_t pos)
{
	struct fold_priv *pv = priv(f);
	const struct nps_ev_wait *w = &e->u.wait;
	pv->last_wait_id = w->id;
	pv->last_wait_sub = e->sub;
	if (w->id & NPS_KERNEL_ID_BIT) {
		f->st.waits_unjoined++;
		return;
	}
	struct kwait *k = kw_find(pv, w->id);
	if (k && k->fid) {
		pv->nfid--;
		k->fid = false;
	}
	/*
	 * A second return for one call restarts the comparison. Go makes one after EINTR (a poll
	 * that does not sleep retries); any other second return means the runtime's netpoll_end
	 * and the next netpoll_begin of this thread were lost and the join kept the old id: the
	 * runtime's lost event, written when its ring has room again, follows later.
	 */
	if (!k && !(k = kw_new(pv)))
		return;
	k->reported = false;
	k->id = w->id;
	k->pos = pos;
	k->ret = w->ret;
	k->sub = e->sub;
	k->nent = 0;
	k->handled = 0;
}

static void kw_ready(struct nps_fold *f, const struct nps_event *e)
{
	struct fold_priv *pv = priv(f);
	const struct nps_ev_ready *r = &e->u.ready;
	struct kwait *k = r->id & NPS_KERNEL_ID_BIT ? NULL : kw_find(pv, r->id);
	if (!k || k->nent >= KW_ENTRIES_MAX)
		return;
	if (k->nent == k->cap) {
		uint32_t nc = k->cap ? k->cap * 2 : 16;
		struct kw_entry *n = realloc(k->ent, nc * sizeof(*n));
		if (!n)
			return;
		k->ent = n;
		k->cap = nc;
	}
	k->ent[k->nent++] = (struct kw_entry){r->data, r->events, r->index, e->fd, false};
}

static struct kw_entry *kw_entry(struct kwait *k, uint32_t index)
{
	if (index < k->nent && k->ent[index].index == index)
		return &k->ent[index];
	for (uint32_t i = 0; i < k->nent; i++)
		if (k->ent[i].index == index)
			return &k->ent[i];
	return NULL;
}

/*
 * The fidelity window of one ready entry closes (the call's next netpoll_event or its end):
 * netpollready must have left every side the kernel's mask names pdReady. A netpollready that
 * finds pdReady changes nothing and emits nothing, so a side that held pdReady at any point of
 * the window counts as served.
 */
static void fid_close(struct nps_fold *f, struct kwait *k, struct vctx *v)
{
	struct fold_priv *pv = priv(f);
	k->fid = false;
	pv->nfid--;
	const struct fold_pd *p = &f->pds[k->fid_pdi];
	if (p->resync || undecided(f))
		return; /* a runtime loss hid the change: undecided */
	const struct kw_entry *x = &k->ent[k->fid_ent];
	unsigned want = mask_sides(x->events), chose = mode_sides(k->fid_mode);
	unsigned missing = want & ~k->fid_ready;
	char m[100];
	if (!missing && chose == want) {
		f->st.fidelity_checked++;
		f->st.fidelity_ok++;
		return;
	}
	if (chose == want && fid_defer(f, k, missing))
		return; /* counted when judged */
	f->st.fidelity_checked++;
	nps_epoll_mask_format(x->events, m, sizeof(m));
	if (chose != want)
		verdict(
		    v, FOLD_VIOLATION, "fidelity", k->pos,
		    "netpoll #%llu: the kernel returned fd %d %s (ready[%u]): netpollready must "
		    "serve %s, netpoll served %s",
		    (unsigned long long)k->id, p->fd, m, x->index, sides_name(want),
		    sides_name(chose));
	else
		fid_short(p, k->id, k->pos, x->events, x->index, missing, v);
}

/* The verdict of a window that closed with a side (missing) not pdReady. */
static void fid_short(const struct fold_pd *p, uint64_t id, uint64_t pos, uint32_t events,
		      uint32_t index, unsigned missing, struct vctx *v)
{
	char m[100], h[32];
	nps_epoll_mask_format(events, m, sizeof(m));
	verdict(v, FOLD_VIOLATION, "fidelity", pos,
		"netpoll #%llu: the kernel returned fd %d %s (ready[%u]) but %s holds %s after "
		"netpollready: it should be pdReady",
		(unsigned long long)id, p->fd, m, index, missing & 1 ? "rg" : "wg",
		nps_pdv_goname(missing & 1 ? p->rg : p->wg, h, sizeof(h)));
}

/*
 * Two Ms in netpoll at once can both be handed the same fd (two edges). The first one's
 * netpollready CASes the side to pdReady and stamps its pd_state after the CAS; the second,
 * finding pdReady, changes nothing (netpollunblock returns nil) and may close its window before
 * that stamp. So a window that closes short while other Ms are inside netpoll waits for them:
 * their netpollready to pdReady serves it (fid_defer_pd_state), their calls' ends without one
 * condemn it (fid_defer_end). False when nobody else polls, or no room: judged now.
 */
static bool fid_defer(struct nps_fold *f, const struct kwait *k, unsigned missing)
{
	struct fold_priv *pv = priv(f);
	if (pv->ndefer == sizeof(pv->defer) / sizeof(pv->defer[0]))
		return false;
	struct fid_defer *d = &pv->defer[pv->ndefer];
	d->nwait = 0;
	for (size_t i = 0; i < f->nms && d->nwait < 4; i++)
		if (f->ms[i].polling && !f->ms[i].resync && f->ms[i].id != k->fid_m) {
			d->m[d->nwait] = f->ms[i].id;
			d->call[d->nwait++] = f->ms[i].netpoll_id;
		}
	if (!d->nwait)
		return false;
	const struct kw_entry *x = &k->ent[k->fid_ent];
	d->pdi = k->fid_pdi;
	d->missing = (uint8_t)missing;
	d->id = k->id;
	d->pos = k->pos;
	d->events = x->events;
	d->idx = x->index;
	pv->ndefer++;
	return true;
}

static void fid_defer_remove(struct fold_priv *pv, size_t i)
{
	pv->defer[i] = pv->defer[--pv->ndefer];
}

/* netpollready made a side pdReady: a deferred window on it is served. */
static void fid_defer_pd_state(struct nps_fold *f, const struct nps_event *e)
{
	struct fold_priv *pv = priv(f);
	const struct nps_ev_pd_state *s = &e->u.pd_state;
	const struct fold_pd *p = fold_find_pd(f, s->pd);
	unsigned bit = s->mode == 'w' ? 2u : 1u;
	if (!p || s->to != NPS_PDV_READY || s->fn != NPS_FN_NETPOLLREADY)
		return;
	for (size_t i = 0; i < pv->ndefer;) {
		struct fid_defer *d = &pv->defer[i];
		if (d->pdi == (uint32_t)(p - f->pds) && (d->missing & bit)) {
			d->missing &= (uint8_t)~bit;
			if (!d->missing) {
				f->st.fidelity_checked++;
				f->st.fidelity_ok++;
				fid_defer_remove(pv, i);
				continue;
			}
		}
		i++;
	}
}

/* M m's netpoll call ended: the windows that waited for it alone are short. */
static void fid_defer_end(struct nps_fold *f, int16_t m, uint64_t call, struct vctx *v)
{
	struct fold_priv *pv = priv(f);
	for (size_t i = 0; i < pv->ndefer;) {
		struct fid_defer *d = &pv->defer[i];
		for (uint8_t j = 0; j < d->nwait; j++)
			if (d->m[j] == m && d->call[j] == call) {
				d->m[j] = d->m[--d->nwait];
				d->call[j] = d->call[d->nwait];
				break;
			}
		if (d->nwait) {
			i++;
			continue;
		}
		f->st.fidelity_checked++;
		if (!undecided(f))
			fid_short(&f->pds[d->pdi], d->id, d->pos, d->events, d->idx, d->missing, v);
		fid_defer_remove(pv, i);
	}
}

static void fid_open(struct nps_fold *f, struct kwait *k, const struct kw_entry *x,
		     const struct nps_event *e, uint64_t pos)
{
	struct fold_priv *pv = priv(f);
	const struct nps_ev_netpoll_event *n = &e->u.npev;
	const struct fold_pd *p = n->pd ? fold_find_pd(f, n->pd) : NULL;
	if (!p || p->resync || !p->open)
		return;
	if (!p->registered && !pv->px[p - f->pds].was_registered)
		return;
	k->fid = true;
	pv->nfid++;
	k->fid_ent = (uint32_t)(x - k->ent);
	k->fid_pd = n->pd;
	k->fid_pdi = (uint32_t)(p - f->pds);
	k->fid_pos = pos;
	k->fid_mode = n->mode;
	k->fid_m = e->m;
	k->fid_ready = (p->rg == NPS_PDV_READY ? 1u : 0u) | (p->wg == NPS_PDV_READY ? 2u : 0u);
	k->fid_sides = 0;
}

/* Take wake_expect i out of the list (order does not matter: swap the last in). */
static void wake_remove(struct fold_priv *pv, size_t i)
{
	pv->gx[pv->wk[i].g].wk = 0;
	if (i != --pv->nwk) {
		pv->wk[i] = pv->wk[pv->nwk];
		pv->gx[pv->wk[i].g].wk = (uint32_t)i + 1;
	}
}

static int wake_push(struct fold_priv *pv, uint32_t g, uint64_t pos, int16_t m)
{
	if (pv->nwk == WAKE_MAX) /* the bound: forget one, undecided */
		wake_remove(pv, 0);
	if (grow((void **)&pv->wk, &pv->cap_wk, pv->nwk, sizeof(*pv->wk), NULL, 0))
		return -ENOMEM;
	pv->wk[pv->nwk++] = (struct wake_expect){pos, g, m};
	pv->gx[g].wk = (uint32_t)pv->nwk;
	return 0;
}

/*
 * The M exits: a G its last call took stays undecided (Go's findRunnable abandons the list when
 * the runtime is exiting).
 */
static void wake_forget_m(struct fold_priv *pv, int16_t m)
{
	for (size_t i = 0; i < pv->nwk;)
		if (pv->wk[i].m == m)
			wake_remove(pv, i);
		else
			i++;
}

/* An rg/wg change while windows are open: is it the one netpollready owes? */
static void fid_pd_state(struct nps_fold *f, const struct nps_event *e)
{
	struct fold_priv *pv = priv(f);
	const struct nps_ev_pd_state *s = &e->u.pd_state;
	unsigned bit = s->mode == 'w' ? 2u : 1u;
	for (size_t i = 0; i < pv->nkw; i++) {
		struct kwait *k = &pv->kw[i];
		if (!k->fid || k->fid_pd != s->pd)
			continue;
		if (s->from == NPS_PDV_READY || s->to == NPS_PDV_READY)
			k->fid_ready |= bit;
		if (s->fn != NPS_FN_NETPOLLREADY || s->to != NPS_PDV_READY || e->m != k->fid_m)
			continue;
		k->fid_sides |= bit; /* for fold_chain_pd */
		k->fid_from[bit >> 1] = s->from;
		struct fold_g *g =
		    NPS_PDV_IS_G(s->from) ? g_get(f, NPS_PDV_GOID(s->from), false) : NULL;
		if (!g)
			continue;
		/* the G is on netpoll's list now: the call's caller must make it runnable */
		struct g_extra *gx = &pv->gx[g - f->gs];
		const struct kw_entry *x = &k->ent[k->fid_ent];
		if (!gx->wk && wake_push(pv, (uint32_t)(g - f->gs), k->fid_pos, e->m))
			continue;
		gx->chain = (struct fold_chain){k->id,	   s->from,  x->fd >= 0 ? x->fd : e->fd,
						x->events, x->index, k->sub,
						s->mode};
		gx->chain_state = CHAIN_PENDING;
	}
}

/* A goroutine netpollready took for a kernel entry changes status: it must become runnable. */
static void fid_wake(struct nps_fold *f, struct fold_g *g, struct g_extra *gx,
		     const struct nps_event *e, struct vctx *v)
{
	const struct nps_ev_gstatus *s = &e->u.gstatus;
	uint8_t state = gx->chain_state;
	gx->chain_state = CHAIN_NONE;
	if (state != CHAIN_PENDING)
		return; /* the chain was told with the previous change */
	struct fold_priv *pv = priv(f);
	if (!gx->wk)
		return; /* forgotten (the bound) */
	uint64_t pos = pv->wk[gx->wk - 1].pos;
	wake_remove(pv, gx->wk - 1);
	if (g->resync || undecided(f))
		return; /* unknown after a runtime loss */
	f->st.fidelity_wakes_checked++;
	if (s->from == NPS_GWAITING && s->to == NPS_GRUNNABLE) {
		f->st.fidelity_wakes_ok++;
		gx->chain_state = CHAIN_TOLD;
		return;
	}
	verdict(v, FOLD_VIOLATION, "fidelity", pos,
		"G%llu was taken from fd %d %s by netpollready (netpoll #%llu, kernel ready[%u]) "
		"but its next status change is %s → %s: netpoll's caller must make it runnable",
		(unsigned long long)g->goid, gx->chain.fd, side_name(gx->chain.mode),
		(unsigned long long)gx->chain.netpoll_id, gx->chain.index,
		nps_or_q(nps_gstatus_name(s->from)), nps_or_q(nps_gstatus_name(s->to)));
}

/*
 * The M starts another netpoll: every G its last call took must be runnable by now (Go's
 * callers, findRunnable, sysmon and injectglist, make the list runnable before polling again).
 * One still waiting was lost: nothing will ever wake it.
 */
static void wake_overdue(struct nps_fold *f, const struct nps_event *e, struct vctx *v)
{
	struct fold_priv *pv = priv(f);
	for (size_t i = 0; i < pv->nwk;) {
		struct wake_expect w = pv->wk[i];
		if (w.m != e->m) {
			i++;
			continue;
		}
		wake_remove(pv, i);
		struct fold_g *g = &f->gs[w.g];
		struct g_extra *gx = &pv->gx[w.g];
		if (gx->chain_state != CHAIN_PENDING || g->resync)
			continue;
		gx->chain_state = CHAIN_NONE;
		if (undecided(f))
			continue;
		f->st.fidelity_wakes_checked++;
		verdict(v, FOLD_VIOLATION, "fidelity", w.pos,
			"G%llu was taken from fd %d %s by netpollready (netpoll #%llu, kernel "
			"ready[%u]) but is still %s when M%d polls again (netpoll #%llu): a lost "
			"wake-up",
			(unsigned long long)g->goid, gx->chain.fd, side_name(gx->chain.mode),
			(unsigned long long)gx->chain.netpoll_id, gx->chain.index,
			nps_or_q(nps_gstatus_name(g->status)), e->m,
			(unsigned long long)e->u.netpoll.id);
	}
}

/* netpoll handled one returned event: the kernel's entry at that index must be the same. */
static void kw_npev(struct nps_fold *f, const struct nps_event *e, uint64_t pos, struct vctx *v)
{
	struct fold_priv *pv = priv(f);
	const struct nps_ev_netpoll_event *n = &e->u.npev;
	struct kwait *k = kw_find(pv, n->id);
	char a[100], b[100];
	if (!k)
		return;
	if (k->fid)
		fid_close(f, k, v);
	k->handled++;
	struct kw_entry *x = kw_entry(k, n->index);
	if (!x) {
		if (k->nent < KW_ENTRIES_MAX)
			list_mismatch(
			    k, v,
			    "netpoll handled entry [%u] (%s) but the kernel's %s returned "
			    "%d entries",
			    n->index, nps_epoll_mask_format(n->events, a, sizeof(a)),
			    nps_or_q(nps_wait_sub_name(k->sub)), k->ret);
		return;
	}
	if (x->done) {
		list_mismatch(k, v, "netpoll handled entry [%u] (%s) twice", n->index,
			      nps_epoll_mask_format(n->events, a, sizeof(a)));
		return;
	}
	x->done = true;
	if (x->events != n->events || x->data != n->data) {
		list_mismatch(k, v,
			      "entry [%u]: the kernel returned %s data 0x%llx, netpoll handled %s "
			      "data 0x%llx",
			      n->index, nps_epoll_mask_format(x->events, a, sizeof(a)),
			      (unsigned long long)x->data,
			      nps_epoll_mask_format(n->events, b, sizeof(b)),
			      (unsigned long long)n->data);
		return;
	}
	if (n->action == NPS_NPEV_READY)
		fid_open(f, k, x, e, pos);
}

/*
 * netpoll_end: the ready list of the kernel's return, joined to this call, against what netpoll
 * handled. judged: the call's begin was seen, with no kernel loss since. Every netpoll calls
 * epoll_wait (netpoll_epoll.go: EpollWait before any return), so a call the kernel showed none
 * for owes one, judged at its thread's next kernel event or at the end (a kernel loss reported
 * meanwhile cancels it, as it does an owed epoll_ctl).
 */
static void kw_end(struct nps_fold *f, const struct nps_event *e, bool judged, struct vctx *v)
{
	struct fold_priv *pv = priv(f);
	const struct nps_ev_netpoll *n = &e->u.netpoll;
	struct kwait *k = kw_find(pv, n->id);
	if (!k) {
		if (judged && pv->kview && !undecided(f))
			expect_push(f, e, v->pos, v);
		return;
	}
	if (k->fid)
		fid_close(f, k, v);
	const char *call = nps_or_q(nps_wait_sub_name(k->sub));
	if (undecided(f)) {
		kw_release(pv, k);
		return;
	}
	f->st.lists_checked++;
	if (n->n != k->ret)
		list_mismatch(k, v, "netpoll says %s returned %d but the kernel's returned %d",
			      call, n->n, k->ret);
	else if (k->handled != (uint32_t)(k->ret > 0 ? k->ret : 0))
		list_mismatch(k, v, "netpoll handled %u of the %d entries the kernel's %s returned",
			      k->handled, k->ret, call);
	else if (k->nent < KW_ENTRIES_MAX && k->nent != (uint32_t)(k->ret > 0 ? k->ret : 0))
		list_mismatch(k, v, "the kernel's %s returned %d but its ready list has %u entries",
			      call, k->ret, k->nent);
	if (!k->reported)
		f->st.lists_ok++;
	kw_release(pv, k);
}

/* A kernel loss: what the kernel owed may be in it, and the interest set may be stale. */
static void agree_kernel_lost(struct nps_fold *f)
{
	struct fold_priv *pv = priv(f);
	pv->nexp = 0;
	for (size_t i = 0; i < f->ninterest; i++)
		f->interest[i].resync = true;
}

/* A runtime loss: netpoll's half of every open comparison may be gone. */
static void agree_sim_lost(struct nps_fold *f)
{
	struct fold_priv *pv = priv(f);
	while (pv->nkw)
		kw_release(pv, &pv->kw[pv->nkw - 1]);
	pv->nwk = 0;
	for (size_t i = 0; i < f->ngs; i++) {
		pv->gx[i].chain_state = CHAIN_NONE;
		pv->gx[i].wk = 0;
	}
}

bool fold_chain_pd(const struct nps_fold *f, uint64_t pd, uint8_t mode, struct fold_chain *out)
{
	const struct fold_priv *pv = priv(f);
	unsigned bit = mode == 'w' ? 2u : 1u;
	for (size_t i = 0; i < pv->nkw; i++) {
		const struct kwait *k = &pv->kw[i];
		if (!k->fid || k->fid_pd != pd || !(k->fid_sides & bit))
			continue;
		const struct kw_entry *x = &k->ent[k->fid_ent];
		const struct fold_pd *p = &f->pds[k->fid_pdi];
		out->netpoll_id = k->id;
		out->from = k->fid_from[bit >> 1];
		out->fd = x->fd >= 0 ? x->fd : p->fd;
		out->events = x->events;
		out->index = x->index;
		out->sub = k->sub;
		out->mode = bit == 2 ? 'w' : 'r';
		return true;
	}
	return false;
}

unsigned fold_ready_sub(const struct nps_fold *f, const struct nps_event *ready)
{
	const struct fold_priv *pv = priv(f);
	return ready->u.ready.id == pv->last_wait_id ? pv->last_wait_sub : ready->sub;
}

bool fold_chain_g(const struct nps_fold *f, uint64_t goid, struct fold_chain *out)
{
	uint32_t i = hm_get(&priv(f)->g_idx, goid);
	const struct g_extra *gx = i ? &priv(f)->gx[i - 1] : NULL;
	if (!gx || gx->chain_state != CHAIN_TOLD)
		return false;
	*out = gx->chain;
	return true;
}

static void apply_lost(struct nps_fold *f, const struct nps_event *e, struct vctx *v)
{
	struct fold_priv *pv = priv(f);
	unsigned src = e->u.lost.source < 3 ? e->u.lost.source : 0;
	f->st.lost[src] += e->u.lost.count;
	if (src == NPS_SRC_SIM && e->m >= -1) {
		/* A sim ring's loss: announced when it begins (sub 1), reported when it ends. */
		unsigned r = (unsigned)(e->m + 1);
		if (e->sub == 1 && !pv->losing[r]) {
			pv->losing[r] = 1;
			pv->losing_rings++;
			pv->losing_pos = v->pos;
			pv->losing_m = e->m;
		} else if (e->sub != 1 && pv->losing[r]) {
			pv->losing[r] = 0;
			pv->losing_rings--;
		}
	}
	if (e->sub == 1)
		verdict(v, FOLD_NOTE, "lost", 0,
			"%s events are being lost from here on (the count follows): nothing is "
			"judged until the state is resynchronised",
			nps_src_name(src) ? nps_src_name(src) : "unknown");
	else
		verdict(v, FOLD_NOTE, "lost", 0,
			"%llu %s event%s lost here: state is resynchronised from the next events",
			(unsigned long long)e->u.lost.count,
			nps_src_name(src) ? nps_src_name(src) : "unknown",
			nps_plural(e->u.lost.count));
	if (src != NPS_SRC_SIM) {
		/* kernel losses do not touch the runtime's state, only the agreement rules' */
		pv->klost++;
		agree_kernel_lost(f);
		return;
	}
	agree_sim_lost(f);
	pv->lost_any = true;
	pv->waiters_known = false;
	for (size_t i = 0; i < f->npds; i++) {
		f->pds[i].resync = true;
		pv->px[i].resync[0] = pv->px[i].resync[1] = true;
	}
	for (size_t i = 0; i < f->ngs; i++)
		f->gs[i].resync = true;
	for (size_t i = 0; i < pv->nfds; i++)
		pv->fds[i].resync = true;
	for (size_t i = 0; i < f->nms; i++) {
		f->ms[i].polling = false;
		f->ms[i].resync = true; /* its next netpoll event is the truth */
	}
}

int fold_apply(struct nps_fold *f, const struct nps_event *e, uint64_t pos,
	       struct fold_verdict *out, int max)
{
	struct vctx v = {out, out ? max : 0, 0, f, pos};
	size_t npds = f->npds;
	if (f->st.events && e->ts < f->last_ts) {
		if (e->src == NPS_SRC_SIM || e->src == NPS_SRC_KERNEL)
			f->st.late[e->src]++;
		verdict(&v, FOLD_VIOLATION, "ts-order", priv(f)->last_pos,
			"time goes backwards: %llu ns before the previous event%s",
			(unsigned long long)(f->last_ts - e->ts),
			e->src == NPS_SRC_KERNEL ? " (a kernel event that reached the live merge "
						   "after later events: the footer's \"late\")"
						 : "");
	}
	if (!f->st.events)
		f->first_ts = e->ts;
	if (e->ts > f->last_ts || !f->st.events) {
		f->last_ts = e->ts;
		priv(f)->last_pos = pos; /* the latest event so far, for a ts-order verdict */
	}
	f->st.events++;
	if (e->kind < NPS_EV__COUNT)
		f->st.by_kind[e->kind]++;
	if (e->m >= 0 && e->src == NPS_SRC_SIM) {
		struct fold_m *m = m_get(f, e->m);
		if (!m)
			return -ENOMEM;
		if (e->tid)
			m->tid = e->tid;
	}
	if (e->p >= 0 && e->src == NPS_SRC_SIM && !p_get(f, e->p))
		return -ENOMEM;
	if (e->src == NPS_SRC_KERNEL) {
		struct fold_priv *pv = priv(f);
		pv->kview = true;
		f->st.kernel_events++;
		/* a dead process makes no call; a loss is reported when the probes stop, after */
		if (pv->exit_pos && e->kind != NPS_EV_LOST)
			verdict(&v, FOLD_VIOLATION,
				e->kind == NPS_EV_EXIT ? "exit-twice" : "after-exit", pv->exit_pos,
				"%s after the process exited",
				e->kind == NPS_EV_EXIT ? "a second exit"
						       : "an event of the process");
		if (e->kind == NPS_EV_EXIT && !pv->exit_pos)
			pv->exit_pos = pos;
		if (pv->nexp && e->kind != NPS_EV_LOST)
			expect_resolve(f, e, &v);
	}

	switch (e->kind) {
	case NPS_EV_PD_STATE:
		apply_pd_state(f, e, pos, &v);
		break;
	case NPS_EV_PD_OPEN:
	case NPS_EV_PD_FREE:
	case NPS_EV_PD_EVICT:
	case NPS_EV_PD_DEADLINE:
	case NPS_EV_PD_EXPIRE:
	case NPS_EV_PD_EVENTERR:
		apply_pd(f, e, &v);
		break;
	case NPS_EV_GSTATUS:
		apply_gstatus(f, e, pos, &v);
		break;
	case NPS_EV_NETPOLL_BEGIN:
	case NPS_EV_NETPOLL_END:
		apply_netpoll(f, e, &v);
		break;
	case NPS_EV_NETPOLL_EVENT:
		apply_npev(f, e, pos, &v);
		break;
	case NPS_EV_NETPOLL_BREAK:
		/* the model's exit wakes its poller where Go's exit(0) needs nothing: not Go's */
		if (e->u.brk.result == NPS_BRK_WROTE && e->u.brk.fn == NPS_FN_MAIN)
			f->st.breaks_exit++;
		else if (e->u.brk.result == NPS_BRK_WROTE)
			f->st.breaks++;
		break;
	case NPS_EV_NETPOLLINIT:
		/* netpollGenericInit comes before any goroutine can wait: netpollWaiters is 0 */
		f->st.netpoll_waiters = 0;
		priv(f)->waiters_known = true;
		priv(f)->break_data = e->u.init.break_data;
		break;
	case NPS_EV_WAITERS:
		apply_waiters(f, e, pos, &v);
		break;
	case NPS_EV_NETPOLLOPEN:
	case NPS_EV_NETPOLLCLOSE:
	case NPS_EV_EPOLL_CTL:
		apply_ctl(f, e, pos, &v);
		break;
	case NPS_EV_EPOLL_CREATE:
		if (e->u.create.ret >= 0)
			interest_forget_epfd(f, e->u.create.ret);
		break;
	case NPS_EV_EXEC: {
		/*
		 * The kernel's interest set was the old program's: its CLOEXEC epoll fds are
		 * closed, and what survives comes back as seeded ADDs after the exec (as the
		 * join learns it, traces/join.c).
		 */
		struct fold_priv *pv = priv(f);
		hm_free(&pv->int_idx);
		memset(&pv->int_idx, 0, sizeof(pv->int_idx));
		f->ninterest = 0;
		f->st.interest = 0;
		break;
	}
	case NPS_EV_SCHED: {
		const struct fold_m *m = e->m >= 0 ? fold_find_m(f, e->m) : NULL;
		if (e->u.sched.op == NPS_SCHED_MEXIT && m && m->polling && !m->resync)
			verdict(&v, FOLD_VIOLATION, "netpoll-unpaired", 0,
				"M%d exits inside netpoll #%llu, which never returned", e->m,
				(unsigned long long)m->netpoll_id);
		apply_sched(f, e);
		if (e->u.sched.op == NPS_SCHED_MEXIT && priv(f)->nwk)
			wake_forget_m(priv(f), e->m);
		break;
	}
	case NPS_EV_SYSCALL:
		if (e->src == NPS_SRC_SIM && e->u.sys.op == NPS_SYS_CLOSE && priv(f)->nexp)
			expect_closed(f, e);
		/* the probes see only the break pipe's reads and writes (docs/kernel-view.md);
		 * the runtime's own syscalls, two a round trip, count nothing here */
		if (e->src == NPS_SRC_KERNEL) {
			f->st.kbreak_writes += e->u.sys.op == NPS_SYS_WRITE;
			f->st.kbreak_reads += e->u.sys.op == NPS_SYS_READ;
		}
		apply_syscall(f, e, &v);
		break;
	case NPS_EV_THROW: {
		const char *msg = nps_throw_msg(e->u.thr.msg);
		verdict(&v, FOLD_VIOLATION, "throw", 0, "fatal error: %s",
			msg ? msg : "unknown throw");
		break;
	}
	case NPS_EV_LOST:
		apply_lost(f, e, &v);
		break;
	case NPS_EV_NOTE:
		apply_note(f, e);
		break;
	case NPS_EV_EPOLL_WAIT:
		f->st.epoll_waits++;
		kw_wait(f, e, pos);
		break;
	case NPS_EV_EPOLL_READY:
		kw_ready(f, e);
		break;
	default:
		break;
	}
	if (f->npds != npds)
		pds_free_update(f);
	return v.n;
}
