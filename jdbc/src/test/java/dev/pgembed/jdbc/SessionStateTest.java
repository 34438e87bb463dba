package dev.pgembed.jdbc;

import static dev.pgembed.jdbc.SharingTest.one;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PgException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Session-scoped state of connections that share one backend behaves as with separate sessions, or is refused
 * clearly (issue #18, item 8): a session-level advisory lock or a cursor WITH HOLD keeps the turn with its
 * connection (others wait as for the lock, bounded by their lock_timeout), and settings, sequence state and
 * SQL-level prepared statements stay with their connection across hand-overs, also on the short hand-over.
 */
class SessionStateTest {

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /* runs sql on c on another thread (the turn is another connection's); its result or its SQLSTATE */
    private static String elsewhere(Connection c, String sql) throws Exception {
        return CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                return one(c, sql);
                            } catch (SQLException e) {
                                return "SQLSTATE " + e.getSQLState() + ": " + e.getMessage();
                            }
                        },
                        r -> Thread.ofPlatform().daemon().start(r))
                .get(60, TimeUnit.SECONDS);
    }

    private static Properties lockTimeout(String value) {
        Properties p = new Properties();
        p.setProperty("options", "-c lock_timeout=" + value);
        return p;
    }

    @Test
    void aSessionAdvisoryLockExcludesOtherConnections() throws Exception {
        String url = "jdbc:pgembed:memory:advisory?transactionWaitTimeout=120s";
        try (Connection a = DriverManager.getConnection(url, lockTimeout("400ms"));
                Connection b = DriverManager.getConnection(url, lockTimeout("400ms"))) {
            assertThat(one(a, "SELECT pg_try_advisory_lock(42)")).isEqualTo("t");
            // b cannot take it: it waits as for the lock, then fails like a lock timeout naming what a holds
            assertThat(elsewhere(b, "SELECT pg_try_advisory_lock(42)"))
                    .startsWith("SQLSTATE 55P03")
                    .contains("lock_timeout")
                    .contains("advisory lock");
            // a keeps working meanwhile, and lets go
            assertThat(one(a, "SELECT pg_advisory_unlock(42)")).isEqualTo("t");
            assertThat(elsewhere(b, "SELECT pg_try_advisory_lock(42)")).isEqualTo("t");
            assertThat(elsewhere(a, "SELECT pg_try_advisory_lock(42)")).startsWith("SQLSTATE 55P03");
            // a connection that ends releases its locks, as a session does
            b.close();
            assertThat(elsewhere(a, "SELECT pg_try_advisory_lock(42)")).isEqualTo("t");
            execute(a, "SELECT pg_advisory_unlock_all()");
            assertThat(one(a, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
                    .isEqualTo("0");
        }
    }

    @Test
    void aTransactionAdvisoryLockEndsWithItsTransaction() throws Exception {
        String url = "jdbc:pgembed:memory:advisory-xact?transactionWaitTimeout=120s";
        try (Connection a = DriverManager.getConnection(url, lockTimeout("400ms"));
                Connection b = DriverManager.getConnection(url, lockTimeout("400ms"))) {
            assertThat(one(a, "SELECT pg_try_advisory_xact_lock(7)")).isEqualTo("t");
            assertThat(elsewhere(b, "SELECT pg_try_advisory_xact_lock(7)")).isEqualTo("t");
            assertThat(elsewhere(a, "SELECT 1")).isEqualTo("1");
        }
    }

    @Test
    void aCursorWithHoldStaysWithItsConnection() throws Exception {
        String url = "jdbc:pgembed:memory:with-hold?transactionWaitTimeout=120s";
        try (Connection a = DriverManager.getConnection(url);
                Connection b = DriverManager.getConnection(url, lockTimeout("400ms"))) {
            execute(a, "DECLARE c CURSOR WITH HOLD FOR SELECT g FROM generate_series(1, 3) g");
            assertThat(elsewhere(b, "SELECT count(*) FROM pg_cursors WHERE name = 'c'"))
                    .startsWith("SQLSTATE 55P03")
                    .contains("cursor WITH HOLD");
            assertThat(one(a, "FETCH c")).isEqualTo("1");
            assertThat(one(a, "FETCH c")).isEqualTo("2");
            execute(a, "CLOSE c");
            assertThat(elsewhere(b, "SELECT count(*) FROM pg_cursors WHERE name = 'c'"))
                    .isEqualTo("0");
        }
    }

    @Test
    void settingsAndSequenceStateStayWithTheirConnectionOnEveryHandOver() throws Exception {
        String url = "jdbc:pgembed:memory:short-hand-over";
        Properties pa = new Properties();
        pa.setProperty("ApplicationName", "conn-a");
        Properties pb = new Properties();
        pb.setProperty("ApplicationName", "conn-b");
        try (Connection a = DriverManager.getConnection(url, pa);
                Connection b = DriverManager.getConnection(url, pb)) {
            String defaultWorkMem = one(b, "SHOW work_mem");
            execute(a, "CREATE TABLE t (id serial PRIMARY KEY, v int)");
            execute(a, "SET work_mem = '7MB'");
            for (int i = 0; i < 3; i++) {
                // statements that change nothing of the session: the short hand-over each time
                assertThat(one(a, "SHOW application_name")).isEqualTo("conn-a");
                assertThat(one(b, "SHOW application_name")).isEqualTo("conn-b");
                assertThat(one(a, "SHOW work_mem")).isEqualTo("7MB");
                assertThat(one(b, "SHOW work_mem")).isEqualTo(defaultWorkMem);
            }
            // sequence state (currval) is per session
            execute(a, "INSERT INTO t (v) VALUES (1)");
            assertThat(one(a, "SELECT currval('t_id_seq')")).isEqualTo("1");
            try (Statement s = b.createStatement()) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.executeQuery("SELECT currval('t_id_seq')"))
                        .isInstanceOfSatisfying(
                                SQLException.class,
                                e -> assertThat(e.getSQLState()).isEqualTo("55000"));
            }
            // a RESET is noticed too
            execute(a, "RESET work_mem");
            assertThat(one(b, "SHOW work_mem")).isEqualTo(defaultWorkMem);
            assertThat(one(a, "SHOW work_mem")).isEqualTo(defaultWorkMem);
            // SQL-level prepared statements of one connection do not collide with another's
            execute(a, "PREPARE p AS SELECT 1");
            execute(b, "PREPARE p AS SELECT 2");
            assertThat(one(b, "EXECUTE p")).isEqualTo("2");
        }
    }

    @Test
    void advisoryLocksExcludeBetweenTheDirectApiAndConnections(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("db");
        try (PgEmbedded db = PgEmbedded.builder(data)
                        .transactionWaitTimeout(Duration.ofMillis(400))
                        .open();
                Connection c = DriverManager.getConnection("jdbc:pgembed:" + data)) {
            assertThat(one(c, "SELECT 1")).isEqualTo("1");
            try (var r = db.query("SELECT pg_try_advisory_lock(42)")) {
                assertThat(r.row(0).getBoolean(0)).isTrue();
            }
            // the connection cannot take the session over while the direct API holds the lock: refused clearly
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> one(c, "SELECT pg_try_advisory_lock(42)"))
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getSQLState()).isEqualTo("55P03");
                        assertThat(e.getMessage()).contains("direct Java API holds 1 session-level advisory lock");
                    });
            try (var r = db.query("SELECT pg_advisory_unlock(42)")) {
                assertThat(r.row(0).getBoolean(0)).isTrue();
            }
            assertThat(one(c, "SELECT pg_try_advisory_lock(42)")).isEqualTo("t");
            // the other way round the direct API waits for the connection, at most its transaction wait timeout
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> CompletableFuture.supplyAsync(
                                    () -> db.query("SELECT pg_try_advisory_lock(42)"),
                                    r -> Thread.ofPlatform().daemon().start(r))
                            .join())
                    .hasCauseInstanceOf(PgException.class)
                    .satisfies(e ->
                            assertThat(((PgException) e.getCause()).sqlState()).isEqualTo("55P03"));
            execute(c, "SELECT pg_advisory_unlock_all()");
            try (var r = db.query("SELECT pg_try_advisory_lock(42)")) {
                assertThat(r.row(0).getBoolean(0)).isTrue();
            }
        }
    }
}
