/*-------------------------------------------------------------------------
 *
 * front_protocol.c
 *	  The protocol itself: a client's own frontend/backend messages, passed to
 *	  the backend and back unchanged.
 *
 * The JDBC driver and serve mode (dev.pgembed.jdbc's WireSession) speak the
 * protocol themselves.  This door gives the backend their bytes and returns
 * its messages exactly as they would cross a socket (raw_framing: no trailing
 * NUL, no result made of them), in chunks of PROTOCOL_OUT_CHUNK: a backend
 * with more to say pauses there until the caller asks again.  While a client
 * leaves the backend anywhere but idle outside a transaction, the engine is in
 * FRONT_MODE_PROTOCOL and the other calls are refused.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_protocol.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		pgembed_protocol_exchange	- a client's bytes in, the backend's messages out
 *								  (a backend of a cluster: up to each notice)
 *		pgembed_wait_output		- wait for what a backend writes while idle
 *		pgembed_backend_pid		- the pid BackendKeyData reports
 *------------------------
 */
#include "pgembed_front.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define PROTOCOL_OUT_CHUNK (1u << 20)

/* routines only used in this file */
static void run_client_input(pgembed_engine *e, const char *in, size_t in_length);
static bool keep_unread_input(pgembed_engine *e);

/* the backend's output becomes the caller's until the next call (raw_out) */
static void
take_raw_output(pgembed_engine *e, const char **out, size_t *out_length)
{
	free(e->raw_out.data);
	e->raw_out = e->out;
	e->out.data = NULL;
	e->out.len = e->out.cap = 0;
	e->out_flushed = 0;
	*out = e->raw_out.data ? e->raw_out.data : "";
	*out_length = e->raw_out.len;
}

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
	/* the previous output is released only now: the caller read it meanwhile */
	done = e->raw_out;
	e->raw_out.data = NULL;
	e->raw_out.len = e->raw_out.cap = 0;
	free(done.data);

	/*
	 * what the backend wrote while idle, and writes while idle from now on,
	 * is the client's
	 */
	front_frame_output(e, true);
	e->idle_raw = true;
	if (e->state == ENGINE_DEAD)
	{
		/*
		 * It ended between calls (a backend of a cluster terminated while
		 * idle): its last messages, once.
		 */
		take_raw_output(e, out, out_length);
		pthread_mutex_unlock(&e->lock);
		return -1;
	}
	if ((mode != FRONT_MODE_IDLE && mode != FRONT_MODE_PROTOCOL) || (e->out_yielded && in_length > 0))
	{
		pthread_mutex_unlock(&e->lock);
		return -1;
	}

	e->raw_framing = true;
	e->out_yield_at = PROTOCOL_OUT_CHUNK;

	/*
	 * a batch of one INSERT or keyed UPDATE runs on the direct path when it
	 * can
	 */
	if (in_length == 0 || !front_protocol_batch(e, in, in_length))
		run_client_input(e, in, in_length);
	e->raw_framing = false;
	e->out_yield_at = 0;
	take_raw_output(e, out, out_length);

	/*
	 * idle only right after ReadyForQuery outside a transaction, or still
	 * idle after a call with no input that only collected what the backend
	 * wrote while idle
	 */
	idle = !e->out_yielded && e->tx_status == PGEMBED_TX_IDLE &&
		((e->raw_out.len >= 6 && e->raw_out.data[e->raw_out.len - 6] == 'Z') ||
		 (in_length == 0 && mode == FRONT_MODE_IDLE));
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

/*
 * Runs the backend on the client's bytes (none: resumes it where it paused).
 * A backend of a cluster hands out what it wrote as soon as it flushes a
 * notice (pause_at_notice, see the engine's embed_flush), as a server's
 * send_message_to_frontend flushes it to the socket: a client reads the
 * NOTICE of a statement that then waits for a lock before the statement ends,
 * as isolationtester's specs expect.  A single-backend engine runs as before:
 * its one session cannot wait for another's lock.  What the backend had not
 * read of the input when it paused is kept for the call that resumes it.
 */
static void
run_client_input(pgembed_engine *e, const char *in, size_t in_length)
{
	if (in_length > 0)
	{
		e->in[0].data = in;
		e->in[0].len = in_length;
		e->nin = 1;
		e->in_index = 0;
		e->in_pos = 0;
	}
	/* what the backend wrote while idle is no notice of this call's */
	e->out_flushed = e->out.len;
	e->pause_at_notice = e->cluster != NULL;
	front_run_engine(e);
	while (e->paused_at_notice && e->state != ENGINE_DEAD && !keep_unread_input(e))
	{
		/* no memory to keep the input in: go on as if it had not paused */
		e->pause_at_notice = false;
		front_run_engine(e);
	}
	e->pause_at_notice = false;
	if (!e->paused_at_notice || e->state == ENGINE_DEAD)
	{
		/* read to the end (or dropped at a COPY's pause, as before) */
		e->nin = 0;
		free(e->in_kept.data);
		e->in_kept.data = NULL;
		e->in_kept.len = e->in_kept.cap = 0;
	}
}

/*
 * The backend paused at a notice: the input it has not read yet moves into
 * e->in_kept, unless it is there already.  False when memory runs out.
 */
static bool
keep_unread_input(pgembed_engine *e)
{
	pgembed_buf kept = {0};
	size_t		rest;

	if (e->in_index >= e->nin)
	{
		e->nin = 0;
		return true;
	}
	if (e->in_kept.data != NULL && e->in[e->in_index].data == e->in_kept.data)
		return true;			/* resumed on kept input: it stays */
	rest = e->in[e->in_index].len - e->in_pos;
	if (!pgembed_buf_reserve(e, &kept, rest))
		return false;
	memcpy(kept.data, e->in[e->in_index].data + e->in_pos, rest);
	kept.len = rest;
	free(e->in_kept.data);
	e->in_kept = kept;
	e->in[0].data = kept.data;
	e->in[0].len = rest;
	e->nin = 1;
	e->in_index = 0;
	e->in_pos = 0;
	return true;
}

int
pgembed_wait_output(pgembed_engine *e, int timeout_ms)
{
	struct timespec deadline;
	int			rc = 0;

	if (e == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms > 0)
	{
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000)
		{
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&e->lock);
	for (;;)
	{
		if (e->out.len > 0)
		{
			rc = 1;
			break;
		}
		if (e->state == ENGINE_DEAD)
		{
			rc = -1;
			break;
		}
		if (timeout_ms == 0)
			break;
		if (timeout_ms < 0)
			pthread_cond_wait(&e->output_ready, &e->lock);
		else if (pthread_cond_timedwait(&e->output_ready, &e->lock, &deadline) == ETIMEDOUT)
		{
			rc = e->out.len > 0 ? 1 : e->state == ENGINE_DEAD ? -1 : 0;
			break;
		}
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

int32_t
pgembed_backend_pid(pgembed_engine *e)
{
	/*
	 * a backend of a cluster has a virtual pid; a single-backend engine the
	 * process's
	 */
	if (e != NULL && e->vpid != 0)
		return e->vpid;
	return (int32_t) getpid();
}
