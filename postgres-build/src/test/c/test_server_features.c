/*
 * test_server_features.c
 *	  What backends running under a real postmaster get that a single-backend
 *	  engine lacks: event triggers, parallel query.
 */
#include "test_util.h"

#include <stdlib.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Event triggers
 * ------------------------------------------------------------------------
 */
static const char *const event_trigger_setup =
"CREATE TABLE evlog(n serial, ev text, tag text, what text);"
"CREATE FUNCTION log_start() RETURNS event_trigger LANGUAGE plpgsql AS $$"
"  BEGIN INSERT INTO evlog(ev, tag) VALUES (tg_event, tg_tag); END $$;"
"CREATE FUNCTION log_end() RETURNS event_trigger LANGUAGE plpgsql AS $$"
"  DECLARE r record;"
"  BEGIN FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP"
"    INSERT INTO evlog(ev, tag, what) VALUES (tg_event, tg_tag, r.object_identity);"
"  END LOOP; END $$;"
"CREATE FUNCTION log_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$"
"  DECLARE r record;"
"  BEGIN FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() WHERE object_type = 'table' LOOP"
"    INSERT INTO evlog(ev, tag, what) VALUES (tg_event, tg_tag, r.object_identity);"
"  END LOOP; END $$;"
"CREATE FUNCTION log_rewrite() RETURNS event_trigger LANGUAGE plpgsql AS $$"
"  BEGIN INSERT INTO evlog(ev, tag, what)"
"    VALUES (tg_event, tg_tag, pg_event_trigger_table_rewrite_oid()::regclass::text); END $$;"
"CREATE FUNCTION log_login() RETURNS event_trigger LANGUAGE plpgsql AS $$"
"  BEGIN INSERT INTO evlog(ev, tag, what) VALUES (tg_event, tg_tag, session_user); END $$;"
"CREATE EVENT TRIGGER t_start ON ddl_command_start WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION log_start();"
"CREATE EVENT TRIGGER t_end ON ddl_command_end EXECUTE FUNCTION log_end();"
"CREATE EVENT TRIGGER t_drop ON sql_drop EXECUTE FUNCTION log_drop();"
"CREATE EVENT TRIGGER t_rewrite ON table_rewrite EXECUTE FUNCTION log_rewrite();"
"CREATE EVENT TRIGGER t_login ON login EXECUTE FUNCTION log_login();";

/* the event log as one line: "ev/tag/what;..." in order */
static const char *
event_log(pgembed_engine *e)
{
	return scalar(e, "SELECT string_agg(ev || '/' || tag || '/' || coalesce(what, '-'), ';' ORDER BY n) "
				  "FROM evlog");
}

/*
 * Backends of a cluster run under a postmaster (IsUnderPostmaster), so
 * PostgreSQL fires event triggers as a server does: ddl_command_start and
 * _end, sql_drop, table_rewrite, and login for a new connection.
 */
static void
test_event_triggers_fire(void)
{
	pgembed_cluster *c = cluster_fresh(0, NULL);
	pgembed_engine *b1,
			   *b2;

	REQUIRE(c != NULL);
	b1 = backend(c);
	REQUIRE(b1 != NULL);
	CHECK_STR(sqlstate_of(b1, event_trigger_setup), "00000");
	CHECK_STR(sqlstate_of(b1, "TRUNCATE evlog"), "00000");
	CHECK_STR(sqlstate_of(b1, "CREATE TABLE x(a int)"), "00000");
	CHECK_STR(sqlstate_of(b1, "ALTER TABLE x ALTER a TYPE bigint"), "00000");
	CHECK_STR(sqlstate_of(b1, "DROP TABLE x"), "00000");
	CHECK_STR(event_log(b1),
			  "ddl_command_start/CREATE TABLE/-;ddl_command_end/CREATE TABLE/public.x;"
			  "table_rewrite/ALTER TABLE/x;ddl_command_end/ALTER TABLE/public.x;"
			  "sql_drop/DROP TABLE/public.x");

	/*
	 * a new backend logs in: the login trigger runs in it, before its first
	 * query
	 */
	CHECK_STR(sqlstate_of(b1, "TRUNCATE evlog"), "00000");
	b2 = backend(c);
	REQUIRE(b2 != NULL);
	CHECK_STR(event_log(b2), "login/LOGIN/postgres");

	/*
	 * an error in a ddl_command_start trigger stops the command, as on a
	 * server
	 */
	CHECK_STR(sqlstate_of(b1, "CREATE FUNCTION refuse() RETURNS event_trigger LANGUAGE plpgsql AS $$"
						  "  BEGIN RAISE EXCEPTION 'no tables today' USING ERRCODE = '42501'; END $$;"
						  "CREATE EVENT TRIGGER t_refuse ON ddl_command_start WHEN TAG IN ('CREATE TABLE')"
						  "  EXECUTE FUNCTION refuse()"), "00000");
	CHECK_STR(sqlstate_of(b2, "CREATE TABLE refused(a int)"), "42501");
	CHECK_STR(scalar(b2, "SELECT to_regclass('refused') IS NULL"), "t");
	pgembed_close(b1, NULL);
	pgembed_close(b2, NULL);
	close_cluster(c);
}

/* ------------------------------------------------------------------------
 * Parallel query
 * ------------------------------------------------------------------------
 */

/* parallel plans even for a small table: the costs that keep them for big ones are 0 */
static const char *const parallel_settings[] = {
	"parallel_setup_cost=0", "parallel_tuple_cost=0", "min_parallel_table_scan_size=0",
	"autovacuum=off"
};

static const char *const parallel_query =
"SELECT k, count(*), sum(id) FROM par GROUP BY k ORDER BY k";

/* "Workers Launched: n" of EXPLAIN ANALYZE of sql on e, or -1 */
static int
workers_launched(pgembed_engine *e, const char *sql)
{
	char		explain[512];
	pgembed_result *r;
	int			launched = -1;

	snprintf(explain, sizeof(explain), "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) %s", sql);
	r = pgembed_exec(e, explain);
	if (pgembed_result_error(r) != NULL)
		test_fail(__FILE__, __LINE__, "%s: %s", explain, pgembed_error_message(pgembed_result_error(r)));
	for (int64_t i = 0; i < pgembed_result_ntuples(r); i++)
	{
		const char *line = strstr(pgembed_result_value(r, i, 0), "Workers Launched: ");

		if (line != NULL)
			launched = atoi(line + strlen("Workers Launched: "));
	}
	pgembed_result_free(r);
	return launched;
}

/* every row of sql's result, one line each (malloc'd) */
static char *
all_rows(pgembed_engine *e, const char *sql)
{
	pgembed_result *r = pgembed_exec(e, sql);
	size_t		cap = 1 << 16,
				len = 0;
	char	   *out = malloc(cap);

	out[0] = '\0';
	for (int64_t i = 0; i < pgembed_result_ntuples(r) && pgembed_result_error(r) == NULL; i++)
		for (int j = 0; j < pgembed_result_nfields(r); j++)
		{
			const char *v = pgembed_result_is_null(r, i, j) ? "NULL" : pgembed_result_value(r, i, j);

			while (len + strlen(v) + 2 >= cap)
				out = realloc(out, cap *= 2);
			len += sprintf(out + len, "%s%c", v, j + 1 < pgembed_result_nfields(r) ? '|' : '\n');
		}
	pgembed_result_free(r);
	return out;
}

static void
make_parallel_table(pgembed_engine *b)
{
	CHECK_STR(sqlstate_of(b, "CREATE TABLE par AS SELECT g AS id, g % 7 AS k FROM generate_series(1, 300000) g;"
						  "ANALYZE par"), "00000");
}

/*
 * A parallel plan runs with its workers, each a background worker process
 * of the cluster (a namespace, a thread), and gives the serial plan's rows.
 */
static void
test_parallel_query(void)
{
	pgembed_cluster *c = cluster_fresh(4, parallel_settings);
	pgembed_engine *b;
	char	   *parallel,
			   *serial;

	REQUIRE(c != NULL);
	b = backend(c);
	REQUIRE(b != NULL);
	make_parallel_table(b);
	CHECK_INT(workers_launched(b, parallel_query), 2);
	parallel = all_rows(b, parallel_query);
	CHECK_STR(sqlstate_of(b, "SET max_parallel_workers_per_gather = 0"), "00000");
	CHECK_INT(workers_launched(b, parallel_query), -1); /* no Gather at all */
	serial = all_rows(b, parallel_query);
	CHECK(strlen(serial) > 0);
	CHECK_STR(parallel, serial);
	free(parallel);
	free(serial);
	CHECK_STR(sqlstate_of(b, "RESET max_parallel_workers_per_gather"), "00000");

	/*
	 * a parallel index build, and a LIMIT that may end its workers before
	 * they start
	 */
	CHECK_STR(sqlstate_of(b, "SET max_parallel_maintenance_workers = 2; CREATE INDEX ON par(id)"), "00000");
	CHECK_STR(scalar(b, "SELECT count(*) FROM (SELECT * FROM par WHERE k = 3 LIMIT 1) s"), "1");
	CHECK_STR(scalar(b, "SELECT count(*) FROM par WHERE k = 3"), "42857");
	pgembed_close(b, NULL);
	close_cluster(c);
}

/*
 * With no namespace left, PostgreSQL registers no worker and the query runs
 * serially with the same rows, never failing; with one free, one worker.
 * No namespace stays reserved afterwards: as many backends connect as before.
 */
static void
test_parallel_query_without_namespaces(void)
{
	pgembed_cluster *c = cluster_fresh(4, parallel_settings);
	pgembed_engine *b[16];
	pgembed_error *err = NULL;
	char	   *expected,
			   *got;
	int			n,
				again;

	REQUIRE(c != NULL);
	b[0] = backend(c);
	REQUIRE(b[0] != NULL);
	make_parallel_table(b[0]);
	CHECK_STR(sqlstate_of(b[0], "SET max_parallel_workers_per_gather = 0"), "00000");
	expected = all_rows(b[0], parallel_query);
	CHECK_STR(sqlstate_of(b[0], "RESET max_parallel_workers_per_gather"), "00000");

	for (n = 1; n < 16 && (b[n] = pgembed_connect(c, NULL, NULL, 0, NULL, &err)) != NULL; n++)
		;
	CHECK_STR(pgembed_error_sqlstate(err), "53300");
	pgembed_error_free(err);
	err = NULL;
	printf("    %d backends hold every namespace\n", n);
	CHECK_INT(workers_launched(b[0], parallel_query), 0);
	got = all_rows(b[0], parallel_query);
	CHECK_STR(got, expected);
	free(got);

	pgembed_close(b[--n], NULL);
	CHECK_INT(workers_launched(b[0], parallel_query), 1);
	got = all_rows(b[0], parallel_query);
	CHECK_STR(got, expected);
	free(got);

	/*
	 * nothing stays reserved: the namespace serves a backend again, and no
	 * more
	 */
	for (again = n; again < 16 && (b[again] = pgembed_connect(c, NULL, NULL, 0, NULL, &err)) != NULL; again++)
		;
	CHECK_INT(again, n + 1);
	CHECK_STR(pgembed_error_sqlstate(err), "53300");
	pgembed_error_free(err);
	for (int i = 0; i < again; i++)
		pgembed_close(b[i], NULL);
	free(expected);
	close_cluster(c);
}

const test_case server_feature_tests[] = {
	{"server features: event triggers fire in a cluster's backends (ddl, sql_drop, table_rewrite, login)", test_event_triggers_fire},
	{"server features: parallel query runs with 2 workers and gives the serial plan's rows", test_parallel_query},
	{"server features: with no namespace left a parallel query runs serially, never fails", test_parallel_query_without_namespaces},
	{NULL, NULL}
};
