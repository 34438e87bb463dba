/*-------------------------------------------------------------------------
 *
 * front_copy.c
 *	  COPY FROM STDIN and COPY TO STDOUT: data streamed into and out of an
 *	  engine between the statement and its end.
 *
 * A COPY statement leaves the engine in FRONT_MODE_COPY_IN or _OUT
 * (front_set_mode_after).  In, the caller's data goes to the backend as it is,
 * behind a CopyData header, without a copy.  Out, the backend pauses whenever
 * it has a chunk of data to hand out (out_yield_at, set when the statement was
 * sent), and pgembed_copy_get compacts the CopyData payloads of the buffer
 * into one chunk in place.  pgembed_copy_end finishes either direction and
 * returns the statement's result.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_copy.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		pgembed_copy_put		- data for COPY FROM STDIN
 *		pgembed_copy_get		- the next chunk of COPY TO STDOUT
 *		pgembed_copy_end		- finish (or abort) the COPY: its result
 *------------------------
 */
#include "pgembed_front.h"

#include <stdlib.h>

int
pgembed_copy_put(pgembed_engine *e, const char *data, size_t length)
{
	pgembed_result *r;
	uint32_t	n;
	char		header[5];

	if (data == NULL && length > 0)
		return -1;
	if ((r = front_enter(e, FRONT_MODE_COPY_IN)) != NULL)
	{
		pgembed_result_free(r);
		return -1;
	}
	while (length > 0)
	{
		size_t		chunk = length > (1u << 30) ? (1u << 30) : length;
		pgembed_iov segs[2];

		header[0] = 'd';
		n = htonl((uint32_t) chunk + 4);
		memcpy(header + 1, &n, 4);

		/*
		 * the caller's data goes to the backend as it is, behind a CopyData
		 * header
		 */
		segs[0].data = header;
		segs[0].len = 5;
		segs[1].data = data;
		segs[1].len = chunk;
		front_run_with_input(e, segs, 2);
		data += chunk;
		length -= chunk;
		if (e->state == ENGINE_DEAD)
			break;
	}
	front_leave(e);
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
	if ((r = front_enter(e, FRONT_MODE_COPY_OUT)) != NULL)
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
				/*
				 * a notice raised while COPY produces data (a trigger): not
				 * the end
				 */
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
			/*
			 * keep what follows the data (CopyDone, CommandComplete, ...) for
			 * copy_end
			 */
			if (rest != NULL)
			{
				size_t		restlen = end - rest;

				e->scratch.len = 0;
				if (pgembed_buf_reserve(e, &e->scratch, n + restlen))
				{
					memcpy(e->scratch.data, e->out.data, n);
					memmove(e->out.data, rest, restlen);
					e->out.len = restlen;

					/*
					 * hand the chunk out from scratch, which lives until the
					 * next call
					 */
					*data = e->scratch.data;
					front_leave(e);
					return n;
				}
			}
			e->out.len = 0;
			/* the chunk sits at the start of out.data until the next call */
			*data = e->out.data;
			front_leave(e);
			return n;
		}
		if (rest != NULL || !e->out_yielded)
		{
			/* no more data: the backend finished the COPY */
			front_leave(e);
			return e->state == ENGINE_DEAD ? -1 : 0;
		}
		/* the backend stopped to hand out data: let it continue */
		e->out.len = 0;
		front_run_engine(e);
		if (e->state == ENGINE_DEAD && e->out.len == 0)
		{
			front_leave(e);
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
		return front_result_error(PGEMBED_MISUSE, "55000", "the engine is NULL");
	pthread_mutex_lock(&e->lock);
	mode = e->mode;
	pthread_mutex_unlock(&e->lock);
	if (mode != FRONT_MODE_COPY_IN && mode != FRONT_MODE_COPY_OUT)
		return front_result_error(PGEMBED_MISUSE, "55000", "no COPY is in progress on this engine");
	if ((r = front_enter(e, mode)) != NULL)
		return r;
	if (mode == FRONT_MODE_COPY_IN)
	{
		size_t		s;
		bool		ok;

		if (errmsg != NULL)
			ok = front_msg_begin(e, 'f', &s) && front_msg_str(e, errmsg);
		else
			ok = front_msg_begin(e, 'c', &s);
		if (ok)
			front_msg_end(e, s);
		/* a COPY of an extended query: end that query too (front_call.c) */
		if (ok && e->copy_needs_sync)
			ok = front_msg_simple(e, 'S');
		r = ok ? front_exchange(e, e->scratch.data, e->scratch.len, false) : front_oom();
	}
	else
	{
		/* drain what is left of the data, then read the final messages */
		char	   *buf;
		size_t		len;

		/*
		 * Aborted: a backend paused before the end of its data fails the COPY
		 * where it stands (57014), before the statement does more.
		 */
		if (errmsg != NULL)
			e->copy_out_abort = errmsg;
		while (e->out_yielded && e->state != ENGINE_DEAD)
		{
			e->out.len = 0;
			front_run_engine(e);
		}
		e->copy_out_abort = NULL;
		buf = front_take_output(e, &len);
		r = front_result_from_messages(buf, len, false);
		if (r && e->state == ENGINE_DEAD)
			r->status = PGEMBED_FATAL;
		else if (r && e->copy_needs_sync)
			r = front_finish_with_sync(e, r);
	}
	e->mode = FRONT_MODE_IDLE;
	e->copy_needs_sync = false;
	e->out_yield_at = 0;
	front_leave(e);
	return r;
}
