/*
 * The stack switch keeps what the platform's ABI says a callee keeps.
 *
 * A coroutine of the test's own, started on the real first frame
 * (front_coroutine.c) through the real switch (pgembed_switch.S), both
 * compiled into this test binary (test-native.sh: they are hidden inside
 * libpgembed.so), overwrites every callee-saved register it may and sets
 * another rounding mode before it switches back.  The caller's values, kept
 * in callee-saved registers across the switch, and its rounding mode must
 * survive, and so must the coroutine's own rounding mode when it is resumed.
 * Under emulation this is the aarch64 switch's first check: a register it
 * forgot shows here, before any engine runs on it.
 */
#include "pgembed_front.h"

#include <fenv.h>
#include <stdlib.h>

#include "test_util.h"

/*
 * Inline, so that the registers are still overwritten when the switch is
 * called: the compiler saves them in the coroutine's prologue only.
 */
#if defined(__aarch64__)
#define OVERWRITE_CALLEE_SAVED() \
	__asm__ volatile("mov x19, #19\n\tmov x20, #20\n\tmov x21, #21\n\tmov x22, #22\n\t" \
					 "mov x23, #23\n\tmov x24, #24\n\tmov x25, #25\n\tmov x26, #26\n\t" \
					 "mov x27, #27\n\tmov x28, #28\n\t" \
					 "fmov d8, #1.0\n\tfmov d9, #2.0\n\tfmov d10, #3.0\n\tfmov d11, #4.0\n\t" \
					 "fmov d12, #5.0\n\tfmov d13, #6.0\n\tfmov d14, #7.0\n\tfmov d15, #8.0" \
					 ::: "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", \
					 "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15")
#elif defined(__x86_64__)
#define OVERWRITE_CALLEE_SAVED() \
	__asm__ volatile("movq $3, %%rbx\n\tmovq $12, %%r12\n\tmovq $13, %%r13\n\t" \
					 "movq $14, %%r14\n\tmovq $15, %%r15" \
					 ::: "rbx", "r12", "r13", "r14", "r15")
#endif

static void *main_sp;
static void *co_sp;
static volatile int co_steps;
static volatile int co_round_kept;
static void *volatile co_arg;

static void
coroutine(void *arg)
{
	co_arg = arg;
	fesetround(FE_UPWARD);
	OVERWRITE_CALLEE_SAVED();
	co_steps = 1;
	pgembed__switch(&co_sp, main_sp);
	co_round_kept = fegetround() == FE_UPWARD;
	OVERWRITE_CALLEE_SAVED();
	co_steps = 2;
	pgembed__switch(&co_sp, main_sp);
	/* never resumed again */
	abort();
}

static void
test_switch_keeps_callee_saved(void)
{
	size_t		size = 256 * 1024;
	void	   *stack = malloc(size);
	int			marker;
	int			round_before = fegetround();
	volatile long seed = 7;

	/*
	 * live across both switches: the compiler keeps them in callee-saved
	 * registers
	 */
	long		i0 = seed,
				i1 = seed * 2,
				i2 = seed * 3,
				i3 = seed * 4,
				i4 = seed * 5,
				i5 = seed * 6,
				i6 = seed * 7,
				i7 = seed * 8,
				i8 = seed * 9,
				i9 = seed * 10;
	double		d0 = seed * 0.5,
				d1 = seed * 1.5,
				d2 = seed * 2.5,
				d3 = seed * 3.5,
				d4 = seed * 4.5,
				d5 = seed * 5.5,
				d6 = seed * 6.5,
				d7 = seed * 7.5;

	REQUIRE(stack != NULL);
	fesetround(FE_TOWARDZERO);
	co_sp = front_coroutine_frame(stack, size, coroutine, &marker);
	pgembed__switch(&main_sp, co_sp);
	CHECK_INT(co_steps, 1);
	CHECK(co_arg == &marker);
	CHECK(fegetround() == FE_TOWARDZERO);
	pgembed__switch(&main_sp, co_sp);
	CHECK_INT(co_steps, 2);
	CHECK(co_round_kept);
	CHECK(fegetround() == FE_TOWARDZERO);
	fesetround(round_before);
	CHECK_INT(i0 + i1 + i2 + i3 + i4 + i5 + i6 + i7 + i8 + i9, seed * 55);
	CHECK_INT(i0 * i9 - i1 * i8 + i2 * i7 - i3 * i6 + i4 * i5, seed * seed * (10 - 18 + 24 - 28 + 30));
	CHECK(d0 + d1 + d2 + d3 + d4 + d5 + d6 + d7 == seed * 32.0);
	CHECK(d0 * d7 - d1 * d6 + d2 * d5 - d3 * d4 == seed * seed * (3.75 - 9.75 + 13.75 - 15.75));
	free(stack);
}

const test_case switch_tests[] = {
	{"switch: callee-saved registers and the rounding mode survive a switch", test_switch_keeps_callee_saved},
	{NULL, NULL}
};
