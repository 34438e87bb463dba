/*
 * test_direct.c
 *	  Prepared statements on the direct path (engine_direct.c): the same
 *	  results, errors, transaction states, cancels and timeouts as over the
 *	  protocol, and the statements it leaves to the protocol.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pgembed_result *
prepare_ok(pgembed_engine *e, const char *name, const char *sql)
{
	pgembed_result *r = pgembed_prepare(e, name, sql, 0, NULL);

	CHECK(pgembed_result_error(r) == NULL);
	return r;
}

static const char *
sqlstate(pgembed_result *r)
{
	static char buf[8];
	const pgembed_error *err = pgembed_result_error(r);

	snprintf(buf, sizeof(buf), "%s", err ? pgembed_error_sqlstate(err) : "00000");
	return buf;
}

/* one execution with one or two text parameters */
static pgembed_result *
exec1(pgembed_engine *e, const char *name, const char *a)
{
	const char *v[1];

	v[0] = a;
	return pgembed_exec_prepared(e, name, 1, v, NULL, NULL, PGEMBED_FORMAT_AUTO);
}

static pgembed_result *
exec2(pgembed_engine *e, const char *name, const char *a, const char *b)
{
	const char *v[2];

	v[0] = a;
	v[1] = b;
	return pgembed_exec_prepared(e, name, 2, v, NULL, NULL, PGEMBED_FORMAT_AUTO);
}

static void
test_results_as_over_the_protocol(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pgembed_result *r;
	const char *one[] = {"2"};
	const char *nul[] = {NULL};
	int32_t		v;

	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE TABLE t(id int PRIMARY KEY, v text, f float8)"), "00000");
	CHECK_STR(sqlstate_of(e, "INSERT INTO t VALUES (1, 'one', 1.5), (2, 'two', 2.5), (3, NULL, NULL)"), "00000");
	pgembed_result_free(prepare_ok(e, "q", "SELECT id, v, f FROM t WHERE id >= $1 ORDER BY id"));
	r = pgembed_exec_prepared(e, "q", 1, one, NULL, NULL, PGEMBED_FORMAT_AUTO);
	CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
	CHECK_STR(pgembed_result_command_tag(r), "SELECT 2");
	CHECK_INT(pgembed_result_ntuples(r), 2);
	CHECK_INT(pgembed_result_nfields(r), 3);
	CHECK_STR(pgembed_result_field_name(r, 1), "v");
	CHECK_INT(pgembed_result_field_type(r, 2), 701);
	CHECK_INT(pgembed_result_field_format(r, 0), 1);	/* int4: binary under
														 * AUTO */
	CHECK_INT(pgembed_result_field_format(r, 1), 0);
	CHECK(pgembed_result_get_int32(r, 1, 0, &v) == 0 && v == 3);
	CHECK(pgembed_result_is_null(r, 1, 1));
	CHECK_STR(pgembed_result_value(r, 0, 1), "two");
	pgembed_result_free(r);
	/* NULL parameter: no rows, no error */
	r = pgembed_exec_prepared(e, "q", 1, nul, NULL, NULL, PGEMBED_FORMAT_TEXT);
	CHECK_STR(pgembed_result_command_tag(r), "SELECT 0");
	CHECK_INT(pgembed_result_field_format(r, 0), 0);
	pgembed_result_free(r);
	/* a DML statement without RETURNING: no columns; with RETURNING: rows */
	pgembed_result_free(prepare_ok(e, "u", "UPDATE t SET v = upper(v) WHERE id < $1"));
	r = exec1(e, "u", "3");
	CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
	CHECK_STR(pgembed_result_command_tag(r), "UPDATE 2");
	CHECK_INT(pgembed_result_rows_affected(r), 2);
	pgembed_result_free(r);
	pgembed_result_free(prepare_ok(e, "d", "DELETE FROM t WHERE id = $1 RETURNING v"));
	r = exec1(e, "d", "1");
	CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
	CHECK_STR(pgembed_result_command_tag(r), "DELETE 1");
	CHECK_STR(pgembed_result_value(r, 0, 0), "ONE");
	pgembed_result_free(r);
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static void
test_errors_and_transaction_states(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pgembed_result *r;
	const char *dup[] = {"1", "x"};

	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE TABLE t(id int PRIMARY KEY, v text)"), "00000");
	CHECK_STR(sqlstate_of(e, "INSERT INTO t VALUES (1, 'one')"), "00000");
	pgembed_result_free(prepare_ok(e, "ins", "INSERT INTO t VALUES ($1, $2)"));
	/* a parameter that does not convert: the context names it, as Bind's does */
	r = exec2(e, "ins", "abc", "x");
	CHECK_STR(sqlstate(r), "22P02");
	CHECK(pgembed_error_field(pgembed_result_error(r), PGEMBED_DIAG_CONTEXT) != NULL &&
		  strstr(pgembed_error_field(pgembed_result_error(r), PGEMBED_DIAG_CONTEXT),
				 "unnamed portal parameter $1") != NULL);
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_IDLE);
	pgembed_result_free(r);
	/* a constraint: outside a block the statement's transaction is gone */
	r = pgembed_exec_prepared(e, "ins", 2, dup, NULL, NULL, PGEMBED_FORMAT_AUTO);
	CHECK_STR(sqlstate(r), "23505");
	CHECK_STR(pgembed_error_field(pgembed_result_error(r), PGEMBED_DIAG_CONSTRAINT_NAME), "t_pkey");
	CHECK_INT(pgembed_result_failed_set(r), -1);
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_IDLE);
	pgembed_result_free(r);
	/* inside one, the block fails and refuses what follows until ROLLBACK */
	CHECK_STR(sqlstate_of(e, "BEGIN"), "00000");
	r = exec2(e, "ins", "2", "two");
	CHECK_STR(sqlstate(r), "00000");
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_INBLOCK);
	pgembed_result_free(r);
	r = pgembed_exec_prepared(e, "ins", 2, dup, NULL, NULL, PGEMBED_FORMAT_AUTO);
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_FAILED);
	pgembed_result_free(r);
	r = exec2(e, "ins", "3", "three");
	CHECK_STR(sqlstate(r), "25P02");
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_FAILED);
	pgembed_result_free(r);
	CHECK_STR(sqlstate_of(e, "ROLLBACK"), "00000");
	CHECK_STR(scalar(e, "SELECT count(*) FROM t"), "1");
	/* committed outside a block: visible at once */
	r = exec2(e, "ins", "4", "four");
	CHECK_STR(sqlstate(r), "00000");
	pgembed_result_free(r);
	CHECK_STR(scalar(e, "SELECT v FROM t WHERE id = 4"), "four");
	/* the statement went away */
	pgembed_result_free(pgembed_deallocate(e, "ins"));
	r = pgembed_exec_prepared(e, "ins", 2, dup, NULL, NULL, PGEMBED_FORMAT_AUTO);
	CHECK_STR(sqlstate(r), "26000");
	pgembed_result_free(r);
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static void
test_batch_failure_names_its_set(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pgembed_result *r;
	const char *sets[] = {"10", "a", "11", "b", "1", "c", "12", "d"};
	const char *upd_sets[] = {"1", "uno", "9", "none"};
	const char *twice[] = {"20", "x", "20", "y"};

	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE TABLE t(id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one')"), "00000");
	pgembed_result_free(prepare_ok(e, "ins", "INSERT INTO t VALUES ($1, $2)"));
	pgembed_result_free(prepare_ok(e, "upd", "UPDATE t SET v = $2 WHERE id = $1"));
	r = pgembed_exec_prepared_batch(e, "ins", 4, 2, sets, NULL, NULL);
	CHECK_STR(sqlstate(r), "23505");
	CHECK_INT(pgembed_result_failed_set(r), 2);
	pgembed_result_free(r);
	/* nothing of it remains */
	CHECK_STR(scalar(e, "SELECT count(*) FROM t"), "1");
	r = pgembed_exec_prepared_batch(e, "upd", 2, 2, upd_sets, NULL, NULL);
	CHECK_STR(sqlstate(r), "00000");
	CHECK_INT(pgembed_result_rows_affected(r), 1);
	CHECK_INT(pgembed_result_failed_set(r), -1);
	pgembed_result_free(r);
	CHECK_STR(scalar(e, "SELECT v FROM t WHERE id = 1"), "uno");
	/* inside a block the sets see each other, and the block takes the failure */
	CHECK_STR(sqlstate_of(e, "BEGIN"), "00000");
	r = pgembed_exec_prepared_batch(e, "ins", 2, 2, twice, NULL, NULL);
	CHECK_STR(sqlstate(r), "23505");
	CHECK_INT(pgembed_result_failed_set(r), 1);
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_FAILED);
	pgembed_result_free(r);
	CHECK_STR(sqlstate_of(e, "ROLLBACK"), "00000");
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static void
test_left_to_the_protocol(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pgembed_result *r;
	const char *eight_nine[] = {"8", "9"};

	REQUIRE(e != NULL);
	/* utility statements */
	pgembed_result_free(prepare_ok(e, "b", "BEGIN"));
	r = pgembed_exec_prepared(e, "b", 0, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO);
	CHECK_STR(pgembed_result_command_tag(r), "BEGIN");
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_INBLOCK);
	pgembed_result_free(r);
	CHECK_STR(sqlstate_of(e, "COMMIT"), "00000");
	pgembed_result_free(prepare_ok(e, "into", "SELECT 1 AS n INTO made"));
	r = pgembed_exec_prepared(e, "into", 0, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO);
	CHECK_STR(sqlstate(r), "00000");
	pgembed_result_free(r);
	CHECK_STR(scalar(e, "SELECT n FROM made"), "1");
	/* a rule that makes two statements of one */
	CHECK_STR(sqlstate_of(e, "CREATE TABLE a(n int); CREATE TABLE log(n int); "
						  "CREATE RULE also AS ON INSERT TO a DO ALSO INSERT INTO log VALUES (NEW.n)"), "00000");
	pgembed_result_free(prepare_ok(e, "ia", "INSERT INTO a VALUES ($1)"));
	r = exec1(e, "ia", "7");
	CHECK_STR(sqlstate(r), "00000");
	pgembed_result_free(r);
	r = pgembed_exec_prepared_batch(e, "ia", 2, 1, eight_nine, NULL, NULL);
	CHECK_STR(sqlstate(r), "00000");
	pgembed_result_free(r);
	CHECK_STR(scalar(e, "SELECT string_agg(n::text, ',' ORDER BY n) FROM log"), "7,8,9");
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static int	logged_execute;
static int	logged_duration;

static void
count_log(void *context, int elevel, const char *line)
{
	(void) context;
	(void) elevel;
	if (strstr(line, "execute s: SELECT shout($1)") != NULL && strstr(line, "duration") == NULL)
		logged_execute++;
	if (strncmp(line, "duration: ", 10) == 0 || strstr(line, " duration: ") != NULL)
		logged_duration++;
}

static void
test_notices_and_logging(void)
{
	const char *settings[] = {"log_statement=all", "log_min_duration_statement=0"};
	pgembed_engine *e = open_fresh(2, settings);
	pgembed_result *r;
	const char *abc[] = {"a", "b", "c"};

	REQUIRE(e != NULL);
	logged_execute = logged_duration = 0;
	CHECK_STR(sqlstate_of(e, "CREATE FUNCTION shout(t text) RETURNS text LANGUAGE plpgsql AS "
						  "$$BEGIN RAISE NOTICE 'heard %', t; RETURN upper(t); END$$"), "00000");
	pgembed_result_free(prepare_ok(e, "s", "SELECT shout($1)"));
	pgembed_set_log_callback(e, count_log, NULL);
	r = exec1(e, "s", "hi");
	CHECK_STR(pgembed_result_value(r, 0, 0), "HI");
	CHECK_INT(pgembed_result_notice_count(r), 1);
	CHECK_STR(pgembed_error_message(pgembed_result_notice(r, 0)), "heard hi");
	pgembed_result_free(r);
	r = pgembed_exec_prepared_batch(e, "s", 3, 1, abc, NULL, NULL);
	CHECK_INT(pgembed_result_notice_count(r), 3);
	pgembed_result_free(r);

	/*
	 * log_statement and log_min_duration_statement: at least once per
	 * execution
	 */
	CHECK_INT(logged_execute, 4);
	CHECK(logged_duration >= 4);
	CHECK_INT(pgembed_close(e, NULL), 0);
}

typedef struct
{
	pgembed_engine *e;
	int			delay_ms;
} cancel_arg;

static void *
cancel_later(void *p)
{
	cancel_arg *a = p;

	usleep(a->delay_ms * 1000);
	pgembed_cancel(a->e);
	return NULL;
}

static void
test_cancel_and_statement_timeout(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pgembed_result *r;
	pthread_t	t;
	cancel_arg	a;
	time_t		t0;

	REQUIRE(e != NULL);
	pgembed_result_free(prepare_ok(e, "sleep", "SELECT pg_sleep($1)"));
	a.e = e;
	a.delay_ms = 200;
	pthread_create(&t, NULL, cancel_later, &a);
	t0 = time(NULL);
	r = exec1(e, "sleep", "60");
	CHECK_STR(sqlstate(r), "57014");
	CHECK(strstr(pgembed_error_message(pgembed_result_error(r)), "user request") != NULL);
	CHECK(time(NULL) - t0 < 10);
	pgembed_result_free(r);
	pthread_join(t, NULL);
	/* a batch: the cancel ends it, and nothing of it stays */
	CHECK_STR(sqlstate_of(e, "CREATE TABLE n(i int)"), "00000");
	pgembed_result_free(prepare_ok(e, "slow", "INSERT INTO n SELECT $1::int FROM pg_sleep(0.05)"));
	{
		const char *vals[200];

		for (int i = 0; i < 200; i++)
			vals[i] = "1";
		pthread_create(&t, NULL, cancel_later, &a);
		r = pgembed_exec_prepared_batch(e, "slow", 200, 1, vals, NULL, NULL);
		CHECK_STR(sqlstate(r), "57014");
		CHECK(pgembed_result_failed_set(r) > 0);
		pgembed_result_free(r);
		pthread_join(t, NULL);
	}
	CHECK_STR(scalar(e, "SELECT count(*) FROM n"), "0");
	CHECK_STR(sqlstate_of(e, "SET statement_timeout = '100ms'"), "00000");
	t0 = time(NULL);
	r = exec1(e, "sleep", "30");
	CHECK_STR(sqlstate(r), "57014");
	CHECK(strstr(pgembed_error_message(pgembed_result_error(r)), "statement timeout") != NULL);
	CHECK(time(NULL) - t0 < 10);
	pgembed_result_free(r);

	/*
	 * each execution of a batch has its own timeout: three sleeps of 0.4 s
	 * under a 1 s timeout (together 1.2 s; margins wide enough for a loaded
	 * machine, where 60 ms sleeps under 100 ms timed out once)
	 */
	CHECK_STR(sqlstate_of(e, "SET statement_timeout = '1s'"), "00000");
	{
		const char *vals[] = {"0.4", "0.4", "0.4"};

		r = pgembed_exec_prepared_batch(e, "sleep", 3, 1, vals, NULL, NULL);
		CHECK_STR(sqlstate(r), "00000");
		pgembed_result_free(r);
	}
	CHECK_STR(sqlstate_of(e, "RESET statement_timeout"), "00000");
	CHECK_STR(scalar(e, "SELECT 'alive'"), "alive");
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static void
test_idle_in_transaction_timeout_not_armed_while_running(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pgembed_result *r;

	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "SET idle_in_transaction_session_timeout = '300ms'"), "00000");
	pgembed_result_free(prepare_ok(e, "sleep", "SELECT pg_sleep($1)"));
	CHECK_STR(sqlstate_of(e, "BEGIN"), "00000");
	/* busy for longer than the timeout: not idle, the session stays */
	r = exec1(e, "sleep", "0.6");
	CHECK_STR(sqlstate(r), "00000");
	pgembed_result_free(r);
	CHECK_STR(sqlstate_of(e, "COMMIT"), "00000");
	CHECK_INT(pgembed_close(e, NULL), 0);
}

/* pgembed_result_header_of: the accessors' answers in one struct */
static void
test_result_header(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pgembed_result *r;
	pgembed_result_header h;

	REQUIRE(e != NULL);
	pgembed_result_free(prepare_ok(e, "q", "SELECT n AS num, 'x' || n AS txt FROM generate_series(1, 3) n"));
	r = pgembed_exec_prepared(e, "q", 0, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO);
	CHECK_INT(pgembed_result_header_of(r, &h), 0);
	CHECK_INT(h.status, pgembed_result_status(r));
	CHECK_INT(h.tx_status, pgembed_result_transaction_status(r));
	CHECK_INT(h.ntuples, 3);
	CHECK_INT(h.nfields, 2);
	CHECK_INT(h.rows_affected, pgembed_result_rows_affected(r));
	CHECK_INT(h.failed_set, -1);
	CHECK_INT(h.nnotices, 0);
	CHECK_STR(h.command_tag, "SELECT 3");
	CHECK(h.error == NULL);
	CHECK(h.cells == pgembed_result_cells(r));
	CHECK_STR(h.fields[1].name, "txt");
	CHECK_INT(h.fields[0].type, 23);
	CHECK_INT(h.fields[0].format, 1);
	CHECK_INT(h.fields[1].format, 0);
	CHECK_INT(h.fields[1].typmod, -1);
	CHECK_STR(h.cells[2 * 2 + 1].value, "x3");
	pgembed_result_free(r);
	r = pgembed_exec(e, "SELECT 1/0");
	CHECK_INT(pgembed_result_header_of(r, &h), 0);
	CHECK_INT(h.status, PGEMBED_ERROR);
	CHECK(h.error == pgembed_result_error(r));
	CHECK_STR(pgembed_error_sqlstate(h.error), "22012");
	pgembed_result_free(r);
	CHECK_INT(pgembed_result_header_of(NULL, &h), -1);
	CHECK_INT(pgembed_close(e, NULL), 0);
}

/*
 * The direct path keeps the columns' output functions and the parameters'
 * input functions from one execution to the next (engine_direct.c): other
 * statements with other types at the same positions, another parameter
 * format, and a type whose send and receive functions changed (ALTER TYPE
 * ... SET) must still get their own.
 */
static void
test_kept_functions_follow_types(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pgembed_result *r;
	int32_t		v;
	const char *four[] = {"\0\0\0\7"};
	const char *two[] = {"\0\7"};
	int32_t		len4[] = {4};
	int32_t		len2[] = {2};
	int32_t		binary[] = {1};

	REQUIRE(e != NULL);
	pgembed_result_free(prepare_ok(e, "i", "SELECT $1::int4 + 1 AS x"));
	pgembed_result_free(prepare_ok(e, "t", "SELECT $1::text || 'x' AS x"));
	pgembed_result_free(prepare_ok(e, "d", "SELECT $1::date + 1 AS x"));
	for (int k = 0; k < 3; k++)
	{
		r = exec1(e, "i", "41");
		CHECK(pgembed_result_get_int32(r, 0, 0, &v) == 0 && v == 42);
		pgembed_result_free(r);
		r = exec1(e, "t", "a");
		CHECK_STR(pgembed_result_value(r, 0, 0), "ax");
		pgembed_result_free(r);
		r = exec1(e, "d", "2026-12-01");
		CHECK_STR(pgembed_result_value(r, 0, 0), "2026-12-02");
		pgembed_result_free(r);
		/* the same statement with a binary parameter and text results */
		r = pgembed_exec_prepared(e, "i", 1, four, len4, binary, PGEMBED_FORMAT_TEXT);
		CHECK_STR(pgembed_result_value(r, 0, 0), "8");
		pgembed_result_free(r);
	}

	/*
	 * a type without a send function: refused in binary, then fine in text
	 * and for others
	 */
	pgembed_result_free(prepare_ok(e, "a", "SELECT 'postgres=r/postgres'::aclitem AS x, 1 AS y"));
	for (int k = 0; k < 2; k++)
	{
		r = pgembed_exec_prepared(e, "a", 0, NULL, NULL, NULL, PGEMBED_FORMAT_BINARY);
		CHECK_STR(sqlstate(r), "42883");
		pgembed_result_free(r);
		r = pgembed_exec_prepared(e, "a", 0, NULL, NULL, NULL, PGEMBED_FORMAT_TEXT);
		CHECK_STR(pgembed_result_value(r, 0, 0), "postgres=r/postgres");
		CHECK_STR(pgembed_result_value(r, 0, 1), "1");
		pgembed_result_free(r);
		r = exec1(e, "i", "1");
		CHECK(pgembed_result_get_int32(r, 0, 0, &v) == 0 && v == 2);
		pgembed_result_free(r);
	}

	/* a type of our own, made of int4's functions, whose binary I/O changes */
	CHECK_STR(sqlstate_of(e, "CREATE TYPE myint"), "00000");
	CHECK_STR(sqlstate_of(e, "CREATE FUNCTION myint_in(cstring) RETURNS myint AS 'int4in' LANGUAGE internal IMMUTABLE STRICT"), "00000");
	CHECK_STR(sqlstate_of(e, "CREATE FUNCTION myint_out(myint) RETURNS cstring AS 'int4out' LANGUAGE internal IMMUTABLE STRICT"), "00000");
	CHECK_STR(sqlstate_of(e, "CREATE FUNCTION myint_recv(internal) RETURNS myint AS 'int4recv' LANGUAGE internal IMMUTABLE STRICT"), "00000");
	CHECK_STR(sqlstate_of(e, "CREATE FUNCTION myint_send(myint) RETURNS bytea AS 'int4send' LANGUAGE internal IMMUTABLE STRICT"), "00000");
	CHECK_STR(sqlstate_of(e, "CREATE FUNCTION myint_recv2(internal) RETURNS myint AS 'int2recv' LANGUAGE internal IMMUTABLE STRICT"), "00000");
	CHECK_STR(sqlstate_of(e, "CREATE FUNCTION myint_send2(myint) RETURNS bytea AS 'int2send' LANGUAGE internal IMMUTABLE STRICT"), "00000");
	CHECK_STR(sqlstate_of(e, "CREATE TYPE myint (INPUT = myint_in, OUTPUT = myint_out, RECEIVE = myint_recv,"
						  " SEND = myint_send, LIKE = int4)"), "00000");
	pgembed_result_free(prepare_ok(e, "m", "SELECT $1::myint AS x"));
	for (int k = 0; k < 2; k++)
	{
		r = pgembed_exec_prepared(e, "m", 1, four, len4, binary, PGEMBED_FORMAT_BINARY);
		CHECK_STR(sqlstate(r), "00000");
		CHECK_INT(pgembed_result_length(r, 0, 0), 4);
		pgembed_result_free(r);
	}
	CHECK_STR(sqlstate_of(e, "ALTER TYPE myint SET (SEND = myint_send2, RECEIVE = myint_recv2)"), "00000");
	/* int2recv reads two bytes: four are too many, as over the protocol */
	r = pgembed_exec_prepared(e, "m", 1, four, len4, binary, PGEMBED_FORMAT_BINARY);
	CHECK_STR(sqlstate(r), "22P03");
	pgembed_result_free(r);
	r = pgembed_exec_prepared(e, "m", 1, two, len2, binary, PGEMBED_FORMAT_BINARY);
	CHECK_STR(sqlstate(r), "00000");
	CHECK_INT(pgembed_result_length(r, 0, 0), 2);
	pgembed_result_free(r);
	r = pgembed_exec_prepared(e, "m", 1, two, len2, binary, PGEMBED_FORMAT_TEXT);
	CHECK_STR(pgembed_result_value(r, 0, 0), "7");
	pgembed_result_free(r);

	/*
	 * a domain's input function keeps its constraints: a constraint added
	 * later applies
	 */
	CHECK_STR(sqlstate_of(e, "CREATE DOMAIN posint AS int4 CHECK (VALUE > 0)"), "00000");
	pgembed_result_free(prepare_ok(e, "p", "SELECT $1::posint AS x"));
	r = exec1(e, "p", "5");
	/* RowDescription names a domain's base type: int4, binary under AUTO */
	CHECK(pgembed_result_get_int32(r, 0, 0, &v) == 0 && v == 5);
	pgembed_result_free(r);
	r = exec1(e, "p", "-1");
	CHECK_STR(sqlstate(r), "23514");
	pgembed_result_free(r);
	r = exec1(e, "p", "11");
	CHECK_STR(sqlstate(r), "00000");
	pgembed_result_free(r);
	CHECK_STR(sqlstate_of(e, "ALTER DOMAIN posint ADD CONSTRAINT small CHECK (VALUE < 10)"), "00000");
	r = exec1(e, "p", "11");
	CHECK_STR(sqlstate(r), "23514");
	pgembed_result_free(r);
	r = exec1(e, "p", "7");
	CHECK(pgembed_result_get_int32(r, 0, 0, &v) == 0 && v == 7);
	pgembed_result_free(r);
	CHECK_INT(pgembed_close(e, NULL), 0);
}

/*
 * A result of at most 4 columns and 8 cells keeps them in the result itself
 * (front_result.c): results on both sides of those sizes, prepared (the
 * direct path) and literal, read the same.
 */
static void
test_small_and_larger_results(void)
{
	pgembed_engine *e = open_fresh(0, NULL);

	REQUIRE(e != NULL);
	for (int ncols = 1; ncols <= 6; ncols++)
		for (int nrows = 1; nrows <= 3; nrows++)
		{
			char		sql[512];
			size_t		len;

			len = snprintf(sql, sizeof(sql), "SELECT g AS c1");
			for (int c = 2; c <= ncols; c++)
				len += snprintf(sql + len, sizeof(sql) - len, ", (g * 10 + %d)::text AS c%d", c, c);
			snprintf(sql + len, sizeof(sql) - len, " FROM generate_series(1, %d) g", nrows);
			pgembed_result_free(prepare_ok(e, "s", sql));
			for (int way = 0; way < 2; way++)
			{
				pgembed_result *r = way == 0
					? pgembed_exec_prepared(e, "s", 0, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO)
					: pgembed_exec(e, sql);
				pgembed_result_header h;

				CHECK_INT(pgembed_result_ntuples(r), nrows);
				CHECK_INT(pgembed_result_nfields(r), ncols);
				CHECK_INT(pgembed_result_header_of(r, &h), 0);
				CHECK(h.cells == pgembed_result_cells(r));
				for (int row = 0; row < nrows; row++)
				{
					int32_t		v;

					CHECK(pgembed_result_get_int32(r, row, 0, &v) == 0 && v == row + 1);
					for (int c = 2; c <= ncols; c++)
					{
						char		want[32];
						char		name[8];

						snprintf(want, sizeof(want), "%d", (row + 1) * 10 + c);
						snprintf(name, sizeof(name), "c%d", c);
						CHECK_STR(pgembed_result_value(r, row, c - 1), want);
						CHECK_STR(pgembed_result_field_name(r, c - 1), name);
					}
				}
				pgembed_result_free(r);
			}
			pgembed_result_free(pgembed_deallocate(e, "s"));
		}
	CHECK_INT(pgembed_close(e, NULL), 0);
}

const test_case direct_tests[] = {
	{"direct: the result header in one call", test_result_header},
	{"direct: results as over the protocol", test_results_as_over_the_protocol},
	{"direct: kept input and output functions follow types and ALTER TYPE", test_kept_functions_follow_types},
	{"direct: results on both sides of the sizes kept in the result", test_small_and_larger_results},
	{"direct: errors and transaction states", test_errors_and_transaction_states},
	{"direct: a failing batch names its set", test_batch_failure_names_its_set},
	{"direct: utility statements and rules take the protocol", test_left_to_the_protocol},
	{"direct: notices and statement logging", test_notices_and_logging},
	{"direct: cancel and statement_timeout", test_cancel_and_statement_timeout},
	{"direct: idle_in_transaction_session_timeout while running", test_idle_in_transaction_timeout_not_armed_while_running},
	{NULL, NULL}
};
