/*
 * test_sync.c
 *	  Every call leaves the backend where a fresh session's would be: idle,
 *	  outside any transaction it did not ask for, reading the next call's
 *	  messages.
 *
 * A COPY started by an extended query (pgembed_exec_params, a prepared
 * statement, a cursor, a batch) and a prepared statement's description are
 * the calls that could leave the backend inside an extended query, waiting for
 * a Sync: the next call's messages were then skipped (a statement silently
 * lost), ran in the transaction the COPY had opened (its rows lost with the
 * next error), or were read as COPY data (the engine ended).
 */
#include "test_util.h"

#include <stdlib.h>

static pgembed_engine *db;

static bool
setup(void)
{
	db = open_fresh(0, NULL);
	return db != NULL && strcmp(sqlstate_of(db, "CREATE TABLE t (x int)"), "00000") == 0;
}

static void
teardown(void)
{
	if (db)
		pgembed_close(db, NULL);
	db = NULL;
}

/* a statement through the extended protocol, text results */
static pgembed_result *
extended(const char *sql)
{
	return pgembed_exec_params(db, sql, 0, NULL, NULL, NULL, NULL, PGEMBED_FORMAT_TEXT);
}

static const char *
sqlstate(const pgembed_result *r)
{
	const pgembed_error *err = pgembed_result_error(r);

	return err ? pgembed_error_sqlstate(err) : "00000";
}

/*
 * What a fresh session does: an INSERT ... RETURNING through the extended
 * protocol returns its row and the row is there, in no transaction.
 */
#define CHECK_FRESH(value) check_fresh(__FILE__, __LINE__, value)
static void
check_fresh(const char *file, int line, int value)
{
	char		sql[100];
	char		expected[32];
	pgembed_result *r;

	snprintf(sql, sizeof(sql), "INSERT INTO t VALUES (%d) RETURNING x", value);
	r = extended(sql);
	snprintf(expected, sizeof(expected), "%d", value);
	if (pgembed_result_status(r) != PGEMBED_TUPLES_OK || pgembed_result_ntuples(r) != 1 ||
		strcmp(pgembed_result_value(r, 0, 0), expected) != 0 ||
		strcmp(pgembed_result_command_tag(r), "INSERT 0 1") != 0)
		test_fail(file, line, "INSERT ... RETURNING %d: status %d, %lld rows, tag \"%s\", %s", value,
				  pgembed_result_status(r), (long long) pgembed_result_ntuples(r),
				  pgembed_result_command_tag(r), sqlstate(r));
	pgembed_result_free(r);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM t WHERE x = %d", value);
	if (strcmp(scalar(db, sql), "1") != 0)
		test_fail(file, line, "row %d not inserted", value);
	if (pgembed_transaction_status(db) != PGEMBED_TX_IDLE)
		test_fail(file, line, "transaction status %c", pgembed_transaction_status(db));
	if (strcmp(scalar(db, "SELECT now() = statement_timestamp()"), "t") != 0)
		test_fail(file, line, "a statement ran in a transaction started before it");
}

/* The case: the COPY refused, the next statement lost without a word. */
static void
test_extended_copy_in_aborted(void)
{
	pgembed_result *r;

	REQUIRE(setup());
	r = extended("COPY t FROM STDIN");
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_IN);
	pgembed_result_free(r);
	r = pgembed_copy_end(db, "not now");
	CHECK_STR(sqlstate(r), "57014");
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_IDLE);
	pgembed_result_free(r);
	CHECK_FRESH(2);
	CHECK_STR(scalar(db, "SELECT count(*) FROM t"), "1");
	teardown();
}

/* A COPY that succeeded is committed with its end, not with the next statement. */
static void
test_extended_copy_in_committed(void)
{
	pgembed_result *r;

	REQUIRE(setup());
	r = extended("COPY t FROM STDIN");
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_IN);
	pgembed_result_free(r);
	CHECK_INT(pgembed_copy_put(db, "10\n11\n", 6), 0);
	r = pgembed_copy_end(db, NULL);
	CHECK_STR(pgembed_result_command_tag(r), "COPY 2");
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_IDLE);
	pgembed_result_free(r);
	/* an error in the next statement takes nothing of the COPY with it */
	r = extended("SELECT 1/0");
	CHECK_STR(sqlstate(r), "22012");
	pgembed_result_free(r);
	CHECK_STR(scalar(db, "SELECT count(*) FROM t"), "2");
	CHECK_FRESH(3);

	/* the same with a prepared COPY */
	r = pgembed_prepare(db, "copy_t", "COPY t FROM STDIN", 0, NULL);
	CHECK_STR(sqlstate(r), "00000");
	pgembed_result_free(r);
	r = pgembed_exec_prepared(db, "copy_t", 0, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_IN);
	pgembed_result_free(r);
	CHECK_INT(pgembed_copy_put(db, "12\n", 3), 0);
	r = pgembed_copy_end(db, NULL);
	CHECK_STR(pgembed_result_command_tag(r), "COPY 1");
	pgembed_result_free(r);
	r = extended("SELECT 1/0");
	pgembed_result_free(r);
	CHECK_STR(scalar(db, "SELECT count(*) FROM t"), "4");
	CHECK_FRESH(4);
	teardown();
}

/* A cursor over a COPY is a COPY: streamed, ended, and the engine goes on. */
static void
test_cursor_over_copy(void)
{
	pgembed_result *r;
	const char *chunk;
	int64_t		n;

	REQUIRE(setup());
	r = pgembed_cursor_open(db, "COPY t FROM STDIN", 0, NULL, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO, 10);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_IN);
	pgembed_result_free(r);
	CHECK_INT(pgembed_copy_put(db, "20\n", 3), 0);
	r = pgembed_copy_end(db, NULL);
	CHECK_STR(pgembed_result_command_tag(r), "COPY 1");
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_IDLE);
	pgembed_result_free(r);
	r = extended("SELECT 1/0");
	pgembed_result_free(r);
	CHECK_STR(scalar(db, "SELECT count(*) FROM t"), "1");
	CHECK_FRESH(5);

	r = pgembed_cursor_open(db, "COPY (SELECT x FROM t ORDER BY x) TO STDOUT", 0, NULL, NULL, NULL, NULL,
							PGEMBED_FORMAT_AUTO, 10);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_OUT);
	pgembed_result_free(r);
	n = pgembed_copy_get(db, &chunk);
	CHECK(n == 5 && memcmp(chunk, "5\n20\n", 5) == 0);
	CHECK_INT(pgembed_copy_get(db, &chunk), 0);
	r = pgembed_copy_end(db, NULL);
	CHECK_STR(pgembed_result_command_tag(r), "COPY 2");
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_IDLE);
	pgembed_result_free(r);
	CHECK_FRESH(6);
	teardown();
}

/* opens a cursor over sql, reads it to its end, fetch_rows at a time: the rows read */
static int64_t
cursor_read_all(const char *sql, int64_t fetch_rows)
{
	pgembed_result *r = pgembed_cursor_open(db, sql, 0, NULL, NULL, NULL, NULL, PGEMBED_FORMAT_TEXT, fetch_rows);
	int64_t		rows = 0;

	while (r != NULL)
	{
		int			status = pgembed_result_status(r);

		rows += pgembed_result_ntuples(r);
		pgembed_result_free(r);
		if (status != PGEMBED_SUSPENDED)
			return status == PGEMBED_TUPLES_OK ? rows : -status;
		r = pgembed_cursor_fetch(db, fetch_rows);
	}
	return -1;
}

/*
 * In a transaction block a cursor read to its end left its portal: the next
 * cursor failed with 42P03 (cursor "pgembed_cursor" already exists).
 */
static void
test_cursor_in_transaction_block(void)
{
	pgembed_result *r;

	REQUIRE(setup());
	CHECK_STR(sqlstate_of(db, "BEGIN"), "00000");
	CHECK_INT(cursor_read_all("SELECT generate_series(1, 5)", 2), 5);
	CHECK_INT(cursor_read_all("SELECT generate_series(1, 3)", 10), 3);
	CHECK_INT(cursor_read_all("SELECT 1", 1), 1);
	/* a COPY through a cursor, ended in the block, leaves its portal too */
	r = pgembed_cursor_open(db, "COPY t FROM STDIN", 0, NULL, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO, 10);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_IN);
	pgembed_result_free(r);
	CHECK_INT(pgembed_copy_put(db, "20\n", 3), 0);
	r = pgembed_copy_end(db, NULL);
	CHECK_STR(pgembed_result_command_tag(r), "COPY 1");
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_INBLOCK);
	pgembed_result_free(r);
	CHECK_INT(cursor_read_all("SELECT x FROM t", 10), 1);
	CHECK_STR(sqlstate_of(db, "COMMIT"), "00000");
	CHECK_STR(scalar(db, "SELECT count(*) FROM t"), "1");
	CHECK_FRESH(21);
	teardown();
}

/* A prepared COPY TO STDOUT streams its data as any other COPY does. */
static void
test_prepared_copy_out_streams(void)
{
	pgembed_result *r;
	const char *chunk;

	REQUIRE(setup());
	CHECK_STR(sqlstate_of(db, "INSERT INTO t VALUES (1), (2)"), "00000");
	r = pgembed_prepare(db, "out", "COPY (SELECT x FROM t ORDER BY x) TO STDOUT", 0, NULL);
	pgembed_result_free(r);
	r = pgembed_exec_prepared(db, "out", 0, NULL, NULL, NULL, PGEMBED_FORMAT_TEXT);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_OUT);
	pgembed_result_free(r);
	CHECK(pgembed_copy_get(db, &chunk) == 4 && memcmp(chunk, "1\n2\n", 4) == 0);
	CHECK_INT(pgembed_copy_get(db, &chunk), 0);
	r = pgembed_copy_end(db, NULL);
	CHECK_STR(pgembed_result_command_tag(r), "COPY 2");
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_IDLE);
	pgembed_result_free(r);
	CHECK_FRESH(13);
	teardown();
}

/* A batch stops a COPY before it reads or writes anything: 0A000, no effect. */
static void
test_batch_refuses_copy(void)
{
	pgembed_result *r;
	const char *one[] = {"1"};

	REQUIRE(setup());
	r = pgembed_prepare(db, "copy_in", "COPY t FROM STDIN", 0, NULL);
	pgembed_result_free(r);
	r = pgembed_exec_prepared_batch(db, "copy_in", 3, 0, NULL, NULL, NULL);
	CHECK_STR(sqlstate(r), "0A000");
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_IDLE);
	pgembed_result_free(r);
	CHECK_FRESH(7);

	r = pgembed_prepare(db, "copy_out", "COPY (INSERT INTO t VALUES (100) RETURNING x) TO STDOUT", 0, NULL);
	CHECK_STR(sqlstate(r), "00000");
	pgembed_result_free(r);
	r = pgembed_exec_prepared_batch(db, "copy_out", 2, 0, NULL, NULL, NULL);
	CHECK_STR(sqlstate(r), "0A000");
	pgembed_result_free(r);
	CHECK_STR(scalar(db, "SELECT count(*) FROM t WHERE x = 100"), "0");
	CHECK_FRESH(8);

	/* an ordinary batch is untouched by the guard */
	r = pgembed_prepare(db, "ins", "INSERT INTO t VALUES ($1)", 0, NULL);
	pgembed_result_free(r);
	r = pgembed_exec_prepared_batch(db, "ins", 1, 1, one, NULL, NULL);
	CHECK_STR(sqlstate(r), "00000");
	CHECK_INT(pgembed_result_rows_affected(r), 1);
	pgembed_result_free(r);
	teardown();
}

/* An aborted COPY TO STDOUT stops at its start: its statement does nothing. */
static void
test_copy_out_aborted(void)
{
	pgembed_result *r;

	REQUIRE(setup());
	r = pgembed_exec(db, "COPY (INSERT INTO t VALUES (30) RETURNING x) TO STDOUT");
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_OUT);
	pgembed_result_free(r);
	r = pgembed_copy_end(db, "not wanted");
	CHECK_STR(sqlstate(r), "57014");
	CHECK(strstr(pgembed_error_message(pgembed_result_error(r)), "not wanted") != NULL);
	pgembed_result_free(r);
	CHECK_STR(scalar(db, "SELECT count(*) FROM t"), "0");
	CHECK_FRESH(9);

	r = extended("COPY (INSERT INTO t VALUES (31) RETURNING x) TO STDOUT");
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_OUT);
	pgembed_result_free(r);
	r = pgembed_copy_end(db, "not wanted");
	CHECK_STR(sqlstate(r), "57014");
	pgembed_result_free(r);
	CHECK_STR(scalar(db, "SELECT count(*) FROM t WHERE x = 31"), "0");
	CHECK_FRESH(10);

	/* in a transaction block the abort fails the transaction, as any error */
	CHECK_STR(sqlstate_of(db, "BEGIN"), "00000");
	r = extended("COPY t TO STDOUT");
	pgembed_result_free(r);
	r = pgembed_copy_end(db, "not wanted");
	CHECK_INT(pgembed_result_transaction_status(r), PGEMBED_TX_FAILED);
	pgembed_result_free(r);
	CHECK_STR(sqlstate_of(db, "ROLLBACK"), "00000");
	CHECK_FRESH(11);
	teardown();
}

/* Preparing a statement leaves no transaction open, and no lock held. */
static void
test_prepare_leaves_no_transaction(void)
{
	pgembed_result *r;

	REQUIRE(setup());
	r = pgembed_prepare(db, "sel", "SELECT x FROM t", 0, NULL);
	CHECK_STR(sqlstate(r), "00000");
	CHECK_INT(pgembed_result_nfields(r), 1);
	pgembed_result_free(r);
	CHECK_STR(scalar(db, "SELECT count(*) FROM pg_locks WHERE relation = 't'::regclass"), "0");
	CHECK_STR(scalar(db, "SELECT now() = statement_timestamp()"), "t");
	/* its kept description still serves binary results */
	CHECK_FRESH(12);
	r = pgembed_exec_prepared(db, "sel", 0, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO);
	CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
	CHECK_INT(pgembed_result_field_format(r, 0), 1);
	pgembed_result_free(r);
	teardown();
}

const test_case sync_tests[] = {
	{"sync: an aborted COPY of an extended query loses no later statement", test_extended_copy_in_aborted},
	{"sync: a COPY of an extended query is committed at its end", test_extended_copy_in_committed},
	{"sync: a cursor over COPY streams it and ends it", test_cursor_over_copy},
	{"sync: a prepared COPY TO STDOUT streams its data", test_prepared_copy_out_streams},
	{"sync: cursors one after another in a transaction block", test_cursor_in_transaction_block},
	{"sync: a batch refuses COPY before it runs", test_batch_refuses_copy},
	{"sync: an aborted COPY TO STDOUT does nothing", test_copy_out_aborted},
	{"sync: preparing leaves no transaction open", test_prepare_leaves_no_transaction},
	{NULL, NULL}
};
