// SPDX-License-Identifier: MIT
/*
 * Linked into the test binaries of the ThreadSanitizer build only (tests/tests.mk).
 *
 * Criterion keeps its shared state in a BoxFort arena mapped with MAP_FIXED at a random address
 * base = 0x200000000000 + (rand_r() & 0x3fffff) * 16 MiB, giving up after three draws that land
 * on mapped memory. Under ThreadSanitizer almost every draw lands in TSan's reserved shadow
 * ranges, or outside the ranges where TSan lets a program map, so Criterion aborts with "Could
 * not initialize inheritable arena" (Snaipe/Criterion issue #274). This rand_r() draws only
 * slots inside TSan's x86-64 application range for PIE binaries, 0x550000000000 ..
 * 0x568000000000 (tsan_platform.h, Mapping48AddressSpace). Nothing else in the test binaries
 * calls rand_r.
 */
#include <stdlib.h>

#define BOXFORT_SLOT_LO 0x350000u /* (0x550000000000 - 0x200000000000) >> 24 */
#define BOXFORT_SLOTS	0x18000u  /* (0x568000000000 - 0x550000000000) >> 24 */

int rand_r(unsigned int *seed)
{
	/* A plain LCG step keeps successive draws distinct, as BoxFort's retries expect. */
	*seed = *seed * 1103515245u + 12345u;
	return (int)(BOXFORT_SLOT_LO + (*seed >> 8) % BOXFORT_SLOTS);
}
