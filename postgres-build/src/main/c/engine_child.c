/*-------------------------------------------------------------------------
 *
 * engine_child.c
 *	  A postmaster child inside an engine: how a process of a cluster starts
 *	  (SubPostmasterMain, as after fork+exec), who it is (a virtual pid), and
 *	  how signals from the cluster's other processes reach it.
 *
 * PostgreSQL is built with EXEC_BACKEND, so a child starts from nothing: it
 * reads the BackendParameters file its postmaster wrote, re-attaches to the
 * shared memory and re-runs the *ShmemInit routines in "found" mode.  A fresh
 * copy of this library in a namespace of its own is exactly such a child.
 * What differs from a forked and exec'd process is wrapped here:
 *	- the shared memory is already mapped, at the postmaster's address, in the
 *	  one address space: re-attaching only checks the header and takes the
 *	  DSM control handle from it;
 *	- the process has a virtual pid (getpid), so that PGPROC, pg_stat_activity,
 *	  latches and temporary file names tell the cluster's processes apart;
 *	- setsid() and prctl(PR_SET_PDEATHSIG) would act on the host: they do
 *	  nothing;
 *	- an in-process client backend talks to its caller through memory (the
 *	  engine's PqCommMethods), from pq_init() on; a client of the real socket
 *	  (engine_postmaster.c) talks to it as a server's backend does, and owns
 *	  it: the descriptor is closed when the backend's engine is released.
 * Signals that other processes of the cluster send arrive as bits posted in
 * the engine struct; the front delivers them on the thread that runs this
 * engine (pgembed__engine_signal), or at the next safe point.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/engine_child.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		pgembed__child_main		- entry point of a child engine: SubPostmasterMain
 *		pgembed__engine_signal	- deliver the signals other processes posted
 *		engine_absorb_interrupts - what an idle client backend does when woken
 *		__wrap_getpid			- the virtual pid
 *		__wrap_setsid, __wrap_prctl - process-wide calls that stay undone
 *		__wrap_PGSharedMemoryReAttach - the segment is mapped already
 *		__wrap_pq_init			- an in-process client speaks through memory
 *		__wrap_epoll_wait, __wrap_nanosleep - safe points for posted signals
 *------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "libpq/libpq.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/dsm.h"
#include "storage/pg_shmem.h"
#include "tcop/tcopprot.h"

#include "pgembed_engine.h"

/* ---------------------------------------------------------------------
 * Starting
 * ---------------------------------------------------------------------
 */
PGEMBED_EXPORT void pgembed__child_main(pgembed_engine *e);

/*
 * The child's main(): what main.c does before it dispatches, then
 * SubPostmasterMain with the kind and the parameter file the postmaster
 * named when it "forked" (engine_postmaster.c).
 */
void
pgembed__child_main(pgembed_engine *e)
{
	char		forkchild[64];
	char	   *argv[4];

	engine_process_begin(e);
	engine_process_environment(e);
	snprintf(forkchild, sizeof(forkchild), "--forkchild=%s", e->child_kind);
	argv[0] = "postgres";
	argv[1] = forkchild;
	argv[2] = e->child_params;
	argv[3] = NULL;
	SubPostmasterMain(3, argv);
}

/* ---------------------------------------------------------------------
 * Identity
 * ---------------------------------------------------------------------
 */
extern pid_t __real_getpid(void);
extern pid_t __wrap_getpid(void);
pid_t
__wrap_getpid(void)
{
	if (engine_self != NULL && engine_self->vpid != 0)
		return engine_self->vpid;
	return __real_getpid();
}

/* A child makes itself a process group leader; the host's session stays. */
extern pid_t __real_setsid(void);
extern pid_t __wrap_setsid(void);
pid_t
__wrap_setsid(void)
{
	if (engine_self == NULL)
		return __real_setsid();
	return getpid();
}

/* The parent-death signal is per thread and would hit the host's threads. */
extern int	__real_prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4,
						 unsigned long arg5);
extern int	__wrap_prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4,
						 unsigned long arg5);
int
__wrap_prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)
{
	if (engine_self != NULL && option == PR_SET_PDEATHSIG)
		return 0;
	return __real_prctl(option, arg2, arg3, arg4, arg5);
}

/* ---------------------------------------------------------------------
 * Shared memory and the client connection
 * ---------------------------------------------------------------------
 */

/*
 * The real function shmat()s the segment by key at UsedShmemSegAddr, which
 * is mapped already in this address space (the postmaster attached it, and
 * removed its key at once).  What is left of its work: check that the
 * address holds our segment, and take the DSM control handle from it.
 */
extern void __real_PGSharedMemoryReAttach(void);
extern void __wrap_PGSharedMemoryReAttach(void);
void
__wrap_PGSharedMemoryReAttach(void)
{
	PGShmemHeader *hdr = (PGShmemHeader *) UsedShmemSegAddr;

	if (engine_self == NULL || engine_self->cluster == NULL)
	{
		__real_PGSharedMemoryReAttach();
		return;
	}
	if (hdr == NULL || hdr->magic != PGShmemMagic)
		elog(FATAL, "no shared memory segment of this cluster at %p", UsedShmemSegAddr);
	dsm_set_control_handle(hdr->dsm_control);
}

/*
 * A client backend of the in-process listener reads its client's messages
 * through the engine's recv() and writes its own through the engine's
 * PqCommMethods, as a single-backend engine does, from its first message on.
 * A client of a real socket keeps PostgreSQL's socket methods; its socket
 * is nobody else's (the postmaster's close() of it did nothing), so the
 * backend adopts it, and its end closes it, as a process's exit would.
 */
extern Port *__real_pq_init(ClientSocket *client_sock);
extern Port *__wrap_pq_init(ClientSocket *client_sock);
Port *
__wrap_pq_init(ClientSocket *client_sock)
{
	Port	   *port = __real_pq_init(client_sock);

	if (engine_self != NULL && engine_self->cluster != NULL &&
		engine_self->port_fd >= 0 && client_sock->sock == engine_self->port_fd)
		PqCommMethods = &engine_comm_methods;
	else if (engine_self != NULL && engine_self->cluster != NULL && client_sock->sock >= 0)
		engine_track_fd(client_sock->sock);
	return port;
}

/* ---------------------------------------------------------------------
 * Signals from the cluster's other processes
 * ---------------------------------------------------------------------
 */
PGEMBED_EXPORT void pgembed__engine_signal(pgembed_engine *e);

/*
 * On the thread running this engine, from the front's real-time signal
 * handler when it interrupted the engine's own code: deliver what other
 * processes posted.
 */
void
pgembed__engine_signal(pgembed_engine *e)
{
	if (engine_self != e || e->state == ENGINE_DEAD)
		return;
	engine_deliver_pending();
}

/*
 * A client backend parked between calls was woken (by the front's service
 * thread, or by its next call): act on the signals, as a server backend
 * waiting in secure_read() would on its latch.  blocked: no input is there.
 */
void
engine_absorb_interrupts(bool blocked)
{
	engine_deliver_pending();
	ProcessClientReadInterrupt(blocked);
}

/*
 * Safe points.  A thread about to wait here holds no lock of a C library or
 * of the front, so any handler may run, one that ends the engine included.
 * Signals posted while the thread was elsewhere than the engine's own code
 * wait for this (front_multi.c): the front's poke interrupts the wait
 * (EINTR), and PostgreSQL calls again.
 */
extern int	__real_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
extern int	__wrap_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
int
__wrap_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	if (engine_self != NULL && engine_self->posted_signals != 0)
		engine_deliver_pending();
	return __real_epoll_wait(epfd, events, maxevents, timeout);
}

extern int	__real_nanosleep(const struct timespec *req, struct timespec *rem);
extern int	__wrap_nanosleep(const struct timespec *req, struct timespec *rem);
int
__wrap_nanosleep(const struct timespec *req, struct timespec *rem)
{
	if (engine_self != NULL && engine_self->posted_signals != 0)
		engine_deliver_pending();
	return __real_nanosleep(req, rem);
}
