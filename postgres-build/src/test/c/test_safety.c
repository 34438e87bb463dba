/* The host process survives anything SQL does, and keeps its process-wide state. */
#include "test_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const int host_signals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGFPE, SIGALRM, SIGPIPE, SIGCHLD, SIGURG};

static void
host_handler(int sig)
{
	(void) sig;
}

static void
test_signals_untouched(void)
{
	struct sigaction before[sizeof(host_signals) / sizeof(int)];
	sigset_t	mask_before,
				mask_after;
	struct sigaction sa;
	pgembed_engine *e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = host_handler;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (size_t i = 0; i < sizeof(host_signals) / sizeof(int); i++)
		sigaction(host_signals[i], NULL, &before[i]);
	sigemptyset(&mask_before);
	sigaddset(&mask_before, SIGUSR2);
	pthread_sigmask(SIG_SETMASK, &mask_before, NULL);

	e = open_fresh(0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "SELECT 1/0"), "22012");	/* error recovery
														 * (longjmp) */
	CHECK_STR(sqlstate_of(e, "SET statement_timeout = '1s'; SELECT pg_sleep(0.01)"), "00000");

	/*
	 * the backend signalling itself and its "process group": stays inside the
	 * engine
	 */
	CHECK_STR(sqlstate_of(e, "SELECT pg_cancel_backend(pg_backend_pid())"), "57014");
	CHECK_STR(sqlstate_of(e, "SELECT pg_reload_conf()"), "00000");
	sigemptyset(&mask_after);
	pthread_sigmask(SIG_SETMASK, NULL, &mask_after);
	for (int s = 1; s < 65; s++)
		if (sigismember(&mask_before, s) != sigismember(&mask_after, s))
			test_fail(__FILE__, __LINE__, "signal %d changed in the thread's mask", s);
	for (size_t i = 0; i < sizeof(host_signals) / sizeof(int); i++)
	{
		struct sigaction now;

		sigaction(host_signals[i], NULL, &now);
		if (now.sa_handler != before[i].sa_handler)
			test_fail(__FILE__, __LINE__, "handler of signal %d changed", host_signals[i]);
	}
	pgembed_close(e, NULL);
	sigemptyset(&mask_before);
	pthread_sigmask(SIG_SETMASK, &mask_before, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void
test_fatal_keeps_host_alive(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pgembed_result *r;
	char		dir[1024];

	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	CHECK_STR(sqlstate_of(e, "CREATE TABLE kept(n int); INSERT INTO kept VALUES (1)"), "00000");
	r = pgembed_exec(e, "SELECT pg_terminate_backend(pg_backend_pid())");
	CHECK_INT(pgembed_result_status(r), PGEMBED_FATAL);
	CHECK_STR(pgembed_error_sqlstate(pgembed_result_error(r)), "57P01");
	pgembed_result_free(r);
	CHECK_INT(pgembed_transaction_status(e), PGEMBED_TX_CLOSED);
	r = pgembed_exec(e, "SELECT 1");
	CHECK_INT(pgembed_result_status(r), PGEMBED_FATAL);
	pgembed_result_free(r);
	pgembed_close(e, NULL);
	/* the same directory opens again in this process */
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT count(*) FROM kept"), "1");
	/* idle_session_timeout is FATAL too */
	CHECK_STR(sqlstate_of(e, "SET idle_session_timeout = '50ms'"), "00000");
	usleep(300 * 1000);
	r = pgembed_exec(e, "SELECT 1");
	CHECK_INT(pgembed_result_status(r), PGEMBED_FATAL);
	pgembed_result_free(r);
	pgembed_close(e, NULL);
	e = reopen(dir, 0, NULL);
	CHECK(e != NULL);
	pgembed_close(e, NULL);
}

/* PANIC (abort() inside the backend) ends the engine; the host lives on and recovers the data. */
static void
test_panic_keeps_host_alive(void)
{
	const char *module = getenv("PGEMBED_TEST_MODULE");
	pgembed_engine *e;
	pgembed_result *r;
	char		sql[2048];
	char		dir[1024];

	if (module == NULL)
	{
		test_skip("PGEMBED_TEST_MODULE not set");
		return;
	}
	e = open_fresh(0, NULL);
	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	snprintf(sql, sizeof(sql),
			 "CREATE FUNCTION test_panic() RETURNS void LANGUAGE c AS '%s', 'pgembed_test_panic';"
			 "CREATE FUNCTION test_fatal() RETURNS void LANGUAGE c AS '%s', 'pgembed_test_fatal';"
			 "CREATE TABLE survived(n int); INSERT INTO survived VALUES (1)", module, module);
	CHECK_STR(sqlstate_of(e, sql), "00000");
	r = pgembed_exec(e, "SELECT test_panic()");
	CHECK_INT(pgembed_result_status(r), PGEMBED_FATAL);
	CHECK_STR(pgembed_error_severity(pgembed_result_error(r)), "PANIC");
	pgembed_result_free(r);
	CHECK_INT(pgembed_transaction_status(e), PGEMBED_TX_CLOSED);
	CHECK_INT(pgembed_close(e, NULL), -1);	/* it ended abnormally */
	/* crash recovery on the next open, in this same process */
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT count(*) FROM survived"), "1");
	r = pgembed_exec(e, "SELECT test_fatal()");
	CHECK_INT(pgembed_result_status(r), PGEMBED_FATAL);
	CHECK_STR(pgembed_error_message(pgembed_result_error(r)), "pgembed test: FATAL on request");
	pgembed_result_free(r);
	pgembed_close(e, NULL);
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT count(*) FROM survived"), "1");
	pgembed_close(e, NULL);
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
test_cancel_and_timeouts(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pthread_t	t;
	cancel_arg	a;
	double		t0;

	REQUIRE(e != NULL);
	a.e = e;
	a.delay_ms = 200;
	pthread_create(&t, NULL, cancel_later, &a);
	t0 = now_ms();
	CHECK_STR(sqlstate_of(e, "SELECT pg_sleep(60)"), "57014");
	CHECK(now_ms() - t0 < 10000);
	pthread_join(t, NULL);
	/* CPU-bound statement */
	pthread_create(&t, NULL, cancel_later, &a);
	t0 = now_ms();
	CHECK_STR(sqlstate_of(e, "SELECT count(*) FROM generate_series(1, 1000000000)"), "57014");
	CHECK(now_ms() - t0 < 10000);
	pthread_join(t, NULL);
	CHECK_STR(scalar(e, "SELECT 'alive'"), "alive");

	t0 = now_ms();

	/*
	 * (separate statements: a failed statement rolls back a SET in its own
	 * implicit transaction)
	 */
	CHECK_STR(sqlstate_of(e, "SET statement_timeout = '100ms'"), "00000");
	CHECK_STR(sqlstate_of(e, "SELECT pg_sleep(30)"), "57014");
	CHECK(now_ms() - t0 < 10000);
	CHECK_STR(sqlstate_of(e, "SELECT count(*) FROM generate_series(1, 1000000000)"), "57014");
	CHECK_STR(sqlstate_of(e, "RESET statement_timeout"), "00000");
	CHECK_STR(scalar(e, "SELECT 'still alive'"), "still alive");
	pgembed_close(e, NULL);
}

/* lock_timeout: a prepared transaction holds the lock (one session cannot block itself). */
static void
test_lock_timeout(void)
{
	const char *settings[] = {"max_prepared_transactions=2"};
	pgembed_engine *e = open_fresh(1, settings);
	double		t0;

	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE TABLE locked(n int)"), "00000");
	CHECK_STR(sqlstate_of(e, "BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE; PREPARE TRANSACTION 'holder'"), "00000");
	CHECK_STR(sqlstate_of(e, "SET lock_timeout = '200ms'"), "00000");
	t0 = now_ms();
	CHECK_STR(sqlstate_of(e, "SELECT * FROM locked"), "55P03");
	CHECK(now_ms() - t0 < 10000);
	CHECK_STR(sqlstate_of(e, "ROLLBACK PREPARED 'holder'"), "00000");
	CHECK_STR(scalar(e, "SELECT count(*) FROM locked"), "0");
	pgembed_close(e, NULL);
}

static void
test_timeout_stays_in_its_engine(void)
{
	pgembed_engine *a = open_fresh(0, NULL);
	pgembed_engine *b = open_fresh(0, NULL);

	REQUIRE(a != NULL && b != NULL);
	CHECK_STR(sqlstate_of(a, "SET statement_timeout = '100ms'"), "00000");
	CHECK_STR(sqlstate_of(b, "SELECT pg_sleep(0.4)"), "00000");
	CHECK_STR(sqlstate_of(a, "SELECT pg_sleep(5)"), "57014");
	CHECK_STR(sqlstate_of(b, "SELECT pg_sleep(0.2)"), "00000");
	pgembed_close(a, NULL);
	pgembed_close(b, NULL);
}

typedef struct
{
	pgembed_engine *e;
	char		state[8];
} host_io_arg;

static void *
write_relative_file(void *p)
{
	(void) p;
	usleep(100 * 1000);
	FILE	   *f = fopen("host-relative.txt", "w");

	if (f)
	{
		fputs("host", f);
		fclose(f);
	}
	return NULL;
}

static void
test_working_directory_and_umask(void)
{
	char		cwd_before[1024],
				cwd_after[1024];
	mode_t		mask_before,
				mask_after;
	pgembed_engine *e;
	pthread_t	t;
	char		path[1200];
	struct stat st;

	static const char *const envs[] = {"LC_ALL", "LC_COLLATE", "LC_CTYPE", "LC_MESSAGES", "LC_MONETARY",
	"LC_NUMERIC", "LC_TIME", "PGDATA", "TZ"};
	char	   *env_before[sizeof(envs) / sizeof(envs[0])];

	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++)
		env_before[i] = getenv(envs[i]) ? strdup(getenv(envs[i])) : NULL;
	CHECK(getcwd(cwd_before, sizeof(cwd_before)) != NULL);
	mask_before = umask(022);
	umask(022);
	(void) mask_before;
	chdir(scratch_dir);
	e = open_fresh(0, NULL);
	REQUIRE(e != NULL);

	/*
	 * a relative file written by the host during a query lands in the host's
	 * directory
	 */
	pthread_create(&t, NULL, write_relative_file, NULL);
	CHECK_STR(sqlstate_of(e, "SELECT pg_sleep(0.3)"), "00000");
	pthread_join(t, NULL);
	snprintf(path, sizeof(path), "%s/host-relative.txt", scratch_dir);
	CHECK(stat(path, &st) == 0);
	snprintf(path, sizeof(path), "%s/host-relative.txt", current_dir());
	CHECK(stat(path, &st) != 0);
	/* the backend's own relative paths stay in its data directory */
	CHECK_STR(scalar(e, "SELECT pg_read_file('PG_VERSION')"), "18\n");
	CHECK_STR(scalar(e, "SELECT count(*) FROM pg_ls_dir('.') WHERE pg_ls_dir = 'pg_wal'"), "1");
	CHECK_STR(sqlstate_of(e, "ALTER SYSTEM SET work_mem = '7MB'"), "00000");
	snprintf(path, sizeof(path), "%s/postgresql.auto.conf", current_dir());
	CHECK(stat(path, &st) == 0);
	CHECK((st.st_mode & 077) == 0); /* private to the user despite the host's
									 * umask 022 */
	snprintf(path, sizeof(path), "%s/postgresql.auto.conf", scratch_dir);
	CHECK(stat(path, &st) != 0);
	CHECK(getcwd(cwd_after, sizeof(cwd_after)) != NULL);
	CHECK_STR(cwd_after, scratch_dir[0] == '/' ? scratch_dir : cwd_after);
	mask_after = umask(022);
	CHECK_INT(mask_after, 022);
	/* PostgreSQL's setlocale()/setenv() stay in the engine's own C library */
	CHECK_STR(scalar(e, "SET lc_messages = 'C'; SET TimeZone = 'Asia/Kolkata'; SELECT 'ok'"), "ok");
	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++)
	{
		const char *now = getenv(envs[i]);

		if ((now == NULL) != (env_before[i] == NULL) || (now && strcmp(now, env_before[i]) != 0))
			test_fail(__FILE__, __LINE__, "environment variable %s changed", envs[i]);
		free(env_before[i]);
	}
	pgembed_close(e, NULL);
	chdir(cwd_before);
}

typedef struct
{
	pgembed_engine *e;
	char		s1[8],
				s2[8],
				s3[8];
} deep_arg;

static void *
deep_queries(void *p)
{
	deep_arg   *a = p;
	char	   *sql;
	size_t		n = 300000;

	snprintf(a->s1, sizeof(a->s1), "%s",
			 sqlstate_of(a->e, "CREATE FUNCTION inf(n int) RETURNS int LANGUAGE sql AS 'SELECT inf(n + 1)'; SELECT inf(1)"));
	sql = malloc(7 + n * 2 + 2);
	strcpy(sql, "SELECT ");
	for (size_t i = 0; i < n; i++)
		strcat(sql + 7 + 2 * i - (i ? 0 : 0), i ? "+1" : "1 ");
	snprintf(a->s2, sizeof(a->s2), "%s", sqlstate_of(a->e, sql));
	free(sql);
	n = 100000;
	sql = malloc(7 + 2 * n + 2);
	strcpy(sql, "SELECT ");
	memset(sql + 7, '(', n);
	sql[7 + n] = '1';
	memset(sql + 8 + n, ')', n);
	sql[8 + 2 * n] = '\0';
	snprintf(a->s3, sizeof(a->s3), "%s", sqlstate_of(a->e, sql));
	free(sql);
	return NULL;
}

static void
test_stack_depth_small_thread(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pthread_attr_t attr;
	pthread_t	t;
	deep_arg	a;

	REQUIRE(e != NULL);
	memset(&a, 0, sizeof(a));
	a.e = e;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_create(&t, &attr, deep_queries, &a);
	pthread_join(t, NULL);
	CHECK_STR(a.s1, "54001");
	CHECK_STR(a.s2, "54001");
	CHECK_STR(a.s3, "42601");
	CHECK_STR(scalar(e, "SELECT 'survived'"), "survived");
	pgembed_close(e, NULL);
}

typedef struct
{
	pgembed_engine *e;
	char		formatted[64];
	char		state[8];
	int			close_rc;
} other_thread_arg;

static void *
format_on_other_thread(void *p)
{
	other_thread_arg *a = p;

	snprintf(a->formatted, sizeof(a->formatted), "%s",
			 scalar(a->e, "SELECT 1.5::float8::text || ' ' || to_char(12.5::numeric, '999D9') || ' ' || upper('abc')"));
	snprintf(a->state, sizeof(a->state), "%s", sqlstate_of(a->e, "SELECT pg_sleep(0.01)"));
	return NULL;
}

static void *
close_on_other_thread(void *p)
{
	other_thread_arg *a = p;

	a->close_rc = pgembed_close(a->e, NULL);
	return NULL;
}

/* Any thread may call an engine, not only the one that opened it. */
static void
test_calls_from_other_threads(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	other_thread_arg a;
	pthread_t	t;

	REQUIRE(e != NULL);
	memset(&a, 0, sizeof(a));
	a.e = e;
	pthread_create(&t, NULL, format_on_other_thread, &a);
	pthread_join(t, NULL);
	CHECK_STR(a.formatted, "1.5   12.5 ABC");
	CHECK_STR(a.state, "00000");
	pthread_create(&t, NULL, close_on_other_thread, &a);
	pthread_join(t, NULL);
	CHECK_INT(a.close_rc, 0);
}

typedef struct
{
	pgembed_engine *e;
	int			errors;
} hammer_arg;

static void *
hammer(void *p)
{
	hammer_arg *a = p;

	for (int i = 0; i < 2000; i++)
	{
		pgembed_result *r = pgembed_exec(a->e, "INSERT INTO h VALUES (1) RETURNING n");

		if (pgembed_result_status(r) != PGEMBED_TUPLES_OK)
			a->errors++;
		pgembed_result_free(r);
	}
	return NULL;
}

static void
test_concurrent_calls_serialised(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pthread_t	t[4];
	hammer_arg	a[4];

	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE TABLE h(n int)"), "00000");
	for (int i = 0; i < 4; i++)
	{
		a[i].e = e;
		a[i].errors = 0;
		pthread_create(&t[i], NULL, hammer, &a[i]);
	}
	for (int i = 0; i < 4; i++)
	{
		pthread_join(t[i], NULL);
		CHECK_INT(a[i].errors, 0);
	}
	CHECK_STR(scalar(e, "SELECT count(*) FROM h"), "8000");
	pgembed_close(e, NULL);
}

static void
test_memory_stable(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	long		base;
	const char *v[1] = {"7"};

	REQUIRE(e != NULL);
	pgembed_result_free(pgembed_prepare(e, "q", "SELECT $1::int + 1", 0, NULL));
	for (int i = 0; i < 20000; i++)
		pgembed_result_free(pgembed_exec_prepared(e, "q", 1, v, NULL, NULL, PGEMBED_FORMAT_AUTO));
	base = rss_kb();
	for (int i = 0; i < 200000; i++)
		pgembed_result_free(pgembed_exec_prepared(e, "q", 1, v, NULL, NULL, PGEMBED_FORMAT_AUTO));
	for (int i = 0; i < 50000; i++)
		pgembed_result_free(pgembed_exec(e, "SELECT 1"));
	printf("    RSS %ld kB -> %ld kB over 250 000 queries\n", base, rss_kb());
	CHECK(rss_kb() - base < 20 * 1024);
	pgembed_close(e, NULL);
}

const test_case safety_tests[] = {
	{"safety: host signal handlers and mask untouched", test_signals_untouched},
	{"safety: FATAL ends the engine, not the host", test_fatal_keeps_host_alive},
	{"safety: PANIC ends the engine, not the host; data recovers", test_panic_keeps_host_alive},
	{"safety: cancel and statement_timeout", test_cancel_and_timeouts},
	{"safety: lock_timeout", test_lock_timeout},
	{"safety: a timeout stays in its engine", test_timeout_stays_in_its_engine},
	{"safety: working directory, umask and environment are the host's", test_working_directory_and_umask},
	{"safety: stack depth from a 256 KiB thread", test_stack_depth_small_thread},
	{"safety: concurrent calls are serialised", test_concurrent_calls_serialised},
	{"safety: calls and close from threads other than the opener", test_calls_from_other_threads},
	{"safety: memory stable over 250 000 queries", test_memory_stable},
	{NULL, NULL}
};
