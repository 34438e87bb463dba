package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * LISTEN/NOTIFY through the direct API (issue #18, item 5): the notifications of the channels a session listens on
 * reach the database's notification listener with PostgreSQL's channel, payload and process id, at the end of the
 * call in whose output they arrive, once.
 */
class NotificationsTest {

    @Test
    void aSessionsOwnNotificationReachesTheListenerAtTheEndOfTheCall() {
        List<Notification> got = new CopyOnWriteArrayList<>();
        try (PgEmbedded db = PgEmbedded.inMemory()
                .durability(Durability.NONE)
                .notificationListener(got::add)
                .open()) {
            int pid = db.backendPid();
            db.execute("LISTEN ch");
            db.execute("NOTIFY ch, 'hello'");
            assertThat(got).containsExactly(new Notification("ch", "hello", pid));
            // once: the next call brings nothing
            db.execute("SELECT 1");
            assertThat(got).hasSize(1);
            // no payload, through pg_notify with a parameter (the prepared path), and not for other channels
            db.execute("NOTIFY ch");
            db.execute("SELECT pg_notify($1, $2)", "ch", "param");
            db.execute("NOTIFY other, 'x'");
            assertThat(got).extracting(Notification::payload).containsExactly("hello", "", "param");
            // a transaction's notifications arrive at its commit, a rolled back one's never
            db.transaction(tx -> {
                tx.execute("NOTIFY ch, 'in tx'");
                assertThat(got).hasSize(3);
            });
            assertThat(got).extracting(Notification::payload).endsWith("in tx");
            try {
                db.transaction(tx -> {
                    tx.execute("NOTIFY ch, 'rolled back'");
                    throw new IllegalStateException("roll back");
                });
            } catch (IllegalStateException expected) {
                // rolled back
            }
            db.execute("UNLISTEN ch");
            db.execute("NOTIFY ch, 'not listening'");
            assertThat(got).extracting(Notification::payload).containsExactly("hello", "", "param", "in tx");
        }
    }

    @Test
    void anotherSessionsNotificationArrivesWithTheListenersNextCall() {
        List<Notification> got = new CopyOnWriteArrayList<>();
        try (PgEmbedded db = PgEmbedded.inMemory()
                        .durability(Durability.NONE)
                        .backends(2)
                        .notificationListener(got::add)
                        .open();
                PgSession other = db.session()) {
            db.execute("LISTEN jobs");
            int otherPid = other.backendPid();
            other.execute("NOTIFY jobs, '17'");
            // PostgreSQL delivers it to an idle session at its next call, as a client library would read it
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (got.isEmpty() && System.nanoTime() < deadline) {
                db.execute("SELECT 1");
            }
            assertThat(got).containsExactly(new Notification("jobs", "17", otherPid));
        }
    }

    @Test
    void withoutAListenerNotificationsAreDropped() {
        try (PgEmbedded db = PgEmbedded.inMemory().durability(Durability.NONE).open()) {
            db.execute("LISTEN ch");
            db.execute("NOTIFY ch, 'nobody'");
            assertThat(db.execute("SELECT 1")).isEqualTo(1);
        }
    }
}
