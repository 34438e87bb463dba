package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * JDBC connections and serve-mode clients of a database with several backends ({@code ?backends=n}): each on
 * a PostgreSQL backend of its own, with a server's locks, session state and notifications; beyond the limit
 * they share the database's own backend.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BackendsTest {
    @TempDir
    Path tmp;

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    @Test
    void connectionsHoldTransactionsAtOnceAndWaitForEachOthersLocks() throws Exception {
        String url = "jdbc:pgembed:memory:backends-locks?backends=4&transactionWaitTimeout=2s";
        try (Connection a = DriverManager.getConnection(url);
                Connection b = DriverManager.getConnection(url)) {
            assertThat(one(a, "SELECT pg_backend_pid()")).isNotEqualTo(one(b, "SELECT pg_backend_pid()"));
            exec(a, "CREATE TABLE ta (x int); CREATE TABLE tb (x int); INSERT INTO tb VALUES (1)");
            a.setAutoCommit(false);
            exec(a, "LOCK TABLE ta");
            // b is not a turn-taker behind a's transaction: table b answers at once
            assertThat(one(b, "SELECT count(*) FROM tb")).isEqualTo("1");
            b.setAutoCommit(false);
            exec(b, "INSERT INTO tb VALUES (2)");
            // table a waits in PostgreSQL's lock manager, bounded by lock_timeout as on a server
            exec(b, "SET LOCAL lock_timeout = '200ms'");
            assertThatThrownBy(() -> one(b, "SELECT count(*) FROM ta"))
                    .isInstanceOfSatisfying(
                            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("55P03"));
            b.rollback();
            a.commit();
            assertThat(one(b, "SELECT count(*) FROM ta")).isEqualTo("0");
            b.commit();
        }
    }

    @Test
    void aConnectionBeyondTheLimitSharesTheDatabasesBackend() throws Exception {
        // the database's own backend and one more: the second connection shares the database's
        String url = "jdbc:pgembed:memory:backends-limit?backends=2";
        try (Connection a = DriverManager.getConnection(url);
                Connection b = DriverManager.getConnection(url)) {
            Backend open = Backend.acquire("mem:backends-limit", null, () -> {
                throw new AssertionError("open already");
            });
            try {
                PgEmbedded db = open.db;
                assertThat(db.backendCount()).isEqualTo(2);
                String own;
                try (Result r = db.query("SELECT pg_backend_pid()")) {
                    own = r.row(0).getString(0);
                }
                assertThat(one(a, "SELECT pg_backend_pid()")).isNotEqualTo(own);
                assertThat(one(b, "SELECT pg_backend_pid()")).isEqualTo(own);
                exec(a, "CREATE TABLE t (x int)");
                exec(b, "INSERT INTO t VALUES (1)");
                assertThat(one(a, "SELECT count(*) FROM t")).isEqualTo("1");
            } finally {
                open.release();
            }
        }
    }

    @Test
    void requiresNewInsideATransactionUnderHikari() throws Exception {
        HikariConfig cfg = new HikariConfig();
        cfg.setJdbcUrl("jdbc:pgembed:memory:backends-hikari?backends=6&transactionWaitTimeout=2s");
        cfg.setMaximumPoolSize(4);
        try (HikariDataSource ds = new HikariDataSource(cfg)) {
            try (Connection c = ds.getConnection()) {
                exec(c, "CREATE TABLE audit (msg text); CREATE TABLE orders (id int)");
            }
            // what Spring's REQUIRES_NEW does: suspend the outer transaction, run the inner on another connection
            try (Connection outer = ds.getConnection()) {
                outer.setAutoCommit(false);
                exec(outer, "INSERT INTO orders VALUES (1)");
                try (Connection inner = ds.getConnection()) {
                    inner.setAutoCommit(false);
                    exec(inner, "INSERT INTO audit VALUES ('attempted')");
                    assertThat(one(inner, "SELECT count(*) FROM orders")).isEqualTo("0");
                    inner.commit();
                }
                outer.rollback();
            }
            try (Connection c = ds.getConnection()) {
                assertThat(one(c, "SELECT count(*) FROM audit")).isEqualTo("1");
                assertThat(one(c, "SELECT count(*) FROM orders")).isEqualTo("0");
            }
        }
    }

    @Test
    void getNotificationsWakesUpWhenAnotherConnectionNotifies() throws Exception {
        String url = "jdbc:pgembed:memory:backends-notify?backends=4";
        try (Connection listener = DriverManager.getConnection(url);
                Connection sender = DriverManager.getConnection(url)) {
            exec(listener, "LISTEN jobs");
            PGConnection pg = listener.unwrap(PGConnection.class);
            assertThat(pg.getNotifications()).isEmpty();
            CompletableFuture<Void> notify = CompletableFuture.runAsync(() -> {
                try {
                    Thread.sleep(300);
                    exec(sender, "NOTIFY jobs, 'job 7'");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            // the listener sends nothing: the notification wakes the waiting thread up
            PGNotification[] got = pg.getNotifications(30_000);
            notify.get(30, TimeUnit.SECONDS);
            assertThat(got).hasSize(1);
            assertThat(got[0].getName()).isEqualTo("jobs");
            assertThat(got[0].getParameter()).isEqualTo("job 7");
            assertThat(got[0].getPID()).isEqualTo(Integer.parseInt(one(sender, "SELECT pg_backend_pid()")));
            // a timeout with nothing to deliver
            assertThat(pg.getNotifications(50)).isEmpty();
            assertThat(one(listener, "SELECT 42")).isEqualTo("42");
        }
    }

    @Test
    void aTerminatedConnectionGetsItsFatalAndTheOthersGoOn() throws Exception {
        String url = "jdbc:pgembed:memory:backends-terminate?backends=4";
        try (Connection victim = DriverManager.getConnection(url);
                Connection admin = DriverManager.getConnection(url)) {
            String pid = one(victim, "SELECT pg_backend_pid()");
            assertThat(one(admin, "SELECT pg_terminate_backend(" + pid + ", 10000)"))
                    .isEqualTo("t");
            assertThatThrownBy(() -> one(victim, "SELECT 1")).isInstanceOf(SQLException.class);
            assertThat(victim.isValid(5)).isFalse();
            assertThat(one(admin, "SELECT 6 * 7")).isEqualTo("42");
        }
    }

    @Test
    void psqlLockingTableADoesNotBlockTheApplicationOnTableB() throws Exception {
        try (PgEmbedded db = PgEmbedded.builder(tmp.resolve("db")).backends(4).open();
                PgEmbedServer server = PgEmbedServer.unixSocket(db, tmp.resolve("sock"), 5433)) {
            db.execute("CREATE TABLE a (x int); CREATE TABLE b (x int); INSERT INTO b VALUES (1)");
            ProcessBuilder pb = new ProcessBuilder(
                    PgEmbedServer.clientTool("psql").toString(),
                    "-X",
                    "-A",
                    "-t",
                    "-h",
                    tmp.resolve("sock").toString(),
                    "-p",
                    "5433",
                    "-U",
                    "postgres",
                    "-d",
                    "postgres");
            pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
            pb.environment().remove("LD_LIBRARY_PATH");
            pb.redirectErrorStream(true);
            Process psql = pb.start();
            try (Writer in = new OutputStreamWriter(psql.getOutputStream(), StandardCharsets.UTF_8);
                    BufferedReader out =
                            new BufferedReader(new InputStreamReader(psql.getInputStream(), StandardCharsets.UTF_8))) {
                in.write("BEGIN;\nLOCK TABLE a;\nSELECT 'locked';\n");
                in.flush();
                String line;
                do {
                    line = out.readLine();
                } while (line != null && !line.equals("locked"));
                assertThat(line).isEqualTo("locked");
                // psql holds its transaction and the lock on a: the application's own backend reads b at once
                try (Result r = db.query("SELECT count(*) FROM b")) {
                    assertThat(r.row(0).getLong(0)).isEqualTo(1L);
                }
                try (Result r = db.query("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                        + " WHERE c.relname = 'a' AND l.mode = 'AccessExclusiveLock' AND l.granted")) {
                    assertThat(r.row(0).getLong(0)).isEqualTo(1L);
                }
                in.write("COMMIT;\n\\q\n");
                in.flush();
                StringBuilder rest = new StringBuilder();
                while ((line = out.readLine()) != null) { // to its end: psql must not write into a closed pipe
                    rest.append(line).append('\n');
                }
                assertThat(rest.toString()).contains("COMMIT");
            }
            assertThat(psql.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(psql.exitValue()).isZero();
        }
    }
}
