/*-------------------------------------------------------------------------
 *
 * front_maintenance.c
 *	  The timer thread, and the work a server's background processes would
 *	  do for an engine: WAL flushes, checkpoints, vacuum and analyze.
 *
 * A standalone backend has no postmaster: nothing delivers its timers
 * (statement_timeout, lock_timeout, ...), and no checkpointer, WAL writer or
 * autovacuum runs beside it.  One thread per process does both jobs.  It keeps
 * every engine's deadline and signals the thread inside that engine when it
 * passes; and every MAINTENANCE_TICK_NS it runs a maintenance pass on each
 * idle engine whose lock it can take.  A busy engine gets its pass at its next
 * idle point instead, when an API call ends (front_maintain_if_due).
 *
 * A pass asks the engine (engine_maintenance in pgembed_engine.c) to flush WAL
 * and to checkpoint as wal_writer_delay, checkpoint_timeout and max_wal_size
 * call for, and every autovacuum_naptime applies autovacuum's thresholds, as
 * SQL over the statistics views, to choose what to vacuum and analyze.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_maintenance.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 * timers:
 *		front_ensure_timer_machinery	- the timer signal and thread, once
 *		front_timer_set			- an engine's setitimer(): its next deadline
 *
 * maintenance:
 *		front_maintenance_init	- a new engine's schedule
 *		front_maintain_if_due	- the idle point at the end of an API call
 *		pgembed_set_auto_maintenance	- automatic passes on or off
 *		pgembed_maintain		- one pass now, whatever the schedule says
 *------------------------
 */
#include "pgembed_front.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* routines only used in this file */
static void maintenance_pass(pgembed_engine *e, bool force);

/* ------------------------------------------------------------------------
 * The timer thread: engine timers and the maintenance tick
 * ------------------------------------------------------------------------
 */
static bool timer_thread_started;

static void
timer_signal_handler(int sig, siginfo_t *si, void *uc)
{
	int			saved_errno = errno;
	int			slot = (si->si_value.sival_int & ~FRONT_POKE_BIT) >> 16;
	uint32_t	gen = si->si_value.sival_int & 0xffff;
	pgembed_engine *e;

	(void) sig;
	if (slot < 0 || slot >= MAX_ENGINES)
		return;
	e = front_slots[slot].engine;
	if (e == NULL || (front_slots[slot].generation & 0xffff) != gen)
		return;
	if (e->on_signal != NULL)
	{
		/*
		 * a process of a cluster: poked (a signal was posted for it), or its
		 * timer
		 */
		if (!(si->si_value.sival_int & FRONT_POKE_BIT))
			__atomic_fetch_or(&e->posted_signals, UINT64_C(1) << SIGALRM, __ATOMIC_SEQ_CST);
		e->on_signal(e, uc);
	}
	else if (front_current_engine == e && e->running)
		e->engine_alarm(e);
	else
		e->alarm_pending = 1;
	errno = saved_errno;
}

#define MAINTENANCE_TICK_NS (100 * 1000000LL)
static int64_t next_maintenance_ns;

/*
 * At process exit the timer thread must not be inside an engine (or calling a
 * host's log callback) while exit() tears the libraries down: the exit handler
 * closes this gate, waiting for a pass in progress.
 */
static pthread_mutex_t maintenance_gate = PTHREAD_MUTEX_INITIALIZER;
static volatile bool process_exiting;

static void
close_maintenance_gate(void)
{
	pthread_mutex_lock(&maintenance_gate);
	process_exiting = true;
	pthread_mutex_unlock(&maintenance_gate);
}

/* caller holds front_registry_lock */
static bool
any_engine_open(void)
{
	for (int i = 0; i < MAX_ENGINES; i++)
		if (front_slots[i].engine != NULL && front_slots[i].engine->owner_pid == getpid())
			return true;
	return false;
}

static void *
timer_thread_main(void *arg)
{
	sigset_t	all;

	(void) arg;
	/* the timer signal is for threads running an engine, never this one */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&front_registry_lock);
	for (;;)
	{
		int64_t		now = now_ns();
		int64_t		next = 0;

		for (int i = 0; i < MAX_ENGINES; i++)
		{
			pgembed_engine *e = front_slots[i].engine;

			if (e == NULL || e->timer_deadline_ns == 0)
				continue;
			if (e->timer_deadline_ns <= now)
			{
				e->timer_deadline_ns = 0;
				if (e->running)
				{
					union sigval v;

					v.sival_int = (i << 16) | (front_slots[i].generation & 0xffff);
					if (pthread_sigqueue(e->running_thread, PGEMBED_TIMER_SIGNAL, v) != 0)
						e->alarm_pending = 1;
				}
				else if (e->on_idle_timer != NULL)
					e->on_idle_timer(e);	/* an idle backend acts on it now */
				else
					e->alarm_pending = 1;
			}
			else if (next == 0 || e->timer_deadline_ns < next)
				next = e->timer_deadline_ns;
		}

		/*
		 * maintenance: idle engines get it here, busy ones at their next idle
		 * point
		 */
		if (now >= next_maintenance_ns && pthread_mutex_trylock(&maintenance_gate) == 0)
		{
			for (int i = 0; i < MAX_ENGINES && !process_exiting; i++)
			{
				pgembed_engine *e = front_slots[i].engine;

				/*
				 * Only a started engine: one still opening is in the slot
				 * before its backend runs (calling into it would run start-up
				 * on this thread, or read globals not yet set), and one whose
				 * start-up failed is freed without the slot lock.
				 */
				if (e == NULL || !e->auto_maintenance || e->state != ENGINE_READY)
					continue;
				if (pthread_mutex_trylock(&e->lock) == 0)
				{
					/*
					 * the registry lock must not be held while the engine
					 * runs
					 */
					pthread_mutex_unlock(&front_registry_lock);
					maintenance_pass(e, false);
					pthread_mutex_unlock(&e->lock);
					pthread_mutex_lock(&front_registry_lock);
				}
				else
					e->maintenance_due = true;
			}
			next_maintenance_ns = now_ns() + MAINTENANCE_TICK_NS;
			pthread_mutex_unlock(&maintenance_gate);
		}
		if (!any_engine_open())
		{
			/*
			 * nothing to watch: sleep until an engine opens (front_claim_slot
			 * wakes us)
			 */
			pthread_cond_wait(&front_timer_cond, &front_registry_lock);
			continue;
		}
		if (next == 0 || next > next_maintenance_ns)
			next = next_maintenance_ns;
		{
			struct timespec ts;

			ts.tv_sec = next / 1000000000;
			ts.tv_nsec = next % 1000000000;
			pthread_cond_timedwait(&front_timer_cond, &front_registry_lock, &ts);
		}
	}
	return NULL;
}

/* called by an engine (setitimer) */
void
front_timer_set(pgembed_engine *e, int64_t deadline_ns)
{
	pthread_mutex_lock(&front_registry_lock);
	e->timer_deadline_ns = deadline_ns;
	if (deadline_ns != 0)
		pthread_cond_signal(&front_timer_cond);
	pthread_mutex_unlock(&front_registry_lock);
}

/*
 * The first opens of a process may run on several threads at once: the
 * machinery starts under a lock of its own (not front_registry_lock, which
 * the new timer thread takes), and its flag is read without one only once set.
 * A failure is not remembered: the next open tries again.
 */
static pthread_mutex_t timer_start_lock = PTHREAD_MUTEX_INITIALIZER;

bool
front_ensure_timer_machinery(void)
{
	struct sigaction sa;
	pthread_condattr_t ca;
	pthread_t	t;
	pthread_attr_t attr;
	bool		ok = false;

	if (__atomic_load_n(&timer_thread_started, __ATOMIC_ACQUIRE))
		return true;
	pthread_mutex_lock(&timer_start_lock);
	if (timer_thread_started)
	{
		pthread_mutex_unlock(&timer_start_lock);
		return true;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = timer_signal_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(PGEMBED_TIMER_SIGNAL, &sa, NULL) == 0)
	{
		/* no thread waits on the condition variable before this one starts */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&front_timer_cond, &ca);
		pthread_condattr_destroy(&ca);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

		/*
		 * it runs maintenance and may call a host (JVM) log callback: a
		 * normal stack
		 */
		pthread_attr_setstacksize(&attr, 2 * 1024 * 1024);
		if (pthread_create(&t, &attr, timer_thread_main, NULL) == 0)
		{
			atexit(close_maintenance_gate);
			pthread_setname_np(t, "pgembed-timer");
			__atomic_store_n(&timer_thread_started, true, __ATOMIC_RELEASE);
			ok = true;
		}
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_unlock(&timer_start_lock);
	return ok;
}

/* ------------------------------------------------------------------------
 * Self-maintenance
 * ------------------------------------------------------------------------
 */

/* the output of internal work (maintenance): nobody reads it */
static char *
take_output_discard(pgembed_engine *e)
{
	size_t		len;

	return front_take_output(e, &len);
}

/*
 * autovacuum's thresholds, as SQL over the statistics views.  It runs as the
 * bootstrap superuser in whatever session state the user left (search_path,
 * objects of their own): every name is schema-qualified, operators included.
 */
#define SETTING(name) "pg_catalog.current_setting('" name "')::pg_catalog.float8"
#define RELTUPLES "greatest(c.reltuples::pg_catalog.float8, 0)"
/* OPERATOR() forms bind left to right at one precedence: each is parenthesised */
#define OVER(value, base, scale) \
	"(" value " OPERATOR(pg_catalog.>) (" SETTING(base) " OPERATOR(pg_catalog.+) (" \
	SETTING(scale) " OPERATOR(pg_catalog.*) " RELTUPLES ")))"
static const char *const vacuum_candidates_sql =
"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),"
"       " OVER("s.n_dead_tup", "autovacuum_vacuum_threshold", "autovacuum_vacuum_scale_factor")
"    OR " OVER("s.n_ins_since_vacuum", "autovacuum_vacuum_insert_threshold", "autovacuum_vacuum_insert_scale_factor")
"    OR (pg_catalog.age(c.relfrozenxid) OPERATOR(pg_catalog.>) " SETTING("autovacuum_freeze_max_age") ")"
"    OR (pg_catalog.mxid_age(c.relminmxid) OPERATOR(pg_catalog.>) " SETTING("autovacuum_multixact_freeze_max_age") "),"
"       " OVER("s.n_mod_since_analyze", "autovacuum_analyze_threshold", "autovacuum_analyze_scale_factor")
"  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
"  JOIN pg_catalog.pg_stat_all_tables s ON s.relid OPERATOR(pg_catalog.=) c.oid"
" WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,m}'::pg_catalog.\"char\"[])"
"   AND n.nspname OPERATOR(pg_catalog.<>) 'pg_toast'"
"   AND c.relpersistence OPERATOR(pg_catalog.<>) 't'"
"   AND NOT coalesce('autovacuum_enabled=false' OPERATOR(pg_catalog.=) ANY (c.reloptions), false)";

/* Runs a simple query on an idle engine from the front; the caller holds e->lock. */
static pgembed_result *
internal_query(pgembed_engine *e, const char *sql)
{
	size_t		s;

	pgembed_result *r;

	e->scratch.len = 0;
	if (!(front_msg_begin(e, 'Q', &s) && front_msg_str(e, sql)))
		return NULL;
	front_msg_end(e, s);
	e->internal_query = true;
	r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	e->internal_query = false;
	return r;
}

static void
vacuum_pass(pgembed_engine *e)
{
	pgembed_result *r = internal_query(e, "SELECT pg_catalog.pg_stat_force_next_flush()");

	pgembed_result_free(r);
	/* the flush happens at the backend's next idle point: let it pass once */
	r = internal_query(e, "SELECT 1");
	pgembed_result_free(r);
	r = internal_query(e, vacuum_candidates_sql);
	if (r == NULL || r->status != PGEMBED_TUPLES_OK)
	{
		pgembed_result_free(r);
		return;
	}
	for (int64_t i = 0; i < r->ntuples && e->state != ENGINE_DEAD; i++)
	{
		bool		vacuum = strcmp(pgembed_result_value(r, i, 1), "t") == 0;
		bool		analyze = strcmp(pgembed_result_value(r, i, 2), "t") == 0;
		char		sql[600];
		pgembed_result *v;

		if (!vacuum && !analyze)
			continue;
		snprintf(sql, sizeof(sql), vacuum ? "VACUUM (ANALYZE %s) %s" : "ANALYZE %s%s",
				 vacuum ? (analyze ? "true" : "false") : "", pgembed_result_value(r, i, 0));
		v = internal_query(e, sql);
		pgembed_result_free(v);
	}
	pgembed_result_free(r);
}

/*
 * One maintenance pass on an idle engine (caller holds e->lock).  force: do the
 * checks now whatever the timers say.
 */
static void
maintenance_pass(pgembed_engine *e, bool force)
{
	uint64_t	insert,
				redo,
				important;
	int			ckpt_timeout_s,
				wal_delay_ms,
				naptime_s,
				autovacuum_on;
	int64_t		now = now_ns();
	int			request = MAINT_CHECKPOINT_IF_DUE;

	e->maintenance_due = false;

	/*
	 * not ENGINE_STARTING either: the timer thread may see an engine
	 * pgembed_open is still loading
	 */
	if (e->state != ENGINE_READY || e->mode != FRONT_MODE_IDLE || e->tx_status != PGEMBED_TX_IDLE ||
		e->engine_wal_status == NULL)
		return;
	e->engine_wal_status(&insert, &redo, &important, &ckpt_timeout_s, &wal_delay_ms, &naptime_s, &autovacuum_on);
	e->flush_interval_ns = (int64_t) wal_delay_ms * 1000000;
	if (redo != e->last_redo)
	{
		/*
		 * a checkpoint happened (ours, a CHECKPOINT command, or the end of
		 * recovery)
		 */
		e->last_redo = redo;
		e->last_checkpoint_ns = now;
	}
	if (force || now - e->last_flush_ns >= (int64_t) wal_delay_ms * 1000000)
	{
		request |= MAINT_FLUSH_WAL;
		e->last_flush_ns = now;
	}
	if (important > redo &&
		(force || now - e->last_checkpoint_ns >= (int64_t) ckpt_timeout_s * 1000000000))
		request |= MAINT_CHECKPOINT_NOW;

	e->maintenance_request = request;
	front_run_with_input(e, NULL, 0);
	free(take_output_discard(e));

	if (autovacuum_on && e->state != ENGINE_DEAD &&
		(force || now - e->last_vacuum_check_ns >= (int64_t) naptime_s * 1000000000))
	{
		e->last_vacuum_check_ns = now;
		vacuum_pass(e);
	}
}

/*
 * At the end of an API call (the caller holds e->lock): work a server's
 * background processes would do, now that the engine is idle.  The WAL flush
 * of relaxed durability is also due by the clock: an engine kept busy must not
 * depend on the timer thread getting the CPU to keep its loss window at
 * wal_writer_delay.
 */
void
front_maintain_if_due(pgembed_engine *e)
{
	if (e->auto_maintenance &&
		(e->maintenance_due ||
		 (e->tx_status == PGEMBED_TX_IDLE && now_ns() - e->last_flush_ns >= e->flush_interval_ns)))
		maintenance_pass(e, false);
}

/* A new engine: maintenance on, every interval counted from its opening. */
void
front_maintenance_init(pgembed_engine *e)
{
	e->auto_maintenance = true;
	e->last_checkpoint_ns = e->last_vacuum_check_ns = e->last_flush_ns = now_ns();
	e->flush_interval_ns = (int64_t) 200 * 1000000; /* wal_writer_delay's
													 * default until the first
													 * pass */
}

void
pgembed_set_auto_maintenance(pgembed_engine *e, int enabled)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->lock);
	e->auto_maintenance = enabled != 0;
	pthread_mutex_unlock(&e->lock);
}

int
pgembed_maintain(pgembed_engine *e)
{
	int			rc;

	if (e == NULL)
		return -1;
	pthread_mutex_lock(&e->lock);
	rc = (e->state == ENGINE_DEAD || e->mode != FRONT_MODE_IDLE || e->tx_status != PGEMBED_TX_IDLE) ? -1 : 0;
	if (rc == 0)
		maintenance_pass(e, true);
	if (e->state == ENGINE_DEAD)
		rc = -1;
	pthread_mutex_unlock(&e->lock);
	return rc;
}
