// SPDX-License-Identifier: MIT
/*
 * The current M, in thread-local storage. Kept in its own file, behind a call the compiler cannot
 * see through, because a goroutine can park on one OS thread and resume on another: code that
 * cached the TLS address across a park would read the old thread's M. Go avoids the problem
 * with a dedicated register for g; a C coroutine has to re-read TLS after every switch.
 */
#include "sim/runtime.h"

static __thread struct m *tls_m;

__attribute__((noinline)) struct m *getm(void)
{
	struct m *mp = tls_m;
	__asm__ __volatile__("" ::: "memory");
	return mp;
}

__attribute__((noinline)) void setm(struct m *mp)
{
	tls_m = mp;
}
