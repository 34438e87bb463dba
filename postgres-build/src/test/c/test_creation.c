/*
 * test_creation.c
 *	  A new cluster: what its copy leaves for later (template0 and template1),
 *	  how it is flushed, and the relation cache init files it keeps.
 */
#include "test_util.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static bool
exists(const char *dir, const char *name)
{
	char		path[2048];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

/*
 * Which file a name refers to, 0 when it is absent: its inode and its
 * modification time (a rebuilt file may get the inode just freed).
 */
static unsigned long
inode_of(const char *dir, const char *name)
{
	char		path[2048];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) != 0)
		return 0;
	return (unsigned long) st.st_ino * 1000003UL ^ (unsigned long) st.st_mtim.tv_sec * 1000000000UL ^
		(unsigned long) st.st_mtim.tv_nsec;
}

static void
test_templates_left_out(void)
{
	pgembed_engine *e = open_fresh(0, NULL);

	REQUIRE(e != NULL);
	CHECK(exists(current_dir(), "base/5"));
	CHECK(!exists(current_dir(), "base/1"));
	CHECK(!exists(current_dir(), "base/4"));
	/* the catalog is a stock cluster's */
	CHECK_STR(scalar(e, "SELECT string_agg(datname, ',' ORDER BY oid) FROM pg_database"),
			  "template1,template0,postgres");
	CHECK_STR(scalar(e, "SELECT pg_database_size('template1')"), "NULL");
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static void
test_create_database_puts_templates_in_place(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		dir[1024];
	pgembed_error *err = NULL;

	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	CHECK_STR(sqlstate_of(e, "CREATE DATABASE app"), "00000");
	CHECK(exists(dir, "base/1"));
	CHECK(exists(dir, "base/4"));
	CHECK(!exists(dir, "base/pgembed_template_1.tmp"));
	CHECK_STR(sqlstate_of(e, "CREATE DATABASE restored TEMPLATE template0"), "00000");
	CHECK(atol(scalar(e, "SELECT pg_database_size('template1')")) > 1000000);
	CHECK_INT(pgembed_close(e, NULL), 0);
	e = pgembed_open(dir, "app", 0, NULL, &err);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT current_database()"), "app");
	CHECK_STR(scalar(e, "SELECT count(*) > 100 FROM pg_class"), "t");
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static void
test_session_on_template1(void)
{
	pgembed_error *err = NULL;
	const char *dir = fresh_dir();
	pgembed_engine *e;

	REQUIRE(pgembed_create_cluster(dir, &err) == 0);
	e = pgembed_open(dir, "template1", 0, NULL, &err);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT current_database()"), "template1");
	CHECK_STR(scalar(e, "SELECT count(*) > 100 FROM pg_class"), "t");
	/* what is created in template1 is in every later database */
	CHECK_STR(sqlstate_of(e, "CREATE TABLE inherited(n int)"), "00000");
	CHECK_INT(pgembed_close(e, NULL), 0);
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(sqlstate_of(e, "CREATE DATABASE child"), "00000");
	CHECK_INT(pgembed_close(e, NULL), 0);
	e = pgembed_open(dir, "child", 0, NULL, &err);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT count(*) FROM inherited"), "0");
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static void
test_init_files_kept_after_clean_close(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		dir[1024];
	unsigned long shared,
				local;

	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	CHECK_INT(pgembed_close(e, NULL), 0);
	shared = inode_of(dir, "global/pg_internal.init");
	local = inode_of(dir, "base/5/pg_internal.init");
	CHECK(shared != 0 && local != 0);
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_INT(pgembed_close(e, NULL), 0);
	/* the same files: loaded, not rebuilt */
	CHECK_INT(inode_of(dir, "global/pg_internal.init"), shared);
	CHECK_INT(inode_of(dir, "base/5/pg_internal.init"), local);
}

static void
test_init_files_follow_catalog_changes(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		dir[1024];
	unsigned long local;

	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	local = inode_of(dir, "base/5/pg_internal.init");
	/* a new relfilenode for pg_class and its indexes: the init file is stale */
	CHECK_STR(sqlstate_of(e, "CREATE TABLE t(a int)"), "00000");
	CHECK_STR(sqlstate_of(e, "VACUUM FULL pg_class"), "00000");
	CHECK_STR(sqlstate_of(e, "REINDEX TABLE pg_attribute"), "00000");
	CHECK_INT(pgembed_close(e, NULL), 0);
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK(inode_of(dir, "base/5/pg_internal.init") != local);
	CHECK_STR(sqlstate_of(e, "INSERT INTO t VALUES (1)"), "00000");
	CHECK_STR(scalar(e, "SELECT count(*) FROM t"), "1");
	CHECK_STR(scalar(e, "SELECT relname FROM pg_class WHERE oid = 't'::regclass"), "t");
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static void
test_init_files_rebuilt_for_another_build(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		dir[1024],
				path[1100];
	unsigned long shared;
	FILE	   *f;

	REQUIRE(e != NULL);
	snprintf(dir, sizeof(dir), "%s", current_dir());
	CHECK_INT(pgembed_close(e, NULL), 0);
	shared = inode_of(dir, "global/pg_internal.init");
	/* as if another PostgreSQL build had started the cluster last */
	snprintf(path, sizeof(path), "%s/pgembed.relcache", dir);
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	fputs("PostgreSQL 18.5 on elsewhere\n", f);
	fclose(f);
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_INT(pgembed_close(e, NULL), 0);
	CHECK(inode_of(dir, "global/pg_internal.init") != shared);
	CHECK(inode_of(dir, "global/pg_internal.init") != 0);
}

static void
test_flush_soon_removes_its_marker(void)
{
	pgembed_error *err = NULL;
	const char *dir = fresh_dir();
	pgembed_engine *e;
	int			waited = 0;

	CHECK_INT(pgembed_create_cluster_flush(dir, PGEMBED_FLUSH_SOON, &err), 0);
	CHECK(pgembed_is_cluster(dir));
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK_STR(scalar(e, "SELECT 1"), "1");
	while (exists(dir, "pgembed.unflushed") && waited++ < 500)
		usleep(10 * 1000);
	CHECK(!exists(dir, "pgembed.unflushed"));
	CHECK_INT(pgembed_close(e, NULL), 0);
}

static void
test_unflushed_copy_flushed_at_open(void)
{
	pgembed_error *err = NULL;
	const char *dir = fresh_dir();
	char		path[1100];
	FILE	   *f;
	pgembed_engine *e;

	CHECK_INT(pgembed_create_cluster_flush(dir, PGEMBED_FLUSH_NEVER, &err), 0);
	CHECK(!exists(dir, "pgembed.unflushed"));
	/* what a process that ended before its flush leaves */
	snprintf(path, sizeof(path), "%s/pgembed.unflushed", dir);
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	fclose(f);
	e = reopen(dir, 0, NULL);
	REQUIRE(e != NULL);
	CHECK(!exists(dir, "pgembed.unflushed"));
	CHECK_INT(pgembed_close(e, NULL), 0);
	CHECK_INT(pgembed_create_cluster_flush(fresh_dir(), 7, &err), -1);
	CHECK_STR(pgembed_error_sqlstate(err), "22023");
	pgembed_error_free(err);
}

const test_case creation_tests[] = {
	{"creation: template0 and template1 are left out of the copy", test_templates_left_out},
	{"creation: CREATE DATABASE puts the template databases in place", test_create_database_puts_templates_in_place},
	{"creation: a session on template1 gets its files first", test_session_on_template1},
	{"creation: relation cache init files kept after a clean close", test_init_files_kept_after_clean_close},
	{"creation: relation cache init files follow catalog changes", test_init_files_follow_catalog_changes},
	{"creation: relation cache init files rebuilt for another build", test_init_files_rebuilt_for_another_build},
	{"creation: a creation flushed soon drops its marker", test_flush_soon_removes_its_marker},
	{"creation: an unflushed copy is flushed at open", test_unflushed_copy_flushed_at_open},
	{NULL, NULL}
};
