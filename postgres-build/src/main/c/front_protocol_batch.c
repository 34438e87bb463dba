/*-------------------------------------------------------------------------
 *
 * front_protocol_batch.c
 *	  A protocol client's batch of one prepared INSERT, or UPDATE ... WHERE
 *	  key = $k (JDBC executeBatch), run as one set-oriented statement on the
 *	  direct path.
 *
 * pgjdbc sends a batch as Bind/Execute pairs of one server-prepared
 * statement followed by a Sync (after a Parse and its "BEGIN" query, the
 * first time), in chunks it flushes whole; until it has seen the portal's
 * NoData, every pair has a Describe of the portal between its Bind and its
 * Execute (the whole first chunk).  When a client's input ends that way, the
 * front hands the sets' parameters to the engine as a direct request that
 * runs only as one insert or one update (copy_only with set_counts:
 * engine_batch.c and engine_batch_update.c say whether the statement and its
 * table allow it); whatever precedes the sets goes to the backend first, as
 * it came.  The reply is the one the backend would have sent: per set a
 * BindComplete, a NoData if it was described (an INSERT or UPDATE without
 * RETURNING has no row description) and an "INSERT 0 1" CommandComplete (or
 * "UPDATE <n>", n the rows that set updated), up to the failing set (which
 * has its BindComplete and NoData unless its parameters did not convert),
 * the ErrorResponse, then what the Sync brings (ParameterStatus,
 * ReadyForQuery).  An update fails only as a whole (a cancel: the engine runs
 * any other failure row by row), at the first set.  Anything else, or a batch
 * the engine does not take, goes to the backend unchanged.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_protocol_batch.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		front_protocol_batch	- run a client's input on the direct path, if it is a batch
 *------------------------
 */
#include "pgembed_front.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the fewest pairs worth the direct path */
#define MIN_BATCH 2

/* A message of the client's input. */
typedef struct
{
	char		type;
	const char *payload;
	uint32_t	len;			/* of the payload */
} wire_msg;

/* One set of the batch: its Bind, and whether a Describe of the portal follows it. */
typedef struct
{
	int			bind;			/* index of the Bind in the messages */
	bool		described;
} batch_set;

/* routines only used in this file */
static int	split_messages(const char *in, size_t len, wire_msg **msgs);
static bool bind_fields(const wire_msg *m, const char **portal, const char **stmt);
static bool execute_of(const wire_msg *m, const char *portal);
static bool describes_portal(const wire_msg *m, const char *portal);
static bool head_message(const wire_msg *m);
static bool bind_values(const wire_msg *m, int nparams, const char **values, int32_t *lengths,
						int32_t *formats);
static bool output_has_error(pgembed_engine *e, size_t from);
static bool reply(pgembed_engine *e, size_t from, const pgembed_direct *req, const batch_set *sets);
static bool put_raw(pgembed_buf *b, pgembed_engine *e, char type, const char *payload, uint32_t len);

/*
 * Runs the client's input if it ends with a batch the engine takes as one
 * insert: the output (raw framing) is then in e->out and true returned.
 * false: nothing was run; the caller gives the input to the backend.
 */
bool
front_protocol_batch(pgembed_engine *e, const char *in, size_t len)
{
	static const char flush_msg[] = {'H', 0, 0, 0, 4};
	wire_msg   *msgs = NULL;
	int			n = split_messages(in, len, &msgs);
	int			first;
	int			npairs = 0;
	int			nparams;
	const char *portal = NULL,
			   *stmt = NULL,
			   *p2,
			   *s2;
	batch_set  *sets = NULL;
	const char **values = NULL;
	int32_t    *lengths = NULL,
			   *formats = NULL;
	int64_t    *counts = NULL;
	pgembed_direct req;
	size_t		out_from;
	bool		done = false;

	/*
	 * ... Bind [Describe] Execute, Bind [Describe] Execute, Sync, at the end,
	 * of one named statement and portal (the sets found from the last back)
	 */
	if (n < 2 * MIN_BATCH + 1 || msgs[n - 1].type != 'S' ||
		(sets = malloc(sizeof(batch_set) * n)) == NULL)
		goto out;
	first = n - 1;
	while (first >= 2 && msgs[first - 1].type == 'E')
	{
		int			b = first - 2;
		bool		described = msgs[b].type == 'D';

		if (described)
			b--;
		if (b < 0 || msgs[b].type != 'B' || !bind_fields(&msgs[b], &p2, &s2) ||
			(npairs > 0 && (strcmp(p2, portal) != 0 || strcmp(s2, stmt) != 0)) ||
			!execute_of(&msgs[first - 1], p2) || (described && !describes_portal(&msgs[b + 1], p2)))
			break;
		portal = p2;
		stmt = s2;
		sets[n - 1 - ++npairs].bind = b;
		sets[n - 1 - npairs].described = described;
		first = b;
	}
	if (npairs < MIN_BATCH || stmt[0] == '\0')
		goto out;
	/* in order, at the start of the array */
	memmove(sets, sets + (n - 1 - npairs), sizeof(batch_set) * npairs);

	/*
	 * what comes before: statements and descriptions, nothing of COPY's or a
	 * function call
	 */
	for (int i = 0; i < first; i++)
		if (!head_message(&msgs[i]))
			goto out;

	/* the values, as each Bind has them */
	{
		const char *p = msgs[first].payload + strlen(portal) + 1 + strlen(stmt) + 1;
		int			nfmt = (int16_t) ntohs(*(const uint16_t *) p);

		if ((size_t) (2 + 2 * nfmt + 2) > msgs[first].len)
			goto out;
		nparams = (int16_t) ntohs(*(const uint16_t *) (p + 2 + 2 * nfmt));
	}
	if (nparams <= 0)
		goto out;
	values = malloc(sizeof(char *) * npairs * nparams);
	lengths = malloc(sizeof(int32_t) * npairs * nparams);
	formats = malloc(sizeof(int32_t) * npairs * nparams);
	counts = calloc(npairs, sizeof(int64_t));
	if (values == NULL || lengths == NULL || formats == NULL || counts == NULL)
		goto out;
	for (int k = 0; k < npairs; k++)
		if (!bind_values(&msgs[sets[k].bind], nparams, values + k * nparams, lengths + k * nparams,
						 formats + k * nparams))
			goto out;

	/* what precedes the batch, as it came (small: a Parse, a BEGIN) */
	if (first > 0)
	{
		pgembed_iov head = {in, (size_t) (msgs[first].payload - 5 - in)};

		if (head.len > 4096)
			goto out;
		front_run_with_input(e, &head, 1);
		if (e->state == ENGINE_DEAD || e->out_yielded || output_has_error(e, 0))
		{
			/*
			 * The backend ended, paused with more to say, or skips to the
			 * Sync: the rest follows unchanged (when it paused, once it
			 * resumes).
			 */
			pgembed_iov rest = {in + head.len, len - head.len};

			if (e->out_yielded)
			{
				memcpy(e->in, &rest, sizeof(rest));
				e->nin = 1;
				e->in_index = 0;
				e->in_pos = 0;
			}
			else if (e->state != ENGINE_DEAD)
				front_run_with_input(e, &rest, 1);
			done = true;
			goto out;
		}
	}

	/*
	 * The request rides on a Flush: left alone, nothing was done and the
	 * pairs go to the backend as they came; taken, the client's Sync ends it.
	 */
	memset(&req, 0, sizeof(req));
	req.stmt = stmt;
	req.nsets = npairs;
	req.nparams = nparams;
	req.values = values;
	req.lengths = lengths;
	req.formats = formats;
	req.text_lengths = true;
	req.copy_only = true;
	req.set_counts = counts;
	out_from = e->out.len;
	e->direct = &req;
	{
		pgembed_iov flush = {flush_msg, sizeof(flush_msg)};

		front_run_with_input(e, &flush, 1);
	}
	e->direct = NULL;
	if (e->state != ENGINE_DEAD && !req.handled)
	{
		pgembed_iov rest = {msgs[first].payload - 5, len - (size_t) (msgs[first].payload - 5 - in)};

		front_run_with_input(e, &rest, 1);
	}
	else if (e->state != ENGINE_DEAD)
	{
		pgembed_iov sync = {(const char *) msgs[n - 1].payload - 5, 5};

		if (!reply(e, out_from, &req, sets))
			e->out.len = out_from;	/* out of memory: the ErrorResponse is
									 * lost too */
		front_run_with_input(e, &sync, 1);
	}
	done = true;

out:
	free(msgs);
	free(sets);
	free(values);
	free(lengths);
	free(formats);
	free(counts);
	return done;
}

/* The messages of a well-formed input; -1 when it is not. */
static int
split_messages(const char *in, size_t len, wire_msg **msgs)
{
	size_t		pos = 0;
	int			n = 0,
				cap = 0;

	while (pos < len)
	{
		uint32_t	mlen;

		if (len - pos < 5)
			return -1;
		memcpy(&mlen, in + pos + 1, 4);
		mlen = ntohl(mlen);
		if (mlen < 4 || mlen - 4 > len - pos - 5)
			return -1;
		if (n == cap)
		{
			wire_msg   *m = realloc(*msgs, sizeof(wire_msg) * (cap = cap ? cap * 2 : 64));

			if (m == NULL)
				return -1;
			*msgs = m;
		}
		(*msgs)[n].type = in[pos];
		(*msgs)[n].payload = in + pos + 5;
		(*msgs)[n].len = mlen - 4;
		n++;
		pos += 1 + mlen;
	}
	return n;
}

/*
 * A message that may come before the batch: statements and descriptions, and
 * the simple query "BEGIN ..." pgjdbc sends to open its transaction (nothing
 * that could start a COPY, whose data the batch's messages would become).
 */
static bool
head_message(const wire_msg *m)
{
	if (m->type == 'Q')
		return m->len >= 6 && memchr(m->payload, '\0', m->len) == m->payload + m->len - 1 &&
			strncmp(m->payload, "BEGIN", 5) == 0 && (m->payload[5] == '\0' || m->payload[5] == ' ') &&
			strchr(m->payload, ';') == NULL;
	return strchr("PDCBEHS", m->type) != NULL;
}

/* A Describe of the portal (not of a statement). */
static bool
describes_portal(const wire_msg *m, const char *portal)
{
	size_t		plen = strlen(portal) + 1;

	return m->len == 1 + plen && m->payload[0] == 'P' && memcmp(m->payload + 1, portal, plen) == 0;
}

/* A Bind's portal and statement names (NUL-terminated within it). */
static bool
bind_fields(const wire_msg *m, const char **portal, const char **stmt)
{
	const char *end = m->payload + m->len;
	const char *s;

	*portal = m->payload;
	s = memchr(*portal, '\0', m->len);
	if (s == NULL || ++s >= end)
		return false;
	*stmt = s;
	return memchr(s, '\0', end - s) != NULL;
}

/*
 * An Execute of the portal.  Its row limit does not matter: the engine takes
 * only an INSERT or UPDATE without RETURNING, which runs to completion
 * whatever the limit (PortalRunMulti), and pgjdbc asks for one row at most in
 * a batch whose results it discards.
 */
static bool
execute_of(const wire_msg *m, const char *portal)
{
	size_t		plen = strlen(portal) + 1;

	return m->len == plen + 4 && memcmp(m->payload, portal, plen) == 0;
}

/*
 * One Bind's values and their formats; false when it does not have nparams
 * of them or asks for result formats other than text (an INSERT returns
 * none, but a strange Bind is the backend's to report).
 */
static bool
bind_values(const wire_msg *m, int nparams, const char **values, int32_t *lengths, int32_t *formats)
{
	const char *p = m->payload;
	const char *end = m->payload + m->len;
	int			nfmt;
	int16_t		fmt[1];
	const char *fmts;

	p += strlen(p) + 1;
	p += strlen(p) + 1;
	if (end - p < 2)
		return false;
	nfmt = (int16_t) ntohs(*(const uint16_t *) p);
	fmts = p + 2;
	p += 2 + 2 * nfmt;
	if (nfmt < 0 || (nfmt > 1 && nfmt != nparams) || end - p < 2 ||
		(int16_t) ntohs(*(const uint16_t *) p) != nparams)
		return false;
	p += 2;
	for (int i = 0; i < nparams; i++)
	{
		int32_t		vlen;

		if (end - p < 4)
			return false;
		vlen = (int32_t) ntohl(*(const uint32_t *) p);
		p += 4;
		if (vlen < -1 || (vlen > 0 && end - p < vlen))
			return false;
		memcpy(fmt, fmts + 2 * (nfmt == 1 ? 0 : i), nfmt > 0 ? 2 : 0);
		formats[i] = nfmt == 0 ? 0 : (int16_t) ntohs((uint16_t) fmt[0]);
		if (formats[i] != 0 && formats[i] != 1)
			return false;
		values[i] = vlen < 0 ? NULL : p;
		lengths[i] = vlen < 0 ? 0 : vlen;
		if (vlen > 0)
			p += vlen;
	}
	if (end - p < 2)
		return false;
	/* result formats: none, or text */
	return (int16_t) ntohs(*(const uint16_t *) p) == 0;
}

/* Is there an ErrorResponse among the messages the backend wrote after from? */
static bool
output_has_error(pgembed_engine *e, size_t from)
{
	for (size_t pos = from; pos + 5 <= e->out.len;)
	{
		uint32_t	mlen;

		if (e->out.data[pos] == 'E')
			return true;
		memcpy(&mlen, e->out.data + pos + 1, 4);
		pos += 1 + ntohl(mlen);
	}
	return false;
}

/*
 * The backend's reply to the sets, from what the direct run wrote after
 * out_from: its CommandComplete ("INSERT 0 <all>", "UPDATE <all>") becomes a
 * BindComplete, a NoData if the set was described, and an "INSERT 0 1" (or
 * "UPDATE <the set's rows>") per set; before an ErrorResponse come those of
 * the sets that ran.  false: out of memory.
 */
static bool
reply(pgembed_engine *e, size_t from, const pgembed_direct *req, const batch_set *sets)
{
	static const char insert_one[] = "INSERT 0 1";
	pgembed_buf b = {0};
	size_t		pos = from;
	bool		ok = true;
	char		tag[32];

	while (ok && pos + 5 <= e->out.len)
	{
		char		type = e->out.data[pos];
		uint32_t	mlen;

		memcpy(&mlen, e->out.data + pos + 1, 4);
		mlen = ntohl(mlen);
		if (type == 'C' && mlen - 4 > 7 && memcmp(e->out.data + pos + 5, "UPDATE ", 7) == 0)
		{
			for (int i = 0; ok && i < req->nsets; i++)
			{
				int			tl = snprintf(tag, sizeof(tag), "UPDATE %lld", (long long) req->set_counts[i]);

				ok = put_raw(&b, e, '2', NULL, 0) && (!sets[i].described || put_raw(&b, e, 'n', NULL, 0)) &&
					put_raw(&b, e, 'C', tag, (uint32_t) tl + 1);
			}
		}
		else if (type == 'C')
		{
			for (int i = 0; ok && i < req->nsets; i++)
				ok = put_raw(&b, e, '2', NULL, 0) && (!sets[i].described || put_raw(&b, e, 'n', NULL, 0)) &&
					put_raw(&b, e, 'C', insert_one, sizeof(insert_one));
		}
		else if (type == 'E')
		{
			for (int64_t i = 0; ok && i < req->failed_set; i++)
				ok = put_raw(&b, e, '2', NULL, 0) && (!sets[i].described || put_raw(&b, e, 'n', NULL, 0)) &&
					put_raw(&b, e, 'C', insert_one, sizeof(insert_one));
			if (ok && !req->failed_in_bind && req->failed_set >= 0 && req->failed_set < req->nsets)
				ok = put_raw(&b, e, '2', NULL, 0) &&
					(!sets[req->failed_set].described || put_raw(&b, e, 'n', NULL, 0));
			ok = ok && put_raw(&b, e, type, e->out.data + pos + 5, mlen - 4);
		}
		else
			ok = put_raw(&b, e, type, e->out.data + pos + 5, mlen - 4);
		pos += 1 + mlen;
	}
	if (ok)
	{
		e->out.len = from;
		ok = pgembed_buf_reserve(e, &e->out, b.len);
		if (ok)
		{
			memcpy(e->out.data + from, b.data, b.len);
			e->out.len = from + b.len;
		}
	}
	free(b.data);
	return ok;
}

/* A message as it crosses the wire. */
static bool
put_raw(pgembed_buf *b, pgembed_engine *e, char type, const char *payload, uint32_t len)
{
	uint32_t	nlen = htonl(len + 4);

	if (!pgembed_buf_reserve(e, b, len + 5))
		return false;
	b->data[b->len] = type;
	memcpy(b->data + b->len + 1, &nlen, 4);
	if (len > 0)
		memcpy(b->data + b->len + 5, payload, len);
	b->len += len + 5;
	return true;
}
