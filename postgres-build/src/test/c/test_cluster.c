/*
 * test_cluster.c
 *	  A cluster with a real postmaster (pgembed_cluster_open): several
 *	  backends of one database at once, on different threads, with the
 *	  isolation, locking and process identity of a server.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Running a statement on another thread
 * ------------------------------------------------------------------------
 */
typedef struct
{
	pgembed_engine *e;
	const char *sql;
	pthread_t	thread;
	char		sqlstate[8];
	char		value[256];
	volatile int done;
} async_call;

static void *
async_main(void *arg)
{
	async_call *a = arg;
	pgembed_result *r = pgembed_exec(a->e, a->sql);
	const pgembed_error *err = pgembed_result_error(r);

	snprintf(a->sqlstate, sizeof(a->sqlstate), "%s", err ? pgembed_error_sqlstate(err) : "00000");
	if (err == NULL && pgembed_result_ntuples(r) > 0 && !pgembed_result_is_null(r, 0, 0))
		snprintf(a->value, sizeof(a->value), "%s", pgembed_result_value(r, 0, 0));
	pgembed_result_free(r);
	__atomic_store_n(&a->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void
async_start(async_call *a, pgembed_engine *e, const char *sql)
{
	memset(a, 0, sizeof(*a));
	a->e = e;
	a->sql = sql;
	if (pthread_create(&a->thread, NULL, async_main, a) != 0)
		test_fail(__FILE__, __LINE__, "pthread_create");
}

static void
async_join(async_call *a)
{
	pthread_join(a->thread, NULL);
}

/* waits until backend pid shows wait_event_type Lock in pg_stat_activity, seen from e */
static bool
wait_until_lock_wait(pgembed_engine *e, int32_t pid)
{
	char		sql[200];

	snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM pg_stat_activity WHERE pid = %d AND wait_event_type = 'Lock'", (int) pid);
	for (int i = 0; i < 1000; i++)
	{
		if (strcmp(scalar(e, sql), "1") == 0)
			return true;
		usleep(10000);
	}
	return false;
}

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------
 */

/* An uncommitted INSERT of backend 1 is invisible to backend 2 (on another thread) until COMMIT. */
static void
test_uncommitted_invisible(void)
{
	pgembed_cluster *c = cluster_fresh(0, NULL);
	pgembed_engine *b1,
			   *b2;
	async_call	a;

	REQUIRE(c != NULL);
	b1 = backend(c);
	b2 = backend(c);
	REQUIRE(b1 != NULL && b2 != NULL);
	CHECK_STR(sqlstate_of(b1, "CREATE TABLE t(n int)"), "00000");
	CHECK_STR(sqlstate_of(b1, "BEGIN; INSERT INTO t VALUES (1)"), "00000");
	CHECK_STR(scalar(b1, "SELECT count(*) FROM t"), "1");

	async_start(&a, b2, "SELECT count(*) FROM t");
	async_join(&a);
	CHECK_STR(a.sqlstate, "00000");
	CHECK_STR(a.value, "0");

	CHECK_STR(sqlstate_of(b1, "COMMIT"), "00000");
	async_start(&a, b2, "SELECT count(*) FROM t");
	async_join(&a);
	CHECK_STR(a.value, "1");
	pgembed_close(b1, NULL);
	pgembed_close(b2, NULL);
	close_cluster(c);
}

/*
 * Backend 2's UPDATE of a row backend 1 has updated waits for backend 1's
 * transaction (a real row lock), and goes on after its COMMIT; then each
 * backend holds a row the other wants, and one of them gets 40P01.
 */
static void
test_row_lock_and_deadlock(void)
{
	const char *settings[] = {"deadlock_timeout=100ms"};
	pgembed_cluster *c = cluster_fresh(1, settings);
	pgembed_engine *b1,
			   *b2;
	int32_t		pid2;
	async_call	a;

	REQUIRE(c != NULL);
	b1 = backend(c);
	b2 = backend(c);
	REQUIRE(b1 != NULL && b2 != NULL);
	pid2 = pgembed_backend_pid(b2);
	CHECK_STR(sqlstate_of(b1, "CREATE TABLE acct(id int primary key, v int); INSERT INTO acct VALUES (1, 0), (2, 0)"), "00000");

	CHECK_STR(sqlstate_of(b1, "BEGIN; UPDATE acct SET v = v + 1 WHERE id = 1"), "00000");
	async_start(&a, b2, "UPDATE acct SET v = v + 10 WHERE id = 1 RETURNING v");
	CHECK(wait_until_lock_wait(b1, pid2));
	CHECK(!__atomic_load_n(&a.done, __ATOMIC_SEQ_CST));
	CHECK_STR(sqlstate_of(b1, "COMMIT"), "00000");
	async_join(&a);
	CHECK_STR(a.sqlstate, "00000");
	CHECK_STR(a.value, "11");

	/*
	 * a deadlock: 1 holds row 1 and wants row 2, 2 holds row 2 and wants row
	 * 1
	 */
	CHECK_STR(sqlstate_of(b1, "BEGIN; UPDATE acct SET v = 100 WHERE id = 1"), "00000");
	CHECK_STR(sqlstate_of(b2, "BEGIN; UPDATE acct SET v = 200 WHERE id = 2"), "00000");
	async_start(&a, b2, "UPDATE acct SET v = 201 WHERE id = 1");
	CHECK(wait_until_lock_wait(b1, pid2));
	{
		const char *mine = sqlstate_of(b1, "UPDATE acct SET v = 101 WHERE id = 2");
		char		first[8];

		snprintf(first, sizeof(first), "%s", mine);
		async_join(&a);
		/* exactly one of them is chosen as the victim */
		CHECK((strcmp(first, "40P01") == 0) != (strcmp(a.sqlstate, "40P01") == 0));
		CHECK(strcmp(first, "00000") == 0 || strcmp(a.sqlstate, "00000") == 0);
	}
	CHECK_STR(sqlstate_of(b1, "ROLLBACK"), "00000");
	CHECK_STR(sqlstate_of(b2, "ROLLBACK"), "00000");
	pgembed_close(b1, NULL);
	pgembed_close(b2, NULL);
	close_cluster(c);
}

/* pg_stat_activity lists distinct virtual pids for the backends and the checkpointer. */
static void
test_distinct_pids(void)
{
	pgembed_cluster *c = cluster_fresh(0, NULL);
	pgembed_engine *b1,
			   *b2;
	char		sql[300];
	int32_t		p1,
				p2;

	REQUIRE(c != NULL);
	b1 = backend(c);
	b2 = backend(c);
	REQUIRE(b1 != NULL && b2 != NULL);
	p1 = pgembed_backend_pid(b1);
	p2 = pgembed_backend_pid(b2);
	CHECK(p1 != p2);
	CHECK(p1 != (int32_t) getpid() && p2 != (int32_t) getpid());
	snprintf(sql, sizeof(sql), "%d", (int) p1);
	CHECK_STR(scalar(b1, "SELECT pg_backend_pid()"), sql);
	snprintf(sql, sizeof(sql), "%d", (int) p2);
	CHECK_STR(scalar(b2, "SELECT pg_backend_pid()"), sql);
	snprintf(sql, sizeof(sql),
			 "SELECT count(DISTINCT pid) FROM pg_stat_activity "
			 "WHERE pid IN (%d, %d) AND backend_type = 'client backend'", (int) p1, (int) p2);
	CHECK_STR(scalar(b1, sql), "2");
	snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'checkpointer' "
			 "AND pid NOT IN (%d, %d, %d)", (int) p1, (int) p2, (int) getpid());
	CHECK_STR(scalar(b2, sql), "1");
	pgembed_close(b1, NULL);
	pgembed_close(b2, NULL);
	close_cluster(c);
}

/* pg_terminate_backend of an idle backend ends that one only. */
static void
test_terminate_idle_backend(void)
{
	pgembed_cluster *c = cluster_fresh(0, NULL);
	pgembed_engine *b1,
			   *b2;
	char		sql[200];
	pgembed_result *r;

	REQUIRE(c != NULL);
	b1 = backend(c);
	b2 = backend(c);
	REQUIRE(b1 != NULL && b2 != NULL);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d, 10000)", (int) pgembed_backend_pid(b2));
	/* with a timeout, it returns once the backend is gone: it went while idle */
	CHECK_STR(scalar(b1, sql), "t");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid = %d", (int) pgembed_backend_pid(b2));
	CHECK_STR(scalar(b1, sql), "0");
	CHECK_INT(pgembed_transaction_status(b2), PGEMBED_TX_CLOSED);
	r = pgembed_exec(b2, "SELECT 1");
	CHECK_INT(pgembed_result_status(r), PGEMBED_FATAL);
	CHECK_STR(pgembed_error_sqlstate(pgembed_result_error(r)), "57P01");
	pgembed_result_free(r);
	/* the other backend and the cluster go on */
	CHECK_STR(scalar(b1, "SELECT 41 + 1"), "42");
	{
		pgembed_engine *b3 = backend(c);

		REQUIRE(b3 != NULL);
		CHECK_STR(scalar(b3, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"), "2");
		pgembed_close(b3, NULL);
	}
	pgembed_close(b1, NULL);
	pgembed_close(b2, NULL);
	close_cluster(c);
}

/* A clean close leaves pg_control "shut down", as pg_controldata of the same build reads it. */
static void
test_clean_close_shut_down(void)
{
	const char *stage = getenv("PGEMBED_TEST_PG_STAGE");
	pgembed_cluster *c = cluster_fresh(0, NULL);
	pgembed_engine *b1;
	char		dir[1024];
	char		cmd[2400];
	char		out[8192];
	FILE	   *p;
	size_t		n;

	REQUIRE(c != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	b1 = backend(c);
	REQUIRE(b1 != NULL);
	CHECK_STR(sqlstate_of(b1, "CREATE TABLE kept AS SELECT generate_series(1, 1000) AS n"), "00000");
	/* left open: the fast shutdown terminates it */
	close_cluster(c);
	CHECK_INT(pgembed_transaction_status(b1), PGEMBED_TX_CLOSED);
	pgembed_close(b1, NULL);
	if (stage == NULL)
	{
		test_skip("PGEMBED_TEST_PG_STAGE not set: pg_controldata not run");
		return;
	}
	snprintf(cmd, sizeof(cmd), "'%s/bin/pg_controldata' '%s' 2>&1", stage, dir);
	p = popen(cmd, "r");
	REQUIRE(p != NULL);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	CHECK(strstr(out, "Database cluster state:               shut down\n") != NULL);
	if (strstr(out, "shut down\n") == NULL)
		printf("%s\n", out);
	/* and it opens again without recovery, in either mode */
	{
		pgembed_engine *e = reopen(dir, 0, NULL);

		REQUIRE(e != NULL);
		CHECK_STR(scalar(e, "SELECT count(*) FROM kept"), "1000");
		pgembed_close(e, NULL);
	}
}

/* While a cluster holds the directory, a single-backend open of it is refused, and the other way round. */
static void
test_cluster_exclusive(void)
{
	pgembed_cluster *c = cluster_fresh(0, NULL);
	pgembed_error *err = NULL;
	char		dir[1024];

	REQUIRE(c != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	CHECK(pgembed_open(dir, NULL, 0, NULL, &err) == NULL);
	CHECK_STR(pgembed_error_sqlstate(err), "55006");
	pgembed_error_free(err);
	err = NULL;
	CHECK(pgembed_cluster_open(dir, 0, NULL, &err) == NULL);
	CHECK_STR(pgembed_error_sqlstate(err), "55006");
	pgembed_error_free(err);
	close_cluster(c);
}

/* ------------------------------------------------------------------------
 * Several backends on several threads at once
 * ------------------------------------------------------------------------
 */
#define WRITERS 8
#define WRITES 100

typedef struct
{
	pgembed_cluster *c;
	int			id;
	int			committed;
	char		failure[256];
} writer_arg;

static void *
writer_main(void *arg)
{
	writer_arg *w = arg;
	pgembed_error *err = NULL;
	pgembed_engine *e = pgembed_connect(w->c, NULL, NULL, 0, NULL, &err);

	if (e == NULL)
	{
		snprintf(w->failure, sizeof(w->failure), "connect: %s", pgembed_error_message(err));
		pgembed_error_free(err);
		return NULL;
	}
	for (int i = 0; i < WRITES && w->failure[0] == '\0'; i++)
	{
		char		sql[200];
		pgembed_result *r;

		/* every transaction updates the one hot row and adds one of its own */
		snprintf(sql, sizeof(sql),
				 "BEGIN; UPDATE hot SET n = n + 1; INSERT INTO rows VALUES (%d, %d); COMMIT", w->id, i);
		r = pgembed_exec(e, sql);
		if (pgembed_result_error(r) != NULL)
			snprintf(w->failure, sizeof(w->failure), "%s", pgembed_error_message(pgembed_result_error(r)));
		else
			w->committed++;
		pgembed_result_free(r);
	}
	pgembed_close(e, NULL);
	return NULL;
}

/*
 * Eight backends connected from eight threads write at once, all through
 * one hot row: every transaction counts, none is lost or seen twice.
 */
static void
test_concurrent_writers(void)
{
	pgembed_cluster *c = cluster_fresh(0, NULL);
	pgembed_engine *b;
	writer_arg	w[WRITERS];
	pthread_t	t[WRITERS];
	char		expected[32];

	REQUIRE(c != NULL);
	b = backend(c);
	REQUIRE(b != NULL);
	CHECK_STR(sqlstate_of(b, "CREATE TABLE hot(n int); INSERT INTO hot VALUES (0);"
						  "CREATE TABLE rows(w int, i int, PRIMARY KEY (w, i))"), "00000");
	for (int i = 0; i < WRITERS; i++)
	{
		memset(&w[i], 0, sizeof(w[i]));
		w[i].c = c;
		w[i].id = i;
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	for (int i = 0; i < WRITERS; i++)
	{
		pthread_join(t[i], NULL);
		if (w[i].failure[0] != '\0')
			test_fail(__FILE__, __LINE__, "writer %d: %s", i, w[i].failure);
		CHECK_INT(w[i].committed, WRITES);
	}
	snprintf(expected, sizeof(expected), "%d", WRITERS * WRITES);
	CHECK_STR(scalar(b, "SELECT n FROM hot"), expected);
	CHECK_STR(scalar(b, "SELECT count(*) FROM rows"), expected);
	pgembed_close(b, NULL);
	close_cluster(c);
}

/*
 * Each backend takes a namespace: connecting beyond the process's budget is
 * refused with 53300 (the postmaster sees a failed fork and goes on), and a
 * closed backend's namespace serves the next one.
 */
static void
test_connect_beyond_budget(void)
{
	pgembed_cluster *c = cluster_fresh(0, NULL);
	pgembed_engine *b[16];
	pgembed_error *err = NULL;
	char		expected[16];
	int			n;

	REQUIRE(c != NULL);
	for (n = 0; n < 16; n++)
	{
		b[n] = pgembed_connect(c, NULL, NULL, 0, NULL, &err);
		if (b[n] == NULL)
			break;
	}
	printf("    %d backends connected; then %s: %s\n", n, pgembed_error_sqlstate(err), pgembed_error_message(err));
	CHECK(n >= 2 && n < 16);
	CHECK_STR(pgembed_error_sqlstate(err), "53300");
	pgembed_error_free(err);
	err = NULL;
	/* the cluster goes on with all of them */
	snprintf(expected, sizeof(expected), "%d", n);
	CHECK_STR(scalar(b[0], "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"), expected);
	pgembed_close(b[n - 1], NULL);
	b[n - 1] = pgembed_connect(c, NULL, NULL, 0, NULL, &err);
	CHECK(b[n - 1] != NULL);
	pgembed_error_free(err);
	for (int i = 0; i < n; i++)
		pgembed_close(b[i], NULL);
	close_cluster(c);
}

/*
 * DROP DATABASE waits until every process has absorbed a procsignal barrier
 * (smgr release): an idle backend absorbs it while no thread runs it, as a
 * server backend waiting for its client would; so it completes, and so does
 * the terminating DROP of a database another backend is connected to.
 */
static void
test_barrier_absorbed_while_idle(void)
{
	pgembed_cluster *c = cluster_fresh(0, NULL);
	pgembed_engine *b1,
			   *b2,
			   *b3;
	pgembed_error *err = NULL;

	REQUIRE(c != NULL);
	b1 = backend(c);
	b2 = backend(c);
	REQUIRE(b1 != NULL && b2 != NULL);
	CHECK_STR(sqlstate_of(b2, "SELECT 1"), "00000");
	CHECK_STR(sqlstate_of(b1, "CREATE DATABASE other"), "00000");
	CHECK_STR(sqlstate_of(b1, "DROP DATABASE other"), "00000");
	CHECK_STR(sqlstate_of(b1, "CREATE DATABASE other"), "00000");
	b3 = pgembed_connect(c, "other", NULL, 0, NULL, &err);
	REQUIRE(b3 != NULL);
	CHECK_STR(scalar(b3, "SELECT current_database()"), "other");
	CHECK_STR(sqlstate_of(b1, "DROP DATABASE other WITH (FORCE)"), "00000");
	/* its process left the ProcArray; the engine ends right after */
	for (int i = 0; i < 500 && pgembed_transaction_status(b3) != PGEMBED_TX_CLOSED; i++)
		usleep(10000);
	CHECK_INT(pgembed_transaction_status(b3), PGEMBED_TX_CLOSED);
	CHECK_STR(scalar(b2, "SELECT 2"), "2");
	pgembed_close(b3, NULL);
	pgembed_close(b1, NULL);
	pgembed_close(b2, NULL);
	close_cluster(c);
}

typedef struct
{
	pgembed_engine *e;
	useconds_t	after;
} cancel_later;

static void *
cancel_main(void *arg)
{
	cancel_later *c = arg;

	usleep(c->after);
	pgembed_cancel(c->e);
	return NULL;
}

/*
 * The three ways a backend's statement is cancelled reach it on the thread
 * that runs it: its own timer (statement_timeout), pgembed_cancel from
 * another thread, and pg_cancel_backend from another backend (a SIGINT
 * between processes).
 */
static void
test_cancel_paths(void)
{
	pgembed_cluster *c = cluster_fresh(0, NULL);
	pgembed_engine *b1,
			   *b2;
	async_call	a;
	cancel_later cl;
	pthread_t	t;
	char		sql[200];

	REQUIRE(c != NULL);
	b1 = backend(c);
	b2 = backend(c);
	REQUIRE(b1 != NULL && b2 != NULL);
	CHECK_STR(sqlstate_of(b1, "SET statement_timeout = '200ms'; SELECT pg_sleep(30)"), "57014");
	CHECK_STR(sqlstate_of(b1, "RESET statement_timeout"), "00000");

	cl.e = b2;
	cl.after = 200000;
	pthread_create(&t, NULL, cancel_main, &cl);
	CHECK_STR(sqlstate_of(b2, "SELECT count(*) FROM generate_series(1, 2000000000)"), "57014");
	pthread_join(t, NULL);

	async_start(&a, b2, "SELECT pg_sleep(30)");
	snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM pg_stat_activity WHERE pid = %d AND wait_event = 'PgSleep'",
			 (int) pgembed_backend_pid(b2));
	for (int i = 0; i < 500 && strcmp(scalar(b1, sql), "1") != 0; i++)
		usleep(10000);
	snprintf(sql, sizeof(sql), "SELECT pg_cancel_backend(%d)", (int) pgembed_backend_pid(b2));
	CHECK_STR(scalar(b1, sql), "t");
	async_join(&a);
	CHECK_STR(a.sqlstate, "57014");
	CHECK_STR(scalar(b2, "SELECT 7"), "7");
	pgembed_close(b1, NULL);
	pgembed_close(b2, NULL);
	close_cluster(c);
}

/*
 * A backend idle in a transaction past idle_in_transaction_session_timeout
 * is ended while idle (its timer fires while no thread runs it), as a
 * server's is; its next call says so.
 */
static void
test_idle_timeout_fires_while_idle(void)
{
	pgembed_cluster *c = cluster_fresh(0, NULL);
	pgembed_engine *b1;
	pgembed_result *r;

	REQUIRE(c != NULL);
	b1 = backend(c);
	REQUIRE(b1 != NULL);
	CHECK_STR(sqlstate_of(b1, "SET idle_in_transaction_session_timeout = '200ms'; BEGIN"), "00000");
	for (int i = 0; i < 500 && pgembed_transaction_status(b1) != PGEMBED_TX_CLOSED; i++)
		usleep(10000);
	CHECK_INT(pgembed_transaction_status(b1), PGEMBED_TX_CLOSED);
	r = pgembed_exec(b1, "SELECT 1");
	CHECK_STR(pgembed_error_sqlstate(pgembed_result_error(r)), "25P03");
	pgembed_result_free(r);
	pgembed_close(b1, NULL);
	close_cluster(c);
}

/*
 * A PANIC in one backend: the postmaster's crash restart ends the other
 * backend (57P02), re-initialises shared memory, recovers, and accepts
 * connections again; committed rows survive.
 */
static void
test_panic_restarts_cluster(void)
{
	const char *module = getenv("PGEMBED_TEST_MODULE");
	pgembed_cluster *c;
	pgembed_engine *b1,
			   *b2,
			   *b3 = NULL;
	char		sql[2048];
	pgembed_result *r;

	if (module == NULL)
	{
		test_skip("PGEMBED_TEST_MODULE not set");
		return;
	}
	c = cluster_fresh(0, NULL);
	REQUIRE(c != NULL);
	b1 = backend(c);
	b2 = backend(c);
	REQUIRE(b1 != NULL && b2 != NULL);
	snprintf(sql, sizeof(sql),
			 "CREATE FUNCTION test_panic() RETURNS void LANGUAGE c AS '%s', 'pgembed_test_panic';"
			 "CREATE TABLE survived(n int); INSERT INTO survived VALUES (1)", module);
	CHECK_STR(sqlstate_of(b1, sql), "00000");
	r = pgembed_exec(b1, "SELECT test_panic()");
	CHECK_INT(pgembed_result_status(r), PGEMBED_FATAL);
	pgembed_result_free(r);
	/* the other backend is told, and ends while idle */
	for (int i = 0; i < 1000 && pgembed_transaction_status(b2) != PGEMBED_TX_CLOSED; i++)
		usleep(10000);
	CHECK_INT(pgembed_transaction_status(b2), PGEMBED_TX_CLOSED);
	r = pgembed_exec(b2, "SELECT 1");
	CHECK_INT(pgembed_result_status(r), PGEMBED_FATAL);
	CHECK_STR(pgembed_error_sqlstate(pgembed_result_error(r)), "57P02");
	pgembed_result_free(r);

	/*
	 * connections are accepted again once recovery is done (refusals
	 * meanwhile are expected)
	 */
	pgembed_cluster_set_log_callback(c, silent_log, NULL);
	for (int i = 0; i < 500 && b3 == NULL; i++)
	{
		pgembed_error *err = NULL;

		b3 = pgembed_connect(c, NULL, NULL, 0, NULL, &err);
		if (b3 == NULL)
		{
			if (strcmp(pgembed_error_sqlstate(err), "57P03") != 0 && strcmp(pgembed_error_sqlstate(err), "08006") != 0)
				test_fail(__FILE__, __LINE__, "reconnect: %s %s", pgembed_error_sqlstate(err), pgembed_error_message(err));
			pgembed_error_free(err);
			usleep(20000);
		}
	}
	pgembed_cluster_set_log_callback(c, quiet_cluster_log, NULL);
	REQUIRE(b3 != NULL);
	CHECK_STR(scalar(b3, "SELECT count(*) FROM survived"), "1");
	pgembed_close(b3, NULL);
	pgembed_close(b1, NULL);
	pgembed_close(b2, NULL);
	close_cluster(c);
}

const test_case cluster_tests[] = {
	{"cluster: an uncommitted INSERT is invisible to another backend until COMMIT", test_uncommitted_invisible},
	{"cluster: an UPDATE waits for another backend's row lock; a deadlock gives 40P01", test_row_lock_and_deadlock},
	{"cluster: pg_stat_activity lists distinct pids for backends and the checkpointer", test_distinct_pids},
	{"cluster: pg_terminate_backend of an idle backend ends only that one", test_terminate_idle_backend},
	{"cluster: a clean close leaves pg_control shut down", test_clean_close_shut_down},
	{"cluster: the directory is the cluster's alone", test_cluster_exclusive},
	{"cluster: eight backends on eight threads write through one hot row; every commit counts", test_concurrent_writers},
	{"cluster: a connect beyond the namespace budget is 53300; a closed backend's namespace serves again", test_connect_beyond_budget},
	{"cluster: DROP DATABASE completes while another backend sits idle", test_barrier_absorbed_while_idle},
	{"cluster: statement_timeout, pgembed_cancel and pg_cancel_backend cancel a backend", test_cancel_paths},
	{"cluster: idle_in_transaction_session_timeout ends an idle backend", test_idle_timeout_fires_while_idle},
	{"cluster: a PANIC in one backend restarts the cluster; the others get 57P02", test_panic_restarts_cluster},
	{NULL, NULL}
};
