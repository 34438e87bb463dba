/*-------------------------------------------------------------------------
 *
 * front_coroutine.c
 *	  The first frame of a coroutine's stack, in the layout pgembed__switch
 *	  (pgembed_switch.S) restores.
 *
 * A coroutine is entered for the first time by the same pgembed__switch that
 * later resumes it, so its new stack must look as if it had switched away
 * itself: the callee-saved registers the switch restores, among them the
 * function and its argument where pgembed__trampoline takes them, the
 * floating-point control at the platform's initial value, and the trampoline
 * as the address the switch returns to.  The layout is the platform's, as the
 * switch is; the two must agree.
 *
 * Nothing here touches an engine, so that the C tests can run coroutines of
 * their own through the real switch (test_switch.c).
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_coroutine.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		front_coroutine_frame	- the first frame of a stack, that calls fn(arg)
 *------------------------
 */
#include "pgembed_front.h"

#include <stdint.h>
#include <string.h>

/*
 * Builds the first frame at the top of the stack [stack, stack + size) and
 * returns the stack pointer to switch to: the first pgembed__switch onto it
 * calls fn(arg), which must never return.
 */
void *
front_coroutine_frame(void *stack, size_t size, void (*fn) (void *), void *arg)
{
	uintptr_t	top = ((uintptr_t) stack + size) & ~(uintptr_t) 15;

#if defined(__x86_64__)
	/* 80 bytes: MXCSR and x87 control word, r15-r12, rbx, rbp, return address */
	uint64_t   *frame = (uint64_t *) (top - 80);
	uint32_t	mxcsr = 0x1F80;
	uint16_t	fpucw = 0x037F;

	memset(frame, 0, 80);
	memcpy(&frame[0], &mxcsr, 4);
	memcpy((char *) &frame[0] + 4, &fpucw, 2);
	frame[1] = 0;				/* r15 */
	frame[2] = 0;				/* r14 */
	frame[3] = (uint64_t) (uintptr_t) fn;	/* r13: the function */
	frame[4] = (uint64_t) (uintptr_t) arg;	/* r12: its argument */
	frame[5] = 0;				/* rbx */
	frame[6] = 0;				/* rbp */
	frame[7] = (uint64_t) (uintptr_t) pgembed__trampoline;
#elif defined(__aarch64__)
	/* 176 bytes: x19-x28, x29, x30, d8-d15, FPCR, padding */
	uint64_t   *frame = (uint64_t *) (top - 176);

	memset(frame, 0, 176);
	frame[0] = (uint64_t) (uintptr_t) arg;	/* x19: the argument */
	frame[1] = (uint64_t) (uintptr_t) fn;	/* x20: the function */
	frame[10] = 0;				/* x29 */
	frame[11] = (uint64_t) (uintptr_t) pgembed__trampoline; /* x30 */
	frame[20] = 0;				/* FPCR: Linux's initial value (round to
								 * nearest, no traps, no flush-to-zero) */
#else
#error "pgembed: stack switching is implemented for x86_64 and aarch64 only"
#endif
	return frame;
}
