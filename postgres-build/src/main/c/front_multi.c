/*-------------------------------------------------------------------------
 *
 * front_multi.c
 *	  Clusters with a real postmaster: several backends of one database at
 *	  once, each a PostgreSQL process of its own in a link-map namespace.
 *
 * pgembed_cluster_open() runs PostgreSQL's PostmasterMain in an engine on a
 * thread of its own (engine_postmaster.c) and waits until it accepts
 * connections.  pgembed_connect() queues a connection for the postmaster's
 * in-process listener and runs the backend the postmaster starts for it
 * (front_children.c) through its start-up on the calling thread.
 * pgembed_cluster_close() asks the postmaster for a fast shutdown and waits
 * for its end; pgembed_cluster_stop() may ask for an immediate one instead.
 * front_processes.c keeps the processes' table and signals.
 *
 * IDENTIFICATION
 *	  postgres-build/src/main/c/front_multi.c
 *
 *-------------------------------------------------------------------------
 */

/*------------------------
 * INTERFACE ROUTINES
 *
 *		pgembed_cluster_open	- start the postmaster; wait until it accepts connections
 *		pgembed_connect			- a new backend of the cluster, as an engine
 *		pgembed_cluster_close	- fast shutdown, then free the cluster
 *		pgembed_cluster_stop	- fast or immediate shutdown, then free the cluster
 *		pgembed_cluster_set_log_callback - where the cluster's server log goes
 *------------------------
 */
#include "pgembed_front.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t clusters_lock = PTHREAD_MUTEX_INITIALIZER;
static int	next_cluster_id;

/* ------------------------------------------------------------------------
 * The API
 * ------------------------------------------------------------------------
 */
static void
cluster_free(pgembed_cluster *c)
{
	if (c->service_started)
	{
		c->service_stop = true;
		front_cluster_wake_service(c);
		pthread_join(c->service_thread, NULL);
	}
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->service_fd >= 0)
		close(c->service_fd);
	if (c->death_watch_fd >= 0)
		close(c->death_watch_fd);
	free(c->logq.data);
	free(c->datadir);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->changed);
	free(c);
}

/* Everything a cluster needs before its postmaster starts. */
static pgembed_cluster *
cluster_new(const char *datadir, pgembed_error **error)
{
	pgembed_cluster *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;

	if (c == NULL || (c->datadir = strdup(datadir)) == NULL)
	{
		free(c);
		if (error)
			*error = front_make_error("53200", "FATAL", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->changed, &ca);
	pthread_condattr_destroy(&ca);
	c->death_watch_fd = -1;
	snprintf(c->status, sizeof(c->status), "starting");
	pthread_mutex_lock(&clusters_lock);
	c->id = next_cluster_id++ & 0x3ff;
	pthread_mutex_unlock(&clusters_lock);
	c->listen_fd = eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	c->service_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->listen_fd < 0 || c->service_fd < 0 || !front_ensure_timer_machinery() ||
		pthread_create(&c->service_thread, NULL, front_cluster_service_main, c) != 0)
	{
		if (error)
			*error = front_make_error("58000", "FATAL", "could not set up the cluster's threads: %s", strerror(errno));
		cluster_free(c);
		return NULL;
	}
	c->service_started = true;
	pthread_setname_np(c->service_thread, "pgembed-service");
	return c;
}

pgembed_cluster *
pgembed_cluster_open(const char *datadir, int nsettings, const char *const *settings, pgembed_error **error)
{
	pgembed_cluster *c;
	pgembed_engine *pm;
	char		why[512] = "";
	bool		budget_spent = false;
	bool		ok;

	if (error)
		*error = NULL;
	if (datadir == NULL || nsettings < 0 || (nsettings > 0 && settings == NULL))
	{
		if (error)
			*error = front_make_error("22023", "ERROR", "invalid arguments to pgembed_cluster_open");
		return NULL;
	}
	c = cluster_new(datadir, error);
	if (c == NULL)
		return NULL;
	pm = front_cluster_process_new(c, PGEMBED_CHILD_POSTMASTER);
	if (pm == NULL)
	{
		if (error)
			*error = front_make_error("53200", "FATAL", "out of memory");
		cluster_free(c);
		return NULL;
	}

	/*
	 * The postmaster holds the directory as a single-backend engine would: a
	 * slot (so that pgembed_open of it is refused in this process) and the
	 * flock on pgembed.lock (against other processes).
	 */
	ok = front_engine_set_target(pm, datadir, NULL, NULL, nsettings, settings, error) &&
		front_take_slot(pm, error) &&
		front_lock_data_directory(pm, error);
	if (ok)
	{
		free(c->datadir);
		c->datadir = strdup(pm->datadir);	/* the real path */
		ok = c->datadir != NULL &&
			front_cluster_process_load(pm, "pgembed__postmaster_main", why, sizeof(why), &budget_spent);
		if (!ok && error)
			*error = front_make_error(budget_spent ? "53300" : "58000", "FATAL", "%s",
									  why[0] ? why : "out of memory");
	}
	if (ok)
	{
		pthread_mutex_lock(&c->lock);
		pm->vpid = front_cluster_register_process(c, pm);
		c->postmaster = pm;
		pthread_mutex_unlock(&c->lock);
		ok = front_cluster_start_thread(pm, &c->postmaster_thread, "postmaster");
		if (!ok && error)
			*error = front_make_error("58000", "FATAL", "could not start the postmaster's thread");
	}
	if (!ok)
	{
		front_engine_release(pm);
		front_engine_free(pm);
		cluster_free(c);
		return NULL;
	}
	c->postmaster_started = true;

	/* ready, or ended trying (its log says why) */
	pthread_mutex_lock(&c->lock);
	while (!c->postmaster_ended && strcmp(c->status, "ready") != 0)
		pthread_cond_wait(&c->changed, &c->lock);
	pthread_mutex_unlock(&c->lock);
	if (c->postmaster_ended)
	{
		if (error)
			*error = front_make_error("58000", "FATAL", "the cluster did not start: %s",
									  c->last_error[0] ? c->last_error : "its postmaster ended");
		pthread_join(c->postmaster_thread, NULL);
		front_engine_free(pm);
		cluster_free(c);
		return NULL;
	}
	return c;
}

/* The StartupMessage of protocol 3.0, in e->scratch. */
static bool
startup_packet(pgembed_engine *e, const char *user, int nsettings, const char *const *settings)
{
	uint32_t	n;
	bool		ok;

	e->scratch.len = 0;
	if (!pgembed_buf_reserve(e, &e->scratch, 8))
		return false;
	e->scratch.len = 8;
	ok = front_msg_str(e, "user") && front_msg_str(e, user) &&
		front_msg_str(e, "database") && front_msg_str(e, e->dbname);
	for (int i = 0; ok && i < nsettings; i++)
	{
		const char *eq = settings[i] ? strchr(settings[i], '=') : NULL;
		char		name[256];

		if (eq == NULL || eq == settings[i] || eq - settings[i] >= (ptrdiff_t) sizeof(name))
			return false;
		memcpy(name, settings[i], eq - settings[i]);
		name[eq - settings[i]] = '\0';
		ok = front_msg_str(e, name) && front_msg_str(e, eq + 1);
	}
	ok = ok && front_msg_str(e, "");
	if (!ok)
		return false;
	n = htonl((uint32_t) e->scratch.len);
	memcpy(e->scratch.data, &n, 4);
	n = htonl(196608);			/* protocol 3.0 */
	memcpy(e->scratch.data + 4, &n, 4);
	return true;
}

/* does a setting ask for a replication connection (replication=database, or true)? */
static bool
asks_replication(int nsettings, const char *const *settings)
{
	for (int i = 0; i < nsettings; i++)
	{
		const char *v;

		if (settings[i] == NULL || strncmp(settings[i], "replication=", 12) != 0)
			continue;
		v = settings[i] + 12;
		if (strcasecmp(v, "false") != 0 && strcasecmp(v, "off") != 0 && strcasecmp(v, "no") != 0 &&
			strcmp(v, "0") != 0)
			return true;
	}
	return false;
}

/* did the postmaster answer on the socket itself (its fork failed), or close it? */
static bool
refused_on_socket(pgembed_engine *e, char *why, size_t whylen)
{
	struct pollfd pfd = {.fd = e->peer_fd,.events = POLLIN};
	ssize_t		n;

	if (poll(&pfd, 1, 0) <= 0)
		return false;
	n = recv(e->peer_fd, why, whylen - 1, MSG_DONTWAIT);
	why[n > 0 ? n : 0] = '\0';
	/* "E<message>\n", as report_fork_failure_to_client() writes it */
	if (n > 1 && why[0] == 'E')
	{
		memmove(why, why + 1, strlen(why));
		why[strcspn(why, "\n")] = '\0';
	}
	else
		snprintf(why, whylen, "the postmaster closed the connection");
	return true;
}

/* Queues e's connection for the postmaster and waits until it started e's backend. */
static bool
await_backend(pgembed_cluster *c, pgembed_engine *e, pgembed_error **error)
{
	pending_connect pc;
	char		why[512] = "";
	uint64_t	one = 1;
	int			state;

	memset(&pc, 0, sizeof(pc));
	pc.engine = e;
	pc.state = CONNECT_QUEUED;
	pthread_mutex_lock(&c->lock);
	if (c->postmaster_ended || strcmp(c->status, "ready") != 0)
	{
		snprintf(why, sizeof(why), "%s", c->postmaster_ended ? "its postmaster ended" : c->status);
		pthread_mutex_unlock(&c->lock);
		if (error)
			*error = front_make_error("57P03", "FATAL", "the cluster is not accepting connections (%s)", why);
		return false;
	}
	{
		pending_connect **tail = &c->queued;

		while (*tail != NULL)
			tail = &(*tail)->next;
		*tail = &pc;
	}
	if (write(c->listen_fd, &one, sizeof(one)) != sizeof(one))
	{
		/* it counts anyway, unless 2^64 connections overflowed it */
	}
	for (;;)
	{
		struct timespec ts;

		state = pc.state;
		if (state == CONNECT_SPAWNED || state == CONNECT_REFUSED)
			break;
		if (c->postmaster_ended)
		{
			snprintf(why, sizeof(why), "the cluster's postmaster ended");
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 20 * 1000000;
		if (ts.tv_nsec >= 1000000000)
		{
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&c->changed, &c->lock, &ts);
	}
	/* no longer reachable through the queues */
	for (pending_connect **pp = &c->queued; *pp != NULL; pp = &(*pp)->next)
		if (*pp == &pc)
		{
			*pp = pc.next;
			break;
		}
	for (pending_connect **pp = &c->accepted; *pp != NULL; pp = &(*pp)->next)
		if (*pp == &pc)
		{
			*pp = pc.next;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	if (state == CONNECT_SPAWNED)
		return true;
	/* the postmaster's own words on the socket, else what the spawn found */
	if (pc.why[0] != '\0')
		snprintf(why, sizeof(why), "%s", pc.why);
	else if (state == CONNECT_REFUSED)
		(void) refused_on_socket(e, why, sizeof(why));
	if (error)
		*error = front_make_error(pc.budget_spent ? "53300" : "08006", "FATAL", "could not start a backend: %s", why);
	return false;
}

pgembed_engine *
pgembed_connect(pgembed_cluster *c, const char *dbname, const char *user, int nsettings,
				const char *const *settings, pgembed_error **error)
{
	pgembed_engine *e;
	int			sv[2];
	pgembed_result *r;
	char	   *buf;
	size_t		len;
	pgembed_iov packet;

	if (error)
		*error = NULL;
	if (c == NULL || nsettings < 0 || (nsettings > 0 && settings == NULL))
	{
		if (error)
			*error = front_make_error("22023", "ERROR", "invalid arguments to pgembed_connect");
		return NULL;
	}
	e = front_cluster_process_new(c, PGEMBED_CHILD_COROUTINE);
	if (e != NULL && dbname != NULL)
	{
		free(e->dbname);
		e->dbname = strdup(dbname);
	}
	if (e == NULL || e->dbname == NULL)
	{
		if (e)
			front_engine_free(e);
		if (error)
			*error = front_make_error("53200", "FATAL", "out of memory");
		return NULL;
	}
	if (asks_replication(nsettings, settings))
	{
		/*
		 * A WAL sender streams on its own while it waits for its client and
		 * the WAL: it needs a socket and a thread of its own, not the calls
		 * of a caller (engine_postmaster.c's real socket gives it both).
		 */
		front_engine_free(e);
		if (error)
			*error = front_make_error("0A000", "FATAL",
									  "replication connections are not served through pgembed_connect: connect"
									  " to the cluster's socket (pgembed.socket_directory)");
		return NULL;
	}
	if (!startup_packet(e, user ? user : "postgres", nsettings, settings))
	{
		front_engine_free(e);
		if (error)
			*error = front_make_error("22023", "FATAL", "invalid connection settings: write name=value");
		return NULL;
	}
	/* the backend's client socket; nothing passes through it but its start-up */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
	{
		front_engine_free(e);
		if (error)
			*error = front_make_error("58000", "FATAL", "socketpair failed: %s", strerror(errno));
		return NULL;
	}
	e->port_fd = sv[0];
	e->peer_fd = sv[1];
	if (!await_backend(c, e, error))
	{
		front_engine_release(e);
		front_engine_free(e);
		return NULL;
	}

	/*
	 * the backend's start-up on this thread: start-up packet, authentication,
	 * InitPostgres
	 */
	packet.data = e->scratch.data;
	packet.len = e->scratch.len;
	pthread_mutex_lock(&e->lock);
	front_run_with_input(e, &packet, 1);
	buf = front_take_output(e, &len);
	r = front_result_from_messages(buf, len, false);
	pthread_mutex_unlock(&e->lock);
	if (e->state == ENGINE_DEAD || r == NULL || r->has_error)
	{
		if (error)
			*error = (r && r->has_error) ? front_copy_error(&r->error)
				: front_make_error("08006", "FATAL", "the backend ended during start-up");
		pgembed_result_free(r);
		pgembed_close(e, NULL);
		return NULL;
	}
	pgembed_result_free(r);
	return e;
}

int
pgembed_cluster_stop(pgembed_cluster *c, pgembed_stop_mode mode, pgembed_error **error)
{
	int			rc = 0;

	if (error)
		*error = NULL;
	if (c == NULL)
		return 0;
	if (mode != PGEMBED_STOP_FAST && mode != PGEMBED_STOP_IMMEDIATE)
	{
		if (error)
			*error = front_make_error("22023", "ERROR", "invalid stop mode %d", (int) mode);
		return -1;
	}

	/*
	 * The postmaster's own shutdown modes (pg_ctl stop -m fast / immediate):
	 * SIGINT terminates the backends and has the checkpointer write the
	 * shutdown checkpoint; SIGQUIT makes every process quit at once.
	 */
	pthread_mutex_lock(&c->lock);
	if (!c->postmaster_ended)
		front_cluster_post_signal(c, c->postmaster, mode == PGEMBED_STOP_IMMEDIATE ? SIGQUIT : SIGINT);
	while (!c->postmaster_ended)
		pthread_cond_wait(&c->changed, &c->lock);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->postmaster_thread, NULL);
	if (c->postmaster_status != 0)
	{
		rc = -1;
		if (error)
			*error = front_make_error("58000", "ERROR", "the cluster's postmaster ended with status %d: %s",
									  c->postmaster_status, c->last_error);
	}
	front_engine_free(c->postmaster);
	cluster_free(c);
	return rc;
}

int
pgembed_cluster_close(pgembed_cluster *c, pgembed_error **error)
{
	return pgembed_cluster_stop(c, PGEMBED_STOP_FAST, error);
}

void
pgembed_cluster_set_log_callback(pgembed_cluster *c, pgembed_log_fn fn, void *context)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->log_fn = fn;
	c->log_context = context;
	pthread_mutex_unlock(&c->lock);
}
