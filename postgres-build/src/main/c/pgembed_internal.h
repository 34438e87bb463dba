/*
 * pgembed_internal.h
 *	  State shared between the front (the copy of libpgembed.so the host loaded)
 *	  and an engine (a private dlmopen copy of the same library that runs one
 *	  PostgreSQL backend).  Only plain C types: the front never sees PG headers.
 */
#ifndef PGEMBED_INTERNAL_H
#define PGEMBED_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgembedded.h"

#define PGEMBED_EXPORT __attribute__((visibility("default")))
/* for names shared by files of the library and by nobody else */
#define PGEMBED_HIDDEN __attribute__((visibility("hidden")))

/* Engine life cycle */
typedef enum
{
	ENGINE_STARTING,
	ENGINE_READY,				/* waiting for input at a protocol boundary */
	ENGINE_DEAD					/* exited (FATAL/close) or aborted (PANIC) */
} engine_state;

/* The signal used to deliver an engine's timer (statement_timeout, ...) to the thread running it. */
#define PGEMBED_TIMER_SIGNAL (SIGRTMIN + 4)

/* Maximum signal number whose handler an engine may register (virtualised). */
#define PGEMBED_NSIG 65

/* A growable byte buffer allocated with the front's allocator. */
typedef struct
{
	char	   *data;
	size_t		len;
	size_t		cap;
} pgembed_buf;

/* Input segment: protocol bytes given to the backend, consumed by its recv(). */
typedef struct
{
	const char *data;
	size_t		len;
} pgembed_iov;

#define PGEMBED_MAX_IOV 8

/*
 * A prepared statement to execute without protocol messages (engine_direct.c):
 * nsets executions (a batch) of nparams values each, in one transaction
 * command.  The front owns it; the engine reads it and sets the outcome.
 */
typedef struct pgembed_direct
{
	const char *stmt;			/* the prepared statement's name */
	int			nsets;
	int			nparams;
	const char *const *values;	/* nsets x nparams, row-major; NULL: SQL NULL */
	const int32_t *lengths;		/* binary values' lengths (NULL: all text) */
	const int32_t *formats;		/* per value: 0 text, 1 binary (NULL: all
								 * text) */
	int			nresult_formats;	/* as in Bind: 0 all text, 1 for all, or
									 * one per column */
	const int16_t *result_formats;
	bool		describe;		/* RowDescription (or NoData) before the rows */
	bool		text_lengths;	/* text values end at their length, not at a
								 * NUL (values out of Bind messages) */
	bool		copy_only;		/* a batch only if it can run as one insert
								 * (engine_batch.c), or as one update when
								 * set_counts is given */
	int64_t    *set_counts;		/* NULL, or nsets: the rows each set updated,
								 * filled when the batch ran as one update
								 * (engine_batch_update.c) */
	/* set by the engine */
	bool		handled;		/* false: not a statement for this path,
								 * nothing done */
	int64_t		failed_set;		/* the set whose execution failed, or -1 */
	bool		failed_in_bind; /* it failed converting its parameters */
} pgembed_direct;

/*
 * A parallel worker, as its leader registers it and the postmaster starts it
 * (the fields of its BackgroundWorker that parallel.c sets): the key of the
 * namespace reserved for it (front_workers.c).
 */
typedef struct pgembed_worker_key
{
	int32_t		leader;			/* the leader's virtual pid (bgw_notify_pid) */
	uint32_t	segment;		/* the parallel context's DSM segment
								 * (bgw_main_arg) */
	int32_t		number;			/* ParallelWorkerNumber (bgw_extra); -1: every
								 * worker of the segment */
} pgembed_worker_key;

struct pgembed_engine
{
	/* --- owned by the front --- */
	pthread_mutex_t lock;
	pthread_cond_t output_ready;	/* (with lock) output written while idle,
									 * or the end (pgembed_wait_output) */
	void	   *dl_handle;		/* the engine's copy of libpgembed.so */
	long		lmid;			/* its link-map namespace */
	int			slot;			/* namespace slot index */
	char	   *datadir;
	char	   *dbname;
	char	   *session_role;	/* NULL: the bootstrap superuser */
	char	  **settings;
	int			nsettings;
	int			lock_fd;		/* flock()ed pgembed.lock in the data
								 * directory */
	uint64_t	dev,
				ino;			/* identity of the data directory */
	int			owner_pid;		/* the process that opened it */

	/* coroutine contexts: saved stack pointers */
	void	   *front_sp;
	void	   *engine_sp;
	void	   *stack;
	size_t		stack_size;

	/* who is inside the engine right now (for timer delivery) */
	volatile pthread_t running_thread;
	volatile int running;

	/* timer (ITIMER_REAL emulation) */
	int64_t		timer_deadline_ns;	/* CLOCK_MONOTONIC; 0 = disarmed */
	volatile sig_atomic_t alarm_pending;

	/* allocator of the front (results must be freeable from any thread) */
	void	   *(*resize) (void *, size_t);

	/* front callbacks used by the engine */
	void		(*timer_set) (struct pgembed_engine *e, int64_t deadline_ns);
	void		(*yield) (struct pgembed_engine *e);

	/* logging */
	pgembed_log_fn log_fn;
	void	   *log_context;
	pgembed_buf logbuf;			/* pending log lines: [int32
								 * elevel][NUL-terminated line]... */

	/* --- protocol exchange --- */
	pgembed_iov in[PGEMBED_MAX_IOV];
	int			nin;
	int			in_index;
	size_t		in_pos;
	bool		closing;		/* recv() returns EOF: the backend exits */
	pgembed_buf out;			/* messages the backend sent: [type][int32
								 * len][payload][NUL] */
	size_t		out_yield_at;	/* yield when out.len passes this (COPY OUT
								 * streaming); 0 = never */
	bool		out_yielded;	/* the engine stopped mid-statement to hand
								 * out data */
	bool		pause_at_notice;	/* a protocol client's call on a backend
									 * of a cluster: a NoticeResponse's flush
									 * hands the output out at once
									 * (out_yielded), as a server's pq_flush
									 * sends it */
	bool		paused_at_notice;	/* engine: out_yielded at such a flush */
	size_t		out_flushed;	/* engine: out.len at the last flush (0: the
								 * front took the output since) */
	pgembed_buf in_kept;		/* the client's input the backend had not read
								 * when it paused at a notice (the caller's
								 * buffer is the caller's again) */
	const char *copy_out_abort; /* a COPY TO STDOUT that reaches or resumes
								 * from a pause fails with this message
								 * (57014); the front's string */
	bool		raw_framing;	/* messages exactly as on the wire (no
								 * trailing NUL) */
	pgembed_buf raw_out;		/* output of the last
								 * pgembed_protocol_exchange */
	bool		out_raw;		/* out holds messages in raw framing */
	bool		idle_raw;		/* the last call was a protocol client's: what
								 * the backend writes while idle is framed for
								 * it */
	struct pgembed_direct *direct;	/* a request for the direct path, run at
									 * the next Flush message; NULL: none */

	/* --- self-maintenance (no checkpointer, WAL writer or autovacuum in single-user mode) --- */
	volatile int maintenance_request;	/* MAINT_* flags for the engine's next
										 * idle read */
	bool		internal_query; /* the input is the front's own work: run it
								 * as the bootstrap superuser */
	volatile bool maintenance_due;	/* set by the timer thread; run at the
									 * next idle point */
	bool		auto_maintenance;
	int64_t		last_checkpoint_ns;
	int64_t		last_vacuum_check_ns;
	int64_t		last_flush_ns;
	int64_t		flush_interval_ns;	/* wal_writer_delay, as of the last
									 * maintenance pass */

	/* --- engine state --- */
	volatile engine_state state;
	bool		aborted;		/* PANIC/abort() */
	char		tx_status;
	int			port_fd;		/* socketpair end the backend treats as its
								 * client socket */
	int			peer_fd;

	/* entry points inside the engine's copy */
	void		(*engine_main) (struct pgembed_engine *e);
	void		(*engine_cancel) (struct pgembed_engine *e);
	void		(*engine_cleanup) (struct pgembed_engine *e);
	void		(*engine_alarm) (struct pgembed_engine *e);
	void		(*engine_wal_status) (uint64_t *insert, uint64_t *redo, uint64_t *important,
									  int *checkpoint_timeout_s, int *wal_writer_delay_ms,
									  int *naptime_s, int *autovacuum_on);
	uint64_t	last_redo;

	/*
	 * result formats of prepared statements, for PGEMBED_FORMAT_AUTO (front
	 * only)
	 */
	struct pgembed_stmt_formats *stmt_formats;
	/* prepared statements the direct path left to the protocol (front only) */
	struct pgembed_refusal *direct_refused;
	/* pgembed_set_binary_types: more types AUTO fetches in binary */
	uint32_t   *binary_types;
	int			nbinary_types;

	/* front bookkeeping */
	int			mode;			/* FRONT_MODE_* */
	bool		copy_needs_sync;	/* the COPY in progress came from an
									 * extended query whose Sync the backend
									 * will not read: pgembed_copy_end sends
									 * one */
	pgembed_buf scratch;		/* request bytes built by the front */
	size_t		bytes_since_trim;	/* request and result bytes since the
									 * engine's heap was last trimmed */

	/*
	 * --- a process of a cluster with a real postmaster (front_multi.c); NULL
	 * and zeroes in a single-backend engine ---
	 */
	struct pgembed_cluster *cluster;
	int			child_mode;		/* PGEMBED_CHILD_* */
	int32_t		vpid;			/* the engine's getpid(); 0: the real pid */
	char		child_kind[32]; /* --forkchild=<kind> */
	char		child_params[128];	/* its BackendParameters file, relative to
									 * the data directory */
	int			listen_fd;		/* the postmaster's in-process listener (the
								 * front's eventfd) */
	int			death_watch_fd; /* the postmaster's death pipe, read end: its
								 * children watch it after it ended */
	int			exit_code;		/* exit(code) or _exit(code) */
	int			exit_signal;	/* ended as if by this signal (abort, emulated
								 * SIGKILL), else 0 */
	volatile uint64_t posted_signals;	/* bit n: signal n, sent by another
										 * process, not delivered yet */
	volatile bool in_recv;		/* parked in recv() between calls */
	volatile bool service_due;	/* the cluster's service thread should look */
	uintptr_t	text_start;		/* the copy's code: where a fatal signal's
								 * handler may end the process */
	uintptr_t	text_end;

	/*
	 * what the front's own layers call for a process of a cluster
	 * (front_multi.c)
	 */
	void		(*on_end) (struct pgembed_engine *e);	/* it ended: instead of
														 * the release */
	void		(*on_signal) (struct pgembed_engine *e, void *ucontext);	/* the real-time signal
																			 * reached its thread */
	void		(*on_idle_timer) (struct pgembed_engine *e);	/* its deadline passed
																 * while it ran nowhere */
	/* front routines the engine's wrappers call */
	int			(*route_kill) (struct pgembed_engine *e, int pid, int sig);
	int			(*spawn) (struct pgembed_engine *e, const char *kind, int mode, const char *params,
						  int client_fd, const struct pgembed_worker_key *worker);
	int			(*reap) (struct pgembed_engine *e, int pid, int *status, int options);
	int			(*accept_inproc) (struct pgembed_engine *e);
	void		(*pm_status) (struct pgembed_engine *e, const char *status);
	void		(*release_inproc) (struct pgembed_engine *e, int fd);
	void		(*log_line) (struct pgembed_engine *e, int elevel, const char *line);
	bool		(*reserve_worker) (struct pgembed_engine *e, const struct pgembed_worker_key *worker);
	void		(*release_workers) (struct pgembed_engine *e, const struct pgembed_worker_key *worker);
	volatile int reserved_workers;	/* namespaces reserved for e's parallel
									 * workers that no worker took yet */
	/* entry points inside the engine's copy */
	void		(*engine_signal) (struct pgembed_engine *e);
	void		(*engine_wakeup) (void);	/* the copy's WakeupMyProc */
};

/* what a process of a cluster is (pgembed_engine.child_mode) */
enum
{
	PGEMBED_CHILD_NONE,			/* a single-backend engine (pgembed_open) */
	PGEMBED_CHILD_POSTMASTER,	/* PostmasterMain, on a thread of its own */
	PGEMBED_CHILD_THREAD,		/* a child on a thread of its own
								 * (checkpointer, startup, ...) */
	PGEMBED_CHILD_COROUTINE,	/* an in-process client backend, run by the
								 * threads that call the API on it */
	PGEMBED_CHILD_PHANTOM		/* a child that needs no process (background
								 * and WAL writer): never runs */
};

/* the unix_socket_directories entry that is a cluster's in-process listener */
#define PGEMBED_INPROC_LISTENER "@pgembed-inproc"

#define MAINT_FLUSH_WAL			0x1 /* write and flush asynchronously
									 * committed WAL */
#define MAINT_CHECKPOINT_IF_DUE	0x2 /* checkpoint when WAL volume
									 * (max_wal_size) calls for it */
#define MAINT_CHECKPOINT_NOW	0x4 /* checkpoint (time-based, or asked for) */

/* asm: saves callee-saved registers on the current stack, stores sp in *from, switches to to */
extern void pgembed__switch(void **from, void *to);

/* asm: first frame of a new coroutine; calls r13(r12) (x86_64), x20(x19) (aarch64) */
extern void pgembed__trampoline(void);

/* buffer helpers (allocator from the engine struct) */
static inline bool
pgembed_buf_reserve(struct pgembed_engine *e, pgembed_buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return true;
	size_t		ncap = b->cap ? b->cap * 2 : 8192;

	while (ncap < b->len + extra)
		ncap *= 2;
	char	   *n = e->resize(b->data, ncap);

	if (n == NULL)
		return false;
	b->data = n;
	b->cap = ncap;
	return true;
}

#endif							/* PGEMBED_INTERNAL_H */
