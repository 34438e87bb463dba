/*
 * test_cluster_wire.c
 *	  Protocol clients (JDBC, serve mode) on backends of a cluster: what a
 *	  backend writes while no call runs on it (a notification, its FATAL)
 *	  reaches its client framed as the client reads, and a client can wait
 *	  for it (pgembed_wait_output); and a notice a statement raises reaches
 *	  the client while the statement still runs, as a server flushes it.
 */
#define _GNU_SOURCE
#include "test_util.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void
cluster_log(void *context, int elevel, const char *line)
{
	(void) context;
	if (elevel >= 21)			/* ERROR and above */
		fprintf(stdout, "    [cluster] %s\n", line);
}

static pgembed_cluster *
wire_cluster(void)
{
	pgembed_error *err = NULL;
	const char *dir = fresh_dir();
	pgembed_cluster *c;

	if (pgembed_create_cluster(dir, &err) != 0)
	{
		test_fail(__FILE__, __LINE__, "create %s: %s", dir, pgembed_error_message(err));
		pgembed_error_free(err);
		return NULL;
	}
	c = pgembed_cluster_open(dir, 0, NULL, &err);
	if (c == NULL)
	{
		test_fail(__FILE__, __LINE__, "cluster open: %s", pgembed_error_message(err));
		pgembed_error_free(err);
		return NULL;
	}
	pgembed_cluster_set_log_callback(c, cluster_log, NULL);
	return c;
}

static pgembed_engine *
wire_backend(pgembed_cluster *c)
{
	pgembed_error *err = NULL;
	pgembed_engine *e = pgembed_connect(c, NULL, NULL, 0, NULL, &err);

	if (e == NULL)
	{
		test_fail(__FILE__, __LINE__, "connect: %s", pgembed_error_message(err));
		pgembed_error_free(err);
	}
	return e;
}

/* a simple Query message */
static size_t
query_message(char *buf, size_t cap, const char *sql)
{
	size_t		n = strlen(sql) + 1;
	uint32_t	len = htonl((uint32_t) (4 + n));

	if (5 + n > cap)
		return 0;
	buf[0] = 'Q';
	memcpy(buf + 1, &len, 4);
	memcpy(buf + 5, sql, n);
	return 5 + n;
}

/*
 * Checks that out[0..len) is a sequence of whole messages in wire framing
 * (no byte between them), and returns how many are of type t.
 */
static int
count_wire_messages(const char *out, size_t len, char t, bool *whole)
{
	size_t		pos = 0;
	int			n = 0;

	*whole = true;
	while (pos + 5 <= len)
	{
		uint32_t	l;

		memcpy(&l, out + pos + 1, 4);
		l = ntohl(l);
		if (l < 4 || pos + 1 + l > len)
		{
			*whole = false;
			return n;
		}
		if (out[pos] == t)
			n++;
		pos += 1 + l;
	}
	if (pos != len)
		*whole = false;
	return n;
}

/* a protocol client's simple query: its whole output copied into buf */
static size_t
wire_query(pgembed_engine *e, const char *sql, char *buf, size_t cap, int *rc)
{
	char		q[512];
	size_t		qn = query_message(q, sizeof(q), sql);
	const char *out;
	size_t		outn;
	size_t		total = 0;

	*rc = pgembed_protocol_exchange(e, q, qn, &out, &outn);
	for (;;)
	{
		if (total + outn <= cap)
		{
			memcpy(buf + total, out, outn);
			total += outn;
		}
		if (*rc != 1)
			break;
		*rc = pgembed_protocol_exchange(e, NULL, 0, &out, &outn);
	}
	return total;
}

/*
 * A backend listening on a channel gets the notification while it sits idle:
 * its client can wait for it, and reads it in wire framing; an API caller of
 * the same backend is not disturbed by it.
 */
static void
test_notification_reaches_idle_listener(void)
{
	pgembed_cluster *c = wire_cluster();
	pgembed_engine *listener,
			   *sender;
	char		buf[8192];
	const char *out;
	size_t		n,
				outn;
	bool		whole;
	int			rc;
	struct timespec t0,
				t1;

	REQUIRE(c != NULL);
	listener = wire_backend(c);
	sender = wire_backend(c);
	REQUIRE(listener != NULL && sender != NULL);

	n = wire_query(listener, "LISTEN ch", buf, sizeof(buf), &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(count_wire_messages(buf, n, 'Z', &whole), 1);
	CHECK(whole);
	/* nothing is there yet: the wait times out */
	CHECK_INT(pgembed_wait_output(listener, 0), 0);
	CHECK_INT(pgembed_wait_output(listener, 50), 0);

	CHECK_STR(sqlstate_of(sender, "NOTIFY ch, 'hello'"), "00000");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(pgembed_wait_output(listener, 10000), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("    notification reached the idle listener after %.1f ms\n",
		   (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);

	/* an exchange with no input hands it out, framed as on the wire */
	rc = pgembed_protocol_exchange(listener, NULL, 0, &out, &outn);
	CHECK_INT(rc, 0);
	CHECK_INT(count_wire_messages(out, outn, 'A', &whole), 1);
	CHECK(whole);
	CHECK(outn > 5 && out[0] == 'A');
	CHECK(outn > 0 && memmem(out, outn, "hello", 5) != NULL);
	CHECK_INT(pgembed_wait_output(listener, 0), 0);

	/*
	 * the next one arrives while the client uses the plain API: it is skipped
	 * there
	 */
	CHECK_STR(sqlstate_of(sender, "NOTIFY ch, 'again'"), "00000");
	CHECK_INT(pgembed_wait_output(listener, 10000), 1);
	CHECK_STR(scalar(listener, "SELECT 40 + 2"), "42");
	/* and a protocol client after an API call reads whole messages again */
	CHECK_STR(sqlstate_of(sender, "NOTIFY ch, 'third'"), "00000");
	CHECK_INT(pgembed_wait_output(listener, 10000), 1);
	n = wire_query(listener, "SELECT 1", buf, sizeof(buf), &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(count_wire_messages(buf, n, 'A', &whole), 1);
	CHECK(whole);
	CHECK_INT(count_wire_messages(buf, n, 'D', &whole), 1);

	pgembed_close(listener, NULL);
	pgembed_close(sender, NULL);
	CHECK_INT(pgembed_cluster_close(c, NULL), 0);
}

/* A protocol client's backend terminated while idle: the client reads its FATAL. */
static void
test_terminated_client_reads_its_fatal(void)
{
	pgembed_cluster *c = wire_cluster();
	pgembed_engine *client,
			   *admin;
	char		buf[8192];
	char		sql[128];
	const char *out;
	size_t		outn;
	bool		whole;
	int			rc;

	REQUIRE(c != NULL);
	client = wire_backend(c);
	admin = wire_backend(c);
	REQUIRE(client != NULL && admin != NULL);
	(void) wire_query(client, "SELECT 1", buf, sizeof(buf), &rc);
	CHECK_INT(rc, 0);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d, 10000)", (int) pgembed_backend_pid(client));
	CHECK_STR(scalar(admin, sql), "t");
	CHECK_INT(pgembed_wait_output(client, 10000), 1);
	rc = pgembed_protocol_exchange(client, NULL, 0, &out, &outn);
	CHECK_INT(rc, -1);
	CHECK_INT(count_wire_messages(out, outn, 'E', &whole), 1);
	CHECK(whole);
	CHECK(outn > 0 && memmem(out, outn, "C57P01", 6) != NULL);
	/* said once; then the engine has nothing more to say */
	CHECK_INT(pgembed_wait_output(client, 0), -1);
	rc = pgembed_protocol_exchange(client, NULL, 0, &out, &outn);
	CHECK_INT(rc, -1);
	CHECK_INT((int) outn, 0);
	pgembed_close(client, NULL);
	pgembed_close(admin, NULL);
	CHECK_INT(pgembed_cluster_close(c, NULL), 0);
}

/* ------------------------------------------------------------------------
 * A notice while the statement goes on
 * ------------------------------------------------------------------------
 */
typedef struct
{
	pgembed_engine *e;
	const char *in;				/* NULL: resume, and go on until it waits */
	size_t		in_len;
	char		out[16384];
	size_t		out_len;
	int			rc;
	int			calls;
} wire_call;

/* one exchange (in != NULL), or resumes until the backend waits for input */
static void *
wire_call_main(void *arg)
{
	wire_call  *w = arg;
	const char *out;
	size_t		outn;

	do
	{
		w->rc = pgembed_protocol_exchange(w->e, w->in, w->in_len, &out, &outn);
		w->calls++;
		if (w->out_len + outn <= sizeof(w->out))
		{
			memcpy(w->out + w->out_len, out, outn);
			w->out_len += outn;
		}
	} while (w->in == NULL && w->rc == 1);
	return NULL;
}

/* joins t within timeout_s; false when it still runs (the caller unblocks it) */
static bool
join_within(pthread_t t, int timeout_s)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_s;
	return pthread_timedjoin_np(t, NULL, &deadline) == 0;
}

/*
 * A protocol client's statement raises a NOTICE, then waits for a row another
 * backend has locked: the client reads the NOTICE while the statement waits,
 * before the other transaction ends (a server's send_message_to_frontend
 * flushes it to the socket); resumed, the statement goes on when the lock
 * goes, and the query the client sent behind it in the same call runs too.
 */
static void
test_notice_reaches_client_while_statement_waits(void)
{
	pgembed_cluster *c = wire_cluster();
	pgembed_engine *holder,
			   *client,
			   *watcher;
	char		in[1024];
	size_t		n;
	wire_call  *first = calloc(1, sizeof(wire_call));
	wire_call  *rest = calloc(1, sizeof(wire_call));
	pthread_t	t;
	bool		whole;
	bool		returned;
	char		sql[200];

	REQUIRE(c != NULL && first != NULL && rest != NULL);
	holder = wire_backend(c);
	client = wire_backend(c);
	watcher = wire_backend(c);
	REQUIRE(holder != NULL && client != NULL && watcher != NULL);
	CHECK_STR(sqlstate_of(holder, "CREATE TABLE t(i int); INSERT INTO t VALUES (1)"), "00000");
	CHECK_STR(sqlstate_of(holder, "BEGIN; SELECT * FROM t FOR UPDATE"), "00000");

	n = query_message(in, sizeof(in),
					  "DO $$BEGIN RAISE NOTICE 'before the lock'; PERFORM * FROM t FOR UPDATE; "
					  "RAISE NOTICE 'after the lock'; END$$");
	n += query_message(in + n, sizeof(in) - n, "SELECT 42");
	first->e = client;
	first->in = in;
	first->in_len = n;
	pthread_create(&t, NULL, wire_call_main, first);
	returned = join_within(t, 60);
	CHECK(returned);
	if (!returned)
	{
		/* the notice waited for the end of the call: let the call end */
		CHECK_STR(sqlstate_of(holder, "COMMIT"), "00000");
		pthread_join(t, NULL);
		goto done;
	}
	/* the call paused after the notice, nothing else: the statement goes on */
	CHECK_INT(first->rc, 1);
	CHECK_INT(count_wire_messages(first->out, first->out_len, 'N', &whole), 1);
	CHECK(whole);
	CHECK(memmem(first->out, first->out_len, "before the lock", 15) != NULL);
	CHECK_INT(count_wire_messages(first->out, first->out_len, 'Z', &whole), 0);

	/* resumed, it waits for the lock: the notice came first */
	rest->e = client;
	pthread_create(&t, NULL, wire_call_main, rest);
	snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM pg_stat_activity WHERE pid = %d AND wait_event_type = 'Lock'",
			 (int) pgembed_backend_pid(client));
	for (int i = 0; i < 3000 && strcmp(scalar(watcher, sql), "1") != 0; i++)
		usleep(10000);
	CHECK_STR(scalar(watcher, sql), "1");
	CHECK_STR(sqlstate_of(holder, "COMMIT"), "00000");
	returned = join_within(t, 60);
	CHECK(returned);
	if (!returned)
		pthread_join(t, NULL);
	CHECK_INT(rest->rc, 0);
	CHECK(memmem(rest->out, rest->out_len, "after the lock", 14) != NULL);
	CHECK_INT(count_wire_messages(rest->out, rest->out_len, 'N', &whole), 1);
	CHECK(whole);

	/*
	 * the DO's CommandComplete and the SELECT's, which was read after the
	 * pause
	 */
	CHECK_INT(count_wire_messages(rest->out, rest->out_len, 'C', &whole), 2);
	CHECK_INT(count_wire_messages(rest->out, rest->out_len, 'D', &whole), 1);
	CHECK_INT(count_wire_messages(rest->out, rest->out_len, 'Z', &whole), 2);
	CHECK(rest->out_len >= 6 && rest->out[rest->out_len - 6] == 'Z' && rest->out[rest->out_len - 1] == 'I');
	/* the engine is idle again: the plain API works */
	CHECK_STR(scalar(client, "SELECT 40 + 2"), "42");

done:
	free(first);
	free(rest);
	pgembed_close(holder, NULL);
	pgembed_close(client, NULL);
	pgembed_close(watcher, NULL);
	CHECK_INT(pgembed_cluster_close(c, NULL), 0);
}

/*
 * A client that ends while its backend is paused at a notice: closing the
 * engine runs the statement to its end (it commits, as it would have in the
 * call), then ends the backend; the unread input kept for the pause goes with
 * the engine.
 */
static void
test_close_while_paused_at_notice(void)
{
	pgembed_cluster *c = wire_cluster();
	pgembed_engine *client,
			   *other;
	char		in[512];
	size_t		n;
	const char *out;
	size_t		outn;
	int			rc;

	REQUIRE(c != NULL);
	client = wire_backend(c);
	other = wire_backend(c);
	REQUIRE(client != NULL && other != NULL);
	CHECK_STR(sqlstate_of(other, "CREATE TABLE done(i int)"), "00000");
	n = query_message(in, sizeof(in),
					  "DO $$BEGIN RAISE NOTICE 'one'; PERFORM pg_sleep(0.05); INSERT INTO done VALUES (1); END$$");
	n += query_message(in + n, sizeof(in) - n, "INSERT INTO done VALUES (2)");
	rc = pgembed_protocol_exchange(client, in, n, &out, &outn);
	CHECK_INT(rc, 1);
	CHECK(memmem(out, outn, "one", 3) != NULL);
	CHECK_INT(pgembed_close(client, NULL), 0);
	CHECK_STR(scalar(other, "SELECT string_agg(i::text, ',' ORDER BY i) FROM done"), "1,2");
	pgembed_close(other, NULL);
	CHECK_INT(pgembed_cluster_close(c, NULL), 0);
}

/*
 * A single-backend engine keeps its behaviour: its one session waits for no
 * other, and a call's notices come with the rest of its output.
 */
static void
test_single_backend_notice_with_output(void)
{
	pgembed_engine *e = open_fresh(0, NULL);
	char		in[512];
	size_t		n;
	const char *out;
	size_t		outn;
	bool		whole;
	int			rc;

	REQUIRE(e != NULL);
	n = query_message(in, sizeof(in), "DO $$BEGIN RAISE NOTICE 'one'; RAISE NOTICE 'two'; END$$");
	rc = pgembed_protocol_exchange(e, in, n, &out, &outn);
	CHECK_INT(rc, 0);
	CHECK_INT(count_wire_messages(out, outn, 'N', &whole), 2);
	CHECK(whole);
	CHECK_INT(count_wire_messages(out, outn, 'Z', &whole), 1);
	pgembed_close(e, NULL);
}

const test_case cluster_wire_tests[] = {
	{"cluster wire: a notification reaches an idle listener, framed for its client", test_notification_reaches_idle_listener},
	{"cluster wire: a client whose backend was terminated while idle reads its FATAL", test_terminated_client_reads_its_fatal},
	{"cluster wire: a notice reaches the client while its statement waits for a lock", test_notice_reaches_client_while_statement_waits},
	{"cluster wire: closing a backend paused at a notice runs its statement to the end", test_close_while_paused_at_notice},
	{"cluster wire: a single-backend engine's notices come with the rest of the output", test_single_backend_notice_with_output},
	{NULL, NULL}
};
