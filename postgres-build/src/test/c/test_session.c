/*
 * The session's user and what a standalone backend would skip: session
 * authorization, pg_db_role_setting, text search dictionary options, and a
 * session opened as a role that is not a superuser.
 */
#include "test_util.h"

#include <stdlib.h>

static pgembed_engine *
open_as(const char *dir, const char *role, const char **sqlstate)
{
	static char state[8];
	pgembed_error *err = NULL;
	pgembed_engine *e = pgembed_open_as(dir, NULL, role, 0, NULL, &err);

	snprintf(state, sizeof(state), "%s", err ? pgembed_error_sqlstate(err) : "00000");
	if (sqlstate)
		*sqlstate = state;
	if (e == NULL && sqlstate == NULL)
		test_fail(__FILE__, __LINE__, "open as %s: %s", role, pgembed_error_message(err));
	pgembed_error_free(err);
	return e;
}

/* RESET SESSION AUTHORIZATION and its kin return to the session's user. */
static void
test_session_authorization(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		superuser[128];

	REQUIRE(e != NULL);
	snprintf(superuser, sizeof(superuser), "%s", scalar(e, "SELECT rolname FROM pg_authid WHERE oid = 10"));
	CHECK_STR(scalar(e, "SHOW session_authorization"), superuser);
	CHECK_STR(sqlstate_of(e, "CREATE ROLE alice"), "00000");

	CHECK_STR(sqlstate_of(e, "SET SESSION AUTHORIZATION alice"), "00000");
	CHECK_STR(scalar(e, "SELECT current_user"), "alice");
	CHECK_STR(sqlstate_of(e, "RESET SESSION AUTHORIZATION"), "00000");
	CHECK_STR(scalar(e, "SELECT current_user"), superuser);

	CHECK_STR(sqlstate_of(e, "SET SESSION AUTHORIZATION alice"), "00000");
	CHECK_STR(sqlstate_of(e, "SET SESSION AUTHORIZATION DEFAULT"), "00000");
	CHECK_STR(scalar(e, "SELECT session_user"), superuser);

	CHECK_STR(sqlstate_of(e, "SET SESSION AUTHORIZATION alice"), "00000");
	CHECK_STR(sqlstate_of(e, "DISCARD ALL"), "00000");
	CHECK_STR(scalar(e, "SELECT current_user"), superuser);

	CHECK_STR(sqlstate_of(e, "BEGIN; SET SESSION AUTHORIZATION alice"), "00000");
	CHECK_STR(scalar(e, "SELECT current_user"), "alice");
	CHECK_STR(sqlstate_of(e, "ROLLBACK"), "00000");
	CHECK_STR(scalar(e, "SELECT current_user"), superuser);
	pgembed_close(e, NULL);
}

/*
 * The session's own NOTIFY of a channel it listens on reaches its caller as
 * the result's notification (PostgreSQL sends it before ReadyForQuery), on the
 * simple and the prepared path, and only once.
 */
static void
test_notifications_in_result(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pgembed_result *r;

	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "LISTEN ch"), "00000");
	r = pgembed_exec(e, "NOTIFY ch, 'hello'");
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_notification_count(r), 1);
	REQUIRE(pgembed_result_notification(r, 0) != NULL);
	CHECK_STR(pgembed_result_notification(r, 0)->channel, "ch");
	CHECK_STR(pgembed_result_notification(r, 0)->payload, "hello");
	CHECK_INT(pgembed_result_notification(r, 0)->pid, pgembed_backend_pid(e));
	pgembed_result_free(r);

	/* delivered once: the next call has none */
	r = pgembed_exec(e, "SELECT 1");
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_notification_count(r), 0);
	pgembed_result_free(r);

	/* a channel not listened on gives none */
	r = pgembed_exec(e, "NOTIFY other, 'x'");
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_notification_count(r), 0);
	pgembed_result_free(r);

	/* pg_notify through a prepared statement (the direct path) */
	r = pgembed_prepare(e, "notify_stmt", "SELECT pg_notify('ch', $1)", 0, NULL);
	REQUIRE(r != NULL);
	CHECK(pgembed_result_error(r) == NULL);
	pgembed_result_free(r);
	{
		const char *const values[] = {"prepared"};

		r = pgembed_exec_prepared(e, "notify_stmt", 1, values, NULL, NULL, PGEMBED_FORMAT_TEXT);
	}
	REQUIRE(r != NULL);
	CHECK_INT(pgembed_result_status(r), PGEMBED_TUPLES_OK);
	CHECK_INT(pgembed_result_notification_count(r), 1);
	if (pgembed_result_notification_count(r) == 1)
		CHECK_STR(pgembed_result_notification(r, 0)->payload, "prepared");
	pgembed_result_free(r);
	pgembed_close(e, NULL);
}

/* ALTER ROLE / DATABASE ... SET take effect in the next session, as with a server. */
static void
test_role_settings_applied(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		dir[1024];

	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	CHECK_STR(sqlstate_of(e, "ALTER DATABASE postgres SET work_mem = '3MB'"), "00000");
	CHECK_STR(sqlstate_of(e, "ALTER ROLE CURRENT_USER SET statement_timeout = '42s'"), "00000");
	CHECK_STR(scalar(e, "SHOW work_mem"), "4MB");
	pgembed_close(e, NULL);
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SHOW work_mem"), "3MB");
	CHECK_STR(scalar(e, "SHOW statement_timeout"), "42s");
	pgembed_close(e, NULL);
}

/* CREATE/ALTER TEXT SEARCH DICTIONARY check the options with the template. */
static void
test_ts_dictionary_options_checked(void)
{
	pgembed_engine *e = open_fresh(0, NULL);

	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE TEXT SEARCH DICTIONARY d1 (TEMPLATE = simple, Bogus = 1)"), "22023");
	CHECK_STR(scalar(e, "SELECT count(*) FROM pg_ts_dict WHERE dictname = 'd1'"), "0");
	CHECK_STR(sqlstate_of(e, "CREATE TEXT SEARCH DICTIONARY d1 (TEMPLATE = simple, Accept = false)"), "00000");
	CHECK_STR(sqlstate_of(e, "ALTER TEXT SEARCH DICTIONARY d1 (Accept = 2)"), "42601");
	CHECK_STR(sqlstate_of(e, "ALTER TEXT SEARCH DICTIONARY d1 (Accept = true)"), "00000");
	/* a namesake earlier on the search path is not the one checked */
	CHECK_STR(sqlstate_of(e, "CREATE TEXT SEARCH DICTIONARY public.simple (TEMPLATE = simple, StopWords = nosuchfile)"),
			  "F0000");
	CHECK_STR(sqlstate_of(e, "CREATE TEXT SEARCH DICTIONARY public.simple (TEMPLATE = simple)"), "00000");
	CHECK_STR(scalar(e, "SELECT ts_lexize('d1', 'Hello')"), "{hello}");
	pgembed_close(e, NULL);
}

/*
 * Objects get OIDs from FirstNormalObjectId on, as with a server, also in a
 * cluster from a stock initdb (whose OID counter stops below 16384; pgembed's
 * own template is moved past it when built): they are not system objects.
 */
static void
test_user_oids(void)
{
	const char *stage = getenv("PGEMBED_TEST_PG_STAGE");
	char		dir[1100],
				cmd[8192];
	pgembed_error *err = NULL;
	pgembed_engine *e;

	if (stage == NULL)
	{
		test_skip("PGEMBED_TEST_PG_STAGE not set");
		return;
	}
	snprintf(dir, sizeof(dir), "%s-initdb", fresh_dir());
	/* initdb refuses root: run it as nobody, then give the cluster back */
	snprintf(cmd, sizeof(cmd),
			 "mkdir -p '%s' && if [ $(id -u) -eq 0 ]; then chown nobody:nogroup '%s'; "
			 "RUN='setpriv --reuid=nobody --regid=nogroup --clear-groups'; fi; "
			 "$RUN '%s/bin/initdb' -D '%s' -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null 2>&1 && "
			 "chown -R $(id -u):$(id -g) '%s'",
			 dir, dir, stage, dir, dir);
	REQUIRE(system(cmd) == 0);
	e = pgembed_open(dir, NULL, 0, NULL, &err);
	if (e == NULL)
		test_fail(__FILE__, __LINE__, "open %s: %s", dir, pgembed_error_message(err));
	pgembed_error_free(err);
	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE TABLE first_table(x int)"), "00000");
	CHECK_STR(scalar(e, "SELECT 'first_table'::regclass::oid >= 16384"), "t");
	pgembed_close(e, NULL);
}

/* A superuser prepares the cluster for a confined role. */
static bool
prepare_app_role(char *dir, size_t dirlen)
{
	pgembed_engine *e = open_fresh(0, NULL);

	if (e == NULL)
		return false;
	snprintf(dir, dirlen, "%s", current_dir());
	CHECK_STR(sqlstate_of(e, "CREATE ROLE app LOGIN; CREATE ROLE nologin; CREATE ROLE boss SUPERUSER LOGIN;"
						  "CREATE SCHEMA AUTHORIZATION app;"
						  "CREATE TABLE public.ledger(id int, note text);"
						  "GRANT SELECT, INSERT, DELETE ON public.ledger TO app"), "00000");
	pgembed_close(e, NULL);
	return true;
}

static void
test_session_role_refusals(void)
{
	char		dir[1024];
	const char *state;
	pgembed_engine *e;

	REQUIRE(prepare_app_role(dir, sizeof(dir)));
	CHECK(open_as(dir, "postgres", &state) == NULL);
	CHECK_STR(state, "28000");
	CHECK(open_as(dir, "boss", &state) == NULL);
	CHECK_STR(state, "28000");
	CHECK(open_as(dir, "nosuchrole", &state) == NULL);
	CHECK_STR(state, "28000");
	CHECK(open_as(dir, "nologin", &state) == NULL);
	CHECK_STR(state, "28000");

	e = open_as(dir, "app", NULL);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT current_user || ' ' || session_user || ' ' || current_setting('is_superuser')"),
			  "app app off");
	CHECK_STR(scalar(e, "SELECT usename FROM pg_stat_activity WHERE pid = pg_backend_pid()"), "app");

	/* no way back to a superuser */
	CHECK_STR(sqlstate_of(e, "SET SESSION AUTHORIZATION postgres"), "42501");
	CHECK_STR(sqlstate_of(e, "SET ROLE postgres"), "42501");
	CHECK_STR(sqlstate_of(e, "RESET SESSION AUTHORIZATION"), "00000");
	CHECK_STR(sqlstate_of(e, "DISCARD ALL"), "00000");
	CHECK_STR(scalar(e, "SELECT current_user"), "app");
	CHECK_STR(sqlstate_of(e, "GRANT pg_read_server_files TO app"), "42501");
	CHECK_STR(sqlstate_of(e, "ALTER ROLE app SUPERUSER"), "42501");

	/* nothing of the operating-system user's */
	CHECK_STR(sqlstate_of(e, "SELECT pg_read_file('/etc/passwd')"), "42501");
	CHECK_STR(sqlstate_of(e, "SELECT pg_ls_dir('.')"), "42501");
	CHECK_STR(sqlstate_of(e, "CREATE TABLE app.t(line text)"), "00000");
	CHECK_STR(sqlstate_of(e, "COPY app.t FROM '/etc/passwd'"), "42501");
	CHECK_STR(sqlstate_of(e, "COPY app.t TO '/tmp/pgembed-should-not-exist'"), "42501");
	CHECK_STR(sqlstate_of(e, "COPY app.t FROM PROGRAM 'id'"), "42501");
	CHECK_STR(sqlstate_of(e, "SELECT lo_import('/etc/passwd')"), "42501");
	CHECK_STR(sqlstate_of(e, "LOAD 'plpgsql'"), "42501");
	CHECK_STR(sqlstate_of(e, "CREATE FUNCTION app.f() RETURNS int LANGUAGE C AS 'libc.so.6', 'getpid'"), "42501");
	CHECK_STR(sqlstate_of(e, "ALTER SYSTEM SET work_mem = '1GB'"), "42501");
	CHECK_STR(sqlstate_of(e, "SET log_statement = 'all'"), "42501");
	CHECK_STR(sqlstate_of(e, "SET session_preload_libraries = 'auto_explain'"), "42501");
	CHECK_STR(sqlstate_of(e, "CREATE EXTENSION file_fdw"), "42501");

	/* ordinary work */
	CHECK_STR(sqlstate_of(e, "INSERT INTO app.t VALUES ('a'), ('b')"), "00000");
	CHECK_STR(scalar(e, "SELECT string_agg(line, ',' ORDER BY line) FROM app.t"), "a,b");
	CHECK_STR(sqlstate_of(e, "CREATE TEMP TABLE tmp AS SELECT 1 AS x"), "00000");
	CHECK_STR(sqlstate_of(e, "DO $$ BEGIN PERFORM 1; END $$"), "00000");
	CHECK_STR(sqlstate_of(e, "INSERT INTO public.ledger VALUES (1, 'x')"), "00000");
	CHECK_STR(sqlstate_of(e, "CREATE TABLE public.mine(x int)"), "42501");
	pgembed_close(e, NULL);
}

/*
 * Maintenance vacuums the superuser's tables the role writes to, and runs as
 * the superuser without the session's search_path or functions reaching it.
 */
static void
test_session_role_maintenance(void)
{
	char		dir[1024];
	pgembed_engine *e;

	REQUIRE(prepare_app_role(dir, sizeof(dir)));
	e = open_as(dir, "app", NULL);
	REQUIRE(e != NULL);

	/*
	 * bait: functions that would make app a superuser if maintenance called
	 * them
	 */
	CHECK_STR(sqlstate_of(e,
						  "CREATE FUNCTION app.age(xid) RETURNS int LANGUAGE plpgsql AS "
						  "$$ BEGIN EXECUTE 'ALTER ROLE app SUPERUSER'; RETURN 0; END $$;"
						  "CREATE FUNCTION app.current_setting(text) RETURNS text LANGUAGE plpgsql AS "
						  "$$ BEGIN EXECUTE 'ALTER ROLE app SUPERUSER'; RETURN '0'; END $$;"
						  "CREATE FUNCTION app.format(text, name, name) RETURNS text LANGUAGE plpgsql AS "
						  "$$ BEGIN EXECUTE 'ALTER ROLE app SUPERUSER'; RETURN 'x'; END $$;"
						  "SET search_path = app, pg_catalog"), "00000");
	CHECK_STR(sqlstate_of(e, "INSERT INTO public.ledger SELECT g, 'n' FROM generate_series(1, 2000) g;"
						  "DELETE FROM public.ledger"), "00000");
	CHECK_STR(scalar(e, "SELECT last_vacuum IS NULL FROM pg_stat_all_tables WHERE relid = 'public.ledger'::regclass"),
			  "t");
	CHECK_INT(pgembed_maintain(e), 0);
	CHECK_STR(scalar(e, "SELECT last_vacuum IS NOT NULL FROM pg_stat_all_tables WHERE relid = 'public.ledger'::regclass"),
			  "t");
	CHECK_STR(scalar(e, "SELECT rolsuper FROM pg_roles WHERE rolname = 'app'"), "f");
	CHECK_STR(scalar(e, "SELECT current_user || ' ' || pg_catalog.current_setting('search_path')"), "app app, pg_catalog");
	CHECK_STR(sqlstate_of(e, "SET ROLE postgres"), "42501");
	pgembed_close(e, NULL);
}

const test_case session_tests[] = {
	{"session: RESET SESSION AUTHORIZATION returns to the session user", test_session_authorization},
	{"session: ALTER ROLE/DATABASE SET apply at the next open", test_role_settings_applied},
	{"session: a notification of a channel listened on is in the result", test_notifications_in_result},
	{"session: text search dictionary options are checked", test_ts_dictionary_options_checked},
	{"session: user objects get OIDs from 16384 on", test_user_oids},
	{"session: a session role cannot reach superuser powers", test_session_role_refusals},
	{"session: maintenance under a session role", test_session_role_maintenance},
	{NULL, NULL}
};
