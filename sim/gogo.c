// SPDX-License-Identifier: MIT
/*
 * Goroutine stacks and the switch between them (Go: runtime/stack.go stackalloc, asm_amd64.s
 * gogo/mcall). A stack is an mmap'd region with a PROT_NONE guard page below it, so an
 * overflow faults instead of corrupting a neighbour. The switch itself is nps_swapctx
 * (asm_amd64.S); around it, this file tells AddressSanitizer and ThreadSanitizer that the
 * thread changes stacks, which they cannot see on their own.
 *
 * SIMPLIFICATION: stacks have a fixed size (no growth, no copying): Go 1.22 starts goroutines
 * with 2 KiB (stackMin; adaptivestackstart then starts them at the average size scanned) and
 * grows them; here each gets NPS_STACK_SIZE of address space, of which only the touched pages
 * cost memory.
 */
#include "sim/gogo.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(NPS_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(NPS_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

void nps_swapctx(void **save_sp, void *new_sp);
void nps_gostart_tramp(void);

int stack_alloc(struct g *gp, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size = (size + page - 1) & ~(page - 1);
	size_t total = size + page;
	void *mem = mmap(NULL, total, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	if (mprotect(mem, page, PROT_NONE) != 0) {
		int err = errno;
		munmap(mem, total);
		return -err;
	}
	gp->stack_map = mem;
	gp->map_size = total;
	gp->stack_lo = (char *)mem + page;
	gp->stack_size = size;
#if defined(NPS_TSAN)
	gp->tsan_fiber = __tsan_create_fiber(0);
#endif
	return 0;
}

void stack_free(struct g *gp)
{
	if (gp->stack_map)
		munmap(gp->stack_map, gp->map_size);
#if defined(NPS_TSAN)
	if (gp->tsan_fiber)
		__tsan_destroy_fiber(gp->tsan_fiber);
	gp->tsan_fiber = NULL;
#endif
	gp->stack_map = NULL;
}

void stack_prepare(struct g *gp)
{
	/*
	 * Lay out the frame nps_swapctx pops: six callee-saved registers (zero) and the return
	 * address nps_gostart_tramp. sp = top - 72 leaves rsp 16-byte aligned in the trampoline,
	 * so its call into C sees the ABI's alignment.
	 */
	/*
	 * Colour the stack: start each goroutine at a different offset within its top page, so
	 * that the hot frames of many goroutines do not all fall into the same cache sets (every
	 * stack is page-aligned). Memory layout only; nothing a program can observe.
	 */
	static _Atomic uint32_t colour;
	uintptr_t off = (atomic_fetch_add_explicit(&colour, 1, memory_order_relaxed) * 192) % 2048;
	uintptr_t top = ((uintptr_t)gp->stack_lo + gp->stack_size - off) & ~(uintptr_t)15;
	uintptr_t *sp = (uintptr_t *)(top - 72);
	memset(sp, 0, 72);
	sp[6] = (uintptr_t)nps_gostart_tramp;
	gp->sched.sp = sp;
}

void g0_init(struct g *g0)
{
	pthread_attr_t attr;
	void *addr = NULL;
	size_t size = 0;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &addr, &size);
		pthread_attr_destroy(&attr);
	}
	g0->stack_lo = addr;
	g0->stack_size = size;
#if defined(NPS_TSAN)
	g0->tsan_fiber = __tsan_get_current_fiber();
#endif
}

void gogo_switch(struct g *from, struct g *to)
{
#if defined(NPS_ASAN)
	/* A dying goroutine's fake stack frames are dropped (NULL save slot). */
	__sanitizer_start_switch_fiber(from->dying ? NULL : &from->asan_fake, to->stack_lo,
				       to->stack_size);
#endif
#if defined(NPS_TSAN)
	__tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
	nps_swapctx(&from->sched.sp, to->sched.sp);
#if defined(NPS_ASAN)
	__sanitizer_finish_switch_fiber(from->asan_fake, NULL, NULL);
#endif
}

void gogo_started(struct g *gp)
{
	(void)gp;
#if defined(NPS_ASAN)
	/* First run of a goroutine: complete the switch that brought us here. */
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
}
