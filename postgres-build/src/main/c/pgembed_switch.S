/*
 * pgembed_switch.S
 *	  Stack switching between the caller of the API and an engine's own stack.
 *
 * An engine runs PostgresMain on a stack of its own, so that PostgreSQL's loop
 * can wait for the next protocol message while the calling thread returns to
 * the host.  Switching saves only what the System V ABI asks a callee to keep:
 * rbx, rbp, r12-r15, the stack pointer, MXCSR and the x87 control word.
 */
#if defined(__x86_64__)
	.text
	.globl	pgembed__switch
	.type	pgembed__switch, @function
	.hidden	pgembed__switch
/* void pgembed__switch(void **from_sp, void *to_sp) */
pgembed__switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	pgembed__switch, .-pgembed__switch

	.globl	pgembed__trampoline
	.type	pgembed__trampoline, @function
	.hidden	pgembed__trampoline
/* First frame of a coroutine: r12 = argument, r13 = function.  Never returns. */
pgembed__trampoline:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	movq	%r12, %rdi
	callq	*%r13
	ud2
	.cfi_endproc
	.size	pgembed__trampoline, .-pgembed__trampoline

	.section .note.GNU-stack,"",@progbits
#else
#error "pgembed: stack switching is implemented for x86_64 only"
#endif
