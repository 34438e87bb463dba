package dev.pgembed.jdbc;

import static dev.pgembed.jdbc.SharingTest.one;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Closing a pool, aborting a connection, checking and opening connections while another connection holds the
 * shared session: none of them may wait for the session (issue #18, item 6). The transaction wait timeout is far
 * longer than the bounds asserted here, so a wait for the turn shows as a failure, not as a slow pass.
 */
class PoolShutdownTest {

    /* runs sql on c in another thread; the future holds "ok" or the SQLSTATE it failed with */
    private static CompletableFuture<String> inBackground(Connection c, String sql) {
        return CompletableFuture.supplyAsync(
                () -> {
                    try {
                        one(c, sql);
                        return "ok";
                    } catch (SQLException e) {
                        return e.getSQLState();
                    }
                },
                Executors.newSingleThreadExecutor(r -> {
                    Thread t = new Thread(r, "waiter");
                    t.setDaemon(true);
                    return t;
                }));
    }

    /* holds a transaction on c in its own thread until release counts down */
    private static Thread holdTransaction(Connection c, CountDownLatch begun, CountDownLatch release) {
        Thread t = new Thread(
                () -> {
                    try {
                        c.setAutoCommit(false);
                        one(c, "SELECT 1");
                        begun.countDown();
                        release.await();
                        c.rollback();
                    } catch (SQLException | InterruptedException e) {
                        // the connection was closed under it: expected when the pool shuts down
                    }
                },
                "holder");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void closingAWaitingConnectionFromAnotherThreadEndsItsWaitAtOnce() throws Exception {
        String url = "jdbc:pgembed:memory:abort-waiting?transactionWaitTimeout=120s";
        try (Connection holder = DriverManager.getConnection(url);
                Connection waiter = DriverManager.getConnection(url)) {
            CountDownLatch begun = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread h = holdTransaction(holder, begun, release);
            assertThat(begun.await(20, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<String> waiting = inBackground(waiter, "SELECT 2");
            Thread.sleep(300);
            assertThat(waiting).isNotDone();

            ExecutorService executor = Executors.newSingleThreadExecutor();
            try {
                Future<?> aborted = executor.submit(() -> {
                    waiter.abort(Runnable::run);
                    return null;
                });
                aborted.get(20, TimeUnit.SECONDS);
            } finally {
                executor.shutdown();
            }
            // the wait failed as a connection that no longer exists, and the holder's transaction is intact
            assertThat(waiting.get(20, TimeUnit.SECONDS)).isIn("08003", "57P01", "08006");
            assertThat(waiter.isClosed()).isTrue();
            assertThat(h.isAlive()).isTrue();
            release.countDown();
            h.join(20_000);
            assertThat(one(holder, "SELECT 3")).isEqualTo("3");
        }
    }

    @Test
    void closingAPoolWithATransactionAndAWaiterReturnsAtOnce() throws Exception {
        HikariConfig cfg = new HikariConfig();
        cfg.setJdbcUrl("jdbc:pgembed:memory:pool-close?transactionWaitTimeout=120s");
        cfg.setMaximumPoolSize(2);
        cfg.setMinimumIdle(2);
        HikariDataSource ds = new HikariDataSource(cfg);
        Connection a = ds.getConnection();
        Connection b = ds.getConnection();
        CountDownLatch begun = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        holdTransaction(a, begun, release);
        assertThat(begun.await(20, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<String> waiting = inBackground(b, "SELECT 2");
        Thread.sleep(300);
        assertThat(waiting).isNotDone();

        CompletableFuture<Void> closed = CompletableFuture.runAsync(ds::close);
        // HikariCP aborts connections still in use: the one in a transaction and the one waiting for its turn
        closed.get(25, TimeUnit.SECONDS);
        assertThat(waiting.get(20, TimeUnit.SECONDS)).isIn("08003", "57P01", "08006");
        release.countDown();
    }

    @Test
    void aNewConnectionAndAConnectionCheckDoNotWaitForTheSession() throws Exception {
        HikariConfig cfg = new HikariConfig();
        cfg.setJdbcUrl("jdbc:pgembed:memory:pool-requires-new?transactionWaitTimeout=120s");
        cfg.setMaximumPoolSize(4);
        cfg.setMinimumIdle(1);
        cfg.setConnectionTimeout(60_000);
        try (HikariDataSource ds = new HikariDataSource(cfg)) {
            try (Connection c = ds.getConnection();
                    Statement s = c.createStatement()) {
                s.execute("CREATE TABLE audit (msg text)");
            }
            try (Connection c1 = ds.getConnection();
                    Connection c2 = ds.getConnection()) {
                one(c1, "SELECT 1");
                one(c2, "SELECT 1");
            }
            // idle longer than HikariCP's 500 ms bypass window: the next loans validate the connection first
            Thread.sleep(700);
            try (Connection outer = ds.getConnection()) {
                // like Spring's REQUIRED: a transaction on this thread's connection
                outer.setAutoCommit(false);
                try (Statement s = outer.createStatement()) {
                    s.execute("INSERT INTO audit VALUES ('outer')");
                }
                long t0 = System.nanoTime();
                // like REQUIRES_NEW: more connections on the same thread, lent after a check or opened anew
                try (Connection inner = ds.getConnection();
                        Connection third = ds.getConnection();
                        Connection fourth = ds.getConnection()) {
                    assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(20));
                    assertThat(inner.isValid(5)).isTrue();
                    assertThat(fourth.isValid(5)).isTrue();
                    // their first statement fails fast, as the README says, instead of waiting for itself
                    assertThatThrownBy(() -> one(inner, "SELECT count(*) FROM audit"))
                            .isInstanceOfSatisfying(SQLException.class, e -> {
                                assertThat(e.getSQLState()).isEqualTo("55P03");
                                assertThat(e.getMessage()).contains("REQUIRES_NEW");
                            });
                    assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(20));
                }
                outer.commit();
            }
            try (Connection c = ds.getConnection()) {
                assertThat(one(c, "SELECT count(*) FROM audit")).isEqualTo("1");
            }
        }
    }

    @Test
    void closingAnIdleConnectionWithPreparedStatementsDoesNotWaitForTheSession() throws Exception {
        String url = "jdbc:pgembed:memory:close-idle?transactionWaitTimeout=120s&prepareThreshold=1";
        try (Connection holder = DriverManager.getConnection(url)) {
            Connection idle = DriverManager.getConnection(url);
            try (var ps = idle.prepareStatement("SELECT ?::int")) {
                ps.setInt(1, 5);
                ps.executeQuery().close();
                ps.setInt(1, 6);
                ps.executeQuery().close();
            }
            assertThat(one(holder, "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT $1::int'"))
                    .isEqualTo("1");
            CountDownLatch begun = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread h = holdTransaction(holder, begun, release);
            assertThat(begun.await(20, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<Void> closed = CompletableFuture.runAsync(() -> {
                try {
                    idle.close();
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            closed.get(20, TimeUnit.SECONDS);
            release.countDown();
            h.join(20_000);
            // the statements the closed connection prepared were closed by the next holder of the session
            one(holder, "SELECT 1");
            assertThat(one(holder, "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT $1::int'"))
                    .isEqualTo("0");
        }
    }
}
