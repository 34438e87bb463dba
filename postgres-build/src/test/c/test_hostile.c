/* Hostile input, stale locks, foreign and damaged clusters: clear errors, a live host. */
#include "test_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A lock left by a dead holder whose pid now belongs to a live, unrelated process. */
static void
test_stale_lock_with_reused_pid(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		dir[1024],
				path[1200];
	FILE	   *f;

	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	CHECK_STR(sqlstate_of(e, "CREATE TABLE kept(n int); INSERT INTO kept VALUES (7)"), "00000");
	pgembed_close(e, NULL);

	/*
	 * what a killed standalone backend leaves: its (negated) pid, here that
	 * of a live process
	 */
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	fprintf(f, "-%d\n%s\n1700000000\n0\n\n\n  5432001   1\n", (int) getppid(), dir);
	fclose(f);
	snprintf(path, sizeof(path), "%s/pgembed.lock", dir);
	f = fopen(path, "w");
	fprintf(f, "%d)", (int) getppid());
	fclose(f);
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT n FROM kept"), "7");
	pgembed_close(e, NULL);
}

static void
expect_open_error(const char *dir, const char *fragment)
{
	pgembed_error *err = NULL;
	pgembed_engine *e = pgembed_open(dir, NULL, 0, NULL, &err);

	CHECK(e == NULL);
	if (e != NULL)
		pgembed_close(e, NULL);
	CHECK(err != NULL && strstr(pgembed_error_message(err), fragment) != NULL);
	if (err && strstr(pgembed_error_message(err), fragment) == NULL)
		printf("    got: %s\n", pgembed_error_message(err));
	pgembed_error_free(err);
}

/* A cluster of another major version, and a truncated pg_control: refused clearly. */
static void
test_foreign_and_damaged_clusters(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		dir[1024],
				path[1200];
	FILE	   *f;

	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	pgembed_close(e, NULL);
	snprintf(path, sizeof(path), "%s/PG_VERSION", dir);
	f = fopen(path, "w");
	fputs("17\n", f);
	fclose(f);
	expect_open_error(dir, "incompatible");
	f = fopen(path, "w");
	fputs("18\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/global/pg_control", dir);
	CHECK(truncate(path, 100) == 0);
	expect_open_error(dir, "pg_control");

	/*
	 * start-up PANICs there (no proc_exit callbacks): its postmaster.pid must
	 * not stay behind
	 */
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	CHECK(access(path, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/pgembed.lock", dir);
	CHECK(access(path, F_OK) != 0);
	/* the host is fine and opens other databases */
	e = open_fresh(0, NULL);
	CHECK(e != NULL);
	if (e)
		pgembed_close(e, NULL);
}

/* What a creation killed midway leaves is created again; a directory of someone else's never is. */
static void
test_interrupted_creation_is_redone(void)
{
	char		dir[1024],
				other[1024],
				path[1200];
	FILE	   *f;
	pgembed_error *err = NULL;
	pgembed_engine *e;

	snprintf(dir, sizeof(dir), "%s", fresh_dir());
	REQUIRE(mkdir(dir, 0700) == 0);
	snprintf(path, sizeof(path), "%s/pgembed.creating", dir);
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	fclose(f);
	snprintf(path, sizeof(path), "%s/global", dir);
	REQUIRE(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/global/pg_control", dir);
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	fputs("half a copy", f);
	fclose(f);
	CHECK(pgembed_is_cluster(dir) == 0);
	CHECK(pgembed_create_cluster(dir, &err) == 0);
	if (err)
		printf("    got: %s\n", pgembed_error_message(err));
	pgembed_error_free(err);
	err = NULL;
	snprintf(path, sizeof(path), "%s/pgembed.creating", dir);
	CHECK(access(path, F_OK) != 0);
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT count(*) > 0 FROM pg_class"), "t");
	pgembed_close(e, NULL);

	snprintf(other, sizeof(other), "%s", fresh_dir());
	REQUIRE(mkdir(other, 0700) == 0);
	snprintf(path, sizeof(path), "%s/notes.txt", other);
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	fclose(f);
	CHECK(pgembed_create_cluster(other, &err) != 0);
	pgembed_error_free(err);
	CHECK(access(path, F_OK) == 0);
}

typedef struct
{
	pgembed_engine *e;
	volatile int stop;
} racer_arg;

static void *
cancel_racer(void *p)
{
	racer_arg  *a = p;

	while (!a->stop)
	{
		pgembed_cancel(a->e);
		usleep(700);
	}
	return NULL;
}

/* 10 000 malformed or hostile statements: every failure is an error with a SQLSTATE. */
static void
test_hostile_statements(void)
{
	const char *settings[] = {"statement_timeout=2s"};
	pgembed_engine *e = open_fresh(1, settings);
	unsigned	seed = 12345;
	int			errors = 0,
				ok = 0,
				bad_state = 0;
	char	   *sql = malloc(1 << 20);
	racer_arg	racer;
	pthread_t	t;

	REQUIRE(e != NULL && sql != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE TABLE target(id int PRIMARY KEY, v text)"), "00000");
	racer.e = e;
	racer.stop = 0;
	pthread_create(&t, NULL, cancel_racer, &racer);
	for (int i = 0; i < 10000; i++)
	{
		int			kind = rand_r(&seed) % 10;
		size_t		n = 0;
		pgembed_result *r;

		switch (kind)
		{
			case 0:				/* random bytes */
				n = 1 + rand_r(&seed) % 200;
				for (size_t j = 0; j < n; j++)
					sql[j] = (char) (1 + rand_r(&seed) % 255);
				sql[n] = '\0';
				break;
			case 1:				/* truncated UTF-8 inside a literal */
				n = (size_t) snprintf(sql, 1 << 20, "SELECT 'h\xc3\xa9llo\xe2\x82");
				break;
			case 2:				/* deep nesting */
				n = 2000 + rand_r(&seed) % 30000;
				memset(sql, '(', n);
				sql[n] = '\0';
				break;
			case 3:				/* a huge literal */
				strcpy(sql, "SELECT length('");
				n = strlen(sql);
				memset(sql + n, 'x', 500000);
				n += 500000;
				strcpy(sql + n, "')");
				break;
			case 4:				/* endless recursion */
				strcpy(sql, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r");
				break;
			case 5:				/* a constraint violation */
				snprintf(sql, 1 << 20, "INSERT INTO target VALUES (%d, 'x')", rand_r(&seed) % 50);
				break;
			case 6:				/* a statement too long for the timeout */
				strcpy(sql, "SELECT pg_sleep(0.01)");
				break;
			case 7:				/* transaction control out of order */
				strcpy(sql, (rand_r(&seed) % 2) ? "COMMIT" : "ROLLBACK TO nothing");
				break;
			case 8:				/* nonsense types and functions */
				strcpy(sql, "SELECT 'abc'::int, nosuchfunc(1), 1/0");
				break;
			default:			/* valid work */
				strcpy(sql, "SELECT count(*) FROM target");
				break;
		}
		r = pgembed_exec(e, sql);
		switch (pgembed_result_status(r))
		{
			case PGEMBED_ERROR:
				if (strlen(pgembed_error_sqlstate(pgembed_result_error(r))) == 5)
					errors++;
				else
					bad_state++;
				break;
			case PGEMBED_FATAL:
			case PGEMBED_MISUSE:
				bad_state++;
				break;
			default:
				ok++;
				break;
		}
		pgembed_result_free(r);
		if (pgembed_transaction_status(e) != PGEMBED_TX_IDLE)
			pgembed_result_free(pgembed_exec(e, "ROLLBACK"));
	}
	racer.stop = 1;
	pthread_join(t, NULL);
	printf("    10 000 statements: %d succeeded, %d failed with a SQLSTATE, %d otherwise\n", ok, errors, bad_state);
	CHECK_INT(bad_state, 0);
	CHECK(errors > 3000);
	/* still answers correctly */
	CHECK_STR(scalar(e, "SELECT 6 * 7"), "42");
	pgembed_close(e, NULL);

	/*
	 * calls after close are refused, not crashes: covered by the lifecycle
	 * tests
	 */
	free(sql);
}

const test_case hostile_tests[] = {
	{"hostile: stale lock whose pid was reused is recovered", test_stale_lock_with_reused_pid},
	{"hostile: foreign and damaged clusters are refused clearly", test_foreign_and_damaged_clusters},
	{"hostile: a creation killed midway is redone", test_interrupted_creation_is_redone},
	{"hostile: 10 000 hostile statements, cancels racing", test_hostile_statements},
	{NULL, NULL}
};
