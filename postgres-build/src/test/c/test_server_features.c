/*
 * test_server_features.c
 *	  What backends running under a real postmaster get that a single-backend
 *	  engine lacks: event triggers.
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

const test_case server_feature_tests[] = {
	{"server features: event triggers fire in a cluster's backends (ddl, sql_drop, table_rewrite, login)", test_event_triggers_fire},
	{NULL, NULL}
};
