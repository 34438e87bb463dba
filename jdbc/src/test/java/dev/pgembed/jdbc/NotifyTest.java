package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * LISTEN/NOTIFY between connections that share one backend (issue #18, item 5): a notification reaches every
 * connection that listens on its channel and no other, and pgjdbc's {@code getNotifications} behaves as its Javadoc
 * says: without a timeout it returns what arrived, with a timeout it waits at most that long, with 0 it blocks until
 * one arrives.
 */
class NotifyTest {

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static List<String> received(PGNotification[] ns) {
        List<String> r = new ArrayList<>();
        if (ns != null) {
            for (PGNotification n : ns) {
                r.add(n.getName() + ":" + n.getParameter());
            }
        }
        return r;
    }

    /** DISCARD ALL ends the connection's LISTENs as on a server (conformance: guc.sql, JDBC mode, one backend). */
    @Test
    void discardAllEndsTheConnectionsListens() throws Exception {
        String url = "jdbc:pgembed:memory:notify-discard";
        try (Connection a = DriverManager.getConnection(url);
                Connection b = DriverManager.getConnection(url)) {
            execute(a, "LISTEN foo_event");
            execute(b, "LISTEN other_event");
            execute(a, "DISCARD ALL");
            try (Statement s = a.createStatement();
                    java.sql.ResultSet r = s.executeQuery("SELECT pg_listening_channels()")) {
                assertThat(r.next())
                        .as("a listens on no channel after DISCARD ALL")
                        .isFalse();
            }
            execute(a, "NOTIFY foo_event, 'gone'");
            execute(a, "NOTIFY other_event, 'kept'");
            assertThat(received(a.unwrap(PGConnection.class).getNotifications(200)))
                    .isEmpty();
            // the other connection's LISTEN is untouched
            assertThat(received(b.unwrap(PGConnection.class).getNotifications(3000)))
                    .containsExactly("other_event:kept");
        }
    }

    @Test
    void aNotificationReachesTheConnectionsThatListen() throws Exception {
        String url = "jdbc:pgembed:memory:notify";
        try (Connection a = DriverManager.getConnection(url);
                Connection b = DriverManager.getConnection(url);
                Connection c = DriverManager.getConnection(url)) {
            execute(b, "LISTEN ch");
            execute(c, "LISTEN other");
            execute(a, "NOTIFY ch, 'hello'");
            assertThat(received(b.unwrap(PGConnection.class).getNotifications(3000)))
                    .containsExactly("ch:hello");
            // nobody else got it, the sender included
            assertThat(received(a.unwrap(PGConnection.class).getNotifications()))
                    .isEmpty();
            assertThat(received(c.unwrap(PGConnection.class).getNotifications(200)))
                    .isEmpty();
            // both listeners get one on a channel both listen on, the sender too when it listens
            execute(c, "LISTEN ch");
            execute(a, "LISTEN ch");
            execute(a, "NOTIFY ch, 'two'");
            assertThat(received(a.unwrap(PGConnection.class).getNotifications(3000)))
                    .containsExactly("ch:two");
            assertThat(received(b.unwrap(PGConnection.class).getNotifications(3000)))
                    .containsExactly("ch:two");
            assertThat(received(c.unwrap(PGConnection.class).getNotifications(3000)))
                    .containsExactly("ch:two");
            // a transaction's notifications arrive at its commit, a rolled back one's never
            a.setAutoCommit(false);
            execute(a, "SELECT pg_notify('ch', 'rolled back')");
            a.rollback();
            execute(a, "NOTIFY ch, 'committed'");
            assertThat(received(b.unwrap(PGConnection.class).getNotifications(200)))
                    .isEmpty();
            a.commit();
            a.setAutoCommit(true);
            assertThat(received(b.unwrap(PGConnection.class).getNotifications(3000)))
                    .containsExactly("ch:committed");
            // after UNLISTEN none
            execute(b, "UNLISTEN ch");
            execute(a, "NOTIFY ch, 'after'");
            assertThat(received(b.unwrap(PGConnection.class).getNotifications(200)))
                    .isEmpty();
            assertThat(received(c.unwrap(PGConnection.class).getNotifications(3000)))
                    .containsExactly("ch:committed", "ch:after");
        }
    }

    @Test
    void getNotificationsWithoutTimeoutBlocksUntilOneArrives() throws Exception {
        String url = "jdbc:pgembed:memory:notify-block";
        try (Connection a = DriverManager.getConnection(url);
                Connection b = DriverManager.getConnection(url)) {
            execute(b, "LISTEN jobs");
            CompletableFuture<List<String>> waiting = CompletableFuture.supplyAsync(
                    () -> {
                        try {
                            return received(b.unwrap(PGConnection.class).getNotifications(0));
                        } catch (SQLException e) {
                            throw new IllegalStateException(e);
                        }
                    },
                    r -> Thread.ofPlatform().daemon().start(r));
            Thread.sleep(300);
            assertThat(waiting).isNotDone();
            execute(a, "NOTIFY jobs, '17'");
            assertThat(waiting.get(30, TimeUnit.SECONDS)).containsExactly("jobs:17");
            // the connection works as before
            execute(b, "SELECT 1");
        }
    }

    @Test
    void aTimeoutWithoutNotificationsReturnsNothingAfterTheTimeout() throws Exception {
        String url = "jdbc:pgembed:memory:notify-timeout";
        try (Connection b = DriverManager.getConnection(url)) {
            execute(b, "LISTEN quiet");
            assertThat(received(b.unwrap(PGConnection.class).getNotifications(300)))
                    .isEmpty();
            assertThat(received(b.unwrap(PGConnection.class).getNotifications()))
                    .isEmpty();
            execute(b, "SELECT 1");
        }
    }
}
