/*
 * test_cluster_util.c
 *	  What the tests of clusters with a real postmaster share: a fresh
 *	  cluster, a backend of it, its close, quiet logs.
 */
#include "test_util.h"

#include <stdlib.h>

void
quiet_cluster_log(void *context, int elevel, const char *line)
{
	(void) context;
	if (elevel >= PGEMBED_LOG_ERROR)
		fprintf(stdout, "    [cluster] %s\n", line);
}

void
silent_log(void *context, int elevel, const char *line)
{
	(void) context;
	(void) elevel;
	(void) line;
}

/* a fresh cluster, started with a real postmaster */
pgembed_cluster *
cluster_fresh(int nsettings, const char *const *settings)
{
	pgembed_error *err = NULL;
	const char *dir = fresh_dir();
	pgembed_cluster *c;

	if (pgembed_create_cluster(dir, &err) != 0)
	{
		test_fail(__FILE__, __LINE__, "create %s: %s", dir, pgembed_error_message(err));
		pgembed_error_free(err);
		return NULL;
	}
	pgembed_set_default_log_callback(quiet_cluster_log, NULL);
	c = pgembed_cluster_open(dir, nsettings, settings, &err);
	pgembed_set_default_log_callback(NULL, NULL);
	if (c == NULL)
	{
		test_fail(__FILE__, __LINE__, "cluster open %s: %s", dir, pgembed_error_message(err));
		pgembed_error_free(err);
		return NULL;
	}
	pgembed_cluster_set_log_callback(c, quiet_cluster_log, NULL);
	return c;
}

pgembed_engine *
backend(pgembed_cluster *c)
{
	pgembed_error *err = NULL;
	pgembed_engine *e = pgembed_connect(c, NULL, NULL, 0, NULL, &err);

	if (e == NULL)
	{
		test_fail(__FILE__, __LINE__, "connect: %s %s", pgembed_error_sqlstate(err), pgembed_error_message(err));
		pgembed_error_free(err);
	}
	return e;
}

void
close_cluster(pgembed_cluster *c)
{
	pgembed_error *err = NULL;

	if (pgembed_cluster_close(c, &err) != 0)
		test_fail(__FILE__, __LINE__, "cluster close: %s", pgembed_error_message(err));
	pgembed_error_free(err);
}
