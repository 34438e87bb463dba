/*-------------------------------------------------------------------------
 *
 * front_processes.c
 *	  The processes of a cluster with a real postmaster, once they run: their
 *	  table and virtual pids, the signals between them, the service thread.
 *
 * Processes are told apart by virtual pids.  A kill() between them posts the
 * signal in the target's engine struct and pokes the thread that runs the
 * target with the front's real-time signal, whose handler runs the target's
 * PostgreSQL handlers only where that is safe.  A client backend that sits
 * idle between calls is resumed by the cluster's service thread instead, as
 * a server backend waiting for its client would be woken by its latch.  A
 * child's end becomes a status that the postmaster's waitpid() reaps, and a
 * SIGCHLD.  The service thread also delivers the log lines of the processes
 * that run on threads of their own.
 *
 * Locking: a cluster's mutex protects its process table, its zombies, its
 * queue of connections and its log queue.  It may be taken while an
 * engine's lock is held, never the other way round (the service thread only
 * try-locks engines).
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_processes.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 * the process table:
 *		front_cluster_find_process	- a process by virtual pid
 *		front_cluster_register_process - a new virtual pid
 *		front_cluster_add_zombie	- a child ended: its status waits for waitpid
 *		front_cluster_exit_status	- how an engine ended, as waitpid says it
 *
 * signals:
 *		front_cluster_post_signal	- post a signal for a process and make it act
 *		front_cluster_route_kill	- kill() between the processes of a cluster
 *		front_cluster_process_signalled - the real-time signal reached a process
 *		front_cluster_process_idle_timer - a deadline passed while it ran nowhere
 *
 * the service thread:
 *		front_cluster_service_main	- idle backends, repeated pokes, logs
 *		front_cluster_wake_service	- wake it (async-signal-safe)
 *		front_cluster_log_line		- a log line of a process on its own thread
 *------------------------
 */
#include "pgembed_front.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>
#include <unistd.h>

#define SIGBIT(sig)		(UINT64_C(1) << (sig))

/* ------------------------------------------------------------------------
 * The process table
 * ------------------------------------------------------------------------
 */

/* caller holds c->lock */
cluster_process *
front_cluster_find_process(pgembed_cluster *c, int32_t vpid)
{
	for (int i = 0; i < MAX_PROCESSES; i++)
		if (c->processes[i].vpid == vpid)
			return &c->processes[i];
	return NULL;
}

/* caller holds c->lock; returns the new virtual pid, or -1 when the table is full */
int32_t
front_cluster_register_process(pgembed_cluster *c, pgembed_engine *e)
{
	cluster_process *p = front_cluster_find_process(c, 0);

	if (p == NULL)
		return -1;
	c->next_seq = (c->next_seq + 1) & ((1 << VPID_CLUSTER_SHIFT) - 1);
	if (c->next_seq == 0)
		c->next_seq = 1;
	p->vpid = VPID_BASE + (c->id << VPID_CLUSTER_SHIFT) + c->next_seq;
	p->engine = e;
	p->phantom = e == NULL;
	return p->vpid;
}

/* caller holds c->lock: a child ended with status; the postmaster reaps it */
void
front_cluster_add_zombie(pgembed_cluster *c, int32_t vpid, int status)
{
	cluster_process *p = front_cluster_find_process(c, vpid);

	if (p != NULL)
	{
		p->vpid = 0;
		p->engine = NULL;
	}
	if (c->nzombies < MAX_PROCESSES)
	{
		c->zombies[c->nzombies].vpid = vpid;
		c->zombies[c->nzombies].status = status;
		c->nzombies++;
	}
	if (c->postmaster != NULL && c->postmaster->state != ENGINE_DEAD)
		front_cluster_post_signal(c, c->postmaster, SIGCHLD);
}

/* how e ended, as waitpid() would report it */
int
front_cluster_exit_status(const pgembed_engine *e)
{
	if (e->exit_signal != 0)
		return e->exit_signal & 0x7f;	/* W_EXITCODE(0, sig) */
	return (e->exit_code & 0xff) << 8;	/* W_EXITCODE(code, 0) */
}

/* ------------------------------------------------------------------------
 * Signals between the processes
 * ------------------------------------------------------------------------
 */
void
front_cluster_wake_service(pgembed_cluster *c)
{
	uint64_t	one = 1;

	/* async-signal-safe: the real-time signal's handler calls this */
	if (write(c->service_fd, &one, sizeof(one)) < 0)
	{
		/* the counter is saturated: the thread is awake anyway */
	}
}

static bool
poke(pgembed_engine *t)
{
	union sigval v;

	v.sival_int = FRONT_POKE_BIT | (t->slot << 16) | (front_slots[t->slot].generation & 0xffff);
	return pthread_sigqueue(t->running_thread, PGEMBED_TIMER_SIGNAL, v) == 0;
}

/*
 * Caller holds c->lock.  Posts sig for t and makes it act: a process that
 * runs gets the real-time signal on its thread; one parked between calls (a
 * client backend) is resumed by the service thread.  Whichever path sees the
 * posted bit first delivers it: the bit is set before running is read here,
 * and an engine looks at the bits after its caller set running.
 */
void
front_cluster_post_signal(pgembed_cluster *c, pgembed_engine *t, int sig)
{
	__atomic_fetch_or(&t->posted_signals, SIGBIT(sig), __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&t->running, __ATOMIC_SEQ_CST))
	{
		/* its own thread: the engine delivers it when kill() returns */
		if (pthread_equal(t->running_thread, pthread_self()))
			return;
		if (poke(t))
			return;
	}
	t->service_due = true;
	front_cluster_wake_service(c);
}

/* A phantom child ends when it is told to; other signals are lost on it. */
static void
signal_phantom(pgembed_cluster *c, int32_t vpid, int sig)
{
	switch (sig)
	{
		case SIGTERM:
			front_cluster_add_zombie(c, vpid, 0);
			break;
		case SIGQUIT:
			front_cluster_add_zombie(c, vpid, 2 << 8);	/* SignalHandlerForCrashExit:
														 * _exit(2) */
			break;
		case SIGKILL:
		case SIGABRT:
			front_cluster_add_zombie(c, vpid, sig);
			break;
		default:
			break;
	}
}

/*
 * kill() from a process of the cluster, for any pid but its own
 * (engine_process.c).  pid 0 and -1 would reach the host's process group:
 * nothing happens.  A pid that is not one of the cluster's gets a real probe
 * for signal 0 (a lock file's staleness check), never a real signal.
 * Returns 0 or -errno: errno is the engine's C library's to set, not ours.
 */
int
front_cluster_route_kill(pgembed_engine *from, int pid, int sig)
{
	pgembed_cluster *c = from->cluster;
	int32_t		vpid = pid < 0 ? -pid : pid;
	cluster_process *p;

	if (pid == 0 || pid == -1)
		return 0;
	pthread_mutex_lock(&c->lock);
	p = front_cluster_find_process(c, vpid);
	if (p == NULL)
	{
		pthread_mutex_unlock(&c->lock);
		if (sig == 0 && vpid < VPID_BASE)
			return kill(pid, 0) == 0 ? 0 : -errno;
		return -ESRCH;
	}
	if (sig != 0)
	{
		if (p->engine == NULL)
		{
			/* an ended process waiting to be reaped does nothing any more */
			if (p->phantom)
				signal_phantom(c, vpid, sig);
		}
		else if (sig == SIGURG)
		{
			/*
			 * a latch's wake-up: write its self-pipe from here, as its
			 * handler would.  WakeupMyProc reads the target's `waiting`,
			 * which its own thread writes, and needs no barrier of ours on a
			 * weakly ordered processor either: the target stores waiting,
			 * then issues pg_memory_barrier before it reads is_set
			 * (WaitEventSetWait); the sender stored is_set, then issued
			 * pg_memory_barrier before it got here (SetLatch).  With a full
			 * barrier on both sides, at least one of them sees the other's
			 * store: the target does not sleep, or the byte is written.
			 */
			p->engine->engine_wakeup();
		}
		else
		{
			/*
			 * PostgreSQL 18.6's postmaster tells its checkpointer to exit
			 * with SIGTERM only when a fast shutdown meets a crash restart
			 * before WAL redo began (FatalError still set, so
			 * PostmasterStateMachine's PM_STOP_BACKENDS puts the checkpointer
			 * among the processes to stop); but the checkpointer ignores
			 * SIGTERM, and the postmaster then waits for it for ever.  A
			 * server meets that window rarely; a cluster here, whose startup
			 * process starts with a namespace load, easily (a close right
			 * after a PANIC).  The checkpointer gets SIGQUIT instead, which
			 * it obeys: redo had not begun, so the next start recovers as the
			 * restart would have.
			 */
			if (sig == SIGTERM && from == c->postmaster &&
				strcmp(p->engine->child_kind, "checkpointer") == 0)
				sig = SIGQUIT;
			front_cluster_post_signal(c, p->engine, sig);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* is the interrupted instruction inside the engine's own copy of the library? */
static bool
interrupted_in_copy(const pgembed_engine *e, void *ucontext)
{
#if defined(__x86_64__)
	uintptr_t	pc = (uintptr_t) ((ucontext_t *) ucontext)->uc_mcontext.gregs[REG_RIP];

	return pc >= e->text_start && pc < e->text_end;
#elif defined(__aarch64__)
	uintptr_t	pc = (uintptr_t) ((ucontext_t *) ucontext)->uc_mcontext.pc;

	return pc >= e->text_start && pc < e->text_end;
#else
	(void) e;
	(void) ucontext;
	return false;
#endif
}

/*
 * The front's real-time signal handler, for a process of a cluster (a poke,
 * or its timer), on the thread that runs it.  PostgreSQL's handlers are
 * written to interrupt PostgreSQL's code, and some end the process, which
 * abandons this thread's stack: that is safe only where no lock of a C
 * library, of the dynamic loader or of the front can be held, that is inside
 * the engine's own code.  Anywhere else the signals stay posted: the
 * interrupted wait returns EINTR and PostgreSQL's next wait delivers them
 * (engine_child.c's safe points), and the service thread pokes again.
 */
void
front_cluster_process_signalled(pgembed_engine *e, void *ucontext)
{
	pgembed_cluster *c = e->cluster;

	if (c == NULL)
		return;
	if (front_current_engine == e && e->running && e->engine_signal != NULL &&
		interrupted_in_copy(e, ucontext))
		e->engine_signal(e);
	/* still posted, or given to a parked backend that must act on it */
	if (e->posted_signals != 0 || e->in_recv)
	{
		e->service_due = true;
		front_cluster_wake_service(c);
	}
}

/* The timer thread found a deadline of e passed while e ran nowhere. */
void
front_cluster_process_idle_timer(pgembed_engine *e)
{
	if (e->cluster == NULL)
		return;
	__atomic_fetch_or(&e->posted_signals, SIGBIT(SIGALRM), __ATOMIC_SEQ_CST);
	e->service_due = true;
	front_cluster_wake_service(e->cluster);
}

/* ------------------------------------------------------------------------
 * The service thread: idle backends, repeated pokes, the log of threads
 * ------------------------------------------------------------------------
 */
static void
flush_cluster_log(pgembed_cluster *c)
{
	pgembed_buf q;
	size_t		pos = 0;
	pgembed_log_fn fn;
	void	   *context;

	pthread_mutex_lock(&c->lock);
	q = c->logq;
	memset(&c->logq, 0, sizeof(c->logq));
	fn = c->log_fn;
	context = c->log_context;
	pthread_mutex_unlock(&c->lock);
	while (pos + sizeof(int32_t) < q.len)
	{
		int32_t		elevel;
		const char *line = q.data + pos + sizeof(int32_t);

		memcpy(&elevel, q.data + pos, sizeof(int32_t));
		front_log_line(fn, context, elevel, line);
		pos += sizeof(int32_t) + strlen(line) + 1;
	}
	free(q.data);
}

/*
 * One round over the processes that wait for service.  Returns true when one
 * must be looked at again soon: signals still posted on a running process,
 * or a parked backend whose lock another thread held.
 */
static bool
service_round(pgembed_cluster *c)
{
	bool		again = false;

	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < MAX_PROCESSES; i++)
	{
		pgembed_engine *e = c->processes[i].engine;

		if (e == NULL || !e->service_due)
			continue;
		e->service_due = false;
		if (__atomic_load_n(&e->running, __ATOMIC_SEQ_CST))
		{
			/* on its thread, with signals that wait for a safe point */
			if (e->posted_signals != 0 && !pthread_equal(e->running_thread, pthread_self()))
			{
				(void) poke(e);
				e->service_due = true;
				again = true;
			}
			continue;
		}
		if (e->child_mode != PGEMBED_CHILD_COROUTINE)
			continue;
		/* a client backend between calls: resume it with no input */
		if (pthread_mutex_trylock(&e->lock) != 0)
		{
			e->service_due = true;
			again = true;
			continue;
		}
		if (e->state != ENGINE_DEAD && e->in_recv && e->dl_handle != NULL)
		{
			/*
			 * The engine's lock keeps it from being freed meanwhile.  What it
			 * writes (a notification, its FATAL) waits for its caller's next
			 * call, framed for that caller, and wakes a caller that waits for
			 * it (pgembed_wait_output).
			 */
			pthread_mutex_unlock(&c->lock);
			front_frame_output(e, e->idle_raw);
			e->raw_framing = e->idle_raw;
			front_run_engine(e);
			e->raw_framing = false;
			if (e->out.len > 0 || e->state == ENGINE_DEAD)
				pthread_cond_broadcast(&e->output_ready);
			pthread_mutex_unlock(&e->lock);
			pthread_mutex_lock(&c->lock);
			/* the table may have changed meanwhile: the next round goes on */
			again = true;
			break;
		}
		pthread_mutex_unlock(&e->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return again;
}

void *
front_cluster_service_main(void *arg)
{
	pgembed_cluster *c = arg;
	sigset_t	mask;
	bool		again = false;

	/* only the real-time signal: a backend it resumes may have a timer */
	sigfillset(&mask);
	sigdelset(&mask, PGEMBED_TIMER_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	while (!c->service_stop)
	{
		struct pollfd pfd = {.fd = c->service_fd,.events = POLLIN};
		uint64_t	n;

		(void) poll(&pfd, 1, again ? 1 : -1);
		if (read(c->service_fd, &n, sizeof(n)) < 0)
		{
			/* nothing counted: the retry's timeout */
		}
		flush_cluster_log(c);
		again = service_round(c);
	}
	flush_cluster_log(c);
	return NULL;
}

/* A process on a thread of its own logs through here (its engine's log hook). */
void
front_cluster_log_line(pgembed_engine *e, int elevel, const char *line)
{
	pgembed_cluster *c = e->cluster;
	size_t		n = strlen(line) + 1;
	int32_t		lev = elevel;

	pthread_mutex_lock(&c->lock);
	if (elevel >= PGEMBED_LOG_ERROR)
		snprintf(c->last_error, sizeof(c->last_error), "%s", line);
	if (pgembed_buf_reserve(e, &c->logq, sizeof(lev) + n))
	{
		memcpy(c->logq.data + c->logq.len, &lev, sizeof(lev));
		memcpy(c->logq.data + c->logq.len + sizeof(lev), line, n);
		c->logq.len += sizeof(lev) + n;
	}
	pthread_mutex_unlock(&c->lock);
	front_cluster_wake_service(c);
}
