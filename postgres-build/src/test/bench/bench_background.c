/*
 * bench_background.c
 *	  Figures of a cluster's background processes and of what its postmaster
 *	  brings (pgembed_bench <dir> background): open and close with the
 *	  processes of each configuration, the fast shutdown with 12 idle
 *	  backends, a 10M-row aggregate serially and with two parallel workers,
 *	  and PostgreSQL's autovacuum against the front's kind of vacuum pass run
 *	  on an application's idle backend.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"

static pgembed_engine *
connect_quiet(pgembed_cluster *c)
{
	pgembed_error *err = NULL;
	pgembed_engine *e = pgembed_connect(c, NULL, NULL, 0, NULL, &err);

	if (e == NULL)
	{
		fprintf(stderr, "connect: %s\n", pgembed_error_message(err));
		exit(1);
	}
	pgembed_set_log_callback(e, quiet, NULL);
	return e;
}

static const char *
value_of(pgembed_engine *e, const char *sql)
{
	static char buf[256];
	pgembed_result *r = pgembed_exec(e, sql);

	buf[0] = '\0';
	if (pgembed_result_error(r) != NULL)
		snprintf(buf, sizeof(buf), "ERROR %s", pgembed_error_message(pgembed_result_error(r)));
	else if (pgembed_result_ntuples(r) > 0 && !pgembed_result_is_null(r, 0, 0))
		snprintf(buf, sizeof(buf), "%s", pgembed_result_value(r, 0, 0));
	pgembed_result_free(r);
	return buf;
}

/* the whole process's CPU time (the cluster's threads included), in ms */
static double
process_cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
		ru.ru_stime.tv_usec / 1e3;
}

static void
make_cluster(const char *dir)
{
	pgembed_error *err = NULL;

	if (pgembed_create_cluster(dir, &err) != 0)
	{
		fprintf(stderr, "%s\n", pgembed_error_message(err));
		exit(1);
	}
}

/* ------------------------------------------------------------------------
 * Open, close, shutdown with idle backends
 * ------------------------------------------------------------------------
 */
static void
open_close_figures(const char *base)
{
	static const struct
	{
		const char *name;
		int			n;
		const char *settings[2];
	}			configs[] = {
		{"durable (postmaster, checkpointer, autovacuum launcher)", 0, {NULL}},
		{"relaxed (+ walwriter)", 1, {"synchronous_commit=off"}},
		{"autovacuum off (postmaster, checkpointer)", 1, {"autovacuum=off"}},
	};
	const char *idle_settings[] = {"autovacuum_naptime=1h"};
	char		dir[1024];
	double		opens[5],
				closes[5],
				t0;
	int			n = 0;

	snprintf(dir, sizeof(dir), "%s-bg-open", base);
	make_cluster(dir);
	for (size_t k = 0; k < sizeof(configs) / sizeof(configs[0]); k++)
	{
		for (int i = 0; i < 5; i++)
		{
			pgembed_cluster *c;

			t0 = now_ms();
			c = cluster_open_with(dir, configs[k].n, configs[k].settings);
			opens[i] = now_ms() - t0;
			t0 = now_ms();
			pgembed_cluster_close(c, NULL);
			closes[i] = now_ms() - t0;
		}
		qsort(opens, 5, sizeof(double), cmp);
		qsort(closes, 5, sizeof(double), cmp);
		printf("background: %s: open median %.1f ms (min %.1f), close median %.1f ms (min %.1f), 5 runs\n",
			   configs[k].name, opens[2], opens[0], closes[2], closes[0]);
	}

	/*
	 * The fast shutdown of a cluster with twelve idle backends, or as many as
	 * the namespace budget allows (twelve need
	 * GLIBC_TUNABLES=glibc.rtld.nns=16)
	 */
	for (int i = 0; i < 5; i++)
	{
		pgembed_cluster *c = cluster_open_with(dir, 1, idle_settings);
		pgembed_engine *b[12];

		for (n = 0; n < 12; n++)
		{
			pgembed_error *err = NULL;

			b[n] = pgembed_connect(c, NULL, NULL, 0, NULL, &err);
			if (b[n] == NULL)
			{
				pgembed_error_free(err);
				break;
			}
			pgembed_set_log_callback(b[n], quiet, NULL);
			must(pgembed_exec(b[n], "SELECT 1"), "SELECT 1");
		}
		t0 = now_ms();
		pgembed_cluster_close(c, NULL);
		closes[i] = now_ms() - t0;
		for (int j = 0; j < n; j++)
			pgembed_close(b[j], NULL);
	}
	qsort(closes, 5, sizeof(double), cmp);
	printf("background: fast shutdown with %d idle backends (GLIBC_TUNABLES %s): median %.1f ms "
		   "(min %.1f, max %.1f, 5 runs)\n",
		   n, getenv("GLIBC_TUNABLES") ? getenv("GLIBC_TUNABLES") : "not set", closes[2], closes[0], closes[4]);
}

/* ------------------------------------------------------------------------
 * Parallel query: a 10M-row aggregate
 * ------------------------------------------------------------------------
 */
static void
parallel_figures(const char *base)
{
	const char *settings[] = {"shared_buffers=512MB", "autovacuum=off", "max_parallel_workers_per_gather=2"};
	const char *sql = "SELECT count(*), sum(id), avg(k) FROM agg";
	char		dir[1024];
	char		serial_value[256] = "",
				parallel_value[256] = "",
				launched[64] = "";
	double		ms[2][5],
				cpus[2][5];
	pgembed_cluster *c;
	pgembed_engine *b;
	pgembed_result *r;

	snprintf(dir, sizeof(dir), "%s-bg-parallel", base);
	make_cluster(dir);
	c = cluster_open_with(dir, 3, settings);
	b = connect_quiet(c);
	must(pgembed_exec(b, "CREATE TABLE agg AS SELECT g AS id, g % 1000 AS k FROM generate_series(1, 10000000) g"),
		 "create agg");
	must(pgembed_exec(b, "VACUUM ANALYZE agg"), "vacuum agg");
	r = pgembed_exec(b, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT count(*), sum(id), avg(k) FROM agg");
	for (int64_t i = 0; i < pgembed_result_ntuples(r); i++)
		if (strstr(pgembed_result_value(r, i, 0), "Workers Launched") != NULL)
			snprintf(launched, sizeof(launched), "%s", strstr(pgembed_result_value(r, i, 0), "Workers Launched"));
	pgembed_result_free(r);
	/* warm both, then alternate: the machine's load changes slowly */
	for (int run = -1; run < 5; run++)
		for (int mode = 0; mode < 2; mode++)
		{
			double		t0,
						c0;

			must(pgembed_exec(b, mode == 0 ? "SET max_parallel_workers_per_gather = 0"
							  : "SET max_parallel_workers_per_gather = 2"), "set");
			t0 = now_ms();
			c0 = process_cpu_ms();
			snprintf(mode == 0 ? serial_value : parallel_value, 256, "%s", value_of(b, sql));
			if (run >= 0)
			{
				ms[mode][run] = now_ms() - t0;
				cpus[mode][run] = (process_cpu_ms() - c0) / ms[mode][run];
			}
		}
	for (int mode = 0; mode < 2; mode++)
	{
		qsort(ms[mode], 5, sizeof(double), cmp);
		qsort(cpus[mode], 5, sizeof(double), cmp);
	}
	printf("background: %s over 10M rows (shared_buffers 512MB): serial median %.0f ms (%.2f CPUs), "
		   "2 parallel workers (%s) median %.0f ms (%.2f CPUs): speed-up %.2fx; results %s; 5 runs each, "
		   "alternating\n",
		   sql, ms[0][2], cpus[0][2], launched, ms[1][2], cpus[1][2], ms[0][2] / ms[1][2],
		   strcmp(serial_value, parallel_value) == 0 ? "equal" : "DIFFER");
	pgembed_close(b, NULL);
	pgembed_cluster_close(c, NULL);
}

/* ------------------------------------------------------------------------
 * Autovacuum against a vacuum pass on an application's idle backend
 * ------------------------------------------------------------------------
 */
typedef struct
{
	pgembed_engine *e;
	pthread_mutex_t lock;		/* an engine takes one call at a time */
	volatile int stop;
	double		max_ms;			/* the longest SELECT 1 of the application */
	int			calls;
	/* the vacuum pass, when it borrows e */
	bool		borrow;
	int			vacuums;
	double		vacuum_ms;		/* time e was busy with vacuum */
} idle_app;

/* The application's other connection: a short call every 50 ms. */
static void *
idle_app_main(void *p)
{
	idle_app   *a = p;

	while (!__atomic_load_n(&a->stop, __ATOMIC_SEQ_CST))
	{
		double		t0 = now_ms(),
					took;

		/* waits while the vacuum pass has borrowed the connection */
		pthread_mutex_lock(&a->lock);
		must(pgembed_exec(a->e, "SELECT 1"), "SELECT 1");
		pthread_mutex_unlock(&a->lock);
		took = now_ms() - t0;
		if (took > a->max_ms)
			a->max_ms = took;
		a->calls++;
		usleep(50 * 1000);
	}
	return NULL;
}

/*
 * The front's kind of pass (front_maintenance.c's vacuum_pass): every second,
 * on the application's idle backend, VACUUM (ANALYZE) what autovacuum's
 * thresholds call for.
 */
static void *
vacuum_pass_main(void *p)
{
	idle_app   *a = p;

	while (!__atomic_load_n(&a->stop, __ATOMIC_SEQ_CST))
	{
		pgembed_result *r;

		sleep(1);
		pthread_mutex_lock(&a->lock);
		r = pgembed_exec(a->e,
						 "SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables "
						 "WHERE n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8 "
						 "  + current_setting('autovacuum_vacuum_scale_factor')::float8 * n_live_tup");
		for (int64_t i = 0; i < pgembed_result_ntuples(r); i++)
		{
			char		vac[300];
			double		t0 = now_ms();

			snprintf(vac, sizeof(vac), "VACUUM (ANALYZE) %s", pgembed_result_value(r, i, 0));
			must(pgembed_exec(a->e, vac), "vacuum");
			a->vacuum_ms += now_ms() - t0;
			a->vacuums++;
		}
		pgembed_result_free(r);
		pthread_mutex_unlock(&a->lock);
	}
	return NULL;
}

static void
churn_run(const char *base, bool autovacuum)
{
	const char *real[] = {"autovacuum_naptime=1s"};
	const char *off[] = {"autovacuum=off"};
	char		dir[1024];
	pgembed_cluster *c;
	pgembed_engine *b1;
	idle_app	a;
	pthread_t	app,
				pass;
	double		update_ms = 0,
				update_max = 0,
				t0;
	char		size[64],
				loaded[64],
				dead[64],
				autovacuums[64];

	snprintf(dir, sizeof(dir), "%s-bg-churn-%s", base, autovacuum ? "autovacuum" : "pass");
	make_cluster(dir);
	c = cluster_open_with(dir, 1, autovacuum ? real : off);
	b1 = connect_quiet(c);
	memset(&a, 0, sizeof(a));
	pthread_mutex_init(&a.lock, NULL);
	a.e = connect_quiet(c);
	a.borrow = !autovacuum;
	must(pgembed_exec(b1, "CREATE TABLE churn(id int PRIMARY KEY, k int, pad text);"
					  "INSERT INTO churn SELECT g, g, repeat('p', 100) FROM generate_series(1, 50000) g"),
		 "create churn");
	must(pgembed_exec(b1, "VACUUM ANALYZE churn"), "vacuum churn");
	snprintf(loaded, sizeof(loaded), "%s", value_of(b1, "SELECT pg_total_relation_size('churn') / 1024"));
	pthread_create(&app, NULL, idle_app_main, &a);
	if (a.borrow)
		pthread_create(&pass, NULL, vacuum_pass_main, &a);
	/* 40 rounds, each updating a quarter of the rows, 250 ms apart */
	for (int round = 0; round < 40; round++)
	{
		char		sql[100];
		double		took;

		snprintf(sql, sizeof(sql), "UPDATE churn SET k = k + 1 WHERE id %% 4 = %d", round % 4);
		t0 = now_ms();
		must(pgembed_exec(b1, sql), "update");
		took = now_ms() - t0;
		update_ms += took;
		if (took > update_max)
			update_max = took;
		usleep(250 * 1000);
	}
	__atomic_store_n(&a.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(app, NULL);
	if (a.borrow)
		pthread_join(pass, NULL);
	must(pgembed_exec(b1, "SELECT pg_stat_force_next_flush()"), "flush");
	usleep(1200 * 1000);
	must(pgembed_exec(b1, "SELECT pg_stat_clear_snapshot()"), "snapshot");
	snprintf(size, sizeof(size), "%s", value_of(b1, "SELECT pg_total_relation_size('churn') / 1024"));
	snprintf(dead, sizeof(dead), "%s", value_of(b1, "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'churn'"));
	snprintf(autovacuums, sizeof(autovacuums), "%s",
			 value_of(b1, "SELECT autovacuum_count + vacuum_count FROM pg_stat_user_tables WHERE relname = 'churn'"));
	printf("background: churn (40 x UPDATE of 12 500 of 50 000 rows, 250 ms apart), %s: table %s kB at the end "
		   "(%s kB after the load), n_dead_tup %s, %s vacuums; UPDATE mean %.1f ms, max %.1f ms; "
		   "the other connection's SELECT 1 (every 50 ms, %d calls) max %.1f ms",
		   autovacuum ? "PostgreSQL's autovacuum (naptime 1 s)" : "a vacuum pass every 1 s on the idle connection",
		   size, loaded, dead, autovacuums, update_ms / 40, update_max, a.calls, a.max_ms);
	if (a.borrow)
		printf(", which was busy with %d VACUUMs for %.0f ms in all", a.vacuums, a.vacuum_ms);
	printf("\n");
	pgembed_close(b1, NULL);
	pgembed_close(a.e, NULL);
	pthread_mutex_destroy(&a.lock);
	pgembed_cluster_close(c, NULL);
}

void
background_figures(const char *base)
{
	open_close_figures(base);
	parallel_figures(base);
	churn_run(base, true);
	churn_run(base, false);
}
