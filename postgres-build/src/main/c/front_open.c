/*-------------------------------------------------------------------------
 *
 * front_open.c
 *	  Opening and closing an engine; from any thread, cancelling its statement
 *	  and reading its transaction status.
 *
 * Opening takes the data directory, within this process (a slot of its own:
 * one engine per directory) and against other processes (an flock on
 * pgembed.lock, which dies with its holder); it loads a fresh copy of the
 * library into the slot's namespace and runs the backend's start-up on a new
 * stack until it waits for its first query.  Closing sends Terminate, wherever
 * the backend is, and releases all of it.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_open.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		pgembed_open			- an engine on a cluster, as its bootstrap superuser
 *		pgembed_open_as			- the same, with a session role
 *		pgembed_close			- end the backend, free the engine
 *		pgembed_cancel			- cancel the running statement (no lock taken)
 *		pgembed_transaction_status	- the engine's transaction status
 *
 * steps of opening that a cluster's processes share (front_multi.c):
 *		front_engine_new		- a new engine, bound to nothing yet
 *		front_engine_set_target	- the cluster, database, role and settings it is for
 *		front_take_slot			- a slot: one engine per data directory
 *		front_lock_data_directory - the flock on pgembed.lock
 *		front_engine_free		- free a released engine
 *------------------------
 */
#include "pgembed_front.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* routines only used in this file */
static bool load_engine(pgembed_engine *e, pgembed_error **error);
static bool start_engine(pgembed_engine *e, pgembed_error **error);

void
front_engine_free(pgembed_engine *e)
{
	front_formats_forget_all(e);
	free(e->binary_types);
	free(e->datadir);
	free(e->dbname);
	free(e->session_role);
	for (int i = 0; i < e->nsettings; i++)
		free(e->settings[i]);
	free(e->settings);
	free(e->out.data);
	free(e->raw_out.data);
	free(e->in_kept.data);
	free(e->scratch.data);
	free(e->logbuf.data);
	pthread_cond_destroy(&e->output_ready);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

/* in a step of pgembed_open_as: say why, and the step fails */
#define OPEN_FAIL(...) \
	do { \
		if (error) *error = front_make_error(__VA_ARGS__); \
		return false; \
	} while (0)

pgembed_engine *
pgembed_open(const char *datadir, const char *dbname, int nsettings, const char *const *settings,
			 pgembed_error **error)
{
	return pgembed_open_as(datadir, dbname, NULL, nsettings, settings, error);
}

/*
 * Opening, step by step.  Each step returns false with *error set, and leaves
 * what it took in the engine for front_engine_release and front_engine_free.
 */
pgembed_engine *
pgembed_open_as(const char *datadir, const char *dbname, const char *role,
				int nsettings, const char *const *settings, pgembed_error **error)
{
	pgembed_engine *e;

	if (error)
		*error = NULL;
	if (datadir == NULL || nsettings < 0 || (nsettings > 0 && settings == NULL) ||
		(role != NULL && role[0] == '\0'))
	{
		if (error)
			*error = front_make_error("22023", "ERROR", "invalid arguments to pgembed_open");
		return NULL;
	}
	e = front_engine_new();
	if (e == NULL)
		return NULL;
	if (!(front_engine_set_target(e, datadir, dbname, role, nsettings, settings, error) &&
		  front_take_slot(e, error) &&
		  front_lock_data_directory(e, error) &&
		  load_engine(e, error) &&
		  start_engine(e, error)))
	{
		front_engine_release(e);
		front_engine_free(e);
		return NULL;
	}
	return e;
}

/* A new engine, bound to nothing yet. */
pgembed_engine *
front_engine_new(void)
{
	pgembed_engine *e = calloc(1, sizeof(*e));
	pthread_condattr_t ca;

	if (e == NULL)
		return NULL;
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->output_ready, &ca);
	pthread_condattr_destroy(&ca);
	e->slot = -1;
	e->lock_fd = e->port_fd = e->peer_fd = -1;
	e->resize = realloc;
	e->timer_set = front_timer_set;
	e->yield = front_yield;
	e->tx_status = PGEMBED_TX_IDLE;
	e->owner_pid = getpid();
	front_maintenance_init(e);
	return e;
}

/* The cluster, database, role and settings the engine is for, copied. */
bool
front_engine_set_target(pgembed_engine *e, const char *datadir, const char *dbname, const char *role,
						int nsettings, const char *const *settings, pgembed_error **error)
{
	char		real[PATH_MAX];
	struct stat st;

	if (realpath(datadir, real) == NULL || stat(real, &st) != 0)
		OPEN_FAIL("58P01", "FATAL", "data directory \"%s\" does not exist", datadir);
	if (!pgembed_is_cluster(real))
		OPEN_FAIL("58P01", "FATAL", "\"%s\" is not a database cluster (no PG_VERSION file)", real);
	e->datadir = strdup(real);
	e->dbname = strdup(dbname ? dbname : "postgres");
	if (role != NULL && (e->session_role = strdup(role)) == NULL)
		OPEN_FAIL("53200", "FATAL", "out of memory");
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->nsettings = nsettings;
	e->settings = calloc(nsettings > 0 ? nsettings : 1, sizeof(char *));
	if (e->datadir == NULL || e->dbname == NULL || e->settings == NULL)
		OPEN_FAIL("53200", "FATAL", "out of memory");
	for (int i = 0; i < nsettings; i++)
	{
		if (settings[i] == NULL || (e->settings[i] = strdup(settings[i])) == NULL)
			OPEN_FAIL("22023", "FATAL", "setting %d is NULL", i);
	}
	return true;
}

/* A slot of the process's table: one engine per data directory. */
bool
front_take_slot(pgembed_engine *e, pgembed_error **error)
{
	int			slot = front_claim_slot(e);

	if (slot == -2)
		OPEN_FAIL("55006", "FATAL", "database \"%s\" is already open in this process", e->datadir);
	if (slot < 0)
		OPEN_FAIL("53300", "FATAL", "too many open engines: at most %d per process", MAX_ENGINES);
	e->slot = slot;
	return true;
}

/* The data directory against other processes: the flock on pgembed.lock. */
bool
front_lock_data_directory(pgembed_engine *e, pgembed_error **error)
{
	char		path[PATH_MAX];
	bool		locked = false;

	/*
	 * one process at a time: a flock dies with its holder, so stale locks
	 * recover
	 */
	snprintf(path, sizeof(path), "%s/pgembed.lock", e->datadir);
	for (int attempt = 0;; attempt++)
	{
		struct stat held,
					named;

		e->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (e->lock_fd < 0)
			OPEN_FAIL("58000", "FATAL", "could not open lock file \"%s\": %s", path, strerror(errno));
		locked = flock(e->lock_fd, LOCK_EX | LOCK_NB) == 0;
		if (!locked)
			break;

		/*
		 * A closing holder unlinks the file before it lets go of the flock:
		 * the file we opened may be gone, and a third process may lock a new
		 * one. Only the flock on the file the name still refers to counts.
		 */
		if (fstat(e->lock_fd, &held) == 0 && stat(path, &named) == 0 &&
			held.st_dev == named.st_dev && held.st_ino == named.st_ino)
			break;
		close(e->lock_fd);
		e->lock_fd = -1;
		if (attempt == 100)
			OPEN_FAIL("55006", "FATAL", "could not take the lock file \"%s\": it keeps being replaced", path);
	}
	if (!locked)
	{
		char		pid[32] = "";
		ssize_t		n = pread(e->lock_fd, pid, sizeof(pid) - 1, 0);

		if (n > 0)
			pid[n] = '\0';
		close(e->lock_fd);
		e->lock_fd = -1;
		OPEN_FAIL("55006", "FATAL", "database \"%s\" is in use by another process%s%s", e->datadir,
				  pid[0] ? " (pid " : "", pid[0] ? pid : "");
	}
	{
		char		pid[32];
		int			n = snprintf(pid, sizeof(pid), "%d)", (int) getpid());

		if (ftruncate(e->lock_fd, 0) == 0 && pwrite(e->lock_fd, pid, n, 0) != n)
		{
			/* informational only */
		}
	}
	front_remove_stale_backend_lock(e->datadir);
	snprintf(path, sizeof(path), "%s/" CREATING_MARKER, e->datadir);
	unlink(path);				/* left by a creation killed after it was
								 * complete */
	if (front_flush_if_unflushed(e->datadir) != 0)
		OPEN_FAIL("58030", "FATAL", "could not flush the new cluster in \"%s\": %s", e->datadir,
				  strerror(errno));
	return true;
}

/*
 * What the backend needs before it starts: the timer thread, a fresh copy of
 * the library with its entry points, its client socket and its stack.
 */
static bool
load_engine(pgembed_engine *e, pgembed_error **error)
{
	int			sv[2];

	if (!front_ensure_timer_machinery())
		OPEN_FAIL("58000", "FATAL", "could not start the timer thread");

	if (!front_load_engine_copy(e))
	{
		const char *why = dlerror();

		if (front_namespaces_exhausted(why))
			OPEN_FAIL("53300", "FATAL", "%s", front_namespace_limit_message(why));
		OPEN_FAIL("58000", "FATAL", "could not load an engine copy of %s: %s", front_self_path(), why ? why : "");
	}
	e->engine_main = (void (*) (pgembed_engine *)) dlsym(e->dl_handle, "pgembed__engine_main");
	e->engine_cancel = (void (*) (pgembed_engine *)) dlsym(e->dl_handle, "pgembed__engine_cancel");
	e->engine_alarm = (void (*) (pgembed_engine *)) dlsym(e->dl_handle, "pgembed__engine_alarm");
	e->engine_cleanup = (void (*) (pgembed_engine *)) dlsym(e->dl_handle, "pgembed__engine_cleanup");
	e->engine_wal_status = (void (*) (uint64_t *, uint64_t *, uint64_t *, int *, int *, int *, int *))
		dlsym(e->dl_handle, "pgembed__engine_wal_status");
	if (!e->engine_main || !e->engine_cancel || !e->engine_alarm || !e->engine_cleanup)
		OPEN_FAIL("58000", "FATAL", "engine entry points missing: %s", dlerror());

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		OPEN_FAIL("58000", "FATAL", "socketpair failed: %s", strerror(errno));
	e->port_fd = sv[0];
	e->peer_fd = sv[1];

	e->stack_size = FRONT_ENGINE_STACK_SIZE;
	e->stack = front_map_stack(e->stack_size);
	if (e->stack == NULL)
		OPEN_FAIL("53200", "FATAL", "could not map the engine's stack");
	front_init_coroutine(e);
	return true;
}

/* The backend's start-up, run until it waits for its first query. */
static bool
start_engine(pgembed_engine *e, pgembed_error **error)
{
	pgembed_result *r;
	char	   *buf;
	size_t		len;

	e->state = ENGINE_STARTING;
	pthread_mutex_lock(&e->lock);
	front_run_engine(e);
	buf = front_take_output(e, &len);
	r = front_result_from_messages(buf, len, false);
	pthread_mutex_unlock(&e->lock);
	if (e->state == ENGINE_DEAD || r == NULL || r->has_error)
	{
		if (error)
		{
			if (r && r->has_error)
				*error = front_copy_error(&r->error);
			else
				*error = front_make_error("58000", "FATAL", "the engine ended during start-up");
		}
		pgembed_result_free(r);
		if (e->state != ENGINE_DEAD)
		{
			/* should not happen: a start-up error is FATAL */
			e->closing = true;
			front_run_engine(e);
		}
		return false;
	}
	pgembed_result_free(r);
	return true;
}

int
pgembed_close(pgembed_engine *e, pgembed_error **error)
{
	int			rc = 0;

	if (error)
		*error = NULL;
	if (e == NULL)
		return 0;
	pthread_mutex_lock(&e->lock);
	if (e->state != ENGINE_DEAD)
	{
		static const char terminate[5] = {'X', 0, 0, 0, 4};
		pgembed_iov input = {terminate, sizeof(terminate)};
		char	   *buf;
		size_t		len;
		pgembed_result *r;

		/* leave COPY or cursor state: the backend handles Terminate anywhere */
		e->out_yield_at = 0;
		while (e->out_yielded && e->state != ENGINE_DEAD)
		{
			e->out.len = 0;
			front_run_engine(e);
		}
		if (e->state != ENGINE_DEAD)
		{
			e->closing = true;
			front_run_with_input(e, &input, 1);
		}
		buf = front_take_output(e, &len);
		r = front_result_from_messages(buf, len, false);
		if (r && r->has_error)
		{
			if (error)
				*error = front_copy_error(&r->error);
			rc = -1;
		}
		pgembed_result_free(r);
		if (e->aborted)
			rc = -1;
	}
	else if (e->aborted)
		rc = -1;				/* it ended by PANIC earlier: say so again */
	if (e->dl_handle != NULL)
		front_engine_release(e);
	pthread_mutex_unlock(&e->lock);
	front_engine_free(e);
	return rc;
}

void
pgembed_cancel(pgembed_engine *e)
{
	if (e == NULL)
		return;
	/* no lock: the point is to reach a statement that holds it */
	if (e->running && e->state != ENGINE_DEAD && e->engine_cancel)
		e->engine_cancel(e);
}

char
pgembed_transaction_status(pgembed_engine *e)
{
	char		s;

	if (e == NULL)
		return PGEMBED_TX_CLOSED;
	pthread_mutex_lock(&e->lock);
	s = e->state == ENGINE_DEAD ? PGEMBED_TX_CLOSED : e->tx_status;
	pthread_mutex_unlock(&e->lock);
	return s;
}
