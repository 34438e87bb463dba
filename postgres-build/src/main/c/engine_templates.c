/*-------------------------------------------------------------------------
 *
 * engine_templates.c
 *	  The files of template0 and template1, put in place when first needed.
 *
 * A new cluster is a copy of the template made at build time without the
 * directories of its two template databases (base/1, template1, and base/4,
 * template0): they were two thirds of what a new database copied, and most
 * embedded databases never create another one.  Their rows in pg_database are
 * there as initdb left them, so whatever reads the catalogs sees a stock
 * cluster; only pg_database_size() has no size for them (NULL) until their files
 * exist.
 *
 * The files are those of the installation's template, untouched since initdb
 * froze them, so they are what the cluster's own copy would have held.  They
 * are put in place the first time something may read them: CREATE, ALTER or
 * DROP DATABASE (template1 is CREATE DATABASE's default template, template0
 * pg_restore's), or a session on another database than postgres.  Each
 * directory is filled under a temporary name, flushed (one syncfs) when fsync
 * is on, and renamed into place, so that a crash midway leaves nothing that
 * looks whole; the next attempt starts afresh.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/engine_templates.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		engine_templates_ensure		- template0's and template1's files in place
 *		engine_templates_needed_by	- does a utility statement need them?
 *------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_database_d.h"
#include "common/file_perm.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/fd.h"

#include "pgembed_engine.h"

/* where the payload keeps the template cluster, below the share directory */
#define TEMPLATE_DIR "pgembed-template"

/* routines only used in this file */
static void put_database_in_place(const char *template, Oid dboid);
static void copy_directory(const char *from, const char *to);

/*
 * Puts the files of template1 and template0 in place if they are missing.
 * Runs before a statement that may need them, or before the session starts.
 */
void
engine_templates_ensure(void)
{
	static const Oid dboids[] = {Template1DbOid, Template0DbOid};
	char		share[MAXPGPATH];
	char		template[MAXPGPATH];

	get_share_path(my_exec_path, share);
	snprintf(template, sizeof(template), "%s/" TEMPLATE_DIR, share);
	for (int i = 0; i < lengthof(dboids); i++)
		put_database_in_place(template, dboids[i]);
}

/* CREATE, ALTER and DROP DATABASE may read the template databases' files. */
bool
engine_templates_needed_by(Node *parsetree)
{
	return IsA(parsetree, CreatedbStmt) || IsA(parsetree, AlterDatabaseStmt) ||
		IsA(parsetree, DropdbStmt);
}

static void
put_database_in_place(const char *template, Oid dboid)
{
	char		path[MAXPGPATH];
	char		tmp[MAXPGPATH];
	char		from[MAXPGPATH];
	struct stat st;

	snprintf(path, sizeof(path), "base/%u", dboid);
	if (stat(path, &st) == 0)
		return;
	if (errno != ENOENT)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat directory \"%s\": %m", path)));
	snprintf(from, sizeof(from), "%s/base/%u", template, dboid);
	snprintf(tmp, sizeof(tmp), "base/pgembed_template_%u.tmp", dboid);
	/* what an interrupted attempt left */
	if (stat(tmp, &st) == 0 && !rmtree(tmp, true))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove directory \"%s\"", tmp)));

	copy_directory(from, tmp);
	if (enableFsync)
	{
		int			fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0 || syncfs(fd) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not synchronize the file system of \"%s\": %m", DataDir)));
		close(fd);
	}
	if (rename(tmp, path) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename directory \"%s\" to \"%s\": %m", tmp, path)));
	fsync_fname("base", true);
}

/* The regular files of from (a database directory has no subdirectory) into a new directory to. */
static void
copy_directory(const char *from, const char *to)
{
	DIR		   *dir;
	struct dirent *de;
	char		src[MAXPGPATH * 2];
	char		dst[MAXPGPATH * 2];

	if (MakePGDirectory(to) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", to)));
	dir = opendir(from);
	if (dir == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open the template database directory \"%s\": %m", from)));
	while ((de = readdir(dir)) != NULL)
	{
		int			in,
					out;
		struct stat st;
		off_t		left;

		snprintf(src, sizeof(src), "%s/%s", from, de->d_name);
		if (stat(src, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		snprintf(dst, sizeof(dst), "%s/%s", to, de->d_name);
		in = open(src, O_RDONLY | O_CLOEXEC);
		out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, pg_file_create_mode);
		left = st.st_size;
		/* in the kernel, or through a buffer across file systems */
		while (in >= 0 && out >= 0 && left > 0)
		{
			ssize_t		n = copy_file_range(in, NULL, out, NULL, (size_t) left, 0);

			if (n <= 0)
				break;
			left -= n;
		}
		while (in >= 0 && out >= 0 && left > 0)
		{
			char		buf[BLCKSZ * 8];
			ssize_t		n = read(in, buf, sizeof(buf));

			if (n <= 0 || write(out, buf, n) != n)
				break;
			left -= n;
		}
		if (in >= 0)
			close(in);
		if (out < 0 || close(out) != 0 || in < 0 || left > 0)
		{
			int			save_errno = errno;

			closedir(dir);
			errno = save_errno;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not copy \"%s\" to \"%s\": %m", src, dst)));
		}
	}
	closedir(dir);
}
