/*-------------------------------------------------------------------------
 *
 * pgembed_engine.c
 *	  The engine half of libpgembed: runs one PostgreSQL backend inside a
 *	  private copy of this library (a dlmopen namespace), on a stack of its own.
 *
 * The backend is PostgreSQL's own PostgresMain, started the way single-user
 * mode starts it, but speaking the frontend/backend protocol: its client
 * "socket" reads from buffers the front fills, and its messages are appended
 * to a buffer the front parses.  Whenever the backend waits for input it
 * switches back to the caller, so it runs only on threads that call the API.
 *
 * Everything PostgreSQL does to process-wide state is virtualised through
 * link-time wrappers (-Wl,--wrap=..., for each __wrap_ routine the build
 * finds in our objects), which apply to PostgreSQL's own objects only.  They
 * live beside this file:
 *	- engine_process.c: exit/_exit/abort end the engine, never the host
 *	  process; signal handlers, signal masks and kill() of our own pid become
 *	  a private signal table, so the host's are never touched;
 *	  setitimer(ITIMER_REAL) becomes a per-engine timer run by the front;
 *	  umask is recorded, not applied; atexit registrations are dropped;
 *	- engine_files.c: the working directory is never changed: relative paths
 *	  are resolved against the data directory with the *at() system calls;
 *	- engine_resources.c: descriptors, shared memory, mappings and modules
 *	  are tracked, and given back when the engine ends, even by PANIC.
 * engine_maintenance.c does at the backend's idle read what a server's WAL
 * writer and checkpointer would do.  This file is the backend proper: its
 * start, its client connection, what a client backend's start does that a
 * standalone one skips, and the hooks.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/pgembed_engine.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 * entry points of an engine's copy, which the front looks up with dlsym:
 *		pgembed__engine_is_fresh	- has this copy never run an engine?
 *		pgembed__engine_main	- start the backend and run PostgresMain
 *		pgembed__engine_cancel	- what a backend's SIGINT handler does
 *		pgembed__engine_alarm	- the engine's timer fired
 *		pgembed__engine_cleanup	- release what a dead engine left open
 *
 * the client connection:
 *		__wrap_recv				- the front's input; yield when there is none
 *		engine_comm_methods		- PqCommMethods: messages into the front's buffer
 *
 * the start of an engine of any kind:
 *		engine_process_begin	- what main.c does before it dispatches
 *		engine_process_environment - paths, locale and the data directory
 *		engine_installation_path - <root>/bin/<program> of this library's payload
 *------------------------
 */
#include "postgres.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_db_role_setting.h"
#include "catalog/pg_ts_dict.h"
#include "catalog/pg_ts_template.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "libpq/libpq.h"
#include "libpq/libpq-be.h"
#include "libpq/pqcomm.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/postmaster.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pg_locale.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "pgembed_engine.h"

/* main.o is linked with main renamed; these live there */
extern const char *progname;

/* the engine this copy of the library runs; NULL in the front's copy */
pgembed_engine *engine_self = NULL;

/* ---------------------------------------------------------------------
 * The session's user, as a client backend's start-up sets it
 * ---------------------------------------------------------------------
 */
static bool session_started = false;

/*
 * What InitPostgres does for a client backend and skips in a standalone one
 * (whose user is the bootstrap superuser, unnamed): name the session user in
 * the session_authorization setting, so that RESET SESSION AUTHORIZATION, SET
 * SESSION AUTHORIZATION DEFAULT, DISCARD ALL and a rollback return to it; or
 * authenticate the session role instead; then apply the pg_db_role_setting
 * entries (ALTER ROLE / DATABASE ... SET).
 *
 * Runs while PostgresMain sends BackendKeyData: after InitPostgres, before the
 * first ReadyForQuery, so the ParameterStatus messages of the changed settings
 * precede it.  No error handler is set up yet: an error is FATAL and the open
 * fails with it.
 */
static void
engine_session_start(void)
{
	const char *role = engine_self->session_role;
	Relation	relsetting;
	Snapshot	snapshot;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();

	if (role == NULL)
	{
		char	   *name = GetUserNameFromId(BOOTSTRAP_SUPERUSERID, true);

		/*
		 * a missing bootstrap superuser is the standalone mode's escape
		 * hatch: keep it
		 */
		if (name != NULL)
			SetConfigOption("session_authorization", name, PGC_BACKEND, PGC_S_OVERRIDE);
	}
	else
	{
		HeapTuple	tup;
		Form_pg_authid form;

		tup = SearchSysCache1(AUTHNAME, CStringGetDatum(role));
		if (!HeapTupleIsValid(tup))
			ereport(FATAL,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("role \"%s\" does not exist", role)));
		form = (Form_pg_authid) GETSTRUCT(tup);
		if (form->rolsuper)
			ereport(FATAL,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("session role \"%s\" is a superuser", role),
					 errhint("A session role confines SQL only when it is not a superuser; open without one to work as the superuser.")));
		/* the checks a client backend makes at log-in */
		if (!form->rolcanlogin)
			ereport(FATAL,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("role \"%s\" is not permitted to log in", role)));
		ReleaseSysCache(tup);

		/*
		 * Replaces the standalone start's bootstrap superuser as the
		 * authenticated user, the session user and the current user: RESET
		 * SESSION AUTHORIZATION returns to the role, and only a superuser
		 * authenticated user may SET SESSION AUTHORIZATION to someone else.
		 */
		InitializeSessionUserId(role, InvalidOid, false);
		if (object_aclcheck(DatabaseRelationId, MyDatabaseId, GetUserId(), ACL_CONNECT) != ACLCHECK_OK)
			ereport(FATAL,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for database \"%s\"", get_database_name(MyDatabaseId)),
					 errdetail("User does not have CONNECT privilege.")));
		/* pg_stat_activity shows the session's user */
		if (MyBEEntry != NULL)
		{
			volatile PgBackendStatus *beentry = MyBEEntry;

			PGSTAT_BEGIN_WRITE_ACTIVITY(beentry);
			beentry->st_userid = GetSessionUserId();
			PGSTAT_END_WRITE_ACTIVITY(beentry);
		}
	}

	/*
	 * A server's first OID assignment after initdb jumps to
	 * FirstNormalObjectId (GetNewObjectId does so when
	 * IsPostmasterEnvironment); a standalone backend goes on from where
	 * initdb stopped, and objects it creates would count as system objects
	 * (OID < 16384).  Jump the same way.
	 */
	LWLockAcquire(OidGenLock, LW_EXCLUSIVE);
	if (TransamVariables->nextOid < (Oid) FirstNormalObjectId)
	{
		TransamVariables->nextOid = FirstNormalObjectId;
		TransamVariables->oidCount = 0;
	}
	LWLockRelease(OidGenLock);

	/* later entries do not override earlier ones: most specific first */
	relsetting = table_open(DbRoleSettingRelationId, AccessShareLock);
	snapshot = RegisterSnapshot(GetCatalogSnapshot(DbRoleSettingRelationId));
	ApplySetting(snapshot, MyDatabaseId, GetSessionUserId(), relsetting, PGC_S_DATABASE_USER);
	ApplySetting(snapshot, InvalidOid, GetSessionUserId(), relsetting, PGC_S_USER);
	ApplySetting(snapshot, MyDatabaseId, InvalidOid, relsetting, PGC_S_DATABASE);
	ApplySetting(snapshot, InvalidOid, InvalidOid, relsetting, PGC_S_GLOBAL);
	UnregisterSnapshot(snapshot);
	table_close(relsetting, AccessShareLock);

	CommitTransactionCommand();
}

/* ---------------------------------------------------------------------
 * The client connection: in-memory buffers instead of a socket
 * ---------------------------------------------------------------------
 */
extern ssize_t __real_recv(int fd, void *buf, size_t len, int flags);
extern ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags);
ssize_t
__wrap_recv(int fd, void *buf, size_t len, int flags)
{
	size_t		n = 0;

	if (engine_self == NULL || fd != engine_self->port_fd)
		return __real_recv(fd, buf, len, flags);

	for (;;)
	{
		while (engine_self->in_index < engine_self->nin && n < len)
		{
			pgembed_iov *seg = &engine_self->in[engine_self->in_index];
			size_t		chunk = Min(len - n, seg->len - engine_self->in_pos);

			memcpy((char *) buf + n, seg->data + engine_self->in_pos, chunk);
			n += chunk;
			engine_self->in_pos += chunk;
			if (engine_self->in_pos == seg->len)
			{
				engine_self->in_index++;
				engine_self->in_pos = 0;
			}
		}
		if (n > 0)
		{
			if (engine_self->internal_query)
				engine_internal_user_begin();
			return n;
		}
		/* no input: the backend is idle between commands */
		engine_internal_user_end();
		if (engine_self->reserved_workers > 0)
			engine_release_workers();
		if (engine_self->closing)
			return 0;			/* EOF: the backend exits */
		if (engine_self->maintenance_request != 0)
			engine_maintenance();
		engine_self->state = ENGINE_READY;
		engine_self->in_recv = true;
		engine_yield();
		engine_self->in_recv = false;

		/*
		 * A backend of a cluster acts on what other processes sent while it
		 * was parked, as a server backend waiting for its client would.
		 */
		if (engine_self->cluster != NULL)
			engine_absorb_interrupts(engine_self->in_index >= engine_self->nin);
	}
}

static void copy_out_abort_if_asked(void);

static int
embed_putmessage(char msgtype, const char *s, size_t len)
{
	pgembed_buf *b = &engine_self->out;
	uint32		nlen = pg_hton32((uint32) len + 4);

	if (msgtype == PqMsg_BackendKeyData && !session_started && engine_self->cluster == NULL)
	{
		/* PostgresMain finished InitPostgres; its first ReadyForQuery follows */
		session_started = true;
		engine_relcache_started();
		engine_session_start();
	}
	if (!pgembed_buf_reserve(engine_self, b, len + 6))
		ereport(FATAL,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory for a result of %zu bytes", b->len + len)));
	b->data[b->len] = msgtype;
	memcpy(b->data + b->len + 1, &nlen, 4);
	if (len > 0)
		memcpy(b->data + b->len + 5, s, len);
	if (engine_self->raw_framing)
		b->len += len + 5;
	else
	{
		/* a NUL after each message lets the front terminate values in place */
		b->data[b->len + 5 + len] = '\0';
		b->len += len + 6;
	}

	if (msgtype == PqMsg_ReadyForQuery && len == 1)
		engine_self->tx_status = s[0];
	else if ((msgtype == PqMsg_CopyOutResponse && engine_self->out_yield_at != 0) ||
			 (msgtype == PqMsg_CopyData && engine_self->out_yield_at != 0 && b->len >= engine_self->out_yield_at))
	{
		/* hand out COPY data in chunks: memory stays bounded */
		if (engine_self->copy_out_abort == NULL)
		{
			engine_self->out_yielded = true;
			engine_yield();
			engine_self->out_yielded = false;
		}
		copy_out_abort_if_asked();
	}
	return 0;
}

/*
 * The front stops a COPY TO STDOUT at a pause (pgembed_copy_end with a
 * message, or a call that streams no COPY data), as CopyFail stops a COPY FROM
 * STDIN: the error ends the statement before it does more, and its
 * transaction then fails as after any error.  Raised between two messages,
 * where an error of the data's own production could be raised as well.
 */
static void
copy_out_abort_if_asked(void)
{
	const char *why = engine_self->copy_out_abort;

	if (why == NULL)
		return;
	engine_self->copy_out_abort = NULL;
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("COPY to stdout failed: %s", why)));
}

static void
embed_putmessage_noblock(char msgtype, const char *s, size_t len)
{
	(void) embed_putmessage(msgtype, s, len);
}

static void
embed_comm_reset(void)
{
}

static int	flush_to_client(void);

/* pq_flush */
static int
embed_flush(void)
{
	/* the Flush message of the front's direct request: run it */
	if (engine_self->direct != NULL)
	{
		engine_direct_at_flush();
		return 0;
	}
	if (engine_self->pause_at_notice)
		return flush_to_client();
	return 0;
}

/*
 * A server sends what the backend wrote to its client's socket at pq_flush;
 * our output waits in the front's buffer until the call returns, which is the
 * same for every flush but one kind: send_message_to_frontend flushes each
 * notice (NOTICE, WARNING, INFO, ...) as it is raised, and the statement may
 * then run on or wait for a lock for a long time.  A protocol client of a
 * backend of a cluster (pause_at_notice, set by pgembed_protocol_exchange)
 * gets the output at such a flush: the engine pauses as a COPY TO STDOUT does
 * at a chunk (out_yielded), and the client's next call resumes it.  No other
 * flush pauses: ReadyForQuery's is followed by the read that ends the call
 * anyway, and CopyInResponse's by the data the client sent with it.  The
 * messages since the previous flush are walked to find the last one (raw
 * framing: type, length); out_flushed is where that flush left off, or 0 once
 * the front took the output.
 */
static pg_noinline int
flush_to_client(void)
{
	pgembed_buf *b = &engine_self->out;
	size_t		pos = engine_self->out_flushed;
	size_t		last = b->len;

	while (pos + 5 <= b->len)
	{
		uint32		n;

		memcpy(&n, b->data + pos + 1, 4);
		last = pos;
		pos += 1 + (size_t) pg_ntoh32(n);
	}
	engine_self->out_flushed = b->len;
	if (last < b->len && b->data[last] == PqMsg_NoticeResponse)
	{
		engine_self->paused_at_notice = true;
		engine_self->out_yielded = true;
		engine_yield();
		engine_self->out_yielded = false;
		engine_self->paused_at_notice = false;
	}
	return 0;
}

static bool
embed_is_send_pending(void)
{
	return false;
}

const PQcommMethods engine_comm_methods = {
	.comm_reset = embed_comm_reset,
	.flush = embed_flush,
	.flush_if_writable = embed_flush,
	.is_send_pending = embed_is_send_pending,
	.putmessage = embed_putmessage,
	.putmessage_noblock = embed_putmessage_noblock,
};

/* ---------------------------------------------------------------------
 * Utility commands: what a standalone backend skips
 * ---------------------------------------------------------------------
 */
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * Checks a text search dictionary's options with its template's init method,
 * as CREATE/ALTER TEXT SEARCH DICTIONARY do under a postmaster (a standalone
 * backend skips that for initdb's sake).  The options are read back from the
 * catalog, in the form in which every later use of the dictionary passes them
 * to the init method.
 */
static void
verify_ts_dictionary(Oid dictId)
{
	HeapTuple	dtup,
				ttup;
	Form_pg_ts_template tmpl;
	Datum		opt;
	bool		isnull;
	List	   *options = NIL;

	dtup = SearchSysCache1(TSDICTOID, ObjectIdGetDatum(dictId));
	if (!HeapTupleIsValid(dtup))
		return;
	opt = SysCacheGetAttr(TSDICTOID, dtup, Anum_pg_ts_dict_dictinitoption, &isnull);
	if (!isnull)
		options = deserialize_deflist(opt);
	ttup = SearchSysCache1(TSTEMPLATEOID,
						   ObjectIdGetDatum(((Form_pg_ts_dict) GETSTRUCT(dtup))->dicttemplate));
	ReleaseSysCache(dtup);
	if (!HeapTupleIsValid(ttup))
		return;
	tmpl = (Form_pg_ts_template) GETSTRUCT(ttup);
	if (!OidIsValid(tmpl->tmplinit))
	{
		if (options != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("text search template \"%s\" does not accept options",
							NameStr(tmpl->tmplname))));
	}
	else
		(void) OidFunctionCall1(tmpl->tmplinit, PointerGetDatum(options));
	ReleaseSysCache(ttup);
}

static void
embed_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	List	   *dictname = NIL;
	bool		created = false;

	if (engine_templates_needed_by(parsetree))
		engine_templates_ensure();

	/* names first: a tree that is not read-only may be scribbled on */
	if (IsA(parsetree, DefineStmt) && ((DefineStmt *) parsetree)->kind == OBJECT_TSDICTIONARY)
	{
		dictname = copyObject(((DefineStmt *) parsetree)->defnames);
		created = true;
	}
	else if (IsA(parsetree, AlterTSDictionaryStmt))
		dictname = copyObject(((AlterTSDictionaryStmt *) parsetree)->dictname);

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);

	if (dictname != NIL)
	{
		Oid			dictId;

		/* make the new catalog row visible; an error undoes the command */
		CommandCounterIncrement();
		if (created)
		{
			/*
			 * where CREATE put it (the search path could find a namesake
			 * first)
			 */
			char	   *name;
			Oid			nsp = QualifiedNameGetCreationNamespace(dictname, &name);

			dictId = GetSysCacheOid2(TSDICTNAMENSP, Anum_pg_ts_dict_oid,
									 CStringGetDatum(name), ObjectIdGetDatum(nsp));
		}
		else
			dictId = get_ts_dict_oid(dictname, false);
		if (OidIsValid(dictId))
			verify_ts_dictionary(dictId);
	}
}

/* ---------------------------------------------------------------------
 * Server log: to the front, never to the host's stderr directly
 * ---------------------------------------------------------------------
 */

/* pgembedded.h names elog.h's levels, which a log callback receives as they are */
StaticAssertDecl(PGEMBED_LOG_DEBUG5 == DEBUG5 && PGEMBED_LOG_DEBUG4 == DEBUG4 &&
				 PGEMBED_LOG_DEBUG3 == DEBUG3 && PGEMBED_LOG_DEBUG2 == DEBUG2 &&
				 PGEMBED_LOG_DEBUG1 == DEBUG1 && PGEMBED_LOG_LOG == LOG &&
				 PGEMBED_LOG_LOG_SERVER_ONLY == LOG_SERVER_ONLY &&
				 PGEMBED_LOG_INFO == INFO && PGEMBED_LOG_NOTICE == NOTICE &&
				 PGEMBED_LOG_WARNING == WARNING && PGEMBED_LOG_ERROR == ERROR &&
				 PGEMBED_LOG_FATAL == FATAL && PGEMBED_LOG_PANIC == PANIC,
				 "PGEMBED_LOG_* differ from elog.h's levels");

static void
embed_log_hook(ErrorData *edata)
{
	pgembed_buf *b;
	const char *sev;
	int			n;
	int32		elevel;

	if (engine_self == NULL || !edata->output_to_server)
		return;
	b = &engine_self->logbuf;
	sev = (edata->elevel >= PANIC) ? "PANIC" :
		(edata->elevel >= FATAL) ? "FATAL" :
		(edata->elevel >= ERROR) ? "ERROR" :
		(edata->elevel >= WARNING) ? "WARNING" :
		(edata->elevel >= NOTICE) ? "NOTICE" :
		(edata->elevel >= INFO) ? "INFO" :
		(edata->elevel >= LOG) ? "LOG" : "DEBUG";
	n = snprintf(NULL, 0, "%s:  %s%s%s", sev, edata->message ? edata->message : "",
				 edata->detail ? "\nDETAIL:  " : "", edata->detail ? edata->detail : "");
	if (pgembed_buf_reserve(engine_self, b, n + 1 + sizeof(int32)))
	{
		elevel = edata->elevel;
		memcpy(b->data + b->len, &elevel, sizeof(int32));
		snprintf(b->data + b->len + sizeof(int32), n + 1, "%s:  %s%s%s", sev,
				 edata->message ? edata->message : "",
				 edata->detail ? "\nDETAIL:  " : "", edata->detail ? edata->detail : "");

		/*
		 * a process on a thread of its own never returns to a caller who
		 * would flush
		 */
		if (engine_self->log_line != NULL)
			engine_self->log_line(engine_self, elevel, b->data + b->len + sizeof(int32));
		else
			b->len += sizeof(int32) + n + 1;
	}
	edata->output_to_server = false;
}

/* ---------------------------------------------------------------------
 * Start-up: single-user mode's sequence, then PostgresMain
 * ---------------------------------------------------------------------
 */
static void
apply_setting(const char *setting)
{
	char	   *name,
			   *value;

	ParseLongOption(setting, &name, &value);
	if (value == NULL)
		ereport(FATAL,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("setting \"%s\" has no value: write name=value", setting)));
	SetConfigOption(name, value, PGC_POSTMASTER, PGC_S_ARGV);
	pfree(name);
	pfree(value);
}

static const char *const engine_defaults[] = {
	/*
	 * no progress timeouts during crash recovery: single-user mode registers
	 * none
	 */
	"log_startup_progress_interval=0",
	"update_process_title=off",
	"huge_pages=off",
	/* one session, no postmaster children */
	"max_connections=4",
	"max_wal_senders=0",
	"max_worker_processes=0",
	"max_parallel_workers=0",
	"max_parallel_workers_per_gather=0",
	"autovacuum_worker_slots=1",
	"listen_addresses=",

	/*
	 * The shared lock tables have max_locks_per_transaction slots per
	 * possible process: with 4 connections that would be ~450 locks, 20 times
	 * fewer than a server's, and one transaction that touches many relations
	 * (pg_dump, pg_restore --single-transaction, DROP SCHEMA ... CASCADE, a
	 * partitioned table's scan) failed with "out of shared memory".  These
	 * give a server's ~7000 (about 2 MB of shared memory).
	 */
	"max_locks_per_transaction=1024",
	"max_pred_locks_per_transaction=1024",
};

static void
set_max_safe_fds_from_rlimit(void)
{
	struct rlimit rl;
	long		usable;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		usable = max_files_per_process;
	else
		/* the host owns the rest of the descriptor table */
		usable = Min((long) rl.rlim_cur / 4, (long) max_files_per_process);
	max_safe_fds = usable - 10;
	if (max_safe_fds < 48)
		ereport(FATAL,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("insufficient file descriptors available to start an engine"),
				 errdetail("The process limit (RLIMIT_NOFILE) is %ld; pgembed needs at least 232.",
						   (long) rl.rlim_cur)));
}

/* True until this copy has run an engine: the front never reuses a used copy. */
static bool engine_used = false;

PGEMBED_EXPORT bool pgembed__engine_is_fresh(void);
bool
pgembed__engine_is_fresh(void)
{
	return !engine_used;
}

/*
 * What main.c does for every PostgreSQL process before it dispatches, for an
 * engine of any kind (engine_postmaster.c and engine_child.c start theirs
 * with it too): this copy runs e, and logs through the front.
 */
void
engine_process_begin(pgembed_engine *e)
{
	engine_self = e;
	engine_used = true;
	engine_signals_init();

	progname = "postgres";
	MyProcPid = getpid();
	MemoryContextInit();
	(void) set_stack_base();
	emit_log_hook = embed_log_hook;
}

/* <root>/bin/<program>, where this library is <root>/lib/libpgembed.so */
void
engine_installation_path(const char *program, char *path)
{
	Dl_info		info;
	char		root[MAXPGPATH];

	if (dladdr((void *) engine_installation_path, &info) == 0 || info.dli_fname == NULL)
	{
		path[0] = '\0';
		return;
	}
	/* absolute, or PostgreSQL would resolve it against the data directory */
	if (realpath(info.dli_fname, root) == NULL)
		strlcpy(root, info.dli_fname, sizeof(root));
	get_parent_directory(root); /* <root>/lib */
	get_parent_directory(root); /* <root> */
	snprintf(path, MAXPGPATH, "%s/bin/%s", root, program);
}

/*
 * The process's surroundings: share/ and lib/ derive from where this library
 * lives, the C locale, and the data directory, which relative paths are
 * resolved against (the host's working directory stays where it is).
 */
void
engine_process_environment(pgembed_engine *e)
{
	engine_installation_path("postgres", my_exec_path);
	if (pg_perm_setlocale(LC_COLLATE, "C") == NULL ||
		pg_perm_setlocale(LC_CTYPE, "C") == NULL ||
		pg_perm_setlocale(LC_MESSAGES, "C") == NULL ||
		pg_perm_setlocale(LC_MONETARY, "C") == NULL ||
		pg_perm_setlocale(LC_NUMERIC, "C") == NULL ||
		pg_perm_setlocale(LC_TIME, "C") == NULL)
		elog(FATAL, "could not adopt the C locale");

	strlcpy(engine_datadir_abs, e->datadir, sizeof(engine_datadir_abs));
	engine_datadir_fd = openat(AT_FDCWD, engine_datadir_abs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (engine_datadir_fd < 0)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not open data directory \"%s\": %m", engine_datadir_abs)));
}

PGEMBED_EXPORT void pgembed__engine_main(pgembed_engine *e);

void
pgembed__engine_main(pgembed_engine *e)
{
	ClientSocket client;
	struct sockaddr_un *un;

	engine_process_begin(e);

	/* errors are protocol messages from here on */
	FrontendProtocol = PG_PROTOCOL(3, 0);
	whereToSendOutput = DestRemote;
	PqCommMethods = &engine_comm_methods;
	engine_process_environment(e);

	InitStandaloneProcess(my_exec_path);

	/*
	 * The engine serves clients (the API, JDBC) over the protocol, as a
	 * client backend does; a "standalone backend" may not LISTEN.  The checks
	 * that differ for a client backend are connection limits, which a
	 * superuser skips.
	 */
	MyBackendType = B_BACKEND;
	InitializeGUCOptions();
	for (int i = 0; i < (int) lengthof(engine_defaults); i++)
		apply_setting(engine_defaults[i]);
	for (int i = 0; i < e->nsettings; i++)
		apply_setting(e->settings[i]);

	if (!SelectConfigFiles(engine_datadir_abs, progname))
		ereport(FATAL,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not read the configuration of \"%s\"", engine_datadir_abs)));
	checkDataDir();
	engine_relcache_starting();
	/* no ChangeToDataDir(): the host's working directory stays where it is */
	CreateDataDirLockFile(false);
	LocalProcessControlFile(false);
	process_shared_preload_libraries();
	InitializeMaxBackends();
	InitPostmasterChildSlots();
	InitializeFastPathLocks();
	process_shmem_requests();
	InitializeShmemGUCs();
	InitializeWalConsistencyChecking();
	CreateSharedMemoryAndSemaphores();
	set_max_safe_fds_from_rlimit();
	PgStartTime = GetCurrentTimestamp();
	InitProcess();

	/*
	 * pq_init() watches for postmaster death; there is no postmaster, so give
	 * it a pipe whose write end stays open for the engine's whole life.
	 */
	if (pipe(postmaster_alive_fds) != 0)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not create pipe: %m")));

	memset(&client, 0, sizeof(client));
	client.sock = e->port_fd;
	un = (struct sockaddr_un *) &client.raddr.addr;
	un->sun_family = AF_UNIX;
	client.raddr.salen = sizeof(struct sockaddr_un);
	MyProcPort = pq_init(&client);
	MyProcPort->proto = PG_PROTOCOL(3, 0);
	MyProcPort->database_name = pstrdup(e->dbname);
	MyProcPort->user_name = pstrdup(e->session_role ? e->session_role : "postgres");
	MyProcPort->remote_host = pstrdup("[local]");
	MyProcPort->remote_port = pstrdup("");
	PqCommMethods = &engine_comm_methods;

	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = embed_process_utility;

	/* a new cluster's postgres has its files; the template databases may not */
	if (strcmp(e->dbname, "postgres") != 0)
		engine_templates_ensure();

	PostgresMain(e->dbname, MyProcPort->user_name);
}

/* ---------------------------------------------------------------------
 * Calls from the front into a running or ended engine
 * ---------------------------------------------------------------------
 */
/* Any thread: what the SIGINT handler of a backend does. */
PGEMBED_EXPORT void pgembed__engine_cancel(pgembed_engine *e);
void
pgembed__engine_cancel(pgembed_engine *e)
{
	if (engine_self != e || e->state == ENGINE_DEAD)
		return;
	if (!proc_exit_inprogress)
	{
		InterruptPending = true;
		QueryCancelPending = true;
	}
	if (MyLatch != NULL)
		SetLatch(MyLatch);
}

/* On the thread running the engine (signal handler context): the timer fired. */
PGEMBED_EXPORT void pgembed__engine_alarm(pgembed_engine *e);
void
pgembed__engine_alarm(pgembed_engine *e)
{
	if (engine_self != e || e->state == ENGINE_DEAD)
		return;
	engine_deliver_signal(SIGALRM);
}

/* After the engine died: close what it left open.  Front stack, any thread. */
PGEMBED_EXPORT void pgembed__engine_cleanup(pgembed_engine *e);
void
pgembed__engine_cleanup(pgembed_engine *e)
{
	if (engine_self != e)
		return;
	engine_release_resources();
	engine_self = NULL;
}
