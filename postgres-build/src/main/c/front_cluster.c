/*-------------------------------------------------------------------------
 *
 * front_cluster.c
 *	  Creating a database cluster, as a copy of the template made at build
 *	  time.
 *
 * initdb runs once, when the library is built (make-template.sh); a new
 * cluster is a copy of that template, file by file, in the kernel where it
 * can be (copy_file_range: a reflink on file systems that have them).  A
 * creation must survive being killed at any point: a marker file stands in the
 * directory while it is filled, PG_VERSION (which makes a directory a
 * cluster) comes last and through a rename, and a directory holding the marker
 * but no PG_VERSION is the remains of an interrupted creation, wiped and done
 * again.
 *
 * The copy leaves out the template databases' directories (base/1 and base/4),
 * two thirds of the files: the engine puts them in place when first needed
 * (engine_templates.c).  How the copy reaches the disk is the caller's choice:
 * flushed before the call returns, with one syncfs (the file system's journal
 * and data in one call, never one fsync per file); flushed by a thread of its
 * own right after, a pgembed.unflushed marker standing until it is done (an
 * open in another process, or after a crash, flushes first what the marker
 * says is not yet flushed); or left to the kernel, for clusters that need not
 * survive the machine.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_cluster.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		pgembed_is_cluster		- does a directory hold a cluster (PG_VERSION)
 *		pgembed_create_cluster	- a new cluster in an empty or absent directory
 *		pgembed_create_cluster_flush	- the same, flushed now, soon or never
 *		front_flush_if_unflushed	- at open: flush what a creation left unflushed
 *------------------------
 */
#include "pgembed_front.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* present until a creation's copy is flushed (PGEMBED_FLUSH_SOON) */
#define UNFLUSHED_MARKER "pgembed.unflushed"

/* routines only used in this file */
static bool is_empty_directory(const char *dir);
static int	prepare_directory(const char *datadir, pgembed_error **error);
static int	put_marker(const char *datadir, const char *name, pgembed_error **error);
static int	copy_template(const char *template, const char *datadir, bool flush);
static bool is_wal_segment(const char *rel);
static ssize_t copy_wal_segment(int in, int out, off_t size);
static int	flush_directory(const char *datadir);
static int	fsync_directory(const char *datadir);
static void flush_soon(const char *datadir);

int
pgembed_is_cluster(const char *datadir)
{
	char		path[PATH_MAX];
	struct stat st;

	if (datadir == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/PG_VERSION", datadir);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char copy_target[PATH_MAX];
static size_t copy_source_len;
static pthread_mutex_t copy_lock = PTHREAD_MUTEX_INITIALIZER;

static int
copy_entry(const char *src, const struct stat *st, int type, struct FTW *ftw)
{
	char		dst[PATH_MAX];

	(void) ftw;

	/*
	 * written last, by pgembed_create_cluster: until then the copy is no
	 * cluster
	 */
	if (strcmp(src + copy_source_len, "/PG_VERSION") == 0)
		return FTW_CONTINUE;
	/* template1 and template0 (Template1DbOid, Template0DbOid): when needed */
	if (type == FTW_D && (strcmp(src + copy_source_len, "/base/1") == 0 ||
						  strcmp(src + copy_source_len, "/base/4") == 0))
		return FTW_SKIP_SUBTREE;
	if (snprintf(dst, sizeof(dst), "%s%s", copy_target, src + copy_source_len) >= (int) sizeof(dst))
	{
		errno = ENAMETOOLONG;
		return FTW_STOP;
	}
	if (type == FTW_D)
	{
		if (mkdir(dst, 0700) != 0 && errno != EEXIST)
			return FTW_STOP;
		return FTW_CONTINUE;
	}
	if (type == FTW_F)
	{
		int			in = open(src, O_RDONLY | O_CLOEXEC);
		int			out;
		char		buf[65536];
		ssize_t		n;

		if (in < 0)
			return FTW_STOP;
		out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (out < 0)
		{
			close(in);
			return FTW_STOP;
		}

		/*
		 * in the kernel (a reflink where the file system can), else through a
		 * buffer; a WAL segment only up to its end of WAL, the rest a hole
		 */
		n = 0;
		if (is_wal_segment(src + copy_source_len))
			n = copy_wal_segment(in, out, st->st_size);
		else if (st->st_size > 0)
		{
			off_t		left = st->st_size;
			ssize_t		c;

			while (left > 0 && (c = copy_file_range(in, NULL, out, NULL, (size_t) left, 0)) > 0)
				left -= c;
			if (left > 0)
			{
				if (lseek(in, st->st_size - left, SEEK_SET) < 0 || lseek(out, st->st_size - left, SEEK_SET) < 0)
					n = -1;
				while (n >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
				{
					if (write(out, buf, n) != n)
					{
						n = -1;
						break;
					}
				}
			}
		}
		close(in);
		if (close(out) != 0 || n < 0)
			return FTW_STOP;
		return FTW_CONTINUE;
	}
	return FTW_CONTINUE;
}

/* pg_wal/ and 24 hexadecimal digits: a WAL segment file */
static bool
is_wal_segment(const char *rel)
{
	if (strncmp(rel, "/pg_wal/", 8) != 0 || strlen(rel + 8) != 24)
		return false;
	return strspn(rel + 8, "0123456789ABCDEF") == 24;
}

/*
 * A WAL segment's pages up to the first that is all zeros (no record
 * reaches past it), then the file's full size as a hole: the 16 MB segment
 * of a new cluster costs what its records do.  A segment with holes is what
 * PostgreSQL itself creates with wal_init_zero off; writes fill them.
 * Returns 0, or -1 with errno set.
 */
static ssize_t
copy_wal_segment(int in, int out, off_t size)
{
	char		page[8192];
	ssize_t		n;

	while ((n = read(in, page, sizeof(page))) > 0)
	{
		bool		zeros = true;

		for (ssize_t i = 0; i < n && zeros; i++)
			zeros = page[i] == 0;
		if (zeros)
			break;
		if (write(out, page, n) != n)
			return -1;
	}
	if (n < 0 || ftruncate(out, size) != 0)
		return -1;
	return 0;
}

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void) st;
	(void) type;
	if (ftw->level == 0)
		return 0;				/* the directory itself stays */
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/*
 * Copies the template's PG_VERSION into datadir through a rename: the copy
 * becomes a cluster at once.  flush: the file before the rename.
 */
static int
write_pg_version(const char *template, const char *datadir, bool flush)
{
	char		src[PATH_MAX],
				tmp[PATH_MAX],
				dst[PATH_MAX],
				buf[64];
	int			in,
				out;
	ssize_t		n;

	snprintf(src, sizeof(src), "%s/PG_VERSION", template);
	snprintf(tmp, sizeof(tmp), "%s/PG_VERSION.tmp", datadir);
	snprintf(dst, sizeof(dst), "%s/PG_VERSION", datadir);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	n = read(in, buf, sizeof(buf));
	close(in);
	if (n <= 0)
		return -1;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return -1;
	if (write(out, buf, n) != n || (flush && fdatasync(out) != 0))
	{
		close(out);
		return -1;
	}
	if (close(out) != 0)
		return -1;
	return rename(tmp, dst);
}

int
pgembed_create_cluster(const char *datadir, pgembed_error **error)
{
	return pgembed_create_cluster_flush(datadir, PGEMBED_FLUSH_NOW, error);
}

int
pgembed_create_cluster_flush(const char *datadir, int flush, pgembed_error **error)
{
	char		template[PATH_MAX];
	char		marker[PATH_MAX];

	if (error)
		*error = NULL;
	if (datadir == NULL || datadir[0] == '\0')
	{
		if (error)
			*error = front_make_error("22023", "ERROR", "no data directory given");
		return -1;
	}
	if (flush != PGEMBED_FLUSH_NOW && flush != PGEMBED_FLUSH_SOON && flush != PGEMBED_FLUSH_NEVER)
	{
		if (error)
			*error = front_make_error("22023", "ERROR", "invalid flush mode %d", flush);
		return -1;
	}
	snprintf(template, sizeof(template), "%s/share/postgresql/pgembed-template", pgembed_install_root());
	if (!pgembed_is_cluster(template))
	{
		if (error)
			*error = front_make_error("58P01", "ERROR", "the cluster template is missing at \"%s\"", template);
		return -1;
	}
	if (prepare_directory(datadir, error) != 0 || put_marker(datadir, CREATING_MARKER, error) != 0 ||
		(flush == PGEMBED_FLUSH_SOON && put_marker(datadir, UNFLUSHED_MARKER, error) != 0))
		return -1;
	if (copy_template(template, datadir, flush == PGEMBED_FLUSH_NOW) != 0)
	{
		if (error)
			*error = front_make_error("58000", "ERROR", "could not copy the template into \"%s\": %s",
									  datadir, strerror(errno));
		return -1;
	}
	snprintf(marker, sizeof(marker), "%s/" CREATING_MARKER, datadir);
	unlink(marker);
	/* the files are on disk: the marker's removal and PG_VERSION's rename */
	if (flush == PGEMBED_FLUSH_NOW && fsync_directory(datadir) != 0)
	{
		if (error)
			*error = front_make_error("58030", "ERROR", "could not flush \"%s\": %s",
									  datadir, strerror(errno));
		return -1;
	}
	if (flush == PGEMBED_FLUSH_SOON)
		flush_soon(datadir);
	return 0;
}

static bool
is_empty_directory(const char *dir)
{
	DIR		   *d;
	struct dirent *de;
	bool		isempty = true;

	d = opendir(dir);
	while (d && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			isempty = false;
	if (d)
		closedir(d);
	return isempty;
}

/*
 * The directory to create the cluster in: made, or found empty (or holding
 * the remains of an interrupted creation, which are wiped).
 */
static int
prepare_directory(const char *datadir, pgembed_error **error)
{
	struct stat st;

	if (stat(datadir, &st) == 0)
	{
		bool		isempty;

		if (!S_ISDIR(st.st_mode))
		{
			if (error)
				*error = front_make_error("58000", "ERROR", "\"%s\" exists and is not a directory", datadir);
			return -1;
		}
		isempty = is_empty_directory(datadir);
		if (!isempty && !pgembed_is_cluster(datadir))
		{
			char		marker[PATH_MAX];

			/*
			 * a creation that was interrupted (a killed process): its remains
			 * are ours
			 */
			snprintf(marker, sizeof(marker), "%s/" CREATING_MARKER, datadir);
			if (stat(marker, &st) == 0 && S_ISREG(st.st_mode) &&
				nftw(datadir, remove_entry, 32, FTW_DEPTH | FTW_PHYS) == 0)
				isempty = true;
		}
		if (!isempty)
		{
			if (error)
				*error = front_make_error("58000", "ERROR", pgembed_is_cluster(datadir)
										  ? "\"%s\" already holds a database cluster"
										  : "\"%s\" is not empty and holds no database cluster; refusing to write into it",
										  datadir);
			return -1;
		}
		chmod(datadir, 0700);
	}
	else if (mkdir(datadir, 0700) != 0)
	{
		if (error)
			*error = front_make_error("58000", "ERROR", "could not create \"%s\": %s", datadir, strerror(errno));
		return -1;
	}
	return 0;
}

/* A marker file: a creation in progress, or a copy not yet flushed. */
static int
put_marker(const char *datadir, const char *name, pgembed_error **error)
{
	char		marker[PATH_MAX];
	int			fd;

	snprintf(marker, sizeof(marker), "%s/%s", datadir, name);
	fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		if (error)
			*error = front_make_error("58000", "ERROR", "could not create \"%s\": %s", marker, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * The template's files and directories, then PG_VERSION: the copy becomes a
 * cluster.  flush: everything is on disk before PG_VERSION is written.
 */
static int
copy_template(const char *template, const char *datadir, bool flush)
{
	int			rc;

	pthread_mutex_lock(&copy_lock);
	snprintf(copy_target, sizeof(copy_target), "%s", datadir);
	copy_source_len = strlen(template);
	rc = nftw(template, copy_entry, 32, FTW_PHYS | FTW_ACTIONRETVAL);
	pthread_mutex_unlock(&copy_lock);
	if (rc == 0)
	{
		/*
		 * A template unpacked from an archive may have lost its empty
		 * directories.  This is the one list of them: initdb's subdirs[]
		 * (PostgreSQL 18) and pg_wal, which initdb makes apart; base/1 holds
		 * template1's files, so it is never empty.  The Java loader needs no
		 * list: the payload's manifest names every directory.
		 */
		static const char *const subdirs[] = {
			"global", "pg_wal", "pg_wal/archive_status", "pg_wal/summaries", "pg_commit_ts",
			"pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_subtrans", "pg_twophase",
			"pg_multixact", "pg_multixact/members", "pg_multixact/offsets", "base", "pg_replslot",
			"pg_tblspc", "pg_stat", "pg_stat_tmp", "pg_xact", "pg_logical", "pg_logical/snapshots",
			"pg_logical/mappings"
		};
		char		path[PATH_MAX];

		for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++)
		{
			snprintf(path, sizeof(path), "%s/%s", datadir, subdirs[i]);
			if (mkdir(path, 0700) != 0 && errno != EEXIST)
			{
				rc = -1;
				break;
			}
		}
	}
	if (rc == 0 && flush)
		rc = flush_directory(datadir);
	if (rc == 0)
		rc = write_pg_version(template, datadir, flush);
	return rc;
}

/*
 * Everything written to the file system of datadir so far reaches the disk,
 * the entries of every directory included: one syncfs, as PostgreSQL's
 * recovery_init_sync_method=syncfs does, instead of an fsync per file.
 */
static int
flush_directory(const char *datadir)
{
	int			fd = open(datadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int			rc;

	if (fd < 0)
		return -1;
	rc = syncfs(fd);
	if (rc != 0)
	{
		int			save_errno = errno;

		close(fd);
		errno = save_errno;
		return -1;
	}
	return close(fd);
}

/* The entries of datadir itself (renames, removals) reach the disk. */
static int
fsync_directory(const char *datadir)
{
	int			fd = open(datadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fsync(fd) != 0)
	{
		int			save_errno = errno;

		close(fd);
		errno = save_errno;
		return -1;
	}
	return close(fd);
}

/* ------------------------------------------------------------------------
 * Flushing soon: a thread per creation, and the open that must not wait
 * ------------------------------------------------------------------------
 */
typedef struct pending_flush
{
	struct pending_flush *next;
	dev_t		dev;
	ino_t		ino;
	pid_t		pid;			/* a forked child inherits the list, not the
								 * thread */
	char		datadir[];
} pending_flush;

static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static pending_flush *pending_flushes;

/* The flush, then the marker's removal, itself flushed. */
static int
flush_and_unmark(const char *datadir)
{
	char		marker[PATH_MAX];

	if (flush_directory(datadir) != 0)
		return -1;
	snprintf(marker, sizeof(marker), "%s/" UNFLUSHED_MARKER, datadir);
	if (unlink(marker) != 0 && errno != ENOENT)
		return -1;
	return fsync_directory(datadir);
}

static void *
flush_thread_main(void *arg)
{
	pending_flush *p = arg;
	pending_flush **link;

	/* a failure leaves the marker: the next open flushes */
	(void) flush_and_unmark(p->datadir);
	pthread_mutex_lock(&pending_lock);
	for (link = &pending_flushes; *link != NULL; link = &(*link)->next)
	{
		if (*link == p)
		{
			*link = p->next;
			break;
		}
	}
	pthread_mutex_unlock(&pending_lock);
	free(p);
	return NULL;
}

/* A detached thread flushes datadir; when none can start, the flush happens now. */
static void
flush_soon(const char *datadir)
{
	size_t		len = strlen(datadir) + 1;
	pending_flush *p = malloc(offsetof(pending_flush, datadir) + len);
	struct stat st;
	pthread_t	t;
	pthread_attr_t attr;
	bool		started = false;

	if (p != NULL && stat(datadir, &st) == 0)
	{
		memcpy(p->datadir, datadir, len);
		p->dev = st.st_dev;
		p->ino = st.st_ino;
		p->pid = getpid();
		pthread_mutex_lock(&pending_lock);
		p->next = pending_flushes;
		pending_flushes = p;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		started = pthread_create(&t, &attr, flush_thread_main, p) == 0;
		pthread_attr_destroy(&attr);
		if (!started)
			pending_flushes = p->next;
		pthread_mutex_unlock(&pending_lock);
	}
	if (!started)
	{
		free(p);
		(void) flush_and_unmark(datadir);
	}
}

/*
 * At open, with the data directory locked: a copy whose flush this process
 * has not started (another process created it, or one that ended before its
 * flush did) is flushed before the engine uses it.  Returns 0, or -1 with
 * errno set.
 */
int
front_flush_if_unflushed(const char *datadir)
{
	char		marker[PATH_MAX];
	struct stat st;
	bool		pending = false;

	snprintf(marker, sizeof(marker), "%s/" UNFLUSHED_MARKER, datadir);
	if (stat(marker, &st) != 0)
		return 0;
	if (stat(datadir, &st) != 0)
		return -1;
	pthread_mutex_lock(&pending_lock);
	for (pending_flush *p = pending_flushes; p != NULL; p = p->next)
		if (p->dev == st.st_dev && p->ino == st.st_ino && p->pid == getpid())
			pending = true;
	pthread_mutex_unlock(&pending_lock);
	return pending ? 0 : flush_and_unmark(datadir);
}
