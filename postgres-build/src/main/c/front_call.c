/*-------------------------------------------------------------------------
 *
 * front_call.c
 *	  Entering and leaving an API call on an engine.
 *
 * An engine serves one call at a time: a call takes the engine's lock in
 * front_enter and keeps it until front_leave.  Between calls an engine may be
 * in the middle of something (a COPY, a cursor, a protocol client's
 * transaction: pgembed_engine.mode); front_enter refuses a call that does not
 * fit, with SQLSTATE 55000 and the transaction status, and front_set_mode_after
 * records what a result leaves in progress.  front_leave is an idle point:
 * maintenance that fell due runs there, before the lock goes.
 *
 * A call on an engine therefore reads: front_enter, front_msg_* (front_wire.c),
 * front_exchange (front_engine.c), front_set_mode_after, front_leave.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_call.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		front_enter				- lock the engine, or a result that says why not
 *		front_leave				- maintenance if due, then unlock
 *		front_set_mode_after	- the mode a result leaves the engine in
 *------------------------
 */
#include "pgembed_front.h"

pgembed_result *
front_enter(pgembed_engine *e, int allowed_mode)
{
	if (e == NULL)
		return front_result_error(PGEMBED_MISUSE, "55000", "the engine is NULL");
	pthread_mutex_lock(&e->lock);
	/* what the backend writes while idle is for the API from now on */
	front_frame_output(e, false);
	e->idle_raw = false;
	if (e->state == ENGINE_DEAD)
	{
		pgembed_result *last = NULL;

		/*
		 * It ended between calls (a backend of a cluster that was terminated
		 * while idle): its last messages say why, once.
		 */
		if (e->out.len > 0)
		{
			size_t		len;
			char	   *buf = front_take_output(e, &len);

			last = front_result_from_messages(buf, len, false);

			/*
			 * quickdie() says why in a WARNING (57P02, a crash of another
			 * process) before it ends the backend: that is the error
			 */
			if (last != NULL && !last->has_error && last->nnotices > 0)
			{
				last->error = last->notices[last->nnotices - 1];
				last->has_error = true;
			}
			if (last != NULL && last->has_error)
			{
				last->status = PGEMBED_FATAL;
				last->tx_status = PGEMBED_TX_CLOSED;
			}
			else
			{
				pgembed_result_free(last);
				last = NULL;
			}
		}
		pthread_mutex_unlock(&e->lock);
		return last ? last : front_result_error(PGEMBED_FATAL, "08003", "the engine has ended; open the database again");
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
			refusal = front_result_error(PGEMBED_MISUSE, "55000",
										 "%s is in progress on this engine; finish it first", names[mode]);

		else
			refusal = front_result_error(PGEMBED_MISUSE, "55000", "no %s is in progress on this engine",
										 names[allowed_mode] + 2);

		if (refusal)
			refusal   ->tx_status = tx;
		return refusal;
	}
	e->scratch.len = 0;
	return NULL;
}

void
front_leave(pgembed_engine *e)
{
	front_maintain_if_due(e);
	pthread_mutex_unlock(&e->lock);
}

void
front_set_mode_after(pgembed_engine *e, pgembed_result *r)
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
