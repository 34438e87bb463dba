/*-------------------------------------------------------------------------
 *
 * front_carrier.c
 *	  Host threads in an engine's C library: a bounded number run the
 *	  engine themselves, later ones through the slot's carrier thread.
 *
 * A call runs the engine on the calling thread (front_run_engine), so the
 * engine's copy of the C library sees every host thread that ever called
 * into it.  Its malloc gives each thread a cache of its own (tcache, 656
 * bytes with glibc 2.36) at that thread's first allocation, and frees it when
 * the thread exits only in the C library that created the thread, the
 * host's: the engine's copy never learns of the exit, and every short-lived
 * thread left its cache in the engine's heap, for the life of the namespace
 * (which outlives its engines).  Nothing public in glibc frees another
 * thread's cache.
 *
 * So each namespace admits FRONT_THREAD_BUDGET host threads (counted once
 * per thread and namespace); a thread beyond the budget hands its calls to
 * the slot's carrier, one long-lived thread per slot started at the first
 * such call, and waits for it: the engine's heap keeps at most the budget's
 * caches, plus the carrier's.  Admitted threads pay nothing (one compare of
 * a thread-local value); carried calls pay two thread hand-offs.  The
 * engine's log lines are still delivered on the calling thread.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_carrier.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		front_carrier_needed	- must this thread's call run on the carrier?
 *		front_carrier_run		- run the engine on the slot's carrier, wait
 *		front_carrier_reset		- a slot got a new namespace: a new budget
 *		pgembed__set_thread_budget	- tests: a smaller budget
 *------------------------
 */
#include "pgembed_front.h"

#include <signal.h>

#define FRONT_THREAD_BUDGET 1024

static int	thread_budget = FRONT_THREAD_BUDGET;

/* per slot: the host threads admitted to its namespace, and its carrier */
static struct
{
	int			admitted;		/* atomic; reset with the namespace */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool		started;
	pgembed_engine *job;		/* the engine to run, NULL when idle */
	bool		done;
}			carriers[MAX_ENGINES];

static pthread_once_t carriers_once = PTHREAD_ONCE_INIT;

/* this thread: the namespace generation of each slot it was admitted to */
static __thread uint32_t admitted_to[MAX_ENGINES];

/* this thread is a front's own long-lived one (a cluster's process) */
__thread bool front_thread_long_lived;

static void
init_carriers(void)
{
	for (int i = 0; i < MAX_ENGINES; i++)
	{
		pthread_mutex_init(&carriers[i].lock, NULL);
		pthread_cond_init(&carriers[i].changed, NULL);
	}
}

/*
 * Called by front_run_engine for a call at the top level of a thread (not an
 * engine's call into the front).  True when the thread is beyond the
 * namespace's budget.
 */
bool
front_carrier_needed(pgembed_engine *e)
{
	int			i = e->slot;
	uint32_t	gen;

	if (i < 0 || i >= MAX_ENGINES || !front_slots[i].has_namespace || front_thread_long_lived)
		return false;
	gen = front_slots[i].ns_generation;
	if (admitted_to[i] == gen)
		return false;
	if (__atomic_add_fetch(&carriers[i].admitted, 1, __ATOMIC_RELAXED) <= thread_budget)
	{
		admitted_to[i] = gen;
		return false;
	}
	__atomic_sub_fetch(&carriers[i].admitted, 1, __ATOMIC_RELAXED);
	return true;
}

/* the carrier of slot i: runs the engines handed to it, for the process's life */
static void *
carrier_main(void *arg)
{
	int			i = (int) (intptr_t) arg;
	sigset_t	mask;

	/* only the front's real-time signal: pokes and timers, as on a caller */
	sigfillset(&mask);
	sigdelset(&mask, PGEMBED_TIMER_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	front_thread_long_lived = true;
	pthread_mutex_lock(&carriers[i].lock);
	for (;;)
	{
		pgembed_engine *e;

		while (carriers[i].job == NULL)
			pthread_cond_wait(&carriers[i].changed, &carriers[i].lock);
		e = carriers[i].job;
		pthread_mutex_unlock(&carriers[i].lock);
		front_switch_into(e);
		pthread_mutex_lock(&carriers[i].lock);
		carriers[i].job = NULL;
		carriers[i].done = true;
		pthread_cond_broadcast(&carriers[i].changed);
	}
	return NULL;
}

/*
 * Runs e (the caller holds e->lock, so that the slot's carrier has one job
 * at a time) on its slot's carrier and waits until it switched back.  When
 * the carrier cannot be started, runs it here after all.
 */
void
front_carrier_run(pgembed_engine *e)
{
	int			i = e->slot;

	pthread_once(&carriers_once, init_carriers);
	pthread_mutex_lock(&carriers[i].lock);
	if (!carriers[i].started)
	{
		pthread_attr_t attr;
		pthread_t	t;

		pthread_attr_init(&attr);
		/* the engine runs on its own stack; this one only runs the front */
		pthread_attr_setstacksize(&attr, 256 * 1024);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		carriers[i].started = pthread_create(&t, &attr, carrier_main, (void *) (intptr_t) i) == 0;
		pthread_attr_destroy(&attr);
		if (carriers[i].started)
			pthread_setname_np(t, "pgembed-carrier");
	}
	if (!carriers[i].started)
	{
		pthread_mutex_unlock(&carriers[i].lock);
		front_switch_into(e);
		return;
	}
	carriers[i].done = false;
	carriers[i].job = e;
	pthread_cond_broadcast(&carriers[i].changed);
	while (!carriers[i].done)
		pthread_cond_wait(&carriers[i].changed, &carriers[i].lock);
	pthread_mutex_unlock(&carriers[i].lock);
}

/* Slot i got a new namespace (a new C library): nobody was admitted to it yet. */
void
front_carrier_reset(int i)
{
	if (i >= 0 && i < MAX_ENGINES)
		__atomic_store_n(&carriers[i].admitted, 0, __ATOMIC_RELAXED);
}

/* Tests: the budget of host threads per namespace (0: the default). */
PGEMBED_EXPORT void pgembed__set_thread_budget(int budget);
void
pgembed__set_thread_budget(int budget)
{
	thread_budget = budget > 0 ? budget : FRONT_THREAD_BUDGET;
}
