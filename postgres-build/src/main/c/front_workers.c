/*-------------------------------------------------------------------------
 *
 * front_workers.c
 *	  Namespaces reserved for the parallel workers of a cluster's backends.
 *
 * A parallel worker is a background worker, so a process of its own: a
 * namespace, of the few the host has.  PostgreSQL copes with fewer workers
 * than planned when it cannot register them (the query runs with fewer, or
 * none: "Workers Launched: 0"), but a registered worker that then fails to
 * start (a failed fork) is an error of the query ("parallel worker failed to
 * initialize", WaitForParallelWorkersToFinish).  So the namespace is taken
 * when the leader registers the worker (engine_workers.c): a reservation is
 * a loaded engine that waits for the postmaster to start that worker in it
 * (cluster_spawn, by the worker's key), or no registration at all.
 *
 * A reservation no worker took (the leader ended the worker before the
 * postmaster started it) goes back when the leader's parallel context ends,
 * at the leader's next idle read, or with the leader.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_workers.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		front_cluster_reserve_worker	- a namespace for a worker the leader registers
 *		front_cluster_release_workers	- reservations of a leader no worker took
 *		front_cluster_take_reservation	- the postmaster starts a reserved worker
 *------------------------
 */
#include "pgembed_front.h"

#include <stdlib.h>

static bool
key_matches(const pgembed_worker_key *a, const pgembed_worker_key *b)
{
	return a->leader == b->leader && a->segment == b->segment && a->number == b->number;
}

/*
 * The leader's reserve_worker(), on its thread while PostgreSQL registers the
 * worker: a slot, a namespace and a fresh copy of the library for it.  False
 * when none is left (PostgreSQL then registers no worker).
 */
bool
front_cluster_reserve_worker(pgembed_engine *leader, const pgembed_worker_key *key)
{
	pgembed_cluster *c = leader->cluster;
	pgembed_engine *e;
	char		why[512];
	bool		budget_spent = false;
	int			i = MAX_RESERVATIONS;

	if (c == NULL || (e = front_cluster_process_new(c, PGEMBED_CHILD_THREAD)) == NULL)
		return false;
	e->slot = front_claim_slot(e);
	if (e->slot >= 0 && front_cluster_process_load(e, "pgembed__child_main", why, sizeof(why), &budget_spent))
	{
		pthread_mutex_lock(&c->lock);
		for (i = 0; i < MAX_RESERVATIONS; i++)
			if (c->reservations[i].engine == NULL)
			{
				c->reservations[i].engine = e;
				c->reservations[i].owner = leader;
				c->reservations[i].key = *key;
				leader->reserved_workers++;
				break;
			}
		pthread_mutex_unlock(&c->lock);
	}
	if (i < MAX_RESERVATIONS)
		return true;
	front_engine_release(e);
	front_engine_free(e);
	return false;
}

/*
 * Gives back the reservations of owner (NULL: of every process) that no
 * worker took: those of key, of key's segment when key->number is -1, or all
 * of them when key is NULL.
 */
void
front_cluster_release_workers(pgembed_engine *owner, const pgembed_worker_key *key)
{
	pgembed_cluster *c = owner->cluster;
	pgembed_engine *unused[MAX_RESERVATIONS];
	int			n = 0;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < MAX_RESERVATIONS; i++)
	{
		worker_reservation *r = &c->reservations[i];

		if (r->engine == NULL || r->owner != owner ||
			(key != NULL && (r->key.leader != key->leader || r->key.segment != key->segment ||
							 (key->number >= 0 && r->key.number != key->number))))
			continue;
		unused[n++] = r->engine;
		r->engine = NULL;
		owner->reserved_workers--;
	}
	pthread_mutex_unlock(&c->lock);
	/* their copies of the library never ran */
	for (int i = 0; i < n; i++)
	{
		front_engine_release(unused[i]);
		front_engine_free(unused[i]);
	}
}

/*
 * The postmaster starts a parallel worker (cluster_spawn): the engine reserved
 * for it, which has its namespace and copy already, or NULL when there is none
 * (its leader gave it back meanwhile: the worker starts like any other child).
 */
pgembed_engine *
front_cluster_take_reservation(pgembed_cluster *c, const pgembed_worker_key *key)
{
	pgembed_engine *e = NULL;

	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < MAX_RESERVATIONS; i++)
	{
		worker_reservation *r = &c->reservations[i];

		if (r->engine != NULL && key_matches(&r->key, key))
		{
			e = r->engine;
			r->engine = NULL;
			r->owner->reserved_workers--;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}
