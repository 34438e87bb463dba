/*
 * pgembed_bench.c
 *	  Figures for the C API, run by scripts/bench-native.sh (not part of the tests):
 *	  open time, SELECT 1 per call, 25 000 prepared INSERTs in one transaction,
 *	  COPY of 1 000 000 rows, cancel latency; and for a cluster with a real
 *	  postmaster: its open time, time and memory per backend, the backends the
 *	  namespace budget allows, two CPU-bound queries in parallel against one;
 *	  and what its background processes bring (bench_background.c).
 *	  Modes for strace: select1 (100 000 prepared SELECT 1), create (a cluster's
 *	  creation alone), open (one open and close of the existing cluster in the
 *	  directory, created first when there is none).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void
quiet(void *c, int l, const char *s)
{
	(void) c;
	(void) l;
	(void) s;
}

void
must(pgembed_result *r, const char *what)
{
	if (pgembed_result_error(r))
	{
		fprintf(stderr, "%s: %s\n", what, pgembed_error_message(pgembed_result_error(r)));
		exit(1);
	}
	pgembed_result_free(r);
}

int
cmp(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

typedef struct
{
	pgembed_engine *e;
	double		sent_at;
} cancel_arg;

static void *
canceller(void *p)
{
	cancel_arg *a = p;

	usleep(100 * 1000);
	a->sent_at = now_ms();
	pgembed_cancel(a->e);
	return NULL;
}

static long
rss_kb(void)
{
	FILE	   *f = fopen("/proc/self/statm", "r");
	long		pages = 0,
				rss = 0;

	if (f)
	{
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * 4;
}

typedef struct
{
	pgembed_engine *e;
	int			n;
} work_arg;

/* a CPU-bound mixed workload: prepared inserts and aggregate reads */
static void *
workload(void *p)
{
	work_arg   *a = p;
	char		num[16];
	const char *v[1] = {num};

	for (int i = 0; i < a->n; i++)
	{
		snprintf(num, sizeof(num), "%d", i);
		pgembed_result_free(pgembed_exec_prepared(a->e, "w", 1, v, NULL, NULL, PGEMBED_FORMAT_AUTO));
		if (i % 100 == 0)
			pgembed_result_free(pgembed_exec(a->e, "SELECT count(*), sum(n) FROM w"));
	}
	return NULL;
}

static pgembed_engine *
open_workload_engine(const char *dir)
{
	pgembed_error *err = NULL;
	const char *settings[] = {"synchronous_commit=off", "work_mem=256MB"};
	pgembed_engine *e;

	pgembed_create_cluster(dir, &err);
	e = pgembed_open(dir, NULL, 1, settings, &err);
	pgembed_set_log_callback(e, quiet, NULL);
	must(pgembed_exec(e, "CREATE TABLE w(n int)"), "create");
	must(pgembed_prepare(e, "w", "INSERT INTO w VALUES ($1)", 0, NULL), "prepare");
	return e;
}

/* several engines: memory each, and two in parallel against one */
static void
instances(const char *base)
{
	char		dir[1024];
	pgembed_engine *es[8];
	long		before = rss_kb(),
				after;
	double		t0,
				one,
				two;
	pthread_t	t[2];
	work_arg	a[2];
	pgembed_error *err = NULL;

	for (int i = 0; i < 8; i++)
	{
		snprintf(dir, sizeof(dir), "%s-inst%d", base, i);
		pgembed_create_cluster(dir, &err);
		es[i] = pgembed_open(dir, NULL, 0, NULL, &err);
		pgembed_set_log_callback(es[i], quiet, NULL);
		pgembed_result_free(pgembed_exec(es[i], "SELECT count(*) FROM pg_class"));
	}
	after = rss_kb();
	printf("8 engines open at once: %.1f MB RSS each (after one catalog query; shared_buffers is touched lazily)\n",
		   (after - before) / 8.0 / 1024);
	for (int i = 0; i < 8; i++)
		pgembed_close(es[i], NULL);

	snprintf(dir, sizeof(dir), "%s-par0", base);
	a[0].e = open_workload_engine(dir);
	snprintf(dir, sizeof(dir), "%s-par1", base);
	a[1].e = open_workload_engine(dir);
	a[0].n = a[1].n = 50000;
	t0 = now_ms();
	workload(&a[0]);
	workload(&a[1]);
	one = now_ms() - t0;

	/*
	 * the same work again: empty tables, or the reads would scan twice the
	 * rows
	 */
	must(pgembed_exec(a[0].e, "TRUNCATE w"), "truncate");
	must(pgembed_exec(a[1].e, "TRUNCATE w"), "truncate");
	t0 = now_ms();
	pthread_create(&t[0], NULL, workload, &a[0]);
	pthread_create(&t[1], NULL, workload, &a[1]);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	two = now_ms() - t0;
	printf("two engines, 2 x 50 000 inserts (+ reads): one after the other %.0f ms, in parallel on two threads %.0f ms (speed-up %.2fx)\n",
		   one, two, one / two);
	pgembed_close(a[0].e, NULL);
	pgembed_close(a[1].e, NULL);
}

/* ------------------------------------------------------------------------
 * A cluster with a real postmaster
 * ------------------------------------------------------------------------
 */
typedef struct
{
	pgembed_engine *e;
	const char *sql;
	double		ms;				/* wall time */
	double		cpu_ms;			/* CPU time of the thread that ran it */
	volatile int done;
} query_arg;

static double
thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *
timed_query(void *p)
{
	query_arg  *a = p;
	double		t0 = now_ms(),
				c0 = thread_cpu_ms();

	must(pgembed_exec(a->e, a->sql), a->sql);
	a->ms = now_ms() - t0;
	a->cpu_ms = thread_cpu_ms() - c0;
	__atomic_store_n(&a->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

pgembed_cluster *
cluster_open_quiet(const char *dir)
{
	return cluster_open_with(dir, 0, NULL);
}

pgembed_cluster *
cluster_open_with(const char *dir, int nsettings, const char *const *settings)
{
	pgembed_error *err = NULL;
	pgembed_cluster *c;

	pgembed_set_default_log_callback(quiet, NULL);
	c = pgembed_cluster_open(dir, nsettings, settings, &err);
	if (c == NULL)
	{
		fprintf(stderr, "cluster open: %s\n", pgembed_error_message(err));
		exit(1);
	}
	pgembed_cluster_set_log_callback(c, quiet, NULL);
	return c;
}

static void
cluster_figures(const char *base)
{
	char		dir[1024];
	pgembed_error *err = NULL;
	pgembed_cluster *c;
	pgembed_engine *b[16];
	double		opens[5],
				closes[5],
				connects[16],
				t0;
	long		rss0,
				rss1;
	int			n;
	const char *cpu = "SELECT count(*) FROM generate_series(1, 30000000)";
	query_arg	q[2];
	pthread_t	t[2];
	double		alone,
				alone_cpus,
				two,
				overlap;

	snprintf(dir, sizeof(dir), "%s-cluster", base);
	if (pgembed_create_cluster(dir, &err) != 0)
	{
		fprintf(stderr, "%s\n", pgembed_error_message(err));
		exit(1);
	}
	for (int i = 0; i < 5; i++)
	{
		t0 = now_ms();
		c = cluster_open_quiet(dir);
		opens[i] = now_ms() - t0;
		t0 = now_ms();
		pgembed_cluster_close(c, NULL);
		closes[i] = now_ms() - t0;
	}
	qsort(opens, 5, sizeof(double), cmp);
	qsort(closes, 5, sizeof(double), cmp);
	printf("cluster: open (postmaster, start-up, checkpointer) median %.1f ms (min %.1f, max %.1f, 5 runs); "
		   "close (fast shutdown, shutdown checkpoint) median %.1f ms\n",
		   opens[2], opens[0], opens[4], closes[2]);

	/* backends until the namespace budget is spent: each takes one */
	c = cluster_open_quiet(dir);
	rss0 = rss_kb();
	for (n = 0; n < 16; n++)
	{
		t0 = now_ms();
		b[n] = pgembed_connect(c, NULL, NULL, 0, NULL, &err);
		if (b[n] == NULL)
			break;
		connects[n] = now_ms() - t0;
		pgembed_set_log_callback(b[n], quiet, NULL);
		must(pgembed_exec(b[n], "SELECT count(*) FROM pg_class"), "catalog query");
	}
	rss1 = rss_kb();
	if (n > 0)
	{
		qsort(connects, n, sizeof(double), cmp);
		printf("cluster: %d backends connected (GLIBC_TUNABLES %s), the next refused with %s; connect median %.1f ms "
			   "(min %.1f, max %.1f); %.1f MB RSS per backend after a catalog query\n",
			   n, getenv("GLIBC_TUNABLES") ? getenv("GLIBC_TUNABLES") : "not set",
			   err ? pgembed_error_sqlstate(err) : "nothing", connects[n / 2], connects[0], connects[n - 1],
			   (rss1 - rss0) / 1024.0 / n);
	}
	pgembed_error_free(err);
	for (int i = 2; i < n; i++)
		pgembed_close(b[i], NULL);

	/*
	 * two CPU-bound queries on two backends, on two threads, against one
	 * alone
	 */
	if (n >= 2)
	{
		q[0].e = b[0];
		q[1].e = b[1];
		q[0].sql = q[1].sql = cpu;
		q[0].done = q[1].done = 0;
		timed_query(&q[0]);		/* warm */
		timed_query(&q[0]);
		alone = q[0].ms;
		alone_cpus = q[0].cpu_ms / q[0].ms;
		q[0].done = 0;
		t0 = now_ms();
		pthread_create(&t[0], NULL, timed_query, &q[0]);
		pthread_create(&t[1], NULL, timed_query, &q[1]);

		/*
		 * Whatever the machine's load: every 100 ms, did both threads get
		 * CPU?  Two queries that took turns on a lock would mostly not.
		 */
		{
			clockid_t	clk[2];
			double		last[2] = {0, 0};
			int			both = 0,
						samples = 0;

			pthread_getcpuclockid(t[0], &clk[0]);
			pthread_getcpuclockid(t[1], &clk[1]);
			while (!__atomic_load_n(&q[0].done, __ATOMIC_SEQ_CST) && !__atomic_load_n(&q[1].done, __ATOMIC_SEQ_CST))
			{
				double		now[2];
				struct timespec ts;

				usleep(100 * 1000);
				for (int k = 0; k < 2; k++)
				{
					clock_gettime(clk[k], &ts);
					now[k] = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
				}
				if (samples++ > 0 && now[0] > last[0] && now[1] > last[1])
					both++;
				last[0] = now[0];
				last[1] = now[1];
			}
			overlap = samples > 1 ? 100.0 * both / (samples - 1) : 0;
		}
		pthread_join(t[0], NULL);
		pthread_join(t[1], NULL);
		two = now_ms() - t0;

		/*
		 * The ratio is what the issue asks; on a loaded machine it also
		 * measures the neighbours.  The CPU the two threads got together,
		 * over the wall time, says whether they ran at once at all: near 2 on
		 * two free cores, at most 1 if they took turns.
		 */
		printf("cluster: %s: alone %.0f ms (%.2f CPUs); two at once on two backends %.0f ms wall: ratio %.2fx to one "
			   "alone (1.0 = fully parallel, 2.0 = taking turns); the two threads got %.2f CPUs together, "
			   "and both ran in %.0f%% of the 100 ms intervals\n",
			   cpu, alone, alone_cpus, two, two / alone, (q[0].cpu_ms + q[1].cpu_ms) / two, overlap);
	}
	for (int i = 0; i < 2 && i < n; i++)
		pgembed_close(b[i], NULL);
	pgembed_cluster_close(c, NULL);
}

int
main(int argc, char **argv)
{
	const char *dir;
	pgembed_error *err = NULL;
	pgembed_engine *e;
	double		t0,
				opens[20];
	int			n;
	const char *mode = argc > 2 ? argv[2] : "all";

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s <new-dir> [all|select1|cluster|create|open|background]\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	if (strcmp(mode, "open") == 0)
	{
		/* for strace: what an open and a close of an existing cluster flush */
		if (!pgembed_is_cluster(dir) && pgembed_create_cluster(dir, &err) != 0)
		{
			fprintf(stderr, "%s\n", pgembed_error_message(err));
			return 1;
		}
		e = pgembed_open(dir, NULL, 0, NULL, &err);
		if (e == NULL)
		{
			fprintf(stderr, "%s\n", pgembed_error_message(err));
			return 1;
		}
		pgembed_set_log_callback(e, quiet, NULL);
		must(pgembed_exec(e, "SELECT 1"), "select");
		pgembed_close(e, NULL);
		return 0;
	}
	if (pgembed_create_cluster(dir, &err) != 0)
	{
		fprintf(stderr, "%s\n", pgembed_error_message(err));
		return 1;
	}
	if (strcmp(mode, "create") == 0)
		return 0;				/* for strace: the creation's flushes */
	if (strcmp(mode, "cluster") == 0)
	{
		cluster_figures(dir);
		return 0;
	}
	if (strcmp(mode, "background") == 0)
	{
		background_figures(dir);
		return 0;
	}
	if (strcmp(mode, "select1") == 0)
	{
		/* for strace -c: 100 000 SELECT 1 and nothing else worth counting */
		e = pgembed_open(dir, NULL, 0, NULL, &err);
		pgembed_set_log_callback(e, quiet, NULL);
		must(pgembed_prepare(e, "one", "SELECT 1", 0, NULL), "prepare");
		for (int i = 0; i < 100000; i++)
			pgembed_result_free(pgembed_exec_prepared(e, "one", 0, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO));
		pgembed_close(e, NULL);
		return 0;
	}

	/* open an existing cluster */
	for (int i = 0; i < 20; i++)
	{
		t0 = now_ms();
		e = pgembed_open(dir, NULL, 0, NULL, &err);
		opens[i] = now_ms() - t0;
		pgembed_set_log_callback(e, quiet, NULL);
		pgembed_close(e, NULL);
	}
	qsort(opens, 20, sizeof(double), cmp);
	printf("open of an existing cluster: median %.1f ms (min %.1f, max %.1f, 20 runs)\n", opens[10], opens[0], opens[19]);

	e = pgembed_open(dir, NULL, 0, NULL, &err);
	pgembed_set_log_callback(e, quiet, NULL);

	/* SELECT 1 */
	must(pgembed_prepare(e, "one", "SELECT 1", 0, NULL), "prepare");
	for (int i = 0; i < 20000; i++)
		pgembed_result_free(pgembed_exec_prepared(e, "one", 0, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO));
	n = 200000;
	t0 = now_ms();
	for (int i = 0; i < n; i++)
		pgembed_result_free(pgembed_exec_prepared(e, "one", 0, NULL, NULL, NULL, PGEMBED_FORMAT_AUTO));
	printf("SELECT 1, prepared: %.2f us per call (%d calls)\n", (now_ms() - t0) * 1000 / n, n);
	t0 = now_ms();
	for (int i = 0; i < n; i++)
		pgembed_result_free(pgembed_exec(e, "SELECT 1"));
	printf("SELECT 1, simple query: %.2f us per call (%d calls)\n", (now_ms() - t0) * 1000 / n, n);

	/* 25 000 prepared INSERTs in one transaction, one call each */
	must(pgembed_exec(e, "CREATE TABLE t1(a int, b int, c text)"), "create");
	must(pgembed_prepare(e, "ins", "INSERT INTO t1 VALUES ($1, $2, $3)", 0, NULL), "prepare");
	{
		char		a[16],
					b[16];
		const char *v[3] = {a, b, "some text of the row"};

		t0 = now_ms();
		must(pgembed_exec(e, "BEGIN"), "begin");
		for (int i = 0; i < 25000; i++)
		{
			snprintf(a, sizeof(a), "%d", i);
			snprintf(b, sizeof(b), "%d", i * 7);
			pgembed_result_free(pgembed_exec_prepared(e, "ins", 3, v, NULL, NULL, PGEMBED_FORMAT_TEXT));
		}
		must(pgembed_exec(e, "COMMIT"), "commit");
		printf("25 000 prepared INSERTs in one transaction, one call each: %.1f ms\n", now_ms() - t0);
	}
	/* the same as one batch call */
	{
		static char nums[25000][2][16];
		const char **v = malloc(sizeof(char *) * 3 * 25000);

		for (int i = 0; i < 25000; i++)
		{
			snprintf(nums[i][0], 16, "%d", i);
			snprintf(nums[i][1], 16, "%d", i * 7);
			v[3 * i] = nums[i][0];
			v[3 * i + 1] = nums[i][1];
			v[3 * i + 2] = "some text of the row";
		}
		t0 = now_ms();
		must(pgembed_exec_prepared_batch(e, "ins", 25000, 3, v, NULL, NULL), "batch");
		printf("25 000 prepared INSERTs as one batch call: %.1f ms\n", now_ms() - t0);
		free(v);
	}

	/* COPY of 1 000 000 rows */
	{
		char	   *buf = malloc(64 * 1024 * 1024);
		size_t		len = 0;

		for (int i = 0; i < 1000000; i++)
			len += sprintf(buf + len, "%d\t%d\trow %d\n", i, i % 1000, i);
		must(pgembed_exec(e, "CREATE TABLE t2(a int, b int, c text)"), "create");
		t0 = now_ms();
		must(pgembed_exec(e, "COPY t2 FROM STDIN"), "copy");
		for (size_t off = 0; off < len; off += 1 << 20)
			pgembed_copy_put(e, buf + off, (len - off) < (1 << 20) ? len - off : (1 << 20));
		must(pgembed_copy_end(e, NULL), "copy end");
		printf("COPY FROM STDIN of 1 000 000 rows (%.0f MB): %.0f ms\n", len / 1e6, now_ms() - t0);
		t0 = now_ms();
		{
			const char *chunk;
			int64_t		m,
						total = 0;

			must(pgembed_exec(e, "COPY t2 TO STDOUT"), "copy out");
			while ((m = pgembed_copy_get(e, &chunk)) > 0)
				total += m;
			must(pgembed_copy_end(e, NULL), "copy out end");
			printf("COPY TO STDOUT of 1 000 000 rows (%.0f MB): %.0f ms\n", total / 1e6, now_ms() - t0);
		}
		free(buf);
	}

	/* cancel latency: from pgembed_cancel() to the call returning 57014 */
	{
		double		lat[10];

		for (int i = 0; i < 10; i++)
		{
			pthread_t	t;
			cancel_arg	a = {e, 0};
			pgembed_result *r;

			pthread_create(&t, NULL, canceller, &a);
			r = pgembed_exec(e, i % 2 ? "SELECT pg_sleep(60)" : "SELECT count(*) FROM generate_series(1, 2000000000)");
			lat[i] = now_ms() - a.sent_at;
			pgembed_result_free(r);
			pthread_join(t, NULL);
		}
		qsort(lat, 10, sizeof(double), cmp);
		printf("cancel latency (pg_sleep and a CPU-bound scan): median %.2f ms, max %.2f ms\n", lat[5], lat[9]);
	}
	pgembed_close(e, NULL);
	instances(dir);
	cluster_figures(dir);
	background_figures(dir);
	return 0;
}
