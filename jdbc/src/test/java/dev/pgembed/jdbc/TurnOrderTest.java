package dev.pgembed.jdbc;

import static dev.pgembed.jdbc.SharingTest.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Connections that share one backend wait for their turn like sessions wait for a lock (issue #18, item 8):
 * first come, first served, and at most as long as their own {@code lock_timeout} or {@code statement_timeout}
 * say (then they fail with PostgreSQL's SQLSTATEs for those timeouts, 55P03 and 57014).
 */
class TurnOrderTest {

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    @Test
    void waitersAreServedInTheOrderTheyCame() throws Exception {
        String url = "jdbc:pgembed:memory:fifo?transactionWaitTimeout=120s";
        int n = 8;
        List<Connection> waiters = new ArrayList<>();
        try (Connection holder = DriverManager.getConnection(url)) {
            execute(holder, "CREATE TABLE served (seq serial PRIMARY KEY, waiter int)");
            for (int i = 0; i < n; i++) {
                waiters.add(DriverManager.getConnection(url));
            }
            holder.setAutoCommit(false);
            execute(holder, "SELECT 1");
            List<CompletableFuture<Void>> done = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int id = i;
                Connection c = waiters.get(i);
                done.add(CompletableFuture.runAsync(
                        () -> {
                            try (PreparedStatement ps = c.prepareStatement("INSERT INTO served (waiter) VALUES (?)")) {
                                ps.setInt(1, id);
                                ps.executeUpdate();
                            } catch (SQLException e) {
                                throw new IllegalStateException(e);
                            }
                        },
                        r -> Thread.ofPlatform().daemon().start(r)));
                // the next waiter comes clearly after this one has started waiting
                Thread.sleep(150);
            }
            holder.commit();
            for (CompletableFuture<Void> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            holder.setAutoCommit(true);
            List<String> order = new ArrayList<>();
            try (Statement s = holder.createStatement();
                    var rs = s.executeQuery("SELECT waiter FROM served ORDER BY seq")) {
                while (rs.next()) {
                    order.add(rs.getString(1));
                }
            }
            assertThat(order).containsExactly("0", "1", "2", "3", "4", "5", "6", "7");
        } finally {
            for (Connection c : waiters) {
                c.close();
            }
        }
    }

    @Test
    void aConnectionInALoopOfTransactionsDoesNotStarveAnother() throws Exception {
        // No timing in it: the loop commits until it sees the other connection's row, at most LOOP_BOUND times.
        // Served in order, the other connection gets the backend at the loop's next transaction boundary after
        // it asked, so the loop sees its row after at most one more transaction; starved, it would get it only
        // when the loop gives up.
        final int loopBound = 100_000;
        String url = "jdbc:pgembed:memory:starve?transactionWaitTimeout=120s";
        try (Connection busy = DriverManager.getConnection(url);
                Connection other = DriverManager.getConnection(url)) {
            execute(busy, "CREATE TABLE log (seq serial PRIMARY KEY, who text)");
            CountDownLatch looping = new CountDownLatch(10);
            CompletableFuture<Integer> loop = CompletableFuture.supplyAsync(
                    () -> {
                        try (PreparedStatement insert = busy.prepareStatement("INSERT INTO log (who) VALUES ('busy')");
                                PreparedStatement seen =
                                        busy.prepareStatement("SELECT count(*) FROM log WHERE who = 'other'")) {
                            busy.setAutoCommit(false);
                            int i = 0;
                            for (; i < loopBound; i++) {
                                insert.executeUpdate();
                                boolean otherIsIn;
                                try (var rs = seen.executeQuery()) {
                                    rs.next();
                                    otherIsIn = rs.getInt(1) > 0;
                                }
                                busy.commit();
                                looping.countDown();
                                if (otherIsIn) {
                                    break;
                                }
                            }
                            busy.setAutoCommit(true);
                            return i;
                        } catch (SQLException e) {
                            throw new IllegalStateException(e);
                        }
                    },
                    r -> Thread.ofPlatform().daemon().start(r));
            assertThat(looping.await(60, TimeUnit.SECONDS)).isTrue();
            execute(other, "INSERT INTO log (who) VALUES ('other')");
            int iterations = loop.get(300, TimeUnit.SECONDS);
            assertThat(iterations)
                    .as("the loop saw the other row before its bound")
                    .isLessThan(loopBound);
            int after = Integer.parseInt(one(
                    other,
                    "SELECT count(*) FROM log WHERE who = 'busy' AND seq > (SELECT seq FROM log WHERE who = 'other')"));
            assertThat(after)
                    .as("transactions of the loop after the other connection's")
                    .isLessThanOrEqualTo(1);
        }
    }

    /* holds a transaction on holder while body runs */
    private static void whileHeld(Connection holder, ThrowingRunnable body) throws Exception {
        holder.setAutoCommit(false);
        execute(holder, "SELECT 1");
        try {
            body.run();
        } finally {
            holder.rollback();
            holder.setAutoCommit(true);
        }
    }

    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    private static CompletableFuture<SQLException> failure(Connection c, String sql) {
        return CompletableFuture.supplyAsync(
                () -> {
                    try {
                        one(c, sql);
                        return null;
                    } catch (SQLException e) {
                        return e;
                    }
                },
                r -> Thread.ofPlatform().daemon().start(r));
    }

    @Test
    void lockTimeoutAndStatementTimeoutBoundTheWaitForTheTurn() throws Exception {
        String url = "jdbc:pgembed:memory:timeouts?transactionWaitTimeout=120s";
        try (Connection holder = DriverManager.getConnection(url);
                Connection waiter = DriverManager.getConnection(url)) {
            execute(waiter, "SET lock_timeout = '300ms'");
            whileHeld(holder, () -> {
                SQLException e = failure(waiter, "SELECT 2").get(30, TimeUnit.SECONDS);
                assertThat((Throwable) e).isNotNull();
                assertThat(e.getSQLState()).isEqualTo("55P03");
                assertThat(e.getMessage()).contains("lock timeout").contains("lock_timeout");
            });
            // the connection is usable afterwards, and its setting is still its own
            assertThat(one(waiter, "SHOW lock_timeout")).isEqualTo("300ms");
            assertThat(one(holder, "SHOW lock_timeout")).isEqualTo("0");

            execute(waiter, "SET lock_timeout = 0");
            execute(waiter, "SET statement_timeout = '400ms'");
            whileHeld(holder, () -> {
                SQLException e = failure(waiter, "SELECT 3").get(30, TimeUnit.SECONDS);
                assertThat((Throwable) e).isNotNull();
                assertThat(e.getSQLState()).isEqualTo("57014");
                assertThat(e.getMessage()).contains("statement timeout");
            });
            // the smaller one decides
            execute(waiter, "SET lock_timeout = '1min'");
            whileHeld(holder, () -> {
                SQLException e = failure(waiter, "SELECT 4").get(30, TimeUnit.SECONDS);
                assertThat(e.getSQLState()).isEqualTo("57014");
            });
            assertThat(one(waiter, "SELECT 5")).isEqualTo("5");
        }
    }

    @Test
    void aStartUpOptionBoundsTheWaitToo() throws Exception {
        String url = "jdbc:pgembed:memory:timeout-option?transactionWaitTimeout=120s";
        Properties p = new Properties();
        p.setProperty("options", "-c lock_timeout=250ms");
        try (Connection holder = DriverManager.getConnection(url);
                Connection waiter = DriverManager.getConnection(url, p)) {
            whileHeld(holder, () -> {
                SQLException e = failure(waiter, "SELECT 2").get(30, TimeUnit.SECONDS);
                assertThat((Throwable) e).isNotNull();
                assertThat(e.getSQLState()).isEqualTo("55P03");
            });
        }
    }
}
