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

#define MAX_ENGINES 15			/* glibc allows 16 link-map namespaces, one is the host's */

/* what an engine is in the middle of, between API calls (pgembed_engine.mode) */
enum
{
	FRONT_MODE_IDLE,
	FRONT_MODE_COPY_IN,
	FRONT_MODE_COPY_OUT,
	FRONT_MODE_CURSOR,
	FRONT_MODE_PROTOCOL
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

typedef struct
{
	const char *name;
	uint32_t	type;
	int32_t		typmod;
	int32_t		format;
} field_desc;

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
	int			nnotices;
	pgembed_error *notices;
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
	uint32_t	ns_generation;	/* changes whenever the slot gets a new namespace */
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

/* present while a cluster is being created: its remains may be wiped and redone */
#define CREATING_MARKER "pgembed.creating"

#endif							/* PGEMBED_FRONT_H */
