package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.PgEmbedded;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A statement's NOTICE reaches its client when it is raised, as a server flushes it to the socket, while the
 * statement goes on: here it then waits for a row another connection holds, and pgjdbc's {@code getWarnings}
 * shows the notice before that connection commits. On a database with several backends: in process on a backend
 * of its own and on the database's shared one, and in serve mode (pgjdbc over TCP).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NoticeWhileWaitingTest {
    private static final String NOTICE_THEN_WAIT = "DO $$BEGIN RAISE NOTICE 'waiting for row 1';"
            + " PERFORM * FROM t WHERE id = 1 FOR UPDATE; RAISE NOTICE 'got row 1'; END$$";

    @TempDir
    Path tmp;

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /* the first warning's message once there is one, or null when the statement ended first */
    private static String firstWarning(Statement s, CompletableFuture<?> running) throws Exception {
        while (true) {
            SQLWarning w = s.getWarnings();
            if (w != null) {
                return w.getMessage();
            }
            if (running.isDone()) {
                return null;
            }
            Thread.sleep(10);
        }
    }

    private static void waitUntilLockWait(Connection watcher, String pid) throws Exception {
        String sql = "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid + " AND wait_event_type = 'Lock'";
        while (!one(watcher, sql).equals("1")) {
            Thread.sleep(10);
        }
    }

    /* holder locks row 1; waiter's statement raises a notice, then waits for the row */
    private static void noticeArrivesWhileTheStatementWaits(Connection holder, Connection waiter, Connection watcher)
            throws Exception {
        try (Statement s = holder.createStatement()) {
            s.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)");
        }
        holder.setAutoCommit(false);
        assertThat(one(holder, "SELECT id FROM t WHERE id = 1 FOR UPDATE")).isEqualTo("1");
        String waiterPid = one(waiter, "SELECT pg_backend_pid()");
        try (Statement s = waiter.createStatement()) {
            CompletableFuture<Boolean> running = CompletableFuture.supplyAsync(() -> {
                try {
                    return s.execute(NOTICE_THEN_WAIT);
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            // the notice is there while the statement still waits for holder's row
            assertThat(firstWarning(s, running)).isEqualTo("waiting for row 1");
            waitUntilLockWait(watcher, waiterPid);
            assertThat(running).isNotDone();
            holder.commit();
            assertThat(running.get(60, TimeUnit.SECONDS)).isFalse();
            assertThat(s.getWarnings().getNextWarning().getMessage()).isEqualTo("got row 1");
        }
        // the connection goes on as usual
        assertThat(one(waiter, "SELECT 6 * 7")).isEqualTo("42");
    }

    @Test
    void inProcessConnectionSeesTheNoticeWhileItsStatementWaits() throws Exception {
        String url = "jdbc:pgembed:memory:notice-waits?backends=4";
        try (Connection holder = DriverManager.getConnection(url);
                Connection waiter = DriverManager.getConnection(url);
                Connection watcher = DriverManager.getConnection(url)) {
            assertThat(one(holder, "SELECT pg_backend_pid()")).isNotEqualTo(one(waiter, "SELECT pg_backend_pid()"));
            noticeArrivesWhileTheStatementWaits(holder, waiter, watcher);
        }
    }

    @Test
    void connectionSharingTheDatabasesBackendSeesTheNoticeWhileItsStatementWaits() throws Exception {
        // the database's own backend and two more: the third connection shares the database's (turn-taking)
        String url = "jdbc:pgembed:memory:notice-waits-shared?backends=3";
        try (Connection holder = DriverManager.getConnection(url);
                Connection watcher = DriverManager.getConnection(url);
                Connection waiter = DriverManager.getConnection(url)) {
            Backend open = Backend.acquire("mem:notice-waits-shared", null, () -> {
                throw new AssertionError("open already");
            });
            try {
                String own;
                try (dev.pgembed.Result r = open.db.query("SELECT pg_backend_pid()")) {
                    own = r.row(0).getString(0);
                }
                assertThat(one(waiter, "SELECT pg_backend_pid()")).isEqualTo(own);
            } finally {
                open.release();
            }
            noticeArrivesWhileTheStatementWaits(holder, waiter, watcher);
        }
    }

    @Test
    void serveModeClientSeesTheNoticeWhileItsStatementWaits() throws Exception {
        try (PgEmbedded db = PgEmbedded.builder(tmp.resolve("db")).backends(4).open();
                PgEmbedServer server = PgEmbedServer.tcp(db, 0, "pw")) {
            InetSocketAddress at = (InetSocketAddress) server.address();
            String url = "jdbc:postgresql://" + at.getAddress().getHostAddress() + ":" + server.port() + "/postgres";
            try (Connection holder = DriverManager.getConnection(url, "postgres", "pw");
                    Connection waiter = DriverManager.getConnection(url, "postgres", "pw");
                    Connection watcher = DriverManager.getConnection(url, "postgres", "pw")) {
                noticeArrivesWhileTheStatementWaits(holder, waiter, watcher);
            }
        }
    }
}
