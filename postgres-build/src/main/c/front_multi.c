/*-------------------------------------------------------------------------
 *
 * front_multi.c
 *	  Clusters with a real postmaster: several backends of one database at
 *	  once, each a PostgreSQL process of its own in a link-map namespace.
 *
 * pgembed_cluster_open() runs PostgreSQL's PostmasterMain in an engine on a
 * thread of its own (engine_postmaster.c).  Each fork_process() of the
 * postmaster comes here as a spawn, and the child becomes a new engine in a
 * namespace of its own that runs SubPostmasterMain (engine_child.c):
 *	- the checkpointer and the startup process on threads of their own;
 *	- a client backend as a coroutine, run by the thread that called
 *	  pgembed_connect() and then by every thread that calls the API on it,
 *	  exactly as a single-backend engine is;
 *	- the background writer and the WAL writer as phantoms: a virtual pid
 *	  with nothing behind it, which ends when it is told to.  Backends write
 *	  their own buffers and WAL meanwhile.
 * Processes are told apart by virtual pids.  A kill() between them posts the
 * signal in the target's engine struct and pokes the thread that runs the
 * target with the front's real-time signal; a backend that sits idle between
 * calls is resumed by this file's service thread instead, as a server
 * backend waiting for its client would be woken by its latch.  A child's end
 * becomes a status that the postmaster's waitpid() reaps, and a SIGCHLD.
 *
 * Locking: a cluster's mutex protects its process table, its zombies, its
 * queue of connections and its log queue.  It may be taken while an
 * engine's lock is held, never the other way round (the service thread only
 * try-locks engines).
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_multi.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		pgembed_cluster_open	- start the postmaster; wait until it accepts connections
 *		pgembed_connect			- a new backend of the cluster, as an engine
 *		pgembed_cluster_close	- fast shutdown, then free the cluster
 *		pgembed_cluster_set_log_callback - where the cluster's server log goes
 *
 * hooks of a cluster's processes, which the front's lower layers call
 * (pgembed_engine.on_end, on_signal, on_idle_timer):
 *		process_ended			- it ended: release it, then tell its parent
 *		process_signalled		- the real-time signal reached its thread
 *		process_idle_timer		- its deadline passed while it ran nowhere
 *------------------------
 */
#include "pgembed_front.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/* virtual pids: above any Linux pid_max (2^22), so never a real process */
#define VPID_BASE		0x40000000
#define VPID_CLUSTER_SHIFT 20
#define MAX_PROCESSES	48		/* a cluster's processes at once, phantoms
								 * included */

#define SIGBIT(sig)		(UINT64_C(1) << (sig))

typedef struct
{
	int32_t		vpid;			/* 0: free */
	pgembed_engine *engine;		/* NULL: a phantom, or a process that ended */
	bool		phantom;
} cluster_process;

typedef struct
{
	int32_t		vpid;
	int			status;			/* as waitpid() reports it */
} zombie;

enum
{
	CONNECT_QUEUED,				/* waits for the postmaster's accept() */
	CONNECT_ACCEPTED,			/* the postmaster is starting its backend */
	CONNECT_SPAWNED,			/* the backend's engine is ready to run */
	CONNECT_REFUSED				/* the postmaster is done with it, and started
								 * no backend */
};

typedef struct pending_connect
{
	struct pending_connect *next;
	pgembed_engine *engine;		/* the engine the backend will run in */
	int			state;
	char		why[256];		/* why a spawn failed */
} pending_connect;

struct pgembed_cluster
{
	pthread_mutex_t lock;
	pthread_cond_t changed;		/* start-up progress, spawns, the postmaster's
								 * end */
	int			id;
	char	   *datadir;
	pgembed_engine *postmaster;
	pthread_t	postmaster_thread;
	bool		postmaster_started;
	bool		postmaster_ended;
	int			postmaster_status;	/* how it ended, as waitpid() says */
	int			death_watch_fd; /* the read end of its death pipe */
	char		status[16];		/* postmaster.pid's status line: starting,
								 * ready, stopping */
	char		last_error[512];	/* the last ERROR or worse a process of
									 * the cluster logged, for start-up errors */
	int			listen_fd;		/* eventfd, EFD_SEMAPHORE: one count per
								 * queued connection */
	int			service_fd;		/* eventfd: wakes the service thread */
	pthread_t	service_thread;
	bool		service_started;
	volatile bool service_stop;
	int32_t		next_seq;
	cluster_process processes[MAX_PROCESSES];
	zombie		zombies[MAX_PROCESSES];
	int			nzombies;
	pending_connect *queued;	/* oldest first */
	pending_connect *accepted;
	pgembed_log_fn log_fn;
	void	   *log_context;
	pgembed_buf logq;			/* lines of processes on threads of their own:
								 * [int32 elevel][line NUL]... */
};

/* routines only used in this file */
static void post_signal(pgembed_cluster *c, pgembed_engine *t, int sig);
static void wake_service(pgembed_cluster *c);

static pthread_mutex_t clusters_lock = PTHREAD_MUTEX_INITIALIZER;
static int	next_cluster_id;

/* ------------------------------------------------------------------------
 * The process table
 * ------------------------------------------------------------------------
 */

/* caller holds c->lock */
static cluster_process *
find_process(pgembed_cluster *c, int32_t vpid)
{
	for (int i = 0; i < MAX_PROCESSES; i++)
		if (c->processes[i].vpid == vpid)
			return &c->processes[i];
	return NULL;
}

/* caller holds c->lock; returns the new virtual pid, or -1 when the table is full */
static int32_t
register_process(pgembed_cluster *c, pgembed_engine *e)
{
	cluster_process *p = find_process(c, 0);

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
static void
add_zombie(pgembed_cluster *c, int32_t vpid, int status)
{
	cluster_process *p = find_process(c, vpid);

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
		post_signal(c, c->postmaster, SIGCHLD);
}

/* how e ended, as waitpid() would report it */
static int
exit_status(const pgembed_engine *e)
{
	if (e->exit_signal != 0)
		return e->exit_signal & 0x7f;	/* W_EXITCODE(0, sig) */
	return (e->exit_code & 0xff) << 8;	/* W_EXITCODE(code, 0) */
}

/* ------------------------------------------------------------------------
 * Signals between the processes
 * ------------------------------------------------------------------------
 */
static void
wake_service(pgembed_cluster *c)
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
static void
post_signal(pgembed_cluster *c, pgembed_engine *t, int sig)
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
	wake_service(c);
}

/* A phantom child ends when it is told to; other signals are lost on it. */
static void
signal_phantom(pgembed_cluster *c, int32_t vpid, int sig)
{
	switch (sig)
	{
		case SIGTERM:
			add_zombie(c, vpid, 0);
			break;
		case SIGQUIT:
			add_zombie(c, vpid, 2 << 8);	/* SignalHandlerForCrashExit:
											 * _exit(2) */
			break;
		case SIGKILL:
		case SIGABRT:
			add_zombie(c, vpid, sig);
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
static int
route_kill(pgembed_engine *from, int pid, int sig)
{
	pgembed_cluster *c = from->cluster;
	int32_t		vpid = pid < 0 ? -pid : pid;
	cluster_process *p;

	if (pid == 0 || pid == -1)
		return 0;
	pthread_mutex_lock(&c->lock);
	p = find_process(c, vpid);
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
			 * handler would
			 */
			p->engine->engine_wakeup();
		}
		else
			post_signal(c, p->engine, sig);
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
static void
process_signalled(pgembed_engine *e, void *ucontext)
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
		wake_service(c);
	}
}

/* The timer thread found a deadline of e passed while e ran nowhere. */
static void
process_idle_timer(pgembed_engine *e)
{
	if (e->cluster == NULL)
		return;
	__atomic_fetch_or(&e->posted_signals, SIGBIT(SIGALRM), __ATOMIC_SEQ_CST);
	e->service_due = true;
	wake_service(e->cluster);
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
			/* the engine's lock keeps it from being freed meanwhile */
			pthread_mutex_unlock(&c->lock);
			front_run_engine(e);
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

static void *
service_main(void *arg)
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
static void
cluster_log_line(pgembed_engine *e, int elevel, const char *line)
{
	pgembed_cluster *c = e->cluster;
	size_t		n = strlen(line) + 1;
	int32_t		lev = elevel;

	pthread_mutex_lock(&c->lock);
	if (elevel >= 21)			/* ERROR and above */
		snprintf(c->last_error, sizeof(c->last_error), "%s", line);
	if (pgembed_buf_reserve(e, &c->logq, sizeof(lev) + n))
	{
		memcpy(c->logq.data + c->logq.len, &lev, sizeof(lev));
		memcpy(c->logq.data + c->logq.len + sizeof(lev), line, n);
		c->logq.len += sizeof(lev) + n;
	}
	pthread_mutex_unlock(&c->lock);
	wake_service(c);
}

/* ------------------------------------------------------------------------
 * The processes' engines
 * ------------------------------------------------------------------------
 */
static int	cluster_spawn(pgembed_engine *pm, const char *kind, int mode, const char *params, int client_fd);
static int	cluster_reap(pgembed_engine *pm, int pid, int *status, int options);
static int	cluster_accept(pgembed_engine *pm);
static void cluster_status(pgembed_engine *pm, const char *status);
static void cluster_release_inproc(pgembed_engine *pm, int fd);
static void process_ended(pgembed_engine *e);

/* A new engine for a process of cluster c, not loaded yet. */
static pgembed_engine *
process_new(pgembed_cluster *c, int mode)
{
	pgembed_engine *e = front_engine_new();

	if (e == NULL)
		return NULL;
	e->cluster = c;
	e->child_mode = mode;
	e->auto_maintenance = false;	/* the cluster's checkpointer does that
									 * work */
	e->log_fn = c->log_fn;
	e->log_context = c->log_context;
	e->listen_fd = c->listen_fd;
	e->death_watch_fd = -1;
	e->on_end = process_ended;
	e->on_signal = process_signalled;
	e->on_idle_timer = process_idle_timer;
	e->route_kill = route_kill;
	e->spawn = cluster_spawn;
	e->reap = cluster_reap;
	e->accept_inproc = cluster_accept;
	e->pm_status = cluster_status;
	e->release_inproc = cluster_release_inproc;

	/*
	 * a process on a thread of its own never returns to a caller who flushes
	 * its log
	 */
	if (mode != PGEMBED_CHILD_COROUTINE)
		e->log_line = cluster_log_line;
	if (mode != PGEMBED_CHILD_POSTMASTER &&
		((e->datadir = strdup(c->datadir)) == NULL || (e->dbname = strdup("postgres")) == NULL))
	{
		front_engine_free(e);
		return NULL;
	}
	return e;
}

/* the engine's own code, where a signal's handler may run (interrupted_in_copy) */
static int
find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
	pgembed_engine *e = arg;
	struct link_map *lm = NULL;

	(void) size;
	if (dlinfo(e->dl_handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL || info->dlpi_addr != lm->l_addr)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
	{
		const		ElfW(Phdr) * ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
		{
			e->text_start = info->dlpi_addr + ph->p_vaddr;
			e->text_end = e->text_start + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

/*
 * Gives e (which has a slot) a fresh copy of the library, its entry points
 * and a stack.  On failure why says what was missing, and the caller
 * releases e.
 */
static bool
process_load(pgembed_engine *e, const char *main_name, char *why, size_t whylen)
{
	if (!front_load_engine_copy(e))
	{
		const char *err = dlerror();

		snprintf(why, whylen, "%s", front_namespaces_exhausted(err) ? front_namespace_limit_message(err)
				 : err ? err : "dlmopen failed");
		return false;
	}
	e->engine_main = (void (*) (pgembed_engine *)) dlsym(e->dl_handle, main_name);
	e->engine_cancel = (void (*) (pgembed_engine *)) dlsym(e->dl_handle, "pgembed__engine_cancel");
	e->engine_alarm = (void (*) (pgembed_engine *)) dlsym(e->dl_handle, "pgembed__engine_alarm");
	e->engine_cleanup = (void (*) (pgembed_engine *)) dlsym(e->dl_handle, "pgembed__engine_cleanup");
	e->engine_signal = (void (*) (pgembed_engine *)) dlsym(e->dl_handle, "pgembed__engine_signal");
	e->engine_wakeup = (void (*) (void)) dlsym(e->dl_handle, "WakeupMyProc");
	if (!e->engine_main || !e->engine_cancel || !e->engine_alarm || !e->engine_cleanup ||
		!e->engine_signal || !e->engine_wakeup)
	{
		snprintf(why, whylen, "engine entry points missing: %s", dlerror());
		return false;
	}
	dl_iterate_phdr(find_text, e);
	e->stack_size = FRONT_ENGINE_STACK_SIZE;
	e->stack = front_map_stack(e->stack_size);
	if (e->stack == NULL)
	{
		snprintf(why, whylen, "could not map a stack for the process");
		return false;
	}
	front_init_coroutine(e);
	e->state = ENGINE_STARTING;
	return true;
}

/* A process on a thread of its own: the postmaster, the checkpointer, ... */
static void *
process_thread_main(void *arg)
{
	pgembed_engine *e = arg;
	bool		postmaster = e->child_mode == PGEMBED_CHILD_POSTMASTER;
	sigset_t	mask;

	/* only the front's real-time signal: pokes and timers */
	sigfillset(&mask);
	sigdelset(&mask, PGEMBED_TIMER_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	pthread_mutex_lock(&e->lock);
	front_run_engine(e);		/* until the process ends (process_ended) */
	pthread_mutex_unlock(&e->lock);

	/*
	 * pgembed_cluster_close frees the postmaster's, after it joined this
	 * thread
	 */
	if (!postmaster)
		front_engine_free(e);
	return NULL;
}

static bool
start_thread(pgembed_engine *e, pthread_t *thread, const char *name)
{
	pthread_attr_t attr;
	pthread_t	t;
	bool		ok;

	pthread_attr_init(&attr);
	/* the process runs on its engine's stack; this one only runs the front */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (thread == NULL)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ok = pthread_create(&t, &attr, process_thread_main, e) == 0;
	pthread_attr_destroy(&attr);
	if (ok)
	{
		char		tname[16];

		snprintf(tname, sizeof(tname), "pg %s", name);
		pthread_setname_np(t, tname);
		if (thread != NULL)
			*thread = t;
	}
	return ok;
}

/*
 * The postmaster's fork_process(), on the postmaster's thread: start a child
 * of kind (its --forkchild name) that reads its parameters from params.
 * Returns the child's virtual pid, or -1 (the postmaster handles a failed
 * fork: it logs it, and tells a client on its socket).
 */
static int
cluster_spawn(pgembed_engine *pm, const char *kind, int mode, const char *params, int client_fd)
{
	pgembed_cluster *c = pm->cluster;
	pending_connect *pc = NULL;
	pgembed_engine *e;
	char		why[512] = "";
	int32_t		vpid = -1;

	if (mode == PGEMBED_CHILD_PHANTOM)
	{
		pthread_mutex_lock(&c->lock);
		vpid = register_process(c, NULL);
		pthread_mutex_unlock(&c->lock);
		return vpid;
	}
	if (mode == PGEMBED_CHILD_COROUTINE)
	{
		/* the engine pgembed_connect() prepared for this connection */
		pthread_mutex_lock(&c->lock);
		for (pending_connect **pp = &c->accepted; *pp != NULL; pp = &(*pp)->next)
			if ((*pp)->engine->port_fd == client_fd)
			{
				pc = *pp;
				*pp = pc->next;
				pc->next = NULL;
				break;
			}
		pthread_mutex_unlock(&c->lock);
		if (pc == NULL)
			return -1;
		e = pc->engine;
	}
	else if ((e = process_new(c, mode)) == NULL)
		return -1;

	snprintf(e->child_kind, sizeof(e->child_kind), "%s", kind);
	snprintf(e->child_params, sizeof(e->child_params), "%s", params);
	e->slot = front_claim_slot(e);
	if (e->slot < 0)
		snprintf(why, sizeof(why), "no namespace is left: all %d of the process's hold engines or processes of clusters",
				 MAX_ENGINES);
	else if (process_load(e, "pgembed__child_main", why, sizeof(why)))
	{
		pthread_mutex_lock(&c->lock);
		vpid = register_process(c, e);
		if (vpid > 0)
			e->vpid = vpid;
		else
			snprintf(why, sizeof(why), "too many processes in the cluster (at most %d)", MAX_PROCESSES);
		pthread_mutex_unlock(&c->lock);
	}
	if (vpid > 0 && mode == PGEMBED_CHILD_THREAD && !start_thread(e, NULL, kind))
	{
		pthread_mutex_lock(&c->lock);
		find_process(c, vpid)->vpid = 0;
		pthread_mutex_unlock(&c->lock);
		snprintf(why, sizeof(why), "could not start a thread: %s", strerror(errno));
		vpid = -1;
	}

	pthread_mutex_lock(&c->lock);
	if (vpid < 0)
		snprintf(c->last_error, sizeof(c->last_error), "could not start a %s process: %s", kind, why);
	if (pc != NULL)
	{
		/*
		 * a refused connection waits on the accepted list for its socket's
		 * release
		 */
		if (vpid > 0)
			pc->state = CONNECT_SPAWNED;
		else
		{
			snprintf(pc->why, sizeof(pc->why), "%s", why);
			pc->next = c->accepted;
			c->accepted = pc;
		}
		pthread_cond_broadcast(&c->changed);
	}
	pthread_mutex_unlock(&c->lock);
	if (vpid < 0 && pc == NULL)
	{
		front_engine_release(e);
		front_engine_free(e);
	}
	else if (vpid < 0)
	{
		/*
		 * The postmaster writes its refusal on the connection's socket and
		 * closes it next (cluster_release_inproc): until then it stays open.
		 */
		int			port = e->port_fd,
					peer = e->peer_fd;

		e->port_fd = e->peer_fd = -1;
		front_engine_release(e);
		e->port_fd = port;
		e->peer_fd = peer;
	}
	return vpid;
}

/*
 * The postmaster closed the socket of an in-process connection whose backend
 * it did not start (a failed fork, or a refusal before it): pgembed_connect
 * may report and free it now.
 */
static void
cluster_release_inproc(pgembed_engine *pm, int fd)
{
	pgembed_cluster *c = pm->cluster;

	pthread_mutex_lock(&c->lock);
	for (pending_connect **pp = &c->accepted; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->engine->port_fd == fd)
		{
			pending_connect *pc = *pp;

			*pp = pc->next;
			pc->next = NULL;
			pc->state = CONNECT_REFUSED;
			pthread_cond_broadcast(&c->changed);
			break;
		}
	pthread_mutex_unlock(&c->lock);
}

/* The postmaster's waitpid(): the children that ended, oldest first; or 0, or -errno. */
static int
cluster_reap(pgembed_engine *pm, int pid, int *status, int options)
{
	pgembed_cluster *c = pm->cluster;
	int32_t		vpid = 0;

	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < c->nzombies; i++)
	{
		if (pid > 0 && c->zombies[i].vpid != pid)
			continue;
		vpid = c->zombies[i].vpid;
		if (status != NULL)
			*status = c->zombies[i].status;
		memmove(&c->zombies[i], &c->zombies[i + 1], sizeof(zombie) * (c->nzombies - i - 1));
		c->nzombies--;
		break;
	}
	pthread_mutex_unlock(&c->lock);
	if (vpid != 0)
		return vpid;
	if (options & WNOHANG)
		return 0;
	return -ECHILD;
}

/* The postmaster's accept() on the in-process listener: the oldest queued connection, or -errno. */
static int
cluster_accept(pgembed_engine *pm)
{
	pgembed_cluster *c = pm->cluster;
	pending_connect *pc;
	uint64_t	one;

	if (read(c->listen_fd, &one, sizeof(one)) != sizeof(one))
		return -EAGAIN;			/* nothing queued */
	pthread_mutex_lock(&c->lock);
	pc = c->queued;
	if (pc != NULL)
	{
		c->queued = pc->next;
		pc->state = CONNECT_ACCEPTED;
		pc->next = c->accepted;
		c->accepted = pc;
	}
	pthread_mutex_unlock(&c->lock);
	if (pc == NULL)
		return -EAGAIN;
	return pc->engine->port_fd;
}

/* postmaster.pid's status line changed: "starting", "ready", "stopping", ... */
static void
cluster_status(pgembed_engine *pm, const char *status)
{
	pgembed_cluster *c = pm->cluster;

	pthread_mutex_lock(&c->lock);
	snprintf(c->status, sizeof(c->status), "%s", status);
	/* the line is padded with blanks */
	for (char *p = c->status + strlen(c->status); p > c->status && p[-1] == ' ';)
		*--p = '\0';
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
}

/*
 * front_run_engine() found e ended.  No signal may be routed to it any more;
 * then its namespace and descriptors go; only then its parent learns of its
 * end: a restarting postmaster never races a half-gone child.
 */
static void
process_ended(pgembed_engine *e)
{
	pgembed_cluster *c = e->cluster;
	int32_t		vpid = e->vpid;
	cluster_process *p;
	sigset_t	rt;

	/* a handler may have ended it inside the real-time signal's handler */
	sigemptyset(&rt);
	sigaddset(&rt, PGEMBED_TIMER_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &rt, NULL);

	pthread_mutex_lock(&c->lock);
	if ((p = find_process(c, vpid)) != NULL)
		p->engine = NULL;		/* a phantom until reaped: nothing reaches the
								 * engine */
	pthread_mutex_unlock(&c->lock);
	front_engine_release(e);
	pthread_mutex_lock(&c->lock);
	if (e == c->postmaster)
	{
		if ((p = find_process(c, vpid)) != NULL)
			p->vpid = 0;
		c->postmaster_status = exit_status(e);
		c->death_watch_fd = e->death_watch_fd;
		c->postmaster_ended = true;
		pthread_cond_broadcast(&c->changed);
	}
	else
		add_zombie(c, vpid, exit_status(e));
	pthread_mutex_unlock(&c->lock);
	/* the application may keep a backend's engine past the cluster's end */
	if (e->child_mode == PGEMBED_CHILD_COROUTINE)
		e->cluster = NULL;
}

/* ------------------------------------------------------------------------
 * The API
 * ------------------------------------------------------------------------
 */
static void
cluster_free(pgembed_cluster *c)
{
	if (c->service_started)
	{
		c->service_stop = true;
		wake_service(c);
		pthread_join(c->service_thread, NULL);
	}
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->service_fd >= 0)
		close(c->service_fd);
	if (c->death_watch_fd >= 0)
		close(c->death_watch_fd);
	free(c->logq.data);
	free(c->datadir);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->changed);
	free(c);
}

/* Everything a cluster needs before its postmaster starts. */
static pgembed_cluster *
cluster_new(const char *datadir, pgembed_error **error)
{
	pgembed_cluster *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;

	if (c == NULL || (c->datadir = strdup(datadir)) == NULL)
	{
		free(c);
		if (error)
			*error = front_make_error("53200", "FATAL", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->changed, &ca);
	pthread_condattr_destroy(&ca);
	c->death_watch_fd = -1;
	snprintf(c->status, sizeof(c->status), "starting");
	pthread_mutex_lock(&clusters_lock);
	c->id = next_cluster_id++ & 0x3ff;
	pthread_mutex_unlock(&clusters_lock);
	c->listen_fd = eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	c->service_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->listen_fd < 0 || c->service_fd < 0 || !front_ensure_timer_machinery() ||
		pthread_create(&c->service_thread, NULL, service_main, c) != 0)
	{
		if (error)
			*error = front_make_error("58000", "FATAL", "could not set up the cluster's threads: %s", strerror(errno));
		cluster_free(c);
		return NULL;
	}
	c->service_started = true;
	pthread_setname_np(c->service_thread, "pgembed-service");
	return c;
}

pgembed_cluster *
pgembed_cluster_open(const char *datadir, int nsettings, const char *const *settings, pgembed_error **error)
{
	pgembed_cluster *c;
	pgembed_engine *pm;
	char		why[512] = "";
	bool		ok;

	if (error)
		*error = NULL;
	if (datadir == NULL || nsettings < 0 || (nsettings > 0 && settings == NULL))
	{
		if (error)
			*error = front_make_error("22023", "ERROR", "invalid arguments to pgembed_cluster_open");
		return NULL;
	}
	c = cluster_new(datadir, error);
	if (c == NULL)
		return NULL;
	pm = process_new(c, PGEMBED_CHILD_POSTMASTER);
	if (pm == NULL)
	{
		if (error)
			*error = front_make_error("53200", "FATAL", "out of memory");
		cluster_free(c);
		return NULL;
	}

	/*
	 * The postmaster holds the directory as a single-backend engine would: a
	 * slot (so that pgembed_open of it is refused in this process) and the
	 * flock on pgembed.lock (against other processes).
	 */
	ok = front_engine_set_target(pm, datadir, NULL, NULL, nsettings, settings, error) &&
		front_take_slot(pm, error) &&
		front_lock_data_directory(pm, error);
	if (ok)
	{
		free(c->datadir);
		c->datadir = strdup(pm->datadir);	/* the real path */
		ok = c->datadir != NULL && process_load(pm, "pgembed__postmaster_main", why, sizeof(why));
		if (!ok && error)
			*error = front_make_error(strstr(why, "GLIBC_TUNABLES") ? "53300" : "58000", "FATAL", "%s",
									  why[0] ? why : "out of memory");
	}
	if (ok)
	{
		pthread_mutex_lock(&c->lock);
		pm->vpid = register_process(c, pm);
		c->postmaster = pm;
		pthread_mutex_unlock(&c->lock);
		ok = start_thread(pm, &c->postmaster_thread, "postmaster");
		if (!ok && error)
			*error = front_make_error("58000", "FATAL", "could not start the postmaster's thread");
	}
	if (!ok)
	{
		front_engine_release(pm);
		front_engine_free(pm);
		cluster_free(c);
		return NULL;
	}
	c->postmaster_started = true;

	/* ready, or ended trying (its log says why) */
	pthread_mutex_lock(&c->lock);
	while (!c->postmaster_ended && strcmp(c->status, "ready") != 0)
		pthread_cond_wait(&c->changed, &c->lock);
	pthread_mutex_unlock(&c->lock);
	if (c->postmaster_ended)
	{
		if (error)
			*error = front_make_error("58000", "FATAL", "the cluster did not start: %s",
									  c->last_error[0] ? c->last_error : "its postmaster ended");
		pthread_join(c->postmaster_thread, NULL);
		front_engine_free(pm);
		cluster_free(c);
		return NULL;
	}
	return c;
}

/* The StartupMessage of protocol 3.0, in e->scratch. */
static bool
startup_packet(pgembed_engine *e, const char *user, int nsettings, const char *const *settings)
{
	uint32_t	n;
	bool		ok;

	e->scratch.len = 0;
	if (!pgembed_buf_reserve(e, &e->scratch, 8))
		return false;
	e->scratch.len = 8;
	ok = front_msg_str(e, "user") && front_msg_str(e, user) &&
		front_msg_str(e, "database") && front_msg_str(e, e->dbname);
	for (int i = 0; ok && i < nsettings; i++)
	{
		const char *eq = settings[i] ? strchr(settings[i], '=') : NULL;
		char		name[256];

		if (eq == NULL || eq == settings[i] || eq - settings[i] >= (ptrdiff_t) sizeof(name))
			return false;
		memcpy(name, settings[i], eq - settings[i]);
		name[eq - settings[i]] = '\0';
		ok = front_msg_str(e, name) && front_msg_str(e, eq + 1);
	}
	ok = ok && front_msg_str(e, "");
	if (!ok)
		return false;
	n = htonl((uint32_t) e->scratch.len);
	memcpy(e->scratch.data, &n, 4);
	n = htonl(196608);			/* protocol 3.0 */
	memcpy(e->scratch.data + 4, &n, 4);
	return true;
}

/* did the postmaster answer on the socket itself (its fork failed), or close it? */
static bool
refused_on_socket(pgembed_engine *e, char *why, size_t whylen)
{
	struct pollfd pfd = {.fd = e->peer_fd,.events = POLLIN};
	ssize_t		n;

	if (poll(&pfd, 1, 0) <= 0)
		return false;
	n = recv(e->peer_fd, why, whylen - 1, MSG_DONTWAIT);
	why[n > 0 ? n : 0] = '\0';
	/* "E<message>\n", as report_fork_failure_to_client() writes it */
	if (n > 1 && why[0] == 'E')
	{
		memmove(why, why + 1, strlen(why));
		why[strcspn(why, "\n")] = '\0';
	}
	else
		snprintf(why, whylen, "the postmaster closed the connection");
	return true;
}

/* Queues e's connection for the postmaster and waits until it started e's backend. */
static bool
await_backend(pgembed_cluster *c, pgembed_engine *e, pgembed_error **error)
{
	pending_connect pc;
	char		why[512] = "";
	uint64_t	one = 1;
	int			state;

	memset(&pc, 0, sizeof(pc));
	pc.engine = e;
	pc.state = CONNECT_QUEUED;
	pthread_mutex_lock(&c->lock);
	if (c->postmaster_ended || strcmp(c->status, "ready") != 0)
	{
		snprintf(why, sizeof(why), "%s", c->postmaster_ended ? "its postmaster ended" : c->status);
		pthread_mutex_unlock(&c->lock);
		if (error)
			*error = front_make_error("57P03", "FATAL", "the cluster is not accepting connections (%s)", why);
		return false;
	}
	{
		pending_connect **tail = &c->queued;

		while (*tail != NULL)
			tail = &(*tail)->next;
		*tail = &pc;
	}
	if (write(c->listen_fd, &one, sizeof(one)) != sizeof(one))
	{
		/* it counts anyway, unless 2^64 connections overflowed it */
	}
	for (;;)
	{
		struct timespec ts;

		state = pc.state;
		if (state == CONNECT_SPAWNED || state == CONNECT_REFUSED)
			break;
		if (c->postmaster_ended)
		{
			snprintf(why, sizeof(why), "the cluster's postmaster ended");
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 20 * 1000000;
		if (ts.tv_nsec >= 1000000000)
		{
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&c->changed, &c->lock, &ts);
	}
	/* no longer reachable through the queues */
	for (pending_connect **pp = &c->queued; *pp != NULL; pp = &(*pp)->next)
		if (*pp == &pc)
		{
			*pp = pc.next;
			break;
		}
	for (pending_connect **pp = &c->accepted; *pp != NULL; pp = &(*pp)->next)
		if (*pp == &pc)
		{
			*pp = pc.next;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	if (state == CONNECT_SPAWNED)
		return true;
	/* the postmaster's own words on the socket, else what the spawn found */
	if (pc.why[0] != '\0')
		snprintf(why, sizeof(why), "%s", pc.why);
	else if (state == CONNECT_REFUSED)
		(void) refused_on_socket(e, why, sizeof(why));
	if (error)
		*error = front_make_error(strstr(why, "namespace") || strstr(why, "fork") ? "53300" : "08006",
								  "FATAL", "could not start a backend: %s", why);
	return false;
}

pgembed_engine *
pgembed_connect(pgembed_cluster *c, const char *dbname, const char *user, int nsettings,
				const char *const *settings, pgembed_error **error)
{
	pgembed_engine *e;
	int			sv[2];
	pgembed_result *r;
	char	   *buf;
	size_t		len;
	pgembed_iov packet;

	if (error)
		*error = NULL;
	if (c == NULL || nsettings < 0 || (nsettings > 0 && settings == NULL))
	{
		if (error)
			*error = front_make_error("22023", "ERROR", "invalid arguments to pgembed_connect");
		return NULL;
	}
	e = process_new(c, PGEMBED_CHILD_COROUTINE);
	if (e != NULL && dbname != NULL)
	{
		free(e->dbname);
		e->dbname = strdup(dbname);
	}
	if (e == NULL || e->dbname == NULL)
	{
		if (e)
			front_engine_free(e);
		if (error)
			*error = front_make_error("53200", "FATAL", "out of memory");
		return NULL;
	}
	if (!startup_packet(e, user ? user : "postgres", nsettings, settings))
	{
		front_engine_free(e);
		if (error)
			*error = front_make_error("22023", "FATAL", "invalid connection settings: write name=value");
		return NULL;
	}
	/* the backend's client socket; nothing passes through it but its start-up */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
	{
		front_engine_free(e);
		if (error)
			*error = front_make_error("58000", "FATAL", "socketpair failed: %s", strerror(errno));
		return NULL;
	}
	e->port_fd = sv[0];
	e->peer_fd = sv[1];
	if (!await_backend(c, e, error))
	{
		front_engine_release(e);
		front_engine_free(e);
		return NULL;
	}

	/*
	 * the backend's start-up on this thread: start-up packet, authentication,
	 * InitPostgres
	 */
	packet.data = e->scratch.data;
	packet.len = e->scratch.len;
	pthread_mutex_lock(&e->lock);
	front_run_with_input(e, &packet, 1);
	buf = front_take_output(e, &len);
	r = front_result_from_messages(buf, len, false);
	pthread_mutex_unlock(&e->lock);
	if (e->state == ENGINE_DEAD || r == NULL || r->has_error)
	{
		if (error)
			*error = (r && r->has_error) ? front_copy_error(&r->error)
				: front_make_error("08006", "FATAL", "the backend ended during start-up");
		pgembed_result_free(r);
		pgembed_close(e, NULL);
		return NULL;
	}
	pgembed_result_free(r);
	return e;
}

int
pgembed_cluster_close(pgembed_cluster *c, pgembed_error **error)
{
	int			rc = 0;

	if (error)
		*error = NULL;
	if (c == NULL)
		return 0;

	/*
	 * a fast shutdown: backends are terminated, the checkpointer writes the
	 * shutdown checkpoint
	 */
	pthread_mutex_lock(&c->lock);
	if (!c->postmaster_ended)
		post_signal(c, c->postmaster, SIGINT);
	while (!c->postmaster_ended)
		pthread_cond_wait(&c->changed, &c->lock);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->postmaster_thread, NULL);
	if (c->postmaster_status != 0)
	{
		rc = -1;
		if (error)
			*error = front_make_error("58000", "ERROR", "the cluster's postmaster ended with status %d: %s",
									  c->postmaster_status, c->last_error);
	}
	front_engine_free(c->postmaster);
	cluster_free(c);
	return rc;
}

void
pgembed_cluster_set_log_callback(pgembed_cluster *c, pgembed_log_fn fn, void *context)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->log_fn = fn;
	c->log_context = context;
	pthread_mutex_unlock(&c->lock);
}
