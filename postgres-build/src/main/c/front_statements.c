/*-------------------------------------------------------------------------
 *
 * front_statements.c
 *	  Running statements: the simple and the extended query protocol for a
 *	  statement run once, and cursors.
 *
 * PGEMBED_FORMAT_AUTO asks for binary results of the types whose binary form
 * the readers decode directly (is_binary_friendly in front_wire.c: built-in
 * ones, and the extension types named by pgembed_set_binary_types), so a call
 * must know the result's columns before it binds.  pgembed_exec_params and
 * pgembed_cursor_open therefore describe the statement first (Parse, Describe,
 * Flush: one more run of the engine); a prepared statement keeps its
 * description instead (front_prepared.c).  pgembed_exec has text results and
 * no such step.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_statements.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 * statements:
 *		pgembed_exec			- one or more statements, simple query protocol
 *		pgembed_exec_params		- one statement with parameters
 *		front_too_many_params	- the refusal of a statement the protocol cannot count
 *		front_finish_with_sync	- ends an extended query that ended with Flush
 *
 * cursors:
 *		pgembed_cursor_open, pgembed_cursor_fetch, pgembed_cursor_close
 *------------------------
 */
#include "pgembed_front.h"

#include <stdlib.h>

/* routines only used in this file */
static pgembed_result *cursor_finish(pgembed_engine *e, pgembed_result *partial);

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
		front_set_mode_after(e, r, FRONT_ENDED_QUERY);
	}
	front_leave(e);
	return r;
}

/*
 * The refusal of a statement with more parameters than the protocol can
 * count: nothing is sent, so an open transaction is not affected (as with
 * libpq, which refuses it before sending).
 */
pgembed_result *
front_too_many_params(int nparams)
{
	return front_result_error(PGEMBED_MISUSE, "54000",
							  "too many parameters: %d, a statement can have at most %d"
							  " (pass an array instead, as in = ANY($1), or use COPY)",
							  nparams, MAX_PARAMS);
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

/*
 * The backend is in an extended query that ended with Flush (a failed
 * Parse/Describe, a cursor that finished, a COPY of a cursor): a Sync ends it
 * (its implicit transaction, or the skipping after an error) so that the
 * backend is idle again.  The partial result gets the transaction status.
 */
pgembed_result *
front_finish_with_sync(pgembed_engine *e, pgembed_result *partial)
{
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
	if (nparams > MAX_PARAMS)
		return front_too_many_params(nparams);
	if ((r = front_enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	if (result_format == PGEMBED_FORMAT_AUTO)
	{
		desc = describe_unnamed(e, sql, nparams, types);
		if (desc == NULL || desc->status == PGEMBED_ERROR || desc->status == PGEMBED_FATAL)
		{
			if (desc && desc->status == PGEMBED_ERROR)
				desc = front_finish_with_sync(e, desc);
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
	front_set_mode_after(e, r, FRONT_ENDED_SYNC);
	front_leave(e);
	return r;
}

/* ------------------------------------------------------------------------
 * Cursors: a portal executed N rows at a time, flushed rather than synced
 * ------------------------------------------------------------------------
 */
#define CURSOR_PORTAL "pgembed_cursor"

/*
 * Ends a cursor whose rows are all fetched (or whose statement failed):
 * Close, then Sync.  The Sync alone ends the portal only with the implicit
 * transaction; in a transaction block the exhausted portal stayed, and the
 * next cursor's Bind failed with 42P03 (cursor "pgembed_cursor" already
 * exists).  After an error the backend skips the Close until the Sync, and
 * closing a portal that does not exist is no error.
 */
static pgembed_result *
cursor_finish(pgembed_engine *e, pgembed_result *partial)
{
	pgembed_result *r;

	e->scratch.len = 0;
	if (!(front_msg_close(e, 'P', CURSOR_PORTAL) && front_msg_simple(e, 'S')))
		return partial;
	r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	if (partial != NULL && r != NULL)
		partial->tx_status = r->tx_status;
	pgembed_result_free(r);
	return partial;
}

pgembed_result *
pgembed_cursor_open(pgembed_engine *e, const char *sql, int nparams, const uint32_t *types,
					const char *const *values, const int32_t *lengths, const int32_t *formats,
					int result_format, int64_t fetch_rows)
{
	pgembed_result *r,
			   *desc;

	if (sql == NULL || nparams < 0 || fetch_rows <= 0 || fetch_rows > INT32_MAX)
		return front_result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if (nparams > MAX_PARAMS)
		return front_too_many_params(nparams);
	if ((r = front_enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	desc = describe_unnamed(e, sql, nparams, types);
	if (desc == NULL || desc->status == PGEMBED_ERROR || desc->status == PGEMBED_FATAL)
	{
		if (desc && desc->status == PGEMBED_ERROR)
			desc = front_finish_with_sync(e, desc);
		front_leave(e);
		return desc ? desc : front_oom();
	}
	e->scratch.len = 0;

	/*
	 * A portal of that name left by an earlier cursor (a COPY through a
	 * cursor, ended in a transaction block) would fail the Bind: close it
	 * first (no error when there is none; no cursor is open here).
	 */
	if (!(front_msg_close(e, 'P', CURSOR_PORTAL) &&
		  front_msg_bind(e, CURSOR_PORTAL, "", nparams, values, lengths, formats, result_format, desc) &&
		  front_msg_describe(e, 'P', CURSOR_PORTAL) && front_msg_execute(e, CURSOR_PORTAL, (int32_t) fetch_rows) &&
		  front_msg_simple(e, 'H')))
		r = front_oom();
	else
	{
		e->out_yield_at = COPY_OUT_CHUNK;
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	}
	pgembed_result_free(desc);
	if (r && r->status == PGEMBED_SUSPENDED)
	{
		e->mode = FRONT_MODE_CURSOR;
	}
	else if (r && (r->status == PGEMBED_COPY_IN || r->status == PGEMBED_COPY_OUT))
	{
		/* the statement was a COPY: its data and end go as after pgembed_exec */
	}
	else if (r && r->status != PGEMBED_FATAL)
	{
		/*
		 * done in one go (or failed): the portal goes, and the implicit
		 * transaction ends
		 */
		r = cursor_finish(e, r);
	}
	front_set_mode_after(e, r, FRONT_ENDED_FLUSH);
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
			r = cursor_finish(e, r);
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
