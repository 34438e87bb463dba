/*-------------------------------------------------------------------------
 *
 * engine_maintenance.c
 *	  The engine's side of self-maintenance: what a server's WAL writer and
 *	  checkpointer would do, run at the backend's idle read, and the
 *	  bootstrap superuser for the front's own statements (the vacuum pass).
 *
 * A standalone backend has no auxiliary processes.  The front's timer
 * decides when maintenance is due, from the WAL status this file reports,
 * and leaves MAINT_* flags in the engine struct; __wrap_recv runs them here
 * when the backend next waits for a command, outside any transaction.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/engine_maintenance.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		engine_maintenance		- flush WAL, checkpoint if due, as asked
 *		pgembed__engine_wal_status	- where the WAL stands (front, engine idle)
 *		engine_internal_user_begin	- the front's statement runs as superuser
 *		engine_internal_user_end	- back to the session's user
 *------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "catalog/pg_authid.h"
#include "miscadmin.h"
#include "postmaster/autovacuum.h"
#include "postmaster/bgwriter.h"
#include "postmaster/walwriter.h"

#include "pgembed_engine.h"

/* ---------------------------------------------------------------------
 * Idle-point maintenance: what a server's WAL writer and checkpointer do
 * ---------------------------------------------------------------------
 */
/*
 * Self-maintenance at the backend's idle point (waiting for a command, outside
 * any transaction): what the WAL writer and the checkpointer of a server do.  A
 * standalone backend's RequestCheckpoint() runs the checkpoint itself.  An error
 * goes to PostgresMain's own recovery, like any command's.
 */
void
engine_maintenance(void)
{
	int			request = engine_self->maintenance_request;

	engine_self->maintenance_request = 0;
	if (IsTransactionOrTransactionBlock())
		return;
	if (request & MAINT_FLUSH_WAL)
		(void) XLogBackgroundFlush();
	if (request & (MAINT_CHECKPOINT_NOW | MAINT_CHECKPOINT_IF_DUE))
	{
		XLogSegNo	segno;
		int			flags = 0;

		XLByteToSeg(GetXLogInsertRecPtr(), segno, wal_segment_size);
		if (XLogCheckpointNeeded(segno))
			flags = CHECKPOINT_CAUSE_XLOG;
		else if (request & MAINT_CHECKPOINT_NOW)
			flags = CHECKPOINT_CAUSE_TIME;
		if (flags != 0)
		{
			/*
			 * like the CHECKPOINT command: inside a transaction, for its
			 * resource owner
			 */
			StartTransactionCommand();
			RequestCheckpoint(flags | CHECKPOINT_WAIT);
			CommitTransactionCommand();
		}
	}
}

/* Front, engine idle: where the WAL stands, for deciding on maintenance without entering. */
PGEMBED_EXPORT void pgembed__engine_wal_status(uint64_t *insert, uint64_t *redo, uint64_t *important,
											   int *checkpoint_timeout_s, int *wal_writer_delay_ms,
											   int *naptime_s, int *autovacuum_on);
void
pgembed__engine_wal_status(uint64_t *insert, uint64_t *redo, uint64_t *important,
						   int *checkpoint_timeout_s, int *wal_writer_delay_ms,
						   int *naptime_s, int *autovacuum_on)
{
	*insert = GetXLogInsertRecPtr();
	*redo = GetRedoRecPtr();
	*important = GetLastImportantRecPtr();
	*checkpoint_timeout_s = CheckPointTimeout;
	*wal_writer_delay_ms = WalWriterDelay;
	*naptime_s = autovacuum_naptime;
	*autovacuum_on = autovacuum_start_daemon;
}

/* ---------------------------------------------------------------------
 * The internal superuser: the front's own statements
 * ---------------------------------------------------------------------
 */
/*
 * The front's own statements (the vacuum pass) run as the bootstrap superuser,
 * whoever the session is (a session role, or SET ROLE / SET SESSION
 * AUTHORIZATION in effect): like autovacuum, they must reach every table.
 * The switch happens while the backend reads the statement, before its
 * transaction starts (which records this user to restore on abort), and is
 * undone at the next idle read.  SECURITY_LOCAL_USERID_CHANGE forbids SET ROLE
 * and SET SESSION AUTHORIZATION meanwhile.  Those statements name everything
 * schema-qualified, so the session's search_path cannot redirect them.
 */
static bool internal_user_active = false;
static Oid	internal_saved_userid;
static int	internal_saved_sec_context;

void
engine_internal_user_begin(void)
{
	if (internal_user_active)
		return;
	GetUserIdAndSecContext(&internal_saved_userid, &internal_saved_sec_context);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
						   internal_saved_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	internal_user_active = true;
}

void
engine_internal_user_end(void)
{
	if (!internal_user_active)
		return;
	SetUserIdAndSecContext(internal_saved_userid, internal_saved_sec_context);
	internal_user_active = false;
}
