/* Statements, parameters, prepared statements, transactions, errors, COPY, cursors. */
#include "test_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <arpa/inet.h>

static pgembed_engine *db;

static bool
setup(void)
{
	db = open_fresh(0, NULL);
	return db != NULL;
}

static void
teardown(void)
{
	pgembed_close(db, NULL);
	db = NULL;
}

static void
test_multi_statement_returns_last(void)
{
	pgembed_result *r;

	REQUIRE(setup());
	r = pgembed_exec(db, "CREATE TABLE t(a int, b text); INSERT INTO t VALUES (1,'x'),(2,NULL); SELECT a, b FROM t ORDER BY a");
	CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
	CHECK_INT(pgembed_result_ntuples(r), 2);
	CHECK_INT(pgembed_result_nfields(r), 2);
	CHECK_STR(pgembed_result_field_name(r, 1), "b");
	CHECK_INT(pgembed_result_field_type(r, 0), 23);
	CHECK_STR(pgembed_result_value(r, 0, 1), "x");
	CHECK(pgembed_result_is_null(r, 1, 1));
	CHECK_STR(pgembed_result_command_tag(r), "SELECT 2");
	CHECK_INT(pgembed_result_field_index(r, "b"), 1);
	pgembed_result_free(r);
	r = pgembed_exec(db, "UPDATE t SET b = 'y'");
	CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
	CHECK_INT(pgembed_result_rows_affected(r), 2);
	CHECK_STR(pgembed_result_command_tag(r), "UPDATE 2");
	pgembed_result_free(r);
	r = pgembed_exec(db, "");
	CHECK_INT(pgembed_result_status(r), PGEMBED_EMPTY_QUERY);
	pgembed_result_free(r);
	/* rows without columns count */
	r = pgembed_exec(db, "SELECT FROM generate_series(1, 3)");
	CHECK_INT(pgembed_result_ntuples(r), 3);
	CHECK_INT(pgembed_result_nfields(r), 0);
	pgembed_result_free(r);
	/* user objects get normal OIDs */
	CHECK_STR(scalar(db, "SELECT 't'::regclass::oid >= 16384"), "t");
	teardown();
}

static void
test_parameters(void)
{
	const char *values[3] = {"41", NULL, "héllo"};
	uint32_t	types[3] = {23, 25, 25};
	pgembed_result *r;
	int32_t		i32;
	int64_t		i64;
	double		d;
	int			b;

	REQUIRE(setup());
	r = pgembed_exec_params(db, "SELECT $1::int + 1 AS n, $2::text IS NULL AS isnull, $3 AS s, 2.5::float8 AS f, 10000000000::int8 AS big",
							3, types, values, NULL, NULL, PGEMBED_FORMAT_AUTO);
	REQUIRE(pgembed_result_status(r) == PGEMBED_TUPLES_OK);
	CHECK_INT(pgembed_result_field_format(r, 0), 1);	/* int4 came back binary */
	CHECK_INT(pgembed_result_field_format(r, 2), 0);	/* text as text */
	CHECK_INT(pgembed_result_get_int32(r, 0, 0, &i32), 0);
	CHECK_INT(i32, 42);
	CHECK_INT(pgembed_result_get_bool(r, 0, 1, &b), 0);
	CHECK_INT(b, 1);
	CHECK_STR(pgembed_result_value(r, 0, 2), "héllo");
	CHECK_INT(pgembed_result_get_double(r, 0, 3, &d), 0);
	CHECK(d == 2.5);
	CHECK_INT(pgembed_result_get_int64(r, 0, 4, &i64), 0);
	CHECK_INT(i64, 10000000000LL);
	CHECK_INT(pgembed_result_get_int32(r, 0, 4, &i32), -1); /* out of range */
	pgembed_result_free(r);

	/* binary parameter */
	{
		uint32_t	be = htonl(7);
		const char *bv[1] = {(const char *) &be};
		int32_t		len[1] = {4};
		int32_t		fmt[1] = {1};
		uint32_t	ty[1] = {23};

		r = pgembed_exec_params(db, "SELECT $1 * 6", 1, ty, bv, len, fmt, PGEMBED_FORMAT_TEXT);
		CHECK_STR(pgembed_result_value(r, 0, 0), "42");
		pgembed_result_free(r);
	}
	/* a value is never SQL: no injection */
	{
		const char *evil[1] = {"1; DROP TABLE nothing"};

		r = pgembed_exec_params(db, "SELECT $1::text", 1, NULL, evil, NULL, NULL, PGEMBED_FORMAT_TEXT);
		CHECK_STR(pgembed_result_value(r, 0, 0), "1; DROP TABLE nothing");
		pgembed_result_free(r);
	}
	teardown();
}

static void
test_prepared_and_batch(void)
{
	pgembed_result *r;
	enum
	{
		N = 25000
	};
	static char vals[N][16];
	static const char *params[N];

	REQUIRE(setup());
	CHECK_STR(sqlstate_of(db, "CREATE TABLE items(id int primary key, name text)"), "00000");
	r = pgembed_prepare(db, "ins", "INSERT INTO items VALUES ($1, $2)", 0, NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
	pgembed_result_free(r);
	r = pgembed_describe_prepared(db, "ins");
	CHECK_INT(pgembed_result_nparams(r), 2);
	CHECK_INT(pgembed_result_param_type(r, 0), 23);
	CHECK_INT(pgembed_result_param_type(r, 1), 25);
	pgembed_result_free(r);

	/* prepared statements live across transactions */
	CHECK_STR(sqlstate_of(db, "BEGIN"), "00000");
	{
		const char *v[2] = {"1", "one"};

		r = pgembed_exec_prepared(db, "ins", 2, v, NULL, NULL, PGEMBED_FORMAT_TEXT);
		CHECK_INT(pgembed_result_rows_affected(r), 1);
		pgembed_result_free(r);
	}
	CHECK_STR(sqlstate_of(db, "COMMIT"), "00000");

	/* a batch of 25 000 parameter sets in one call */
	{
		const char **batch = malloc(sizeof(char *) * 2 * (N - 1));

		for (int i = 0; i < N - 1; i++)
		{
			snprintf(vals[i], sizeof(vals[i]), "%d", i + 2);
			batch[2 * i] = vals[i];
			batch[2 * i + 1] = "x";
		}
		r = pgembed_exec_prepared_batch(db, "ins", N - 1, 2, batch, NULL, NULL);
		CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
		CHECK_INT(pgembed_result_rows_affected(r), N - 1);
		pgembed_result_free(r);
		/* a failing batch leaves nothing behind */
		r = pgembed_exec_prepared_batch(db, "ins", N - 1, 2, batch, NULL, NULL);
		CHECK_INT(pgembed_result_status(r), PGEMBED_ERROR);
		CHECK_STR(pgembed_error_sqlstate(pgembed_result_error(r)), "23505");
		pgembed_result_free(r);
		free(batch);
	}
	CHECK_STR(scalar(db, "SELECT count(*) FROM items"), "25000");
	r = pgembed_deallocate(db, "ins");
	CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
	pgembed_result_free(r);
	{
		const char *v[2] = {"1", "one"};

		r = pgembed_exec_prepared(db, "ins", 2, v, NULL, NULL, PGEMBED_FORMAT_AUTO);
		CHECK_STR(pgembed_error_sqlstate(pgembed_result_error(r)), "26000");
		pgembed_result_free(r);
	}
	(void) params;
	teardown();
}

static void
test_transactions(void)
{
	REQUIRE(setup());
	CHECK_STR(sqlstate_of(db, "CREATE TABLE t(n int)"), "00000");
	CHECK_INT(pgembed_transaction_status(db), PGEMBED_TX_IDLE);
	CHECK_STR(sqlstate_of(db, "BEGIN"), "00000");
	CHECK_INT(pgembed_transaction_status(db), PGEMBED_TX_INBLOCK);
	CHECK_STR(sqlstate_of(db, "INSERT INTO t VALUES (1)"), "00000");
	CHECK_STR(sqlstate_of(db, "SAVEPOINT s"), "00000");
	CHECK_STR(sqlstate_of(db, "INSERT INTO t VALUES (2)"), "00000");
	CHECK_STR(sqlstate_of(db, "ROLLBACK TO s"), "00000");
	CHECK_STR(sqlstate_of(db, "SELECT 1/0"), "22012");
	CHECK_INT(pgembed_transaction_status(db), PGEMBED_TX_FAILED);
	CHECK_STR(sqlstate_of(db, "SELECT 1"), "25P02");
	CHECK_STR(sqlstate_of(db, "ROLLBACK"), "00000");
	CHECK_STR(scalar(db, "SELECT count(*) FROM t"), "0");
	CHECK_STR(sqlstate_of(db, "BEGIN; INSERT INTO t VALUES (1); SAVEPOINT a; INSERT INTO t VALUES (2); RELEASE a; COMMIT"), "00000");
	CHECK_STR(scalar(db, "SELECT count(*) FROM t"), "2");
	/* statements that refuse transaction blocks work at top level */
	CHECK_STR(sqlstate_of(db, "VACUUM t"), "00000");
	CHECK_STR(sqlstate_of(db, "CREATE DATABASE other"), "00000");
	CHECK_STR(sqlstate_of(db, "CREATE INDEX CONCURRENTLY ti ON t(n)"), "00000");
	CHECK_STR(sqlstate_of(db, "ALTER SYSTEM SET work_mem = '5MB'"), "00000");
	CHECK_STR(sqlstate_of(db, "CHECKPOINT"), "00000");

	/*
	 * LISTEN/NOTIFY to itself: the notification arrives with the next idle
	 * point
	 */
	CHECK_STR(sqlstate_of(db, "LISTEN events"), "00000");
	CHECK_STR(sqlstate_of(db, "NOTIFY events, 'hello'"), "00000");
	CHECK_STR(scalar(db, "SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()"), "client backend");
	CHECK_STR(sqlstate_of(db, "BEGIN; VACUUM t"), "25001");
	CHECK_STR(sqlstate_of(db, "ROLLBACK"), "00000");
	teardown();
}

static void
test_error_fields_and_notices(void)
{
	pgembed_result *r;
	const pgembed_error *err;

	REQUIRE(setup());
	CHECK_STR(sqlstate_of(db, "CREATE TABLE u(id int CONSTRAINT u_pk PRIMARY KEY); INSERT INTO u VALUES (1)"), "00000");
	r = pgembed_exec(db, "INSERT INTO u VALUES (1)");
	err = pgembed_result_error(r);
	REQUIRE(err != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_ERROR);
	CHECK_STR(pgembed_error_sqlstate(err), "23505");
	CHECK_STR(pgembed_error_severity(err), "ERROR");
	CHECK_STR(pgembed_error_field(err, PGEMBED_DIAG_CONSTRAINT_NAME), "u_pk");
	CHECK_STR(pgembed_error_field(err, PGEMBED_DIAG_TABLE_NAME), "u");
	CHECK_STR(pgembed_error_field(err, PGEMBED_DIAG_SCHEMA_NAME), "public");
	CHECK_STR(pgembed_error_field(err, PGEMBED_DIAG_MESSAGE_DETAIL), "Key (id)=(1) already exists.");
	pgembed_result_free(r);

	r = pgembed_exec(db, "SELECT * FROM nowhere");
	err = pgembed_result_error(r);
	CHECK_STR(pgembed_error_sqlstate(err), "42P01");
	CHECK_STR(pgembed_error_field(err, PGEMBED_DIAG_STATEMENT_POSITION), "15");
	pgembed_result_free(r);

	r = pgembed_exec(db, "DO $$ BEGIN RAISE NOTICE 'hello %', 42; RAISE WARNING 'careful'; END $$");
	CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
	CHECK_INT(pgembed_result_notice_count(r), 2);
	CHECK_STR(pgembed_error_message(pgembed_result_notice(r, 0)), "hello 42");
	CHECK_STR(pgembed_error_severity(pgembed_result_notice(r, 0)), "NOTICE");
	CHECK_STR(pgembed_error_severity(pgembed_result_notice(r, 1)), "WARNING");
	pgembed_result_free(r);

	r = pgembed_exec(db, "DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = 'P0001', HINT = 'try again'; END $$");
	err = pgembed_result_error(r);
	CHECK_STR(pgembed_error_message(err), "boom");
	CHECK_STR(pgembed_error_field(err, PGEMBED_DIAG_MESSAGE_HINT), "try again");
	CHECK(pgembed_error_field(err, PGEMBED_DIAG_CONTEXT) != NULL);
	pgembed_result_free(r);
	teardown();
}

static void
test_copy_in_and_out(void)
{
	pgembed_result *r;
	const char *chunk;
	int64_t		n,
				total = 0;
	int			chunks = 0;

	REQUIRE(setup());
	CHECK_STR(sqlstate_of(db, "CREATE TABLE c(id int, name text)"), "00000");
	r = pgembed_exec(db, "COPY c FROM STDIN");
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_IN);
	pgembed_result_free(r);
	CHECK_INT(pgembed_copy_put(db, "1\tone\n2\t", 8), 0);
	CHECK_INT(pgembed_copy_put(db, "two\n3\t\\N\n", 9), 0);
	r = pgembed_copy_end(db, NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
	CHECK_INT(pgembed_result_rows_affected(r), 3);
	pgembed_result_free(r);
	CHECK_STR(scalar(db, "SELECT name FROM c WHERE id = 2"), "two");

	/* CSV, and a bad row fails the whole COPY */
	r = pgembed_exec(db, "COPY c FROM STDIN (FORMAT csv)");
	pgembed_result_free(r);
	pgembed_copy_put(db, "4,four\nfive,5\n", 14);
	r = pgembed_copy_end(db, NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_ERROR);
	CHECK_STR(pgembed_error_sqlstate(pgembed_result_error(r)), "22P02");
	pgembed_result_free(r);
	CHECK_STR(scalar(db, "SELECT count(*) FROM c"), "3");

	/* a large COPY out arrives in chunks */
	CHECK_STR(sqlstate_of(db, "INSERT INTO c SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g"), "00000");
	r = pgembed_exec(db, "COPY c TO STDOUT");
	CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_OUT);
	pgembed_result_free(r);
	while ((n = pgembed_copy_get(db, &chunk)) > 0)
	{
		total += n;
		chunks++;
	}
	CHECK_INT(n, 0);
	r = pgembed_copy_end(db, NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_COMMAND_OK);
	CHECK_INT(pgembed_result_rows_affected(r), 100003);
	pgembed_result_free(r);
	CHECK(chunks > 10);
	CHECK(total > 100000 * 100);
	CHECK_STR(scalar(db, "SELECT 1"), "1");

	/*
	 * a notice raised while COPY produces its data (a trigger) is not the end
	 * of the data
	 */
	{
		char		all[64] = "";

		CHECK_STR(sqlstate_of(db, "CREATE TABLE cn(id serial, v int);"
							  "CREATE FUNCTION cn_notice() RETURNS trigger LANGUAGE plpgsql AS "
							  "$$ BEGIN RAISE NOTICE 'inserting %', NEW.v; RETURN NEW; END $$;"
							  "CREATE TRIGGER cn_t BEFORE INSERT ON cn FOR EACH ROW EXECUTE FUNCTION cn_notice()"), "00000");
		r = pgembed_exec(db, "COPY (INSERT INTO cn (v) VALUES (5), (6) RETURNING v) TO STDOUT");
		CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_OUT);
		pgembed_result_free(r);
		while ((n = pgembed_copy_get(db, &chunk)) > 0)
			strncat(all, chunk, (size_t) n < sizeof(all) - strlen(all) - 1 ? (size_t) n : sizeof(all) - strlen(all) - 1);
		r = pgembed_copy_end(db, NULL);
		CHECK_INT(pgembed_result_rows_affected(r), 2);
		pgembed_result_free(r);
		CHECK_STR(all, "5\n6\n");
	}

	/* binary format: out of one table, into another */
	{
		char	   *bin = NULL;
		size_t		binlen = 0;

		CHECK_STR(sqlstate_of(db, "CREATE TABLE cb(id int, name text, f float8, b bytea)"), "00000");
		CHECK_STR(sqlstate_of(db, "INSERT INTO cb SELECT g, 'n' || g, g / 3.0, '\\x00ff'::bytea FROM generate_series(1, 5000) g"), "00000");
		r = pgembed_exec(db, "COPY cb TO STDOUT (FORMAT binary)");
		CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_OUT);
		pgembed_result_free(r);
		while ((n = pgembed_copy_get(db, &chunk)) > 0)
		{
			bin = realloc(bin, binlen + n);
			memcpy(bin + binlen, chunk, n);
			binlen += n;
		}
		pgembed_result_free(pgembed_copy_end(db, NULL));
		CHECK(binlen > 11 && memcmp(bin, "PGCOPY\n\377\r\n\0", 11) == 0);
		CHECK_STR(sqlstate_of(db, "CREATE TABLE cb2 (LIKE cb)"), "00000");
		r = pgembed_exec(db, "COPY cb2 FROM STDIN (FORMAT binary)");
		CHECK_INT(pgembed_result_status(r), PGEMBED_COPY_IN);
		pgembed_result_free(r);
		CHECK_INT(pgembed_copy_put(db, bin, binlen), 0);
		r = pgembed_copy_end(db, NULL);
		CHECK_INT(pgembed_result_rows_affected(r), 5000);
		pgembed_result_free(r);
		CHECK_STR(scalar(db, "SELECT count(*) FROM (SELECT * FROM cb EXCEPT SELECT * FROM cb2) d"), "0");
		free(bin);
	}
	teardown();
}

static void
test_cursor(void)
{
	pgembed_result *r;
	int64_t		seen = 0;
	int			batches = 0;

	REQUIRE(setup());
	r = pgembed_cursor_open(db, "SELECT g FROM generate_series(1, 10005) g", 0, NULL, NULL, NULL, NULL,
							PGEMBED_FORMAT_AUTO, 1000);
	while (pgembed_result_status(r) == PGEMBED_SUSPENDED || pgembed_result_status(r) == PGEMBED_TUPLES_OK)
	{
		int32_t		v;

		batches++;
		for (int64_t i = 0; i < pgembed_result_ntuples(r); i++)
		{
			pgembed_result_get_int32(r, i, 0, &v);
			if (v != seen + 1)
				break;
			seen = v;
		}
		if (pgembed_result_status(r) == PGEMBED_TUPLES_OK)
			break;
		pgembed_result_free(r);
		r = pgembed_cursor_fetch(db, 1000);
	}
	CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
	pgembed_result_free(r);
	CHECK_INT(seen, 10005);
	CHECK_INT(batches, 11);
	CHECK_STR(scalar(db, "SELECT 2"), "2");
	/* closing early */
	r = pgembed_cursor_open(db, "SELECT g FROM generate_series(1, 10005) g", 0, NULL, NULL, NULL, NULL,
							PGEMBED_FORMAT_TEXT, 10);
	CHECK_INT(pgembed_result_status(r), PGEMBED_SUSPENDED);
	pgembed_result_free(r);
	r = pgembed_exec(db, "SELECT 1");
	CHECK_INT(pgembed_result_status(r), PGEMBED_MISUSE);
	pgembed_result_free(r);
	pgembed_result_free(pgembed_cursor_close(db));
	CHECK_STR(scalar(db, "SELECT 3"), "3");
	teardown();
}

static void
test_toast_detoasted(void)
{
	pgembed_result *r;

	REQUIRE(setup());
	/* stored out of line (incompressible) and compressed (repetitive) */
	CHECK_STR(sqlstate_of(db, "CREATE TABLE big(v text); INSERT INTO big SELECT string_agg(md5(g::text), '') FROM generate_series(1, 50000) g; INSERT INTO big SELECT repeat('pgembed', 200000)"), "00000");
	r = pgembed_exec(db, "SELECT v, pg_column_size(v) < octet_length(v) FROM big ORDER BY 2");
	CHECK_INT(pgembed_result_length(r, 0, 0), 50000 * 32);
	CHECK_INT(strlen(pgembed_result_value(r, 0, 0)), 50000 * 32);
	CHECK_INT(pgembed_result_length(r, 1, 0), 7 * 200000);
	CHECK_STR(pgembed_result_value(r, 1, 1), "t");
	pgembed_result_free(r);
	teardown();
}

static void
test_extensions(void)
{
	static const char *const checks[][2] = {
		{"CREATE EXTENSION hstore; SELECT ('a=>1'::hstore) -> 'a'", "1"},
		{"CREATE EXTENSION pg_trgm; SELECT similarity('word', 'words') > 0.5", "t"},
		{"CREATE EXTENSION citext; SELECT 'ABC'::citext = 'abc'::citext", "t"},
		{"CREATE EXTENSION ltree; SELECT 'a.b.c'::ltree @> 'a.b.c.d'::ltree", "t"},
		{"CREATE EXTENSION intarray; SELECT icount('{1,2,3}'::int[])", "3"},
		{"CREATE EXTENSION cube; SELECT cube_dim('(1,2,3)'::cube)", "3"},
		{"CREATE EXTENSION btree_gin; CREATE TABLE bg(n int); CREATE INDEX ON bg USING gin(n); SELECT 'ok'", "ok"},
		{"CREATE EXTENSION btree_gist; CREATE TABLE bgi(n int); CREATE INDEX ON bgi USING gist(n); SELECT 'ok'", "ok"},
		{"CREATE EXTENSION fuzzystrmatch; SELECT levenshtein('kitten', 'sitting')", "3"},
		{"CREATE EXTENSION tablefunc; SELECT count(*) FROM normal_rand(10, 0, 1)", "10"},
		{"CREATE EXTENSION unaccent; SELECT unaccent('Hôtel')", "Hotel"},
		{"CREATE EXTENSION amcheck; CREATE TABLE ac(n int primary key); SELECT bt_index_check('ac_pkey')::text", ""},
		{"CREATE EXTENSION pgstattuple; CREATE TABLE pst(n int); SELECT tuple_count FROM pgstattuple('pst')", "0"},
		{"CREATE EXTENSION tsm_system_rows; CREATE TABLE tsm AS SELECT generate_series(1,100) n; SELECT count(*) FROM tsm TABLESAMPLE system_rows(5)", "5"},
		{"DO $$ BEGIN PERFORM 1; END $$; SELECT 'plpgsql'", "plpgsql"},
	};

	REQUIRE(setup());
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
	{
		const char *got = scalar(db, checks[i][0]);

		if (strcmp(got, checks[i][1]) != 0)
			test_fail(__FILE__, __LINE__, "%s: expected \"%s\", got \"%s\"", checks[i][0], checks[i][1], got);
	}
	teardown();

	/* pg_stat_statements needs preloading: a setting */
	{
		const char *settings[] = {"shared_preload_libraries=pg_stat_statements"};

		db = open_fresh(1, settings);
		REQUIRE(db != NULL);
		CHECK_STR(sqlstate_of(db, "CREATE EXTENSION pg_stat_statements"), "00000");
		CHECK_STR(sqlstate_of(db, "SELECT 1 + 1"), "00000");
		CHECK_STR(scalar(db, "SELECT count(*) > 0 FROM pg_stat_statements WHERE query LIKE 'SELECT $1 + $2%'"), "t");
		teardown();
	}
}

static bool
has_message(const char *out, size_t len, char type)
{
	size_t		pos = 0;

	while (pos + 5 <= len)
	{
		uint32_t	n;

		memcpy(&n, out + pos + 1, 4);
		if (out[pos] == type)
			return true;
		pos += 1 + ntohl(n);
	}
	return false;
}

static void
test_protocol_exchange(void)
{
	char		msg[256];
	size_t		len;
	const char *out;
	size_t		outlen;
	pgembed_result *r;

	REQUIRE(setup());
	/* simple query */
	len = put_message(msg, 'Q', "SELECT 41 + 1", 14);
	CHECK_INT(pgembed_protocol_exchange(db, msg, len, &out, &outlen), 0);
	CHECK(has_message(out, outlen, 'T'));
	CHECK(has_message(out, outlen, 'D'));
	CHECK(has_message(out, outlen, 'C'));
	CHECK(outlen >= 6 && out[outlen - 6] == 'Z' && out[outlen - 1] == 'I');
	/* extended protocol: Parse, Bind, Execute, Sync */
	{
		/* unnamed statement, no parameter types */
		static const char parse[] = "\0SELECT $1::int * 2\0\0\0";

		/*
		 * unnamed portal and statement, text params, one value "21", text
		 * results
		 */
		static const char bind[] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 2, '2', '1', 0, 0};

		/* unnamed portal, all rows */
		static const char exec[] = {0, 0, 0, 0, 0};

		len = put_message(msg, 'P', parse, sizeof(parse) - 1);
		len += put_message(msg + len, 'B', bind, sizeof(bind));
		len += put_message(msg + len, 'E', exec, sizeof(exec));
	}
	len += put_message(msg + len, 'S', "", 0);
	CHECK_INT(pgembed_protocol_exchange(db, msg, len, &out, &outlen), 0);
	CHECK(has_message(out, outlen, '1'));
	CHECK(has_message(out, outlen, '2'));
	CHECK(has_message(out, outlen, 'D'));
	CHECK(!has_message(out, outlen, 'E'));
	/* a protocol client's open transaction holds the engine */
	len = put_message(msg, 'Q', "BEGIN", 6);
	CHECK_INT(pgembed_protocol_exchange(db, msg, len, &out, &outlen), 0);
	CHECK(out[outlen - 1] == 'T');
	r = pgembed_exec(db, "SELECT 1");
	CHECK_INT(pgembed_result_status(r), PGEMBED_MISUSE);
	pgembed_result_free(r);
	len = put_message(msg, 'Q', "COMMIT", 7);
	CHECK_INT(pgembed_protocol_exchange(db, msg, len, &out, &outlen), 0);
	CHECK(out[outlen - 1] == 'I');
	CHECK_STR(scalar(db, "SELECT 'direct again'"), "direct again");
	teardown();
}

/* Every bundled extension installs (with what it requires). */
static void
test_every_extension_installs(void)
{
	pgembed_result *list;
	int			installed = 0;

	REQUIRE(setup());
	list = pgembed_exec(db, "SELECT name FROM pg_available_extensions WHERE installed_version IS NULL ORDER BY name");
	REQUIRE(pgembed_result_status(list) == PGEMBED_TUPLES_OK);
	for (int64_t i = 0; i < pgembed_result_ntuples(list); i++)
	{
		char		sql[300];
		const char *state;

		snprintf(sql, sizeof(sql), "CREATE EXTENSION IF NOT EXISTS \"%s\" CASCADE", pgembed_result_value(list, i, 0));
		state = sqlstate_of(db, sql);
		if (strcmp(state, "00000") != 0)
			test_fail(__FILE__, __LINE__, "%s: SQLSTATE %s", sql, state);
		else
			installed++;
	}
	printf("    %d extensions installed\n", installed);
	CHECK(installed >= 35);
	pgembed_result_free(list);
	teardown();
}

/*
 * The memory a 100 MB value needed goes back at the end of the call: the
 * request buffer kept its 128 MB and the engine's heap (a C library copy that
 * never unmaps) kept what the backend freed, ~200 MB per open engine until
 * its close.
 */
static void
test_large_value_memory_returns(void)
{
	pgembed_engine *db = open_fresh(0, NULL);
	const size_t size = 100u << 20;
	char	   *big;
	const char *values[1];
	long		before,
				after;

	REQUIRE(db != NULL);
	CHECK_STR(scalar(db, "SELECT 1"), "1");
	before = rss_kb();
	big = malloc(size + 1);
	REQUIRE(big != NULL);
	memset(big, 'x', size);
	big[size] = '\0';
	values[0] = big;
	for (int i = 0; i < 2; i++)
	{
		pgembed_result *r = pgembed_exec_params(db, "SELECT length($1::text), $1::text", 1, NULL, values, NULL,
												NULL, PGEMBED_FORMAT_TEXT);

		CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
		CHECK_STR(pgembed_result_value(r, 0, 0), "104857600");
		CHECK(strlen(pgembed_result_value(r, 0, 1)) == size);
		pgembed_result_free(r);
	}
	free(big);
	after = rss_kb();
	printf("    RSS %ld kB before, %ld kB after two 100 MB round trips\n", before, after);
	CHECK(after - before < 40 * 1024);
	pgembed_close(db, NULL);
}

const test_case statement_tests[] = {
	{"statements: every bundled extension installs", test_every_extension_installs},
	{"statements: the protocol door (simple, extended, transaction hand-over)", test_protocol_exchange},
	{"statements: several statements return the last result", test_multi_statement_returns_last},
	{"statements: parameters, binary and text", test_parameters},
	{"statements: prepared statements and a 25 000-row batch", test_prepared_and_batch},
	{"statements: transactions and top-level-only commands", test_transactions},
	{"statements: error fields and notices", test_error_fields_and_notices},
	{"statements: COPY in and out: text, CSV, binary, chunked", test_copy_in_and_out},
	{"statements: cursor fetches in batches", test_cursor},
	{"statements: TOASTed values come back detoasted", test_toast_detoasted},
	{"statements: bundled extensions work", test_extensions},
	{"statements: the memory of a 100 MB value goes back after the call", test_large_value_memory_returns},
	{NULL, NULL}
};
