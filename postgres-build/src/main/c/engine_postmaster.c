/*-------------------------------------------------------------------------
 *
 * engine_postmaster.c
 *	  The postmaster of a cluster inside an engine: PostgreSQL's own
 *	  PostmasterMain and ServerLoop, with what they do to the process turned
 *	  into requests to the front.
 *
 * A cluster's postmaster runs on a thread of its own.  PostgreSQL's code
 * starts, reaps, shuts down in order and crash-restarts its children; what
 * it does to the operating system for that is wrapped here:
 *	- fork_process() asks the front to start the child in a new engine
 *	  (engine_child.c), which reads the BackendParameters file that
 *	  internal_forkexec wrote, as a fork+exec'd child would; the kind comes
 *	  from postmaster_child_launch(), the file's name from its fopen(); the
 *	  background and WAL writers may be phantoms, which need no namespace;
 *	- waitpid() reaps the children that ended, from the front's queue;
 *	- the unix_socket_directories entry PGEMBED_INPROC_LISTENER is the
 *	  in-process listener: an eventfd of the front in the postmaster's
 *	  ListenSockets, and accept() hands out one end of the socketpair a
 *	  pgembed_connect() queued;
 *	- pgembed.socket_directory=<dir> adds a real Unix socket in <dir> beside
 *	  it: a client accepted there gets a backend on a thread of its own that
 *	  talks to its socket as a server's backend does (serve mode relays
 *	  replication connections there: a WAL sender is such a backend);
 *	- the installation's paths come from where this library lives (there is
 *	  no postgres executable to find);
 *	- the postmaster.pid status line tells the front when the cluster accepts
 *	  connections.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/engine_postmaster.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		pgembed__postmaster_main - entry point of a cluster's postmaster engine
 *		engine_postmaster_fopened - notes the parameter file of the next child
 *		engine_postmaster_closed - an in-process connection it started no backend for
 *		__wrap_postmaster_child_launch - notes the kind of child being started
 *		__wrap_fork_process		- starts it through the front, or a phantom
 *		__wrap_waitpid			- reaps children that ended
 *		__wrap_ListenServerPort	- the in-process listener
 *		__wrap_accept			- an in-process connection
 *		__wrap_find_my_exec, __wrap_find_other_exec - the installation's paths
 *		__wrap_AddToDataDirLockFile - start-up and shut-down progress
 *------------------------
 */
#include "postgres.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "access/xact.h"
#include "libpq/libpq.h"
#include "libpq/pqcomm.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/fork_process.h"
#include "postmaster/postmaster.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/pidfile.h"

#include "pgembed_engine.h"

/*
 * What the postmaster of a cluster is told before the caller's settings
 * (which may override these): no TCP (the in-process listener, and a real
 * Unix socket only when asked: socket_directories), no I/O workers (pgembed
 * does not provide them yet), no logical replication launcher or WAL
 * senders unless asked (the launcher would take a namespace for the
 * cluster's life), one autovacuum worker at a time (each process takes one
 * of the few namespaces while it runs), and no ps display or huge pages,
 * which would act on the host process.
 */
static const char *const postmaster_defaults[] = {
	"listen_addresses=",
	"io_method=sync",
	"autovacuum_max_workers=1",
	"max_logical_replication_workers=0",
	"max_wal_senders=0",
	"max_connections=20",
	/* a server's lock table size for these 20 connections (pgembed_engine.c) */
	"max_locks_per_transaction=256",
	"max_pred_locks_per_transaction=256",
	"update_process_title=off",
	"huge_pages=off",
};

/* the caller's setting that adds a real Unix socket (see the header) */
#define SOCKET_DIRECTORY_SETTING "pgembed.socket_directory="

PGEMBED_EXPORT void pgembed__postmaster_main(pgembed_engine *e);

/*
 * unix_socket_directories: the in-process listener, and the directory of
 * pgembed.socket_directory when the caller gave one (the last one wins, as
 * for any setting).  A directory with a comma, a blank or a quote in its
 * name would need quoting in the list: refused.
 */
static char *
socket_directories(pgembed_engine *e)
{
	const char *dir = NULL;

	for (int i = 0; i < e->nsettings; i++)
		if (strncmp(e->settings[i], SOCKET_DIRECTORY_SETTING, strlen(SOCKET_DIRECTORY_SETTING)) == 0)
			dir = e->settings[i] + strlen(SOCKET_DIRECTORY_SETTING);
	if (dir == NULL || dir[0] == '\0')
		return "unix_socket_directories=" PGEMBED_INPROC_LISTENER;
	if (dir[0] != '/' || strpbrk(dir, ", \t\"'\\") != NULL)
		ereport(FATAL,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for parameter \"pgembed.socket_directory\": \"%s\"", dir),
				 errdetail("An absolute path without commas, blanks or quotes is required.")));
	return psprintf("unix_socket_directories=%s,%s", PGEMBED_INPROC_LISTENER, dir);
}

/* The postmaster engine's main(): PostmasterMain with -D and -c options. */
void
pgembed__postmaster_main(pgembed_engine *e)
{
	int			n = 1 + lengthof(postmaster_defaults) + e->nsettings;
	char	  **argv;
	int			argc = 0;

	engine_process_begin(e);
	engine_process_environment(e);

	/*
	 * a backend of the cluster may need template0's or template1's files
	 * (engine_templates.c)
	 */
	engine_templates_ensure();
	argv = palloc(sizeof(char *) * (3 + 2 * n + 1));
	argv[argc++] = "postgres";
	argv[argc++] = "-D";
	argv[argc++] = e->datadir;
	for (int i = 0; i < (int) lengthof(postmaster_defaults); i++)
	{
		argv[argc++] = "-c";
		argv[argc++] = (char *) postmaster_defaults[i];
	}
	argv[argc++] = "-c";
	argv[argc++] = socket_directories(e);
	for (int i = 0; i < e->nsettings; i++)
	{
		argv[argc++] = "-c";
		argv[argc++] = e->settings[i];
	}
	argv[argc] = NULL;
	PostmasterMain(argc, argv);
}

/* ---------------------------------------------------------------------
 * Starting and reaping children
 * ---------------------------------------------------------------------
 */

/* the child postmaster_child_launch() is starting, until it returns */
static struct
{
	BackendType type;
	int			client_fd;
	char		params[MAXPGPATH];
	bool		parallel;		/* a parallel worker, of this key */
	pgembed_worker_key worker;
}			launching = {B_INVALID, -1, ""};

/* a descriptor accept() handed out for the in-process listener */
#define MAX_INPROC_FDS 64
static int	inproc_fds[MAX_INPROC_FDS];
static int	n_inproc_fds;

static bool
is_inproc_fd(int fd)
{
	for (int i = 0; i < n_inproc_fds; i++)
		if (inproc_fds[i] == fd)
			return true;
	return false;
}

static void
forget_inproc_fd(int fd)
{
	for (int i = 0; i < n_inproc_fds; i++)
		if (inproc_fds[i] == fd)
		{
			inproc_fds[i] = inproc_fds[--n_inproc_fds];
			return;
		}
}

/*
 * internal_forkexec() writes the child's BackendParameters with AllocateFile
 * just before it calls fork_process(): remember the name (relative to the
 * data directory), which becomes the child's argv[2].
 */
void
engine_postmaster_fopened(const char *path, const char *mode)
{
	if (launching.type != B_INVALID && mode[0] == 'w' && strstr(path, ".backend_var.") != NULL)
		strlcpy(launching.params, path, sizeof(launching.params));
}

extern pid_t __real_postmaster_child_launch(BackendType child_type, int child_slot, void *startup_data,
											size_t startup_data_len, ClientSocket *client_sock);
extern pid_t __wrap_postmaster_child_launch(BackendType child_type, int child_slot, void *startup_data,
											size_t startup_data_len, ClientSocket *client_sock);
pid_t
__wrap_postmaster_child_launch(BackendType child_type, int child_slot, void *startup_data,
							   size_t startup_data_len, ClientSocket *client_sock)
{
	pid_t		pid;

	launching.type = child_type;
	launching.client_fd = client_sock ? client_sock->sock : -1;
	launching.params[0] = '\0';
	launching.parallel = false;
	if (child_type == B_BG_WORKER && startup_data != NULL && startup_data_len >= sizeof(BackgroundWorker))
	{
		const BackgroundWorker *w = startup_data;

		/*
		 * the fields by which its leader reserved its namespace
		 * (engine_workers.c)
		 */
		if (w->bgw_flags & BGWORKER_CLASS_PARALLEL)
		{
			launching.parallel = true;
			launching.worker.leader = w->bgw_notify_pid;
			launching.worker.segment = DatumGetUInt32(w->bgw_main_arg);
			memcpy(&launching.worker.number, w->bgw_extra, sizeof(int32));
		}
	}
	pid = __real_postmaster_child_launch(child_type, child_slot, startup_data, startup_data_len, client_sock);
	launching.type = B_INVALID;
	launching.client_fd = -1;
	return pid;
}

/*
 * Is the background or WAL writer to run as a process of its own, or as a
 * phantom?  Each process takes a namespace of the few the host has, and
 * backends write their own buffers and WAL without them; but under
 * synchronous_commit=off only the WAL writer flushes WAL on a timer, so it
 * runs then.  The settings pgembed.walwriter (on, off, auto: the default)
 * and pgembed.bgwriter (on, off: the default) decide otherwise; they are
 * read when the postmaster starts the process.
 */
static bool
writer_wanted(BackendType type)
{
	const char *name = type == B_WAL_WRITER ? "pgembed.walwriter" : "pgembed.bgwriter";
	const char *value = GetConfigOption(name, true, false);
	bool		on;

	if (value == NULL || value[0] == '\0' || pg_strcasecmp(value, "auto") == 0)
		return type == B_WAL_WRITER && synchronous_commit == SYNCHRONOUS_COMMIT_OFF;
	if (parse_bool(value, &on))
		return on;
	ereport(WARNING,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for parameter \"%s\": \"%s\"", name, value),
			 errhint("Valid values are \"on\", \"off\" and \"auto\".")));
	return type == B_WAL_WRITER && synchronous_commit == SYNCHRONOUS_COMMIT_OFF;
}

/*
 * The "fork": the front starts the child and returns its virtual pid, or -1
 * with errno EAGAIN when it cannot (no namespace left), which the postmaster
 * handles as a failed fork.  The child branch never runs here.
 */
extern pid_t __real_fork_process(void);
extern pid_t __wrap_fork_process(void);
pid_t
__wrap_fork_process(void)
{
	pgembed_engine *pm = engine_self;
	int			mode;
	pid_t		pid;

	if (pm == NULL || pm->cluster == NULL)
		return __real_fork_process();
	if (launching.type == B_INVALID || launching.params[0] == '\0')
	{
		errno = ENOSYS;
		return -1;
	}

	/*
	 * The death pipe's read end is every child's: it must outlive the
	 * postmaster, whose end only makes the children see EOF.  The front
	 * closes it when the cluster is gone.
	 */
	if (pm->death_watch_fd < 0 && postmaster_alive_fds[POSTMASTER_FD_WATCH] >= 0)
	{
		pm->death_watch_fd = postmaster_alive_fds[POSTMASTER_FD_WATCH];
		engine_untrack_fd(pm->death_watch_fd);
	}
	if ((launching.type == B_BG_WRITER || launching.type == B_WAL_WRITER) &&
		!writer_wanted(launching.type))
		mode = PGEMBED_CHILD_PHANTOM;
	else if (launching.client_fd >= 0 && is_inproc_fd(launching.client_fd))
		mode = PGEMBED_CHILD_COROUTINE;
	else
		mode = PGEMBED_CHILD_THREAD;	/* a background process, or a client
										 * of the real socket */
	pid = pm->spawn(pm, PostmasterChildName(launching.type), mode, launching.params, launching.client_fd,
					launching.parallel ? &launching.worker : NULL);
	/* a phantom reads no parameters, and a child that never started cannot */
	if (mode == PGEMBED_CHILD_PHANTOM || pid < 0)
		(void) unlink(launching.params);
	if (pid < 0)
	{
		/*
		 * A client of the real socket that got no backend: the postmaster
		 * writes its refusal on the socket and closes it, for real.
		 */
		if (launching.client_fd >= 0 && !is_inproc_fd(launching.client_fd))
			engine_track_fd(launching.client_fd);
		errno = EAGAIN;
	}
	else if (mode == PGEMBED_CHILD_COROUTINE)
		forget_inproc_fd(launching.client_fd);	/* the backend's now */
	return pid;
}

/*
 * The postmaster closes an in-process connection's socket (engine_files.c's
 * close() leaves it open: it is the front's).  If it started no backend for
 * it, the connection was refused, and the front may let it go.
 */
void
engine_postmaster_closed(int fd)
{
	if (is_inproc_fd(fd))
	{
		forget_inproc_fd(fd);
		engine_self->release_inproc(engine_self, fd);
	}
}

extern pid_t __real_waitpid(pid_t pid, int *status, int options);
extern pid_t __wrap_waitpid(pid_t pid, int *status, int options);
pid_t
__wrap_waitpid(pid_t pid, int *status, int options)
{
	pid_t		rc;

	if (engine_self == NULL || engine_self->cluster == NULL)
		return __real_waitpid(pid, status, options);
	/* errno is this copy's C library's: the front reports it as -errno */
	rc = engine_self->reap(engine_self, pid, status, options);
	if (rc < 0)
	{
		errno = -rc;
		return -1;
	}
	return rc;
}

/* ---------------------------------------------------------------------
 * The in-process listener
 * ---------------------------------------------------------------------
 */
extern int	__real_ListenServerPort(int family, const char *hostName, unsigned short portNumber,
									const char *unixSocketDir, pgsocket ListenSockets[],
									int *NumListenSockets, int MaxListen);
extern int	__wrap_ListenServerPort(int family, const char *hostName, unsigned short portNumber,
									const char *unixSocketDir, pgsocket ListenSockets[],
									int *NumListenSockets, int MaxListen);
int
__wrap_ListenServerPort(int family, const char *hostName, unsigned short portNumber,
						const char *unixSocketDir, pgsocket ListenSockets[],
						int *NumListenSockets, int MaxListen)
{
	if (engine_self == NULL || engine_self->cluster == NULL || family != AF_UNIX ||
		unixSocketDir == NULL || strcmp(unixSocketDir, PGEMBED_INPROC_LISTENER) != 0)
		return __real_ListenServerPort(family, hostName, portNumber, unixSocketDir, ListenSockets,
									   NumListenSockets, MaxListen);
	if (*NumListenSockets >= MaxListen)
	{
		ereport(LOG,
				(errmsg("could not bind to all requested addresses: MAXLISTEN (%d) exceeded",
						MaxListen)));
		return STATUS_ERROR;
	}

	/*
	 * the front's descriptor: the postmaster's close() at exit leaves it
	 * alone
	 */
	ListenSockets[(*NumListenSockets)++] = engine_self->listen_fd;
	return STATUS_OK;
}

extern int	__real_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);
extern int	__wrap_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);
int
__wrap_accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	int			client;

	if (engine_self == NULL || engine_self->cluster == NULL || fd != engine_self->listen_fd)
		return __real_accept(fd, addr, addrlen);
	if (n_inproc_fds >= MAX_INPROC_FDS)
	{
		errno = EMFILE;
		return -1;
	}
	client = engine_self->accept_inproc(engine_self);
	if (client < 0)
	{
		errno = -client;
		return -1;
	}

	/*
	 * the client end belongs to the front: no close() of the postmaster's
	 * reaches it
	 */
	inproc_fds[n_inproc_fds++] = client;
	if (addr != NULL && addrlen != NULL && *addrlen >= sizeof(sa_family_t))
	{
		memset(addr, 0, *addrlen);
		addr->sa_family = AF_UNIX;
		*addrlen = sizeof(sa_family_t);
	}
	return client;
}

/* ---------------------------------------------------------------------
 * The installation, and progress
 * ---------------------------------------------------------------------
 */

/* There is no postgres executable: <root>/bin/postgres names the payload's root. */
extern int	__real_find_my_exec(const char *argv0, char *retpath);
extern int	__wrap_find_my_exec(const char *argv0, char *retpath);
int
__wrap_find_my_exec(const char *argv0, char *retpath)
{
	if (engine_self == NULL)
		return __real_find_my_exec(argv0, retpath);
	engine_installation_path("postgres", retpath);
	return 0;
}

extern int	__real_find_other_exec(const char *argv0, const char *target, const char *versionstr,
								   char *retpath);
extern int	__wrap_find_other_exec(const char *argv0, const char *target, const char *versionstr,
								   char *retpath);
int
__wrap_find_other_exec(const char *argv0, const char *target, const char *versionstr, char *retpath)
{
	if (engine_self == NULL)
		return __real_find_other_exec(argv0, target, versionstr, retpath);
	engine_installation_path(target, retpath);
	return 0;
}

extern void __real_AddToDataDirLockFile(int target_line, const char *str);
extern void __wrap_AddToDataDirLockFile(int target_line, const char *str);
void
__wrap_AddToDataDirLockFile(int target_line, const char *str)
{
	__real_AddToDataDirLockFile(target_line, str);
	if (engine_self != NULL && engine_self->cluster != NULL && target_line == LOCK_FILE_LINE_PM_STATUS)
		engine_self->pm_status(engine_self, str);
}
