// SPDX-License-Identifier: MIT
/* The live merge of runtime and kernel events (traces/livemerge.h). */
#include "traces/livemerge.h"

#include <errno.h>
#include <stdlib.h>

struct kev {
	struct nps_event e;
	uint64_t seq; /* arrival order: ties on ts keep it */
};

struct livemerge {
	struct evmerge *sim;
	bool kernel;
	uint64_t kernel_upto; /* kernel events up to here have all arrived */
	struct kev *heap;
	size_t n, cap;
	uint64_t seq;
	/* the drain in progress */
	evmerge_cb cb;
	void *ctx;
};

static bool kev_less(const struct kev *a, const struct kev *b)
{
	return a->e.ts != b->e.ts ? a->e.ts < b->e.ts : a->seq < b->seq;
}

static void heap_swap(struct kev *a, struct kev *b)
{
	struct kev t = *a;
	*a = *b;
	*b = t;
}

struct livemerge *livemerge_new(struct evmerge *sim, bool kernel)
{
	struct livemerge *lm = calloc(1, sizeof(*lm));
	if (!lm)
		return NULL;
	lm->sim = sim;
	lm->kernel = kernel;
	return lm;
}

void livemerge_free(struct livemerge *lm)
{
	if (!lm)
		return;
	free(lm->heap);
	free(lm);
}

int livemerge_push_kernel(struct livemerge *lm, const struct nps_event *e)
{
	if (lm->n == lm->cap) {
		size_t cap = lm->cap ? lm->cap * 2 : 1024;
		struct kev *h = realloc(lm->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		lm->heap = h;
		lm->cap = cap;
	}
	size_t i = lm->n++;
	lm->heap[i].e = *e;
	lm->heap[i].seq = lm->seq++;
	while (i > 0 && kev_less(&lm->heap[i], &lm->heap[(i - 1) / 2])) {
		heap_swap(&lm->heap[i], &lm->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	return 0;
}

void livemerge_kernel_upto(struct livemerge *lm, uint64_t upto)
{
	if (upto > lm->kernel_upto)
		lm->kernel_upto = upto;
}

static void heap_pop(struct livemerge *lm)
{
	lm->heap[0] = lm->heap[--lm->n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < lm->n && kev_less(&lm->heap[l], &lm->heap[m]))
			m = l;
		if (r < lm->n && kev_less(&lm->heap[r], &lm->heap[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(&lm->heap[i], &lm->heap[m]);
		i = m;
	}
}

/* Deliver the kernel events at or before ts. */
static int kernel_until(struct livemerge *lm, uint64_t ts)
{
	while (lm->n > 0 && lm->heap[0].e.ts <= ts) {
		struct nps_event e = lm->heap[0].e;
		heap_pop(lm);
		int rc = lm->cb(lm->ctx, &e);
		if (rc)
			return rc;
	}
	return 0;
}

static int sim_event(void *ctx, const struct nps_event *e)
{
	struct livemerge *lm = ctx;
	int rc = kernel_until(lm, e->ts);
	return rc ? rc : lm->cb(lm->ctx, e);
}

int livemerge_drain(struct livemerge *lm, bool final, evmerge_cb cb, void *ctx)
{
	lm->cb = cb;
	lm->ctx = ctx;
	uint64_t limit = (!lm->kernel || final) ? UINT64_MAX : lm->kernel_upto;
	uint64_t upto = 0;
	int rc = 0;
	if (lm->sim)
		rc = evmerge_drain(lm->sim, final, limit, &upto, sim_event, lm);
	else
		upto = limit;
	if (rc)
		return rc;
	return kernel_until(lm, upto < limit ? upto : limit);
}

void livemerge_undelivered(struct livemerge *lm, uint64_t end, uint64_t *sim, uint64_t *kernel,
			   uint64_t *first)
{
	*first = UINT64_MAX;
	*sim = lm->sim ? evmerge_pending_upto(lm->sim, end, first) : 0;
	*kernel = 0;
	for (size_t i = 0; i < lm->n; i++) {
		if (lm->heap[i].e.ts > end)
			continue;
		++*kernel;
		if (lm->heap[i].e.ts < *first)
			*first = lm->heap[i].e.ts;
	}
}
