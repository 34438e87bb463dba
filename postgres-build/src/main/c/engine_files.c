/*-------------------------------------------------------------------------
 *
 * engine_files.c
 *	  Paths of the backend, resolved against the data directory: the file
 *	  wrappers, the working directory and shell commands.
 *
 * A backend works in its data directory (ChangeToDataDir), but the working
 * directory belongs to the host and is never changed.  Instead these link-time
 * wrappers (-Wl,--wrap=...) resolve the backend's relative paths against the
 * data directory with the *at() system calls, create files with the backend's
 * umask, track the descriptors they open, and start shell commands in the
 * data directory.  Absolute paths, and every call when this copy of the
 * library runs no engine (the front's copy), go to the C library unchanged.
 *
 * Each __wrap_x is declared beside the __real_x it passes on to.  No C caller
 * needs that declaration (the linker redirects PostgreSQL's calls); it is
 * there so that -Wmissing-prototypes can flag a routine that should be static.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/engine_files.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 * opening and closing:
 *		__wrap_open, __wrap_fopen, __wrap_freopen, __wrap_opendir
 *		__wrap_fclose, __wrap_closedir, __wrap_close
 *
 * flushing:
 *		__wrap_fsync			- skipped for postmaster.pid
 *
 * calls on a path:
 *		__wrap_stat, __wrap_lstat, __wrap_access, __wrap_mkdir, __wrap_rmdir,
 *		__wrap_unlink, __wrap_readlink, __wrap_chmod, __wrap_chown,
 *		__wrap_symlink, __wrap_rename, __wrap_truncate, __wrap_utime,
 *		__wrap_realpath
 *
 * the working directory:
 *		__wrap_chdir			- only to the data directory, as a no-op
 *		__wrap_getcwd			- the data directory
 *
 * shell commands (COPY ... PROGRAM, archive_command):
 *		__wrap_popen, __wrap_system	- run in the data directory
 *------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "lib/stringinfo.h"

#include "pgembed_engine.h"

/* descriptors the wrappers open for themselves are closed directly, never tracked */
extern int	__real_close(int fd);

/* the data directory, opened and named by the engine's start */
int			engine_datadir_fd = -1;
char		engine_datadir_abs[MAXPGPATH];

/* the descriptor of the data directory's postmaster.pid while it is open, or -1 */
static int	lock_file_fd = -1;

/* ---------------------------------------------------------------------
 * Files: relative paths are relative to the data directory
 * ---------------------------------------------------------------------
 */
static inline bool
relative(const char *path)
{
	return engine_self != NULL && engine_datadir_fd >= 0 && path != NULL && path[0] != '/';
}

static inline int
dirfd_for(const char *path)
{
	return relative(path) ? engine_datadir_fd : AT_FDCWD;
}

extern int	__real_open(const char *path, int flags,...);
extern int	__wrap_open(const char *path, int flags,...);
int
__wrap_open(const char *path, int flags,...)
{
	mode_t		mode = 0;
	int			fd;

	if (flags & (O_CREAT | O_TMPFILE))
	{
		va_list		ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (engine_self == NULL)
		return __real_open(path, flags, mode);
	fd = openat(dirfd_for(path), path, flags, mode & ~engine_umask);
	engine_track_fd(fd);
	if (fd >= 0 && strcmp(path, "postmaster.pid") == 0)
		lock_file_fd = fd;
	return fd;
}

static int
fopen_flags(const char *mode)
{
	int			flags;

	switch (mode[0])
	{
		case 'r':
			flags = 0;
			break;
		case 'w':
			flags = O_CREAT | O_TRUNC;
			break;
		case 'a':
			flags = O_CREAT | O_APPEND;
			break;
		default:
			return -1;
	}
	flags |= strchr(mode, '+') ? O_RDWR : (mode[0] == 'r' ? O_RDONLY : O_WRONLY);
	if (strchr(mode, 'x'))
		flags |= O_EXCL;
	if (strchr(mode, 'e'))
		flags |= O_CLOEXEC;
	return flags;
}

extern FILE *__real_fopen(const char *path, const char *mode);
extern FILE *__wrap_fopen(const char *path, const char *mode);
FILE *
__wrap_fopen(const char *path, const char *mode)
{
	int			flags,
				fd;
	FILE	   *f;

	if (engine_self == NULL)
		return __real_fopen(path, mode);
	flags = fopen_flags(mode);
	if (flags < 0)
	{
		errno = EINVAL;
		return NULL;
	}
	/* create with the backend's umask (0600), not the host's */
	fd = openat(dirfd_for(path), path, flags, 0666 & ~engine_umask);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, mode);
	if (f == NULL)
	{
		int			save = errno;

		__real_close(fd);
		errno = save;
		return NULL;
	}
	engine_track_fd(fd);
	/* a postmaster writing the parameters of the child it starts next */
	if (engine_self->child_mode == PGEMBED_CHILD_POSTMASTER)
		engine_postmaster_fopened(path, mode);
	return f;
}

extern FILE *__real_freopen(const char *path, const char *mode, FILE *stream);
extern FILE *__wrap_freopen(const char *path, const char *mode, FILE *stream);
FILE *
__wrap_freopen(const char *path, const char *mode, FILE *stream)
{
	char		abspath[MAXPGPATH];

	if (relative(path))
	{
		snprintf(abspath, sizeof(abspath), "%s/%s", engine_datadir_abs, path);
		path = abspath;
	}
	return __real_freopen(path, mode, stream);
}

extern int	__real_fclose(FILE *f);
extern int	__wrap_fclose(FILE *f);
int
__wrap_fclose(FILE *f)
{
	if (engine_self != NULL && f != NULL)
		engine_untrack_fd(fileno(f));
	return __real_fclose(f);
}

extern DIR *__real_opendir(const char *path);
extern DIR *__wrap_opendir(const char *path);
DIR *
__wrap_opendir(const char *path)
{
	int			fd;
	DIR		   *d;

	if (engine_self == NULL)
		return __real_opendir(path);
	fd = openat(dirfd_for(path), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (d == NULL)
	{
		int			save = errno;

		__real_close(fd);
		errno = save;
		return NULL;
	}
	engine_track_fd(fd);
	return d;
}

extern int	__real_closedir(DIR *d);
extern int	__wrap_closedir(DIR *d);
int
__wrap_closedir(DIR *d)
{
	if (engine_self != NULL && d != NULL)
		engine_untrack_fd(dirfd(d));
	return __real_closedir(d);
}

extern int	__wrap_close(int fd);
int
__wrap_close(int fd)
{
	if (engine_self != NULL)
	{
		if (fd == lock_file_fd)
			lock_file_fd = -1;

		/*
		 * The processes of a cluster share one descriptor table: each closes
		 * only what it opened.  A child's client socket and the postmaster's
		 * death pipe are somebody else's, whoever PostgreSQL thinks owns
		 * them.
		 */
		if (engine_self->cluster != NULL && !engine_tracks_fd(fd))
		{
			if (engine_self->child_mode == PGEMBED_CHILD_POSTMASTER)
				engine_postmaster_closed(fd);
			return 0;
		}
		engine_untrack_fd(fd);
	}
	return __real_close(fd);
}

/*
 * PostgreSQL fsyncs postmaster.pid when it writes it (CreateLockFile,
 * AddToDataDirLockFile), so that a server started after a crash finds the
 * pid of the one that may still run.  An engine's data directory is locked by
 * the flock on pgembed.lock, which dies with its holder; a postmaster.pid that
 * a crash or a power loss left (a standalone backend's, or an empty one) is
 * removed before the next start (front_remove_stale_backend_lock), and a
 * cluster's names a process that no longer runs.  So its fsyncs bought
 * nothing, and cost a journal commit in every open: one of the two an open of
 * an existing cluster waited for (pg_control's is the other).
 */
extern int	__real_fsync(int fd);
extern int	__wrap_fsync(int fd);
int
__wrap_fsync(int fd)
{
	if (engine_self != NULL && fd >= 0 && fd == lock_file_fd)
		return 0;
	return __real_fsync(fd);
}

#define WRAP_PATH_CALL(ret, name, params, real_args, at_call) \
	extern ret __real_##name params; \
	extern ret __wrap_##name params; \
	ret __wrap_##name params \
	{ \
		if (!relative(path)) \
			return __real_##name real_args; \
		return at_call; \
	}

WRAP_PATH_CALL(int, stat, (const char *path, struct stat *buf), (path, buf),
			   fstatat(engine_datadir_fd, path, buf, 0))
WRAP_PATH_CALL(int, lstat, (const char *path, struct stat *buf), (path, buf),
			   fstatat(engine_datadir_fd, path, buf, AT_SYMLINK_NOFOLLOW))
WRAP_PATH_CALL(int, access, (const char *path, int mode), (path, mode),
			   faccessat(engine_datadir_fd, path, mode, 0))
WRAP_PATH_CALL(int, mkdir, (const char *path, mode_t mode), (path, mode),
			   mkdirat(engine_datadir_fd, path, mode))
WRAP_PATH_CALL(int, rmdir, (const char *path), (path),
			   unlinkat(engine_datadir_fd, path, AT_REMOVEDIR))

extern int	__real_unlink(const char *path);
extern int	__wrap_unlink(const char *path);
int
__wrap_unlink(const char *path)
{
	/*
	 * StartupXLOG's removal of the relation cache init files, after a clean
	 * stop
	 */
	if (engine_self != NULL && engine_relcache_keeps(path))
		return 0;
	if (!relative(path))
		return __real_unlink(path);
	return unlinkat(engine_datadir_fd, path, 0);
}

WRAP_PATH_CALL(ssize_t, readlink, (const char *path, char *buf, size_t size), (path, buf, size),
			   readlinkat(engine_datadir_fd, path, buf, size))
WRAP_PATH_CALL(int, chmod, (const char *path, mode_t mode), (path, mode),
			   fchmodat(engine_datadir_fd, path, mode, 0))
WRAP_PATH_CALL(int, chown, (const char *path, uid_t owner, gid_t group), (path, owner, group),
			   fchownat(engine_datadir_fd, path, owner, group, 0))

extern int	__real_symlink(const char *target, const char *path);
extern int	__wrap_symlink(const char *target, const char *path);
int
__wrap_symlink(const char *target, const char *path)
{
	if (!relative(path))
		return __real_symlink(target, path);
	return symlinkat(target, engine_datadir_fd, path);
}

extern int	__real_rename(const char *from, const char *to);
extern int	__wrap_rename(const char *from, const char *to);
int
__wrap_rename(const char *from, const char *to)
{
	if (engine_self == NULL)
		return __real_rename(from, to);
	return renameat(dirfd_for(from), from, dirfd_for(to), to);
}

extern int	__real_truncate(const char *path, off_t length);
extern int	__wrap_truncate(const char *path, off_t length);
int
__wrap_truncate(const char *path, off_t length)
{
	int			fd,
				rc,
				save;

	if (!relative(path))
		return __real_truncate(path, length);
	fd = openat(engine_datadir_fd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = ftruncate(fd, length);
	save = errno;
	__real_close(fd);
	errno = save;
	return rc;
}

extern int	__real_utime(const char *path, const struct utimbuf *times);
extern int	__wrap_utime(const char *path, const struct utimbuf *times);
int
__wrap_utime(const char *path, const struct utimbuf *times)
{
	struct timespec ts[2];

	if (!relative(path))
		return __real_utime(path, times);
	if (times == NULL)
		return utimensat(engine_datadir_fd, path, NULL, 0);
	ts[0].tv_sec = times->actime;
	ts[0].tv_nsec = 0;
	ts[1].tv_sec = times->modtime;
	ts[1].tv_nsec = 0;
	return utimensat(engine_datadir_fd, path, ts, 0);
}

extern char *__real_realpath(const char *path, char *resolved);
extern char *__wrap_realpath(const char *path, char *resolved);
char *
__wrap_realpath(const char *path, char *resolved)
{
	char		abspath[MAXPGPATH];

	if (relative(path))
	{
		snprintf(abspath, sizeof(abspath), "%s/%s", engine_datadir_abs, path);
		path = abspath;
	}
	return __real_realpath(path, resolved);
}

/* ---------------------------------------------------------------------
 * The working directory: the host's, never moved
 * ---------------------------------------------------------------------
 */
/* The process's working directory is the host's: the backend never moves it. */
extern int	__real_chdir(const char *path);
extern int	__wrap_chdir(const char *path);
int
__wrap_chdir(const char *path)
{
	if (engine_self == NULL)
		return __real_chdir(path);
	if (path != NULL && strcmp(path, engine_datadir_abs) == 0)
		return 0;
	errno = EPERM;
	return -1;
}

extern char *__real_getcwd(char *buf, size_t size);
extern char *__wrap_getcwd(char *buf, size_t size);
char *
__wrap_getcwd(char *buf, size_t size)
{
	if (engine_self == NULL || engine_datadir_abs[0] == '\0')
		return __real_getcwd(buf, size);
	if (strlen(engine_datadir_abs) + 1 > size)
	{
		errno = ERANGE;
		return NULL;
	}
	strcpy(buf, engine_datadir_abs);
	return buf;
}

/* ---------------------------------------------------------------------
 * Shell commands
 * ---------------------------------------------------------------------
 */
/* Shell commands (COPY ... PROGRAM, archive_command) start in the data directory. */
static char *
command_in_datadir(const char *command)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoString(&s, "cd '");
	for (const char *p = engine_datadir_abs; *p; p++)
	{
		if (*p == '\'')
			appendStringInfoString(&s, "'\\''");
		else
			appendStringInfoChar(&s, *p);
	}
	appendStringInfo(&s, "' && %s", command);
	return s.data;
}

extern FILE *__real_popen(const char *command, const char *type);
extern FILE *__wrap_popen(const char *command, const char *type);
FILE *
__wrap_popen(const char *command, const char *type)
{
	if (engine_self == NULL || engine_datadir_abs[0] == '\0')
		return __real_popen(command, type);
	return __real_popen(command_in_datadir(command), type);
}

extern int	__real_system(const char *command);
extern int	__wrap_system(const char *command);
int
__wrap_system(const char *command)
{
	if (engine_self == NULL || engine_datadir_abs[0] == '\0' || command == NULL)
		return __real_system(command);
	return __real_system(command_in_datadir(command));
}
