/*
 * test_batch_update.c
 *	  A batch of UPDATE ... WHERE key = $k runs as one set-oriented update
 *	  (engine_batch_update.c): the same rows, counts, errors and failing set
 *	  as row by row.  Twin tables tell the two paths apart: a statement
 *	  trigger that does nothing keeps the twin on the row-by-row path, and
 *	  log_statement shows which batch ran as one statement.  Over the
 *	  protocol (pgjdbc's executeBatch) each pair's CommandComplete must
 *	  carry the rows its set updated, as row by row.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <stdlib.h>

static int	joined[2];

static void
count_joined(void *context, int elevel, const char *line)
{
	(void) context;
	(void) elevel;
	if (strstr(line, "updated as one batch") != NULL)
		joined[strstr(line, "upd_fast") != NULL ? 0 : 1]++;
}

static const char *
state_of(pgembed_result *r)
{
	static char buf[8];
	const pgembed_error *err = pgembed_result_error(r);

	snprintf(buf, sizeof(buf), "%s", err ? pgembed_error_sqlstate(err) : "00000");
	return buf;
}

/* the same table twice, with the same rows: fast (eligible) and slow (a statement trigger) */
static pgembed_engine *
open_with_twins(const char *columns, const char *fill)
{
	static const char *const settings[] = {"log_statement=mod"};
	pgembed_engine *e = open_fresh(1, settings);
	char		sql[2048];

	if (e == NULL)
		return NULL;
	for (int t = 0; t < 2; t++)
	{
		const char *name = t == 0 ? "fast" : "slow";

		snprintf(sql, sizeof(sql), "CREATE TABLE %s(%s); CREATE INDEX ON %s(b); INSERT INTO %s %s",
				 name, columns, name, name, fill);
		CHECK_STR(sqlstate_of(e, sql), "00000");
	}
	CHECK_STR(sqlstate_of(e, "CREATE FUNCTION nothing() RETURNS trigger LANGUAGE plpgsql AS "
						  "$$BEGIN RETURN NULL; END$$; "
						  "CREATE TRIGGER nothing AFTER UPDATE ON slow FOR EACH STATEMENT EXECUTE FUNCTION nothing()"),
			  "00000");
	pgembed_set_log_callback(e, count_joined, NULL);
	return e;
}

/*
 * After a batch on both twins: the slow twin's ran row by row, both hold the
 * same rows.  Returns whether the fast twin's ran as one statement.
 */
static bool
twins_agree(pgembed_engine *e)
{
	CHECK_INT(joined[1], 0);
	CHECK_STR(scalar(e, "SELECT (SELECT string_agg(f::text, '|' ORDER BY f::text) FROM fast f) "
					 "IS NOT DISTINCT FROM (SELECT string_agg(s::text, '|' ORDER BY s::text) FROM slow s)"),
			  "t");
	return joined[0] == 1;
}

/*
 * The batch (update's %s is the table) on both twins, in a transaction block
 * when block is given (rolled back after): the same outcome.  Returns whether
 * the fast twin's ran as one statement.
 */
static bool
update_twins(pgembed_engine *e, const char *block, const char *update, int nsets, int nparams,
			 const char *const *values, const char *expect_state, int64_t expect_failed)
{
	pgembed_result *r[2];

	joined[0] = joined[1] = 0;
	for (int t = 0; t < 2; t++)
	{
		char		name[16];
		char		stmt[1024];

		snprintf(name, sizeof(name), "upd_%s", t == 0 ? "fast" : "slow");
		snprintf(stmt, sizeof(stmt), update, t == 0 ? "fast" : "slow");
		pgembed_result_free(pgembed_deallocate(e, name));
		pgembed_result_free(pgembed_prepare(e, name, stmt, 0, NULL));
		if (block)
			CHECK_STR(sqlstate_of(e, block), "00000");
		r[t] = pgembed_exec_prepared_batch(e, name, nsets, nparams, values, NULL, NULL);
		if (block)
		{
			CHECK_INT(pgembed_result_transaction_status(r[t]),
					  pgembed_result_error(r[t]) ? PGEMBED_TX_FAILED : PGEMBED_TX_INBLOCK);
			CHECK_STR(sqlstate_of(e, "ROLLBACK"), "00000");
		}
	}
	CHECK_STR(state_of(r[0]), expect_state);
	CHECK_STR(state_of(r[1]), expect_state);
	CHECK_INT(pgembed_result_failed_set(r[0]), expect_failed);
	CHECK_INT(pgembed_result_failed_set(r[1]), expect_failed);
	CHECK_INT(pgembed_result_rows_affected(r[0]), pgembed_result_rows_affected(r[1]));
	pgembed_result_free(r[0]);
	pgembed_result_free(r[1]);
	return twins_agree(e);
}

static void
test_same_rows_and_counts(void)
{
	pgembed_engine *e = open_with_twins("a int, b int, c varchar(8)",
										"SELECT g, g * 7, 'r' || g FROM generate_series(1, 20) g");
	const char *sets[] = {"1", "x", "1", "2", "y", "3", "3", NULL, "5", "4", "w", "99", "5", "v", "7"};
	const char *dup[] = {"1", "p", "2", "2", "q", "2"};

	REQUIRE(e != NULL);
	/* an expression of the row, a NULL, a key no row has */
	CHECK(update_twins(e, NULL, "UPDATE %s SET b = b * 10 + $1, c = $2 WHERE a = $3", 5, 3, sets, "00000", -1));
	CHECK_STR(scalar(e, "SELECT string_agg(a || ':' || b || ':' || coalesce(c, '-'), ',' ORDER BY a) "
					 "FROM fast WHERE a IN (1, 3, 5, 7, 99)"), "1:71:x,3:212:y,5:353:-,7:495:v");
	/* a parameter used twice */
	CHECK(update_twins(e, NULL, "UPDATE %s SET b = $1 * 2 + $1, c = $2 WHERE a = $3", 5, 3, sets, "00000", -1));
	/* a key twice: row by row (the second set sees the first's row) */
	CHECK(!update_twins(e, NULL, "UPDATE %s SET b = b * 10 + $1, c = $2 WHERE a = $3", 2, 3, dup, "00000", -1));
	CHECK_STR(scalar(e, "SELECT b FROM fast WHERE a = 2"), "1412");
	/* in a transaction block */
	CHECK(update_twins(e, "BEGIN", "UPDATE %s SET b = b * 10 + $1, c = $2 WHERE a = $3", 5, 3, sets, "00000", -1));
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static void
test_errors_name_the_failing_set(void)
{
	pgembed_engine *e = open_with_twins("a int, b int CHECK (b >= 0), c varchar(4)",
										"SELECT g, g, 'r' FROM generate_series(1, 20) g");
	const char *toolong[] = {"1", "ok", "2", "a long one", "3", "ok"};
	const char *bad[] = {"1", "ok", "x2", "ok"};
	const char *check[] = {"1", "ok", "2", "ok", "3", "ok"};

	REQUIRE(e != NULL);
	/* found when the update runs: rolled back, then row by row names the set */
	CHECK(!update_twins(e, NULL, "UPDATE %s SET c = $2 WHERE a = $1", 3, 2, toolong, "22001", 1));
	CHECK(!update_twins(e, "BEGIN", "UPDATE %s SET c = $2 WHERE a = $1", 3, 2, toolong, "22001", 1));
	CHECK(!update_twins(e, NULL, "UPDATE %s SET b = b - $1 * 2, c = $2 WHERE a = $1", 3, 2, check, "23514", 0));
	/* found when a value is converted */
	CHECK(!update_twins(e, NULL, "UPDATE %s SET c = $2 WHERE a = $1", 2, 2, bad, "22P02", 1));
	/* nothing of the failed batches remains */
	CHECK_STR(scalar(e, "SELECT count(*) FROM fast WHERE c <> 'r'"), "0");
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static void
test_what_stays_row_by_row(void)
{
	pgembed_engine *e = open_with_twins("a int, b int, c text, u int UNIQUE",
										"SELECT g, g, 'r', g FROM generate_series(1, 20) g");
	const char *swap[] = {"2", "1", "3", "2"};
	const char *two[] = {"5", "1", "6", "2"};
	const char *text_key[] = {"x", "r", "y", "s"};

	REQUIRE(e != NULL);

	/*
	 * a unique column SET: row by row, the first set finds the second's row
	 * still holding 2
	 */
	CHECK(!update_twins(e, NULL, "UPDATE %s SET u = $1 WHERE a = $2", 2, 2, swap, "23505", 0));
	/* the key SET, a range, a text key, a volatile function, a sub-select */
	CHECK(!update_twins(e, NULL, "UPDATE %s SET a = $1 + 100 WHERE a = $2", 2, 2, two, "00000", -1));
	CHECK(!update_twins(e, NULL, "UPDATE %s SET b = $1 WHERE a < $2", 2, 2, two, "00000", -1));
	CHECK(!update_twins(e, NULL, "UPDATE %s SET b = length($1) WHERE c = $2", 2, 2, text_key, "00000", -1));
	CHECK(!update_twins(e, NULL, "UPDATE %s SET b = $1 + (random() * 0)::int WHERE a = $2", 2, 2, two, "00000", -1));
	CHECK(!update_twins(e, NULL, "UPDATE %s SET b = (SELECT max(b) FROM fast) + $1 WHERE a = $2", 2, 2, two,
						"00000", -1));
	/* a FROM of its own */
	CHECK(!update_twins(e, NULL, "UPDATE %s SET b = $1 FROM (SELECT 1) x WHERE a = $2", 2, 2, two, "00000", -1));
	/* under a statement_timeout, which counts per set */
	CHECK_STR(sqlstate_of(e, "SET statement_timeout = '1min'"), "00000");
	CHECK(!update_twins(e, NULL, "UPDATE %s SET b = $1 WHERE a = $2", 2, 2, two, "00000", -1));
	CHECK_STR(sqlstate_of(e, "RESET statement_timeout"), "00000");
	/* and the eligible one, for contrast */
	CHECK(update_twins(e, NULL, "UPDATE %s SET b = $1 WHERE a = $2", 2, 2, two, "00000", -1));
	CHECK_INT(pgembed_close(e, NULL), 0);
}

/* ---- over the protocol, as pgjdbc sends a batch ---- */

/*
 * The reply's messages as a line: their types, each ErrorResponse's SQLSTATE,
 * each CommandComplete's tag and each ReadyForQuery's status.
 */
static void
summarize(const char *out, size_t len, char *buf, size_t size)
{
	size_t		pos = 0,
				n = 0;

	buf[0] = '\0';
	while (pos + 5 <= len && n < size - 64)
	{
		uint32_t	mlen;
		const char *pl = out + pos + 5;

		memcpy(&mlen, out + pos + 1, 4);
		mlen = ntohl(mlen);
		n += snprintf(buf + n, size - n, "%c", out[pos]);
		if (out[pos] == 'C')
			n += snprintf(buf + n, size - n, "(%s)", pl);
		else if (out[pos] == 'Z')
			n += snprintf(buf + n, size - n, "(%c)", pl[0]);
		else if (out[pos] == 'E')
		{
			for (const char *f = pl; *f && f < pl + mlen - 4; f += strlen(f) + 1)
				if (f[0] == 'C')
					n += snprintf(buf + n, size - n, "(%s)", f + 1);
		}
		n += snprintf(buf + n, size - n, " ");
		pos += 1 + mlen;
	}
}

/*
 * pgjdbc's batch on both twins: [a simple query BEGIN when block] Parse
 * upd_x, a Bind/Execute pair per set (Bind/Describe/Execute with a limit of
 * one row, as pgjdbc's first batch of a statement, when described), Sync;
 * then ROLLBACK.  Both replies must read expect, and both tables the same.
 * Returns whether the fast twin's batch ran as one statement.
 */
static bool
protocol_twins(pgembed_engine *e, bool block, bool described, const char *update, int nsets,
			   int nparams, const char *const *values, const char *expect)
{
	char		got[2][4096];
	char		sql[1024];

	joined[0] = joined[1] = 0;
	for (int t = 0; t < 2; t++)
	{
		char	   *msg = malloc(65536);
		size_t		len = 0;
		char		parse[1024];
		char		stmt[16];
		char		sqltext[512];
		const char *out;
		size_t		outlen;
		static const char exec[] = {0, 0, 0, 0, 0};
		static const char exec_one[] = {0, 0, 0, 0, 1};
		static const char describe[] = {'P', 0};
		int			pl;

		snprintf(stmt, sizeof(stmt), "upd_%s", t == 0 ? "fast" : "slow");
		snprintf(sqltext, sizeof(sqltext), update, t == 0 ? "fast" : "slow");
		if (block)
			len += put_message(msg + len, 'Q', "BEGIN", 6);
		pl = snprintf(parse, sizeof(parse), "%s%c%s%c%c%c", stmt, 0, sqltext, 0, 0, 0);
		len += put_message(msg + len, 'P', parse, pl);
		for (int k = 0; k < nsets; k++)
		{
			len += put_bind(msg + len, stmt, nparams, values + k * nparams);
			if (described)
				len += put_message(msg + len, 'D', describe, sizeof(describe));
			len += put_message(msg + len, 'E', described ? exec_one : exec, sizeof(exec));
		}
		len += put_message(msg + len, 'S', "", 0);
		CHECK_INT(pgembed_protocol_exchange(e, msg, len, &out, &outlen), 0);
		summarize(out, outlen, got[t], sizeof(got[t]));
		/* whatever transaction the batch left goes, then the statement */
		pl = snprintf(sql, sizeof(sql), "DEALLOCATE %s", stmt);
		len = put_message(msg, 'Q', "ROLLBACK", 9);
		len += put_message(msg + len, 'Q', sql, pl + 1);
		CHECK_INT(pgembed_protocol_exchange(e, msg, len, &out, &outlen), 0);
		free(msg);
	}
	CHECK_STR(got[0], got[1]);
	CHECK_STR(got[0], expect);
	return twins_agree(e);
}

static void
test_protocol_counts_per_set(void)
{
	pgembed_engine *e = open_with_twins("a int, b int CHECK (b >= 0), c varchar(4)",
										"SELECT g, g, 'r' FROM generate_series(1, 20) g UNION ALL SELECT 5, 50, 'r'");

	/* key 1 has a row, 99 none, 5 two */
	const char *sets[] = {"x", "1", "y", "99", "z", "5"};
	const char *toolong[] = {"x", "1", "too long", "2", "z", "3"};
	const char *bad[] = {"x", "1", "y", "two", "z", "3"};
	const char *twice[] = {"x", "1", "y", "1"};
	const char *upd = "UPDATE %s SET c = $1 WHERE a = $2";

	REQUIRE(e != NULL);
	CHECK(protocol_twins(e, false, false, upd, 3, 2, sets, "1 2 C(UPDATE 1) 2 C(UPDATE 0) 2 C(UPDATE 2) Z(I) "));
	CHECK_STR(scalar(e, "SELECT string_agg(a || c, ',' ORDER BY a, b) FROM fast WHERE c <> 'r'"), "1x,5z,5z");
	/* in pgjdbc's transaction block (rolled back after) */
	CHECK(protocol_twins(e, true, false, "UPDATE %s SET b = b + $2, c = $1 WHERE a = $2", 3, 2, sets,
						 "C(BEGIN) Z(T) 1 2 C(UPDATE 1) 2 C(UPDATE 0) 2 C(UPDATE 2) Z(T) "));
	CHECK_STR(scalar(e, "SELECT sum(b) FROM fast"), "260");

	/*
	 * an error in set 1: the update is rolled back and the batch runs row by
	 * row; a value that does not convert, or one too long for the column
	 * (found when Bind plans a custom plan), has no BindComplete; one that
	 * fails when the update runs has
	 */
	CHECK(!protocol_twins(e, false, false, upd, 3, 2, toolong, "1 2 C(UPDATE 1) E(22001) Z(I) "));
	CHECK(!protocol_twins(e, true, false, upd, 3, 2, toolong, "C(BEGIN) Z(T) 1 2 C(UPDATE 1) E(22001) Z(E) "));
	CHECK(!protocol_twins(e, false, false, "UPDATE %s SET b = b - $2 * $2 + 1, c = $1 WHERE a = $2", 3, 2, sets,
						  "1 2 C(UPDATE 1) 2 C(UPDATE 0) 2 E(23514) Z(I) "));
	CHECK(!protocol_twins(e, false, false, upd, 3, 2, bad, "1 2 C(UPDATE 1) E(22P02) Z(I) "));
	/* a key twice: row by row, the second set sees the first's row */
	CHECK(!protocol_twins(e, false, false, upd, 2, 2, twice, "1 2 C(UPDATE 1) 2 C(UPDATE 1) Z(I) "));
	CHECK_STR(scalar(e, "SELECT c FROM fast WHERE a = 1"), "y");

	/*
	 * described, with a limit of one row, as pgjdbc's first batch; in its
	 * block
	 */
	CHECK(protocol_twins(e, false, true, upd, 3, 2, sets, "1 2 n C(UPDATE 1) 2 n C(UPDATE 0) 2 n C(UPDATE 2) Z(I) "));
	CHECK(protocol_twins(e, true, true, upd, 3, 2, sets,
						 "C(BEGIN) Z(T) 1 2 n C(UPDATE 1) 2 n C(UPDATE 0) 2 n C(UPDATE 2) Z(T) "));
	CHECK(!protocol_twins(e, false, true, upd, 3, 2, bad, "1 2 n C(UPDATE 1) E(22P02) Z(I) "));
	CHECK(!protocol_twins(e, true, true, "UPDATE %s SET b = b - $2 * $2 + 1, c = $1 WHERE a = $2", 3, 2, sets,
						  "C(BEGIN) Z(T) 1 2 n C(UPDATE 1) 2 n C(UPDATE 0) 2 n E(23514) Z(E) "));
	/* a comment at the end of the text does not swallow what is appended */
	CHECK(protocol_twins(e, false, false, "UPDATE %s SET c = $1 WHERE a = $2 -- the end", 3, 2, sets,
						 "1 2 C(UPDATE 1) 2 C(UPDATE 0) 2 C(UPDATE 2) Z(I) "));
	CHECK_INT(pgembed_close(e, NULL), 0);
}

const test_case batch_update_tests[] = {
	{"batch update: the same rows and counts as row by row", test_same_rows_and_counts},
	{"batch update: errors name the failing set, as row by row", test_errors_name_the_failing_set},
	{"batch update: what the join could change stays row by row", test_what_stays_row_by_row},
	{"batch update: a JDBC batch over the protocol gets a count per set", test_protocol_counts_per_set},
	{NULL, NULL}
};
