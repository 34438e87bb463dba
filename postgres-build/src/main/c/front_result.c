/*-------------------------------------------------------------------------
 *
 * front_result.c
 *	  Making results and errors: from the backend's messages, or for the
 *	  front's own refusals.
 *
 * A call's result is the backend's messages in one buffer, as the engine
 * wrote them ([type][int32 length][payload][NUL]), with an index over them:
 * front_result_from_messages reads the buffer once to learn what the last
 * statement returned, then once more to point a cell at each value of its
 * rows, NUL-terminating text values in place.  No value is copied.
 *
 * Nothing here touches an engine: these are functions of their input alone,
 * so that the C tests can feed them hand-made messages (test_result.c).
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_result.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 * the front's own errors:
 *		front_make_error		- an error from a SQLSTATE, a severity and a message
 *		front_copy_error		- a copy that owns its strings
 *		front_result_error		- a result that carries such an error
 *		front_oom				- the result of running out of memory
 *
 * the backend's messages:
 *		front_result_from_messages	- index a buffer of messages as one result
 *									  (rows, tag, error, notices, notifications)
 *------------------------
 */
#include "pgembed_front.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const empty = "";

pgembed_error *
front_make_error(const char *sqlstate, const char *severity, const char *fmt,...)
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

pgembed_error *
front_copy_error(const pgembed_error *src)
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
	r->failed_set = -1;
	r->tx_status = PGEMBED_TX_IDLE;
	r->command_tag = empty;
	return r;
}

pgembed_result *
front_result_error(pgembed_status status, const char *sqlstate, const char *fmt,...)
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
	err = front_make_error(sqlstate, "ERROR", "%s", msg);
	if (err != NULL)
	{
		r->error = *err;
		free(err);
		r->has_error = true;
	}
	return r;
}

pgembed_result *
front_oom(void)
{
	return front_result_error(PGEMBED_ERROR, "53200", "out of memory");
}

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
	if (r->fields != r->inline_fields)
		free(r->fields);
	r->fields = n <= RESULT_INLINE_FIELDS ? r->inline_fields : calloc(n, sizeof(field_desc));
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

/* What the first pass over the messages learns, for the second to use. */
typedef struct
{
	const char *group_rows;		/* first message after the last RowDescription */
	int64_t		group_count;
	const char *rows_at;		/* the rows of the statement that ended last */
	int64_t		rows_count;
	const char *rowdesc;		/* the last RowDescription no statement took */
	const char *result_rowdesc; /* the RowDescription of the result's rows */
	bool		have_tag;
	bool		error_seen;
	int			nnotices;
	int			nnotifications;
	int64_t		batch_rows;
	int64_t		completed;		/* statements that ended before the error */
} message_scan;

/*
 * CommandComplete ('C') or PortalSuspended ('s'): a statement ended, and the
 * rows it returned become the result's (the last statement wins).
 */
static void
end_of_statement(pgembed_result *r, message_scan *s, const char *m)
{
	const char *pl = MSG_PAYLOAD(m);

	if (MSG_TYPE(m) == 'C')
	{
		r->command_tag = pl;
		r->rows_affected = tag_rows(pl);
		if (r->rows_affected > 0)
			s->batch_rows += r->rows_affected;
		r->status = s->rowdesc ? PGEMBED_TUPLES_OK : PGEMBED_COMMAND_OK;
	}
	else
	{
		r->command_tag = empty;
		r->rows_affected = -1;
		r->status = PGEMBED_SUSPENDED;
	}
	s->have_tag = true;
	s->result_rowdesc = s->rowdesc;
	s->rows_at = s->group_rows;
	s->rows_count = s->group_count;
	s->rowdesc = NULL;
	s->group_rows = NULL;
	s->group_count = 0;
}

static void
parse_parameter_description(pgembed_result *r, const char *pl)
{
	int			n = rd16(pl);

	free(r->param_types);
	r->param_types = calloc(n > 0 ? n : 1, sizeof(uint32_t));
	r->nparams = r->param_types ? n : 0;
	for (int i = 0; i < r->nparams; i++)
		r->param_types[i] = rd32(pl + 2 + 4 * i);
}

/* Pass 1, one message: where the result's row group, tag, error and notices are. */
static void
scan_message(pgembed_result *r, message_scan *s, const char *m)
{
	const char *pl = MSG_PAYLOAD(m);

	switch (MSG_TYPE(m))
	{
		case 'T':
			s->rowdesc = m;
			s->group_rows = MSG_NEXT(m);
			s->group_count = 0;
			break;
		case 'D':
			if (s->group_rows == NULL)
				s->group_rows = m;
			s->group_count++;
			break;
		case 'C':
		case 's':
			if (s->error_seen)
				break;
			end_of_statement(r, s, m);
			s->completed++;
			break;
		case 'I':
			if (s->error_seen)
				break;
			r->status = PGEMBED_EMPTY_QUERY;
			r->command_tag = empty;
			s->result_rowdesc = NULL;
			s->rows_count = 0;
			s->have_tag = true;
			break;
		case 'E':
			if (!s->error_seen)
			{
				parse_error_fields(&r->error, pl, pl + MSG_PAYLOAD_LEN(m));
				r->has_error = true;
				s->error_seen = true;
			}
			break;
		case 'N':
			s->nnotices++;
			break;
		case 'A':
			s->nnotifications++;
			break;
		case 't':
			parse_parameter_description(r, pl);
			break;
		case 'n':				/* NoData */
			s->rowdesc = NULL;
			break;
		case 'G':
			if (!s->error_seen)
				r->status = PGEMBED_COPY_IN;
			s->have_tag = true;
			break;
		case 'H':
			if (!s->error_seen)
				r->status = PGEMBED_COPY_OUT;
			s->have_tag = true;
			break;
		case 'Z':
			r->tx_status = pl[0];
			r->saw_ready = true;
			break;
		default:
			break;
	}
}

/* Between the passes: the result's status, rows affected and columns. */
static void
settle_result(pgembed_result *r, message_scan *s, bool batch)
{
	/* a Describe without execution: the description is the result */
	if (!s->have_tag && !s->error_seen && s->rowdesc != NULL)
	{
		s->result_rowdesc = s->rowdesc;
		s->rows_at = NULL;
		s->rows_count = 0;
		r->status = PGEMBED_TUPLES_OK;
	}
	if (s->error_seen)
	{
		r->status = PGEMBED_ERROR;
		s->result_rowdesc = NULL;
		s->rows_count = 0;
	}
	if (batch && !s->error_seen)
		r->rows_affected = s->batch_rows;
	if (batch && s->error_seen)
	{
		/* each set ends with its CommandComplete; none of them stays */
		r->failed_set = s->completed;
		r->rows_affected = -1;
	}
	if (s->result_rowdesc != NULL)
		parse_row_description(r, MSG_PAYLOAD(s->result_rowdesc));

	/* rows without columns (SELECT FROM ...) still count */
	if (s->rows_count > 0 && r->nfields == 0)
		r->ntuples = s->rows_count;
}

/*
 * Pass 2: a cell for each value of the result's rows, NUL-terminating each
 * value in place.  false: out of memory.
 */
static bool
index_cells(pgembed_result *r, const char *rows_at, const char *end, int64_t rows_count)
{
	int64_t		row = 0;

	r->cells = rows_count * r->nfields <= RESULT_INLINE_CELLS ? r->inline_cells
		: malloc(sizeof(pgembed_cell) * rows_count * r->nfields);
	if (r->cells == NULL)
		return false;
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
	return true;
}

/* Every NoticeResponse, in order (pass 1 counted them). */
static void
collect_notices(pgembed_result *r, const char *buf, const char *end, int nnotices)
{
	r->notices = calloc(nnotices, sizeof(pgembed_error));
	if (r->notices == NULL)
		return;
	for (const char *m = buf; m < end; m = MSG_NEXT(m))
		if (MSG_TYPE(m) == 'N')
		{
			const char *pl = MSG_PAYLOAD(m);

			parse_error_fields(&r->notices[r->nnotices++], pl, pl + MSG_PAYLOAD_LEN(m));
		}
}

/*
 * Every NotificationResponse, in order (pass 1 counted them): the process id,
 * then the channel and the payload, NUL-terminated in the message.
 */
static void
collect_notifications(pgembed_result *r, const char *buf, const char *end, int n)
{
	r->notifications = calloc(n, sizeof(pgembed_notification));
	if (r->notifications == NULL)
		return;
	for (const char *m = buf; m < end; m = MSG_NEXT(m))
		if (MSG_TYPE(m) == 'A' && MSG_PAYLOAD_LEN(m) >= 6)
		{
			const char *pl = MSG_PAYLOAD(m);
			const char *pend = pl + MSG_PAYLOAD_LEN(m);
			pgembed_notification *nt = &r->notifications[r->nnotifications];

			nt->pid = (int32_t) rd32(pl);
			nt->channel = pl + 4;
			nt->payload = nt->channel + strnlen(nt->channel, pend - nt->channel) + 1;
			if (nt->payload >= pend)
				continue;		/* malformed: no payload string */
			r->nnotifications++;
		}
}

/*
 * Builds a result from the backend's messages.  The result takes the buffer
 * over.  It describes the last statement: its rows (if it returned any), its
 * command tag, the first error, and every notice.  batch: sum the rows
 * affected of every statement.
 */
pgembed_result *
front_result_from_messages(char *buf, size_t len, bool batch)
{
	pgembed_result *r = result_new(PGEMBED_COMMAND_OK);
	const char *end = buf + len;
	message_scan scan = {0};

	if (r == NULL)
	{
		free(buf);
		return NULL;
	}
	r->buf = buf;
	r->buflen = len;

	/* pass 1: find the result's row group, tag, error, notices */
	for (const char *m = buf; m < end; m = MSG_NEXT(m))
		scan_message(r, &scan, m);
	settle_result(r, &scan, batch);

	/* pass 2: cells, NUL-terminating each value in place */
	if (scan.rows_count > 0 && r->nfields > 0 &&
		!index_cells(r, scan.rows_at, end, scan.rows_count))
	{
		pgembed_result_free(r);
		return NULL;
	}
	if (scan.nnotices > 0)
		collect_notices(r, buf, end, scan.nnotices);
	if (scan.nnotifications > 0)
		collect_notifications(r, buf, end, scan.nnotifications);
	return r;
}
