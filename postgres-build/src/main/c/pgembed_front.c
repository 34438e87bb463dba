/*
 * pgembed_front.c
 *	  The public C API of libpgembed.so (pgembedded.h).
 *
 * The copy of the library the host loads is the "front": it never runs
 * PostgreSQL code itself.  pgembed_open() loads a private copy of the same
 * library into a new link-map namespace (dlmopen), so that every engine has
 * its own PostgreSQL globals, its own C library state (locale, environment)
 * and its own loaded modules, and runs PostgreSQL's backend on a stack of its
 * own (see pgembed_engine.c).  Calls speak the frontend/backend protocol to
 * that backend through memory; results are the backend's own messages, indexed
 * in place.
 */
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

#include "pgembed_internal.h"

#ifndef PGEMBED_PG_VERSION
#define PGEMBED_PG_VERSION "18.6"
#endif

#define MAX_ENGINES 15			/* glibc allows 16 link-map namespaces, one is the host's */
#define ENGINE_STACK_SIZE (16u << 20)
#define COPY_OUT_CHUNK (256u << 10)

enum
{
	FRONT_MODE_IDLE,
	FRONT_MODE_COPY_IN,
	FRONT_MODE_COPY_OUT,
	FRONT_MODE_CURSOR,
	FRONT_MODE_PROTOCOL
};

/* ------------------------------------------------------------------------
 * Errors and results
 * ------------------------------------------------------------------------
 */
#define MAX_ERROR_FIELDS 24

struct pgembed_error
{
	int			nfields;
	char		codes[MAX_ERROR_FIELDS];
	const char *values[MAX_ERROR_FIELDS];
	char	   *owned;			/* set when the error owns its strings */
};

typedef struct
{
	const char *name;
	uint32_t	type;
	int32_t		typmod;
	int32_t		format;
} field_desc;

struct pgembed_result
{
	pgembed_status status;
	char		tx_status;
	char	   *buf;			/* the backend's messages; cells point into it */
	size_t		buflen;
	const char *command_tag;
	int64_t		rows_affected;
	int			nfields;
	field_desc *fields;
	int			nparams;
	uint32_t   *param_types;
	int64_t		ntuples;
	pgembed_cell *cells;
	pgembed_error error;
	bool		has_error;
	bool		saw_ready;		/* a ReadyForQuery set tx_status */
	int			nnotices;
	pgembed_error *notices;
};

static const char *const empty = "";

static pgembed_error *
make_error(const char *sqlstate, const char *severity, const char *fmt,...)
{
	pgembed_error *err = calloc(1, sizeof(*err));
	char		msg[1024];
	va_list		ap;
	size_t		a,
				b,
				c;

	if (err == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a = strlen(sqlstate) + 1;
	b = strlen(severity) + 1;
	c = strlen(msg) + 1;
	err->owned = malloc(a + b + c);
	if (err->owned == NULL)
	{
		free(err);
		return NULL;
	}
	memcpy(err->owned, sqlstate, a);
	memcpy(err->owned + a, severity, b);
	memcpy(err->owned + a + b, msg, c);
	err->codes[0] = 'C';
	err->values[0] = err->owned;
	err->codes[1] = 'S';
	err->values[1] = err->owned + a;
	err->codes[2] = 'V';
	err->values[2] = err->owned + a;
	err->codes[3] = 'M';
	err->values[3] = err->owned + a + b;
	err->nfields = 4;
	return err;
}

/* parses an ErrorResponse/NoticeResponse payload (fields point into it) */
static void
parse_error_fields(pgembed_error *err, const char *p, const char *end)
{
	err->nfields = 0;
	while (p < end && *p != '\0' && err->nfields < MAX_ERROR_FIELDS)
	{
		err->codes[err->nfields] = *p++;
		err->values[err->nfields] = p;
		err->nfields++;
		p += strlen(p) + 1;
	}
}

static pgembed_error *
copy_error(const pgembed_error *src)
{
	pgembed_error *err = calloc(1, sizeof(*err));
	size_t		total = 0;
	char	   *p;

	if (err == NULL)
		return NULL;
	for (int i = 0; i < src->nfields; i++)
		total += strlen(src->values[i]) + 1;
	err->owned = malloc(total + 1);
	if (err->owned == NULL)
	{
		free(err);
		return NULL;
	}
	p = err->owned;
	for (int i = 0; i < src->nfields; i++)
	{
		size_t		n = strlen(src->values[i]) + 1;

		memcpy(p, src->values[i], n);
		err->codes[i] = src->codes[i];
		err->values[i] = p;
		p += n;
	}
	err->nfields = src->nfields;
	return err;
}

static pgembed_result *
result_new(pgembed_status status)
{
	pgembed_result *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->status = status;
	r->rows_affected = -1;
	r->tx_status = PGEMBED_TX_IDLE;
	r->command_tag = empty;
	return r;
}

static pgembed_result *
result_error(pgembed_status status, const char *sqlstate, const char *fmt,...)
{
	pgembed_result *r = result_new(status);
	char		msg[1024];
	va_list		ap;
	pgembed_error *err;

	if (r == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err = make_error(sqlstate, "ERROR", "%s", msg);
	if (err != NULL)
	{
		r->error = *err;
		free(err);
		r->has_error = true;
	}
	return r;
}

static inline uint32_t
rd32(const char *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static inline uint16_t
rd16(const char *p)
{
	uint16_t	v;

	memcpy(&v, p, 2);
	return ntohs(v);
}

/* messages in a buffer: [type][int32 len][payload][NUL] */
#define MSG_TYPE(p) ((p)[0])
#define MSG_PAYLOAD(p) ((p) + 5)
#define MSG_PAYLOAD_LEN(p) ((size_t) rd32((p) + 1) - 4)
#define MSG_NEXT(p) ((p) + 6 + MSG_PAYLOAD_LEN(p))

static int64_t
tag_rows(const char *tag)
{
	const char *sp = strrchr(tag, ' ');

	if (sp == NULL)
		return -1;
	if (strncmp(tag, "INSERT ", 7) == 0 || strncmp(tag, "UPDATE ", 7) == 0 ||
		strncmp(tag, "DELETE ", 7) == 0 || strncmp(tag, "SELECT ", 7) == 0 ||
		strncmp(tag, "MERGE ", 6) == 0 || strncmp(tag, "MOVE ", 5) == 0 ||
		strncmp(tag, "FETCH ", 6) == 0 || strncmp(tag, "COPY ", 5) == 0)
		return strtoll(sp + 1, NULL, 10);
	return -1;
}

static void
parse_row_description(pgembed_result *r, const char *p)
{
	int			n = rd16(p);

	p += 2;
	free(r->fields);
	r->fields = calloc(n > 0 ? n : 1, sizeof(field_desc));
	r->nfields = r->fields ? n : 0;
	for (int i = 0; i < r->nfields; i++)
	{
		r->fields[i].name = p;
		p += strlen(p) + 1;
		p += 4 + 2;				/* table oid, attnum */
		r->fields[i].type = rd32(p);
		p += 4 + 2;				/* type oid, typlen */
		r->fields[i].typmod = (int32_t) rd32(p);
		p += 4;
		r->fields[i].format = (int16_t) rd16(p);
		p += 2;
	}
}

/*
 * Builds a result from the backend's messages.  The result takes the buffer
 * over.  It describes the last statement: its rows (if it returned any), its
 * command tag, the first error, and every notice.  batch: sum the rows
 * affected of every statement.
 */
static pgembed_result *
result_from_messages(char *buf, size_t len, bool batch)
{
	pgembed_result *r = result_new(PGEMBED_COMMAND_OK);
	const char *end = buf + len;
	const char *group_rows = NULL;	/* first message after the last RowDescription */
	int64_t		group_count = 0;
	const char *rows_at = NULL;
	int64_t		rows_count = 0;
	const char *rowdesc = NULL;
	const char *result_rowdesc = NULL;
	bool		have_tag = false;
	bool		error_seen = false;
	int			nnotices = 0;
	int64_t		batch_rows = 0;

	if (r == NULL)
	{
		free(buf);
		return NULL;
	}
	r->buf = buf;
	r->buflen = len;

	/* pass 1: find the result's row group, tag, error, notices */
	for (const char *m = buf; m < end; m = MSG_NEXT(m))
	{
		const char *pl = MSG_PAYLOAD(m);

		switch (MSG_TYPE(m))
		{
			case 'T':
				rowdesc = m;
				group_rows = MSG_NEXT(m);
				group_count = 0;
				break;
			case 'D':
				if (group_rows == NULL)
					group_rows = m;
				group_count++;
				break;
			case 'C':
			case 's':
				if (error_seen)
					break;
				if (MSG_TYPE(m) == 'C')
				{
					r->command_tag = pl;
					r->rows_affected = tag_rows(pl);
					if (r->rows_affected > 0)
						batch_rows += r->rows_affected;
					r->status = rowdesc ? PGEMBED_TUPLES_OK : PGEMBED_COMMAND_OK;
				}
				else
				{
					r->command_tag = empty;
					r->rows_affected = -1;
					r->status = PGEMBED_SUSPENDED;
				}
				have_tag = true;
				result_rowdesc = rowdesc;
				rows_at = group_rows;
				rows_count = group_count;
				rowdesc = NULL;
				group_rows = NULL;
				group_count = 0;
				break;
			case 'I':
				if (error_seen)
					break;
				r->status = PGEMBED_EMPTY_QUERY;
				r->command_tag = empty;
				result_rowdesc = NULL;
				rows_count = 0;
				have_tag = true;
				break;
			case 'E':
				if (!error_seen)
				{
					parse_error_fields(&r->error, pl, pl + MSG_PAYLOAD_LEN(m));
					r->has_error = true;
					error_seen = true;
				}
				break;
			case 'N':
				nnotices++;
				break;
			case 't':
				{
					int			n = rd16(pl);

					free(r->param_types);
					r->param_types = calloc(n > 0 ? n : 1, sizeof(uint32_t));
					r->nparams = r->param_types ? n : 0;
					for (int i = 0; i < r->nparams; i++)
						r->param_types[i] = rd32(pl + 2 + 4 * i);
				}
				break;
			case 'n':			/* NoData */
				rowdesc = NULL;
				break;
			case 'G':
				if (!error_seen)
					r->status = PGEMBED_COPY_IN;
				have_tag = true;
				break;
			case 'H':
				if (!error_seen)
					r->status = PGEMBED_COPY_OUT;
				have_tag = true;
				break;
			case 'Z':
				r->tx_status = pl[0];
				r->saw_ready = true;
				break;
			default:
				break;
		}
	}
	/* a Describe without execution: the description is the result */
	if (!have_tag && !error_seen && rowdesc != NULL)
	{
		result_rowdesc = rowdesc;
		rows_at = NULL;
		rows_count = 0;
		r->status = PGEMBED_TUPLES_OK;
	}
	if (error_seen)
	{
		r->status = PGEMBED_ERROR;
		result_rowdesc = NULL;
		rows_count = 0;
	}
	if (batch && !error_seen)
		r->rows_affected = batch_rows;
	if (result_rowdesc != NULL)
		parse_row_description(r, MSG_PAYLOAD(result_rowdesc));

	/* rows without columns (SELECT FROM ...) still count */
	if (rows_count > 0 && r->nfields == 0)
		r->ntuples = rows_count;

	/* pass 2: cells, NUL-terminating each value in place */
	if (rows_count > 0 && r->nfields > 0)
	{
		int64_t		row = 0;

		r->cells = malloc(sizeof(pgembed_cell) * rows_count * r->nfields);
		if (r->cells == NULL)
		{
			pgembed_result_free(r);
			return NULL;
		}
		for (const char *m = rows_at; m < end && row < rows_count; m = MSG_NEXT(m))
		{
			char	   *p;
			int			n;
			pgembed_cell *c;

			if (MSG_TYPE(m) != 'D')
				continue;
			p = (char *) MSG_PAYLOAD(m);
			n = rd16(p);
			p += 2;
			c = &r->cells[row * r->nfields];
			for (int i = 0; i < r->nfields; i++)
			{
				int32_t		vlen = (i < n) ? (int32_t) rd32(p) : -1;

				if (i < n)
					p += 4;
				if (i > 0 && c[i - 1].length >= 0)
					((char *) c[i - 1].value)[c[i - 1].length] = '\0';
				c[i].format = r->fields[i].format;
				c[i].length = vlen;
				c[i].value = vlen >= 0 ? p : NULL;
				if (vlen > 0)
					p += vlen;
			}
			/* the last value is followed by the message's trailing NUL */
			row++;
		}
		r->ntuples = row;
	}

	if (nnotices > 0)
	{
		r->notices = calloc(nnotices, sizeof(pgembed_error));
		if (r->notices != NULL)
		{
			for (const char *m = buf; m < end; m = MSG_NEXT(m))
				if (MSG_TYPE(m) == 'N')
				{
					const char *pl = MSG_PAYLOAD(m);

					parse_error_fields(&r->notices[r->nnotices++], pl, pl + MSG_PAYLOAD_LEN(m));
				}
		}
	}
	return r;
}

/* ------------------------------------------------------------------------
 * Engine registry, namespaces and timers
 * ------------------------------------------------------------------------
 */
/*
 * A slot is a link-map namespace.  Its C library stays loaded between engines
 * (pinned), so that the next engine of the slot reuses its heap: an unloaded
 * namespace would leave its C library's arenas mapped for ever.
 */
typedef struct
{
	pgembed_engine *engine;
	uint32_t	generation;
	bool		has_namespace;
	Lmid_t		lmid;
	void	   *libc_pin;
	uint32_t	ns_generation;	/* changes whenever the slot gets a new namespace */
	void		(*ctype_init) (void);	/* the namespace libc's __ctype_init */
} engine_slot;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cond = PTHREAD_COND_INITIALIZER;
static engine_slot slots[MAX_ENGINES];
static bool timer_thread_started;
static __thread pgembed_engine *current_engine;

/*
 * A C library sets up its per-thread character-class tables when it creates a
 * thread; an engine's private C library never created the host's threads, so
 * every thread must run that namespace's __ctype_init once before entering it
 * (isdigit() and friends would otherwise read through a NULL table).
 */
static __thread uint32_t ctype_ready[MAX_ENGINES];

static pgembed_log_fn default_log_fn;
static void *default_log_context;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
timer_signal_handler(int sig, siginfo_t *si, void *uc)
{
	int			saved_errno = errno;
	int			slot = si->si_value.sival_int >> 16;
	uint32_t	gen = si->si_value.sival_int & 0xffff;
	pgembed_engine *e;

	(void) sig;
	(void) uc;
	if (slot < 0 || slot >= MAX_ENGINES)
		return;
	e = slots[slot].engine;
	if (e == NULL || (slots[slot].generation & 0xffff) != gen)
		return;
	if (current_engine == e && e->running)
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
static void maintenance_pass(pgembed_engine *e, bool force);

/* caller holds registry_lock */
static bool
any_engine_open(void)
{
	for (int i = 0; i < MAX_ENGINES; i++)
		if (slots[i].engine != NULL && slots[i].engine->owner_pid == getpid())
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
	pthread_mutex_lock(&registry_lock);
	for (;;)
	{
		int64_t		now = now_ns();
		int64_t		next = 0;

		for (int i = 0; i < MAX_ENGINES; i++)
		{
			pgembed_engine *e = slots[i].engine;

			if (e == NULL || e->timer_deadline_ns == 0)
				continue;
			if (e->timer_deadline_ns <= now)
			{
				e->timer_deadline_ns = 0;
				if (e->running)
				{
					union sigval v;

					v.sival_int = (i << 16) | (slots[i].generation & 0xffff);
					if (pthread_sigqueue(e->running_thread, PGEMBED_TIMER_SIGNAL, v) != 0)
						e->alarm_pending = 1;
				}
				else
					e->alarm_pending = 1;
			}
			else if (next == 0 || e->timer_deadline_ns < next)
				next = e->timer_deadline_ns;
		}
		/* maintenance: idle engines get it here, busy ones at their next idle point */
		if (now >= next_maintenance_ns && pthread_mutex_trylock(&maintenance_gate) == 0)
		{
			for (int i = 0; i < MAX_ENGINES && !process_exiting; i++)
			{
				pgembed_engine *e = slots[i].engine;

				/*
				 * Only a started engine: one still opening is in the slot before
				 * its backend runs (calling into it would run start-up on this
				 * thread, or read globals not yet set), and one whose start-up
				 * failed is freed without the slot lock.
				 */
				if (e == NULL || !e->auto_maintenance || e->state != ENGINE_READY)
					continue;
				if (pthread_mutex_trylock(&e->lock) == 0)
				{
					/* the registry lock must not be held while the engine runs */
					pthread_mutex_unlock(&registry_lock);
					maintenance_pass(e, false);
					pthread_mutex_unlock(&e->lock);
					pthread_mutex_lock(&registry_lock);
				}
				else
					e->maintenance_due = true;
			}
			next_maintenance_ns = now_ns() + MAINTENANCE_TICK_NS;
			pthread_mutex_unlock(&maintenance_gate);
		}
		if (!any_engine_open())
		{
			/* nothing to watch: sleep until an engine opens (claim_slot wakes us) */
			pthread_cond_wait(&timer_cond, &registry_lock);
			continue;
		}
		if (next == 0 || next > next_maintenance_ns)
			next = next_maintenance_ns;
		{
			struct timespec ts;

			ts.tv_sec = next / 1000000000;
			ts.tv_nsec = next % 1000000000;
			pthread_cond_timedwait(&timer_cond, &registry_lock, &ts);
		}
	}
	return NULL;
}

/* called by an engine (setitimer) */
static void
front_timer_set(pgembed_engine *e, int64_t deadline_ns)
{
	pthread_mutex_lock(&registry_lock);
	e->timer_deadline_ns = deadline_ns;
	if (deadline_ns != 0)
		pthread_cond_signal(&timer_cond);
	pthread_mutex_unlock(&registry_lock);
}

static bool
ensure_timer_machinery(void)
{
	if (timer_thread_started)
		return true;

	struct sigaction sa;
	pthread_condattr_t ca;
	pthread_t	t;
	pthread_attr_t attr;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = timer_signal_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(PGEMBED_TIMER_SIGNAL, &sa, NULL) != 0)
		return false;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&timer_cond, &ca);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* it runs maintenance and may call a host (JVM) log callback: a normal stack */
	pthread_attr_setstacksize(&attr, 2 * 1024 * 1024);
	if (pthread_create(&t, &attr, timer_thread_main, NULL) != 0)
		return false;
	atexit(close_maintenance_gate);
	pthread_setname_np(t, "pgembed-timer");
	timer_thread_started = true;
	return true;
}

static const char *
self_path(void)
{
	static char path[PATH_MAX];
	Dl_info		info;

	if (path[0] == '\0' && dladdr((void *) self_path, &info) != 0 && info.dli_fname)
	{
		/* the host may have loaded us through a relative path */
		if (realpath(info.dli_fname, path) == NULL)
			snprintf(path, sizeof(path), "%s", info.dli_fname);
	}
	return path;
}

const char *
pgembed_install_root(void)
{
	static char root[PATH_MAX];

	if (root[0] == '\0')
	{
		char	   *slash;

		strncpy(root, self_path(), sizeof(root) - 1);
		for (int i = 0; i < 2; i++)
		{
			slash = strrchr(root, '/');
			if (slash == NULL)
				break;
			*slash = '\0';
		}
	}
	return root;
}

const char *
pgembed_pg_version(void)
{
	return PGEMBED_PG_VERSION;
}

/* ------------------------------------------------------------------------
 * Running the engine
 * ------------------------------------------------------------------------
 */
static void
front_yield(pgembed_engine *e)
{
	pgembed__switch(&e->engine_sp, e->front_sp);
}

static void
flush_log(pgembed_engine *e)
{
	size_t		pos = 0;

	while (pos + sizeof(int32_t) < e->logbuf.len)
	{
		int32_t		elevel;
		const char *line = e->logbuf.data + pos + sizeof(int32_t);

		memcpy(&elevel, e->logbuf.data + pos, sizeof(int32_t));
		if (e->log_fn)
			e->log_fn(e->log_context, elevel, line);
		else if (default_log_fn)
			default_log_fn(default_log_context, elevel, line);
		else
			fprintf(stderr, "pgembed: %s\n", line);
		pos += sizeof(int32_t) + strlen(line) + 1;
	}
	e->logbuf.len = 0;
}

static void
engine_release(pgembed_engine *e);

/* Runs the engine until it waits for input (or dies).  Caller holds e->lock. */
static void
run_engine(pgembed_engine *e)
{
	pgembed_engine *outer = current_engine;

	if (e->slot >= 0 && ctype_ready[e->slot] != slots[e->slot].ns_generation)
	{
		if (slots[e->slot].ctype_init != NULL)
			slots[e->slot].ctype_init();
		ctype_ready[e->slot] = slots[e->slot].ns_generation;
	}
	e->running_thread = pthread_self();
	current_engine = e;
	e->running = 1;
	pgembed__switch(&e->front_sp, e->engine_sp);
	e->running = 0;
	current_engine = outer;
	if (e->logbuf.len > 0)
		flush_log(e);
	if (e->state == ENGINE_DEAD && e->dl_handle != NULL)
		engine_release(e);
}

/* Gives the backend these input segments (none: just resume it) and runs it. */
static void
run_with_input(pgembed_engine *e, const pgembed_iov *segs, int nsegs)
{
	if (nsegs > 0)
	{
		memcpy(e->in, segs, sizeof(pgembed_iov) * nsegs);
		e->nin = nsegs;
		e->in_index = 0;
		e->in_pos = 0;
	}
	run_engine(e);
	e->nin = 0;
}

/* hands the collected messages to the caller and starts a new buffer */
static char *
take_output(pgembed_engine *e, size_t *len)
{
	char	   *data = e->out.data;

	*len = e->out.len;
	e->out.data = NULL;
	e->out.len = 0;
	e->out.cap = 0;
	if (data == NULL)
		data = malloc(1);
	return data;
}

/* the output of internal work (maintenance): nobody reads it */
static char *
take_output_discard(pgembed_engine *e)
{
	size_t		len;

	return take_output(e, &len);
}

static pgembed_result *
exchange(pgembed_engine *e, const char *request, size_t len, bool batch)
{
	char	   *buf;
	size_t		buflen;
	pgembed_result *r;

	run_with_input(e, &(pgembed_iov) {request, len}, 1);
	buf = take_output(e, &buflen);
	r = result_from_messages(buf, buflen, batch);
	if (r == NULL)
		return NULL;
	if (!r->saw_ready)
		r->tx_status = e->tx_status;	/* mid-COPY or mid-cursor: the engine's status */
	if (e->state == ENGINE_DEAD)
	{
		r->status = PGEMBED_FATAL;
		r->tx_status = PGEMBED_TX_CLOSED;
		if (!r->has_error)
		{
			pgembed_error *err = make_error("57P01", "FATAL",
											e->aborted ? "the engine aborted (PANIC); reopen the database to recover"
											: "the engine has ended");

			if (err)
			{
				r->error = *err;
				free(err);
				r->has_error = true;
			}
		}
	}
	return r;
}

/* ------------------------------------------------------------------------
 * Protocol messages
 * ------------------------------------------------------------------------
 */
static bool
msg_begin(pgembed_engine *e, char type, size_t *start)
{
	if (!pgembed_buf_reserve(e, &e->scratch, 5))
		return false;
	*start = e->scratch.len;
	e->scratch.data[e->scratch.len] = type;
	e->scratch.len += 5;
	return true;
}

static bool
msg_put(pgembed_engine *e, const void *data, size_t len)
{
	if (!pgembed_buf_reserve(e, &e->scratch, len))
		return false;
	memcpy(e->scratch.data + e->scratch.len, data, len);
	e->scratch.len += len;
	return true;
}

static bool
msg_str(pgembed_engine *e, const char *s)
{
	return msg_put(e, s ? s : "", strlen(s ? s : "") + 1);
}

static bool
msg_i16(pgembed_engine *e, int v)
{
	uint16_t	n = htons((uint16_t) v);

	return msg_put(e, &n, 2);
}

static bool
msg_i32(pgembed_engine *e, int32_t v)
{
	uint32_t	n = htonl((uint32_t) v);

	return msg_put(e, &n, 4);
}

static void
msg_end(pgembed_engine *e, size_t start)
{
	uint32_t	n = htonl((uint32_t) (e->scratch.len - start - 1));

	memcpy(e->scratch.data + start + 1, &n, 4);
}

static bool
msg_simple(pgembed_engine *e, char type)
{
	size_t		s;

	if (!msg_begin(e, type, &s))
		return false;
	msg_end(e, s);
	return true;
}

static bool
msg_parse(pgembed_engine *e, const char *name, const char *sql, int nparams, const uint32_t *types)
{
	size_t		s;
	bool		ok;

	ok = msg_begin(e, 'P', &s) && msg_str(e, name) && msg_str(e, sql) && msg_i16(e, types ? nparams : 0);
	for (int i = 0; ok && types && i < nparams; i++)
		ok = msg_i32(e, (int32_t) types[i]);
	if (ok)
		msg_end(e, s);
	return ok;
}

static bool
is_binary_friendly(pgembed_engine *e, uint32_t type)
{
	switch (type)
	{
		case 16:				/* bool */
		case 20:				/* int8 */
		case 21:				/* int2 */
		case 23:				/* int4 */
		case 26:				/* oid */
		case 700:				/* float4 */
		case 701:				/* float8 */
			return true;
		default:
			for (int i = 0; i < e->nbinary_types; i++)
				if (e->binary_types[i] == type)
					return true;
			return false;
	}
}

static bool
msg_bind(pgembed_engine *e, const char *portal, const char *stmt, int nparams,
		 const char *const *values, const int32_t *lengths, const int32_t *formats,
		 int result_format, const pgembed_result *desc)
{
	size_t		s;
	bool		ok;

	ok = msg_begin(e, 'B', &s) && msg_str(e, portal) && msg_str(e, stmt);
	if (formats != NULL)
	{
		ok = ok && msg_i16(e, nparams);
		for (int i = 0; ok && i < nparams; i++)
			ok = msg_i16(e, formats[i]);
	}
	else
		ok = ok && msg_i16(e, 0);
	ok = ok && msg_i16(e, nparams);
	for (int i = 0; ok && i < nparams; i++)
	{
		if (values == NULL || values[i] == NULL)
			ok = msg_i32(e, -1);
		else
		{
			int32_t		len = (lengths != NULL && formats != NULL && formats[i] == 1)
				? lengths[i] : (int32_t) strlen(values[i]);

			ok = msg_i32(e, len) && msg_put(e, values[i], len);
		}
	}
	if (result_format == PGEMBED_FORMAT_AUTO && desc != NULL && desc->nfields > 0)
	{
		ok = ok && msg_i16(e, desc->nfields);
		for (int i = 0; ok && i < desc->nfields; i++)
			ok = msg_i16(e, is_binary_friendly(e, desc->fields[i].type) ? 1 : 0);
	}
	else if (result_format == PGEMBED_FORMAT_BINARY)
		ok = ok && msg_i16(e, 1) && msg_i16(e, 1);
	else
		ok = ok && msg_i16(e, 0);
	if (ok)
		msg_end(e, s);
	return ok;
}

static bool
msg_execute(pgembed_engine *e, const char *portal, int32_t maxrows)
{
	size_t		s;

	if (!(msg_begin(e, 'E', &s) && msg_str(e, portal) && msg_i32(e, maxrows)))
		return false;
	msg_end(e, s);
	return true;
}

static bool
msg_describe(pgembed_engine *e, char what, const char *name)
{
	size_t		s;
	char		w = what;

	if (!(msg_begin(e, 'D', &s) && msg_put(e, &w, 1) && msg_str(e, name)))
		return false;
	msg_end(e, s);
	return true;
}

static bool
msg_close(pgembed_engine *e, char what, const char *name)
{
	size_t		s;
	char		w = what;

	if (!(msg_begin(e, 'C', &s) && msg_put(e, &w, 1) && msg_str(e, name)))
		return false;
	msg_end(e, s);
	return true;
}

/* ------------------------------------------------------------------------
 * Entering an API call
 * ------------------------------------------------------------------------
 */
static pgembed_result *
enter(pgembed_engine *e, int allowed_mode)
{
	if (e == NULL)
		return result_error(PGEMBED_MISUSE, "55000", "the engine is NULL");
	pthread_mutex_lock(&e->lock);
	if (e->state == ENGINE_DEAD)
	{
		pthread_mutex_unlock(&e->lock);
		return result_error(PGEMBED_FATAL, "08003", "the engine has ended; open the database again");
	}
	if (e->mode != allowed_mode)
	{
		char		tx = e->tx_status;
		pgembed_result *refusal;

		static const char *const names[] = {"no operation", "a COPY FROM STDIN", "a COPY TO STDOUT", "a cursor",
		"a protocol client's transaction"};
		int			mode = e->mode;

		pthread_mutex_unlock(&e->lock);
		if (allowed_mode == FRONT_MODE_IDLE)
			refusal = result_error(PGEMBED_MISUSE, "55000",
								   "%s is in progress on this engine; finish it first", names[mode]);
		else
			refusal = result_error(PGEMBED_MISUSE, "55000", "no %s is in progress on this engine",
								   names[allowed_mode] + 2);
		if (refusal)
			refusal->tx_status = tx;
		return refusal;
	}
	e->scratch.len = 0;
	return NULL;
}

static void maintenance_pass(pgembed_engine *e, bool force);

static void
leave(pgembed_engine *e)
{
	/*
	 * Work a server's background processes would do, now that the engine is
	 * idle.  The WAL flush of relaxed durability is also due by the clock: an
	 * engine kept busy must not depend on the timer thread getting the CPU to
	 * keep its loss window at wal_writer_delay.
	 */
	if (e->auto_maintenance &&
		(e->maintenance_due ||
		 (e->tx_status == PGEMBED_TX_IDLE && now_ns() - e->last_flush_ns >= e->flush_interval_ns)))
		maintenance_pass(e, false);
	pthread_mutex_unlock(&e->lock);
}

static pgembed_result *
oom(void)
{
	return result_error(PGEMBED_ERROR, "53200", "out of memory");
}

static void
set_mode_after(pgembed_engine *e, pgembed_result *r)
{
	if (r == NULL)
		return;
	if (r->status == PGEMBED_COPY_IN)
	{
		e->mode = FRONT_MODE_COPY_IN;
	}
	else if (r->status == PGEMBED_COPY_OUT)
	{
		e->mode = FRONT_MODE_COPY_OUT;
	}
	else if (r->status == PGEMBED_FATAL)
		e->mode = FRONT_MODE_IDLE;
	if (r->status != PGEMBED_COPY_OUT)
		e->out_yield_at = 0;
}

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
		return result_error(PGEMBED_MISUSE, "22004", "the SQL text is NULL");
	if ((r = enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	if (!(msg_begin(e, 'Q', &s) && msg_str(e, sql)))
		r = oom();
	else
	{
		msg_end(e, s);
		e->out_yield_at = COPY_OUT_CHUNK;
		r = exchange(e, e->scratch.data, e->scratch.len, false);
		set_mode_after(e, r);
	}
	leave(e);
	return r;
}

/* Parse + Describe, then Bind with result formats chosen from the description. */
static pgembed_result *
describe_unnamed(pgembed_engine *e, const char *sql, int nparams, const uint32_t *types)
{
	e->scratch.len = 0;
	if (!(msg_parse(e, "", sql, nparams, types) && msg_describe(e, 'S', "") && msg_simple(e, 'H')))
		return oom();
	return exchange(e, e->scratch.data, e->scratch.len, false);
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
	if (!msg_simple(e, 'S'))
		return partial;
	r = exchange(e, e->scratch.data, e->scratch.len, false);
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
		return result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	if (result_format == PGEMBED_FORMAT_AUTO)
	{
		desc = describe_unnamed(e, sql, nparams, types);
		if (desc == NULL || desc->status == PGEMBED_ERROR || desc->status == PGEMBED_FATAL)
		{
			if (desc && desc->status == PGEMBED_ERROR)
				desc = finish_with_sync(e, desc);
			leave(e);
			return desc ? desc : oom();
		}
		e->scratch.len = 0;
	}
	else if (!msg_parse(e, "", sql, nparams, types))
	{
		leave(e);
		return oom();
	}
	if (!(msg_bind(e, "", "", nparams, values, lengths, formats, result_format, desc) &&
		  msg_describe(e, 'P', "") && msg_execute(e, "", 0) && msg_simple(e, 'S')))
		r = oom();
	else
	{
		e->out_yield_at = COPY_OUT_CHUNK;
		r = exchange(e, e->scratch.data, e->scratch.len, false);
	}
	pgembed_result_free(desc);
	set_mode_after(e, r);
	leave(e);
	return r;
}

pgembed_result *
pgembed_prepare(pgembed_engine *e, const char *name, const char *sql, int nparams, const uint32_t *types)
{
	pgembed_result *r;

	if (name == NULL || sql == NULL || nparams < 0)
		return result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	if (!(msg_parse(e, name, sql, nparams, types) && msg_describe(e, 'S', name) && msg_simple(e, 'S')))
		r = oom();
	else
	{
		r = exchange(e, e->scratch.data, e->scratch.len, false);
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
	leave(e);
	return r;
}

pgembed_result *
pgembed_describe_prepared(pgembed_engine *e, const char *name)
{
	pgembed_result *r;

	if (name == NULL)
		return result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	if (!(msg_describe(e, 'S', name) && msg_simple(e, 'S')))
		r = oom();
	else
		r = exchange(e, e->scratch.data, e->scratch.len, false);
	leave(e);
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

static void
formats_forget_all(pgembed_engine *e)
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
	if (!(msg_describe(e, 'S', name) && msg_simple(e, 'H')))
		return NULL;
	d = exchange(e, e->scratch.data, e->scratch.len, false);
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
		return result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = enter(e, FRONT_MODE_IDLE)) != NULL)
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
				leave(e);
				return desc ? desc : oom();
			}
			formats_remember(e, name, desc);
		}
		e->scratch.len = 0;
	}
	if (!(msg_bind(e, "", name, nparams, values, lengths, formats, result_format, desc) &&
		  msg_describe(e, 'P', "") && msg_execute(e, "", 0) && msg_simple(e, 'S')))
		r = oom();
	else
		r = exchange(e, e->scratch.data, e->scratch.len, false);
	/* a failure may mean the statement changed or went away: describe it afresh next time */
	if (r == NULL || r->status == PGEMBED_ERROR || r->status == PGEMBED_FATAL)
		formats_forget(e, name);
	set_mode_after(e, r);
	leave(e);
	return r;
}

pgembed_result *
pgembed_exec_prepared_batch(pgembed_engine *e, const char *name, int nsets, int nparams,
							const char *const *values, const int32_t *lengths, const int32_t *formats)
{
	pgembed_result *r;
	bool		ok = true;

	if (name == NULL || nsets < 0 || nparams < 0 || (nparams > 0 && nsets > 0 && values == NULL))
		return result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	for (int i = 0; ok && i < nsets; i++)
	{
		size_t		off = (size_t) i * nparams;

		ok = msg_bind(e, "", name, nparams, values + off, lengths ? lengths + off : NULL,
					  formats ? formats + off : NULL, PGEMBED_FORMAT_TEXT, NULL) &&
			msg_execute(e, "", 0);
	}
	if (!(ok && msg_simple(e, 'S')))
		r = oom();
	else
		r = exchange(e, e->scratch.data, e->scratch.len, true);
	leave(e);
	return r;
}

pgembed_result *
pgembed_deallocate(pgembed_engine *e, const char *name)
{
	pgembed_result *r;

	if (name == NULL)
		return result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	formats_forget(e, name);
	if (!(msg_close(e, 'S', name) && msg_simple(e, 'S')))
		r = oom();
	else
		r = exchange(e, e->scratch.data, e->scratch.len, false);
	leave(e);
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
		return result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	desc = describe_unnamed(e, sql, nparams, types);
	if (desc == NULL || desc->status == PGEMBED_ERROR || desc->status == PGEMBED_FATAL)
	{
		if (desc && desc->status == PGEMBED_ERROR)
			desc = finish_with_sync(e, desc);
		leave(e);
		return desc ? desc : oom();
	}
	e->scratch.len = 0;
	if (!(msg_bind(e, CURSOR_PORTAL, "", nparams, values, lengths, formats, result_format, desc) &&
		  msg_describe(e, 'P', CURSOR_PORTAL) && msg_execute(e, CURSOR_PORTAL, (int32_t) fetch_rows) &&
		  msg_simple(e, 'H')))
		r = oom();
	else
		r = exchange(e, e->scratch.data, e->scratch.len, false);
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
	leave(e);
	return r;
}

pgembed_result *
pgembed_cursor_fetch(pgembed_engine *e, int64_t fetch_rows)
{
	pgembed_result *r;

	if (fetch_rows <= 0 || fetch_rows > INT32_MAX)
		return result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if ((r = enter(e, FRONT_MODE_CURSOR)) != NULL)
		return r;
	/* the row description comes with Describe(portal) */
	if (!(msg_describe(e, 'P', CURSOR_PORTAL) && msg_execute(e, CURSOR_PORTAL, (int32_t) fetch_rows) &&
		  msg_simple(e, 'H')))
		r = oom();
	else
		r = exchange(e, e->scratch.data, e->scratch.len, false);
	if (r == NULL || r->status != PGEMBED_SUSPENDED)
	{
		e->mode = FRONT_MODE_IDLE;
		if (r && r->status != PGEMBED_FATAL)
			r = finish_with_sync(e, r);
	}
	leave(e);
	return r;
}

pgembed_result *
pgembed_cursor_close(pgembed_engine *e)
{
	pgembed_result *r;

	if ((r = enter(e, FRONT_MODE_CURSOR)) != NULL)
		return r;
	if (!(msg_close(e, 'P', CURSOR_PORTAL) && msg_simple(e, 'S')))
		r = oom();
	else
		r = exchange(e, e->scratch.data, e->scratch.len, false);
	e->mode = FRONT_MODE_IDLE;
	leave(e);
	return r;
}

/* ------------------------------------------------------------------------
 * COPY
 * ------------------------------------------------------------------------
 */
int
pgembed_copy_put(pgembed_engine *e, const char *data, size_t length)
{
	pgembed_result *r;
	uint32_t	n;
	char		header[5];

	if (data == NULL && length > 0)
		return -1;
	if ((r = enter(e, FRONT_MODE_COPY_IN)) != NULL)
	{
		pgembed_result_free(r);
		return -1;
	}
	while (length > 0)
	{
		size_t		chunk = length > (1u << 30) ? (1u << 30) : length;

		header[0] = 'd';
		n = htonl((uint32_t) chunk + 4);
		memcpy(header + 1, &n, 4);
		/* the caller's data goes to the backend as it is, behind a CopyData header */
		run_with_input(e, (pgembed_iov[]) {{header, 5}, {data, chunk}}, 2);
		data += chunk;
		length -= chunk;
		if (e->state == ENGINE_DEAD)
			break;
	}
	leave(e);
	return e->state == ENGINE_DEAD ? -1 : 0;
}

int64_t
pgembed_copy_get(pgembed_engine *e, const char **data)
{
	pgembed_result *r;
	static const char none[1] = {0};

	if (data == NULL)
		return -1;
	*data = none;
	if ((r = enter(e, FRONT_MODE_COPY_OUT)) != NULL)
	{
		pgembed_result_free(r);
		return -1;
	}
	/* compact the CopyData payloads of the buffer into a chunk (in place) */
	for (;;)
	{
		char	   *w = e->out.data;
		char	   *end = e->out.data + e->out.len;
		char	   *rest = NULL;
		int64_t		n = 0;

		for (char *m = e->out.data, *next; m != NULL && m < end; m = next)
		{
			size_t		plen;

			if (MSG_TYPE(m) == 'N' || MSG_TYPE(m) == 'S' || MSG_TYPE(m) == 'A')
			{
				/* a notice raised while COPY produces data (a trigger): not the end */
				next = (char *) MSG_NEXT(m);
				continue;
			}
			if (MSG_TYPE(m) != 'd')
			{
				rest = m;
				break;
			}
			/* read the header before the payload moves over it */
			plen = MSG_PAYLOAD_LEN(m);
			next = (char *) MSG_NEXT(m);
			memmove(w, MSG_PAYLOAD(m), plen);
			w += plen;
			n += plen;
		}
		if (n > 0)
		{
			/* keep what follows the data (CopyDone, CommandComplete, ...) for copy_end */
			if (rest != NULL)
			{
				size_t		restlen = end - rest;

				e->scratch.len = 0;
				if (pgembed_buf_reserve(e, &e->scratch, n + restlen))
				{
					memcpy(e->scratch.data, e->out.data, n);
					memmove(e->out.data, rest, restlen);
					e->out.len = restlen;
					/* hand the chunk out from scratch, which lives until the next call */
					*data = e->scratch.data;
					leave(e);
					return n;
				}
			}
			e->out.len = 0;
			/* the chunk sits at the start of out.data until the next call */
			*data = e->out.data;
			leave(e);
			return n;
		}
		if (rest != NULL || !e->out_yielded)
		{
			/* no more data: the backend finished the COPY */
			leave(e);
			return e->state == ENGINE_DEAD ? -1 : 0;
		}
		/* the backend stopped to hand out data: let it continue */
		e->out.len = 0;
		run_engine(e);
		if (e->state == ENGINE_DEAD && e->out.len == 0)
		{
			leave(e);
			return -1;
		}
	}
}

pgembed_result *
pgembed_copy_end(pgembed_engine *e, const char *errmsg)
{
	pgembed_result *r;
	int			mode;

	if (e == NULL)
		return result_error(PGEMBED_MISUSE, "55000", "the engine is NULL");
	pthread_mutex_lock(&e->lock);
	mode = e->mode;
	pthread_mutex_unlock(&e->lock);
	if (mode != FRONT_MODE_COPY_IN && mode != FRONT_MODE_COPY_OUT)
		return result_error(PGEMBED_MISUSE, "55000", "no COPY is in progress on this engine");
	if ((r = enter(e, mode)) != NULL)
		return r;
	if (mode == FRONT_MODE_COPY_IN)
	{
		size_t		s;
		bool		ok;

		if (errmsg != NULL)
			ok = msg_begin(e, 'f', &s) && msg_str(e, errmsg);
		else
			ok = msg_begin(e, 'c', &s);
		if (ok)
			msg_end(e, s);
		r = ok ? exchange(e, e->scratch.data, e->scratch.len, false) : oom();
	}
	else
	{
		/* drain what is left of the data, then read the final messages */
		char	   *buf;
		size_t		len;

		while (e->out_yielded && e->state != ENGINE_DEAD)
		{
			e->out.len = 0;
			run_engine(e);
		}
		if (e->state != ENGINE_DEAD && e->out.len == 0)
		{
			/* nothing pending: the final messages were already consumed */
		}
		buf = take_output(e, &len);
		r = result_from_messages(buf, len, false);
		if (r && e->state == ENGINE_DEAD)
			r->status = PGEMBED_FATAL;
	}
	e->mode = FRONT_MODE_IDLE;
	e->out_yield_at = 0;
	leave(e);
	return r;
}

/* ------------------------------------------------------------------------
 * Self-maintenance
 * ------------------------------------------------------------------------
 */

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
	if (!(msg_begin(e, 'Q', &s) && msg_str(e, sql)))
		return NULL;
	msg_end(e, s);
	e->internal_query = true;
	r = exchange(e, e->scratch.data, e->scratch.len, false);
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
	/* not ENGINE_STARTING either: the timer thread may see an engine pgembed_open is still loading */
	if (e->state != ENGINE_READY || e->mode != FRONT_MODE_IDLE || e->tx_status != PGEMBED_TX_IDLE ||
		e->engine_wal_status == NULL)
		return;
	e->engine_wal_status(&insert, &redo, &important, &ckpt_timeout_s, &wal_delay_ms, &naptime_s, &autovacuum_on);
	e->flush_interval_ns = (int64_t) wal_delay_ms * 1000000;
	if (redo != e->last_redo)
	{
		/* a checkpoint happened (ours, a CHECKPOINT command, or the end of recovery) */
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
	run_with_input(e, NULL, 0);
	free(take_output_discard(e));

	if (autovacuum_on && e->state != ENGINE_DEAD &&
		(force || now - e->last_vacuum_check_ns >= (int64_t) naptime_s * 1000000000))
	{
		e->last_vacuum_check_ns = now;
		vacuum_pass(e);
	}
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
pgembed_set_binary_types(pgembed_engine *e, int count, const uint32_t *types)
{
	uint32_t   *copy = NULL;

	if (e == NULL || count < 0 || (count > 0 && types == NULL))
		return -1;
	if (count > 0)
	{
		copy = malloc(sizeof(uint32_t) * count);
		if (copy == NULL)
			return -1;
		memcpy(copy, types, sizeof(uint32_t) * count);
	}
	/* the lock: a call running on another thread reads the list while it binds */
	pthread_mutex_lock(&e->lock);
	free(e->binary_types);
	e->binary_types = copy;
	e->nbinary_types = count;
	pthread_mutex_unlock(&e->lock);
	return 0;
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

/* ------------------------------------------------------------------------
 * The protocol itself
 * ------------------------------------------------------------------------
 */
#define PROTOCOL_OUT_CHUNK (1u << 20)

int
pgembed_protocol_exchange(pgembed_engine *e, const char *in, size_t in_length,
						  const char **out, size_t *out_length)
{
	pgembed_buf done;
	int			mode;
	bool		idle;

	if (e == NULL || out == NULL || out_length == NULL || (in == NULL && in_length > 0))
		return -1;
	*out = NULL;
	*out_length = 0;
	pthread_mutex_lock(&e->lock);
	mode = e->mode;
	if (e->state == ENGINE_DEAD || (mode != FRONT_MODE_IDLE && mode != FRONT_MODE_PROTOCOL) ||
		(e->out_yielded && in_length > 0))
	{
		pthread_mutex_unlock(&e->lock);
		return -1;
	}
	/* the previous output is released only now: the caller read it meanwhile */
	done = e->raw_out;
	e->raw_out.data = NULL;
	e->raw_out.len = e->raw_out.cap = 0;
	free(done.data);

	e->raw_framing = true;
	e->out_yield_at = PROTOCOL_OUT_CHUNK;
	run_with_input(e, &(pgembed_iov) {in, in_length}, in_length > 0 ? 1 : 0);
	e->raw_framing = false;
	e->out_yield_at = 0;
	e->raw_out = e->out;
	e->out.data = NULL;
	e->out.len = e->out.cap = 0;
	*out = e->raw_out.data ? e->raw_out.data : "";
	*out_length = e->raw_out.len;

	/* idle only right after ReadyForQuery outside a transaction */
	idle = !e->out_yielded && e->tx_status == PGEMBED_TX_IDLE && e->raw_out.len >= 6 &&
		e->raw_out.data[e->raw_out.len - 6] == 'Z';
	e->mode = idle ? FRONT_MODE_IDLE : FRONT_MODE_PROTOCOL;
	if (e->state == ENGINE_DEAD)
	{
		e->mode = FRONT_MODE_IDLE;
		pthread_mutex_unlock(&e->lock);
		return -1;
	}
	pthread_mutex_unlock(&e->lock);
	return e->out_yielded ? 1 : 0;
}

int32_t
pgembed_backend_pid(pgembed_engine *e)
{
	(void) e;
	return (int32_t) getpid();
}

/* ------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------
 */
pgembed_status
pgembed_result_status(const pgembed_result *r)
{
	return r ? r->status : PGEMBED_FATAL;
}

const pgembed_error *
pgembed_result_error(const pgembed_result *r)
{
	return (r && r->has_error) ? &r->error : NULL;
}

const char *
pgembed_result_command_tag(const pgembed_result *r)
{
	return r ? r->command_tag : empty;
}

int64_t
pgembed_result_rows_affected(const pgembed_result *r)
{
	return r ? r->rows_affected : -1;
}

char
pgembed_result_transaction_status(const pgembed_result *r)
{
	return r ? r->tx_status : PGEMBED_TX_CLOSED;
}

int64_t
pgembed_result_ntuples(const pgembed_result *r)
{
	return r ? r->ntuples : 0;
}

int
pgembed_result_nfields(const pgembed_result *r)
{
	return r ? r->nfields : 0;
}

static inline bool
valid_column(const pgembed_result *r, int column)
{
	return r != NULL && column >= 0 && column < r->nfields;
}

const char *
pgembed_result_field_name(const pgembed_result *r, int column)
{
	return valid_column(r, column) ? r->fields[column].name : NULL;
}

int
pgembed_result_field_index(const pgembed_result *r, const char *name)
{
	if (r == NULL || name == NULL)
		return -1;
	for (int i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].name, name) == 0)
			return i;
	for (int i = 0; i < r->nfields; i++)
		if (strcasecmp(r->fields[i].name, name) == 0)
			return i;
	return -1;
}

uint32_t
pgembed_result_field_type(const pgembed_result *r, int column)
{
	return valid_column(r, column) ? r->fields[column].type : 0;
}

int32_t
pgembed_result_field_typmod(const pgembed_result *r, int column)
{
	return valid_column(r, column) ? r->fields[column].typmod : -1;
}

int
pgembed_result_field_format(const pgembed_result *r, int column)
{
	return valid_column(r, column) ? r->fields[column].format : 0;
}

int
pgembed_result_nparams(const pgembed_result *r)
{
	return r ? r->nparams : 0;
}

uint32_t
pgembed_result_param_type(const pgembed_result *r, int index)
{
	return (r && index >= 0 && index < r->nparams) ? r->param_types[index] : 0;
}

const pgembed_cell *
pgembed_result_cells(const pgembed_result *r)
{
	return r ? r->cells : NULL;
}

static inline const pgembed_cell *
cell(const pgembed_result *r, int64_t row, int column)
{
	if (!valid_column(r, column) || row < 0 || row >= r->ntuples)
		return NULL;
	return &r->cells[row * r->nfields + column];
}

int
pgembed_result_is_null(const pgembed_result *r, int64_t row, int column)
{
	const pgembed_cell *c = cell(r, row, column);

	return c == NULL || c->length < 0;
}

const char *
pgembed_result_value(const pgembed_result *r, int64_t row, int column)
{
	const pgembed_cell *c = cell(r, row, column);

	return (c == NULL || c->length < 0) ? NULL : c->value;
}

int32_t
pgembed_result_length(const pgembed_result *r, int64_t row, int column)
{
	const pgembed_cell *c = cell(r, row, column);

	return c == NULL ? -1 : c->length;
}

int
pgembed_result_get_int64(const pgembed_result *r, int64_t row, int column, int64_t *out)
{
	const pgembed_cell *c = cell(r, row, column);
	char	   *endp;

	if (c == NULL || out == NULL)
		return -1;
	if (c->length < 0)
		return 1;
	if (c->format == 1)
	{
		switch (c->length)
		{
			case 2:
				*out = (int16_t) rd16(c->value);
				return 0;
			case 4:
				*out = (int32_t) rd32(c->value);
				return 0;
			case 8:
				*out = (int64_t) (((uint64_t) rd32(c->value) << 32) | rd32(c->value + 4));
				return 0;
			default:
				return -1;
		}
	}
	errno = 0;
	*out = strtoll(c->value, &endp, 10);
	return (errno != 0 || endp == c->value || *endp != '\0') ? -1 : 0;
}

int
pgembed_result_get_int32(const pgembed_result *r, int64_t row, int column, int32_t *out)
{
	int64_t		v;
	int			rc;

	if (out == NULL)
		return -1;
	rc = pgembed_result_get_int64(r, row, column, &v);
	if (rc != 0)
		return rc;
	if (v < INT32_MIN || v > INT32_MAX)
		return -1;
	*out = (int32_t) v;
	return 0;
}

int
pgembed_result_get_double(const pgembed_result *r, int64_t row, int column, double *out)
{
	const pgembed_cell *c = cell(r, row, column);
	char	   *endp;

	if (c == NULL || out == NULL)
		return -1;
	if (c->length < 0)
		return 1;
	if (c->format == 1)
	{
		uint32_t	type = r->fields[column].type;

		if (type == 700 && c->length == 4)
		{
			uint32_t	b = rd32(c->value);
			float		f;

			memcpy(&f, &b, 4);
			*out = f;
			return 0;
		}
		if (type == 701 && c->length == 8)
		{
			uint64_t	b = ((uint64_t) rd32(c->value) << 32) | rd32(c->value + 4);

			memcpy(out, &b, 8);
			return 0;
		}
		int64_t		i;

		if (pgembed_result_get_int64(r, row, column, &i) == 0)
		{
			*out = (double) i;
			return 0;
		}
		return -1;
	}
	errno = 0;
	*out = strtod(c->value, &endp);
	return (endp == c->value || *endp != '\0') ? -1 : 0;
}

int
pgembed_result_get_bool(const pgembed_result *r, int64_t row, int column, int *out)
{
	const pgembed_cell *c = cell(r, row, column);

	if (c == NULL || out == NULL)
		return -1;
	if (c->length < 0)
		return 1;
	if (c->format == 1)
	{
		if (c->length != 1)
			return -1;
		*out = c->value[0] != 0;
		return 0;
	}
	if (strcmp(c->value, "t") == 0 || strcmp(c->value, "true") == 0)
		*out = 1;
	else if (strcmp(c->value, "f") == 0 || strcmp(c->value, "false") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

int
pgembed_result_notice_count(const pgembed_result *r)
{
	return r ? r->nnotices : 0;
}

const pgembed_error *
pgembed_result_notice(const pgembed_result *r, int index)
{
	return (r && index >= 0 && index < r->nnotices) ? &r->notices[index] : NULL;
}

void
pgembed_result_free(pgembed_result *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r->fields);
	free(r->param_types);
	free(r->cells);
	free(r->notices);
	free(r->error.owned);
	free(r);
}

const char *
pgembed_error_field(const pgembed_error *err, char code)
{
	if (err == NULL)
		return NULL;
	for (int i = 0; i < err->nfields; i++)
		if (err->codes[i] == code)
			return err->values[i];
	return NULL;
}

const char *
pgembed_error_sqlstate(const pgembed_error *err)
{
	const char *v = pgembed_error_field(err, 'C');

	return v ? v : "XX000";
}

const char *
pgembed_error_severity(const pgembed_error *err)
{
	const char *v = pgembed_error_field(err, 'V');

	if (v == NULL)
		v = pgembed_error_field(err, 'S');
	return v ? v : "ERROR";
}

const char *
pgembed_error_message(const pgembed_error *err)
{
	const char *v = pgembed_error_field(err, 'M');

	return v ? v : "";
}

void
pgembed_error_free(pgembed_error *err)
{
	if (err == NULL)
		return;
	free(err->owned);
	free(err);
}

/* ------------------------------------------------------------------------
 * Clusters
 * ------------------------------------------------------------------------
 */
int
pgembed_is_cluster(const char *datadir)
{
	char		path[PATH_MAX];
	struct stat st;

	if (datadir == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/PG_VERSION", datadir);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char copy_target[PATH_MAX];
static size_t copy_source_len;
static pthread_mutex_t copy_lock = PTHREAD_MUTEX_INITIALIZER;

static int
copy_entry(const char *src, const struct stat *st, int type, struct FTW *ftw)
{
	char		dst[PATH_MAX];

	(void) ftw;
	/* written last, by pgembed_create_cluster: until then the copy is no cluster */
	if (strcmp(src + copy_source_len, "/PG_VERSION") == 0)
		return 0;
	if (snprintf(dst, sizeof(dst), "%s%s", copy_target, src + copy_source_len) >= (int) sizeof(dst))
	{
		errno = ENAMETOOLONG;
		return -1;
	}
	if (type == FTW_D)
	{
		if (mkdir(dst, 0700) != 0 && errno != EEXIST)
			return -1;
		return 0;
	}
	if (type == FTW_F)
	{
		int			in = open(src, O_RDONLY | O_CLOEXEC);
		int			out;
		char		buf[65536];
		ssize_t		n;

		if (in < 0)
			return -1;
		out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (out < 0)
		{
			close(in);
			return -1;
		}
		/* in the kernel (a reflink where the file system can), else through a buffer */
		n = 0;
		if (st->st_size > 0)
		{
			off_t		left = st->st_size;
			ssize_t		c;

			while (left > 0 && (c = copy_file_range(in, NULL, out, NULL, (size_t) left, 0)) > 0)
				left -= c;
			if (left > 0)
			{
				if (lseek(in, st->st_size - left, SEEK_SET) < 0 || lseek(out, st->st_size - left, SEEK_SET) < 0)
					n = -1;
				while (n >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
				{
					if (write(out, buf, n) != n)
					{
						n = -1;
						break;
					}
				}
			}
		}
		close(in);
		if (close(out) != 0 || n < 0)
			return -1;
		return 0;
	}
	return 0;
}

/* present while a cluster is being created: its remains may be wiped and redone */
#define CREATING_MARKER "pgembed.creating"

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void) st;
	(void) type;
	if (ftw->level == 0)
		return 0;				/* the directory itself stays */
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Copies the template's PG_VERSION into datadir through a rename: the copy becomes a cluster at once. */
static int
write_pg_version(const char *template, const char *datadir)
{
	char		src[PATH_MAX],
				tmp[PATH_MAX],
				dst[PATH_MAX],
				buf[64];
	int			in,
				out;
	ssize_t		n;

	snprintf(src, sizeof(src), "%s/PG_VERSION", template);
	snprintf(tmp, sizeof(tmp), "%s/PG_VERSION.tmp", datadir);
	snprintf(dst, sizeof(dst), "%s/PG_VERSION", datadir);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	n = read(in, buf, sizeof(buf));
	close(in);
	if (n <= 0)
		return -1;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return -1;
	if (write(out, buf, n) != n || close(out) != 0)
		return -1;
	return rename(tmp, dst);
}

int
pgembed_create_cluster(const char *datadir, pgembed_error **error)
{
	char		template[PATH_MAX];
	struct stat st;
	int			rc;

	if (error)
		*error = NULL;
	if (datadir == NULL || datadir[0] == '\0')
	{
		if (error)
			*error = make_error("22023", "ERROR", "no data directory given");
		return -1;
	}
	snprintf(template, sizeof(template), "%s/share/postgresql/pgembed-template", pgembed_install_root());
	if (!pgembed_is_cluster(template))
	{
		if (error)
			*error = make_error("58P01", "ERROR", "the cluster template is missing at \"%s\"", template);
		return -1;
	}
	if (stat(datadir, &st) == 0)
	{
		DIR		   *d;
		struct dirent *de;
		bool		isempty = true;

		if (!S_ISDIR(st.st_mode))
		{
			if (error)
				*error = make_error("58000", "ERROR", "\"%s\" exists and is not a directory", datadir);
			return -1;
		}
		d = opendir(datadir);
		while (d && (de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				isempty = false;
		if (d)
			closedir(d);
		if (!isempty && !pgembed_is_cluster(datadir))
		{
			char		marker[PATH_MAX];

			/* a creation that was interrupted (a killed process): its remains are ours */
			snprintf(marker, sizeof(marker), "%s/" CREATING_MARKER, datadir);
			if (stat(marker, &st) == 0 && S_ISREG(st.st_mode) &&
				nftw(datadir, remove_entry, 32, FTW_DEPTH | FTW_PHYS) == 0)
				isempty = true;
		}
		if (!isempty)
		{
			if (error)
				*error = make_error("58000", "ERROR", pgembed_is_cluster(datadir)
									? "\"%s\" already holds a database cluster"
									: "\"%s\" is not empty and holds no database cluster; refusing to write into it",
									datadir);
			return -1;
		}
		chmod(datadir, 0700);
	}
	else if (mkdir(datadir, 0700) != 0)
	{
		if (error)
			*error = make_error("58000", "ERROR", "could not create \"%s\": %s", datadir, strerror(errno));
		return -1;
	}
	{
		char		marker[PATH_MAX];
		int			fd;

		snprintf(marker, sizeof(marker), "%s/" CREATING_MARKER, datadir);
		fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
		{
			if (error)
				*error = make_error("58000", "ERROR", "could not create \"%s\": %s", marker, strerror(errno));
			return -1;
		}
		close(fd);
	}
	pthread_mutex_lock(&copy_lock);
	snprintf(copy_target, sizeof(copy_target), "%s", datadir);
	copy_source_len = strlen(template);
	rc = nftw(template, copy_entry, 32, FTW_PHYS);
	pthread_mutex_unlock(&copy_lock);
	if (rc == 0)
	{
		/* a template unpacked from an archive may have lost its empty directories */
		static const char *const subdirs[] = {
			"global", "pg_wal", "pg_wal/archive_status", "pg_wal/summaries", "pg_commit_ts",
			"pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_subtrans", "pg_twophase",
			"pg_multixact", "pg_multixact/members", "pg_multixact/offsets", "base", "pg_replslot",
			"pg_tblspc", "pg_stat", "pg_stat_tmp", "pg_xact", "pg_logical", "pg_logical/snapshots",
			"pg_logical/mappings"
		};
		char		path[PATH_MAX];

		for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++)
		{
			snprintf(path, sizeof(path), "%s/%s", datadir, subdirs[i]);
			if (mkdir(path, 0700) != 0 && errno != EEXIST)
			{
				rc = -1;
				break;
			}
		}
	}
	if (rc == 0)
		rc = write_pg_version(template, datadir);
	if (rc != 0)
	{
		if (error)
			*error = make_error("58000", "ERROR", "could not copy the template into \"%s\": %s",
								datadir, strerror(errno));
		return -1;
	}
	{
		char		marker[PATH_MAX];

		snprintf(marker, sizeof(marker), "%s/" CREATING_MARKER, datadir);
		unlink(marker);
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Opening and closing engines
 * ------------------------------------------------------------------------
 */
static int
claim_slot(pgembed_engine *e)
{
	int			slot = -1;

	pthread_mutex_lock(&registry_lock);
	for (int i = 0; i < MAX_ENGINES; i++)
	{
		pgembed_engine *o = slots[i].engine;

		/* after fork() the child inherits the table, not the engines */
		if (o != NULL && o->owner_pid == getpid() && o->dev == e->dev && o->ino == e->ino)
		{
			pthread_mutex_unlock(&registry_lock);
			return -2;
		}
	}
	for (int i = 0; i < MAX_ENGINES; i++)
		if (slots[i].engine == NULL || slots[i].engine->owner_pid != getpid())
		{
			slot = i;
			slots[i].engine = e;
			slots[i].generation++;
			/* the timer thread sleeps while no engine is open */
			pthread_cond_signal(&timer_cond);
			break;
		}
	pthread_mutex_unlock(&registry_lock);
	return slot;
}

static void
free_slot(pgembed_engine *e)
{
	pthread_mutex_lock(&registry_lock);
	if (e->slot >= 0 && slots[e->slot].engine == e)
		slots[e->slot].engine = NULL;
	e->timer_deadline_ns = 0;
	pthread_mutex_unlock(&registry_lock);
}

static void remove_stale_backend_lock(const char *datadir);

/* After the backend ended: release its resources and its copy of the library. */
static void
engine_release(pgembed_engine *e)
{
	if (e->engine_cleanup && e->dl_handle)
		e->engine_cleanup(e);
	free_slot(e);
	if (e->dl_handle)
	{
		/* the engine's cleanup closed the modules it loaded */
		dlclose(e->dl_handle);
		e->dl_handle = NULL;
	}
	e->engine_main = NULL;
	e->engine_wal_status = NULL;
	e->engine_cancel = NULL;
	e->engine_alarm = NULL;
	e->engine_cleanup = NULL;
	if (e->stack)
	{
		munmap(e->stack, e->stack_size);
		e->stack = NULL;
	}
	if (e->peer_fd >= 0)
		close(e->peer_fd);
	if (e->port_fd >= 0)
		close(e->port_fd);
	e->peer_fd = e->port_fd = -1;
	if (e->lock_fd >= 0)
	{
		char		path[PATH_MAX];

		/*
		 * A backend that ended by PANIC (abort) ran no proc_exit callbacks and
		 * left its postmaster.pid; with the flock still ours, it is no one
		 * else's.
		 */
		remove_stale_backend_lock(e->datadir);
		snprintf(path, sizeof(path), "%s/pgembed.lock", e->datadir);
		unlink(path);
		close(e->lock_fd);	/* releases the flock */
		e->lock_fd = -1;
	}
}

static void
engine_free(pgembed_engine *e)
{
	formats_forget_all(e);
	free(e->binary_types);
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

/* A pgembed lock file left by a process that died: our flock proves it is stale. */
static void
remove_stale_backend_lock(const char *datadir)
{
	char		path[PATH_MAX];
	char		buf[32];
	int			fd;
	ssize_t		n;

	snprintf(path, sizeof(path), "%s/postmaster.pid", datadir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* a standalone backend writes its pid negated; a server's is positive */
	if (buf[0] == '-')
		unlink(path);
}

static void *
map_stack(size_t size)
{
	void	   *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* guard page at the low end */
	mprotect(p, 4096, PROT_NONE);
	return p;
}

static void
init_coroutine(pgembed_engine *e)
{
	uintptr_t	top = ((uintptr_t) e->stack + e->stack_size) & ~(uintptr_t) 15;
	uint64_t   *frame = (uint64_t *) (top - 80);
	uint32_t	mxcsr = 0x1F80;
	uint16_t	fpucw = 0x037F;

	memset(frame, 0, 80);
	memcpy(&frame[0], &mxcsr, 4);
	memcpy((char *) &frame[0] + 4, &fpucw, 2);
	frame[1] = 0;				/* r15 */
	frame[2] = 0;				/* r14 */
	frame[3] = (uint64_t) (uintptr_t) e->engine_main;	/* r13 */
	frame[4] = (uint64_t) (uintptr_t) e;	/* r12 */
	frame[5] = 0;				/* rbx */
	frame[6] = 0;				/* rbp */
	frame[7] = (uint64_t) (uintptr_t) pgembed__trampoline;
	e->engine_sp = frame;
}

/* Loads a pristine copy of this library into the slot's namespace. */
static bool
load_engine_copy(pgembed_engine *e)
{
	engine_slot *slot = &slots[e->slot];
	bool		(*is_fresh) (void);

	if (slot->has_namespace)
	{
		e->dl_handle = dlmopen(slot->lmid, self_path(), RTLD_NOW | RTLD_LOCAL);
		if (e->dl_handle != NULL)
		{
			is_fresh = (bool (*) (void)) dlsym(e->dl_handle, "pgembed__engine_is_fresh");
			if (is_fresh != NULL && is_fresh())
			{
				e->lmid = slot->lmid;
				return true;
			}
			/* the previous copy is still loaded: never reuse its state */
			dlclose(e->dl_handle);
			e->dl_handle = NULL;
		}
		slot->has_namespace = false;	/* abandon it */
	}
	e->dl_handle = dlmopen(LM_ID_NEWLM, self_path(), RTLD_NOW | RTLD_LOCAL);
	if (e->dl_handle == NULL)
		return false;
	if (dlinfo(e->dl_handle, RTLD_DI_LMID, &e->lmid) != 0)
		return false;
	slot->lmid = e->lmid;
	slot->libc_pin = dlmopen(e->lmid, "libc.so.6", RTLD_NOLOAD | RTLD_NOW);
	slot->has_namespace = slot->libc_pin != NULL;
	/* generation 0 means "never initialised" in every thread's ctype_ready[] */
	if (++slot->ns_generation == 0)
		slot->ns_generation = 1;
	slot->ctype_init = slot->libc_pin ? (void (*) (void)) dlsym(slot->libc_pin, "__ctype_init") : NULL;
	/* the thread that loaded the namespace had it run by the C library itself */
	ctype_ready[e->slot] = slot->ns_generation;
	if (slot->libc_pin != NULL && slot->ctype_init == NULL)
		return false;
	return true;
}

#define OPEN_FAIL(...) \
	do { \
		if (error) *error = make_error(__VA_ARGS__); \
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
			*error = make_error("22023", "ERROR", "invalid arguments to pgembed_open");
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
	e->auto_maintenance = true;
	e->last_checkpoint_ns = e->last_vacuum_check_ns = e->last_flush_ns = now_ns();
	e->flush_interval_ns = (int64_t) 200 * 1000000;	/* wal_writer_delay's default until the first pass */

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

	slot = claim_slot(e);
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
	remove_stale_backend_lock(real);
	snprintf(path, sizeof(path), "%s/" CREATING_MARKER, real);
	unlink(path);				/* left by a creation killed after it was complete */

	if (!ensure_timer_machinery())
		OPEN_FAIL("58000", "FATAL", "could not start the timer thread");

	if (!load_engine_copy(e))
		OPEN_FAIL("58000", "FATAL", "could not load an engine copy of %s: %s", self_path(), dlerror());
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
	e->stack = map_stack(e->stack_size);
	if (e->stack == NULL)
		OPEN_FAIL("53200", "FATAL", "could not map the engine's stack");
	init_coroutine(e);

	e->state = ENGINE_STARTING;
	pthread_mutex_lock(&e->lock);
	run_engine(e);
	buf = take_output(e, &len);
	r = result_from_messages(buf, len, false);
	pthread_mutex_unlock(&e->lock);
	if (e->state == ENGINE_DEAD || r == NULL || r->has_error)
	{
		if (error)
		{
			if (r && r->has_error)
				*error = copy_error(&r->error);
			else
				*error = make_error("58000", "FATAL", "the engine ended during start-up");
		}
		pgembed_result_free(r);
		if (e->state != ENGINE_DEAD)
		{
			/* should not happen: a start-up error is FATAL */
			e->closing = true;
			run_engine(e);
		}
		engine_release(e);
		engine_free(e);
		return NULL;
	}
	pgembed_result_free(r);
	return e;

fail:
	engine_release(e);
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
			run_engine(e);
		}
		if (e->state != ENGINE_DEAD)
		{
			e->closing = true;
			run_with_input(e, &(pgembed_iov) {terminate, sizeof(terminate)}, 1);
		}
		buf = take_output(e, &len);
		r = result_from_messages(buf, len, false);
		if (r && r->has_error)
		{
			if (error)
				*error = copy_error(&r->error);
			rc = -1;
		}
		pgembed_result_free(r);
		if (e->aborted)
			rc = -1;
	}
	else if (e->aborted)
		rc = -1;				/* it ended by PANIC earlier: say so again */
	if (e->dl_handle != NULL)
		engine_release(e);
	pthread_mutex_unlock(&e->lock);
	engine_free(e);
	return rc;
}

/* Diagnostics for tests: bytes in use in the heap of slot i's namespace (-1: none). */
PGEMBED_EXPORT long pgembed__slot_heap_in_use(int i);
long
pgembed__slot_heap_in_use(int i)
{
	struct mallinfo2 (*mi) (void);

	if (i < 0 || i >= MAX_ENGINES || !slots[i].has_namespace)
		return -1;
	mi = (struct mallinfo2 (*) (void)) dlsym(slots[i].libc_pin, "mallinfo2");
	return mi ? (long) mi().uordblks : -1;
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

void
pgembed_set_default_log_callback(pgembed_log_fn fn, void *context)
{
	pthread_mutex_lock(&registry_lock);
	default_log_fn = fn;
	default_log_context = context;
	pthread_mutex_unlock(&registry_lock);
}

void
pgembed_set_log_callback(pgembed_engine *e, pgembed_log_fn fn, void *context)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->lock);
	e->log_fn = fn;
	e->log_context = context;
	pthread_mutex_unlock(&e->lock);
}
