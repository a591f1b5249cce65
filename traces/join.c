// SPDX-License-Identifier: MIT
/*
 * The join of kernel and runtime events (traces/join.h). Three small open-addressing hash
 * tables: thread -> (M, current netpoll id, last kernel wait id and what it became),
 * (epfd, fd) -> registration, and (epfd, data) -> fd. Every table is grown before anything is
 * changed, so that an allocation failure leaves the state and the event untouched.
 */
#include "traces/join.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct jslot {
	uint64_t k1, k2;
	uint64_t v[4];
	uint8_t state; /* 0 empty, 1 used, 2 deleted */
};

struct jmap {
	struct jslot *s;
	size_t cap; /* power of two, or 0 */
	size_t used, tomb;
};

struct nps_join {
	struct jmap tids;    /* (tid, 0) -> v[0] netpoll id, v[1] last kernel wait id,
			      * v[2] the id it was given, v[3] M + 1 (0: unknown) */
	struct jmap by_fd;   /* (epfd, fd) -> v[0] events, v[1] data, v[2] since */
	struct jmap by_data; /* (epfd, data) -> v[0] fd, v[1] how many fds have that data */
	int32_t rt_epfd;     /* the runtime's epoll fd (NETPOLLINIT), -1 unknown */
	struct join_stats st;
};

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL + (a << 6));

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x;
}

static struct jslot *jmap_find(const struct jmap *m, uint64_t k1, uint64_t k2)
{
	if (!m->cap)
		return NULL;
	for (size_t i = mix(k1, k2) & (m->cap - 1), n = 0; n < m->cap;
	     i = (i + 1) & (m->cap - 1), n++) {
		struct jslot *s = &m->s[i];

		if (s->state == 0)
			return NULL;
		if (s->state == 1 && s->k1 == k1 && s->k2 == k2)
			return s;
	}
	return NULL;
}

/* Make room for one more insertion without failing later. 0 or -ENOMEM. */
static int jmap_reserve(struct jmap *m)
{
	if (m->cap && (m->used + m->tomb + 1) * 2 <= m->cap)
		return 0;
	size_t cap = m->cap ? m->cap : 16;
	while ((m->used + 1) * 2 > cap)
		cap *= 2;
	struct jslot *s = calloc(cap, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->s[i].state != 1)
			continue;
		size_t j = mix(m->s[i].k1, m->s[i].k2) & (cap - 1);

		while (s[j].state)
			j = (j + 1) & (cap - 1);
		s[j] = m->s[i];
	}
	free(m->s);
	m->s = s;
	m->cap = cap;
	m->tomb = 0;
	return 0;
}

/* The slot for (k1, k2), inserted (zeroed) when missing. Call jmap_reserve() first. */
static struct jslot *jmap_put(struct jmap *m, uint64_t k1, uint64_t k2)
{
	struct jslot *s = jmap_find(m, k1, k2), *tomb = NULL;

	if (s)
		return s;
	size_t i = mix(k1, k2) & (m->cap - 1);
	while (m->s[i].state) {
		if (m->s[i].state == 2 && !tomb)
			tomb = &m->s[i];
		i = (i + 1) & (m->cap - 1);
	}
	s = tomb ? tomb : &m->s[i];
	if (tomb)
		m->tomb--;
	memset(s, 0, sizeof(*s));
	s->k1 = k1;
	s->k2 = k2;
	s->state = 1;
	m->used++;
	return s;
}

static void jmap_del(struct jmap *m, struct jslot *s)
{
	s->state = 2;
	m->used--;
	m->tomb++;
}

struct nps_join *join_new(void)
{
	struct nps_join *j = calloc(1, sizeof(*j));

	if (j)
		j->rt_epfd = -1;
	return j;
}

void join_free(struct nps_join *j)
{
	if (!j)
		return;
	free(j->tids.s);
	free(j->by_fd.s);
	free(j->by_data.s);
	free(j);
}

static uint64_t fdkey(int32_t epfd, int32_t fd)
{
	return (uint64_t)(uint32_t)epfd << 32 | (uint32_t)fd;
}

/*
 * (epfd, data) -> fd. Two fds may be registered with the same data (epoll does not mind); the
 * data then names neither: the count says so. The tables have room (reserved by the caller).
 */
static void data_ref(struct nps_join *j, int32_t epfd, uint64_t data, int32_t fd)
{
	struct jslot *d = jmap_put(&j->by_data, (uint64_t)(uint32_t)epfd, data);

	if (!d->v[1]++)
		d->v[0] = (uint64_t)(uint32_t)fd;
}

static void data_unref(struct nps_join *j, int32_t epfd, uint64_t data, int32_t fd)
{
	struct jslot *d = jmap_find(&j->by_data, (uint64_t)(uint32_t)epfd, data);

	if (!d)
		return;
	if (d->v[1] <= 1) {
		jmap_del(&j->by_data, d);
		return;
	}
	if (--d->v[1] > 1)
		return;
	/* One fd is left with this data: which one (rare, so a scan). */
	for (size_t i = 0; i < j->by_fd.cap; i++) {
		const struct jslot *s = &j->by_fd.s[i];

		if (s->state == 1 && (int32_t)(s->k1 >> 32) == epfd && s->v[1] == data &&
		    (int32_t)(uint32_t)s->k1 != fd) {
			d->v[0] = (uint32_t)s->k1;
			return;
		}
	}
}

/* Register (or re-register) fd on epfd. The tables have room (reserved by the caller). */
static void interest_set(struct nps_join *j, int32_t epfd, int32_t fd, uint32_t events,
			 uint64_t data, uint64_t since)
{
	struct jslot *s = jmap_find(&j->by_fd, fdkey(epfd, fd), 0);

	if (s)
		data_unref(j, epfd, s->v[1], fd); /* MOD: the old data no longer names it */
	else
		s = jmap_put(&j->by_fd, fdkey(epfd, fd), 0);
	s->v[0] = events;
	s->v[1] = data;
	s->v[2] = since;
	data_ref(j, epfd, data, fd);
}

static void interest_del(struct nps_join *j, int32_t epfd, int32_t fd)
{
	struct jslot *s = jmap_find(&j->by_fd, fdkey(epfd, fd), 0);

	if (!s)
		return;
	data_unref(j, epfd, s->v[1], fd);
	jmap_del(&j->by_fd, s);
}

int join_interest_add(struct nps_join *j, int32_t epfd, int32_t fd, uint32_t events, uint64_t data)
{
	if (jmap_reserve(&j->by_fd) || jmap_reserve(&j->by_data))
		return -ENOMEM;
	interest_set(j, epfd, fd, events, data, 0);
	return 0;
}

int32_t join_interest_fd(const struct nps_join *j, int32_t epfd, uint64_t data)
{
	const struct jslot *d = jmap_find(&j->by_data, (uint64_t)(uint32_t)epfd, data);

	if (!d)
		return -1;
	return d->v[1] > 1 ? JOIN_FD_AMBIGUOUS : (int32_t)d->v[0];
}

static int cmp_interest(const void *a, const void *b)
{
	const struct join_interest *x = a, *y = b;

	if (x->epfd != y->epfd)
		return x->epfd < y->epfd ? -1 : 1;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

size_t join_interest_list(const struct nps_join *j, struct join_interest *out, size_t max)
{
	size_t n = 0;
	struct join_interest *all = NULL;

	if (!j->by_fd.used || !max)
		return j->by_fd.used;
	all = malloc(j->by_fd.used * sizeof(*all));
	for (size_t i = 0; i < j->by_fd.cap; i++) {
		const struct jslot *s = &j->by_fd.s[i];

		if (s->state != 1)
			continue;
		if (all) {
			all[n].epfd = (int32_t)(s->k1 >> 32);
			all[n].fd = (int32_t)(uint32_t)s->k1;
			all[n].events = (uint32_t)s->v[0];
			all[n].data = s->v[1];
			all[n].since = s->v[2];
		}
		n++;
	}
	if (!all)
		return n; /* no memory to sort: report the count only */
	qsort(all, n, sizeof(*all), cmp_interest);
	memcpy(out, all, (n < max ? n : max) * sizeof(*all));
	free(all);
	return n;
}

void join_stats(const struct nps_join *j, struct join_stats *st)
{
	*st = j->st;
	st->interest = j->by_fd.used;
}

static void jmap_clear(struct jmap *m)
{
	free(m->s);
	memset(m, 0, sizeof(*m));
}

/*
 * An exec: the old program's threads are gone and its CLOEXEC fds closed, epoll fds included
 * (Go's are). What survives (an epoll fd without CLOEXEC, and those of its registrations whose
 * files are still open) is not known from the stream: the interest set starts empty, and who
 * read /proc after the exec adds it back as seeded ADDs (cmd_trace.c).
 */
static void forget_program(struct nps_join *j)
{
	jmap_clear(&j->tids);
	jmap_clear(&j->by_fd);
	jmap_clear(&j->by_data);
	j->rt_epfd = -1;
}

/*
 * epoll_create1 returned the number epfd: an epoll instance that had it before was closed, and
 * its registrations with it.
 */
static void forget_epfd(struct nps_join *j, int32_t epfd)
{
	for (size_t i = 0; i < j->by_fd.cap; i++) {
		const struct jslot *s = &j->by_fd.s[i];
		if (s->state == 1 && (int32_t)(s->k1 >> 32) == epfd)
			interest_del(j, epfd, (int32_t)(uint32_t)s->k1);
	}
}

static void fill_m(const struct jslot *t, struct nps_event *e)
{
	if (t && t->v[3] && e->m < 0)
		e->m = (nps_s16)(t->v[3] - 1);
}

static int apply_kernel(struct nps_join *j, struct nps_event *e)
{
	struct jslot *t = jmap_find(&j->tids, e->tid, 0);

	switch (e->kind) {
	case NPS_EV_EXEC:
		forget_program(j);
		return 0;
	case NPS_EV_EPOLL_CREATE:
		if (e->u.create.ret >= 0)
			forget_epfd(j, e->u.create.ret);
		return 0;
	case NPS_EV_EPOLL_CTL:
		if (e->u.ctl.ret != 0)
			break;
		if (e->u.ctl.op == NPS_EPOLL_CTL_ADD || e->u.ctl.op == NPS_EPOLL_CTL_MOD) {
			if (jmap_reserve(&j->by_fd) || jmap_reserve(&j->by_data))
				return -ENOMEM;
			interest_set(j, e->u.ctl.epfd, e->fd, e->u.ctl.events, e->u.ctl.data,
				     e->ts);
		} else if (e->u.ctl.op == NPS_EPOLL_CTL_DEL) {
			interest_del(j, e->u.ctl.epfd, e->fd);
		}
		j->st.ctl_applied++;
		break;
	case NPS_EV_EPOLL_WAIT:
		j->st.waits++;
		if (!t) {
			if (jmap_reserve(&j->tids))
				return -ENOMEM;
			t = jmap_put(&j->tids, e->tid, 0);
		}
		t->v[1] = e->u.wait.id;
		if (t->v[0] && (j->rt_epfd < 0 || e->u.wait.epfd == j->rt_epfd)) {
			e->u.wait.id = t->v[0];
			j->st.waits_joined++;
		}
		t->v[2] = e->u.wait.id;
		break;
	case NPS_EV_EPOLL_READY:
		j->st.readies++;
		if (t && t->v[1] == e->u.ready.id && t->v[2] != t->v[1]) {
			e->u.ready.id = t->v[2];
			j->st.readies_joined++;
		}
		if (e->fd < 0) {
			int32_t fd = join_interest_fd(j, e->u.ready.epfd, e->u.ready.data);

			e->fd = fd >= 0 ? fd : -1;
			j->st.readies_fd += fd >= 0;
			j->st.readies_ambiguous += fd == JOIN_FD_AMBIGUOUS;
		}
		break;
	default:
		break;
	}
	fill_m(t, e);
	return 0;
}

int join_apply(struct nps_join *j, struct nps_event *e)
{
	return e->src == NPS_SRC_KERNEL ? apply_kernel(j, e) : join_learn(j, e);
}

int join_learn(struct nps_join *j, const struct nps_event *e)
{
	struct jslot *t;

	if (e->src != NPS_SRC_SIM)
		return 0;
	if (e->kind == NPS_EV_NETPOLLINIT) {
		j->rt_epfd = e->u.init.epfd;
		return 0;
	}
	t = jmap_find(&j->tids, e->tid, 0);
	if (!t && (e->m >= 0 || e->kind == NPS_EV_NETPOLL_BEGIN)) {
		if (jmap_reserve(&j->tids))
			return -ENOMEM;
		t = jmap_put(&j->tids, e->tid, 0);
	}
	if (!t)
		return 0;
	if (e->m >= 0)
		t->v[3] = (uint64_t)e->m + 1;
	if (e->kind == NPS_EV_NETPOLL_BEGIN)
		t->v[0] = e->u.netpoll.id;
	else if (e->kind == NPS_EV_NETPOLL_END && t->v[0] == e->u.netpoll.id)
		t->v[0] = 0;
	return 0;
}
