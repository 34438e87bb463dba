/* Creating, opening, closing and recovering databases. */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* front_carrier.c's diagnostics (exported for the tests) */
extern void pgembed__set_thread_budget(int budget);
extern long pgembed__slot_heap_in_use(int i);

/* bytes in use in every namespace's heap */
static long
heaps_in_use(void)
{
	long		sum = 0;

	for (int i = 0; i < 15; i++)
	{
		long		n = pgembed__slot_heap_in_use(i);

		if (n > 0)
			sum += n;
	}
	return sum;
}

typedef struct
{
	pgembed_engine *e;
	const char *sql;
	char		answer[64];
} thread_call;

static void *
call_once(void *arg)
{
	thread_call *c = arg;
	pgembed_result *r = pgembed_exec(c->e, c->sql);

	snprintf(c->answer, sizeof(c->answer), "%s",
			 r == NULL ? "(null)"
			 : pgembed_result_error(r) != NULL ? pgembed_error_sqlstate(pgembed_result_error(r))
			 : pgembed_result_ntuples(r) > 0 ? pgembed_result_value(r, 0, 0) : "");
	pgembed_result_free(r);
	return NULL;
}

static const char *
on_new_thread(thread_call *c)
{
	pthread_t	t;

	pthread_create(&t, NULL, call_once, c);
	pthread_join(t, NULL);
	return c->answer;
}

/*
 * Every host thread that calls into an engine gets a malloc cache in the
 * engine's C library, which that copy never frees (it does not see the
 * thread's end): 656 bytes per short-lived thread, for ever.  Beyond the
 * namespace's budget a thread's calls run on the slot's carrier, so the heap
 * stops growing; they still answer, and statement_timeout (a timer signal
 * sent to the thread running the engine) still fires.
 */
static void
test_short_lived_threads_bounded(void)
{
	pgembed_engine *e;
	thread_call c = {0};
	long		before;
	long		after;

	pgembed__set_thread_budget(4);
	e = open_fresh(0, NULL);
	REQUIRE(e != NULL);
	c.e = e;
	c.sql = "SELECT 41 + 1";
	/* this thread and a few more fill the budget */
	for (int i = 0; i < 8; i++)
		CHECK_STR(on_new_thread(&c), "42");
	before = heaps_in_use();
	for (int i = 0; i < 300; i++)
		CHECK_STR(on_new_thread(&c), "42");
	after = heaps_in_use();
	printf("    heap in use: %ld before, %ld after 300 short-lived threads\n", before, after);
	/* 300 unbounded caches would be 196 800 bytes */
	CHECK(after - before < 300 * 656 / 10);
	c.sql = "SET statement_timeout = '100ms'; SELECT pg_sleep(5)";
	CHECK_STR(on_new_thread(&c), "57014");
	c.sql = "SELECT 'after the timeout'";
	CHECK_STR(on_new_thread(&c), "after the timeout");
	pgembed_close(e, NULL);
	pgembed__set_thread_budget(0);
}

/* The stock server of the same build reads what we wrote, without crash recovery. */
static void
test_stock_server_reads_closed_directory(void)
{
	const char *stage = getenv("PGEMBED_TEST_PG_STAGE");
	pgembed_engine *e;
	char		cmd[8192];
	char		copy[1100];
	FILE	   *p;
	char		out[8192];
	size_t		n;

	if (stage == NULL)
	{
		test_skip("PGEMBED_TEST_PG_STAGE not set");
		return;
	}
	e = open_fresh(0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE TABLE stock(n int); INSERT INTO stock SELECT generate_series(1, 1234)"), "00000");
	CHECK_INT(pgembed_close(e, NULL), 0);
	/* the server refuses to run as root: give a copy to an unprivileged user */
	snprintf(copy, sizeof(copy), "%s-stock", current_dir());
	snprintf(cmd, sizeof(cmd),
			 "cp -a '%s' '%s' && rm -f '%s/pgembed.lock' && "
			 "if [ $(id -u) -eq 0 ]; then chown -R nobody:nogroup '%s'; chmod 755 '%s'; RUN='setpriv --reuid=nobody --regid=nogroup --clear-groups'; fi; "
			 "echo 'SELECT count(*) FROM stock;' | $RUN '%s/bin/postgres' --single -D '%s' postgres 2>&1",
			 current_dir(), copy, copy, copy, scratch_dir, stage, copy);
	p = popen(cmd, "r");
	REQUIRE(p != NULL);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	CHECK(strstr(out, "1234") != NULL);
	CHECK(strstr(out, "automatic recovery") == NULL);
	CHECK(strstr(out, "not properly shut down") == NULL);
	if (strstr(out, "1234") == NULL)
		printf("%s\n", out);
}

static void
test_open_query_close(void)
{
	pgembed_engine *e = open_fresh(0, NULL);

	REQUIRE(e != NULL);
	CHECK(strncmp(scalar(e, "SELECT version()"), "PostgreSQL 18.6", 15) == 0);
	CHECK_STR(scalar(e, "SELECT current_setting('server_encoding')"), "UTF8");
	CHECK_STR(scalar(e, "SELECT current_setting('data_checksums')"), "on");
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static void
test_data_survives_reopen(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		dir[1024];

	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	CHECK_STR(sqlstate_of(e, "CREATE TABLE t(id int primary key, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g"), "00000");
	CHECK_INT(pgembed_close(e, NULL), 0);
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT count(*) FROM t"), "1000");
	CHECK_STR(scalar(e, "SELECT v FROM t WHERE id = 777"), "v777");
	pgembed_close(e, NULL);
	/* the lock files are gone after a clean close */
	char		path[1200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	CHECK(stat(path, &st) != 0);
}

/*
 * Engines do not fsync postmaster.pid: a power loss can leave it empty
 * (created, its content lost).  PostgreSQL refuses to start on an empty lock
 * file; the open removes it first, as a standalone backend's stale one.
 */
static void
test_empty_lock_file_removed(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		dir[1024];
	char		path[1200];
	FILE	   *f;

	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	CHECK_INT(pgembed_close(e, NULL), 0);
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	fclose(f);
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT 1"), "1");
	pgembed_close(e, NULL);
}

static void
test_create_refuses_non_cluster(void)
{
	pgembed_error *err = NULL;
	const char *dir = fresh_dir();
	char		path[1200];
	FILE	   *f;

	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/precious.txt", dir);
	f = fopen(path, "w");
	fputs("keep me", f);
	fclose(f);
	CHECK_INT(pgembed_create_cluster(dir, &err), -1);
	REQUIRE(err != NULL);
	CHECK(strstr(pgembed_error_message(err), "not empty") != NULL);
	pgembed_error_free(err);
	CHECK(pgembed_is_cluster(dir) == 0);
	/* opening it is refused too, and nothing is written */
	CHECK(pgembed_open(dir, NULL, 0, NULL, &err) == NULL);
	CHECK(err != NULL && strstr(pgembed_error_message(err), "not a database cluster") != NULL);
	pgembed_error_free(err);
}

static void
test_second_open_refused(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	pgembed_error *err = NULL;

	REQUIRE(e != NULL);
	CHECK(pgembed_open(current_dir(), NULL, 0, NULL, &err) == NULL);
	CHECK(err != NULL && strstr(pgembed_error_message(err), "already open") != NULL);
	CHECK_STR(pgembed_error_sqlstate(err), "55006");
	pgembed_error_free(err);
	CHECK_STR(scalar(e, "SELECT 1"), "1");
	pgembed_close(e, NULL);
}

static void
test_other_process_refused(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		dir[1024];
	pid_t		pid;
	int			status;

	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	pid = fork();
	if (pid == 0)
	{
		pgembed_error *err = NULL;
		pgembed_engine *o = pgembed_open(dir, NULL, 0, NULL, &err);

		_exit(o == NULL && err != NULL && strstr(pgembed_error_message(err), "in use by another process") ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_STR(scalar(e, "SELECT 42"), "42");
	pgembed_close(e, NULL);
}

static void
test_crash_recovery_after_kill9(void)
{
	const char *dir = fresh_dir();
	pgembed_error *err = NULL;
	int			fds[2];
	pid_t		pid;
	int			status;
	char		buf[64];
	ssize_t		n;
	int			acked = 0;

	REQUIRE(pgembed_create_cluster(dir, &err) == 0);
	REQUIRE(pipe(fds) == 0);
	pid = fork();
	if (pid == 0)
	{
		pgembed_engine *c = pgembed_open(dir, NULL, 0, NULL, &err);

		if (c == NULL)
			_exit(3);
		pgembed_result_free(pgembed_exec(c, "CREATE TABLE acked(id int primary key)"));
		for (int i = 1; i <= 200; i++)
		{
			char		sql[100];
			pgembed_result *r;

			snprintf(sql, sizeof(sql), "INSERT INTO acked VALUES (%d)", i);
			r = pgembed_exec(c, sql);
			if (pgembed_result_error(r) == NULL)
			{
				snprintf(buf, sizeof(buf), "%d\n", i);
				if (write(fds[1], buf, strlen(buf)) < 0)
					_exit(4);
			}
			pgembed_result_free(r);
		}
		/* die without closing: no shutdown checkpoint, lock files left behind */
		kill(getpid(), SIGKILL);
		_exit(5);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf, sizeof(buf) - 1)) > 0)
	{
		buf[n] = '\0';
		for (char *p = buf; *p; p++)
			if (*p == '\n')
				acked++;
	}
	close(fds[0]);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK_INT(acked, 200);
	/* the System V segment went with the process (removed at attach) */
	CHECK_INT(sysv_segments_created_by(pid), 0);

	pgembed_engine *e = reopen(dir, 0, NULL);

	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT count(*) FROM acked"), "200");
	pgembed_close(e, NULL);
}

static void
test_settings_applied(void)
{
	const char *settings[] = {"TimeZone=Europe/Paris", "work_mem=8MB", "synchronous_commit=off"};
	pgembed_engine *e = open_fresh(3, settings);
	pgembed_error *err = NULL;

	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SHOW TimeZone"), "Europe/Paris");
	CHECK_STR(scalar(e, "SHOW work_mem"), "8MB");
	CHECK_STR(scalar(e, "SHOW synchronous_commit"), "off");
	pgembed_close(e, NULL);

	/* a bad setting is a clear error at open */
	const char *bad[] = {"no_such_setting=1"};

	CHECK(pgembed_open(current_dir(), NULL, 1, bad, &err) == NULL);
	CHECK(err != NULL && strstr(pgembed_error_message(err), "no_such_setting") != NULL);
	pgembed_error_free(err);
	/* ... and leaves the database usable */
	pgembed_engine *again = reopen(current_dir(), 0, NULL);

	CHECK(again != NULL);
	pgembed_close(again, NULL);
}

static void
test_many_open_close_cycles(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		dir[1024];

	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	pgembed_result_free(pgembed_exec(e, "CREATE TABLE c(n int)"));
	pgembed_close(e, NULL);
	long		rss10 = 0,
				maps10 = 0;

	for (int i = 0; i < 200; i++)
	{
		e = reopen(dir, 0, NULL);
		REQUIRE(e != NULL);
		pgembed_result_free(pgembed_exec(e, "INSERT INTO c VALUES (1)"));

		/*
		 * a module from outside the bundle, loaded by path, must unload with
		 * the engine
		 */
		if (getenv("PGEMBED_TEST_MODULE") && i % 2 == 0)
		{
			char		sql[1200];

			snprintf(sql, sizeof(sql), "LOAD '%s'", getenv("PGEMBED_TEST_MODULE"));
			pgembed_result_free(pgembed_exec(e, sql));
		}
		pgembed_close(e, NULL);
		if (i == 9)
		{
			rss10 = rss_kb();
			maps10 = map_count();
		}
	}
	printf("    after 10 cycles: RSS %ld kB, %ld mappings; after 200: RSS %ld kB, %ld mappings\n",
		   rss10, maps10, rss_kb(), map_count());
	/* a few kB per cycle at most: nothing of an engine outlives it */
	CHECK(rss_kb() - rss10 < 16 * 1024);
	CHECK(map_count() - maps10 < 10);
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT count(*) FROM c"), "200");
	pgembed_close(e, NULL);
}

static void
test_several_engines_isolated(void)
{
	pgembed_engine *engines[8];
	char		dirs[8][1024];

	for (int i = 0; i < 8; i++)
	{
		engines[i] = open_fresh(0, NULL);
		REQUIRE(engines[i] != NULL);
		snprintf(dirs[i], sizeof(dirs[i]), "%s", current_dir());
	}

	/*
	 * same table name, same relfilenodes (same template): each keeps its own
	 * rows
	 */
	for (int i = 0; i < 8; i++)
	{
		char		sql[200];

		snprintf(sql, sizeof(sql), "CREATE TABLE same(n int); INSERT INTO same SELECT generate_series(1, %d)", (i + 1) * 10);
		CHECK_STR(sqlstate_of(engines[i], sql), "00000");
	}
	for (int i = 0; i < 8; i++)
	{
		char		expected[16];

		snprintf(expected, sizeof(expected), "%d", (i + 1) * 10);
		CHECK_STR(scalar(engines[i], "SELECT count(*) FROM same"), expected);
		CHECK_STR(sqlstate_of(engines[i], "CHECKPOINT"), "00000");
	}
	for (int i = 0; i < 8; i++)
		pgembed_close(engines[i], NULL);
	for (int i = 0; i < 8; i++)
	{
		char		expected[16];
		pgembed_engine *e = reopen(dirs[i], 0, NULL);

		REQUIRE(e != NULL);
		snprintf(expected, sizeof(expected), "%d", (i + 1) * 10);
		CHECK_STR(scalar(e, "SELECT count(*) FROM same"), expected);
		pgembed_close(e, NULL);
	}
}

/* ------------------------------------------------------------------------
 * The first opens of a process, from many threads at once
 * ------------------------------------------------------------------------
 */
#define RACE_THREADS 8

typedef struct
{
	const char *dir;
	pthread_barrier_t *start;
	pgembed_engine *engine;
} race_opener;

static void
race_no_log(void *context, int elevel, const char *line)
{
	(void) context;
	(void) elevel;
	(void) line;
}

static void *
race_open(void *arg)
{
	race_opener *o = arg;
	pgembed_error *err = NULL;

	pthread_barrier_wait(o->start);
	o->engine = pgembed_open(o->dir, NULL, 0, NULL, &err);
	pgembed_error_free(err);
	return NULL;
}

/* threads of this process named "pgembed-timer" */
static int
timer_threads(void)
{
	DIR		   *d = opendir("/proc/self/task");
	struct dirent *de;
	int			n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
	{
		char		path[300];
		char		comm[64] = "";
		FILE	   *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) != NULL && strncmp(comm, "pgembed-timer", 13) == 0)
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/*
 * Child helper: opens the clusters given as arguments from one thread each,
 * all released at once (the process's first opens), runs a statement with a
 * timer on each and prints "opened=<n> timers=<n>".  A hang ends the child by
 * SIGALRM.
 */
static int
child_open_concurrently(int argc, char **argv)
{
	pthread_t	threads[RACE_THREADS];
	race_opener openers[RACE_THREADS];
	pthread_barrier_t start;
	int			n = argc < RACE_THREADS ? argc : RACE_THREADS;
	int			opened = 0;

	alarm(60);
	pgembed_set_default_log_callback(race_no_log, NULL);
	pthread_barrier_init(&start, NULL, n);
	for (int i = 0; i < n; i++)
	{
		openers[i].dir = argv[i];
		openers[i].start = &start;
		openers[i].engine = NULL;
		pthread_create(&threads[i], NULL, race_open, &openers[i]);
	}
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < n; i++)
	{
		pgembed_result *r;

		if (openers[i].engine == NULL)
			continue;
		/* the timer thread must deliver statement_timeout */
		r = pgembed_exec(openers[i].engine, "SET statement_timeout = 50; SELECT pg_sleep(10)");
		if (pgembed_result_error(r) != NULL &&
			strcmp(pgembed_error_sqlstate(pgembed_result_error(r)), "57014") == 0)
			opened++;
		pgembed_result_free(r);
	}
	printf("opened=%d timers=%d\n", opened, timer_threads());
	for (int i = 0; i < n; i++)
		if (openers[i].engine != NULL)
			pgembed_close(openers[i].engine, NULL);
	return 0;
}

const test_child lifecycle_children[] = {
	{"open-concurrently", child_open_concurrently},
	{NULL, NULL}
};

/*
 * The timer machinery (its thread, its condition variable, the signal
 * handler) is started by the first open of the process: opens that start at
 * once on several threads must start it once.  Two timer threads on a
 * condition variable initialised twice hung the process for good.
 */
static void
test_first_opens_concurrently(void)
{
	char		dirs[RACE_THREADS][1024];
	const char *args[RACE_THREADS];
	char		out[256];

	for (int i = 0; i < RACE_THREADS; i++)
	{
		pgembed_error *err = NULL;

		snprintf(dirs[i], sizeof(dirs[i]), "%s", fresh_dir());
		if (pgembed_create_cluster(dirs[i], &err) != 0)
		{
			test_fail(__FILE__, __LINE__, "create %s: %s", dirs[i], pgembed_error_message(err));
			pgembed_error_free(err);
			return;
		}
		args[i] = dirs[i];
	}
	/* each child is a new process: its opens are its first */
	for (int round = 0; round < 5; round++)
	{
		int			rc = run_child("open-concurrently", RACE_THREADS, args, true, out, sizeof(out));
		char		expected[64];

		snprintf(expected, sizeof(expected), "opened=%d timers=1\n", RACE_THREADS);
		CHECK_INT(rc, 0);
		CHECK_STR(out, expected);
		if (rc != 0 || strcmp(out, expected) != 0)
		{
			printf("    round %d: exit %d, \"%s\"\n", round, rc, out);
			break;
		}
	}
}

const test_case lifecycle_tests[] = {
	{"lifecycle: open, query, close", test_open_query_close},
	{"lifecycle: data survives close and reopen", test_data_survives_reopen},
	{"lifecycle: an empty postmaster.pid (a power loss) does not stop an open", test_empty_lock_file_removed},
	{"lifecycle: non-empty directory is refused", test_create_refuses_non_cluster},
	{"lifecycle: second open in this process refused", test_second_open_refused},
	{"lifecycle: open from another process refused", test_other_process_refused},
	{"lifecycle: crash recovery after kill -9", test_crash_recovery_after_kill9},
	{"lifecycle: the stock server reads a closed directory", test_stock_server_reads_closed_directory},
	{"lifecycle: settings applied at open", test_settings_applied},
	{"lifecycle: 200 open/close cycles, memory and mappings stable", test_many_open_close_cycles},
	{"lifecycle: 8 engines at once stay isolated", test_several_engines_isolated},
	{"lifecycle: first opens from 8 threads at once start one timer", test_first_opens_concurrently},
	{"lifecycle: short-lived threads beyond the budget leave nothing in the heap", test_short_lived_threads_bounded},
	{NULL, NULL}
};
