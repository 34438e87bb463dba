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
 * maintenance that fell due runs there, before the lock goes, and the memory
 * a large call needed is given back.
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
 *		front_leave				- maintenance if due, memory back, then unlock
 *		front_set_mode_after	- the mode a result leaves the engine in
 *------------------------
 */
#include "pgembed_front.h"

#include <stdlib.h>

/* a request buffer larger than this is freed at the end of the call */
#define SCRATCH_KEEP ((size_t) 1 << 20)

/* the engine's heap is trimmed once calls moved this many bytes */
#define TRIM_AFTER_BYTES ((size_t) 16 << 20)

/* routines only used in this file */
static void give_back_memory(pgembed_engine *e);

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
	give_back_memory(e);
	pthread_mutex_unlock(&e->lock);
}

/*
 * After a large call, the memory it needed goes back to the system: the
 * request buffer (kept for the next call while small, but a 100 MB parameter
 * grew it to 100 MB for the engine's lifetime) and the free memory of the
 * engine's heap (front_slot_trim_heap), once enough bytes went through calls
 * for a trim to be worth its cost; a SELECT 1 pays an addition and a compare.
 * Not while a COPY TO STDOUT is under way: its last chunk lives in the
 * request buffer until the next call.
 */
static void
give_back_memory(pgembed_engine *e)
{
	if (e->scratch.cap > SCRATCH_KEEP && e->mode != FRONT_MODE_COPY_OUT)
	{
		free(e->scratch.data);
		e->scratch.data = NULL;
		e->scratch.cap = 0;
		e->scratch.len = 0;
	}
	if (e->bytes_since_trim >= TRIM_AFTER_BYTES && e->mode == FRONT_MODE_IDLE && e->state != ENGINE_DEAD)
	{
		front_slot_trim_heap(e->slot);
		e->bytes_since_trim = 0;
	}
}

/*
 * A COPY started by an extended query leaves the backend in that query until
 * a Sync (its implicit transaction open, and after an error every message
 * skipped until one).  The Sync that followed Execute is read and ignored by
 * COPY FROM STDIN (copyfromparse.c accepts it for libpq's sake); after COPY TO
 * STDOUT it is still to be read; a request that ended with Flush sent none.
 * Whichever way, pgembed_copy_end sends the Sync the COPY still lacks, as
 * libpq's pqEndcopy3 does for a COPY of an extended query.
 */
void
front_set_mode_after(pgembed_engine *e, pgembed_result *r, int request_ended)
{
	if (r == NULL)
		return;
	if (r->status == PGEMBED_COPY_IN)
	{
		e->mode = FRONT_MODE_COPY_IN;
		e->copy_needs_sync = request_ended != FRONT_ENDED_QUERY;
	}
	else if (r->status == PGEMBED_COPY_OUT)
	{
		e->mode = FRONT_MODE_COPY_OUT;
		e->copy_needs_sync = request_ended == FRONT_ENDED_FLUSH;
	}
	else if (r->status == PGEMBED_FATAL)
		e->mode = FRONT_MODE_IDLE;
	if (r->status != PGEMBED_COPY_OUT)
		e->out_yield_at = 0;
}
