/* Self-maintenance: bounded WAL, flushed relaxed commits, automatic vacuum and analyze. */
#include "test_util.h"

#include <stdlib.h>
#include <unistd.h>

static long
scalar_long(pgembed_engine *e, const char *sql)
{
	return atol(scalar(e, sql));
}

/* Many statements writing ~160 MB of WAL: pg_wal stays near max_wal_size. */
static void
test_wal_stays_bounded(void)
{
	const char *settings[] = {"max_wal_size=32MB", "min_wal_size=32MB", "fsync=off", "synchronous_commit=off"};
	pgembed_engine *e = open_fresh(4, settings);
	long		max_wal = 0,
				generated;
	long		start_lsn;

	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE TABLE w(id int PRIMARY KEY, v text)"), "00000");
	start_lsn = scalar_long(e, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn");
	for (int round = 0; round < 40; round++)
	{
		CHECK_STR(sqlstate_of(e, "INSERT INTO w SELECT g, repeat('x', 200) FROM generate_series(1, 10000) g "
							  "ON CONFLICT (id) DO UPDATE SET v = excluded.v || 'y'"), "00000");
		long		wal = scalar_long(e, "SELECT sum(size) FROM pg_ls_waldir()");

		if (wal > max_wal)
			max_wal = wal;
	}
	generated = scalar_long(e, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn") - start_lsn;
	printf("    WAL generated %ld MB; pg_wal at most %ld MB (max_wal_size 32 MB)\n", generated >> 20, max_wal >> 20);
	CHECK(generated > 120L << 20);
	CHECK(max_wal < 80L << 20);
	pgembed_close(e, NULL);
}

/* synchronous_commit=off: the WAL is flushed within a few wal_writer_delay. */
static void
test_relaxed_commits_flushed(void)
{
	const char *settings[] = {"synchronous_commit=off", "wal_writer_delay=100ms"};
	pgembed_engine *e = open_fresh(2, settings);
	char		lsn[64];

	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE TABLE r(n int)"), "00000");
	CHECK_STR(sqlstate_of(e, "INSERT INTO r VALUES (1)"), "00000");
	snprintf(lsn, sizeof(lsn), "%s", scalar(e, "SELECT pg_current_wal_insert_lsn()"));
	usleep(500 * 1000);			/* idle: the timer thread flushes */
	{
		char		sql[200];

		snprintf(sql, sizeof(sql), "SELECT pg_current_wal_flush_lsn() >= '%s'::pg_lsn", lsn);
		CHECK_STR(scalar(e, sql), "t");
	}
	pgembed_close(e, NULL);
}

/* Updates of an indexed column: with maintenance the table stays near its size. */
static long
churn(bool maintenance, long *first)
{
	const char *settings[] = {"autovacuum_naptime=1s", "fsync=off"};
	const char *off[] = {"autovacuum_naptime=1s", "fsync=off", "autovacuum=off"};
	pgembed_engine *e = open_fresh(maintenance ? 2 : 3, maintenance ? settings : off);
	long		size = 0;

	if (e == NULL)
		return -1;
	CHECK_STR(sqlstate_of(e, "CREATE TABLE churn(id int PRIMARY KEY, k int, pad text); CREATE INDEX ON churn(k);"
						  "INSERT INTO churn SELECT g, g, repeat('p', 100) FROM generate_series(1, 20000) g"), "00000");
	for (int round = 1; round <= 8; round++)
	{
		CHECK_STR(sqlstate_of(e, "UPDATE churn SET k = k + 1"), "00000");
		size = scalar_long(e, "SELECT pg_total_relation_size('churn')");
		if (round == 1)
			*first = size;
		usleep(1300 * 1000);	/* a naptime passes: maintenance may run */
	}
	pgembed_close(e, NULL);
	return size;
}

static void
test_vacuum_keeps_size(void)
{
	long		first_on = 0,
				first_off = 0;
	long		with = churn(true, &first_on);
	long		without = churn(false, &first_off);

	printf("    after 8 rounds: %ld kB with maintenance (round 1: %ld kB), %ld kB without (round 1: %ld kB)\n",
		   with >> 10, first_on >> 10, without >> 10, first_off >> 10);
	CHECK(with > 0 && with < 2 * first_on);
	CHECK(without > 3 * first_off);
}

/* A bulk load gets statistics without a manual ANALYZE. */
static void
test_analyze_after_bulk_load(void)
{
	const char *settings[] = {"autovacuum_naptime=1s"};
	pgembed_engine *e = open_fresh(1, settings);
	long		estimate;

	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE TABLE bulk(id int, v text); INSERT INTO bulk SELECT g, 'v' FROM generate_series(1, 50000) g"), "00000");
	usleep(2500 * 1000);
	estimate = scalar_long(e, "SELECT reltuples::bigint FROM pg_class WHERE relname = 'bulk'");
	printf("    planner's estimate after the load: %ld rows (actual 50000)\n", estimate);
	CHECK(estimate > 45000 && estimate < 55000);
	pgembed_close(e, NULL);
}

const test_case maintenance_tests[] = {
	{"maintenance: WAL stays near max_wal_size", test_wal_stays_bounded},
	{"maintenance: relaxed commits are flushed within a bound", test_relaxed_commits_flushed},
	{"maintenance: automatic vacuum keeps an updated table small", test_vacuum_keeps_size},
	{"maintenance: automatic analyze after a bulk load", test_analyze_after_bulk_load},
	{NULL, NULL}
};
