/*-------------------------------------------------------------------------
 *
 * front_statements.c
 *	  Running statements: the simple and the extended query protocol,
 *	  prepared statements with their result formats kept, and cursors.
 *
 * PGEMBED_FORMAT_AUTO asks for binary results of the types whose binary form
 * the readers decode directly (is_binary_friendly in front_wire.c: built-in
 * ones, and the extension types named by pgembed_set_binary_types), so a call
 * must know the result's columns before it binds.  pgembed_exec_params and
 * pgembed_cursor_open therefore describe the statement first (Parse, Describe,
 * Flush: one more run of the engine), whereas a prepared statement's
 * description is kept from pgembed_prepare on (stmt_formats), so that
 * executing it takes one run.  pgembed_exec has text results and no such
 * step.
 *
 * A prepared statement runs on the direct path when it can (engine_direct.c):
 * the request goes to the engine as a struct, beside a Flush and a Sync
 * message instead of Bind, Describe and Execute; the engine answers with the
 * same messages as a portal would.  A statement the engine leaves to the
 * protocol (a utility statement) is marked, and takes the protocol from then
 * on.
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
 *
 * prepared statements:
 *		pgembed_prepare			- a named statement (and its result formats)
 *		pgembed_describe_prepared	- its parameter and result description
 *		pgembed_exec_prepared	- one execution
 *		pgembed_exec_prepared_batch	- one execution per set of parameters, one sync
 *		pgembed_deallocate		- the statement and its kept formats go
 *		front_formats_forget_all	- an engine's kept formats go (at its end)
 *
 * result formats:
 *		pgembed_set_binary_types	- extension types AUTO fetches in binary too
 *
 * cursors:
 *		pgembed_cursor_open, pgembed_cursor_fetch, pgembed_cursor_close
 *------------------------
 */
#include "pgembed_front.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define COPY_OUT_CHUNK (256u << 10)

/*
 * The protocol counts a statement's parameters in 16 bits (Parse, Bind): a
 * larger count would wrap and reach the backend as a malformed message.
 */
#define MAX_PARAMS 65535

/* the message with which a batch stops a COPY it started (it finds the error by it) */
#define BATCH_COPY_REFUSED "pgembed: COPY cannot run in a batch"

/* routines only used in this file */
struct pgembed_stmt_formats;
static pgembed_result *exec_direct(pgembed_engine *e, pgembed_direct *req, bool batch,
								   const char *rowdesc, size_t rowdesc_len);
static char *auto_rowdesc(pgembed_engine *e, const pgembed_result *desc,
						  size_t *len);
static bool direct_refused(pgembed_engine *e, const char *name);
static void direct_refuse(pgembed_engine *e, const char *name);
static void direct_unrefuse(pgembed_engine *e, const char *name);
static void formats_forget(pgembed_engine *e, const char *name);
static void formats_remember(pgembed_engine *e, const char *name, pgembed_result *desc);
static pgembed_result *describe_for_formats(pgembed_engine *e, const char *name);
static pgembed_result *copy_description(const pgembed_result *r);
static pgembed_result *refuse_copy_in_batch(pgembed_result *r);
static pgembed_result *too_many_params(int nparams);
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
static pgembed_result *
too_many_params(int nparams)
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
		return too_many_params(nparams);
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

pgembed_result *
pgembed_prepare(pgembed_engine *e, const char *name, const char *sql, int nparams, const uint32_t *types)
{
	pgembed_result *r;

	if (name == NULL || sql == NULL || nparams < 0)
		return front_result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if (nparams > MAX_PARAMS)
		return too_many_params(nparams);
	if ((r = front_enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	if (!(front_msg_parse(e, name, sql, nparams, types) && front_msg_describe(e, 'S', name) && front_msg_simple(e, 'S')))
		r = front_oom();
	else
	{
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
		formats_forget(e, name);
		direct_unrefuse(e, name);
		if (r != NULL && r->status != PGEMBED_ERROR && r->status != PGEMBED_FATAL && name[0] != '\0')
			formats_remember(e, name, copy_description(r));
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
	char	   *rowdesc;		/* the RowDescription (or NoData) an execution
								 * with these formats has, as the engine
								 * frames it; NULL when none was made */
	size_t		rowdesc_len;
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
		free(f->rowdesc);
		pgembed_result_free(f->desc);
		free(f);
	}
}

void
front_formats_forget_all(pgembed_engine *e)
{
	while (e->stmt_formats !=NULL)
		formats_forget(e, e->stmt_formats->name);
	direct_unrefuse(e, NULL);
}

static void
formats_remember(pgembed_engine *e, const char *name, pgembed_result *desc)
{
	stmt_formats *f;

	formats_forget(e, name);
	if (desc == NULL)
		return;					/* out of memory: described again when run */
	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->name = strdup(name)) == NULL)
	{
		free(f);
		pgembed_result_free(desc);
		return;
	}
	f->desc = desc;
	f->rowdesc = auto_rowdesc(e, desc, &f->rowdesc_len);
	f->next = e->stmt_formats;
	e->stmt_formats = f;
}

/*
 * The description a Parse/Describe/Sync returned, once more for the cache: its
 * messages (no rows) indexed afresh.  A second Describe would leave the
 * backend in an extended query, and the transaction Describe starts open,
 * until the next call's Sync.
 */
static pgembed_result *
copy_description(const pgembed_result *r)
{
	char	   *buf = malloc(r->buflen > 0 ? r->buflen : 1);

	if (buf == NULL)
		return NULL;
	memcpy(buf, r->buf, r->buflen);
	return front_result_from_messages(buf, r->buflen, false);
}

/*
 * The description a portal of the statement has under PGEMBED_FORMAT_AUTO:
 * the statement's RowDescription with each column's format code set as Bind
 * asked for it, or its NoData, with the engine's trailing NUL.  The direct
 * path puts it ahead of the rows instead of having the backend build it
 * again for every execution.  NULL when the description has neither.
 */
static char *
auto_rowdesc(pgembed_engine *e, const pgembed_result *desc, size_t *len)
{
	for (const char *m = desc->buf; m < desc->buf + desc->buflen; m = MSG_NEXT(m))
	{
		char	   *copy;
		char	   *p;
		int			n;

		if (MSG_TYPE(m) != 'T' && MSG_TYPE(m) != 'n')
			continue;
		*len = MSG_PAYLOAD_LEN(m) + 6;
		copy = malloc(*len);
		if (copy == NULL)
			return NULL;
		memcpy(copy, m, *len);
		if (MSG_TYPE(m) == 'n')
			return copy;
		p = copy + 5;
		n = rd16(p);
		p += 2;
		for (int i = 0; i < n; i++)
		{
			uint16_t	format;
			uint32_t	type;

			p += strlen(p) + 1 + 4 + 2; /* name, table OID, column number */
			type = rd32(p);
			p += 4 + 2 + 4;		/* type OID, length, typmod */
			format = htons(front_is_binary_friendly(e, type) ? 1 : 0);
			memcpy(p, &format, 2);
			p += 2;
		}
		return copy;
	}
	return NULL;
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
	if (nparams > MAX_PARAMS)
		return too_many_params(nparams);
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
					desc = front_finish_with_sync(e, desc);
				front_leave(e);
				return desc ? desc : front_oom();
			}
			formats_remember(e, name, desc);
		}
		e->scratch.len = 0;
	}
	if (!direct_refused(e, name))
	{
		int16_t		rformats[64];
		pgembed_direct req = {
			.stmt = name,.nsets = 1,.nparams = nparams,.values = values,
			.lengths = lengths,.formats = formats,.result_formats = rformats,.describe = true
		};

		if (result_format == PGEMBED_FORMAT_BINARY)
		{
			rformats[0] = 1;
			req.nresult_formats = 1;
		}
		else if (result_format == PGEMBED_FORMAT_AUTO && desc != NULL && desc->nfields > 0)
		{
			int16_t    *f = desc->nfields <= 64 ? rformats : malloc(sizeof(int16_t) * desc->nfields);

			if (f == NULL)
			{
				front_leave(e);
				return front_oom();
			}
			for (int i = 0; i < desc->nfields; i++)
				f[i] = front_is_binary_friendly(e, desc->fields[i].type) ? 1 : 0;
			req.result_formats = f;
			req.nresult_formats = desc->nfields;
		}
		stmt_formats *kept = result_format == PGEMBED_FORMAT_AUTO ? *formats_find(e, name) : NULL;

		r = exec_direct(e, &req, false, kept ? kept->rowdesc : NULL, kept ? kept->rowdesc_len : 0);
		if (req.result_formats != rformats)
			free((void *) req.result_formats);
		if (r == NULL)
			direct_refuse(e, name);
	}
	if (r != NULL)
		 /* done on the direct path */ ;
	else if (!(front_msg_bind(e, "", name, nparams, values, lengths, formats, result_format, desc) &&
			   front_msg_describe(e, 'P', "") && front_msg_execute(e, "", 0) && front_msg_simple(e, 'S')))
		r = front_oom();
	else
	{
		e->out_yield_at = COPY_OUT_CHUNK;
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	}

	/*
	 * a failure may mean the statement changed or went away: describe it
	 * afresh next time
	 */
	if (r == NULL || r->status == PGEMBED_ERROR || r->status == PGEMBED_FATAL)
		formats_forget(e, name);
	front_set_mode_after(e, r, FRONT_ENDED_SYNC);
	front_leave(e);
	return r;
}

pgembed_result *
pgembed_exec_prepared_batch(pgembed_engine *e, const char *name, int nsets, int nparams,
							const char *const *values, const int32_t *lengths, const int32_t *formats)
{
	pgembed_result *r;
	bool		ok = true;
	size_t		s;

	if (name == NULL || nsets < 0 || nparams < 0 || (nparams > 0 && nsets > 0 && values == NULL))
		return front_result_error(PGEMBED_MISUSE, "22023", "invalid arguments");
	if (nparams > MAX_PARAMS)
		return too_many_params(nparams);
	if ((r = front_enter(e, FRONT_MODE_IDLE)) != NULL)
		return r;
	if (nsets > 0 && !direct_refused(e, name))
	{
		pgembed_direct req = {
			.stmt = name,.nsets = nsets,.nparams = nparams,.values = values,
			.lengths = lengths,.formats = formats
		};

		r = exec_direct(e, &req, true, NULL, 0);
		if (r != NULL)
		{
			front_leave(e);
			return r;
		}
		direct_refuse(e, name);
	}
	for (int i = 0; ok && i < nsets; i++)
	{
		size_t		off = (size_t) i * nparams;

		ok = front_msg_bind(e, "", name, nparams, values + off, lengths ? lengths + off : NULL,
							formats ? formats + off : NULL, PGEMBED_FORMAT_TEXT, NULL) &&
			front_msg_execute(e, "", 0);

		/*
		 * A COPY FROM STDIN would read the next set's Bind as COPY data (a
		 * protocol violation, FATAL): a CopyFail after the first execution
		 * ends such a COPY before it reads anything else, and is ignored by a
		 * backend that is not in COPY.  A COPY TO STDOUT fails at its start
		 * (copy_out_abort).  Either error skips the rest until the Sync.
		 */
		if (ok && i == 0)
			ok = front_msg_begin(e, 'f', &s) && front_msg_str(e, BATCH_COPY_REFUSED);
		if (ok && i == 0)
			front_msg_end(e, s);
	}
	if (!(ok && front_msg_simple(e, 'S')))
		r = front_oom();
	else
	{
		e->out_yield_at = COPY_OUT_CHUNK;
		e->copy_out_abort = BATCH_COPY_REFUSED;
		r = front_exchange(e, e->scratch.data, e->scratch.len, true);
		e->copy_out_abort = NULL;
		e->out_yield_at = 0;
		r = refuse_copy_in_batch(r);
	}
	front_leave(e);
	return r;
}

/*
 * The error of a COPY that a batch stopped (57014, "COPY from stdin failed:
 * <BATCH_COPY_REFUSED>" or its TO STDOUT twin) becomes what it is: a feature
 * the batch does not offer.
 */
static pgembed_result *
refuse_copy_in_batch(pgembed_result *r)
{
	const char *state,
			   *msg;
	pgembed_result *refused;

	if (r == NULL || r->status != PGEMBED_ERROR)
		return r;
	state = pgembed_error_field(&r->error, PGEMBED_DIAG_SQLSTATE);
	msg = pgembed_error_field(&r->error, PGEMBED_DIAG_MESSAGE_PRIMARY);
	if (state == NULL || msg == NULL || strcmp(state, "57014") != 0 || strstr(msg, BATCH_COPY_REFUSED) == NULL)
		return r;
	refused = front_result_error(PGEMBED_ERROR, "0A000",
								 "COPY FROM STDIN and COPY TO STDOUT cannot run in a batch: run the COPY with"
								 " pgembed_exec or pgembed_exec_params and stream its data");
	if (refused == NULL)
		return r;
	refused->tx_status = r->tx_status;
	pgembed_result_free(r);
	return refused;
}

/*
 * The direct path (engine_direct.c): the request rides on a Flush message,
 * and the Sync after it reports the transaction status, as after an Execute.
 * NULL: the engine left the statement to the protocol, and did nothing.
 */
static pgembed_result *
exec_direct(pgembed_engine *e, pgembed_direct *req, bool batch, const char *rowdesc, size_t rowdesc_len)
{
	static const char flush_sync[] = {'H', 0, 0, 0, 4, 'S', 0, 0, 0, 4};
	pgembed_result *r;

	req->handled = false;
	req->failed_set = -1;
	/* a kept description goes ahead of what the engine writes */
	if (rowdesc != NULL && pgembed_buf_reserve(e, &e->out, rowdesc_len))
	{
		memcpy(e->out.data + e->out.len, rowdesc, rowdesc_len);
		e->out.len += rowdesc_len;
		req->describe = false;
	}
	e->direct = req;
	r = front_exchange(e, flush_sync, sizeof(flush_sync), batch);
	e->direct = NULL;
	if (r != NULL && !req->handled && r->status != PGEMBED_FATAL)
	{
		pgembed_result_free(r);
		return NULL;
	}
	if (r != NULL && batch && req->failed_set >= 0 && r->status == PGEMBED_ERROR)
		r->failed_set = req->failed_set;
	return r;
}

/* A prepared statement the direct path left to the protocol, by name. */
typedef struct pgembed_refusal
{
	struct pgembed_refusal *next;
	char		name[];
} refusal;

static bool
direct_refused(pgembed_engine *e, const char *name)
{
	for (refusal *p = e->direct_refused; p != NULL; p = p->next)
		if (strcmp(p->name, name) == 0)
			return true;
	return false;
}

static void
direct_refuse(pgembed_engine *e, const char *name)
{
	size_t		len = strlen(name) + 1;
	refusal    *p = malloc(offsetof(refusal, name) + len);

	/* out of memory: the next call asks the engine again */
	if (p == NULL)
		return;
	memcpy(p->name, name, len);
	p->next = e->direct_refused;
	e->direct_refused = p;
}

/* The statement was prepared again or deallocated (NULL: every statement, at the end). */
static void
direct_unrefuse(pgembed_engine *e, const char *name)
{
	refusal   **link = &e->direct_refused;

	while (*link != NULL)
	{
		refusal    *p = *link;

		if (name == NULL || strcmp(p->name, name) == 0)
		{
			*link = p->next;
			free(p);
		}
		else
			link = &p->next;
	}
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
	direct_unrefuse(e, name);
	if (!(front_msg_close(e, 'S', name) && front_msg_simple(e, 'S')))
		r = front_oom();
	else
		r = front_exchange(e, e->scratch.data, e->scratch.len, false);
	front_leave(e);
	return r;
}

/* ------------------------------------------------------------------------
 * Result formats: the extension types AUTO fetches in binary
 * ------------------------------------------------------------------------
 */

/*
 * An extension's types have the OIDs their database gave them, so the caller
 * looks them up and names them here; front_msg_bind consults the list at
 * every bind, kept descriptions of prepared statements included (their kept
 * RowDescriptions, which carry the format codes, are made again here).
 */
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
	/* under the engine's lock: a call on another thread may be binding */
	pthread_mutex_lock(&e->lock);
	free(e->binary_types);
	e->binary_types = copy;
	e->nbinary_types = count;
	/* the kept RowDescriptions carry the format codes: made again */
	for (stmt_formats *f = e->stmt_formats; f != NULL; f = f->next)
	{
		free(f->rowdesc);
		f->rowdesc = auto_rowdesc(e, f->desc, &f->rowdesc_len);
	}
	pthread_mutex_unlock(&e->lock);
	return 0;
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
		return too_many_params(nparams);
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
