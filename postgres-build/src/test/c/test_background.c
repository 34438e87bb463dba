/*
 * test_background.c
 *	  PostgreSQL's own background processes in a cluster with a real
 *	  postmaster: the WAL writer under relaxed durability, the checkpointer
 *	  during a long transaction, autovacuum, and the ways a cluster stops
 *	  (fast, immediate, killed) and recovers.
 *
 * The kill tests run the cluster in a child process of this test binary
 * ("--child <name>") and kill it with SIGKILL, as a crash of the host would.
 */
#include "test_util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long
scalar_long(pgembed_engine *e, const char *sql)
{
	return atol(scalar(e, sql));
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pg_controldata's "Database cluster state" of dir, or "" (no staged build) */
static const char *
cluster_state(const char *dir)
{
	static char state[512];
	const char *stage = getenv("PGEMBED_TEST_PG_STAGE");
	char		cmd[2400];
	char		line[512];
	FILE	   *p;

	state[0] = '\0';
	if (stage == NULL)
		return state;
	snprintf(cmd, sizeof(cmd), "'%s/bin/pg_controldata' '%s' 2>&1", stage, dir);
	p = popen(cmd, "r");
	if (p == NULL)
		return state;
	while (fgets(line, sizeof(line), p) != NULL)
		if (strncmp(line, "Database cluster state:", 23) == 0)
		{
			const char *v = line + 23;

			while (*v == ' ')
				v++;
			snprintf(state, sizeof(state), "%s", v);
			state[strcspn(state, "\n")] = '\0';
		}
	pclose(p);
	return state;
}

/* log lines of a cluster, kept for a test to look at */
typedef struct
{
	pthread_mutex_t lock;
	char		lines[65536];
	size_t		len;
} log_capture;

static void
capture_log(void *context, int elevel, const char *line)
{
	log_capture *lc = context;
	size_t		n = strlen(line);

	(void) elevel;
	pthread_mutex_lock(&lc->lock);
	if (lc->len + n + 2 < sizeof(lc->lines))
	{
		memcpy(lc->lines + lc->len, line, n);
		lc->lines[lc->len + n] = '\n';
		lc->len += n + 1;
		lc->lines[lc->len] = '\0';
	}
	pthread_mutex_unlock(&lc->lock);
}

static bool
log_has(log_capture *lc, const char *what)
{
	bool		found;

	pthread_mutex_lock(&lc->lock);
	found = strstr(lc->lines, what) != NULL;
	pthread_mutex_unlock(&lc->lock);
	return found;
}

/* opens the cluster in dir again (crash recovery, if it needs it), its log captured */
static pgembed_cluster *
cluster_reopen(const char *dir, log_capture *lc)
{
	pgembed_error *err = NULL;
	pgembed_cluster *c;

	pthread_mutex_init(&lc->lock, NULL);
	lc->len = 0;
	lc->lines[0] = '\0';
	pgembed_set_default_log_callback(capture_log, lc);
	c = pgembed_cluster_open(dir, 0, NULL, &err);
	pgembed_set_default_log_callback(NULL, NULL);
	if (c == NULL)
	{
		test_fail(__FILE__, __LINE__, "reopen %s: %s", dir, pgembed_error_message(err));
		pgembed_error_free(err);
		return NULL;
	}
	pgembed_cluster_set_log_callback(c, quiet_cluster_log, NULL);
	return c;
}

/* ------------------------------------------------------------------------
 * The processes
 * ------------------------------------------------------------------------
 */

/* the background processes pg_stat_activity lists for a cluster with these settings */
static void
check_processes(int nsettings, const char *const *settings, const char *expected)
{
	pgembed_cluster *c = cluster_fresh(nsettings, settings);
	pgembed_engine *b;
	char		distinct[32];

	const char *sql = "SELECT string_agg(backend_type, ',' ORDER BY backend_type) FROM pg_stat_activity "
		"WHERE backend_type <> 'client backend'";

	REQUIRE(c != NULL);
	b = backend(c);
	REQUIRE(b != NULL);

	/*
	 * the postmaster starts them as it enters normal operation, as the first
	 * backend connects
	 */
	for (int i = 0; i < 100 && strcmp(scalar(b, sql), expected) != 0; i++)
		usleep(50 * 1000);
	CHECK_STR(scalar(b, sql), expected);
	snprintf(distinct, sizeof(distinct), "%s", scalar(b, "SELECT count(DISTINCT pid) FROM pg_stat_activity"));
	CHECK_STR(scalar(b, "SELECT count(*) FROM pg_stat_activity"), distinct);
	pgembed_close(b, NULL);
	close_cluster(c);
}

/*
 * Under relaxed durability the WAL writer runs as a process of its own,
 * beside the checkpointer and the autovacuum launcher, each with a virtual
 * pid of its own; a durable cluster does without it (backends flush their
 * commits), and the settings pgembed.walwriter and pgembed.bgwriter choose.
 */
static void
test_background_processes_listed(void)
{
	const char *relaxed[] = {"synchronous_commit=off"};
	const char *chosen[] = {"pgembed.bgwriter=on", "pgembed.walwriter=on", "autovacuum=off"};
	const char *none[] = {"synchronous_commit=off", "pgembed.walwriter=off"};

	check_processes(1, relaxed, "autovacuum launcher,checkpointer,walwriter");
	check_processes(0, NULL, "autovacuum launcher,checkpointer");
	check_processes(3, chosen, "background writer,checkpointer,walwriter");
	check_processes(2, none, "autovacuum launcher,checkpointer");
}

/*
 * synchronous_commit=off: commits return before their WAL is flushed, and
 * the WAL writer flushes it within a few wal_writer_delay while every backend
 * sits idle (no later commit or checkpoint does it for them).
 */
static void
test_relaxed_commits_flushed_by_walwriter(void)
{
	const char *settings[] = {"synchronous_commit=off", "wal_writer_delay=100ms"};
	pgembed_cluster *c = cluster_fresh(2, settings);
	pgembed_engine *b;
	char		lsn[64];
	char		sql[200];
	int64_t		start;
	bool		flushed = false;

	REQUIRE(c != NULL);
	b = backend(c);
	REQUIRE(b != NULL);
	CHECK_STR(sqlstate_of(b, "CREATE TABLE r(n int)"), "00000");
	CHECK_STR(sqlstate_of(b, "INSERT INTO r SELECT generate_series(1, 1000)"), "00000");
	snprintf(lsn, sizeof(lsn), "%s", scalar(b, "SELECT pg_current_wal_insert_lsn()"));
	snprintf(sql, sizeof(sql), "SELECT pg_current_wal_flush_lsn() >= '%s'::pg_lsn", lsn);
	start = mono_ms();
	/* each look is a read-only statement: it flushes nothing itself */
	while (!flushed && mono_ms() - start < 10000)
	{
		usleep(50 * 1000);
		flushed = strcmp(scalar(b, sql), "t") == 0;
	}
	printf("    WAL up to %s flushed%s after %lld ms (wal_writer_delay 100 ms)\n", lsn,
		   flushed ? "" : " NOT", (long long) (mono_ms() - start));
	CHECK(flushed);
	pgembed_close(b, NULL);
	close_cluster(c);
}

/* ------------------------------------------------------------------------
 * The checkpointer during one long transaction
 * ------------------------------------------------------------------------
 */
typedef struct
{
	pgembed_engine *e;
	volatile int stop;
	long		max_wal;
	int			looks;
} wal_watch;

static void *
wal_watch_main(void *arg)
{
	wal_watch  *w = arg;

	while (!__atomic_load_n(&w->stop, __ATOMIC_SEQ_CST))
	{
		long		wal = scalar_long(w->e, "SELECT sum(size) FROM pg_ls_waldir()");

		if (wal > w->max_wal)
			w->max_wal = wal;
		w->looks++;
		usleep(50 * 1000);
	}
	return NULL;
}

/*
 * One transaction writes eight times max_wal_size of WAL: the checkpointer
 * checkpoints during it (the WAL writes request it), and pg_wal stays near
 * max_wal_size instead of holding all of the transaction's WAL until it ends,
 * as a single-backend engine's would.  Eight, not four: with 16 MB segments
 * pg_wal moves in steps of a segment, and a checkpoint slowed by a loaded
 * machine lets it reach 80 MB (seen at 4x: 64-80 MB of 152 MB written).
 */
static void
test_wal_bounded_in_one_transaction(void)
{
	const char *settings[] = {"max_wal_size=32MB", "min_wal_size=32MB", "synchronous_commit=off"};
	pgembed_cluster *c = cluster_fresh(3, settings);
	pgembed_engine *b1,
			   *b2;
	wal_watch	w;
	pthread_t	t;
	long		start_lsn,
				generated,
				checkpoints;

	REQUIRE(c != NULL);
	b1 = backend(c);
	b2 = backend(c);
	REQUIRE(b1 != NULL && b2 != NULL);
	CHECK_STR(sqlstate_of(b1, "CREATE TABLE w(id int, v text)"), "00000");
	start_lsn = scalar_long(b1, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn");
	checkpoints = scalar_long(b1, "SELECT num_timed + num_requested FROM pg_stat_checkpointer");
	memset(&w, 0, sizeof(w));
	w.e = b2;
	pthread_create(&t, NULL, wal_watch_main, &w);
	/* ~300 MB of WAL in one statement, one transaction */
	CHECK_STR(sqlstate_of(b1, "INSERT INTO w SELECT g, repeat('x', 1000) FROM generate_series(1, 300000) g"),
			  "00000");
	__atomic_store_n(&w.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	generated = scalar_long(b1, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn") - start_lsn;
	checkpoints = scalar_long(b1, "SELECT num_timed + num_requested FROM pg_stat_checkpointer") - checkpoints;
	printf("    one transaction wrote %ld MB of WAL; pg_wal at most %ld MB over %d looks "
		   "(max_wal_size 32 MB); %ld checkpoints meanwhile\n",
		   generated >> 20, w.max_wal >> 20, w.looks, checkpoints);
	CHECK(generated > 8 * (32L << 20));
	CHECK(w.looks > 0);
	CHECK(w.max_wal < generated / 2);
	CHECK(checkpoints >= 1);
	pgembed_close(b1, NULL);
	pgembed_close(b2, NULL);
	close_cluster(c);
}

/* ------------------------------------------------------------------------
 * Autovacuum
 * ------------------------------------------------------------------------
 */

/*
 * A table whose rows are all updated three times gets vacuumed by
 * PostgreSQL's own autovacuum (a worker the launcher asks the postmaster
 * for) while another backend sits idle: last_autovacuum is set and
 * n_dead_tup falls.  Autovacuum is off for the table until its dead rows
 * show in the statistics, so that the vacuum seen is the one they call for.
 */
static void
test_autovacuum_while_idle(void)
{
	const char *settings[] = {"autovacuum_naptime=1s"};
	pgembed_cluster *c = cluster_fresh(1, settings);
	pgembed_engine *b1,
			   *b2;
	const char *dead_sql = "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'churn'";
	long		dead_before = 0,
				dead_after = -1;
	int64_t		start;
	bool		vacuumed = false;

	REQUIRE(c != NULL);
	b1 = backend(c);
	b2 = backend(c);
	REQUIRE(b1 != NULL && b2 != NULL);
	CHECK_STR(sqlstate_of(b2, "SELECT 1"), "00000");
	CHECK_STR(sqlstate_of(b1, "CREATE TABLE churn(id int PRIMARY KEY, k int, pad text) "
						  "WITH (autovacuum_enabled = off);"
						  "INSERT INTO churn SELECT g, g, repeat('p', 100) FROM generate_series(1, 20000) g"),
			  "00000");
	for (int round = 0; round < 3; round++)
		CHECK_STR(sqlstate_of(b1, "UPDATE churn SET k = k + 1"), "00000");
	/* b1's statistics reach the shared counters within a second or so */
	start = mono_ms();
	while (dead_before < 60000 && mono_ms() - start < 30000)
	{
		usleep(100 * 1000);
		CHECK_STR(sqlstate_of(b1, "SELECT pg_stat_clear_snapshot()"), "00000");
		dead_before = scalar_long(b1, dead_sql);
	}
	CHECK_STR(scalar(b1, "SELECT last_autovacuum IS NULL FROM pg_stat_user_tables WHERE relname = 'churn'"), "t");
	CHECK_STR(sqlstate_of(b1, "ALTER TABLE churn SET (autovacuum_enabled = on)"), "00000");
	start = mono_ms();
	while (!vacuumed && mono_ms() - start < 60000)
	{
		usleep(100 * 1000);
		CHECK_STR(sqlstate_of(b1, "SELECT pg_stat_clear_snapshot()"), "00000");
		vacuumed = strcmp(scalar(b1, "SELECT last_autovacuum IS NOT NULL FROM pg_stat_user_tables "
								 "WHERE relname = 'churn'"), "t") == 0;
		if (vacuumed)
			dead_after = scalar_long(b1, dead_sql);
	}
	printf("    autovacuum ran %s%lld ms after it was enabled for the table: n_dead_tup %ld before, "
		   "%ld after (autovacuum_naptime 1 s)\n",
		   vacuumed ? "" : "NOT within ", (long long) (mono_ms() - start), dead_before, dead_after);
	CHECK(vacuumed);
	CHECK(dead_before >= 60000);
	CHECK(dead_after >= 0 && dead_after < dead_before / 10);
	/* the idle backend was never disturbed */
	CHECK_INT(pgembed_transaction_status(b2), PGEMBED_TX_IDLE);
	CHECK_STR(scalar(b2, "SELECT count(*) FROM churn"), "20000");
	pgembed_close(b1, NULL);
	pgembed_close(b2, NULL);
	close_cluster(c);
}

/* ------------------------------------------------------------------------
 * Stopping
 * ------------------------------------------------------------------------
 */
static volatile int shutdown_done;

static void *
hang_guard_main(void *arg)
{
	int			seconds = *(int *) arg;

	for (int i = 0; i < seconds * 10; i++)
	{
		if (__atomic_load_n(&shutdown_done, __ATOMIC_SEQ_CST))
			return NULL;
		usleep(100 * 1000);
	}
	printf("    FAILED: the shutdown did not end within %d s\n", seconds);
	fflush(stdout);
	_exit(1);
}

/*
 * A fast shutdown with twelve idle backends: each is terminated while no
 * thread runs it, then the checkpointer writes the shutdown checkpoint.  The
 * time is printed, not asserted; a guard ends the test run if it hangs.
 */
static void
test_fast_shutdown_idle_backends(void)
{
	/* no autovacuum worker takes a namespace meanwhile */
	const char *settings[] = {"autovacuum_naptime=1h"};
	pgembed_cluster *c = cluster_fresh(1, settings);
	pgembed_engine *b[12];
	pgembed_error *err = NULL;
	pthread_t	guard;
	int			guard_s = 60;
	int64_t		start,
				took;
	int			rc;

	REQUIRE(c != NULL);
	for (int i = 0; i < 12; i++)
	{
		b[i] = backend(c);
		REQUIRE(b[i] != NULL);
		CHECK_STR(sqlstate_of(b[i], "SELECT 1"), "00000");
	}
	shutdown_done = 0;
	pthread_create(&guard, NULL, hang_guard_main, &guard_s);
	start = mono_ms();
	rc = pgembed_cluster_close(c, &err);
	took = mono_ms() - start;
	__atomic_store_n(&shutdown_done, 1, __ATOMIC_SEQ_CST);
	pthread_join(guard, NULL);
	printf("    fast shutdown with 12 idle backends: %lld ms\n", (long long) took);
	CHECK_INT(rc, 0);
	pgembed_error_free(err);
	for (int i = 0; i < 12; i++)
	{
		CHECK_INT(pgembed_transaction_status(b[i]), PGEMBED_TX_CLOSED);
		pgembed_close(b[i], NULL);
	}
	CHECK_STR(cluster_state(current_dir()), getenv("PGEMBED_TEST_PG_STAGE") ? "shut down" : "");
}

/*
 * An immediate shutdown writes no checkpoint: the directory is left as a
 * crash would leave it, and the next open recovers every commit from the WAL.
 */
static void
test_immediate_shutdown_recovers(void)
{
	pgembed_cluster *c = cluster_fresh(0, NULL);
	pgembed_engine *b1,
			   *b2;
	pgembed_error *err = NULL;
	log_capture *lc = calloc(1, sizeof(log_capture));
	char		dir[1024];

	REQUIRE(c != NULL && lc != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	b1 = backend(c);
	b2 = backend(c);
	REQUIRE(b1 != NULL && b2 != NULL);
	CHECK_STR(sqlstate_of(b1, "CREATE TABLE kept AS SELECT generate_series(1, 5000) AS n"), "00000");
	CHECK_STR(sqlstate_of(b2, "BEGIN; INSERT INTO kept VALUES (-1)"), "00000"); /* never committed */
	CHECK_INT(pgembed_cluster_stop(c, PGEMBED_STOP_IMMEDIATE, &err), 0);
	pgembed_error_free(err);
	CHECK_INT(pgembed_transaction_status(b1), PGEMBED_TX_CLOSED);
	CHECK_INT(pgembed_transaction_status(b2), PGEMBED_TX_CLOSED);
	pgembed_close(b1, NULL);
	pgembed_close(b2, NULL);
	if (getenv("PGEMBED_TEST_PG_STAGE") != NULL)
		CHECK_STR(cluster_state(dir), "in production");

	c = cluster_reopen(dir, lc);
	REQUIRE(c != NULL);
	CHECK(log_has(lc, "automatic recovery in progress"));
	b1 = backend(c);
	REQUIRE(b1 != NULL);
	CHECK_STR(scalar(b1, "SELECT count(*) FROM kept"), "5000");
	CHECK_STR(scalar(b1, "SELECT count(*) FROM kept WHERE n < 0"), "0");
	pgembed_close(b1, NULL);
	close_cluster(c);
	free(lc);
}

/* ------------------------------------------------------------------------
 * Killed with SIGKILL: child processes
 * ------------------------------------------------------------------------
 */

/* the child's cluster log: on its standard output, one "log: " line each */
static void
stdout_log(void *context, int elevel, const char *line)
{
	(void) context;
	(void) elevel;
	printf("log: %.*s\n", (int) strcspn(line, "\n"), line);
	fflush(stdout);
}

static pgembed_cluster *
child_cluster(const char *dir, int nsettings, const char *const *settings, pgembed_engine **b)
{
	pgembed_error *err = NULL;
	pgembed_cluster *c;

	if (!pgembed_is_cluster(dir) && pgembed_create_cluster(dir, &err) != 0)
	{
		printf("create: %s\n", pgembed_error_message(err));
		return NULL;
	}
	pgembed_set_default_log_callback(stdout_log, NULL);
	c = pgembed_cluster_open(dir, nsettings, settings, &err);
	if (c == NULL)
	{
		printf("open: %s\n", pgembed_error_message(err));
		return NULL;
	}
	pgembed_cluster_set_log_callback(c, stdout_log, NULL);
	*b = pgembed_connect(c, NULL, NULL, 0, NULL, &err);
	if (*b == NULL)
	{
		printf("connect: %s\n", pgembed_error_message(err));
		return NULL;
	}
	return c;
}

/*
 * Child helper: a relaxed cluster (synchronous_commit=off, wal_writer_delay
 * 200 ms) on argv[0]; inserts row after row, printing "ack <id> <ms>" after
 * each commit returned (CLOCK_MONOTONIC, which parent and child share),
 * until it is killed.
 */
static int
child_relaxed_writer(int argc, char **argv)
{
	const char *settings[] = {"synchronous_commit=off", "wal_writer_delay=200ms"};
	pgembed_engine *b;
	pgembed_cluster *c;

	if (argc < 1 || (c = child_cluster(argv[0], 2, settings, &b)) == NULL)
		return 1;
	if (strcmp(sqlstate_of(b, "CREATE TABLE acked(id int PRIMARY KEY)"), "00000") != 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	for (int id = 1;; id++)
	{
		char		sql[64];

		snprintf(sql, sizeof(sql), "INSERT INTO acked VALUES (%d)", id);
		if (strcmp(sqlstate_of(b, sql), "00000") != 0)
			return 1;
		printf("ack %d %lld\n", id, (long long) mono_ms());
		fflush(stdout);
	}
}

/*
 * Child helper: a cluster on argv[0] with ~60 MB of committed rows in
 * shared buffers, then a CHECKPOINT (log_checkpoints on: its start and end
 * are logged), then it waits to be killed.
 */
static int
child_checkpoint(int argc, char **argv)
{
	const char *settings[] = {"log_checkpoints=on", "shared_buffers=256MB", "max_wal_size=1GB"};
	pgembed_engine *b;
	pgembed_cluster *c;

	if (argc < 1 || (c = child_cluster(argv[0], 3, settings, &b)) == NULL)
		return 1;
	if (strcmp(sqlstate_of(b, "CREATE TABLE big AS SELECT g AS id, repeat('x', 150) AS pad "
						   "FROM generate_series(1, 300000) g"), "00000") != 0)
		return 1;
	printf("loaded\n");
	fflush(stdout);
	(void) sqlstate_of(b, "CHECKPOINT");
	printf("checkpointed\n");
	fflush(stdout);
	for (;;)
		pause();
}

const test_child background_children[] = {
	{"relaxed-writer", child_relaxed_writer},
	{"checkpoint", child_checkpoint},
	{NULL, NULL}
};

/* reads one line of the child's output into line; false at its end or after timeout_ms */
static bool
read_line(int fd, char *line, size_t len, int timeout_ms)
{
	size_t		n = 0;

	while (n + 1 < len)
	{
		struct pollfd pfd = {.fd = fd,.events = POLLIN};
		char		ch;

		if (timeout_ms >= 0 && poll(&pfd, 1, timeout_ms) <= 0)
			return false;
		if (read(fd, &ch, 1) != 1)
			return false;
		if (ch == '\n')
			break;
		line[n++] = ch;
	}
	line[n] = '\0';
	return true;
}

#define MAX_ACKS 200000

/*
 * Relaxed durability, killed -9 while it commits as fast as it can: what
 * is lost is the commits of the last 3 x wal_writer_delay at most, as on a
 * server (the WAL writer's own guarantee); nothing older, and no gap.
 */
static void
test_relaxed_kill_loses_little(void)
{
	static int64_t acked_at[MAX_ACKS + 1];
	char		dir[1024];
	const char *args[1];
	char		line[512];
	int			fd,
				status;
	int			last_ack = 0;
	int64_t		killed_at = 0,
				first_ack_at = 0;
	pid_t		pid;
	pgembed_cluster *c;
	pgembed_engine *b;
	log_capture *lc = calloc(1, sizeof(log_capture));
	long		survived,
				rows;

	REQUIRE(lc != NULL);
	snprintf(dir, sizeof(dir), "%s", fresh_dir());
	args[0] = dir;
	pid = start_child("relaxed-writer", 1, args, true, &fd);
	REQUIRE(pid > 0);
	while (read_line(fd, line, sizeof(line), 60000))
	{
		int			id;
		long long	at;

		if (sscanf(line, "ack %d %lld", &id, &at) == 2 && id <= MAX_ACKS)
		{
			acked_at[id] = at;
			last_ack = id;
			if (first_ack_at == 0)
				first_ack_at = at;
			/* two seconds of commits, then the kill */
			if (at - first_ack_at >= 2000 || id == MAX_ACKS)
			{
				killed_at = mono_ms();
				kill(pid, SIGKILL);
				break;
			}
		}
		else if (strncmp(line, "log: ", 5) != 0 && strcmp(line, "ready") != 0)
			printf("    child: %s\n", line);
	}
	/* what it acknowledged before it died */
	while (read_line(fd, line, sizeof(line), 5000))
	{
		int			id;
		long long	at;

		if (sscanf(line, "ack %d %lld", &id, &at) == 2 && id <= MAX_ACKS)
		{
			acked_at[id] = at;
			last_ack = id;
		}
	}
	close(fd);
	waitpid(pid, &status, 0);
	REQUIRE(killed_at != 0 && last_ack > 0);

	c = cluster_reopen(dir, lc);
	REQUIRE(c != NULL);
	b = backend(c);
	REQUIRE(b != NULL);
	survived = scalar_long(b, "SELECT coalesce(max(id), 0) FROM acked");
	rows = scalar_long(b, "SELECT count(*) FROM acked");
	printf("    %d commits acknowledged, %ld survived the kill, %ld lost", last_ack, survived,
		   last_ack > survived ? last_ack - survived : 0);
	if (survived < last_ack)
		printf(" (the oldest acknowledged %lld ms before the kill; allowed 600 ms)\n",
			   (long long) (killed_at - acked_at[survived + 1]));
	else
		printf("\n");
	CHECK_INT(rows, survived);	/* no gap: the WAL is flushed in order */
	CHECK(log_has(lc, "automatic recovery in progress"));
	if (survived < last_ack)
		CHECK(killed_at - acked_at[survived + 1] <= 3 * 200);
	pgembed_close(b, NULL);
	close_cluster(c);
	free(lc);
}

/*
 * Killed -9 while the checkpointer writes a checkpoint (after it logged the
 * start, before the end): the next open recovers from the previous redo
 * point, and every committed row is there.
 */
static void
test_kill_during_checkpoint_recovers(void)
{
	char		dir[1024];
	const char *args[1];
	char		line[512];
	int			fd,
				status;
	bool		loaded = false,
				started = false,
				completed = false;
	pid_t		pid;
	pgembed_cluster *c;
	pgembed_engine *b;
	log_capture *lc = calloc(1, sizeof(log_capture));

	REQUIRE(lc != NULL);
	snprintf(dir, sizeof(dir), "%s", fresh_dir());
	args[0] = dir;
	pid = start_child("checkpoint", 1, args, true, &fd);
	REQUIRE(pid > 0);
	while (read_line(fd, line, sizeof(line), 120000))
	{
		if (strcmp(line, "loaded") == 0)
			loaded = true;
		else if (loaded && strstr(line, "checkpoint starting: immediate") != NULL)
		{
			kill(pid, SIGKILL);
			started = true;
			break;
		}
		else if (strncmp(line, "log: ", 5) != 0)
			printf("    child: %s\n", line);
	}
	/* what it logged before it died */
	while (read_line(fd, line, sizeof(line), 5000))
		if (strstr(line, "checkpoint complete") != NULL || strcmp(line, "checkpointed") == 0)
			completed = true;
	close(fd);
	if (!started)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	REQUIRE(started);
	printf("    killed after \"checkpoint starting\", %s\n",
		   completed ? "but the checkpoint completed first" : "before it completed");
	CHECK(!completed);
	if (getenv("PGEMBED_TEST_PG_STAGE") != NULL)
		CHECK_STR(cluster_state(dir), "in production");

	c = cluster_reopen(dir, lc);
	REQUIRE(c != NULL);
	CHECK(log_has(lc, "automatic recovery in progress"));
	b = backend(c);
	REQUIRE(b != NULL);
	CHECK_STR(scalar(b, "SELECT count(*) FROM big"), "300000");
	CHECK_STR(scalar(b, "SELECT sum(id) FROM big"), "45000150000");
	/* and checkpoints work again */
	CHECK_STR(sqlstate_of(b, "CHECKPOINT"), "00000");
	pgembed_close(b, NULL);
	close_cluster(c);
	free(lc);
}

const test_case background_tests[] = {
	{"background: the walwriter, checkpointer, autovacuum launcher (and bgwriter if asked) run as processes", test_background_processes_listed},
	{"background: relaxed commits are flushed by the walwriter while every backend idles", test_relaxed_commits_flushed_by_walwriter},
	{"background: one transaction writing 8x max_wal_size keeps pg_wal bounded", test_wal_bounded_in_one_transaction},
	{"background: autovacuum vacuums a churned table while another backend idles", test_autovacuum_while_idle},
	{"background: a fast shutdown with 12 idle backends", test_fast_shutdown_idle_backends},
	{"background: an immediate shutdown, then crash recovery", test_immediate_shutdown_recovers},
	{"background: relaxed, killed -9: at most 3 x wal_writer_delay of commits lost", test_relaxed_kill_loses_little},
	{"background: killed -9 during a checkpoint, then crash recovery", test_kill_during_checkpoint_recovers},
	{NULL, NULL}
};
