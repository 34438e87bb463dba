/*-------------------------------------------------------------------------
 *
 * front_children.c
 *	  Starting and ending the processes of a cluster with a real postmaster:
 *	  what the postmaster's fork_process(), waitpid() and accept() ask of the
 *	  front (engine_postmaster.c).
 *
 * Each fork_process() of the postmaster comes here as a spawn, and the
 * child becomes a new engine in a namespace of its own that runs
 * SubPostmasterMain (engine_child.c):
 *	- the background processes (checkpointer, startup process, autovacuum
 *	  launcher and workers, WAL writer under synchronous_commit=off) on
 *	  threads of their own, each running the process's own main loop;
 *	- a client backend as a coroutine, run by the thread that called
 *	  pgembed_connect() and then by every thread that calls the API on it,
 *	  exactly as a single-backend engine is;
 *	- the background writer, and the WAL writer of a durable cluster, as
 *	  phantoms unless asked for (engine_postmaster.c): a virtual pid with
 *	  nothing behind it, which ends when it is told to.  Backends write their
 *	  own buffers and WAL meanwhile.
 * A process that ends is released first and only then reported to the
 * postmaster, so that a restarting postmaster never races a half-gone child.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_children.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		front_cluster_process_new	- an engine for a process of a cluster
 *		front_cluster_process_load	- its copy of the library, entry points and stack
 *		front_cluster_start_thread	- a thread of its own that runs it
 *
 * routines of the postmaster's wrappers, through the engine struct:
 *		cluster_spawn			- fork_process(): start a child
 *		cluster_reap			- waitpid(): the children that ended
 *		cluster_accept			- accept() on the in-process listener
 *		cluster_release_inproc	- a refused connection's socket let go
 *		cluster_status			- postmaster.pid's status line changed
 *		process_ended			- a process ended (front_engine.c's on_end)
 *------------------------
 */
#include "pgembed_front.h"

#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * The processes' engines
 * ------------------------------------------------------------------------
 */
/* a program header of the engine's copy (64-bit only, as pgembed_switch.S) */
typedef Elf64_Phdr program_header;

/* routines only used in this file */
static int	cluster_spawn(pgembed_engine *pm, const char *kind, int mode, const char *params, int client_fd,
						  const pgembed_worker_key *worker);
static int	cluster_reap(pgembed_engine *pm, int pid, int *status, int options);
static int	cluster_accept(pgembed_engine *pm);
static void cluster_status(pgembed_engine *pm, const char *status);
static void cluster_release_inproc(pgembed_engine *pm, int fd);
static void process_ended(pgembed_engine *e);

/* A new engine for a process of cluster c, not loaded yet. */
pgembed_engine *
front_cluster_process_new(pgembed_cluster *c, int mode)
{
	pgembed_engine *e = front_engine_new();

	if (e == NULL)
		return NULL;
	e->cluster = c;
	e->child_mode = mode;
	e->auto_maintenance = false;	/* the checkpointer does that work */
	e->log_fn = c->log_fn;
	e->log_context = c->log_context;
	e->listen_fd = c->listen_fd;
	e->death_watch_fd = -1;
	e->on_end = process_ended;
	e->on_signal = front_cluster_process_signalled;
	e->on_idle_timer = front_cluster_process_idle_timer;
	e->route_kill = front_cluster_route_kill;
	e->spawn = cluster_spawn;
	e->reap = cluster_reap;
	e->accept_inproc = cluster_accept;
	e->pm_status = cluster_status;
	e->release_inproc = cluster_release_inproc;
	e->reserve_worker = front_cluster_reserve_worker;
	e->release_workers = front_cluster_release_workers;

	/* its log goes out at once: it returns to no caller that would flush it */
	if (mode != PGEMBED_CHILD_COROUTINE)
		e->log_line = front_cluster_log_line;
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
		const program_header *ph = &info->dlpi_phdr[i];

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
 * and a stack.  On failure why says what was missing (*budget_spent: the
 * process has no namespace left), and the caller releases e.
 */
bool
front_cluster_process_load(pgembed_engine *e, const char *main_name, char *why, size_t whylen, bool *budget_spent)
{
	if (!front_load_engine_copy(e))
	{
		const char *err = dlerror();

		*budget_spent = front_namespaces_exhausted(err);
		snprintf(why, whylen, "%s", *budget_spent ? front_namespace_limit_message(err)
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
	/* never carried (front_carrier.c): its process runs here for its life */
	front_thread_long_lived = true;
	pthread_mutex_lock(&e->lock);
	front_run_engine(e);		/* until the process ends (process_ended) */
	pthread_mutex_unlock(&e->lock);

	/* the postmaster's is freed by pgembed_cluster_close, which joins us */
	if (!postmaster)
		front_engine_free(e);
	return NULL;
}

bool
front_cluster_start_thread(pgembed_engine *e, pthread_t *thread, const char *name)
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
 * of kind (its --forkchild name) that reads its parameters from params; a
 * parallel worker (worker not NULL) in the engine reserved for it, if any.
 * Returns the child's virtual pid, or -1 (the postmaster handles a failed
 * fork: it logs it, and tells a client on its socket).
 */
static int
cluster_spawn(pgembed_engine *pm, const char *kind, int mode, const char *params, int client_fd,
			  const pgembed_worker_key *worker)
{
	pgembed_cluster *c = pm->cluster;
	pending_connect *pc = NULL;
	pgembed_engine *e;
	char		why[512] = "";
	bool		budget_spent = false;
	bool		reserved = false;
	int32_t		vpid = -1;

	if (mode == PGEMBED_CHILD_PHANTOM)
	{
		pthread_mutex_lock(&c->lock);
		vpid = front_cluster_register_process(c, NULL);
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
	else if (worker != NULL && (e = front_cluster_take_reservation(c, worker)) != NULL)
		reserved = true;		/* slot, namespace and copy are there */
	else if ((e = front_cluster_process_new(c, mode)) == NULL)
		return -1;

	snprintf(e->child_kind, sizeof(e->child_kind), "%s", kind);
	snprintf(e->child_params, sizeof(e->child_params), "%s", params);
	if (!reserved)
		e->slot = front_claim_slot(e);
	if (e->slot < 0)
	{
		budget_spent = true;
		snprintf(why, sizeof(why), "no namespace is left: all %d of the process's hold engines or processes of clusters",
				 MAX_ENGINES);
	}
	else if (reserved || front_cluster_process_load(e, "pgembed__child_main", why, sizeof(why), &budget_spent))
	{
		pthread_mutex_lock(&c->lock);
		vpid = front_cluster_register_process(c, e);
		if (vpid > 0)
			e->vpid = vpid;
		else
			snprintf(why, sizeof(why), "too many processes in the cluster (at most %d)", MAX_PROCESSES);
		pthread_mutex_unlock(&c->lock);
	}
	if (vpid > 0 && mode == PGEMBED_CHILD_THREAD && !front_cluster_start_thread(e, NULL, kind))
	{
		pthread_mutex_lock(&c->lock);
		front_cluster_find_process(c, vpid)->vpid = 0;
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
			pc->budget_spent = budget_spent;
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

	/* namespaces it held for parallel workers that never started */
	if (e->reserved_workers > 0)
		front_cluster_release_workers(e, NULL);

	pthread_mutex_lock(&c->lock);
	if ((p = front_cluster_find_process(c, vpid)) != NULL)
		p->engine = NULL;		/* a phantom until reaped: nothing reaches the
								 * engine */
	pthread_mutex_unlock(&c->lock);
	front_engine_release(e);
	pthread_mutex_lock(&c->lock);
	if (e == c->postmaster)
	{
		if ((p = front_cluster_find_process(c, vpid)) != NULL)
			p->vpid = 0;
		c->postmaster_status = front_cluster_exit_status(e);
		c->death_watch_fd = e->death_watch_fd;
		c->postmaster_ended = true;
		pthread_cond_broadcast(&c->changed);
	}
	else
		front_cluster_add_zombie(c, vpid, front_cluster_exit_status(e));
	pthread_mutex_unlock(&c->lock);
	/* the application may keep a backend's engine past the cluster's end */
	if (e->child_mode == PGEMBED_CHILD_COROUTINE)
		e->cluster = NULL;
}
