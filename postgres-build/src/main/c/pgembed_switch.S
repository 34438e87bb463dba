/*
 * pgembed_switch.S
 *	  Stack switching between the caller of the API and an engine's own stack.
 *
 * An engine runs PostgresMain on a stack of its own, so that PostgreSQL's loop
 * can wait for the next protocol message while the calling thread returns to
 * the host.  Switching saves only what the platform's ABI asks a callee to
 * keep.  x86_64 (System V ABI): rbx, rbp, r12-r15, the stack pointer, MXCSR
 * and the x87 control word.  AArch64 (AAPCS64): x19-x28, the frame pointer
 * (x29), the link register (x30), the stack pointer, the low halves of
 * v8-v15 (d8-d15) and FPCR (rounding mode, flush-to-zero: callee-saved like
 * MXCSR's control bits).
 *
 * The frame a switch leaves on the stack it leaves is the one
 * front_init_coroutine (front_engine.c) builds for a coroutine's first entry:
 * the two must agree on its layout.
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
#elif defined(__aarch64__)
	.text
	.globl	pgembed__switch
	.type	pgembed__switch, %function
	.hidden	pgembed__switch
/*
 * void pgembed__switch(void **from_sp, void *to_sp)
 *
 * The frame, 176 bytes from the saved stack pointer up (16-byte aligned, as
 * AAPCS64 wants sp to be): x19-x28 at 0-72, x29 and x30 at 80 and 88, d8-d15
 * at 96-152, FPCR at 160, 8 bytes of padding.  ret returns through the
 * restored x30: into the other side's pgembed__switch call, or for a
 * coroutine's first entry into pgembed__trampoline.
 */
	.p2align 2
pgembed__switch:
	.cfi_startproc
	sub		sp, sp, #176
	stp		x19, x20, [sp, #0]
	stp		x21, x22, [sp, #16]
	stp		x23, x24, [sp, #32]
	stp		x25, x26, [sp, #48]
	stp		x27, x28, [sp, #64]
	stp		x29, x30, [sp, #80]
	stp		d8, d9, [sp, #96]
	stp		d10, d11, [sp, #112]
	stp		d12, d13, [sp, #128]
	stp		d14, d15, [sp, #144]
	mrs		x9, fpcr
	str		x9, [sp, #160]
	/* sp cannot be stored directly (register 31 is xzr for str) */
	mov		x10, sp
	str		x10, [x0]
	mov		sp, x1
	ldr		x9, [sp, #160]
	msr		fpcr, x9
	ldp		d14, d15, [sp, #144]
	ldp		d12, d13, [sp, #128]
	ldp		d10, d11, [sp, #112]
	ldp		d8, d9, [sp, #96]
	ldp		x29, x30, [sp, #80]
	ldp		x27, x28, [sp, #64]
	ldp		x25, x26, [sp, #48]
	ldp		x23, x24, [sp, #32]
	ldp		x21, x22, [sp, #16]
	ldp		x19, x20, [sp, #0]
	add		sp, sp, #176
	ret
	.cfi_endproc
	.size	pgembed__switch, .-pgembed__switch

	.globl	pgembed__trampoline
	.type	pgembed__trampoline, %function
	.hidden	pgembed__trampoline
/*
 * First frame of a coroutine: x19 = argument, x20 = function.  Never returns.
 * A zero frame pointer and link register end the frame chain for unwinders
 * and debuggers, as rbp = 0 does on x86_64.
 */
	.p2align 2
pgembed__trampoline:
	.cfi_startproc
	.cfi_undefined x30
	mov		x29, #0
	mov		x30, #0
	mov		x0, x19
	blr		x20
	brk		#0
	.cfi_endproc
	.size	pgembed__trampoline, .-pgembed__trampoline

	.section .note.GNU-stack,"",%progbits
#else
#error "pgembed: stack switching is implemented for x86_64 and aarch64 only"
#endif
