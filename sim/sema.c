// SPDX-License-Identifier: MIT
/*
 * Runtime semaphores and sync.WaitGroup. Go: runtime/sema.go (semacquire1, semrelease1) and
 * sync/waitgroup.go. internal/poll's FD uses a semaphore (csema) so that Close returns only
 * after the fd is really closed; scenarios use WaitGroups to wait for their goroutines.
 *
 * SIMPLIFICATION: Go keeps waiters in a treap per bucket of a 251-entry table and supports
 * LIFO queueing and direct handoff; here each bucket holds a FIFO list of waiting Gs and
 * semrelease1 readies the first waiter on the address.
 */
#include "sim/runtime.h"
#include "sim/sim.h"

#include <stdio.h>

#define semTabSize 251

struct semaRoot {
	struct mutex lock;
	_Atomic uint32_t nwait; /* number of waiters, read without the lock */
	struct g *head, *tail;	/* FIFO of waiting Gs, all addresses of this bucket */
};

static struct semaRoot semtable[semTabSize];

static struct semaRoot *rootFor(uint32_t *addr)
{
	return &semtable[((uintptr_t)addr >> 3) % semTabSize];
}

static bool cansemacquire(uint32_t *addr)
{
	_Atomic uint32_t *a = (_Atomic uint32_t *)addr;
	for (;;) {
		uint32_t v = atomic_load(a);
		if (v == 0)
			return false;
		if (atomic_compare_exchange_weak(a, &v, v - 1))
			return true;
	}
}

static bool parkunlock_c(struct g *gp, void *lockp)
{
	(void)gp;
	unlock(lockp);
	return true;
}

void semacquire1(uint32_t *addr, uint8_t reason)
{
	if (cansemacquire(addr))
		return;
	struct semaRoot *root = rootFor(addr);
	struct g *gp = getm()->curg;
	for (;;) {
		lock(&root->lock);
		/* Announce first, so that semrelease1 does not take the no-waiter fast path. */
		atomic_fetch_add(&root->nwait, 1);
		if (cansemacquire(addr)) {
			atomic_fetch_sub(&root->nwait, 1);
			unlock(&root->lock);
			return;
		}
		gp->semaaddr = addr;
		gp->param = NULL;
		gp->waitlink = NULL;
		if (root->tail)
			root->tail->waitlink = gp;
		else
			root->head = gp;
		root->tail = gp;
		gopark(parkunlock_c, &root->lock, reason);
		/* Woken by semrelease1, which handed us a ticket (param) or just a chance. */
		gp = getm()->curg;
		if (gp->param || cansemacquire(addr))
			return;
	}
}

void semrelease1(uint32_t *addr, bool handoff)
{
	struct semaRoot *root = rootFor(addr);
	_Atomic uint32_t *a = (_Atomic uint32_t *)addr;
	atomic_fetch_add(a, 1);
	if (atomic_load(&root->nwait) == 0)
		return;
	lock(&root->lock);
	if (atomic_load(&root->nwait) == 0) {
		unlock(&root->lock);
		return;
	}
	struct g *prev = NULL, *gp = root->head;
	while (gp && gp->semaaddr != addr) {
		prev = gp;
		gp = gp->waitlink;
	}
	if (gp) {
		if (prev)
			prev->waitlink = gp->waitlink;
		else
			root->head = gp->waitlink;
		if (root->tail == gp)
			root->tail = prev;
		gp->waitlink = NULL;
		atomic_fetch_sub(&root->nwait, 1);
		/* With handoff the waiter takes the count we just added (Go's ticket). */
		if (handoff && cansemacquire(addr))
			gp->param = gp;
	}
	unlock(&root->lock);
	if (gp)
		goready(gp);
}

void wg_add(struct waitgroup *wg, int delta)
{
	uint64_t state = atomic_fetch_add(&wg->state, (uint64_t)(int64_t)delta << 32) +
			 ((uint64_t)(int64_t)delta << 32);
	int32_t v = (int32_t)(state >> 32);
	uint32_t w = (uint32_t)state;
	if (v < 0)
		fatalpanic("sync: negative WaitGroup counter"); /* sync/waitgroup.go: a panic */
	/* SIMPLIFICATION: no "WaitGroup misuse" panics (Add concurrent with Wait, reuse before
	 * Wait returned): the lessons use each WaitGroup once, from one goroutine. */
	if (v > 0 || w == 0)
		return;
	/* Counter is 0 and there are waiters: release them all and reset the state. */
	atomic_store(&wg->state, 0);
	for (; w != 0; w--)
		semrelease1(&wg->sema, false);
}

void wg_done(struct waitgroup *wg)
{
	wg_add(wg, -1);
}

void wg_wait(struct waitgroup *wg)
{
	for (;;) {
		uint64_t state = atomic_load(&wg->state);
		if ((state >> 32) == 0)
			return;
		if (atomic_compare_exchange_weak(&wg->state, &state, state + 1)) {
			/*
			 * Go 1.22's WaitGroup.Wait parks through sync_runtime_Semacquire
			 * (runtime/sema.go) with waitReasonSemacquire: a goroutine dump says
			 * [semacquire] (waitReasonSyncWaitGroupWait came after 1.22).
			 */
			semacquire1(&wg->sema, NPS_WR_SEMACQUIRE);
			return;
		}
	}
}
