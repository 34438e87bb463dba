/*
 * test_main.c
 *	  A small test runner for the C API; its last line is "N passed, N failed".
 *
 * Usage: pgembed_test <scratch-dir> [test-name-substring[|substring...]]
 * Every test gets a fresh database under the scratch directory.
 */
#include "test_util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *scratch_dir;
static int	failures_in_test;
static int	skipped_test;
static char current_db[1024];
static int	db_counter;

void
test_skip(const char *why)
{
	printf("    (skipped: %s)\n", why);
	skipped_test = 1;
}

void
test_fail(const char *file, int line, const char *fmt,...)
{
	va_list		ap;

	fprintf(stdout, "    FAILED at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	failures_in_test++;
}

static void
quiet_log(void *context, int elevel, const char *line)
{
	(void) context;
	/* only what looks wrong reaches the test output */
	if (elevel >= PGEMBED_LOG_ERROR)
		fprintf(stdout, "    [server] %s\n", line);
}

const char *
fresh_dir(void)
{
	snprintf(current_db, sizeof(current_db), "%s/db%d", scratch_dir, ++db_counter);
	return current_db;
}

pgembed_engine *
open_fresh(int nsettings, const char *const *settings)
{
	pgembed_error *err = NULL;
	const char *dir = fresh_dir();
	pgembed_engine *e;

	if (pgembed_create_cluster(dir, &err) != 0)
	{
		test_fail(__FILE__, __LINE__, "create %s: %s", dir, pgembed_error_message(err));
		pgembed_error_free(err);
		return NULL;
	}
	e = pgembed_open(dir, NULL, nsettings, settings, &err);
	if (e == NULL)
	{
		test_fail(__FILE__, __LINE__, "open %s: %s", dir, pgembed_error_message(err));
		pgembed_error_free(err);
		return NULL;
	}
	pgembed_set_log_callback(e, quiet_log, NULL);
	return e;
}

pgembed_engine *
reopen(const char *dir, int nsettings, const char *const *settings)
{
	pgembed_error *err = NULL;
	pgembed_engine *e = pgembed_open(dir, NULL, nsettings, settings, &err);

	if (e == NULL)
	{
		test_fail(__FILE__, __LINE__, "reopen %s: %s", dir, pgembed_error_message(err));
		pgembed_error_free(err);
		return NULL;
	}
	pgembed_set_log_callback(e, quiet_log, NULL);
	return e;
}

const char *
current_dir(void)
{
	return current_db;
}

/* runs sql, expects success, returns the first value of the first row (static buffer) */
const char *
scalar(pgembed_engine *e, const char *sql)
{
	static char buf[4096];
	pgembed_result *r = pgembed_exec(e, sql);

	buf[0] = '\0';
	if (pgembed_result_error(r))
		snprintf(buf, sizeof(buf), "ERROR %s: %s", pgembed_error_sqlstate(pgembed_result_error(r)),
				 pgembed_error_message(pgembed_result_error(r)));
	else if (pgembed_result_ntuples(r) > 0 && !pgembed_result_is_null(r, 0, 0))
		snprintf(buf, sizeof(buf), "%s", pgembed_result_value(r, 0, 0));
	else if (pgembed_result_ntuples(r) > 0)
		snprintf(buf, sizeof(buf), "NULL");
	pgembed_result_free(r);
	return buf;
}

/* runs sql, returns its SQLSTATE ("00000" on success) (static buffer) */
const char *
sqlstate_of(pgembed_engine *e, const char *sql)
{
	static char buf[8];
	pgembed_result *r = pgembed_exec(e, sql);
	const pgembed_error *err = pgembed_result_error(r);

	snprintf(buf, sizeof(buf), "%s", err ? pgembed_error_sqlstate(err) : "00000");
	pgembed_result_free(r);
	return buf;
}

/* resident set size of this process */
long
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
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* number of memory mappings of this process */
long
map_count(void)
{
	FILE	   *f = fopen("/proc/self/maps", "r");
	long		n = 0;
	int			ch;

	if (f)
	{
		while ((ch = fgetc(f)) != EOF)
			if (ch == '\n')
				n++;
		fclose(f);
	}
	return n;
}

/* SysV shared memory segments that process pid created and that still exist */
int
sysv_segments_created_by(int pid)
{
	FILE	   *f = fopen("/proc/sysvipc/shm", "r");
	char		line[512];
	int			n = 0;

	if (f == NULL)
		return -1;
	/* key shmid perms size cpid lpid nattch ...; a line of names first */
	while (fgets(line, sizeof(line), f) != NULL)
	{
		long		key,
					shmid,
					perms,
					size,
					cpid;

		if (sscanf(line, "%ld %ld %ld %ld %ld", &key, &shmid, &perms, &size, &cpid) == 5 && cpid == pid)
			n++;
	}
	fclose(f);
	return n;
}

pid_t
start_child(const char *name, int nargs, const char *const *args, bool tunable, int *out_fd)
{
	int			fds[2];
	pid_t		pid;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0)
	{
		const char *argv[64];
		int			argc = 0;

		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		argv[argc++] = "pgembed_test";
		argv[argc++] = "--child";
		argv[argc++] = name;
		for (int i = 0; i < nargs && argc < 63; i++)
			argv[argc++] = args[i];
		argv[argc] = NULL;
		if (tunable)
			setenv("GLIBC_TUNABLES", "glibc.rtld.nns=16", 1);
		else
			unsetenv("GLIBC_TUNABLES");
		/* a suite run by an emulator re-executes itself through it */
		execv(getenv("PGEMBED_TEST_SELF") ? getenv("PGEMBED_TEST_SELF") : "/proc/self/exe", (char *const *) argv);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0)
	{
		close(fds[0]);
		return -1;
	}
	*out_fd = fds[0];
	return pid;
}

int
run_child(const char *name, int nargs, const char *const *args, bool tunable, char *out, size_t outlen)
{
	int			fd;
	pid_t		pid = start_child(name, nargs, args, tunable, &fd);
	int			status;
	size_t		len = 0;
	ssize_t		n;

	if (pid < 0)
		return -1;
	while (out != NULL && len + 1 < outlen && (n = read(fd, out + len, outlen - len - 1)) > 0)
		len += n;
	if (out != NULL)
		out[len] = '\0';
	close(fd);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* filter: substrings separated by '|'; a test runs when its name contains one */
static bool
selected(const char *name, const char *filter)
{
	const char *p = filter;

	if (filter == NULL)
		return true;
	for (;;)
	{
		const char *bar = strchr(p, '|');
		size_t		len = bar ? (size_t) (bar - p) : strlen(p);

		for (const char *n = name; len > 0 && strlen(n) >= len; n++)
			if (strncmp(n, p, len) == 0)
				return true;
		if (bar == NULL)
			return false;
		p = bar + 1;
	}
}

extern const test_child budget_children[];
extern const test_child lifecycle_children[];
extern const test_child background_children[];
extern const test_case background_tests[];
extern const test_case server_feature_tests[];
extern const test_case budget_tests[];
extern const test_case cluster_tests[];
extern const test_case cluster_wire_tests[];
extern const test_case result_tests[];
extern const test_case switch_tests[];
extern const test_case lifecycle_tests[];
extern const test_case creation_tests[];
extern const test_case statement_tests[];
extern const test_case direct_tests[];
extern const test_case batch_tests[];
extern const test_case batch_update_tests[];
extern const test_case safety_tests[];
extern const test_case maintenance_tests[];
extern const test_case hostile_tests[];
extern const test_case vector_tests[];
extern const test_case session_tests[];
extern const test_case sync_tests[];

int
main(int argc, char **argv)
{
	const test_case *suites[] = {result_tests, switch_tests, lifecycle_tests, creation_tests, statement_tests, sync_tests, direct_tests, batch_tests, batch_update_tests, safety_tests, vector_tests, maintenance_tests, session_tests, hostile_tests, budget_tests, cluster_tests, cluster_wire_tests, background_tests, server_feature_tests};
	int			passed = 0,
				failed = 0,
				skipped = 0;
	const char *filter = argc > 2 ? argv[2] : NULL;

	/* a helper process of a test (run_child) */
	if (argc >= 3 && strcmp(argv[1], "--child") == 0)
	{
		const test_child *const helpers[] = {budget_children, lifecycle_children, background_children};

		for (size_t h = 0; h < sizeof(helpers) / sizeof(helpers[0]); h++)
			for (const test_child *c = helpers[h]; c->name != NULL; c++)
				if (strcmp(c->name, argv[2]) == 0)
					return c->fn(argc - 3, argv + 3);
		fprintf(stderr, "no child helper \"%s\"\n", argv[2]);
		return 2;
	}
	if (argc < 2)
	{
		fprintf(stderr, "usage: %s <scratch-dir> [filter]\n", argv[0]);
		return 2;
	}
	scratch_dir = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++)
	{
		for (const test_case *t = suites[s]; t->name != NULL; t++)
		{
			if (!selected(t->name, filter))
				continue;
			failures_in_test = 0;
			skipped_test = 0;
			printf("  %s\n", t->name);
			t->fn();
			if (failures_in_test == 0 && skipped_test)
				skipped++;
			else if (failures_in_test == 0)
				passed++;
			else
			{
				failed++;
				printf("  -> %s FAILED\n", t->name);
			}
		}
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed == 0 ? 0 : 1;
}
