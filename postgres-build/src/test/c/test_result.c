/*
 * Results made from hand-made backend messages, without an engine.
 *
 * front_result.c is compiled into this test binary (test-native.sh): its
 * routines are hidden inside libpgembed.so.  The results are read through the
 * library's own accessors, as a host reads them, and freed by the library.
 * Messages are laid out as the engine writes them: [type][int32 length]
 * [payload][NUL].
 */
#include "pgembed_front.h"

#include <stdlib.h>

#include "test_util.h"

/* ------------------------------------------------------------------------
 * Building a buffer of messages
 * ------------------------------------------------------------------------
 */
typedef struct
{
	char	   *data;
	size_t		len;
	size_t		cap;
	size_t		start;			/* of the message being built */
} messages;

static void
put(messages *b, const void *p, size_t n)
{
	if (b->len + n > b->cap)
	{
		b->cap = (b->len + n) * 2 + 64;
		b->data = realloc(b->data, b->cap);
		if (b->data == NULL)
			abort();
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void
put_i16(messages *b, int v)
{
	uint16_t	n = htons((uint16_t) v);

	put(b, &n, 2);
}

static void
put_i32(messages *b, int32_t v)
{
	uint32_t	n = htonl((uint32_t) v);

	put(b, &n, 4);
}

static void
put_str(messages *b, const char *s)
{
	put(b, s, strlen(s) + 1);
}

static void
begin(messages *b, char type)
{
	b->start = b->len;
	put(b, &type, 1);
	put_i32(b, 0);
}

/* the length counts itself and the payload; the engine adds a NUL after it */
static void
end(messages *b)
{
	uint32_t	n = htonl((uint32_t) (b->len - b->start - 1));

	memcpy(b->data + b->start + 1, &n, 4);
	put(b, "", 1);
}

/* RowDescription: columns named and typed by two parallel lists */
static void
row_description(messages *b, int n, const char *const *names, const uint32_t *types, int format)
{
	begin(b, 'T');
	put_i16(b, n);
	for (int i = 0; i < n; i++)
	{
		put_str(b, names[i]);
		put_i32(b, 0);			/* table */
		put_i16(b, 0);			/* attribute number */
		put_i32(b, (int32_t) types[i]);
		put_i16(b, -1);			/* type length */
		put_i32(b, -1);			/* type modifier */
		put_i16(b, format);
	}
	end(b);
}

/* DataRow of text values; NULL is SQL NULL */
static void
data_row(messages *b, int n, const char *const *values)
{
	begin(b, 'D');
	put_i16(b, n);
	for (int i = 0; i < n; i++)
	{
		if (values[i] == NULL)
			put_i32(b, -1);
		else
		{
			put_i32(b, (int32_t) strlen(values[i]));
			put(b, values[i], strlen(values[i]));
		}
	}
	end(b);
}

/* the usual table of these tests: one int4 column "n" */
static void
int_column(messages *b)
{
	static const char *const names[] = {"n"};
	static const uint32_t types[] = {23};

	row_description(b, 1, names, types, 0);
}

static void
int_row(messages *b, const char *value)
{
	data_row(b, 1, &value);
}

static void
tagged(messages *b, char type, const char *text)
{
	begin(b, type);
	put_str(b, text);
	end(b);
}

static void
bare(messages *b, char type)
{
	begin(b, type);
	end(b);
}

static void
ready(messages *b, char tx_status)
{
	begin(b, 'Z');
	put(b, &tx_status, 1);
	end(b);
}

/* ErrorResponse or NoticeResponse: "Cvalue" strings, one a field */
static void
fields(messages *b, char type, int n, const char *const *codes_and_values)
{
	begin(b, type);
	for (int i = 0; i < n; i++)
		put_str(b, codes_and_values[i]);
	put(b, "", 1);
	end(b);
}

static pgembed_result *
parse(messages *b, bool batch)
{
	pgembed_result *r = front_result_from_messages(b->data, b->len, batch);

	b->data = NULL;				/* the result owns the buffer now */
	b->len = b->cap = 0;
	return r;
}

/* every text value of r: a NUL-terminated string inside r's own buffer */
static void
check_cells_in_place(const pgembed_result *r)
{
	for (int64_t row = 0; row < pgembed_result_ntuples(r); row++)
		for (int col = 0; col < pgembed_result_nfields(r); col++)
		{
			const char *v = pgembed_result_value(r, row, col);
			int32_t		len = pgembed_result_length(r, row, col);

			if (v == NULL)
				continue;
			CHECK(v >= r->buf && v + len < r->buf + r->buflen);
			CHECK(v[len] == '\0');
		}
}

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------
 */
static void
test_select_rows(void)
{
	static const char *const names[] = {"n", "word"};
	static const uint32_t types[] = {23, 25};
	static const char *const row1[] = {"1", "x"};
	static const char *const row2[] = {"22", NULL};
	static const char *const row3[] = {"", "last"};
	messages	b = {0};
	pgembed_result *r;
	const pgembed_cell *cells;

	row_description(&b, 2, names, types, 0);
	data_row(&b, 2, row1);
	data_row(&b, 2, row2);
	data_row(&b, 2, row3);
	tagged(&b, 'C', "SELECT 3");
	ready(&b, 'I');
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
	CHECK(pgembed_result_error(r) == NULL);
	CHECK_INT(pgembed_result_ntuples(r), 3);
	CHECK_INT(pgembed_result_nfields(r), 2);
	CHECK_STR(pgembed_result_field_name(r, 0), "n");
	CHECK_STR(pgembed_result_field_name(r, 1), "word");
	CHECK_INT(pgembed_result_field_type(r, 0), 23);
	CHECK_INT(pgembed_result_field_type(r, 1), 25);
	CHECK_INT(pgembed_result_field_index(r, "WORD"), 1);
	CHECK_STR(pgembed_result_value(r, 0, 0), "1");
	CHECK_STR(pgembed_result_value(r, 0, 1), "x");
	CHECK_STR(pgembed_result_value(r, 1, 0), "22");
	CHECK(pgembed_result_is_null(r, 1, 1));
	CHECK(pgembed_result_value(r, 1, 1) == NULL);
	CHECK_INT(pgembed_result_length(r, 1, 1), -1);
	CHECK_STR(pgembed_result_value(r, 2, 0), "");
	CHECK_INT(pgembed_result_length(r, 2, 0), 0);
	CHECK_STR(pgembed_result_value(r, 2, 1), "last");
	check_cells_in_place(r);
	cells = pgembed_result_cells(r);
	CHECK(cells[2].value == pgembed_result_value(r, 1, 0));
	CHECK_INT(cells[1].format, 0);
	CHECK_STR(pgembed_result_command_tag(r), "SELECT 3");
	CHECK_INT(pgembed_result_rows_affected(r), 3);
	CHECK_INT(pgembed_result_transaction_status(r), 'I');
	CHECK(r->saw_ready);
	CHECK_INT(pgembed_result_notice_count(r), 0);
	pgembed_result_free(r);
}

static void
test_binary_values(void)
{
	static const char *const names[] = {"i2", "i4", "i8", "f8", "b"};
	static const uint32_t types[] = {21, 23, 20, 701, 16};
	messages	b = {0};
	pgembed_result *r;
	int64_t		i64;
	int32_t		i32;
	double		d;
	int			flag;
	double		half = 0.5;
	uint64_t	bits;

	row_description(&b, 5, names, types, 1);
	begin(&b, 'D');
	put_i16(&b, 5);
	put_i32(&b, 2);
	put_i16(&b, -7);
	put_i32(&b, 4);
	put_i32(&b, 123456);
	put_i32(&b, 8);
	put_i32(&b, 1);				/* 2^32 + 2 */
	put_i32(&b, 2);
	put_i32(&b, 8);
	memcpy(&bits, &half, 8);
	put_i32(&b, (int32_t) (bits >> 32));
	put_i32(&b, (int32_t) bits);
	put_i32(&b, 1);
	put(&b, "\001", 1);
	end(&b);
	tagged(&b, 'C', "SELECT 1");
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_ntuples(r), 1);
	CHECK_INT(pgembed_result_field_format(r, 0), 1);
	CHECK_INT(pgembed_result_cells(r)[0].format, 1);
	CHECK(pgembed_result_get_int64(r, 0, 0, &i64) == 0 && i64 == -7);
	CHECK(pgembed_result_get_int32(r, 0, 1, &i32) == 0 && i32 == 123456);
	CHECK(pgembed_result_get_int64(r, 0, 2, &i64) == 0 && i64 == (1LL << 32) + 2);
	CHECK(pgembed_result_get_int32(r, 0, 2, &i32) == -1);
	CHECK(pgembed_result_get_double(r, 0, 3, &d) == 0 && d == 0.5);
	CHECK(pgembed_result_get_double(r, 0, 1, &d) == 0 && d == 123456.0);
	CHECK(pgembed_result_get_bool(r, 0, 4, &flag) == 0 && flag == 1);
	/* no engine state: the transaction status stays as a result starts */
	CHECK(!r->saw_ready);
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_IDLE);
	pgembed_result_free(r);
}

static void
test_text_values_as_numbers(void)
{
	static const char *const names[] = {"a", "b", "c", "d"};
	static const uint32_t types[] = {20, 701, 16, 25};
	static const char *const row[] = {"-42", "2.5", "f", "4x"};
	messages	b = {0};
	pgembed_result *r;
	int64_t		i64;
	double		d;
	int			flag = -1;

	row_description(&b, 4, names, types, 0);
	data_row(&b, 4, row);
	tagged(&b, 'C', "SELECT 1");
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK(pgembed_result_get_int64(r, 0, 0, &i64) == 0 && i64 == -42);
	CHECK(pgembed_result_get_double(r, 0, 1, &d) == 0 && d == 2.5);
	CHECK(pgembed_result_get_bool(r, 0, 2, &flag) == 0 && flag == 0);
	CHECK(pgembed_result_get_int64(r, 0, 3, &i64) == -1);
	CHECK(pgembed_result_get_int64(r, 0, 9, &i64) == -1);
	CHECK(pgembed_result_get_int64(r, 1, 0, &i64) == -1);
	pgembed_result_free(r);
}

static void
test_last_statement_wins(void)
{
	messages	b = {0};
	pgembed_result *r;

	int_column(&b);
	int_row(&b, "1");
	tagged(&b, 'C', "SELECT 1");
	tagged(&b, 'C', "INSERT 0 3");
	ready(&b, 'I');
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
	CHECK_INT(pgembed_result_ntuples(r), 0);
	CHECK_INT(pgembed_result_nfields(r), 0);
	CHECK_STR(pgembed_result_command_tag(r), "INSERT 0 3");
	CHECK_INT(pgembed_result_rows_affected(r), 3);
	pgembed_result_free(r);

	/* and the other way round: the rows of the last statement */
	int_column(&b);
	int_row(&b, "1");
	tagged(&b, 'C', "SELECT 1");
	tagged(&b, 'C', "CREATE TABLE");
	int_column(&b);
	int_row(&b, "2");
	int_row(&b, "3");
	tagged(&b, 'C', "SELECT 2");
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
	CHECK_INT(pgembed_result_ntuples(r), 2);
	CHECK_STR(pgembed_result_command_tag(r), "SELECT 2");
	CHECK_STR(pgembed_result_value(r, 1, 0), "3");
	check_cells_in_place(r);
	pgembed_result_free(r);
}

static void
test_batch_sums_rows(void)
{
	messages	b = {0};
	pgembed_result *r;

	tagged(&b, 'C', "INSERT 0 2");
	tagged(&b, 'C', "UPDATE 0");
	tagged(&b, 'C', "INSERT 0 3");
	ready(&b, 'I');
	r = parse(&b, true);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
	CHECK_INT(pgembed_result_rows_affected(r), 5);
	CHECK_STR(pgembed_result_command_tag(r), "INSERT 0 3");
	pgembed_result_free(r);

	/* not a batch: the last statement's count */
	tagged(&b, 'C', "INSERT 0 2");
	tagged(&b, 'C', "INSERT 0 3");
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_rows_affected(r), 3);
	pgembed_result_free(r);

	/* a tag without a count */
	tagged(&b, 'C', "CREATE TABLE");
	r = parse(&b, true);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_rows_affected(r), 0);
	pgembed_result_free(r);
	tagged(&b, 'C', "CREATE TABLE");
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_rows_affected(r), -1);
	pgembed_result_free(r);
}

static void
test_error_fields(void)
{
	static const char *const first[] = {"SERROR", "VERROR", "C22012", "Mdivision by zero",
	"Dthe detail", "Hthe hint", "P8"};
	static const char *const second[] = {"SERROR", "VERROR", "C42P01", "Mnot the first"};
	messages	b = {0};
	pgembed_result *r;
	const pgembed_error *err;

	int_column(&b);
	int_row(&b, "1");
	fields(&b, 'E', 7, first);
	tagged(&b, 'C', "SELECT 1");
	fields(&b, 'E', 4, second);
	ready(&b, 'E');
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_ERROR);
	err = pgembed_result_error(r);
	REQUIRE(err != NULL);
	CHECK_STR(pgembed_error_sqlstate(err), "22012");
	CHECK_STR(pgembed_error_severity(err), "ERROR");
	CHECK_STR(pgembed_error_message(err), "division by zero");
	CHECK_STR(pgembed_error_field(err, PGEMBED_DIAG_MESSAGE_DETAIL), "the detail");
	CHECK_STR(pgembed_error_field(err, PGEMBED_DIAG_MESSAGE_HINT), "the hint");
	CHECK_STR(pgembed_error_field(err, PGEMBED_DIAG_STATEMENT_POSITION), "8");
	CHECK(pgembed_error_field(err, PGEMBED_DIAG_TABLE_NAME) == NULL);
	/* the rows before the error are no result, nor is a tag after it */
	CHECK_INT(pgembed_result_ntuples(r), 0);
	CHECK_INT(pgembed_result_nfields(r), 0);
	CHECK_STR(pgembed_result_command_tag(r), "");
	CHECK_INT(pgembed_result_transaction_status(r), 'E');
	pgembed_result_free(r);
}

static void
test_notices_kept(void)
{
	static const char *const one[] = {"SNOTICE", "VNOTICE", "C00000", "Mfirst notice"};
	static const char *const two[] = {"SWARNING", "VWARNING", "C01000", "Msecond notice", "Da detail"};
	messages	b = {0};
	pgembed_result *r;

	fields(&b, 'N', 4, one);
	int_column(&b);
	int_row(&b, "6");
	fields(&b, 'N', 5, two);
	int_row(&b, "7");
	tagged(&b, 'C', "SELECT 2");
	ready(&b, 'T');
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
	CHECK_INT(pgembed_result_ntuples(r), 2);
	CHECK_STR(pgembed_result_value(r, 0, 0), "6");
	CHECK_STR(pgembed_result_value(r, 1, 0), "7");
	check_cells_in_place(r);
	CHECK_INT(pgembed_result_notice_count(r), 2);
	CHECK_STR(pgembed_error_message(pgembed_result_notice(r, 0)), "first notice");
	CHECK_STR(pgembed_error_severity(pgembed_result_notice(r, 0)), "NOTICE");
	CHECK_STR(pgembed_error_sqlstate(pgembed_result_notice(r, 1)), "01000");
	CHECK_STR(pgembed_error_field(pgembed_result_notice(r, 1), PGEMBED_DIAG_MESSAGE_DETAIL), "a detail");
	CHECK(pgembed_result_notice(r, 2) == NULL);
	CHECK(pgembed_result_error(r) == NULL);
	CHECK_INT(pgembed_result_transaction_status(r), 'T');
	pgembed_result_free(r);
}

static void
test_empty_query(void)
{
	messages	b = {0};
	pgembed_result *r;

	bare(&b, 'I');
	ready(&b, 'I');
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_EMPTY_QUERY);
	CHECK_STR(pgembed_result_command_tag(r), "");
	CHECK_INT(pgembed_result_rows_affected(r), -1);
	pgembed_result_free(r);

	/* nothing at all: a command without rows */
	r = front_result_from_messages(malloc(1), 0, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
	CHECK_STR(pgembed_result_command_tag(r), "");
	CHECK_INT(pgembed_result_ntuples(r), 0);
	CHECK(!r->saw_ready);
	pgembed_result_free(r);
}

static void
test_describe_only(void)
{
	static const char *const names[] = {"id", "name"};
	static const uint32_t types[] = {20, 25};
	messages	b = {0};
	pgembed_result *r;

	/* ParameterDescription, RowDescription and no execution */
	begin(&b, 't');
	put_i16(&b, 2);
	put_i32(&b, 23);
	put_i32(&b, 1043);
	end(&b);
	row_description(&b, 2, names, types, 0);
	ready(&b, 'I');
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
	CHECK_INT(pgembed_result_ntuples(r), 0);
	CHECK_INT(pgembed_result_nfields(r), 2);
	CHECK_STR(pgembed_result_field_name(r, 1), "name");
	CHECK_INT(pgembed_result_nparams(r), 2);
	CHECK_INT(pgembed_result_param_type(r, 0), 23);
	CHECK_INT(pgembed_result_param_type(r, 1), 1043);
	CHECK_INT(pgembed_result_param_type(r, 2), 0);
	pgembed_result_free(r);

	/* a statement without rows describes as NoData */
	begin(&b, 't');
	put_i16(&b, 0);
	end(&b);
	bare(&b, 'n');
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
	CHECK_INT(pgembed_result_nfields(r), 0);
	CHECK_INT(pgembed_result_nparams(r), 0);
	pgembed_result_free(r);
}

static void
test_suspended_portal(void)
{
	messages	b = {0};
	pgembed_result *r;

	int_column(&b);
	int_row(&b, "1");
	int_row(&b, "2");
	bare(&b, 's');
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_SUSPENDED);
	CHECK_INT(pgembed_result_ntuples(r), 2);
	CHECK_STR(pgembed_result_value(r, 1, 0), "2");
	CHECK_STR(pgembed_result_command_tag(r), "");
	CHECK_INT(pgembed_result_rows_affected(r), -1);
	pgembed_result_free(r);
}

static void
test_copy_responses(void)
{
	messages	b = {0};
	pgembed_result *r;

	begin(&b, 'G');
	put(&b, "\0", 1);
	put_i16(&b, 0);
	end(&b);
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_IN);
	pgembed_result_free(r);

	begin(&b, 'H');
	put(&b, "\0", 1);
	put_i16(&b, 0);
	end(&b);
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_OUT);
	pgembed_result_free(r);
}

static void
test_rows_without_columns(void)
{
	messages	b = {0};
	pgembed_result *r;

	row_description(&b, 0, NULL, NULL, 0);
	for (int i = 0; i < 3; i++)
		data_row(&b, 0, NULL);
	tagged(&b, 'C', "SELECT 3");
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
	CHECK_INT(pgembed_result_nfields(r), 0);
	CHECK_INT(pgembed_result_ntuples(r), 3);
	CHECK(pgembed_result_cells(r) == NULL);
	pgembed_result_free(r);
}

static void
test_short_row_reads_null(void)
{
	static const char *const names[] = {"a", "b", "c"};
	static const uint32_t types[] = {25, 25, 25};
	static const char *const row[] = {"only"};
	messages	b = {0};
	pgembed_result *r;

	row_description(&b, 3, names, types, 0);
	data_row(&b, 1, row);
	tagged(&b, 'C', "SELECT 1");
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_STR(pgembed_result_value(r, 0, 0), "only");
	CHECK(pgembed_result_is_null(r, 0, 1));
	CHECK(pgembed_result_is_null(r, 0, 2));
	check_cells_in_place(r);
	pgembed_result_free(r);
}

/* The direct API does not deliver notifications: the message is passed over. */
static void
test_notification_passed_over(void)
{
	messages	b = {0};
	pgembed_result *r;

	int_column(&b);
	begin(&b, 'A');
	put_i32(&b, 4242);
	put_str(&b, "channel");
	put_str(&b, "payload");
	end(&b);
	int_row(&b, "5");
	tagged(&b, 'C', "SELECT 1");
	ready(&b, 'I');
	r = parse(&b, false);
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
	CHECK_INT(pgembed_result_ntuples(r), 1);
	CHECK_STR(pgembed_result_value(r, 0, 0), "5");
	CHECK_INT(pgembed_result_notice_count(r), 0);
	/* ... and kept as the result's notification */
	CHECK_INT(pgembed_result_notification_count(r), 1);
	REQUIRE(pgembed_result_notification(r, 0) != NULL);
	CHECK_INT(pgembed_result_notification(r, 0)->pid, 4242);
	CHECK_STR(pgembed_result_notification(r, 0)->channel, "channel");
	CHECK_STR(pgembed_result_notification(r, 0)->payload, "payload");
	CHECK(pgembed_result_notification(r, 1) == NULL);
	{
		pgembed_result_header h;

		CHECK_INT(pgembed_result_header_of(r, &h), 0);
		CHECK_INT(h.nnotifications, 1);
	}
	pgembed_result_free(r);
}

static void
test_front_errors(void)
{
	static const char *const codes[] = {"SERROR", "C23505", "Mduplicate", "Ddetail"};
	messages	b = {0};
	pgembed_error *made = front_make_error("55000", "FATAL", "engine %d is %s", 3, "busy");
	pgembed_error *copy;
	pgembed_result *r;

	REQUIRE(made != NULL);
	CHECK_STR(pgembed_error_sqlstate(made), "55000");
	CHECK_STR(pgembed_error_severity(made), "FATAL");
	CHECK_STR(pgembed_error_field(made, 'S'), "FATAL");
	CHECK_STR(pgembed_error_message(made), "engine 3 is busy");
	pgembed_error_free(made);

	/* a copy outlives the result its fields pointed into */
	fields(&b, 'E', 4, codes);
	r = parse(&b, false);
	REQUIRE(r != NULL);
	copy = front_copy_error(pgembed_result_error(r));
	pgembed_result_free(r);
	REQUIRE(copy != NULL);
	CHECK_STR(pgembed_error_sqlstate(copy), "23505");
	CHECK_STR(pgembed_error_message(copy), "duplicate");
	CHECK_STR(pgembed_error_field(copy, 'D'), "detail");
	pgembed_error_free(copy);

	r = front_result_error(PGEMBED_MISUSE, "22023", "invalid %s", "arguments");
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_MISUSE);
	CHECK_STR(pgembed_error_sqlstate(pgembed_result_error(r)), "22023");
	CHECK_STR(pgembed_error_message(pgembed_result_error(r)), "invalid arguments");
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_IDLE);
	pgembed_result_free(r);

	r = front_oom();
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_ERROR);
	CHECK_STR(pgembed_error_sqlstate(pgembed_result_error(r)), "53200");
	pgembed_result_free(r);
}

const test_case result_tests[] = {
	{"result: rows are indexed in place, each value NUL-terminated", test_select_rows},
	{"result: binary values read as numbers", test_binary_values},
	{"result: text values read as numbers, bad ones refused", test_text_values_as_numbers},
	{"result: the last statement's rows and tag are the result", test_last_statement_wins},
	{"result: a batch sums the rows affected", test_batch_sums_rows},
	{"result: the first error wins and keeps its fields", test_error_fields},
	{"result: notices are kept in order beside the rows", test_notices_kept},
	{"result: an empty query, and no messages at all", test_empty_query},
	{"result: a Describe without execution is the description", test_describe_only},
	{"result: a suspended portal keeps its rows", test_suspended_portal},
	{"result: COPY responses set the status", test_copy_responses},
	{"result: rows without columns still count", test_rows_without_columns},
	{"result: a row shorter than its description reads as NULLs", test_short_row_reads_null},
	{"result: a notification is passed over by the rows and kept", test_notification_passed_over},
	{"result: the front's own errors", test_front_errors},
	{NULL, NULL}
};
