/*
 * pgembedded.h
 *	  PostgreSQL as an in-process library: the C API of libpgembed.so.
 *
 * Every engine is an independent PostgreSQL backend living inside the calling
 * process: no server, no fork.  Several engines may be open at once (one per
 * data directory); each runs on whichever thread calls it, one call at a time.
 *
 * Conventions:
 *	- Functions returning a pgembed_result never return NULL except when memory
 *	  is exhausted; check pgembed_result_status() and free the result with
 *	  pgembed_result_free().  Results are independent of the engine: they may be
 *	  read and freed from any thread, also after the engine was closed.
 *	- Values are read in place: pointers returned by accessors point into the
 *	  result's own memory and stay valid until the result is freed.
 *	- Text values are NUL-terminated; binary values carry their length.
 */
#ifndef PGEMBEDDED_H
#define PGEMBEDDED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

#define PGEMBED_API_VERSION 1

/* An open PostgreSQL instance (one backend session on one data directory). */
typedef struct pgembed_engine pgembed_engine;

/* The outcome of one call: rows, command tag, error and notices. */
typedef struct pgembed_result pgembed_result;

/* An error or notice as PostgreSQL reports it (severity, SQLSTATE, ...). */
typedef struct pgembed_error pgembed_error;

/* One value of a result, laid out for direct reads (16 bytes). */
typedef struct pgembed_cell
{
	const char *value;			/* NULL for SQL NULL */
	int32_t		length;			/* -1 for SQL NULL */
	int32_t		format;			/* 0 text (NUL-terminated), 1 binary (network
								 * order) */
} pgembed_cell;

/* A column of a result, laid out for direct reads (pgembed_result_header). */
typedef struct pgembed_field
{
	const char *name;
	uint32_t	type;			/* type OID */
	int32_t		typmod;
	int32_t		format;			/* 0 text, 1 binary */
} pgembed_field;

/*
 * A notification (NOTIFY, pg_notify) of a channel the session listens on, as
 * NotificationResponse reports it; its strings live as long as the result.
 */
typedef struct pgembed_notification
{
	const char *channel;
	const char *payload;		/* "" when NOTIFY gave none */
	int32_t		pid;			/* the notifying backend's process id */
} pgembed_notification;

/* Result status */
typedef enum pgembed_status
{
	PGEMBED_COMMAND_OK = 0,		/* a command that returns no rows succeeded */
	PGEMBED_TUPLES_OK = 1,		/* a query succeeded; rows are in the result */
	PGEMBED_EMPTY_QUERY = 2,	/* the SQL text held no statement */
	PGEMBED_COPY_IN = 3,		/* COPY FROM STDIN started: send data with
								 * pgembed_copy_put */
	PGEMBED_COPY_OUT = 4,		/* COPY TO STDOUT started: read data with
								 * pgembed_copy_get */
	PGEMBED_SUSPENDED = 5,		/* a cursor delivered rows and has more */
	PGEMBED_ERROR = 6,			/* the statement failed; the engine is usable */
	PGEMBED_FATAL = 7,			/* the engine ended (FATAL, PANIC or closed);
								 * reopen it */
	PGEMBED_MISUSE = 8			/* the call itself was invalid (bad argument,
								 * wrong state) */
} pgembed_status;

/* Transaction status, as in ReadyForQuery */
#define PGEMBED_TX_IDLE		'I'
#define PGEMBED_TX_INBLOCK	'T'
#define PGEMBED_TX_FAILED	'E'
#define PGEMBED_TX_CLOSED	'X'

/* Error fields (the protocol's field codes, as libpq's PG_DIAG_*) */
#define PGEMBED_DIAG_SEVERITY			'V'
#define PGEMBED_DIAG_SQLSTATE			'C'
#define PGEMBED_DIAG_MESSAGE_PRIMARY	'M'
#define PGEMBED_DIAG_MESSAGE_DETAIL		'D'
#define PGEMBED_DIAG_MESSAGE_HINT		'H'
#define PGEMBED_DIAG_STATEMENT_POSITION 'P'
#define PGEMBED_DIAG_INTERNAL_POSITION	'p'
#define PGEMBED_DIAG_INTERNAL_QUERY		'q'
#define PGEMBED_DIAG_CONTEXT			'W'
#define PGEMBED_DIAG_SCHEMA_NAME		's'
#define PGEMBED_DIAG_TABLE_NAME			't'
#define PGEMBED_DIAG_COLUMN_NAME		'c'
#define PGEMBED_DIAG_DATATYPE_NAME		'd'
#define PGEMBED_DIAG_CONSTRAINT_NAME	'n'
#define PGEMBED_DIAG_SOURCE_FILE		'F'
#define PGEMBED_DIAG_SOURCE_LINE		'L'
#define PGEMBED_DIAG_SOURCE_FUNCTION	'R'

/*
 * Result formats.  AUTO: binary for bool, int2/4/8, float4/8, oid and the
 * types named by pgembed_set_binary_types; text for the others.
 */
#define PGEMBED_FORMAT_TEXT		0
#define PGEMBED_FORMAT_BINARY	1
#define PGEMBED_FORMAT_AUTO		(-1)

/*
 * Log callback: server log lines (checkpoints, warnings ...).  elevel is one of
 * the PGEMBED_LOG_* levels below.
 */
typedef void (*pgembed_log_fn) (void *context, int elevel, const char *line);

/*
 * Log levels: PostgreSQL's own (elog.h's numbers, checked against it when the
 * library is built).  A callback receives the lines log_min_messages lets into
 * the server log (WARNING and above by default, and LOG); the statement's own
 * messages also reach its caller, as the result's error or notices.  Mind that
 * the server log ranks LOG above ERROR although its number is smaller: compare
 * with == for it, not with >=.
 */
#define PGEMBED_LOG_DEBUG5		10
#define PGEMBED_LOG_DEBUG4		11
#define PGEMBED_LOG_DEBUG3		12
#define PGEMBED_LOG_DEBUG2		13
#define PGEMBED_LOG_DEBUG1		14
#define PGEMBED_LOG_LOG			15	/* operational: checkpoints, start-up */
#define PGEMBED_LOG_LOG_SERVER_ONLY 16	/* as LOG, never sent to a client */
#define PGEMBED_LOG_INFO		17
#define PGEMBED_LOG_NOTICE		18
#define PGEMBED_LOG_WARNING		19
#define PGEMBED_LOG_ERROR		21	/* the statement or task failed */
#define PGEMBED_LOG_FATAL		22	/* the engine (or a cluster's process)
									 * ended */
#define PGEMBED_LOG_PANIC		23	/* the engine ended; the cluster needs
									 * crash recovery */

/* ---- library ---- */

/* The PostgreSQL version compiled in, e.g. "18.6". */
const char *pgembed_pg_version(void);

/* The root of the installation this library belongs to (bin/, lib/, share/). */
const char *pgembed_install_root(void);

/* ---- clusters and engines ---- */

/*
 * Creates a cluster in datadir from the bundled template.  datadir must be
 * absent, an empty directory, or what a creation killed midway left (it holds
 * pgembed.creating and no PG_VERSION yet; it is wiped and redone).  PG_VERSION
 * is written last, so a cluster is complete once pgembed_is_cluster says so.
 * The copy is on disk when the call returns (safe against a power loss).
 * Returns 0, or -1 with *error set (free it with pgembed_error_free).
 */
int			pgembed_create_cluster(const char *datadir, pgembed_error **error);

/* How pgembed_create_cluster_flush brings a new cluster to disk */
#define PGEMBED_FLUSH_NOW	0	/* before the call returns (one syncfs):
								 * survives a power loss */
#define PGEMBED_FLUSH_SOON	1	/* by a thread of its own, right after the
								 * call returns */
#define PGEMBED_FLUSH_NEVER	2	/* left to the kernel: for clusters with
								 * fsync=off */

/*
 * Like pgembed_create_cluster (which is PGEMBED_FLUSH_NOW), with the flush
 * chosen.  PGEMBED_FLUSH_SOON returns without waiting for the disk: a power
 * loss in the few milliseconds until the flush is done can leave the new
 * cluster damaged (create it again); a pgembed.unflushed file stands in it
 * until then, and an open in another process flushes it first.
 * PGEMBED_FLUSH_NEVER leaves the copy to the kernel, as fsync=off does with
 * everything else.
 */
int			pgembed_create_cluster_flush(const char *datadir, int flush, pgembed_error **error);

/* 1 if datadir holds a PostgreSQL cluster (PG_VERSION present), else 0. */
int			pgembed_is_cluster(const char *datadir);

/*
 * Opens the cluster in datadir and connects to dbname (NULL: "postgres").
 * settings: nsettings strings "name=value", applied like command-line options
 * (shared_buffers, synchronous_commit, fsync, TimeZone, ...).
 * Returns NULL with *error set when the engine could not start.
 */
pgembed_engine *pgembed_open(const char *datadir, const char *dbname,
							 int nsettings, const char *const *settings,
							 pgembed_error **error);

/*
 * Like pgembed_open, with the session belonging to role instead of the
 * bootstrap superuser (role NULL: pgembed_open).  For SQL that must not act as
 * the operating-system user: read or write server files, run programs (COPY
 * ... PROGRAM), load libraries, change server settings.  role must exist, may
 * log in, may connect to the database, and must not be a superuser (create it
 * in a session opened without a role); it is the session's authenticated user,
 * so neither SET ROLE nor SET SESSION AUTHORIZATION nor RESET can reach a
 * superuser from it.  pgembed's own maintenance still runs as the superuser.
 */
pgembed_engine *pgembed_open_as(const char *datadir, const char *dbname, const char *role,
								int nsettings, const char *const *settings,
								pgembed_error **error);

/*
 * Ends the session: shutdown checkpoint, lock file removed, resources released.
 * Safe on an engine that already ended.  Frees the engine.  Returns 0, or -1 with
 * *error set (error may be NULL) when the shutdown reported an error.
 */
int			pgembed_close(pgembed_engine *engine, pgembed_error **error);

/*
 * Self-maintenance.  A single-user backend has no checkpointer, WAL writer or
 * autovacuum; pgembed does their work itself, at idle points: after a call when
 * it is due, or from its timer thread while the engine sits idle.  It flushes
 * asynchronously committed WAL every wal_writer_delay, checkpoints by WAL volume
 * (max_wal_size) and by time (checkpoint_timeout), and every autovacuum_naptime
 * runs VACUUM and ANALYZE on the tables that autovacuum's thresholds select
 * (including anti-wraparound freezing).  The standard settings apply:
 * autovacuum=off (or a table's autovacuum_enabled=false) turns vacuuming off.
 * On by default.
 */
void		pgembed_set_auto_maintenance(pgembed_engine *engine, int enabled);

/* Runs a maintenance pass now (whatever is due); 0, or -1 when the engine is busy or ended. */
int			pgembed_maintain(pgembed_engine *engine);

/*
 * Types that PGEMBED_FORMAT_AUTO also fetches in binary, besides the built-in ones: an
 * extension's types, whose OIDs the caller looked up (pgembed's Java API passes pgvector's
 * vector, halfvec and sparsevec). Replaces the previous list; count 0 empties it. 0, or -1
 * for bad arguments or when out of memory.
 */
int			pgembed_set_binary_types(pgembed_engine *engine, int count, const uint32_t *types);

/* Interrupts the statement running on engine (from any thread); it fails with 57014. */
void		pgembed_cancel(pgembed_engine *engine);

/* PGEMBED_TX_IDLE, _INBLOCK, _FAILED, or _CLOSED when the engine ended. */
char		pgembed_transaction_status(pgembed_engine *engine);

/* Server log lines of this engine go to fn (NULL: the default callback, else standard error). */
void		pgembed_set_log_callback(pgembed_engine *engine, pgembed_log_fn fn, void *context);

/*
 * The callback for engines that have none of their own, including their start-up
 * (before pgembed_open returns).  NULL: standard error.
 */
void		pgembed_set_default_log_callback(pgembed_log_fn fn, void *context);

/* ---- several backends at once: a cluster with a real postmaster ---- */

/* A cluster served by PostgreSQL's own postmaster, inside this process. */
typedef struct pgembed_cluster pgembed_cluster;

/*
 * Starts PostgreSQL's postmaster for the cluster in datadir on a thread of its
 * own, with its checkpointer and start-up process, and returns once it accepts
 * connections (after crash recovery, if the cluster needs it).  settings:
 * "name=value" as for pgembed_open, given to the postmaster.  Each process of
 * the cluster takes a link-map namespace of the process's budget (see
 * pgembed_open): the postmaster and the checkpointer two, each backend one,
 * and start-up one more while it runs.  The directory is the cluster's alone:
 * pgembed_open of it is refused meanwhile.
 * Returns NULL with *error set when the cluster could not start.
 */
pgembed_cluster *pgembed_cluster_open(const char *datadir, int nsettings, const char *const *settings,
									  pgembed_error **error);

/*
 * A new backend of the cluster: an engine that runs PostgreSQL's client
 * backend, concurrently with the cluster's other backends, with a server's
 * isolation, locks and process identity (pgembed_backend_pid is its virtual
 * pid, as pg_stat_activity shows it).  It runs on the threads that call the
 * API on it, one call at a time, as an engine of pgembed_open does, and every
 * statement call applies; pgembed_close ends it.  dbname NULL: "postgres";
 * user NULL: "postgres".  settings: "name=value" session settings, sent in the
 * start-up packet.  Returns NULL with *error set: 53300 when no namespace is
 * left for another backend.
 */
pgembed_engine *pgembed_connect(pgembed_cluster *cluster, const char *dbname, const char *user,
								int nsettings, const char *const *settings, pgembed_error **error);

/*
 * Shuts the cluster down (a fast shutdown: backends still connected are
 * terminated, the checkpointer writes the shutdown checkpoint) and frees it.
 * Engines of its backends stay valid until pgembed_close, and report 57P01.
 * Returns 0, or -1 with *error set (error may be NULL) when the postmaster
 * did not end cleanly.
 */
int			pgembed_cluster_close(pgembed_cluster *cluster, pgembed_error **error);

/* How pgembed_cluster_stop shuts a cluster down, as pg_ctl stop -m names them. */
typedef enum
{
	PGEMBED_STOP_FAST = 0,		/* pgembed_cluster_close: terminate backends,
								 * write the shutdown checkpoint */
	PGEMBED_STOP_IMMEDIATE = 1	/* every process quits at once, no checkpoint:
								 * the next open runs crash recovery */
} pgembed_stop_mode;

/*
 * Shuts the cluster down in mode and frees it, as pgembed_cluster_close does
 * (which is pgembed_cluster_stop with PGEMBED_STOP_FAST).  An immediate stop
 * leaves the directory as a crash would, with everything committed in its WAL.
 */
int			pgembed_cluster_stop(pgembed_cluster *cluster, pgembed_stop_mode mode, pgembed_error **error);

/*
 * Server log lines of the cluster's processes (NULL: the default callback);
 * backends connected afterwards log here too.  Lines of the postmaster and its
 * background processes are delivered on a thread of the cluster's.
 */
void		pgembed_cluster_set_log_callback(pgembed_cluster *cluster, pgembed_log_fn fn, void *context);

/* ---- statements ---- */

/* Runs SQL text (several statements allowed); the result describes the last one. */
pgembed_result *pgembed_exec(pgembed_engine *engine, const char *sql);

/*
 * Runs one statement with parameters $1..$n.  types: OIDs (0 = infer; may be NULL).
 * values[i] == NULL is SQL NULL; lengths/formats may be NULL (text values).
 */
pgembed_result *pgembed_exec_params(pgembed_engine *engine, const char *sql,
									int nparams, const uint32_t *types,
									const char *const *values, const int32_t *lengths,
									const int32_t *formats, int result_format);

/* Prepares a named statement that lives until deallocated (across transactions). */
pgembed_result *pgembed_prepare(pgembed_engine *engine, const char *name, const char *sql,
								int nparams, const uint32_t *types);

/* Describes a prepared statement: its parameter types and result columns. */
pgembed_result *pgembed_describe_prepared(pgembed_engine *engine, const char *name);

/* Executes a prepared statement. */
pgembed_result *pgembed_exec_prepared(pgembed_engine *engine, const char *name,
									  int nparams, const char *const *values,
									  const int32_t *lengths, const int32_t *formats,
									  int result_format);

/*
 * Executes a prepared statement once per parameter set (nsets x nparams values,
 * row-major), in one call and one implicit transaction (or the open one).  The
 * result carries the total rows affected; on error nothing of the batch remains
 * unless an explicit transaction was open.  A COPY FROM STDIN or TO STDOUT
 * statement is stopped before it reads or writes data: 0A000.
 */
pgembed_result *pgembed_exec_prepared_batch(pgembed_engine *engine, const char *name,
											int nsets, int nparams,
											const char *const *values, const int32_t *lengths,
											const int32_t *formats);

/* Deallocates a prepared statement. */
pgembed_result *pgembed_deallocate(pgembed_engine *engine, const char *name);

/*
 * Cursor: runs a statement and returns at most fetch_rows rows; status
 * PGEMBED_SUSPENDED means more rows follow (pgembed_cursor_fetch), TUPLES_OK means
 * done.  While a cursor is open the engine serves only that cursor's calls (from
 * any thread: the caller decides who owns it).  A COPY statement returns
 * PGEMBED_COPY_IN or _OUT, as from pgembed_exec.
 */
pgembed_result *pgembed_cursor_open(pgembed_engine *engine, const char *sql,
									int nparams, const uint32_t *types,
									const char *const *values, const int32_t *lengths,
									const int32_t *formats, int result_format,
									int64_t fetch_rows);
pgembed_result *pgembed_cursor_fetch(pgembed_engine *engine, int64_t fetch_rows);
pgembed_result *pgembed_cursor_close(pgembed_engine *engine);

/* ---- COPY ---- */

/* After PGEMBED_COPY_IN: sends a chunk of data (any split).  0 or -1 (error: end the copy to see it). */
int			pgembed_copy_put(pgembed_engine *engine, const char *data, size_t length);

/*
 * Ends the COPY in progress and returns its final result; the engine is then
 * idle, whichever call started the COPY.  errmsg != NULL aborts it: COPY FROM
 * STDIN fails with "COPY from stdin failed: <errmsg>" (57014); COPY TO STDOUT
 * whose data is not complete yet stops where it stands with "COPY to stdout
 * failed: <errmsg>" (57014), one whose data was all produced has ended and is
 * not undone.  An aborted COPY fails its transaction as any error does.
 */
pgembed_result *pgembed_copy_end(pgembed_engine *engine, const char *errmsg);

/*
 * After PGEMBED_COPY_OUT: returns the length of the next chunk and points *data
 * at it (valid until the next call), 0 when the data is complete, -1 on error.
 * Then pgembed_copy_end(engine, NULL) returns the COPY's final result.  A COPY
 * TO STDOUT pauses at its start, before it produces anything.
 */
int64_t		pgembed_copy_get(pgembed_engine *engine, const char **data);

/* ---- the protocol itself ---- */

/*
 * For clients that speak the frontend/backend protocol themselves (a JDBC driver):
 * sends complete protocol messages (the start-up exchange excepted, which the
 * engine has already done) and returns, through *out and *out_len, every byte the
 * backend wrote until it waited for input again.  The output stays valid until the
 * next call on this engine.  Returns 0 when the backend waits for input, 1 when it
 * paused with more output to come (call again with no input to continue), -1 when
 * the engine ended (the output holds its last messages).  A backend of a cluster
 * (pgembed_connect) also pauses right after each notice it sends (NoticeResponse:
 * NOTICE, WARNING, INFO, ...), as a server flushes a notice to its client when it
 * is raised: the client reads it while the statement goes on or waits for a lock.
 * The input the backend has not read yet is kept for the calls that continue.
 * While a protocol client leaves the backend anywhere but idle outside a
 * transaction (after ReadyForQuery 'I'), the other calls of this API are refused.
 */
int			pgembed_protocol_exchange(pgembed_engine *engine, const char *in, size_t in_length,
									  const char **out, size_t *out_length);

/*
 * A backend of a cluster (pgembed_connect) may write while no call runs on it:
 * a notification of a channel it listens on (NotificationResponse), or its
 * FATAL when it was terminated.  This waits until such output is there, at
 * most timeout_ms milliseconds (0: do not wait; -1: no limit).  Returns 1 when
 * output waits for the next call (pgembed_protocol_exchange with no input
 * returns it), 0 when none came in time, -1 when the engine ended with nothing
 * more to say.  Not concurrently with pgembed_close of the same engine.
 */
int			pgembed_wait_output(pgembed_engine *engine, int timeout_ms);

/* The backend's process id and cancel key, as BackendKeyData would report them. */
int32_t		pgembed_backend_pid(pgembed_engine *engine);

/* ---- results ---- */

pgembed_status pgembed_result_status(const pgembed_result *result);

/* The error, or NULL when the call succeeded. */
const pgembed_error *pgembed_result_error(const pgembed_result *result);

/* Command tag of the (last) statement, e.g. "INSERT 0 3". */
const char *pgembed_result_command_tag(const pgembed_result *result);

/* Rows affected (INSERT/UPDATE/DELETE/MERGE/COPY/...) or returned (SELECT); -1 if none. */
int64_t		pgembed_result_rows_affected(const pgembed_result *result);

/*
 * pgembed_exec_prepared_batch's error: the index of the parameter set whose
 * execution failed (the sets before it ran, and were undone with it); -1 when
 * none did (no error, or not a batch).
 */
int64_t		pgembed_result_failed_set(const pgembed_result *result);

/* Transaction status after the call (PGEMBED_TX_*). */
char		pgembed_result_transaction_status(const pgembed_result *result);

int64_t		pgembed_result_ntuples(const pgembed_result *result);
int			pgembed_result_nfields(const pgembed_result *result);
const char *pgembed_result_field_name(const pgembed_result *result, int column);

/* Column index for name, or -1. */
int			pgembed_result_field_index(const pgembed_result *result, const char *name);
uint32_t	pgembed_result_field_type(const pgembed_result *result, int column);
int32_t		pgembed_result_field_typmod(const pgembed_result *result, int column);
int			pgembed_result_field_format(const pgembed_result *result, int column);

/* Parameter types of a described statement. */
int			pgembed_result_nparams(const pgembed_result *result);
uint32_t	pgembed_result_param_type(const pgembed_result *result, int index);

/*
 * What the accessors above return one call each, in one call: for callers
 * to whom a call costs more than reading memory (a JVM's downcalls).  The
 * pointers are valid until the result is freed.
 */
typedef struct pgembed_result_header
{
	int32_t		status;			/* pgembed_status */
	int32_t		tx_status;		/* PGEMBED_TX_* */
	int32_t		nfields;
	int32_t		nnotices;
	int64_t		ntuples;
	int64_t		rows_affected;
	int64_t		failed_set;
	const char *command_tag;
	const pgembed_field *fields;	/* nfields of them */
	const pgembed_cell *cells;	/* ntuples x nfields */
	const pgembed_error *error; /* NULL when the call succeeded */
	int32_t		nnotifications;
} pgembed_result_header;

/* Fills *header with result's; 0, or -1 when either is NULL. */
int			pgembed_result_header_of(const pgembed_result *result, pgembed_result_header *header);

/* ntuples x nfields cells, row-major; valid until the result is freed. */
const pgembed_cell *pgembed_result_cells(const pgembed_result *result);
int			pgembed_result_is_null(const pgembed_result *result, int64_t row, int column);
const char *pgembed_result_value(const pgembed_result *result, int64_t row, int column);
int32_t		pgembed_result_length(const pgembed_result *result, int64_t row, int column);

/*
 * Typed reads, from the binary form when the column is binary and from the text
 * form otherwise.  Return 0 on success, 1 for SQL NULL, -1 when the value does
 * not convert (wrong type or out of range).
 */
int			pgembed_result_get_bool(const pgembed_result *result, int64_t row, int column, int *out);
int			pgembed_result_get_int32(const pgembed_result *result, int64_t row, int column, int32_t *out);
int			pgembed_result_get_int64(const pgembed_result *result, int64_t row, int column, int64_t *out);
int			pgembed_result_get_double(const pgembed_result *result, int64_t row, int column, double *out);

/* NOTICE/WARNING/INFO messages the statement raised, in order. */
int			pgembed_result_notice_count(const pgembed_result *result);
const pgembed_error *pgembed_result_notice(const pgembed_result *result, int index);

/*
 * Notifications that reached the session during the call (PostgreSQL sends
 * them before ReadyForQuery: the session's own NOTIFY of a channel it listens
 * on, those of other sessions committed meanwhile), in order.
 */
int			pgembed_result_notification_count(const pgembed_result *result);
const pgembed_notification *pgembed_result_notification(const pgembed_result *result, int index);

void		pgembed_result_free(pgembed_result *result);

/* ---- errors ---- */

/* A field of the error (PGEMBED_DIAG_*), or NULL when PostgreSQL did not set it. */
const char *pgembed_error_field(const pgembed_error *error, char code);

/* Shorthands, never NULL. */
const char *pgembed_error_sqlstate(const pgembed_error *error);
const char *pgembed_error_severity(const pgembed_error *error);
const char *pgembed_error_message(const pgembed_error *error);

/* Frees an error returned through an out-parameter (not one owned by a result). */
void		pgembed_error_free(pgembed_error *error);

#ifdef __cplusplus
}
#endif

#endif							/* PGEMBEDDED_H */
