/*-------------------------------------------------------------------------
 *
 * front_accessors.c
 *	  Reading results and errors: the pgembed_result_* and pgembed_error_*
 *	  calls of pgembedded.h, and freeing what they read.
 *
 * A result is the backend's messages with an index over them, made by
 * front_result.c; these routines only look things up in it.  Values are read
 * in place, as the parser left them: a text value is the message's own bytes,
 * NUL-terminated.  Every routine accepts a NULL result (what a call returns
 * when memory runs out) and answers as for a failed call.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_accessors.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 * the result as a whole:
 *		pgembed_result_status, _error, _command_tag, _rows_affected,
 *		pgembed_result_transaction_status, _notice_count, _notice, _failed_set
 *		pgembed_result_notification_count, _notification
 *		pgembed_result_header_of	- all of the above and the columns, in one call
 *
 * its columns and parameters:
 *		pgembed_result_nfields, _field_name, _field_index, _field_type,
 *		pgembed_result_field_typmod, _field_format, _nparams, _param_type
 *
 * its values:
 *		pgembed_result_ntuples, _cells, _is_null, _value, _length
 *		pgembed_result_get_int64, _get_int32, _get_double, _get_bool
 *								- a value as a C number, from text or binary
 *
 * errors and notices:
 *		pgembed_error_field		- a field by its PGEMBED_DIAG_* code
 *		pgembed_error_sqlstate, _severity, _message	- never NULL
 *
 * freeing:
 *		pgembed_result_free, pgembed_error_free
 *------------------------
 */
#include "pgembed_front.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

pgembed_status
pgembed_result_status(const pgembed_result *r)
{
	return r ? r->status : PGEMBED_FATAL;
}

const pgembed_error *
pgembed_result_error(const pgembed_result *r)
{
	return (r && r->has_error) ? &r->error : NULL;
}

const char *
pgembed_result_command_tag(const pgembed_result *r)
{
	return r ? r->command_tag : "";
}

int64_t
pgembed_result_rows_affected(const pgembed_result *r)
{
	return r ? r->rows_affected : -1;
}

int
pgembed_result_header_of(const pgembed_result *r, pgembed_result_header *h)
{
	if (r == NULL || h == NULL)
		return -1;
	h->status = r->status;
	h->tx_status = r->tx_status;
	h->nfields = r->nfields;
	h->nnotices = r->nnotices;
	h->ntuples = r->ntuples;
	h->rows_affected = r->rows_affected;
	h->failed_set = r->failed_set;
	h->command_tag = r->command_tag;
	h->fields = r->fields;
	h->cells = r->cells;
	h->error = r->has_error ? &r->error : NULL;
	h->nnotifications = r->nnotifications;
	return 0;
}

int64_t
pgembed_result_failed_set(const pgembed_result *r)
{
	return r ? r->failed_set : -1;
}

char
pgembed_result_transaction_status(const pgembed_result *r)
{
	return r ? r->tx_status : PGEMBED_TX_CLOSED;
}

int64_t
pgembed_result_ntuples(const pgembed_result *r)
{
	return r ? r->ntuples : 0;
}

int
pgembed_result_nfields(const pgembed_result *r)
{
	return r ? r->nfields : 0;
}

static inline bool
valid_column(const pgembed_result *r, int column)
{
	return r != NULL && column >= 0 && column < r->nfields;
}

const char *
pgembed_result_field_name(const pgembed_result *r, int column)
{
	return valid_column(r, column) ? r->fields[column].name : NULL;
}

int
pgembed_result_field_index(const pgembed_result *r, const char *name)
{
	if (r == NULL || name == NULL)
		return -1;
	for (int i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].name, name) == 0)
			return i;
	for (int i = 0; i < r->nfields; i++)
		if (strcasecmp(r->fields[i].name, name) == 0)
			return i;
	return -1;
}

uint32_t
pgembed_result_field_type(const pgembed_result *r, int column)
{
	return valid_column(r, column) ? r->fields[column].type : 0;
}

int32_t
pgembed_result_field_typmod(const pgembed_result *r, int column)
{
	return valid_column(r, column) ? r->fields[column].typmod : -1;
}

int
pgembed_result_field_format(const pgembed_result *r, int column)
{
	return valid_column(r, column) ? r->fields[column].format : 0;
}

int
pgembed_result_nparams(const pgembed_result *r)
{
	return r ? r->nparams : 0;
}

uint32_t
pgembed_result_param_type(const pgembed_result *r, int index)
{
	return (r && index >= 0 && index < r->nparams) ? r->param_types[index] : 0;
}

const pgembed_cell *
pgembed_result_cells(const pgembed_result *r)
{
	return r ? r->cells : NULL;
}

static inline const pgembed_cell *
cell(const pgembed_result *r, int64_t row, int column)
{
	if (!valid_column(r, column) || row < 0 || row >= r->ntuples)
		return NULL;
	return &r->cells[row * r->nfields + column];
}

int
pgembed_result_is_null(const pgembed_result *r, int64_t row, int column)
{
	const pgembed_cell *c = cell(r, row, column);

	return c == NULL || c->length < 0;
}

const char *
pgembed_result_value(const pgembed_result *r, int64_t row, int column)
{
	const pgembed_cell *c = cell(r, row, column);

	return (c == NULL || c->length < 0) ? NULL : c->value;
}

int32_t
pgembed_result_length(const pgembed_result *r, int64_t row, int column)
{
	const pgembed_cell *c = cell(r, row, column);

	return c == NULL ? -1 : c->length;
}

int
pgembed_result_get_int64(const pgembed_result *r, int64_t row, int column, int64_t *out)
{
	const pgembed_cell *c = cell(r, row, column);
	char	   *endp;

	if (c == NULL || out == NULL)
		return -1;
	if (c->length < 0)
		return 1;
	if (c->format == 1)
	{
		switch (c->length)
		{
			case 2:
				*out = (int16_t) rd16(c->value);
				return 0;
			case 4:
				*out = (int32_t) rd32(c->value);
				return 0;
			case 8:
				*out = (int64_t) (((uint64_t) rd32(c->value) << 32) | rd32(c->value + 4));
				return 0;
			default:
				return -1;
		}
	}
	errno = 0;
	*out = strtoll(c->value, &endp, 10);
	return (errno != 0 || endp == c->value || *endp != '\0') ? -1 : 0;
}

int
pgembed_result_get_int32(const pgembed_result *r, int64_t row, int column, int32_t *out)
{
	int64_t		v;
	int			rc;

	if (out == NULL)
		return -1;
	rc = pgembed_result_get_int64(r, row, column, &v);
	if (rc != 0)
		return rc;
	if (v < INT32_MIN || v > INT32_MAX)
		return -1;
	*out = (int32_t) v;
	return 0;
}

int
pgembed_result_get_double(const pgembed_result *r, int64_t row, int column, double *out)
{
	const pgembed_cell *c = cell(r, row, column);
	char	   *endp;

	if (c == NULL || out == NULL)
		return -1;
	if (c->length < 0)
		return 1;
	if (c->format == 1)
	{
		uint32_t	type = r->fields[column].type;

		if (type == 700 && c->length == 4)
		{
			uint32_t	b = rd32(c->value);
			float		f;

			memcpy(&f, &b, 4);
			*out = f;
			return 0;
		}
		if (type == 701 && c->length == 8)
		{
			uint64_t	b = ((uint64_t) rd32(c->value) << 32) | rd32(c->value + 4);

			memcpy(out, &b, 8);
			return 0;
		}
		int64_t		i;

		if (pgembed_result_get_int64(r, row, column, &i) == 0)
		{
			*out = (double) i;
			return 0;
		}
		return -1;
	}
	errno = 0;
	*out = strtod(c->value, &endp);
	return (endp == c->value || *endp != '\0') ? -1 : 0;
}

int
pgembed_result_get_bool(const pgembed_result *r, int64_t row, int column, int *out)
{
	const pgembed_cell *c = cell(r, row, column);

	if (c == NULL || out == NULL)
		return -1;
	if (c->length < 0)
		return 1;
	if (c->format == 1)
	{
		if (c->length != 1)
			return -1;
		*out = c->value[0] != 0;
		return 0;
	}
	if (strcmp(c->value, "t") == 0 || strcmp(c->value, "true") == 0)
		*out = 1;
	else if (strcmp(c->value, "f") == 0 || strcmp(c->value, "false") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

int
pgembed_result_notice_count(const pgembed_result *r)
{
	return r ? r->nnotices : 0;
}

const pgembed_error *
pgembed_result_notice(const pgembed_result *r, int index)
{
	return (r && index >= 0 && index < r->nnotices) ? &r->notices[index] : NULL;
}

int
pgembed_result_notification_count(const pgembed_result *r)
{
	return r ? r->nnotifications : 0;
}

const pgembed_notification *
pgembed_result_notification(const pgembed_result *r, int index)
{
	return (r && index >= 0 && index < r->nnotifications) ? &r->notifications[index] : NULL;
}

void
pgembed_result_free(pgembed_result *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	if (r->fields != r->inline_fields)
		free(r->fields);
	free(r->param_types);
	if (r->cells != r->inline_cells)
		free(r->cells);
	free(r->notices);
	free(r->notifications);
	free(r->error.owned);
	free(r);
}

const char *
pgembed_error_field(const pgembed_error *err, char code)
{
	if (err == NULL)
		return NULL;
	for (int i = 0; i < err->nfields; i++)
		if (err->codes[i] == code)
			return err->values[i];
	return NULL;
}

const char *
pgembed_error_sqlstate(const pgembed_error *err)
{
	const char *v = pgembed_error_field(err, 'C');

	return v ? v : "XX000";
}

const char *
pgembed_error_severity(const pgembed_error *err)
{
	const char *v = pgembed_error_field(err, 'V');

	if (v == NULL)
		v = pgembed_error_field(err, 'S');
	return v ? v : "ERROR";
}

const char *
pgembed_error_message(const pgembed_error *err)
{
	const char *v = pgembed_error_field(err, 'M');

	return v ? v : "";
}

void
pgembed_error_free(pgembed_error *err)
{
	if (err == NULL)
		return;
	free(err->owned);
	free(err);
}
