/*-------------------------------------------------------------------------
 *
 * engine_process.c
 *	  What a backend does to its process, kept inside the engine: exit and
 *	  abort, signals, the interval timer and the umask.
 *
 * A backend believes it owns its process.  These link-time wrappers
 * (-Wl,--wrap=...) apply to PostgreSQL's own objects and keep every such
 * effect inside the engine that causes it:
 *	- exit/_exit/abort end the engine, never the host process;
 *	- signal handlers, signal masks and kill() of our own pid become a private
 *	  signal table: the host's handlers and masks are never touched;
 *	- setitimer(ITIMER_REAL) becomes a per-engine timer run by the front;
 *	- umask is recorded, not applied; atexit registrations are dropped.
 * Each wrapper passes through to the C library when this copy of the library
 * runs no engine (engine_self is NULL: the front's copy).
 *
 * Each __wrap_x is declared beside the __real_x it passes on to.  No C caller
 * needs that declaration (the linker redirects PostgreSQL's calls); it is
 * there so that -Wmissing-prototypes can flag a routine that should be static.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/engine_process.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 * the private signal table:
 *		engine_signals_init		- no signal blocked, as an engine starts
 *		engine_deliver_signal	- run the backend's handler, or keep it pending
 *		engine_deliver_pending	- run the handlers of pending and posted signals
 *
 * leaving the engine:
 *		engine_yield			- give control back to the caller of the API
 *		__wrap_exit, __wrap__exit, __wrap_abort	- end the engine, not the host
 *		__wrap_atexit			- drop the registration
 *
 * signals, timer and umask:
 *		__wrap_kill, __wrap_raise	- signal the engine itself, nobody else
 *		__wrap_sigaction, __wrap_sigprocmask	- the private table and mask
 *		__wrap_siglongjmp		- never restore another thread's mask
 *		__wrap_setitimer		- the per-engine timer, run by the front
 *		__wrap_umask			- the backend's umask, for the file wrappers
 *------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "utils/memutils.h"

#include "pgembed_engine.h"

/* routines only used in this file */
pg_noreturn static void engine_die(bool aborted);

/* ---------------------------------------------------------------------
 * Private signal table
 * ---------------------------------------------------------------------
 */
static struct sigaction vsig[PGEMBED_NSIG];
static sigset_t vmask;
static uint64_t vpending;		/* changed atomically: a handler may interrupt
								 * a change */
static volatile sig_atomic_t delivering;	/* a delivery loop is running */

#define SIGBIT(sig)		(UINT64_C(1) << (sig))

static void
run_handler(int sig)
{
	struct sigaction *a = &vsig[sig];
	sigset_t	saved = vmask;

	if (a->sa_handler == SIG_IGN || a->sa_handler == SIG_DFL)
		return;
	/* as the kernel does: the signal and sa_mask stay blocked while it runs */
	if (!(a->sa_flags & SA_NODEFER))
		sigaddset(&vmask, sig);
	sigorset(&vmask, &vmask, &a->sa_mask);
	if (a->sa_flags & SA_SIGINFO)
	{
		siginfo_t	si;

		memset(&si, 0, sizeof(si));
		si.si_signo = sig;
		si.si_code = SI_USER;
		si.si_pid = getpid();
		a->sa_sigaction(sig, &si, NULL);
	}
	else
		a->sa_handler(sig);
	vmask = saved;
}

/* An emulated SIGKILL: the engine ends at once, as a killed process does. */
pg_noreturn static void
die_killed(void)
{
	engine_self->exit_signal = SIGKILL;
	engine_die(true);
}

void
engine_deliver_signal(int sig)
{
	if (sig <= 0 || sig >= PGEMBED_NSIG)
		return;
	__atomic_fetch_or(&vpending, SIGBIT(sig), __ATOMIC_SEQ_CST);
	engine_deliver_pending();
}

/* Called as an engine starts: no signal is blocked. */
void
engine_signals_init(void)
{
	sigemptyset(&vmask);
}

/*
 * Runs the handlers of the pending signals that are not blocked, those that
 * other processes of a cluster posted included.  One loop at a time: a
 * handler that interrupts the loop leaves its signals to it.
 */
void
engine_deliver_pending(void)
{
	if (delivering)
		return;
	delivering = 1;
	for (;;)
	{
		uint64_t	ready;
		int			sig = 0;

		/* the usual case, on every entry into the engine: nothing at all */
		if (__atomic_load_n(&engine_self->posted_signals, __ATOMIC_SEQ_CST) != 0)
			__atomic_fetch_or(&vpending, __atomic_exchange_n(&engine_self->posted_signals, 0, __ATOMIC_SEQ_CST),
							  __ATOMIC_SEQ_CST);
		ready = __atomic_load_n(&vpending, __ATOMIC_SEQ_CST);
		while (ready != 0 && sig == 0)
		{
			int			s = __builtin_ctzll(ready);

			ready &= ready - 1;
			if (s == SIGKILL || !sigismember(&vmask, s))
				sig = s;
		}
		if (sig == 0)
		{
			delivering = 0;

			/*
			 * posted after the last look by a process whose poke found the
			 * loop running
			 */
			if (__atomic_load_n(&engine_self->posted_signals, __ATOMIC_SEQ_CST) == 0)
				return;
			delivering = 1;
			continue;
		}
		__atomic_fetch_and(&vpending, ~SIGBIT(sig), __ATOMIC_SEQ_CST);
		if (sig == SIGKILL)
			die_killed();
		run_handler(sig);
	}
}

/* ---------------------------------------------------------------------
 * Leaving the engine
 * ---------------------------------------------------------------------
 */

/* Gives control back to the caller of the API; returns when it calls in again. */
void
engine_yield(void)
{
	engine_self->yield(engine_self);
	if (engine_self->alarm_pending)
	{
		engine_self->alarm_pending = 0;
		__atomic_fetch_or(&vpending, SIGBIT(SIGALRM), __ATOMIC_SEQ_CST);
	}
	/* what fired or was sent while the engine was away */
	engine_deliver_pending();
}

/*
 * aset.c keeps up to MAX_FREE_CONTEXTS (100) deleted contexts per size class in
 * static freelists for reuse; they would stay allocated when this copy of the
 * library is unloaded.  Deleting a context into a full list frees the list, so
 * cycle 101 contexts of each class through it; the one left in the list is freed
 * here, as nothing will look at the list again.
 */
#define FREELIST_FLUSH 101

static void
flush_context_freelists(void)
{
	MemoryContext cxts[FREELIST_FLUSH];

	for (int kind = 0; kind < 2; kind++)
	{
		for (int i = 0; i < FREELIST_FLUSH; i++)
			cxts[i] = (kind == 0)
				? AllocSetContextCreate(TopMemoryContext, "pgembed flush", ALLOCSET_DEFAULT_SIZES)
				: AllocSetContextCreate(TopMemoryContext, "pgembed flush", ALLOCSET_SMALL_SIZES);
		for (int i = 0; i < FREELIST_FLUSH; i++)
			MemoryContextDelete(cxts[i]);
		free(cxts[FREELIST_FLUSH - 1]);
	}
}

/*
 * After a clean exit (proc_exit has run every callback): give the backend's
 * memory back to this namespace's C library, which the slot's next engine reuses.
 */
static void
release_backend_memory(void)
{
	MemoryContext top = TopMemoryContext;

	MemoryContextSwitchTo(top);
	MemoryContextDeleteChildren(top);
	flush_context_freelists();
	CurrentMemoryContext = NULL;
	TopMemoryContext = NULL;
	MemoryContextDelete(top);
	/* TopMemoryContext went to the (now unused) freelist: free it for good */
	free(top);
}

pg_noreturn static void
engine_die(bool aborted)
{
	void	   *unused;

	engine_self->aborted = aborted;
	engine_self->tx_status = PGEMBED_TX_CLOSED;
	engine_self->state = ENGINE_DEAD;
	if (!aborted)
		release_backend_memory();
	/* this stack is never resumed */
	pgembed__switch(&unused, engine_self->front_sp);
	__builtin_unreachable();
}

pg_noreturn extern void __real_exit(int code);
pg_noreturn extern void __wrap_exit(int code);
void
__wrap_exit(int code)
{
	if (engine_self == NULL)
		__real_exit(code);
	engine_self->exit_code = code;
	engine_die(false);
}

pg_noreturn extern void __real__exit(int code);
pg_noreturn extern void __wrap__exit(int code);
void
__wrap__exit(int code)
{
	if (engine_self == NULL)
		__real__exit(code);
	engine_self->exit_code = code;
	engine_die(true);
}

pg_noreturn extern void __real_abort(void);
pg_noreturn extern void __wrap_abort(void);
void
__wrap_abort(void)
{
	if (engine_self == NULL)
		__real_abort();
	engine_self->exit_signal = SIGABRT;
	engine_die(true);
}

/* PostgreSQL's atexit() hook would run backend code at host exit, on any thread. */
extern int	__real_atexit(void (*fn) (void));
extern int	__wrap_atexit(void (*fn) (void));
int
__wrap_atexit(void (*fn) (void))
{
	if (engine_self == NULL)
		return __real_atexit(fn);
	return 0;
}

/* ---------------------------------------------------------------------
 * Signals
 * ---------------------------------------------------------------------
 */
extern int	__real_kill(pid_t pid, int sig);
extern int	__wrap_kill(pid_t pid, int sig);
int
__wrap_kill(pid_t pid, int sig)
{
	pid_t		self = getpid();

	if (engine_self == NULL)
		return __real_kill(pid, sig);
	if (pid == self || pid == -self)
	{
		/* the backend signalling itself (or "its process group") */
		if (sig != 0)
			engine_deliver_signal(sig);
		return 0;
	}
	if (engine_self->route_kill != NULL)
	{
		/* a process of a cluster: the front routes it by pid, or says -errno */
		int			rc = engine_self->route_kill(engine_self, pid, sig);

		/*
		 * what the routing posted for this process itself (a phantom's
		 * SIGCHLD)
		 */
		if (engine_self->posted_signals != 0)
			engine_deliver_pending();
		if (rc < 0)
		{
			errno = -rc;
			return -1;
		}
		return 0;
	}
	if (pid == 0 || pid == -1)
	{
		/* PostmasterPid is 0 in single-user mode: no postmaster to tell */
		return 0;
	}
	/* no other PostgreSQL process exists: never signal the host's neighbours */
	errno = ESRCH;
	return -1;
}

extern int	__real_raise(int sig);
extern int	__wrap_raise(int sig);
int
__wrap_raise(int sig)
{
	if (engine_self == NULL)
		return __real_raise(sig);
	if (sig == SIGABRT || sig == SIGKILL)
	{
		engine_self->exit_signal = sig;
		engine_die(true);
	}
	engine_deliver_signal(sig);
	return 0;
}

extern int	__real_sigaction(int sig, const struct sigaction *act, struct sigaction *oact);
extern int	__wrap_sigaction(int sig, const struct sigaction *act, struct sigaction *oact);
int
__wrap_sigaction(int sig, const struct sigaction *act, struct sigaction *oact)
{
	if (engine_self == NULL)
		return __real_sigaction(sig, act, oact);
	if (sig <= 0 || sig >= PGEMBED_NSIG)
	{
		errno = EINVAL;
		return -1;
	}
	if (oact)
		*oact = vsig[sig];
	if (act)
		vsig[sig] = *act;
	return 0;
}

extern int	__real_sigprocmask(int how, const sigset_t *set, sigset_t *oset);
extern int	__wrap_sigprocmask(int how, const sigset_t *set, sigset_t *oset);
int
__wrap_sigprocmask(int how, const sigset_t *set, sigset_t *oset)
{
	if (engine_self == NULL)
		return __real_sigprocmask(how, set, oset);
	if (oset)
		*oset = vmask;
	if (set)
	{
		switch (how)
		{
			case SIG_BLOCK:
				sigorset(&vmask, &vmask, set);
				break;
			case SIG_UNBLOCK:
				for (int s = 1; s < PGEMBED_NSIG; s++)
					if (sigismember(set, s))
						sigdelset(&vmask, s);
				break;
			case SIG_SETMASK:
				vmask = *set;
				break;
			default:
				errno = EINVAL;
				return -1;
		}
		engine_deliver_pending();
	}
	return 0;
}

/* Error recovery must not restore a signal mask saved on another thread. */
pg_noreturn extern void __real_siglongjmp(sigjmp_buf env, int val);
pg_noreturn extern void __wrap_siglongjmp(sigjmp_buf env, int val);
void
__wrap_siglongjmp(sigjmp_buf env, int val)
{
	if (engine_self != NULL)
		env[0].__mask_was_saved = 0;
	__real_siglongjmp(env, val);
}

/* ---------------------------------------------------------------------
 * The interval timer: ITIMER_REAL becomes the engine's own, run by the front
 * ---------------------------------------------------------------------
 */
extern int	__real_setitimer(int which, const struct itimerval *nv, struct itimerval *ov);
extern int	__wrap_setitimer(int which, const struct itimerval *nv, struct itimerval *ov);
int
__wrap_setitimer(int which, const struct itimerval *nv, struct itimerval *ov)
{
	int64_t		deadline = 0;

	if (engine_self == NULL || which != ITIMER_REAL)
		return __real_setitimer(which, nv, ov);
	if (ov)
		memset(ov, 0, sizeof(*ov));
	if (nv && (nv->it_value.tv_sec != 0 || nv->it_value.tv_usec != 0))
	{
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		deadline = (int64_t) now.tv_sec * 1000000000 + now.tv_nsec +
			(int64_t) nv->it_value.tv_sec * 1000000000 + (int64_t) nv->it_value.tv_usec * 1000;
	}
	engine_self->timer_set(engine_self, deadline);
	return 0;
}

/* ---------------------------------------------------------------------
 * The umask: recorded for the file wrappers, never applied
 * ---------------------------------------------------------------------
 */
mode_t		engine_umask = 077;
extern mode_t __real_umask(mode_t mask);
extern mode_t __wrap_umask(mode_t mask);
mode_t
__wrap_umask(mode_t mask)
{
	mode_t		old = engine_umask;

	if (engine_self == NULL)
		return __real_umask(mask);
	engine_umask = mask & 0777;
	return old;
}
