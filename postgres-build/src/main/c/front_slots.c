/*-------------------------------------------------------------------------
 *
 * front_slots.c
 *	  Where engines live: the slot table, the link-map namespace of each slot
 *	  with the copy of this library loaded into it, and the library's own
 *	  file.
 *
 * glibc allows 16 link-map namespaces, one of them the host's, so a process
 * holds at most MAX_ENGINES engines, one per slot.  A slot keeps its namespace
 * (and so its C library's heap) from one engine to the next; the copy of
 * libpgembed.so in it is loaded afresh for every engine, so that no backend
 * ever sees the globals another one left.
 *
 * The slot table is shared with the timer thread (front_maintenance.c), under
 * front_registry_lock; front_timer_cond wakes that thread when a slot fills.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_slots.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 * the library itself:
 *		front_self_path			- the file this library was loaded from
 *		pgembed_install_root	- the directory of its payload (lib/.., share/..)
 *		pgembed_pg_version		- the PostgreSQL version compiled in
 *
 * slots:
 *		front_claim_slot		- a free slot for a new engine, or why not
 *		front_free_slot			- give it back
 *		front_load_engine_copy	- a pristine copy of the library in the slot's namespace
 *		front_namespace_limit_message, front_namespaces_exhausted - the namespace budget spent
 *		front_slot_trim_heap	- the free memory of a slot's heap back to the system
 *		pgembed__slot_heap_in_use	- a test's view of a namespace's heap
 *------------------------
 */
#include "pgembed_front.h"

#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef PGEMBED_PG_VERSION
#define PGEMBED_PG_VERSION "18.6"
#endif

/* the slot table; the timer thread sleeps on front_timer_cond under the lock */
pthread_mutex_t front_registry_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t front_timer_cond = PTHREAD_COND_INITIALIZER;
engine_slot front_slots[MAX_ENGINES];

/*
 * A C library sets up its per-thread character-class tables when it creates a
 * thread; an engine's private C library never created the host's threads, so
 * every thread must run that namespace's __ctype_init once before entering it
 * (isdigit() and friends would otherwise read through a NULL table).
 */
__thread uint32_t front_ctype_ready[MAX_ENGINES];

/* ------------------------------------------------------------------------
 * The library itself
 * ------------------------------------------------------------------------
 */
/*
 * The library's own path and the installation root above it are computed
 * once, whichever thread asks first: opens may start on several threads at
 * once, and a buffer filled while another thread reads it would give that one
 * half a path.
 */
static char self_path[PATH_MAX];
static char install_root[PATH_MAX];
static pthread_once_t paths_once = PTHREAD_ONCE_INIT;

static void
compute_paths(void)
{
	Dl_info		info;
	char	   *slash;

	if (dladdr((void *) front_self_path, &info) != 0 && info.dli_fname)
	{
		/* the host may have loaded us through a relative path */
		if (realpath(info.dli_fname, self_path) == NULL)
			snprintf(self_path, sizeof(self_path), "%s", info.dli_fname);
	}
	/* <root>/lib/libpgembed.so */
	snprintf(install_root, sizeof(install_root), "%s", self_path);
	for (int i = 0; i < 2; i++)
	{
		slash = strrchr(install_root, '/');
		if (slash == NULL)
			break;
		*slash = '\0';
	}
}

const char *
front_self_path(void)
{
	pthread_once(&paths_once, compute_paths);
	return self_path;
}

const char *
pgembed_install_root(void)
{
	pthread_once(&paths_once, compute_paths);
	return install_root;
}

const char *
pgembed_pg_version(void)
{
	return PGEMBED_PG_VERSION;
}

/* ------------------------------------------------------------------------
 * Slots
 * ------------------------------------------------------------------------
 */
int
front_claim_slot(pgembed_engine *e)
{
	int			slot = -1;

	pthread_mutex_lock(&front_registry_lock);
	for (int i = 0; i < MAX_ENGINES; i++)
	{
		pgembed_engine *o = front_slots[i].engine;

		/*
		 * after fork() the child inherits the table, not the engines; the
		 * processes of a cluster but its postmaster hold no directory (0, 0)
		 */
		if (o != NULL && o->owner_pid == getpid() && (e->dev != 0 || e->ino != 0) &&
			o->dev == e->dev && o->ino == e->ino)
		{
			pthread_mutex_unlock(&front_registry_lock);
			return -2;
		}
	}
	for (int i = 0; i < MAX_ENGINES; i++)
		if (front_slots[i].engine == NULL || front_slots[i].engine->owner_pid != getpid())
		{
			slot = i;
			front_slots[i].engine = e;
			front_slots[i].generation++;
			/* the timer thread sleeps while no engine is open */
			pthread_cond_signal(&front_timer_cond);
			break;
		}
	pthread_mutex_unlock(&front_registry_lock);
	return slot;
}

void
front_free_slot(pgembed_engine *e)
{
	pthread_mutex_lock(&front_registry_lock);
	if (e->slot >= 0 && front_slots[e->slot].engine == e)
		front_slots[e->slot].engine = NULL;
	e->timer_deadline_ns = 0;
	pthread_mutex_unlock(&front_registry_lock);
}

/* Loads a pristine copy of this library into the slot's namespace. */
bool
front_load_engine_copy(pgembed_engine *e)
{
	engine_slot *slot = &front_slots[e->slot];
	bool		(*is_fresh) (void);

	if (slot->has_namespace)
	{
		e->dl_handle = dlmopen(slot->lmid, front_self_path(), RTLD_NOW | RTLD_LOCAL);
		if (e->dl_handle != NULL)
		{
			is_fresh = (bool (*) (void)) dlsym(e->dl_handle, "pgembed__engine_is_fresh");
			if (is_fresh != NULL && is_fresh())
			{
				e->lmid = slot->lmid;
				return true;
			}
			/* the previous copy is still loaded: never reuse its state */
			dlclose(e->dl_handle);
			e->dl_handle = NULL;
		}
		slot->has_namespace = false;	/* abandon it */
	}
	e->dl_handle = dlmopen(LM_ID_NEWLM, front_self_path(), RTLD_NOW | RTLD_LOCAL);
	if (e->dl_handle == NULL)
		return false;
	if (dlinfo(e->dl_handle, RTLD_DI_LMID, &e->lmid) != 0)
		return false;
	slot->lmid = e->lmid;
	slot->libc_pin = dlmopen(e->lmid, "libc.so.6", RTLD_NOLOAD | RTLD_NOW);
	slot->has_namespace = slot->libc_pin != NULL;
	/* generation 0 means "never initialised" in every thread's ctype_ready[] */
	if (++slot->ns_generation == 0)
		slot->ns_generation = 1;
	front_carrier_reset(e->slot);
	slot->ctype_init = slot->libc_pin ? (void (*) (void)) dlsym(slot->libc_pin, "__ctype_init") : NULL;
	/* the thread that loaded the namespace had it run by the C library itself */
	front_ctype_ready[e->slot] = slot->ns_generation;
	if (slot->libc_pin != NULL && slot->ctype_init == NULL)
		return false;
	return true;
}

/*
 * Why another namespace could not be loaded, for a 53300.  glibc has 16
 * link-map namespaces, the host's included, but sizes the static TLS every C
 * library copy needs from the tunable glibc.rtld.nns (default 4): 11 copies
 * load without it, 15 with glibc.rtld.nns=16, which only the environment a
 * process starts with can set.  why: dlerror()'s text.
 */
const char *
front_namespace_limit_message(const char *why)
{
	static __thread char msg[512];
	int			loaded = 0;
	const char *tunables = getenv("GLIBC_TUNABLES");

	for (int i = 0; i < MAX_ENGINES; i++)
		if (front_slots[i].has_namespace)
			loaded++;
	snprintf(msg, sizeof(msg),
			 "too many engines: the process could not load another after %d (%s); glibc allows 11 per process, "
			 "or 15 when the process is started with GLIBC_TUNABLES=glibc.rtld.nns=16 in its environment%s",
			 loaded, why,
			 (tunables != NULL && strstr(tunables, "glibc.rtld.nns=") != NULL) ? " (it is set)" : " (it is not set)");
	return msg;
}

/* is why (dlerror()'s text) glibc running out of namespaces or of their static TLS? */
bool
front_namespaces_exhausted(const char *why)
{
	return why != NULL && (strstr(why, "static TLS") != NULL || strstr(why, "no more namespaces") != NULL);
}

/*
 * Gives the free memory of slot i's heap back to the system.  A C library
 * copy in a namespace other than the first cannot grow its heap with brk: it
 * maps memory instead and never unmaps it, so what a large statement freed
 * stayed resident until the engine closed; malloc_trim releases the free
 * pages (it takes the heap's locks: safe beside the namespace's own threads).
 */
void
front_slot_trim_heap(int i)
{
	int			(*trim) (size_t);

	if (i < 0 || i >= MAX_ENGINES || !front_slots[i].has_namespace)
		return;
	trim = (int (*) (size_t)) dlsym(front_slots[i].libc_pin, "malloc_trim");
	if (trim != NULL)
		trim(0);
}

/* Diagnostics for tests: bytes in use in the heap of slot i's namespace (-1: none). */
PGEMBED_EXPORT long pgembed__slot_heap_in_use(int i);
long
pgembed__slot_heap_in_use(int i)
{
	struct mallinfo2 (*mi) (void);

	if (i < 0 || i >= MAX_ENGINES || !front_slots[i].has_namespace)
		return -1;
	mi = (struct mallinfo2(*) (void)) dlsym(front_slots[i].libc_pin, "mallinfo2");
	return mi ? (long) mi().uordblks : -1;
}
