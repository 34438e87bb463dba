/*-------------------------------------------------------------------------
 *
 * pgembed_front.h
 *	  What the files of the front share: results and errors, the slot table,
 *	  the framing of the backend's messages, and the routines one file
 *	  offers the others.
 *
 * The copy of the library the host loads is the "front": it never runs
 * PostgreSQL code itself.  pgembed_open() loads a private copy of the same
 * library into a new link-map namespace (dlmopen), so that every engine has
 * its own PostgreSQL globals, its own C library state (locale, environment)
 * and its own loaded modules, and runs PostgreSQL's backend on a stack of its
 * own (see pgembed_engine.c).  Calls speak the frontend/backend protocol to
 * that backend through memory; results are the backend's own messages, indexed
 * in place.
 *
 * The front's files, each using only those above it:
 *	front_accessors.c	reading results and errors (pgembed_result_*, ...)
 *	front_result.c		making results and errors, from messages or not
 *	front_wire.c		building the messages of a request
 *	front_slots.c		the slot table, namespaces, the library's own file
 *	front_coroutine.c	a coroutine's first frame, as pgembed_switch.S restores
 *	front_engine.c		running an engine: its stack, an exchange, its end
 *	front_maintenance.c	the timer thread and self-maintenance
 *	front_call.c		entering and leaving an API call
 *	front_statements.c	statements run once, cursors
 *	front_prepared.c	prepared statements: kept formats, direct path, batches
 *	front_copy.c		COPY FROM STDIN and TO STDOUT
 *	front_protocol.c	a client's own protocol messages (JDBC, serve mode)
 *	front_protocol_batch.c	a client's batch of one INSERT or keyed UPDATE, on the direct path
 *	front_cluster.c		creating a cluster from the template
 *	front_open.c		opening and closing; cancel, transaction status
 *	front_processes.c	a cluster's processes: their table, signals, service
 *	front_children.c	starting and ending them for the postmaster
 *	front_workers.c		namespaces reserved for parallel workers
 *	front_multi.c		clusters with a real postmaster: open, connect, close
 *
 * This header is private to the front, as libpq-int.h is to libpq.  The
 * library is linked with default visibility next to all of PostgreSQL's
 * globals, so every routine and variable declared here carries a front_
 * prefix and PGEMBED_HIDDEN: it is shared by the front's files and seen by
 * nobody else.  Include it first, as a backend file includes postgres.h.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/pgembed_front.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGEMBED_FRONT_H
#define PGEMBED_FRONT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "pgembed_internal.h"

#define MAX_ENGINES 15			/* glibc allows 16 link-map namespaces, one is
								 * the host's */
#define FRONT_ENGINE_STACK_SIZE (16u << 20) /* each engine's own stack */

/* in the real-time signal's value (slot << 16 | generation): a poke, not the timer */
#define FRONT_POKE_BIT (1 << 30)

/* what an engine is in the middle of, between API calls (pgembed_engine.mode) */
enum
{
	FRONT_MODE_IDLE,
	FRONT_MODE_COPY_IN,
	FRONT_MODE_COPY_OUT,
	FRONT_MODE_CURSOR,
	FRONT_MODE_PROTOCOL
};

/* how the request that a result answers ended (front_set_mode_after) */
enum
{
	FRONT_ENDED_QUERY,			/* a simple Query message */
	FRONT_ENDED_SYNC,			/* extended query messages, then Sync */
	FRONT_ENDED_FLUSH			/* extended query messages, then Flush */
};

/* ------------------------------------------------------------------------
 * Errors and results
 * ------------------------------------------------------------------------
 */
#define MAX_ERROR_FIELDS 24

struct pgembed_error
{
	int			nfields;
	char		codes[MAX_ERROR_FIELDS];
	const char *values[MAX_ERROR_FIELDS];
	char	   *owned;			/* set when the error owns its strings */
};

/* a result's column: the public layout, which pgembed_result_header points at */
typedef pgembed_field field_desc;

struct pgembed_result
{
	pgembed_status status;
	char		tx_status;
	char	   *buf;			/* the backend's messages; cells point into it */
	size_t		buflen;
	const char *command_tag;
	int64_t		rows_affected;
	int			nfields;
	field_desc *fields;
	int			nparams;
	uint32_t   *param_types;
	int64_t		ntuples;
	pgembed_cell *cells;
	pgembed_error error;
	bool		has_error;
	bool		saw_ready;		/* a ReadyForQuery set tx_status */
	int64_t		failed_set;		/* a batch's set that failed, or -1 */
	int			nnotices;
	pgembed_error *notices;
	int			nnotifications;
	pgembed_notification *notifications;
};

static inline uint32_t
rd32(const char *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static inline uint16_t
rd16(const char *p)
{
	uint16_t	v;

	memcpy(&v, p, 2);
	return ntohs(v);
}

/* messages in a buffer: [type][int32 len][payload][NUL] */
#define MSG_TYPE(p) ((p)[0])
#define MSG_PAYLOAD(p) ((p) + 5)
#define MSG_PAYLOAD_LEN(p) ((size_t) rd32((p) + 1) - 4)
#define MSG_NEXT(p) ((p) + 6 + MSG_PAYLOAD_LEN(p))

/* ------------------------------------------------------------------------
 * Slots
 * ------------------------------------------------------------------------
 */
/*
 * A slot is a link-map namespace.  Its C library stays loaded between engines
 * (pinned), so that the next engine of the slot reuses its heap: an unloaded
 * namespace would leave its C library's arenas mapped for ever.
 */
typedef struct
{
	pgembed_engine *engine;
	uint32_t	generation;
	bool		has_namespace;
	Lmid_t		lmid;
	void	   *libc_pin;
	uint32_t	ns_generation;	/* changes whenever the slot gets a new
								 * namespace */
	void		(*ctype_init) (void);	/* the namespace libc's __ctype_init */
} engine_slot;

/* the clock of timers and maintenance: CLOCK_MONOTONIC, in nanoseconds */
static inline int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* a statement's output the engine hands out at a time (out_yield_at): COPY TO STDOUT's chunk */
#define COPY_OUT_CHUNK (256u << 10)

/*
 * The protocol counts a statement's parameters in 16 bits (Parse, Bind): a
 * larger count would wrap and reach the backend as a malformed message.
 */
#define MAX_PARAMS 65535

/* present while a cluster is being created: its remains may be wiped and redone */
#define CREATING_MARKER "pgembed.creating"

/* ------------------------------------------------------------------------
 * Routines and variables shared between the front's files, by file, in the
 * order of the list above.
 * ------------------------------------------------------------------------
 */

/* front_protocol_batch.c */
extern PGEMBED_HIDDEN bool front_protocol_batch(pgembed_engine *e, const char *in, size_t len);

/* front_cluster.c */
extern PGEMBED_HIDDEN int front_flush_if_unflushed(const char *datadir);

/* front_result.c: results and errors made from messages or by the front */
extern PGEMBED_HIDDEN pgembed_error *front_make_error(const char *sqlstate, const char *severity,
													  const char *fmt,...) __attribute__((format(printf, 3, 4)));
extern PGEMBED_HIDDEN pgembed_error *front_copy_error(const pgembed_error *src);
extern PGEMBED_HIDDEN pgembed_result *front_result_error(pgembed_status status, const char *sqlstate,
														 const char *fmt,...) __attribute__((format(printf, 3, 4)));
extern PGEMBED_HIDDEN pgembed_result *front_oom(void);
extern PGEMBED_HIDDEN pgembed_result *front_result_from_messages(char *buf, size_t len, bool batch);

/* front_wire.c: request messages, built in the engine's scratch buffer */
extern PGEMBED_HIDDEN bool front_msg_begin(pgembed_engine *e, char type, size_t *start);
extern PGEMBED_HIDDEN bool front_msg_str(pgembed_engine *e, const char *s);
extern PGEMBED_HIDDEN void front_msg_end(pgembed_engine *e, size_t start);
extern PGEMBED_HIDDEN bool front_msg_simple(pgembed_engine *e, char type);
extern PGEMBED_HIDDEN bool front_msg_parse(pgembed_engine *e, const char *name, const char *sql,
										   int nparams, const uint32_t *types);
extern PGEMBED_HIDDEN bool front_msg_bind(pgembed_engine *e, const char *portal, const char *stmt, int nparams,
										  const char *const *values, const int32_t *lengths,
										  const int32_t *formats, int result_format, const pgembed_result *desc);
extern PGEMBED_HIDDEN bool front_msg_execute(pgembed_engine *e, const char *portal, int32_t maxrows);
extern PGEMBED_HIDDEN bool front_msg_describe(pgembed_engine *e, char what, const char *name);
extern PGEMBED_HIDDEN bool front_msg_close(pgembed_engine *e, char what, const char *name);
extern PGEMBED_HIDDEN bool front_is_binary_friendly(pgembed_engine *e, uint32_t type);

/* front_slots.c: the slot table, link-map namespaces, the library's own file */
extern PGEMBED_HIDDEN pthread_mutex_t front_registry_lock;
extern PGEMBED_HIDDEN pthread_cond_t front_timer_cond;
extern PGEMBED_HIDDEN engine_slot front_slots[MAX_ENGINES];
extern PGEMBED_HIDDEN __thread uint32_t front_ctype_ready[MAX_ENGINES];
extern PGEMBED_HIDDEN const char *front_self_path(void);
extern PGEMBED_HIDDEN int front_claim_slot(pgembed_engine *e);
extern PGEMBED_HIDDEN void front_free_slot(pgembed_engine *e);
extern PGEMBED_HIDDEN bool front_load_engine_copy(pgembed_engine *e);
extern PGEMBED_HIDDEN const char *front_namespace_limit_message(const char *why);
extern PGEMBED_HIDDEN bool front_namespaces_exhausted(const char *why);
extern PGEMBED_HIDDEN void front_slot_trim_heap(int i);

/* front_carrier.c: host threads beyond a namespace's budget run on a carrier */
extern PGEMBED_HIDDEN __thread bool front_thread_long_lived;
extern PGEMBED_HIDDEN bool front_carrier_needed(pgembed_engine *e);
extern PGEMBED_HIDDEN void front_carrier_run(pgembed_engine *e);
extern PGEMBED_HIDDEN void front_carrier_reset(int i);

/* front_engine.c: running an engine on its own stack, one exchange at a time */
extern PGEMBED_HIDDEN __thread pgembed_engine *front_current_engine;
extern PGEMBED_HIDDEN void front_yield(pgembed_engine *e);
extern PGEMBED_HIDDEN void front_run_engine(pgembed_engine *e);
extern PGEMBED_HIDDEN void front_switch_into(pgembed_engine *e);
extern PGEMBED_HIDDEN void front_run_with_input(pgembed_engine *e, const pgembed_iov *segs, int nsegs);
extern PGEMBED_HIDDEN char *front_take_output(pgembed_engine *e, size_t *len);
extern PGEMBED_HIDDEN void front_frame_output(pgembed_engine *e, bool raw);
extern PGEMBED_HIDDEN pgembed_result *front_exchange(pgembed_engine *e, const char *request, size_t len,
													 bool batch);
extern PGEMBED_HIDDEN void front_engine_release(pgembed_engine *e);
extern PGEMBED_HIDDEN void front_remove_stale_backend_lock(const char *datadir);
extern PGEMBED_HIDDEN void front_log_line(pgembed_log_fn fn, void *context, int elevel, const char *line);
extern PGEMBED_HIDDEN void *front_map_stack(size_t size);
extern PGEMBED_HIDDEN void front_init_coroutine(pgembed_engine *e);

/* front_coroutine.c */
extern PGEMBED_HIDDEN void *front_coroutine_frame(void *stack, size_t size, void (*fn) (void *), void *arg);

/* front_maintenance.c: the timer thread, and the work of a server's background processes */
extern PGEMBED_HIDDEN void front_timer_set(pgembed_engine *e, int64_t deadline_ns);
extern PGEMBED_HIDDEN bool front_ensure_timer_machinery(void);
extern PGEMBED_HIDDEN void front_maintain_if_due(pgembed_engine *e);
extern PGEMBED_HIDDEN void front_maintenance_init(pgembed_engine *e);

/* front_call.c: entering and leaving an API call */
extern PGEMBED_HIDDEN pgembed_result *front_enter(pgembed_engine *e, int allowed_mode);
extern PGEMBED_HIDDEN void front_leave(pgembed_engine *e);
extern PGEMBED_HIDDEN void front_set_mode_after(pgembed_engine *e, pgembed_result *r, int request_ended);

/* front_statements.c: statements run once, and cursors */
extern PGEMBED_HIDDEN pgembed_result *front_too_many_params(int nparams);
extern PGEMBED_HIDDEN pgembed_result *front_finish_with_sync(pgembed_engine *e, pgembed_result *partial);

/* front_prepared.c: prepared statements */
extern PGEMBED_HIDDEN void front_formats_forget_all(pgembed_engine *e);

/* front_open.c: the steps of opening that a cluster's processes share */
extern PGEMBED_HIDDEN pgembed_engine *front_engine_new(void);
extern PGEMBED_HIDDEN bool front_engine_set_target(pgembed_engine *e, const char *datadir, const char *dbname,
												   const char *role, int nsettings, const char *const *settings,
												   pgembed_error **error);
extern PGEMBED_HIDDEN bool front_take_slot(pgembed_engine *e, pgembed_error **error);
extern PGEMBED_HIDDEN bool front_lock_data_directory(pgembed_engine *e, pgembed_error **error);
extern PGEMBED_HIDDEN void front_engine_free(pgembed_engine *e);

/* ------------------------------------------------------------------------
 * Clusters with a real postmaster (front_processes.c, front_children.c,
 * front_multi.c)
 * ------------------------------------------------------------------------
 */
/* virtual pids: above any Linux pid_max (2^22), so never a real process */
#define VPID_BASE		0x40000000
#define VPID_CLUSTER_SHIFT 20
#define MAX_PROCESSES	48		/* a cluster's processes at once, phantoms
								 * included */

#define SIGBIT(sig)		(UINT64_C(1) << (sig))

typedef struct
{
	int32_t		vpid;			/* 0: free */
	pgembed_engine *engine;		/* NULL: a phantom, or a process that ended */
	bool		phantom;
} cluster_process;

typedef struct
{
	int32_t		vpid;
	int			status;			/* as waitpid() reports it */
} zombie;

enum
{
	CONNECT_QUEUED,				/* waits for the postmaster's accept() */
	CONNECT_ACCEPTED,			/* the postmaster is starting its backend */
	CONNECT_SPAWNED,			/* the backend's engine is ready to run */
	CONNECT_REFUSED				/* the postmaster is done with it, and started
								 * no backend */
};

typedef struct pending_connect
{
	struct pending_connect *next;
	pgembed_engine *engine;		/* the engine the backend will run in */
	int			state;
	char		why[512];		/* why a spawn failed */
	bool		budget_spent;	/* ... because no namespace was left */
} pending_connect;

/* a namespace held for a parallel worker its leader registered (front_workers.c) */
#define MAX_RESERVATIONS MAX_ENGINES

typedef struct
{
	pgembed_engine *engine;		/* loaded, not started; NULL: a free entry */
	pgembed_engine *owner;		/* the leader */
	pgembed_worker_key key;
} worker_reservation;

struct pgembed_cluster
{
	pthread_mutex_t lock;
	pthread_cond_t changed;		/* start-up progress, spawns, the postmaster's
								 * end */
	int			id;
	char	   *datadir;
	pgembed_engine *postmaster;
	pthread_t	postmaster_thread;
	bool		postmaster_started;
	bool		postmaster_ended;
	int			postmaster_status;	/* how it ended, as waitpid() says */
	int			death_watch_fd; /* the read end of its death pipe */
	char		status[16];		/* postmaster.pid's status line: starting,
								 * ready, stopping */
	char		last_error[512];	/* the last ERROR or worse a process of
									 * the cluster logged, for start-up errors */
	int			listen_fd;		/* eventfd, EFD_SEMAPHORE: one count per
								 * queued connection */
	int			service_fd;		/* eventfd: wakes the service thread */
	pthread_t	service_thread;
	bool		service_started;
	volatile bool service_stop;
	int32_t		next_seq;
	cluster_process processes[MAX_PROCESSES];
	zombie		zombies[MAX_PROCESSES];
	int			nzombies;
	pending_connect *queued;	/* oldest first */
	pending_connect *accepted;
	worker_reservation reservations[MAX_RESERVATIONS];
	pgembed_log_fn log_fn;
	void	   *log_context;
	pgembed_buf logq;			/* lines of processes on threads of their own:
								 * [int32 elevel][line NUL]... */
};

/* front_processes.c: a cluster's processes, once they run */
extern PGEMBED_HIDDEN cluster_process *front_cluster_find_process(pgembed_cluster *c, int32_t vpid);
extern PGEMBED_HIDDEN int32_t front_cluster_register_process(pgembed_cluster *c, pgembed_engine *e);
extern PGEMBED_HIDDEN void front_cluster_add_zombie(pgembed_cluster *c, int32_t vpid, int status);
extern PGEMBED_HIDDEN int front_cluster_exit_status(const pgembed_engine *e);
extern PGEMBED_HIDDEN void front_cluster_post_signal(pgembed_cluster *c, pgembed_engine *t, int sig);
extern PGEMBED_HIDDEN int front_cluster_route_kill(pgembed_engine *from, int pid, int sig);
extern PGEMBED_HIDDEN void front_cluster_process_signalled(pgembed_engine *e, void *ucontext);
extern PGEMBED_HIDDEN void front_cluster_process_idle_timer(pgembed_engine *e);
extern PGEMBED_HIDDEN void *front_cluster_service_main(void *arg);
extern PGEMBED_HIDDEN void front_cluster_wake_service(pgembed_cluster *c);
extern PGEMBED_HIDDEN void front_cluster_log_line(pgembed_engine *e, int elevel, const char *line);

/* front_children.c: starting and ending them */
extern PGEMBED_HIDDEN pgembed_engine *front_cluster_process_new(pgembed_cluster *c, int mode);
extern PGEMBED_HIDDEN bool front_cluster_process_load(pgembed_engine *e, const char *main_name, char *why,
													  size_t whylen, bool *budget_spent);
extern PGEMBED_HIDDEN bool front_cluster_start_thread(pgembed_engine *e, pthread_t *thread, const char *name);

/* front_workers.c: namespaces reserved for parallel workers */
extern PGEMBED_HIDDEN bool front_cluster_reserve_worker(pgembed_engine *leader, const pgembed_worker_key *key);
extern PGEMBED_HIDDEN void front_cluster_release_workers(pgembed_engine *owner, const pgembed_worker_key *key);
extern PGEMBED_HIDDEN pgembed_engine *front_cluster_take_reservation(pgembed_cluster *c,
																	 const pgembed_worker_key *key);

#endif							/* PGEMBED_FRONT_H */
