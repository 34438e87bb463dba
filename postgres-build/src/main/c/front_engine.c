/*-------------------------------------------------------------------------
 *
 * front_engine.c
 *	  Running an engine: the switch onto its stack and back, one exchange of
 *	  messages, its log lines, and its end.
 *
 * An engine's backend runs on a stack of its own, entered on the calling
 * thread by pgembed__switch (pgembed_switch.S), and hands control back when
 * it waits for input (its recv() yields through front_yield) or ends.  One
 * exchange gives the backend a request, runs it until it waits again and
 * makes a result of what it wrote.  The caller holds the engine's lock.
 *
 * Log lines the backend wrote meanwhile reach the host after the switch back,
 * on the calling thread: through the engine's callback, else the default one,
 * else standard error.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_engine.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 * running:
 *		front_run_engine		- run until the backend waits for input or ends
 *		front_switch_into		- the switch itself, on this thread
 *		front_run_with_input	- the same, with request bytes to read
 *		front_take_output		- hand what the backend wrote to the caller
 *		front_frame_output		- the framing of output not handed out yet
 *		front_exchange			- one request, one result
 *		front_yield				- the engine's way back to the caller
 *
 * the engine's stack:
 *		front_map_stack			- a stack with a guard page
 *		front_init_coroutine	- the first frame, that enters the backend
 *
 * the end:
 *		front_engine_release	- release an ended backend and its copy of the library
 *		front_remove_stale_backend_lock	- postmaster.pid of a backend that died
 *
 * log lines:
 *		front_log_line			- one line, to the engine's or the default callback
 *		pgembed_set_default_log_callback, pgembed_set_log_callback
 *------------------------
 */
#include "pgembed_front.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* the engine this thread is inside, if any: the timer signal handler asks */
__thread pgembed_engine *front_current_engine;

/* where the log lines of an engine without a callback of its own go */
static pgembed_log_fn default_log_fn;
static void *default_log_context;

/* ------------------------------------------------------------------------
 * Running the engine
 * ------------------------------------------------------------------------
 */
void
front_yield(pgembed_engine *e)
{
	pgembed__switch(&e->engine_sp, e->front_sp);
}

/* One server log line: to fn, else to the default callback, else to standard error. */
void
front_log_line(pgembed_log_fn fn, void *context, int elevel, const char *line)
{
	if (fn)
		fn(context, elevel, line);
	else if (default_log_fn)
		default_log_fn(default_log_context, elevel, line);
	else
		fprintf(stderr, "pgembed: %s\n", line);
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
		front_log_line(e->log_fn, e->log_context, elevel, line);
		pos += sizeof(int32_t) + strlen(line) + 1;
	}
	e->logbuf.len = 0;
}

/*
 * Switches onto the engine's stack on this thread, until it switches back.
 * Caller holds e->lock.
 */
void
front_switch_into(pgembed_engine *e)
{
	pgembed_engine *outer = front_current_engine;

	if (e->slot >= 0 && front_ctype_ready[e->slot] != front_slots[e->slot].ns_generation)
	{
		if (front_slots[e->slot].ctype_init != NULL)
			front_slots[e->slot].ctype_init();
		front_ctype_ready[e->slot] = front_slots[e->slot].ns_generation;
	}
	e->running_thread = pthread_self();
	front_current_engine = e;

	/*
	 * Release: a thread that sees running set (the timer thread, a signal's
	 * sender) also sees running_thread.  On a weakly ordered processor
	 * (aarch64) two plain stores may become visible in either order; x86's
	 * total store order hid that.
	 */
	__atomic_store_n(&e->running, 1, __ATOMIC_RELEASE);
	pgembed__switch(&e->front_sp, e->engine_sp);
	__atomic_store_n(&e->running, 0, __ATOMIC_RELEASE);
	front_current_engine = outer;
}

/*
 * Runs the engine until it waits for input (or dies): on this thread, or on
 * its slot's carrier when this thread is beyond the namespace's budget of
 * host threads (front_carrier.c).  Caller holds e->lock.
 */
void
front_run_engine(pgembed_engine *e)
{
	if (front_current_engine == NULL && front_carrier_needed(e))
		front_carrier_run(e);
	else
		front_switch_into(e);
	if (e->logbuf.len > 0)
		flush_log(e);
	if (e->state == ENGINE_DEAD && e->dl_handle != NULL)
	{
		/* a process of a cluster: its postmaster learns of its end */
		if (e->on_end != NULL)
			e->on_end(e);
		else
			front_engine_release(e);
	}
}

/* Gives the backend these input segments (none: just resume it) and runs it. */
void
front_run_with_input(pgembed_engine *e, const pgembed_iov *segs, int nsegs)
{
	if (nsegs > 0)
	{
		memcpy(e->in, segs, sizeof(pgembed_iov) * nsegs);
		e->nin = nsegs;
		e->in_index = 0;
		e->in_pos = 0;
	}
	front_run_engine(e);
	e->nin = 0;
}

/* hands the collected messages to the caller and starts a new buffer */
char *
front_take_output(pgembed_engine *e, size_t *len)
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

/*
 * Output the backend wrote while parked (a cluster's service thread resumed
 * it: a notification, its FATAL) waits in e->out for the next call, framed as
 * the previous call wanted it.  The next call may want the other framing: a
 * protocol client the messages as on the wire (raw), the API a NUL after each
 * (so that values can be terminated in place).  Caller holds e->lock.
 */
void
front_frame_output(pgembed_engine *e, bool raw)
{
	pgembed_buf conv = {0};
	size_t		pos = 0;
	bool		ok = true;

	if (e->out.len == 0 || e->out_raw == raw)
	{
		e->out_raw = raw;
		return;
	}
	while (ok && pos + 5 <= e->out.len)
	{
		size_t		n = 1 + (size_t) rd32(e->out.data + pos + 1);

		if (pos + n > e->out.len || n < 5)
			break;				/* cannot happen: the backend wrote whole
								 * messages */
		ok = pgembed_buf_reserve(e, &conv, n + 1);
		if (ok)
		{
			memcpy(conv.data + conv.len, e->out.data + pos, n);
			conv.len += n;
			if (!raw)
				conv.data[conv.len++] = '\0';
		}
		pos += n + (raw ? 1 : 0);
	}
	if (!ok)
	{
		free(conv.data);
		return;					/* out of memory: the messages stay as they
								 * are */
	}
	free(e->out.data);
	e->out = conv;
	e->out_raw = raw;
}

pgembed_result *
front_exchange(pgembed_engine *e, const char *request, size_t len, bool batch)
{
	pgembed_iov input = {request, len};
	char	   *buf;
	size_t		buflen;
	pgembed_result *r;

	front_frame_output(e, false);
	front_run_with_input(e, &input, 1);
	buf = front_take_output(e, &buflen);
	e->bytes_since_trim += len + buflen;
	r = front_result_from_messages(buf, buflen, batch);
	if (r == NULL)
		return NULL;
	if (!r->saw_ready)
		r->tx_status = e->tx_status;	/* mid-COPY or mid-cursor: the
										 * engine's status */
	if (e->state == ENGINE_DEAD)
	{
		r->status = PGEMBED_FATAL;
		r->tx_status = PGEMBED_TX_CLOSED;

		/*
		 * A backend of a cluster that a crash restart ended while it ran:
		 * quickdie() says why in a WARNING (57P02) before its _exit(2), which
		 * is no abort of this engine.  That is the error, as for a backend
		 * that ended between calls (front_enter).
		 */
		if (!r->has_error && r->nnotices > 0 &&
			strncmp(pgembed_error_sqlstate(&r->notices[r->nnotices - 1]), "57P", 3) == 0)
		{
			r->error = r->notices[r->nnotices - 1];
			r->has_error = true;
		}
		if (!r->has_error)
		{
			pgembed_error *err = front_make_error("57P01", "FATAL",
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
 * The engine's stack
 * ------------------------------------------------------------------------
 */
void *
front_map_stack(size_t size)
{
	void	   *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* guard page at the low end */
	mprotect(p, 4096, PROT_NONE);
	return p;
}

void
front_init_coroutine(pgembed_engine *e)
{
	e->engine_sp = front_coroutine_frame(e->stack, e->stack_size,
										 (void (*) (void *)) e->engine_main, e);
}

/* ------------------------------------------------------------------------
 * Ending an engine
 * ------------------------------------------------------------------------
 */
/* After the backend ended: release its resources and its copy of the library. */
void
front_engine_release(pgembed_engine *e)
{
	if (e->engine_cleanup && e->dl_handle)
		e->engine_cleanup(e);
	front_free_slot(e);
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
	e->engine_signal = NULL;
	e->engine_wakeup = NULL;
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
		 * A backend that ended by PANIC (abort) ran no proc_exit callbacks
		 * and left its postmaster.pid; with the flock still ours, it is no
		 * one else's.
		 */
		front_remove_stale_backend_lock(e->datadir);
		snprintf(path, sizeof(path), "%s/pgembed.lock", e->datadir);
		unlink(path);
		close(e->lock_fd);		/* releases the flock */
		e->lock_fd = -1;
	}
}

/* A pgembed lock file left by a process that died: our flock proves it is stale. */
void
front_remove_stale_backend_lock(const char *datadir)
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
	if (n < 0)
		return;
	buf[n] = '\0';

	/*
	 * a standalone backend writes its pid negated; a server's is positive. An
	 * empty file is what a crash between its creation and its first write
	 * leaves, or a power loss (engines do not fsync it, engine_files.c):
	 * PostgreSQL would refuse to start ("lock file is empty").
	 */
	if (n == 0 || buf[0] == '-')
		unlink(path);
}

/* ------------------------------------------------------------------------
 * Log callbacks
 * ------------------------------------------------------------------------
 */
void
pgembed_set_default_log_callback(pgembed_log_fn fn, void *context)
{
	pthread_mutex_lock(&front_registry_lock);
	default_log_fn = fn;
	default_log_context = context;
	pthread_mutex_unlock(&front_registry_lock);
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
