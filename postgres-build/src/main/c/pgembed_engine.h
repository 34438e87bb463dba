/*-------------------------------------------------------------------------
 *
 * pgembed_engine.h
 *	  State shared by the files of the engine half of libpgembed: the engine
 *	  this copy of the library runs, its data directory, the backend's umask,
 *	  and the routines one file offers the others.
 *
 * Only the engine's files include this header, always after postgres.h.
 * Every name here is hidden: the library is linked with -fvisibility=default
 * next to all of PostgreSQL's globals, and these are nobody else's business.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGEMBED_ENGINE_H
#define PGEMBED_ENGINE_H

#include <sys/types.h>

#include "libpq/libpq.h"
#include "nodes/nodes.h"
#include "tcop/cmdtag.h"

#include "pgembed_internal.h"

/* pgembed_engine.c: the engine this copy of the library runs; NULL in the front copy */
extern PGEMBED_HIDDEN pgembed_engine *engine_self;
extern PGEMBED_HIDDEN const PQcommMethods engine_comm_methods;
extern PGEMBED_HIDDEN void engine_process_begin(pgembed_engine *e);
extern PGEMBED_HIDDEN void engine_process_environment(pgembed_engine *e);
extern PGEMBED_HIDDEN void engine_installation_path(const char *program, char *path);

/* engine_child.c: a process of a cluster */
extern PGEMBED_HIDDEN void engine_absorb_interrupts(bool blocked);

/* engine_workers.c: parallel workers */
extern PGEMBED_HIDDEN void engine_release_workers(void);

/* engine_postmaster.c */
extern PGEMBED_HIDDEN void engine_postmaster_fopened(const char *path, const char *mode);
extern PGEMBED_HIDDEN void engine_postmaster_closed(int fd);

/* engine_maintenance.c: at the backend's idle read */
extern PGEMBED_HIDDEN void engine_maintenance(void);
extern PGEMBED_HIDDEN void engine_internal_user_begin(void);
extern PGEMBED_HIDDEN void engine_internal_user_end(void);

/* engine_process.c */
extern PGEMBED_HIDDEN mode_t engine_umask;
extern PGEMBED_HIDDEN void engine_signals_init(void);
extern PGEMBED_HIDDEN void engine_deliver_signal(int sig);
extern PGEMBED_HIDDEN void engine_deliver_pending(void);
extern PGEMBED_HIDDEN void engine_yield(void);

/* engine_files.c: the data directory, which relative paths are resolved against */
extern PGEMBED_HIDDEN int engine_datadir_fd;
extern PGEMBED_HIDDEN char engine_datadir_abs[MAXPGPATH];

/* engine_direct.c: prepared statements without protocol messages */
extern PGEMBED_HIDDEN void engine_direct_at_flush(void);

/* engine_direct.c: one parameter set converted as Bind converts it */
struct CachedPlanSource;
struct ParamListInfoData;
extern PGEMBED_HIDDEN struct ParamListInfoData *engine_direct_params(struct CachedPlanSource *psrc,
																	 const pgembed_direct *req, int set);

/* engine_batch.c: a batch of a plain INSERT as one set-oriented insert */
extern PGEMBED_HIDDEN bool engine_batch_insert(struct CachedPlanSource *psrc, pgembed_direct *req);
extern PGEMBED_HIDDEN void engine_batch_done(struct CachedPlanSource *psrc, const pgembed_direct *req,
											 CommandTag tag, uint64 processed);

/* engine_batch_update.c: a batch of UPDATE ... WHERE key = $k as one update */
extern PGEMBED_HIDDEN bool engine_batch_update(struct CachedPlanSource *psrc, pgembed_direct *req);

/* engine_relcache.c: the relation cache's init files across clean restarts */
extern PGEMBED_HIDDEN void engine_relcache_starting(void);
extern PGEMBED_HIDDEN bool engine_relcache_keeps(const char *path);
extern PGEMBED_HIDDEN void engine_relcache_started(void);

/* engine_templates.c: template0's and template1's files when first needed */
extern PGEMBED_HIDDEN void engine_templates_ensure(void);
extern PGEMBED_HIDDEN bool engine_templates_needed_by(Node *parsetree);

/* engine_resources.c */
extern PGEMBED_HIDDEN void engine_track_fd(int fd);
extern PGEMBED_HIDDEN void engine_untrack_fd(int fd);
extern PGEMBED_HIDDEN bool engine_tracks_fd(int fd);
extern PGEMBED_HIDDEN void engine_release_resources(void);

#endif							/* PGEMBED_ENGINE_H */
