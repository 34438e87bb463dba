package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PgEmbeddedListener against the real engine: what each event is, and when it comes. */
class ListenerTest {

    /* what one database's events were, in order (other tests' databases are ignored) */
    static final class Recorder implements PgEmbeddedListener {
        final List<String> events = Collections.synchronizedList(new ArrayList<>());
        volatile PgEmbedded watched;
        final List<Long> waits = Collections.synchronizedList(new ArrayList<>());

        private boolean mine(PgEmbedded db) {
            return db == watched;
        }

        @Override
        public void engineOpened(PgEmbedded db) {
            if (mine(db)) {
                events.add("opened");
            }
        }

        @Override
        public void engineClosed(PgEmbedded db) {
            if (mine(db)) {
                events.add("closed");
            }
        }

        @Override
        public void turnWaitStarted(PgEmbedded db) {
            if (mine(db)) {
                events.add("wait");
            }
        }

        @Override
        public void turnWaitEnded(PgEmbedded db, long nanos, boolean gotTurn) {
            if (mine(db)) {
                waits.add(nanos);
                events.add(gotTurn ? "turn" : "gave-up");
            }
        }

        @Override
        public void statementsSucceeded(PgEmbedded db, int count) {
            if (mine(db)) {
                events.add("ok " + count);
            }
        }

        @Override
        public void statementFailed(PgEmbedded db, String sqlState) {
            if (mine(db)) {
                events.add("failed " + sqlState);
            }
        }

        List<String> take() {
            synchronized (events) {
                List<String> copy = List.copyOf(events);
                events.clear();
                return copy;
            }
        }
    }

    private final Recorder recorder = new Recorder();

    @AfterEach
    void unregister() {
        PgEmbedded.removeListener(recorder);
    }

    @Test
    void aListenerAddedLaterHearsOfTheOpenDatabasesOnceThenOfTheirEnd() {
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            recorder.watched = db;
            PgEmbedded.addListener(recorder);
            PgEmbedded.addListener(recorder); // a second registration does nothing
            assertThat(recorder.take()).containsExactly("opened");
            db.close();
            db.close();
            assertThat(recorder.take()).containsExactly("closed");
        }
        assertThat(PgEmbedded.removeListener(recorder)).isTrue();
        assertThat(PgEmbedded.removeListener(recorder)).isFalse();
    }

    @Test
    void aFatalErrorEndsTheEngineAndSaysSo(@TempDir Path tmp) {
        PgEmbedded.addListener(recorder);
        PgEmbedded db = PgEmbedded.builder(tmp.resolve("db"))
                .durability(Durability.NONE)
                .open();
        recorder.watched = db;
        assertThatThrownBy(() -> db.query("SELECT pg_terminate_backend(pg_backend_pid())"))
                .isInstanceOf(PgException.class);
        db.close();
        assertThat(recorder.take()).containsExactly("failed 57P01", "closed");
    }

    @Test
    void eachStatementOfTheDirectApiCountsOnceWithItsOutcome() throws Exception {
        PgEmbedded.addListener(recorder);
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            recorder.watched = db;
            db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
            db.execute("INSERT INTO t VALUES ($1, $2)", 1, "one");
            assertThatThrownBy(() -> db.execute("INSERT INTO t VALUES (1, 'again')"))
                    .isInstanceOf(PgException.class);
            assertThatThrownBy(() -> db.query("SELECT * FROM missing")).isInstanceOf(PgException.class);
            assertThat(recorder.take()).containsExactly("ok 1", "ok 1", "failed 23505", "failed 42P01");

            try (PreparedStatement ins = db.prepare("INSERT INTO t VALUES ($1, $2)")) {
                ins.executeBatch(List.of(new Object[] {2, "two"}, new Object[] {3, "three"}, new Object[] {4, "four"}));
            }
            // the preparation is no statement (its failure is: below); a batch counts its parameter sets
            assertThat(recorder.take()).containsExactly("ok 3");
            assertThatThrownBy(() -> db.prepare("SELEC 1")).isInstanceOf(PgException.class);
            assertThat(recorder.take()).containsExactly("failed 42601");

            db.transaction(tx -> tx.execute("UPDATE t SET v = upper(v)"));
            assertThat(recorder.take()).containsExactly("ok 1", "ok 1", "ok 1"); // BEGIN, UPDATE, COMMIT

            try (RowCursor c = db.cursor("SELECT id FROM t ORDER BY id", 1)) {
                assertThat(c.stream().count()).isEqualTo(4);
            }
            try (RowCursor c = db.cursor("SELECT id FROM t ORDER BY id", 1)) {
                assertThat(c.next().getInt(0)).isEqualTo(1); // closed before its end
            }
            assertThat(recorder.take()).containsExactly("ok 1", "ok 1");

            db.copyIn(
                    "COPY t FROM STDIN",
                    new ByteArrayInputStream("5\tfive\n6\tsix\n".getBytes(StandardCharsets.UTF_8)));
            assertThatThrownBy(() -> db.copyOut("COPY t FROM STDIN", new java.io.ByteArrayOutputStream()))
                    .isInstanceOf(PgException.class);
            assertThat(recorder.take()).containsExactly("ok 1", "failed 42601");
        }
    }

    @Test
    void aCallerThatWaitsForAnotherThreadsTransactionIsReportedWithItsWait() throws Exception {
        PgEmbedded.addListener(recorder);
        ExecutorService other = Executors.newSingleThreadExecutor();
        try (PgEmbedded db = PgEmbedded.inMemory()
                .transactionWaitTimeout(Duration.ofMillis(300))
                .open()) {
            recorder.watched = db;
            db.execute("CREATE TABLE t (x int)");
            recorder.take();
            // a free turn is not a wait
            db.execute("SELECT 1");
            assertThat(recorder.take()).containsExactly("ok 1");

            Transaction tx = db.begin();
            tx.execute("INSERT INTO t VALUES (1)");
            // the other thread gives up after the timeout (55P03)
            Future<?> late = other.submit(() -> db.execute("SELECT count(*) FROM t"));
            assertThatThrownBy(() -> late.get(30, TimeUnit.SECONDS)).hasRootCauseInstanceOf(PgException.class);
            assertThat(recorder.take()).containsExactly("ok 1", "ok 1", "wait", "gave-up"); // BEGIN, INSERT
            assertThat(recorder.waits.get(0)).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));

            // the other thread waits until the commit, then runs
            CountDownLatch started = new CountDownLatch(1);
            Future<Long> waiting = other.submit(() -> {
                started.countDown();
                return db.execute("SELECT count(*) FROM t");
            });
            started.await();
            while (!recorder.events.contains("wait")) {
                Thread.onSpinWait();
            }
            tx.commit();
            assertThat(waiting.get(30, TimeUnit.SECONDS)).isEqualTo(1);
            assertThat(recorder.take()).containsExactly("wait", "ok 1", "turn", "ok 1"); // COMMIT, then the SELECT
        } finally {
            other.shutdownNow();
        }
    }

    @Test
    void aFailingListenerChangesNothingForTheDatabase() {
        PgEmbeddedListener broken = new PgEmbeddedListener() {
            @Override
            public void statementsSucceeded(PgEmbedded db, int count) {
                throw new IllegalStateException("broken listener");
            }
        };
        PgEmbedded.addListener(broken);
        PgEmbedded.addListener(recorder);
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            recorder.watched = db;
            assertThat(db.execute("SELECT 1")).isEqualTo(1);
            assertThat(recorder.take()).containsExactly("ok 1");
        } finally {
            PgEmbedded.removeListener(broken);
        }
    }
}
