/*-------------------------------------------------------------------------
 *
 * engine_workers.c
 *	  Parallel workers of a cluster's backend: the namespace a worker will run
 *	  in is reserved when PostgreSQL registers the worker.
 *
 * Each parallel worker is a process of its own, so it needs one of the few
 * namespaces the host has.  PostgreSQL goes on with fewer workers when it
 * cannot register one (LaunchParallelWorkers: the leader does the work
 * itself), but treats a registered worker that never starts as a failed
 * query.  So registration asks the front for the namespace first
 * (front_workers.c), and registers nothing when none is left: a query then
 * runs with the workers there is room for, or serially, and never fails for
 * want of one.  The postmaster starts the worker in the reserved engine,
 * found by the fields of the worker's BackgroundWorker that parallel.c sets
 * (engine_postmaster.c).  What no worker took goes back when the parallel
 * context ends, and at the backend's next idle read.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/engine_workers.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		__wrap_RegisterDynamicBackgroundWorker	- a namespace first, for a parallel worker
 *		__wrap_DestroyParallelContext	- what its workers did not take goes back
 *		engine_release_workers	- at the idle read: everything not taken goes back
 *------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"

#include "pgembed_engine.h"

/* the key parallel.c's fields give this worker: leader, segment, number */
static void
worker_key(const BackgroundWorker *worker, pgembed_worker_key *key)
{
	key->leader = worker->bgw_notify_pid;
	key->segment = DatumGetUInt32(worker->bgw_main_arg);
	memcpy(&key->number, worker->bgw_extra, sizeof(int32));
}

extern bool __real_RegisterDynamicBackgroundWorker(BackgroundWorker *worker, BackgroundWorkerHandle **handle);
extern bool __wrap_RegisterDynamicBackgroundWorker(BackgroundWorker *worker, BackgroundWorkerHandle **handle);
bool
__wrap_RegisterDynamicBackgroundWorker(BackgroundWorker *worker, BackgroundWorkerHandle **handle)
{
	pgembed_worker_key key;

	if (engine_self == NULL || engine_self->cluster == NULL || engine_self->reserve_worker == NULL ||
		(worker->bgw_flags & BGWORKER_CLASS_PARALLEL) == 0)
		return __real_RegisterDynamicBackgroundWorker(worker, handle);
	worker_key(worker, &key);
	/* no namespace left: as if no background worker slot were free */
	if (!engine_self->reserve_worker(engine_self, &key))
	{
		elog(DEBUG1, "no namespace left for parallel worker %d", key.number);
		return false;
	}
	if (__real_RegisterDynamicBackgroundWorker(worker, handle))
		return true;
	engine_self->release_workers(engine_self, &key);
	return false;
}

/*
 * When a parallel context ends, each of its workers has ended or will never
 * start (WaitForParallelWorkersToExit): a reservation none of them took is
 * free again.  (A context that an error ends goes through parallel.c's own
 * AtEOXact_Parallel, which no wrapper sees: the idle read catches those.)
 */
extern void __real_DestroyParallelContext(ParallelContext *pcxt);
extern void __wrap_DestroyParallelContext(ParallelContext *pcxt);
void
__wrap_DestroyParallelContext(ParallelContext *pcxt)
{
	pgembed_worker_key key;

	key.leader = MyProcPid;
	key.segment = pcxt->seg != NULL ? dsm_segment_handle(pcxt->seg) : 0;
	key.number = -1;
	__real_DestroyParallelContext(pcxt);
	if (engine_self != NULL && engine_self->reserved_workers > 0 && key.segment != 0)
		engine_self->release_workers(engine_self, &key);
}

/*
 * The backend waits for its client: its queries waited for their workers to
 * end, so what is still reserved will not be taken.  (A portal suspended
 * before the postmaster started its workers is the exception: such a worker
 * starts in a namespace of its own when one is free, as any child does.)
 */
void
engine_release_workers(void)
{
	if (engine_self->reserved_workers > 0 && engine_self->release_workers != NULL)
		engine_self->release_workers(engine_self, NULL);
}
