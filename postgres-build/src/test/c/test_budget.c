/*
 * test_budget.c
 *	  The namespace budget: how many engines one process can load, and the
 *	  error that says so when it is spent.
 *
 * glibc has 16 link-map namespaces, the host's included, and sizes the static
 * TLS every C library copy needs from the tunable glibc.rtld.nns, read when
 * the process starts: 11 engines load without it, 15 with
 * GLIBC_TUNABLES=glibc.rtld.nns=16.  Both cases run in child processes whose
 * environment the test chooses.
 */
#include "test_util.h"

#include <stdlib.h>

#define BUDGET_DIRS 16

static void
no_log(void *context, int elevel, const char *line)
{
	(void) context;
	(void) elevel;
	(void) line;
}

/*
 * Child helper: opens the clusters given as arguments, one after the other,
 * until an open fails; prints "opened=<n> sqlstate=<code> message=<text>".
 */
static int
child_open_until_refused(int argc, char **argv)
{
	pgembed_engine *engines[BUDGET_DIRS];
	int			opened = 0;
	pgembed_error *err = NULL;

	pgembed_set_default_log_callback(no_log, NULL);
	for (int i = 0; i < argc && i < BUDGET_DIRS; i++)
	{
		engines[i] = pgembed_open(argv[i], NULL, 0, NULL, &err);
		if (engines[i] == NULL)
			break;
		opened++;
	}
	printf("opened=%d sqlstate=%s message=%s\n", opened, err ? pgembed_error_sqlstate(err) : "none",
		   err ? pgembed_error_message(err) : "");
	pgembed_error_free(err);
	for (int i = 0; i < opened; i++)
		pgembed_close(engines[i], NULL);
	return 0;
}

/*
 * Child helper: a cluster on the directory given (the further arguments are
 * its settings), and backends connected to it until one is refused; prints
 * "connected=<n> sqlstate=<code> message=<text>".
 */
static int
child_connect_until_refused(int argc, char **argv)
{
	pgembed_cluster *c;
	pgembed_engine *b[BUDGET_DIRS];
	int			n = 0;
	pgembed_error *err = NULL;

	if (argc < 1)
		return 2;
	pgembed_set_default_log_callback(no_log, NULL);
	c = pgembed_cluster_open(argv[0], argc - 1, (const char *const *) argv + 1, &err);
	if (c == NULL)
	{
		printf("cluster not open: %s\n", pgembed_error_message(err));
		return 1;
	}
	pgembed_cluster_set_log_callback(c, no_log, NULL);
	while (n < BUDGET_DIRS && (b[n] = pgembed_connect(c, NULL, NULL, 0, NULL, &err)) != NULL)
		n++;
	printf("connected=%d sqlstate=%s message=%s\n", n, err ? pgembed_error_sqlstate(err) : "none",
		   err ? pgembed_error_message(err) : "");
	pgembed_error_free(err);
	for (int i = 0; i < n; i++)
		pgembed_close(b[i], NULL);
	return pgembed_cluster_close(c, NULL) == 0 ? 0 : 1;
}

const test_child budget_children[] = {
	{"open-until-refused", child_open_until_refused},
	{"connect-until-refused", child_connect_until_refused},
	{NULL, NULL}
};

static bool
make_clusters(char dirs[][1024], const char **args, int n)
{
	for (int i = 0; i < n; i++)
	{
		pgembed_error *err = NULL;

		snprintf(dirs[i], sizeof(dirs[i]), "%s", fresh_dir());
		if (pgembed_create_cluster(dirs[i], &err) != 0)
		{
			test_fail(__FILE__, __LINE__, "create %s: %s", dirs[i], pgembed_error_message(err));
			pgembed_error_free(err);
			return false;
		}
		args[i] = dirs[i];
	}
	return true;
}

/*
 * Without the tunable, the engine that finds no namespace fails with 53300
 * and a message that names the limit and the setting, never 58000 about static
 * TLS; with it, 15 engines open and the 16th is refused with 53300 too.
 */
static void
test_budget_spent_is_53300(void)
{
	static char dirs[BUDGET_DIRS][1024];
	const char *args[BUDGET_DIRS];
	char		out[4096];
	int			opened = -1;
	char		sqlstate[8] = "";

	REQUIRE(make_clusters(dirs, args, BUDGET_DIRS));

	CHECK_INT(run_child("open-until-refused", BUDGET_DIRS, args, false, out, sizeof(out)), 0);
	printf("    without the tunable: %s", out);
	CHECK(sscanf(out, "opened=%d sqlstate=%5s", &opened, sqlstate) == 2);
	CHECK_INT(opened, 11);
	CHECK_STR(sqlstate, "53300");
	CHECK(strstr(out, "GLIBC_TUNABLES=glibc.rtld.nns=16") != NULL);
	CHECK(strstr(out, "11") != NULL);

	CHECK_INT(run_child("open-until-refused", BUDGET_DIRS, args, true, out, sizeof(out)), 0);
	printf("    with the tunable: %s", out);
	CHECK(sscanf(out, "opened=%d sqlstate=%5s", &opened, sqlstate) == 2);
	CHECK_INT(opened, 15);
	CHECK_STR(sqlstate, "53300");
}

/*
 * A cluster's postmaster, checkpointer and autovacuum launcher take a
 * namespace each, and so does the WAL writer under synchronous_commit=off;
 * each backend takes one.  Connects beyond that are refused with 53300.
 */
static void
test_cluster_budget(void)
{
	static const struct
	{
		const char *name;
		int			nsettings;
		const char *settings[2];
		int			with_tunable;
		int			without;
	}			configs[] = {
		/* no autovacuum worker starts during the test */
		{"durable", 1, {"autovacuum_naptime=1h"}, 12, 8},
		{"relaxed", 2, {"autovacuum_naptime=1h", "synchronous_commit=off"}, 11, 7},
		{"durable, autovacuum off", 1, {"autovacuum=off"}, 13, 9},
	};
	static char dirs[1][1024];
	const char *args[3];

	REQUIRE(make_clusters(dirs, args, 1));
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
	{
		char		out[4096];
		int			connected = -1;
		char		sqlstate[8] = "";

		for (int s = 0; s < configs[i].nsettings; s++)
			args[1 + s] = configs[i].settings[s];
		CHECK_INT(run_child("connect-until-refused", 1 + configs[i].nsettings, args, true, out, sizeof(out)), 0);
		printf("    %s, with the tunable: %s", configs[i].name, out);
		CHECK(sscanf(out, "connected=%d sqlstate=%5s", &connected, sqlstate) == 2);
		CHECK_INT(connected, configs[i].with_tunable);
		CHECK_STR(sqlstate, "53300");

		CHECK_INT(run_child("connect-until-refused", 1 + configs[i].nsettings, args, false, out, sizeof(out)), 0);
		printf("    %s, without the tunable: %.120s...\n", configs[i].name, out);
		CHECK(sscanf(out, "connected=%d sqlstate=%5s", &connected, sqlstate) == 2);
		CHECK_INT(connected, configs[i].without);
		CHECK_STR(sqlstate, "53300");
		CHECK(strstr(out, "GLIBC_TUNABLES=glibc.rtld.nns=16") != NULL);
	}
}

const test_case budget_tests[] = {
	{"budget: a spent namespace budget is 53300 naming GLIBC_TUNABLES", test_budget_spent_is_53300},
	{"budget: a cluster connects 11-13 backends with the tunable, 7-9 without (by its processes), then 53300", test_cluster_budget},
	{NULL, NULL}
};
