/*-------------------------------------------------------------------------
 *
 * engine_resources.c
 *	  What an engine holds of the host process, tracked so that an engine
 *	  that dies (even by PANIC) leaves nothing behind: descriptors, shared
 *	  memory segments and mappings, loaded modules.
 *
 * The link-time wrappers (-Wl,--wrap=...) here record what the backend
 * creates otherwise than through the file wrappers of engine_files.c, which
 * track their own descriptors through engine_track_fd.  When the engine has
 * ended, engine_release_resources gives all of it back on the front's stack.
 *
 * Each __wrap_x is declared beside the __real_x it passes on to.  No C caller
 * needs that declaration (the linker redirects PostgreSQL's calls); it is
 * there so that -Wmissing-prototypes can flag a routine that should be static.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/engine_resources.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 * tracking:
 *		engine_track_fd			- remember a descriptor the engine opened
 *		engine_untrack_fd		- forget one it closed
 *		engine_tracks_fd		- did the engine open this one?
 *		engine_release_resources	- give back what a dead engine still holds
 *
 * modules:
 *		__wrap_dlopen			- load into the engine's namespace, remembered
 *
 * descriptors created otherwise than by open():
 *		__wrap_pipe, __wrap_epoll_create1, __wrap_socket, __wrap_dup, __wrap_dup2
 *
 * shared memory:
 *		__wrap_shmget, __wrap_shmat, __wrap_shmdt, __wrap_shmctl,
 *		__wrap_mmap, __wrap_munmap, __wrap_shm_open, __wrap_shm_unlink
 *		__wrap_dsm_postmaster_startup	- sweep the DSM segments a killed
 *									  process left, record the new ones
 *------------------------
 */
#include "postgres.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "pgembed_engine.h"
#include "storage/dsm.h"
#include "storage/dsm_impl.h"
#include "storage/pg_shmem.h"

/* ---------------------------------------------------------------------
 * Resource tracking, so that an engine that dies (even by PANIC) leaves no
 * descriptor, shared memory segment or mapping behind in the host.
 * ---------------------------------------------------------------------
 */
#define MAX_TRACKED_FD (1 << 20)
static uint64_t tracked_fds[MAX_TRACKED_FD / 64];

void
engine_track_fd(int fd)
{
	if (engine_self != NULL && fd >= 0 && fd < MAX_TRACKED_FD)
		tracked_fds[fd / 64] |= UINT64_C(1) << (fd % 64);
}

void
engine_untrack_fd(int fd)
{
	if (fd >= 0 && fd < MAX_TRACKED_FD)
		tracked_fds[fd / 64] &= ~(UINT64_C(1) << (fd % 64));
}

bool
engine_tracks_fd(int fd)
{
	return fd >= 0 && fd < MAX_TRACKED_FD && (tracked_fds[fd / 64] & (UINT64_C(1) << (fd % 64))) != 0;
}

#define MAX_TRACKED_SHM 64
static int	shm_ids[MAX_TRACKED_SHM];
static int	n_shm_ids;
static int	shm_removed_ids[MAX_TRACKED_SHM];	/* IPC_RMID at attach */
static int	n_shm_removed_ids;
static void *shm_addrs[MAX_TRACKED_SHM];
static int	n_shm_addrs;
static struct
{
	void	   *addr;
	size_t		len;
}			shared_maps[MAX_TRACKED_SHM];
static int	n_shared_maps;
static char *posix_shm_names[MAX_TRACKED_SHM];
static int	n_posix_shm_names;

/* ---------------------------------------------------------------------
 * Modules
 * ---------------------------------------------------------------------
 */
/*
 * Modules load into the engine's own namespace.  glibc cannot add objects to the
 * global scope of a secondary namespace (RTLD_GLOBAL crashes there), so modules
 * carry a DT_NEEDED on libpgembed.so instead, which binds them to this copy.
 */
#define MAX_LOADED_MODULES 512
static void *loaded_modules[MAX_LOADED_MODULES];
static int	n_loaded_modules;

extern void *__real_dlopen(const char *file, int mode);
extern void *__wrap_dlopen(const char *file, int mode);
void *
__wrap_dlopen(const char *file, int mode)
{
	void	   *handle;

	if (engine_self == NULL)
		return __real_dlopen(file, mode);
	handle = __real_dlopen(file, mode & ~RTLD_GLOBAL);
	/* every reference the backend takes is given back when the engine ends */
	if (handle != NULL && n_loaded_modules < MAX_LOADED_MODULES)
		loaded_modules[n_loaded_modules++] = handle;
	return handle;
}

/* ---------------------------------------------------------------------
 * Descriptors created otherwise than by open()
 * ---------------------------------------------------------------------
 */
extern int	__real_pipe(int fds[2]);
extern int	__wrap_pipe(int fds[2]);
int
__wrap_pipe(int fds[2])
{
	int			rc = __real_pipe(fds);

	if (rc == 0)
	{
		engine_track_fd(fds[0]);
		engine_track_fd(fds[1]);
	}
	return rc;
}

extern int	__real_epoll_create1(int flags);
extern int	__wrap_epoll_create1(int flags);
int
__wrap_epoll_create1(int flags)
{
	int			fd = __real_epoll_create1(flags);

	engine_track_fd(fd);
	return fd;
}

extern int	__real_socket(int domain, int type, int protocol);
extern int	__wrap_socket(int domain, int type, int protocol);
int
__wrap_socket(int domain, int type, int protocol)
{
	int			fd = __real_socket(domain, type, protocol);

	engine_track_fd(fd);
	return fd;
}

extern int	__real_dup(int fd);
extern int	__wrap_dup(int fd);
int
__wrap_dup(int fd)
{
	int			nfd = __real_dup(fd);

	engine_track_fd(nfd);
	return nfd;
}

extern int	__real_dup2(int fd, int fd2);
extern int	__wrap_dup2(int fd, int fd2);
int
__wrap_dup2(int fd, int fd2)
{
	/* the backend must never redirect the host's standard streams */
	if (engine_self != NULL && fd2 <= 2)
	{
		errno = EPERM;
		return -1;
	}
	fd2 = __real_dup2(fd, fd2);
	engine_track_fd(fd2);
	return fd2;
}

/* ---------------------------------------------------------------------
 * Shared memory: System V, POSIX and shared mappings
 * ---------------------------------------------------------------------
 */
extern int	__real_shmget(key_t key, size_t size, int flags);
extern int	__wrap_shmget(key_t key, size_t size, int flags);
int
__wrap_shmget(key_t key, size_t size, int flags)
{
	int			id = __real_shmget(key, size, flags);

	if (engine_self != NULL && id >= 0 && (flags & IPC_CREAT) && n_shm_ids < MAX_TRACKED_SHM)
		shm_ids[n_shm_ids++] = id;
	return id;
}

extern void *__real_shmat(int id, const void *addr, int flags);
extern void *__wrap_shmat(int id, const void *addr, int flags);
extern int	__real_shmctl(int id, int cmd, struct shmid_ds *buf);
void *
__wrap_shmat(int id, const void *addr, int flags)
{
	void	   *p = __real_shmat(id, addr, flags);

	if (engine_self == NULL || p == (void *) -1)
		return p;
	if (n_shm_addrs < MAX_TRACKED_SHM)
		shm_addrs[n_shm_addrs++] = p;

	/*
	 * A segment this engine created is marked for removal as soon as it is
	 * attached: it stays usable (by id) while attached, and the kernel frees
	 * it when the last attachment goes, even if the host is killed -9.  Its
	 * key is free at once; PostgreSQL's interlock checks by id (IPC_STAT
	 * still sees the attachments).
	 */
	for (int i = 0; i < n_shm_ids; i++)
	{
		if (shm_ids[i] != id)
			continue;
		if (__real_shmctl(id, IPC_RMID, NULL) == 0 && n_shm_removed_ids < MAX_TRACKED_SHM)
			shm_removed_ids[n_shm_removed_ids++] = id;
		shm_ids[i] = shm_ids[--n_shm_ids];
		break;
	}
	return p;
}

extern int	__real_shmdt(const void *addr);
extern int	__wrap_shmdt(const void *addr);
int
__wrap_shmdt(const void *addr)
{
	for (int i = 0; i < n_shm_addrs; i++)
		if (shm_addrs[i] == addr)
			shm_addrs[i] = shm_addrs[--n_shm_addrs];
	return __real_shmdt(addr);
}

extern int	__wrap_shmctl(int id, int cmd, struct shmid_ds *buf);
int
__wrap_shmctl(int id, int cmd, struct shmid_ds *buf)
{
	if (cmd == IPC_RMID)
	{
		for (int i = 0; i < n_shm_ids; i++)
			if (shm_ids[i] == id)
				shm_ids[i] = shm_ids[--n_shm_ids];
		/* PostgreSQL's own removal at shutdown: already done at attach */
		for (int i = 0; i < n_shm_removed_ids; i++)
			if (shm_removed_ids[i] == id)
			{
				shm_removed_ids[i] = shm_removed_ids[--n_shm_removed_ids];
				return 0;
			}
	}
	return __real_shmctl(id, cmd, buf);
}

extern void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
extern void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *
__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void	   *p = __real_mmap(addr, len, prot, flags, fd, off);

	if (engine_self != NULL && p != MAP_FAILED && (flags & MAP_SHARED) && n_shared_maps < MAX_TRACKED_SHM)
	{
		shared_maps[n_shared_maps].addr = p;
		shared_maps[n_shared_maps].len = len;
		n_shared_maps++;
	}
	return p;
}

extern int	__real_munmap(void *addr, size_t len);
extern int	__wrap_munmap(void *addr, size_t len);
int
__wrap_munmap(void *addr, size_t len)
{
	for (int i = 0; i < n_shared_maps; i++)
		if (shared_maps[i].addr == addr)
			shared_maps[i] = shared_maps[--n_shared_maps];
	return __real_munmap(addr, len);
}

extern int	__real_shm_open(const char *name, int flags, mode_t mode);
extern int	__wrap_shm_open(const char *name, int flags, mode_t mode);
int
__wrap_shm_open(const char *name, int flags, mode_t mode)
{
	int			fd = __real_shm_open(name, flags, mode);

	if (engine_self != NULL && fd >= 0 && (flags & O_CREAT) && n_posix_shm_names < MAX_TRACKED_SHM)
		posix_shm_names[n_posix_shm_names++] = strdup(name);
	engine_track_fd(fd);
	return fd;
}

extern int	__real_shm_unlink(const char *name);
extern int	__wrap_shm_unlink(const char *name);
int
__wrap_shm_unlink(const char *name)
{
	for (int i = 0; i < n_posix_shm_names; i++)
		if (strcmp(posix_shm_names[i], name) == 0)
		{
			free(posix_shm_names[i]);
			posix_shm_names[i] = posix_shm_names[--n_posix_shm_names];
			break;
		}
	return __real_shm_unlink(name);
}

/* ---------------------------------------------------------------------
 * Dynamic shared memory left by a killed process
 * ---------------------------------------------------------------------
 */

/*
 * A server finds the DSM control segment of its killed predecessor through
 * the old main segment's header (sysv_shmem.c calls
 * dsm_cleanup_using_control_segment with it).  pgembed removes the main
 * segment's key as soon as it is attached, so that the kernel frees it with
 * the process, and the handle went with it: a process killed with -9 left its
 * POSIX segments (/dev/shm/PostgreSQL.<handle>) for ever.  So the handle is
 * also recorded in the data directory, and the next start (under the
 * directory's lock: nobody else uses it) sweeps what it names with
 * PostgreSQL's own routine before it creates its own segments.  The file goes
 * at the engine's release, when the segments are gone.
 */
#define DSM_HANDLE_FILE "pgembed.dsm"
static bool dsm_handle_recorded;

/*
 * the C library's close(), past the wrapper in engine_files.c (which closes
 * nothing in a cluster's process that it did not track)
 */
extern int	__real_close(int fd);

extern void __real_dsm_postmaster_startup(PGShmemHeader *shim);
extern void __wrap_dsm_postmaster_startup(PGShmemHeader *shim);
void
__wrap_dsm_postmaster_startup(PGShmemHeader *shim)
{
	char text[	32];
	int			fd;
	ssize_t		n;

	if (engine_self == NULL || engine_datadir_fd < 0 ||
		dynamic_shared_memory_type != DSM_IMPL_POSIX)
	{
		/* mmap: PostgreSQL sweeps pg_dynshmem itself */
		__real_dsm_postmaster_startup(shim);
		return;
	}
	fd = openat(engine_datadir_fd, DSM_HANDLE_FILE, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
	{
		unsigned long old;
		char	   *end;

		n = read(fd, text, sizeof(text) - 1);
		__real_close(fd);
		if (n > 0)
		{
			text[		n] = '\0';

			errno = 0;
			old = strtoul(text, &end, 10);
			if (errno == 0 && end != text &&*end == '\n' && old != 0 && old <= PG_UINT32_MAX)
				dsm_cleanup_using_control_segment((dsm_handle) old);
		}
	}
	__real_dsm_postmaster_startup(shim);
	fd = openat(engine_datadir_fd, DSM_HANDLE_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				pg_file_create_mode);
	if (fd < 0)
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", DSM_HANDLE_FILE)));
		return;
	}
	n = snprintf(text, sizeof(text), "%u\n", shim->dsm_control);
	if (write(fd, text, n) != n)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", DSM_HANDLE_FILE)));
	else
		dsm_handle_recorded = true;
	__real_close(fd);
}

/* ---------------------------------------------------------------------
 * Release, when the engine has ended
 * ---------------------------------------------------------------------
 */
/* Releases what a dead engine still holds.  Runs on the front's stack. */
void
engine_release_resources(void)
{
	for (int i = 0; i < n_shm_addrs; i++)
		__real_shmdt(shm_addrs[i]);
	n_shm_addrs = 0;
	for (int i = 0; i < n_shm_ids; i++)
		__real_shmctl(shm_ids[i], IPC_RMID, NULL);
	n_shm_ids = 0;
	n_shm_removed_ids = 0;
	for (int i = 0; i < n_shared_maps; i++)
		__real_munmap(shared_maps[i].addr, shared_maps[i].len);
	n_shared_maps = 0;
	for (int i = 0; i < n_posix_shm_names; i++)
	{
		/*
		 * A process of a cluster leaves the names to PostgreSQL: the other
		 * processes may still use a segment it created (DSM counts them), and
		 * the postmaster's start-up sweeps what a crash left.
		 */
		if (engine_self->cluster == NULL)
			__real_shm_unlink(posix_shm_names[i]);
		free(posix_shm_names[i]);
	}
	n_posix_shm_names = 0;
	for (int w = 0; w < MAX_TRACKED_FD / 64; w++)
	{
		while (tracked_fds[w] != 0)
		{
			int			bit = __builtin_ctzll(tracked_fds[w]);

			tracked_fds[w] &= tracked_fds[w] - 1;
			__real_close(w * 64 + bit);
		}
	}
	/* its DSM segments are gone: the ended process's, or its cluster's */
	if (dsm_handle_recorded && engine_datadir_fd >= 0)
		unlinkat(engine_datadir_fd, DSM_HANDLE_FILE, 0);
	dsm_handle_recorded = false;
	if (engine_datadir_fd >= 0)
		__real_close(engine_datadir_fd);
	engine_datadir_fd = -1;

	/*
	 * Modules (bundled or loaded by path): one left loaded would pin this
	 * copy of the library, and the slot would need a new namespace next time.
	 */
	while (n_loaded_modules > 0)
		dlclose(loaded_modules[--n_loaded_modules]);
}
