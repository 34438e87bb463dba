#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "pgembed_front.h"

#define ENGINE_STACK_SIZE (16u << 20)
#define COPY_OUT_CHUNK (256u << 10)

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------
 */
pgembed_result *
pgembed_exec(pgembed_engine *e, const char *sql)
{
	pgembed_result *r;
	size_t		s;

	if (sql == NULL)
		return front_result_error(PGEMBED_MISUSE, "22004", "the SQL text is NULL");
	if ((r = front_enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	if (!(front_msg_begin(e, 'Q', &s) && front_msg_str(e, sql)))
		r = front_oom();
	else
	{
		front_msg_end(e, s);
		e->out_yield_at = COPY_OUT_CHUNK;
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
		front_set_mode_after(e, r);
	}
	front_leave(e);
	return r;
}

/* Parse + Describe, then Bind with result formats chosen from the description. */
static pgembed_result *
describe_unnamed(pgembed_engine *e, const char *sql, int nparams, const uint32_t *types)
{
	e->scratch.len = 0;
	if (!(front_msg_parse(e, "", sql, nparams, types) && front_msg_describe(e, 'S', "") && front_msg_simple(e, 'H')))
		return front_oom();
	return front_exchange(e, e->scratch.data, e->scratch.len, false);
}

struct pgembed_stmt_formats;
static void formats_forget(pgembed_engine *e, const char *name);
static void formats_remember(pgembed_engine *e, const char *name, pgembed_result *desc);
static pgembed_result *describe_for_formats(pgembed_engine *e, const char *name);

static pgembed_result *
finish_with_sync(pgembed_engine *e, pgembed_result *partial)
{
	/* a failed Parse/Describe: resynchronise so that the backend is idle again */
	pgembed_result *r;

	e->scratch.len = 0;
	if (!front_msg_simple(e, 'S'))
		return partial;
	r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	if (partial != NULL && r != NULL)
		partial->tx_status = r->tx_status;
	pgembed_result_free(r);
	return partial;
}

pgembed_result *
pgembed_exec_params(pgembed_engine *e, const char *sql, int nparams, const uint32_t *types,
					const char *const *values, const int32_t *lengths, const int32_t *formats,
					int result_format)
{
	pgembed_result *r,
			   *desc = NULL;

	if (sql == NULL || nparams < 0)
		return front_result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = front_enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	if (result_format == PGEMBED_FORMAT_AUTO)
	{
		desc = describe_unnamed(e, sql, nparams, types);
		if (desc == NULL || desc->status == PGEMBED_ERROR || desc->status == PGEMBED_FATAL)
		{
			if (desc && desc->status == PGEMBED_ERROR)
				desc = finish_with_sync(e, desc);
			front_leave(e);
			return desc ? desc : front_oom();
		}
		e->scratch.len = 0;
	}
	else if (!front_msg_parse(e, "", sql, nparams, types))
	{
		front_leave(e);
		return front_oom();
	}
	if (!(front_msg_bind(e, "", "", nparams, values, lengths, formats, result_format, desc) &&
		  front_msg_describe(e, 'P', "") && front_msg_execute(e, "", 0) && front_msg_simple(e, 'S')))
		r = front_oom();
	else
	{
		e->out_yield_at = COPY_OUT_CHUNK;
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	}
	pgembed_result_free(desc);
	front_set_mode_after(e, r);
	front_leave(e);
	return r;
}

pgembed_result *
pgembed_prepare(pgembed_engine *e, const char *name, const char *sql, int nparams, const uint32_t *types)
{
	pgembed_result *r;

	if (name == NULL || sql == NULL || nparams < 0)
		return front_result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = front_enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	if (!(front_msg_parse(e, name, sql, nparams, types) && front_msg_describe(e, 'S', name) && front_msg_simple(e, 'S')))
		r = front_oom();
	else
	{
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
		formats_forget(e, name);
		if (r != NULL && r->status != PGEMBED_ERROR && r->status != PGEMBED_FATAL && name[0] != '\0')
		{
			/* the same description, once more, for the cache */
			pgembed_result *desc = describe_for_formats(e, name);

			if (desc != NULL && desc->status != PGEMBED_ERROR && desc->status != PGEMBED_FATAL)
				formats_remember(e, name, desc);
			else if (desc != NULL)
			{
				if (desc->status == PGEMBED_ERROR)
					desc = finish_with_sync(e, desc);
				pgembed_result_free(desc);
			}
		}
	}
	front_leave(e);
	return r;
}

pgembed_result *
pgembed_describe_prepared(pgembed_engine *e, const char *name)
{
	pgembed_result *r;

	if (name == NULL)
		return front_result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = front_enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	if (!(front_msg_describe(e, 'S', name) && front_msg_simple(e, 'S')))
		r = front_oom();
	else
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	front_leave(e);
	return r;
}

/*
 * Result formats chosen for each prepared statement (PGEMBED_FORMAT_AUTO), so that
 * executing it needs no Describe round: filled by pgembed_prepare, dropped when the
 * statement is deallocated or an execution fails.
 */
typedef struct pgembed_stmt_formats
{
	struct pgembed_stmt_formats *next;
	char	   *name;
	pgembed_result *desc;		/* the description (fields) */
} stmt_formats;

static stmt_formats **
formats_find(pgembed_engine *e, const char *name)
{
	stmt_formats **p = &e->stmt_formats;

	while (*p != NULL && strcmp((*p)->name, name) != 0)
		p = &(*p)->next;
	return p;
}

static void
formats_forget(pgembed_engine *e, const char *name)
{
	stmt_formats **p = formats_find(e, name);

	if (*p != NULL)
	{
		stmt_formats *f = *p;

		*p = f->next;
		free(f->name);
		pgembed_result_free(f->desc);
		free(f);
	}
}

void
front_formats_forget_all(pgembed_engine *e)
{
	while (e->stmt_formats != NULL)
		formats_forget(e, e->stmt_formats->name);
}

static void
formats_remember(pgembed_engine *e, const char *name, pgembed_result *desc)
{
	stmt_formats *f;

	formats_forget(e, name);
	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->name = strdup(name)) == NULL)
	{
		free(f);
		pgembed_result_free(desc);
		return;
	}
	f->desc = desc;
	f->next = e->stmt_formats;
	e->stmt_formats = f;
}

/* Result formats for a prepared statement need its description. */
static pgembed_result *
describe_for_formats(pgembed_engine *e, const char *name)
{
	pgembed_result *d;

	e->scratch.len = 0;
	if (!(front_msg_describe(e, 'S', name) && front_msg_simple(e, 'H')))
		return NULL;
	d = front_exchange(e, e->scratch.data, e->scratch.len, false);
	e->scratch.len = 0;
	return d;
}

pgembed_result *
pgembed_exec_prepared(pgembed_engine *e, const char *name, int nparams, const char *const *values,
					  const int32_t *lengths, const int32_t *formats, int result_format)
{
	pgembed_result *r,
			   *desc = NULL;

	if (name == NULL || nparams < 0)
		return front_result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = front_enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	if (result_format == PGEMBED_FORMAT_AUTO)
	{
		stmt_formats *cached = *formats_find(e, name);

		if (cached != NULL)
			desc = cached->desc;
		else
		{
			desc = describe_for_formats(e, name);
			if (desc == NULL || desc->status == PGEMBED_ERROR || desc->status == PGEMBED_FATAL)
			{
				if (desc && desc->status == PGEMBED_ERROR)
					desc = finish_with_sync(e, desc);
				front_leave(e);
				return desc ? desc : front_oom();
			}
			formats_remember(e, name, desc);
		}
		e->scratch.len = 0;
	}
	if (!(front_msg_bind(e, "", name, nparams, values, lengths, formats, result_format, desc) &&
		  front_msg_describe(e, 'P', "") && front_msg_execute(e, "", 0) && front_msg_simple(e, 'S')))
		r = front_oom();
	else
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	/* a failure may mean the statement changed or went away: describe it afresh next time */
	if (r == NULL || r->status == PGEMBED_ERROR || r->status == PGEMBED_FATAL)
		formats_forget(e, name);
	front_set_mode_after(e, r);
	front_leave(e);
	return r;
}

pgembed_result *
pgembed_exec_prepared_batch(pgembed_engine *e, const char *name, int nsets, int nparams,
							const char *const *values, const int32_t *lengths, const int32_t *formats)
{
	pgembed_result *r;
	bool		ok = true;

	if (name == NULL || nsets < 0 || nparams < 0 || (nparams > 0 && nsets > 0 && values == NULL))
		return front_result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = front_enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	for (int i = 0; ok && i < nsets; i++)
	{
		size_t		off = (size_t) i * nparams;

		ok = front_msg_bind(e, "", name, nparams, values + off, lengths ? lengths + off : NULL,
					  formats ? formats + off : NULL, PGEMBED_FORMAT_TEXT, NULL) &&
			front_msg_execute(e, "", 0);
	}
	if (!(ok && front_msg_simple(e, 'S')))
		r = front_oom();
	else
		r = front_exchange(e, e->scratch.data, e->scratch.len, true);
	front_leave(e);
	return r;
}

pgembed_result *
pgembed_deallocate(pgembed_engine *e, const char *name)
{
	pgembed_result *r;

	if (name == NULL)
		return front_result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = front_enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	formats_forget(e, name);
	if (!(front_msg_close(e, 'S', name) && front_msg_simple(e, 'S')))
		r = front_oom();
	else
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	front_leave(e);
	return r;
}

/* ------------------------------------------------------------------------
 * Cursors: a portal executed N rows at a time, flushed rather than synced
 * ------------------------------------------------------------------------
 */
#define CURSOR_PORTAL "pgembed_cursor"

pgembed_result *
pgembed_cursor_open(pgembed_engine *e, const char *sql, int nparams, const uint32_t *types,
					const char *const *values, const int32_t *lengths, const int32_t *formats,
					int result_format, int64_t fetch_rows)
{
	pgembed_result *r,
			   *desc;

	if (sql == NULL || nparams < 0 || fetch_rows <= 0 || fetch_rows > INT32_MAX)
		return front_result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = front_enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	desc = describe_unnamed(e, sql, nparams, types);
	if (desc == NULL || desc->status == PGEMBED_ERROR || desc->status == PGEMBED_FATAL)
	{
		if (desc && desc->status == PGEMBED_ERROR)
			desc = finish_with_sync(e, desc);
		front_leave(e);
		return desc ? desc : front_oom();
	}
	e->scratch.len = 0;
	if (!(front_msg_bind(e, CURSOR_PORTAL, "", nparams, values, lengths, formats, result_format, desc) &&
		  front_msg_describe(e, 'P', CURSOR_PORTAL) && front_msg_execute(e, CURSOR_PORTAL, (int32_t) fetch_rows) &&
		  front_msg_simple(e, 'H')))
		r = front_oom();
	else
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	pgembed_result_free(desc);
	if (r && r->status == PGEMBED_SUSPENDED)
	{
		e->mode = FRONT_MODE_CURSOR;
	}
	else if (r && r->status != PGEMBED_FATAL)
	{
		/* done in one go (or failed): end the implicit transaction */
		r = finish_with_sync(e, r);
	}
	front_leave(e);
	return r;
}

pgembed_result *
pgembed_cursor_fetch(pgembed_engine *e, int64_t fetch_rows)
{
	pgembed_result *r;

	if (fetch_rows <= 0 || fetch_rows > INT32_MAX)
		return front_result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = front_enter(e, FRONT_MODE_CURSOR)) != NULL)
		return r;
	/* the row description comes with Describe(portal) */
	if (!(front_msg_describe(e, 'P', CURSOR_PORTAL) && front_msg_execute(e, CURSOR_PORTAL, (int32_t) fetch_rows) &&
		  front_msg_simple(e, 'H')))
		r = front_oom();
	else
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	if (r == NULL || r->status != PGEMBED_SUSPENDED)
	{
		e->mode = FRONT_MODE_IDLE;
		if (r && r->status != PGEMBED_FATAL)
			r = finish_with_sync(e, r);
	}
	front_leave(e);
	return r;
}

pgembed_result *
pgembed_cursor_close(pgembed_engine *e)
{
	pgembed_result *r;

	if ((r = front_enter(e, FRONT_MODE_CURSOR)) != NULL)
		return r;
	if (!(front_msg_close(e, 'P', CURSOR_PORTAL) && front_msg_simple(e, 'S')))
		r = front_oom();
	else
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	e->mode = FRONT_MODE_IDLE;
	front_leave(e);
	return r;
}

/* ------------------------------------------------------------------------
 * Opening and closing engines
 * ------------------------------------------------------------------------
 */
static void
engine_free(pgembed_engine *e)
{
	front_formats_forget_all(e);
	free(e->datadir);
	free(e->dbname);
	free(e->session_role);
	for (int i = 0; i < e->nsettings; i++)
		free(e->settings[i]);
	free(e->settings);
	free(e->out.data);
	free(e->raw_out.data);
	free(e->scratch.data);
	free(e->logbuf.data);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

#define OPEN_FAIL(...) \
	do { \
		if (error) *error = front_make_error(__VA_ARGS__); \
		goto fail; \
	} while (0)

pgembed_engine *
pgembed_open(const char *datadir, const char *dbname, int nsettings, const char *const *settings,
			 pgembed_error **error)
{
	return pgembed_open_as(datadir, dbname, NULL, nsettings, settings, error);
}

pgembed_engine *
pgembed_open_as(const char *datadir, const char *dbname, const char *role,
				int nsettings, const char *const *settings, pgembed_error **error)
{
	pgembed_engine *e;
	char		real[PATH_MAX];
	char		path[PATH_MAX];
	struct stat st;
	int			sv[2];
	int			slot;
	bool		locked = false;
	pgembed_result *r;
	char	   *buf;
	size_t		len;

	if (error)
		*error = NULL;
	if (datadir == NULL || nsettings < 0 || (nsettings > 0 && settings == NULL) ||
		(role != NULL && role[0] == '\0'))
	{
		if (error)
			*error = front_make_error("22023", "ERROR", "invalid arguments to pgembed_open");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	pthread_mutex_init(&e->lock, NULL);
	e->slot = -1;
	e->lock_fd = e->port_fd = e->peer_fd = -1;
	e->alloc = malloc;
	e->resize = realloc;
	e->timer_set = front_timer_set;
	e->yield = front_yield;
	e->tx_status = PGEMBED_TX_IDLE;
	e->owner_pid = getpid();
	front_maintenance_init(e);

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

	slot = front_claim_slot(e);
	if (slot == -2)
		OPEN_FAIL("55006", "FATAL", "database \"%s\" is already open in this process", real);
	if (slot < 0)
		OPEN_FAIL("53300", "FATAL", "too many open engines: at most %d per process", MAX_ENGINES);
	e->slot = slot;

	/* one process at a time: a flock dies with its holder, so stale locks recover */
	snprintf(path, sizeof(path), "%s/pgembed.lock", real);
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
		 * A closing holder unlinks the file before it lets go of the flock: the
		 * file we opened may be gone, and a third process may lock a new one.
		 * Only the flock on the file the name still refers to counts.
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
		OPEN_FAIL("55006", "FATAL", "database \"%s\" is in use by another process%s%s", real,
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
	front_remove_stale_backend_lock(real);
	snprintf(path, sizeof(path), "%s/" CREATING_MARKER, real);
	unlink(path);				/* left by a creation killed after it was complete */

	if (!front_ensure_timer_machinery())
		OPEN_FAIL("58000", "FATAL", "could not start the timer thread");

	if (!front_load_engine_copy(e))
		OPEN_FAIL("58000", "FATAL", "could not load an engine copy of %s: %s", front_self_path(), dlerror());
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

	e->stack_size = ENGINE_STACK_SIZE;
	e->stack = front_map_stack(e->stack_size);
	if (e->stack == NULL)
		OPEN_FAIL("53200", "FATAL", "could not map the engine's stack");
	front_init_coroutine(e);

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
		front_engine_release(e);
		engine_free(e);
		return NULL;
	}
	pgembed_result_free(r);
	return e;

fail:
	front_engine_release(e);
	engine_free(e);
	return NULL;
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
			front_run_with_input(e, &(pgembed_iov) {terminate, sizeof(terminate)}, 1);
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
	engine_free(e);
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

