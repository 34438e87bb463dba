package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.Durability;
import dev.pgembed.Notification;
import dev.pgembed.PgEmbedded;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * LISTEN/NOTIFY between the direct API and JDBC connections (issue #18, item 5), with one backend shared by all
 * (backends 1) and with a backend per connection (backends 3): a direct API {@code NOTIFY} reaches the connections
 * that listen on its channel, and a connection's reaches the direct API's notification listener.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DirectNotifyTest {
    @TempDir
    Path tmp;

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static List<String> received(Connection c, int timeoutMillis) throws SQLException {
        List<String> r = new ArrayList<>();
        PGNotification[] ns = c.unwrap(PGConnection.class).getNotifications(timeoutMillis);
        if (ns != null) {
            for (PGNotification n : ns) {
                r.add(n.getName() + ":" + n.getParameter() + ":" + n.getPID());
            }
        }
        return r;
    }

    @ParameterizedTest(name = "backends {0}")
    @ValueSource(ints = {1, 3})
    void aDirectApiNotifyReachesTheListeningConnections(int backends) throws Exception {
        Path dir = tmp.resolve("db");
        try (PgEmbedded db = PgEmbedded.builder(dir)
                        .durability(Durability.NONE)
                        .backends(backends)
                        .open();
                Connection listener = DriverManager.getConnection("jdbc:pgembed:" + dir);
                Connection other = DriverManager.getConnection("jdbc:pgembed:" + dir)) {
            execute(listener, "LISTEN ch");
            execute(other, "LISTEN elsewhere");
            db.execute("NOTIFY ch, 'from the direct API'");
            assertThat(received(listener, 5000)).containsExactly("ch:from the direct API:" + db.backendPid());
            assertThat(received(other, 200)).isEmpty();
            // pg_notify with parameters, in a transaction: at its commit
            db.transaction(tx -> tx.execute("SELECT pg_notify($1, $2)", "ch", "committed"));
            assertThat(received(listener, 5000)).containsExactly("ch:committed:" + db.backendPid());
            // the connection goes on as before
            execute(listener, "SELECT 1");
        }
    }

    @ParameterizedTest(name = "backends {0}")
    @ValueSource(ints = {1, 3})
    void aConnectionsNotifyReachesTheDirectApisListener(int backends) throws Exception {
        Path dir = tmp.resolve("db");
        List<Notification> got = new CopyOnWriteArrayList<>();
        try (PgEmbedded db = PgEmbedded.builder(dir)
                        .durability(Durability.NONE)
                        .backends(backends)
                        .notificationListener(got::add)
                        .open();
                Connection sender = DriverManager.getConnection("jdbc:pgembed:" + dir)) {
            db.execute("LISTEN ch");
            // a connection's statement hands the shared session over: the direct API's channels stay listened on
            execute(sender, "NOTIFY ch, 'from JDBC'");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (got.isEmpty() && System.nanoTime() < deadline) {
                db.execute("SELECT 1");
            }
            assertThat(got)
                    .extracting(Notification::channel, Notification::payload)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("ch", "from JDBC"));
            // the direct API's own NOTIFY reaches it as well (the connection does not listen on ch)
            db.execute("NOTIFY ch, 'own'");
            assertThat(got).extracting(Notification::payload).containsExactly("from JDBC", "own");
        }
    }
}
