package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A PANIC in one pooled connection of a database with several backends ({@code ?backends=n}): PostgreSQL's
 * crash restart ends every other backend (an idle one, one in a transaction, one running a statement), and
 * each connection gets what a server sends, PostgreSQL's WARNING 57P02 and then the end of its connection
 * (pgjdbc: 08006); shared memory is re-created and recovery runs; HikariCP drops the dead connections and
 * opens new ones once recovery is done; the pool serves again, with every committed row there and the
 * uncommitted one gone; and this JVM lives on. The PANIC comes from the C tests' module ({@link PanicModule}),
 * as in the C test {@code cluster: a PANIC in one backend restarts the cluster}.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class PanicUnderPoolTest {
    private static final int POOL = 4;
    private static final int COMMITTED = 100;

    @TempDir
    Path tmp;

    @Test
    void aPanicRestartsTheClusterAndThePoolServesAgain() throws Exception {
        Path module = PanicModule.compile(tmp);
        HikariConfig cfg = new HikariConfig();
        cfg.setJdbcUrl("jdbc:pgembed:" + tmp.resolve("db") + "?backends=" + (POOL + 2));
        cfg.setMaximumPoolSize(POOL);
        cfg.setMinimumIdle(POOL);
        cfg.setConnectionTimeout(60_000);
        try (HikariDataSource ds = new HikariDataSource(cfg)) {
            String checkpointBefore;
            try (Connection c = ds.getConnection()) {
                exec(
                        c,
                        "CREATE FUNCTION test_panic() RETURNS void LANGUAGE c AS '" + module
                                + "', 'pgembed_test_panic';"
                                + " CREATE TABLE kept (id int PRIMARY KEY, v text);"
                                + " INSERT INTO kept SELECT g, 'row ' || g FROM generate_series(1, " + COMMITTED
                                + ") g");
                checkpointBefore = one(c, "SELECT checkpoint_lsn FROM pg_control_checkpoint()");
            }
            Connection idle = ds.getConnection();
            Connection inTransaction = ds.getConnection();
            Connection busy = ds.getConnection();
            Connection panicking = ds.getConnection();
            List<String> pids = new ArrayList<>();
            for (Connection c : List.of(idle, inTransaction, busy, panicking)) {
                pids.add(one(c, "SELECT pg_backend_pid()"));
            }
            assertThat(pids)
                    .as("each pooled connection on a backend of its own")
                    .doesNotHaveDuplicates();
            inTransaction.setAutoCommit(false);
            exec(inTransaction, "INSERT INTO kept VALUES (0, 'never committed')");
            CompletableFuture<Failure> sleeper =
                    CompletableFuture.supplyAsync(() -> failure(busy, "SELECT pg_sleep(120)"));
            waitUntilSleeping(panicking, pids.get(2));

            assertThatThrownBy(() -> one(panicking, "SELECT test_panic()"))
                    .isInstanceOfSatisfying(
                            SQLException.class,
                            e -> System.out.printf(
                                    "the panicking connection: %s %s%n", e.getSQLState(), e.getMessage()));

            // the statement that ran on another backend ends with the crash restart's SIGQUIT, the idle backend
            // and the one in a transaction with it: as from a server, each connection gets PostgreSQL's WARNING
            // 57P02 and then the end of its connection (pgjdbc: 08006 with the warning on the statement)
            Failure slept = sleeper.get(60, TimeUnit.SECONDS);
            Failure idled = failure(idle, "SELECT 1");
            Failure committed = failure(inTransaction, "COMMIT");
            for (Failure f : List.of(slept, idled, committed)) {
                System.out.printf("%s%n", f);
                assertThat(f.sqlState()).as("%s", f).isIn("57P02", "08006");
                assertThat(f.warnings())
                        .as("%s", f)
                        .contains("57P02 terminating connection because of crash of another server process");
            }
            for (Connection c : List.of(idle, inTransaction, busy, panicking)) {
                c.close(); // back to the pool, which evicts them as broken
            }

            // the pool reconnects (new connections wait out the recovery within connectionTimeout) and serves
            long t0 = System.nanoTime();
            List<CompletableFuture<Void>> writers = new ArrayList<>();
            for (int w = 0; w < POOL; w++) {
                int writer = w;
                writers.add(CompletableFuture.runAsync(() -> {
                    try (Connection c = ds.getConnection()) {
                        for (int i = 1; i <= 25; i++) {
                            exec(c, "INSERT INTO kept VALUES (" + (1000 * (writer + 1) + i) + ", 'after')");
                        }
                    } catch (SQLException e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            for (CompletableFuture<Void> f : writers) {
                f.get(120, TimeUnit.SECONDS);
            }
            System.out.printf(
                    "the pool served %d writers again %.0f ms after the PANIC's failures%n",
                    POOL, (System.nanoTime() - t0) / 1e6);
            try (Connection c = ds.getConnection()) {
                assertThat(one(c, "SELECT count(*) FROM kept WHERE id BETWEEN 1 AND " + COMMITTED))
                        .as("rows committed before the PANIC")
                        .isEqualTo("" + COMMITTED);
                assertThat(one(c, "SELECT count(*) FROM kept WHERE id = 0"))
                        .as("the uncommitted row")
                        .isEqualTo("0");
                assertThat(one(c, "SELECT count(*) FROM kept WHERE v = 'after'"))
                        .isEqualTo("" + POOL * 25);
                // crash recovery ended with a checkpoint of its own
                assertThat(one(c, "SELECT checkpoint_lsn > '" + checkpointBefore + "' FROM pg_control_checkpoint()"))
                        .as("a checkpoint after the one before the PANIC")
                        .isEqualTo("t");
                assertThat(one(c, "SELECT pg_is_in_recovery()")).isEqualTo("f");
                assertThat(pids).doesNotContain(one(c, "SELECT pg_backend_pid()"));
            }
        }
        // the directory opens again after the pool closed it: the host lived through all of it
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:pgembed:" + tmp.resolve("db"))) {
            assertThat(one(c, "SELECT count(*) FROM kept")).isEqualTo("" + (COMMITTED + POOL * 25));
        }
    }

    /* how a statement failed: its SQLSTATE and message, and the warnings the statement got before */
    private record Failure(String sql, String sqlState, String message, String warnings) {}

    /* runs sql on c, which must fail */
    private static Failure failure(Connection c, String sql) {
        try (Statement s = c.createStatement()) {
            try {
                s.execute(sql);
            } catch (SQLException e) {
                StringBuilder warnings = new StringBuilder();
                for (java.sql.SQLWarning w = s.getWarnings(); w != null; w = w.getNextWarning()) {
                    warnings.append(w.getSQLState())
                            .append(' ')
                            .append(w.getMessage())
                            .append("; ");
                }
                return new Failure(sql, e.getSQLState(), e.getMessage(), warnings.toString());
            }
        } catch (SQLException e) {
            return new Failure(sql, e.getSQLState(), e.getMessage(), "(none: " + e.getMessage() + ")");
        }
        throw new AssertionError(sql + " did not fail");
    }

    /* waits until the backend with pid runs pg_sleep, so that the PANIC finds it in a statement */
    private static void waitUntilSleeping(Connection c, String pid) throws Exception {
        for (int i = 0; i < 500; i++) {
            if ("1"
                    .equals(one(
                            c,
                            "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid
                                    + " AND state = 'active' AND query LIKE '%pg_sleep%'"))) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("backend " + pid + " never ran pg_sleep");
    }

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
}
