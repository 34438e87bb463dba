/*
 * test_cluster_socket.c
 *	  The cluster's real Unix socket (pgembed.socket_directory): a client
 *	  accepted there gets a backend on a thread of its own that talks to the
 *	  socket as a server's backend does; a replication start-up makes it a
 *	  WAL sender (walsender.c's replication commands).  And the other way:
 *	  a cluster's subscription, whose workers connect through libpq
 *	  (libpqwalreceiver.so), replicates another cluster's publication.
 */
#define _GNU_SOURCE
#include "test_util.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* a private directory for the socket, with a short path (sun_path is 108 bytes) */
static const char *
socket_dir(void)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/pgembed-sockXXXXXX");
	return mkdtemp(dir);
}

static int
connect_socket(const char *dir)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/.s.PGSQL.5432", dir);
	if (fd < 0 || connect(fd, (struct sockaddr *) &a, sizeof(a)) != 0)
	{
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void
put_str(char *buf, size_t *n, const char *s)
{
	size_t		l = strlen(s) + 1;

	memcpy(buf + *n, s, l);
	*n += l;
}

static bool
send_all(int fd, const char *buf, size_t n)
{
	while (n > 0)
	{
		ssize_t		w = send(fd, buf, n, MSG_NOSIGNAL);

		if (w <= 0)
			return false;
		buf += w;
		n -= (size_t) w;
	}
	return true;
}

/* a protocol 3.0 start-up packet with these name/value pairs */
static bool
send_startup(int fd, const char *const *pairs, int npairs)
{
	char		buf[512];
	size_t		n = 8;
	uint32_t	v;

	for (int i = 0; i < npairs; i++)
		put_str(buf, &n, pairs[i]);
	buf[n++] = '\0';
	v = htonl((uint32_t) n);
	memcpy(buf, &v, 4);
	v = htonl(196608);
	memcpy(buf + 4, &v, 4);
	return send_all(fd, buf, n);
}

static bool
send_query(int fd, const char *sql)
{
	char		buf[512];
	size_t		l = strlen(sql) + 1;
	uint32_t	v = htonl((uint32_t) (4 + l));

	buf[0] = 'Q';
	memcpy(buf + 1, &v, 4);
	memcpy(buf + 5, sql, l);
	return send_all(fd, buf, 5 + l);
}

/*
 * Reads messages until ReadyForQuery (returns 'Z'), an ErrorResponse before
 * it (returns 'E', its message in first_error), EOF (0) or 30 s without a
 * byte (-1).  The first DataRow's first column goes to first_value.
 */
static int
read_until_ready(int fd, char *first_value, size_t vcap, char *first_error, size_t ecap)
{
	static char buf[1 << 16];
	size_t		have = 0;
	int			result = -1;

	if (first_value)
		first_value[0] = '\0';
	if (first_error)
		first_error[0] = '\0';
	for (;;)
	{
		struct pollfd p = {.fd = fd,.events = POLLIN};
		ssize_t		r;

		while (have >= 5)
		{
			uint32_t	len;
			char		type = buf[0];

			memcpy(&len, buf + 1, 4);
			len = ntohl(len);
			if (have < 1 + len)
				break;
			if (type == 'D' && first_value && first_value[0] == '\0' && len >= 10)
			{
				int32_t		vlen;

				memcpy(&vlen, buf + 7, 4);
				vlen = (int32_t) ntohl((uint32_t) vlen);
				if (vlen >= 0 && (size_t) vlen < vcap)
				{
					memcpy(first_value, buf + 11, vlen);
					first_value[vlen] = '\0';
				}
			}
			if (type == 'E' && first_error && first_error[0] == '\0')
			{
				/* the M field */
				for (size_t i = 5; i < 1 + len && buf[i] != '\0'; i += strlen(buf + i) + 1)
					if (buf[i] == 'M')
						snprintf(first_error, ecap, "%s", buf + i + 1);
				result = 'E';
			}
			if (type == 'Z')
				return result == 'E' ? 'E' : 'Z';
			memmove(buf, buf + 1 + len, have - 1 - len);
			have -= 1 + len;
		}
		if (poll(&p, 1, 30000) <= 0)
			return -1;
		r = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (r <= 0)
			return result == 'E' ? 'E' : 0;
		have += (size_t) r;
	}
}

/* does the peer close the socket within 30 s (reading and dropping what comes before)? */
static bool
closed_by_peer(int fd)
{
	char		buf[4096];

	for (;;)
	{
		struct pollfd p = {.fd = fd,.events = POLLIN};
		ssize_t		r;

		if (poll(&p, 1, 30000) <= 0)
			return false;
		r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0)
			return true;
	}
}

static void
test_wal_sender_on_the_socket(void)
{
	const char *dir = socket_dir();
	char		setting[128];
	const char *settings[3] = {"wal_level=logical", "max_wal_senders=2", setting};
	const char *startup[] = {"user", "postgres", "database", "postgres", "replication", "database"};
	pgembed_cluster *c;
	pgembed_engine *app;
	char		value[128],
				error[256],
				systemid[64];
	int			fd;

	REQUIRE(dir != NULL);
	snprintf(setting, sizeof(setting), "pgembed.socket_directory=%s", dir);
	c = cluster_fresh(3, settings);
	REQUIRE(c != NULL);
	app = backend(c);
	REQUIRE(app != NULL);
	snprintf(systemid, sizeof(systemid), "%s", scalar(app, "SELECT system_identifier FROM pg_control_system()"));

	fd = connect_socket(dir);
	REQUIRE(fd >= 0);
	CHECK(send_startup(fd, startup, 6));
	CHECK_INT(read_until_ready(fd, NULL, 0, error, sizeof(error)), 'Z');
	CHECK(send_query(fd, "IDENTIFY_SYSTEM"));
	CHECK_INT(read_until_ready(fd, value, sizeof(value), error, sizeof(error)), 'Z');
	CHECK_STR(value, systemid);
	CHECK_STR(scalar(app, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'"), "1");
	/* SQL on a database WAL sender, and a replication command's error */
	CHECK(send_query(fd, "SELECT pg_is_in_recovery()"));
	CHECK_INT(read_until_ready(fd, value, sizeof(value), error, sizeof(error)), 'Z');
	CHECK_STR(value, "f");
	CHECK(send_query(fd, "START_REPLICATION SLOT nosuch LOGICAL 0/0"));
	CHECK_INT(read_until_ready(fd, NULL, 0, error, sizeof(error)), 'E');
	CHECK(strstr(error, "nosuch") != NULL);

	/* Terminate: the WAL sender ends, and its end closes the socket */
	CHECK(send_all(fd, "X\0\0\0\4", 5));
	CHECK(closed_by_peer(fd));
	close(fd);
	for (int i = 0; i < 500; i++)
	{
		if (strcmp(scalar(app, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'"), "0") == 0)
			break;
		usleep(10000);
	}
	CHECK_STR(scalar(app, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'"), "0");

	/*
	 * pgembed_connect refuses to make a WAL sender its caller would have to
	 * drive
	 */
	{
		const char *repl[] = {"replication=database"};
		pgembed_error *err = NULL;
		pgembed_engine *e = pgembed_connect(c, NULL, NULL, 1, repl, &err);

		CHECK(e == NULL);
		CHECK_STR(err ? pgembed_error_sqlstate(err) : NULL, "0A000");
		pgembed_error_free(err);
	}

	/* an ordinary client of the socket: a client backend, PostgreSQL's own */
	fd = connect_socket(dir);
	REQUIRE(fd >= 0);
	CHECK(send_startup(fd, startup, 4));
	CHECK_INT(read_until_ready(fd, NULL, 0, error, sizeof(error)), 'Z');
	CHECK(send_query(fd, "SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()"));
	CHECK_INT(read_until_ready(fd, value, sizeof(value), error, sizeof(error)), 'Z');
	CHECK_STR(value, "client backend");
	close(fd);

	pgembed_close(app, NULL);
	close_cluster(c);
	/* PostgreSQL removed its socket and lock file at the postmaster's end */
	CHECK(rmdir(dir) == 0);
}

static void
test_wal_senders_beyond_the_limit(void)
{
	const char *dir = socket_dir();
	char		setting[128];
	const char *settings[3] = {"wal_level=logical", "max_wal_senders=1", setting};
	const char *startup[] = {"user", "postgres", "database", "postgres", "replication", "database"};
	pgembed_cluster *c;
	char		error[256];
	int			first,
				second;

	REQUIRE(dir != NULL);
	snprintf(setting, sizeof(setting), "pgembed.socket_directory=%s", dir);
	c = cluster_fresh(3, settings);
	REQUIRE(c != NULL);
	first = connect_socket(dir);
	REQUIRE(first >= 0);
	CHECK(send_startup(first, startup, 6));
	CHECK_INT(read_until_ready(first, NULL, 0, error, sizeof(error)), 'Z');
	second = connect_socket(dir);
	REQUIRE(second >= 0);
	CHECK(send_startup(second, startup, 6));
	/* PostgreSQL's own refusal (FATAL 53300), then the socket closes */
	CHECK_INT(read_until_ready(second, NULL, 0, error, sizeof(error)), 'E');
	CHECK(strstr(error, "max_wal_senders") != NULL);
	CHECK(closed_by_peer(second));
	close(second);
	close(first);
	close_cluster(c);
	CHECK(rmdir(dir) == 0);
}

/* waits up to 30 s for sql's one value to become want; returns the last value */
static const char *
await_value(pgembed_engine *e, const char *sql, const char *want)
{
	const char *v = scalar(e, sql);

	for (int i = 0; i < 300 && (v == NULL || strcmp(v, want) != 0); i++)
	{
		usleep(100000);
		v = scalar(e, sql);
	}
	return v;
}

static void
test_cluster_subscribes_to_a_cluster(void)
{
	const char *dir = socket_dir();
	char		setting[128],
				sql[256];
	const char *pub_settings[] = {"wal_level=logical", "max_wal_senders=4", "autovacuum=off", setting};
	const char *sub_settings[] = {"max_logical_replication_workers=2", "autovacuum=off",
	"wal_retrieve_retry_interval=100ms"};
	pgembed_cluster *pub,
			   *sub;
	pgembed_engine *p,
			   *s;

	REQUIRE(dir != NULL);
	snprintf(setting, sizeof(setting), "pgembed.socket_directory=%s", dir);
	pub = cluster_fresh(4, pub_settings);
	REQUIRE(pub != NULL);
	sub = cluster_fresh(3, sub_settings);
	REQUIRE(sub != NULL);
	p = backend(pub);
	s = backend(sub);
	REQUIRE(p != NULL && s != NULL);
	CHECK_STR(sqlstate_of(p, "CREATE TABLE t (id int PRIMARY KEY, v text)"), "00000");
	CHECK_STR(sqlstate_of(p, "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g"), "00000");
	CHECK_STR(sqlstate_of(p, "CREATE PUBLICATION p FOR TABLE t"), "00000");
	CHECK_STR(sqlstate_of(s, "CREATE TABLE t (id int PRIMARY KEY, v text)"), "00000");
	snprintf(sql, sizeof(sql),
			 "CREATE SUBSCRIPTION s CONNECTION 'host=%s dbname=postgres user=postgres' PUBLICATION p", dir);
	CHECK_STR(sqlstate_of(s, sql), "00000");
	CHECK_STR(await_value(s, "SELECT count(*) FROM t", "1000"), "1000");
	CHECK_STR(sqlstate_of(p, "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1001, 1100) g"), "00000");
	CHECK_STR(await_value(s, "SELECT count(*) FROM t", "1100"), "1100");
	CHECK_STR(scalar(s, "SELECT count(*) FROM pg_stat_activity WHERE backend_type IN"
					 " ('logical replication launcher', 'logical replication apply worker')"), "2");
	/* DROP SUBSCRIPTION connects once more, to drop the slot in the publisher */
	CHECK_STR(sqlstate_of(s, "DROP SUBSCRIPTION s"), "00000");
	CHECK_STR(scalar(p, "SELECT count(*) FROM pg_replication_slots"), "0");
	pgembed_close(p, NULL);
	pgembed_close(s, NULL);
	close_cluster(sub);
	close_cluster(pub);
	CHECK(rmdir(dir) == 0);
}

const test_case cluster_socket_tests[] = {
	{"cluster socket: a client of pgembed.socket_directory gets a WAL sender; Terminate ends it and closes the socket", test_wal_sender_on_the_socket},
	{"cluster socket: a WAL sender beyond max_wal_senders is PostgreSQL's 53300, and the socket closes", test_wal_senders_beyond_the_limit},
	{"cluster socket: a cluster's subscription replicates another cluster's publication through its socket", test_cluster_subscribes_to_a_cluster},
	{NULL, NULL}
};
