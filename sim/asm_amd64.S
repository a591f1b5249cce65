// SPDX-License-Identifier: MIT
// Goroutine context switch for x86-64 (Go: runtime/asm_amd64.s gogo/mcall, reduced to what a
// C coroutine needs). The System V ABI makes rbx, rbp and r12-r15 callee-saved, so a switch is:
// push them, save rsp, load the other rsp, pop, return into the other context. New goroutines
// start in nps_gostart_tramp, which calls the C entry with an aligned stack.

	.text

// void nps_swapctx(void **save_sp, void *new_sp)
	.globl	nps_swapctx
	.type	nps_swapctx, @function
nps_swapctx:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	nps_swapctx, .-nps_swapctx

// First "return address" of a new goroutine: clear the frame pointer (so backtraces stop here)
// and call the C entry, which never returns.
	.globl	nps_gostart_tramp
	.type	nps_gostart_tramp, @function
nps_gostart_tramp:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	call	nps_gostart
	ud2
	.cfi_endproc
	.size	nps_gostart_tramp, .-nps_gostart_tramp

	.section .note.GNU-stack,"",@progbits
