// SPDX-License-Identifier: MIT
/*
 * Locks and notes on futexes. Go: runtime/lock_futex.go (lock2, unlock2, notewakeup,
 * notesleep, notetsleep). The lock spins a little (active then passive) before it sleeps, as
 * Go's does; a note is a one-shot flag a single M sleeps on.
 */
#include "sim/runtime.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum {
	mutex_unlocked = 0,
	mutex_locked = 1,
	mutex_sleeping = 2,
	active_spin = 4,
	active_spin_cnt = 30,
	passive_spin = 1,
};

static void futexsleep(_Atomic uint32_t *addr, uint32_t val, int64_t ns)
{
	struct timespec ts, *tsp = NULL;
	if (ns >= 0) {
		ts.tv_sec = ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		tsp = &ts;
	}
	/* Spurious wake-ups and EINTR are fine: every caller re-checks its condition. */
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, tsp, NULL, 0);
}

static void futexwakeup(_Atomic uint32_t *addr, int cnt)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, cnt, NULL, NULL, 0);
}

static inline void procyield(int n)
{
	for (int i = 0; i < n; i++)
		__builtin_ia32_pause();
}

void lock(struct mutex *l)
{
	uint32_t v = atomic_exchange(&l->key, mutex_locked);
	if (v == mutex_unlocked)
		return;
	/*
	 * wait is the state to set when taking the lock: mutex_sleeping once we have slept,
	 * because someone else may be sleeping too and must be woken at unlock.
	 */
	uint32_t wait = v;
	int spin = ncpu > 1 ? active_spin : 0;
	for (;;) {
		for (int i = 0; i < spin; i++) {
			while (atomic_load(&l->key) == mutex_unlocked) {
				uint32_t exp = mutex_unlocked;
				if (atomic_compare_exchange_strong(&l->key, &exp, wait))
					return;
			}
			procyield(active_spin_cnt);
		}
		for (int i = 0; i < passive_spin; i++) {
			while (atomic_load(&l->key) == mutex_unlocked) {
				uint32_t exp = mutex_unlocked;
				if (atomic_compare_exchange_strong(&l->key, &exp, wait))
					return;
			}
			sched_yield();
		}
		v = atomic_exchange(&l->key, mutex_sleeping);
		if (v == mutex_unlocked)
			return;
		wait = mutex_sleeping;
		futexsleep(&l->key, mutex_sleeping, -1);
	}
}

void unlock(struct mutex *l)
{
	uint32_t v = atomic_exchange(&l->key, mutex_unlocked);
	/* INVARIANT: Go throws "unlock of unlocked lock" */
	if (v == mutex_unlocked)
		throw("unlock of unlocked lock");
	if (v == mutex_sleeping)
		futexwakeup(&l->key, 1);
}

void noteclear(struct note *n)
{
	atomic_store(&n->key, 0);
}

void notewakeup(struct note *n)
{
	uint32_t old = atomic_exchange(&n->key, 1);
	/* INVARIANT: a note is one-shot */
	if (old != 0) {
		fprintf(stderr, "notewakeup - double wakeup (%u)\n", old);
		throw("notewakeup - double wakeup");
	}
	futexwakeup(&n->key, 1);
}

void notesleep(struct note *n)
{
	while (atomic_load(&n->key) == 0)
		futexsleep(&n->key, 0, -1);
}

bool notetsleep(struct note *n, int64_t ns)
{
	if (ns < 0) {
		notesleep(n);
		return true;
	}
	int64_t deadline = nanotime() + ns;
	while (atomic_load(&n->key) == 0) {
		futexsleep(&n->key, 0, ns);
		if (atomic_load(&n->key) != 0)
			break;
		ns = deadline - nanotime();
		if (ns <= 0)
			return false;
	}
	return true;
}

void runtime_usleep(uint32_t usec)
{
	struct timespec ts = {usec / 1000000, (long)(usec % 1000000) * 1000};
	syscall(SYS_nanosleep, &ts, NULL);
}
