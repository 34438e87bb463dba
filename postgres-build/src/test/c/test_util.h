#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "pgembedded.h"

typedef struct
{
	const char *name;
	void		(*fn) (void);
} test_case;

extern const char *scratch_dir;

void		test_skip(const char *why);
void		test_fail(const char *file, int line, const char *fmt,...) __attribute__((format(printf, 3, 4)));
const char *fresh_dir(void);
const char *current_dir(void);
pgembed_engine *open_fresh(int nsettings, const char *const *settings);
pgembed_engine *reopen(const char *dir, int nsettings, const char *const *settings);
const char *scalar(pgembed_engine *e, const char *sql);
const char *sqlstate_of(pgembed_engine *e, const char *sql);
long		rss_kb(void);
long		map_count(void);
int			sysv_segments_created_by(int pid);

/*
 * Runs this test binary again as "pgembed_test --child <name> <args...>" and
 * returns its exit status (-1 if it could not run), its standard output in out.
 * tunable: whether GLIBC_TUNABLES=glibc.rtld.nns=16 is in its environment.
 */
int			run_child(const char *name, int nargs, const char *const *args, bool tunable,
					  char *out, size_t outlen);

/*
 * Clusters with a real postmaster (test_cluster_util.c): a fresh one with these
 * settings, a backend of it, its close (a failure is the test's), and logs
 * that show only ERROR and worse, or nothing.
 */
pgembed_cluster *cluster_fresh(int nsettings, const char *const *settings);
pgembed_engine *backend(pgembed_cluster *c);
void		close_cluster(pgembed_cluster *c);
void		quiet_cluster_log(void *context, int elevel, const char *line);
void		silent_log(void *context, int elevel, const char *line);

/*
 * Starts the same child as run_child without waiting for it: returns its pid
 * (-1 if it could not start) and its standard output's read end in *out_fd.
 */
pid_t		start_child(const char *name, int nargs, const char *const *args, bool tunable, int *out_fd);

/* A child helper: what "--child <name>" runs; returns the exit status. */
typedef struct
{
	const char *name;
	int			(*fn) (int argc, char **argv);
} test_child;

/* test_wire_util.c: protocol messages in wire framing, put at buf; each returns its length */
size_t		put_message(char *buf, char type, const char *payload, size_t len);
size_t		put_bind(char *buf, const char *stmt, int nparams, const char *const *v);

#define CHECK(cond) \
	do { if (!(cond)) test_fail(__FILE__, __LINE__, "%s", #cond); } while (0)
#define CHECK_STR(actual, expected) \
	do { const char *a_ = (actual), *e_ = (expected); \
		if (a_ == NULL || strcmp(a_, e_) != 0) \
			test_fail(__FILE__, __LINE__, "%s: expected \"%s\", got \"%s\"", #actual, e_, a_ ? a_ : "(null)"); \
	} while (0)
#define CHECK_INT(actual, expected) \
	do { long long a_ = (long long) (actual), e_ = (long long) (expected); \
		if (a_ != e_) test_fail(__FILE__, __LINE__, "%s: expected %lld, got %lld", #actual, e_, a_); \
	} while (0)
#define REQUIRE(cond) \
	do { if (!(cond)) { test_fail(__FILE__, __LINE__, "required: %s", #cond); return; } } while (0)

#endif
