/*-------------------------------------------------------------------------
 *
 * front_wire.c
 *	  Building the frontend messages of a request.
 *
 * A call's request is a run of protocol messages (Query, or Parse, Bind,
 * Describe, Execute and Sync, ...) built in the engine's scratch buffer and
 * handed to the backend as one input.  Each builder appends one message and
 * returns false when memory runs out, so that a caller chains them with &&
 * and answers front_oom() once.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_wire.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 * framing:
 *		front_msg_begin			- start a message of a type
 *		front_msg_str			- append a NUL-terminated string
 *		front_msg_end			- set the length of the message begun
 *		front_msg_simple		- a message without payload (Sync, Flush, ...)
 *
 * the extended query protocol:
 *		front_msg_parse			- a statement and its parameter types
 *		front_msg_bind			- its parameters and the result formats (AUTO:
 *								  binary for the types is_binary_friendly names)
 *		front_msg_execute, front_msg_describe, front_msg_close
 *------------------------
 */
#include "pgembed_front.h"

bool
front_msg_begin(pgembed_engine *e, char type, size_t *start)
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

bool
front_msg_str(pgembed_engine *e, const char *s)
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

void
front_msg_end(pgembed_engine *e, size_t start)
{
	uint32_t	n = htonl((uint32_t) (e->scratch.len - start - 1));

	memcpy(e->scratch.data + start + 1, &n, 4);
}

bool
front_msg_simple(pgembed_engine *e, char type)
{
	size_t		s;

	if (!front_msg_begin(e, type, &s))
		return false;
	front_msg_end(e, s);
	return true;
}

bool
front_msg_parse(pgembed_engine *e, const char *name, const char *sql, int nparams, const uint32_t *types)
{
	size_t		s;
	bool		ok;

	ok = front_msg_begin(e, 'P', &s) && front_msg_str(e, name) && front_msg_str(e, sql) && msg_i16(e, types ? nparams : 0);
	for (int i = 0; ok && types && i < nparams; i++)
		ok = msg_i32(e, (int32_t) types[i]);
	if (ok)
		front_msg_end(e, s);
	return ok;
}

/* the built-in types the readers decode, and those of pgembed_set_binary_types */
bool
front_is_binary_friendly(pgembed_engine *e, uint32_t type)
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

bool
front_msg_bind(pgembed_engine *e, const char *portal, const char *stmt, int nparams,
			   const char *const *values, const int32_t *lengths, const int32_t *formats,
			   int result_format, const pgembed_result *desc)
{
	size_t		s;
	bool		ok;

	ok = front_msg_begin(e, 'B', &s) && front_msg_str(e, portal) && front_msg_str(e, stmt);
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
			ok = msg_i16(e, front_is_binary_friendly(e, desc->fields[i].type) ? 1 : 0);
	}
	else if (result_format == PGEMBED_FORMAT_BINARY)
		ok = ok && msg_i16(e, 1) && msg_i16(e, 1);
	else
		ok = ok && msg_i16(e, 0);
	if (ok)
		front_msg_end(e, s);
	return ok;
}

bool
front_msg_execute(pgembed_engine *e, const char *portal, int32_t maxrows)
{
	size_t		s;

	if (!(front_msg_begin(e, 'E', &s) && front_msg_str(e, portal) && msg_i32(e, maxrows)))
		return false;
	front_msg_end(e, s);
	return true;
}

bool
front_msg_describe(pgembed_engine *e, char what, const char *name)
{
	size_t		s;
	char		w = what;

	if (!(front_msg_begin(e, 'D', &s) && msg_put(e, &w, 1) && front_msg_str(e, name)))
		return false;
	front_msg_end(e, s);
	return true;
}

bool
front_msg_close(pgembed_engine *e, char what, const char *name)
{
	size_t		s;
	char		w = what;

	if (!(front_msg_begin(e, 'C', &s) && msg_put(e, &w, 1) && front_msg_str(e, name)))
		return false;
	front_msg_end(e, s);
	return true;
}
