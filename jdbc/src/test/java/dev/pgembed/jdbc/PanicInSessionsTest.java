package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PgException;
import dev.pgembed.PgSession;
import dev.pgembed.Result;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A PANIC in one {@link PgSession} of a database with several backends (the direct API): the other sessions'
 * backends end with the crash restart, an idle one and one running a statement, and their calls fail with a
 * fatal 57P02 (the session is closed); the database's own session connects a new backend once recovery is
 * done and serves with every committed row; the places of the ended backends are free again (as many new
 * sessions get backends of their own as before); this JVM lives on. The PANIC comes from the C tests' module
 * ({@link PanicModule}).
 *
 * <p>It found that the session whose statement ran when the crash restart came got "FATAL 57P01: the engine
 * aborted (PANIC); reopen the database to recover" instead of quickdie's 57P02 (front_exchange); and that a
 * {@code close()} while the crash restart had not begun redo never returned: the postmaster waited in
 * PM_WAIT_BACKENDS for the restart's checkpointer, which ignores the fast shutdown's SIGTERM (the front now
 * delivers that SIGTERM as SIGQUIT, front_processes.c).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class PanicInSessionsTest {
    private static final int SESSIONS = 4;

    @TempDir
    Path tmp;

    @Test
    void aPanicEndsTheOtherSessionsAndTheDatabaseReconnects() throws Exception {
        Path module = PanicModule.compile(tmp);
        try (PgEmbedded db =
                PgEmbedded.builder(tmp.resolve("db")).backends(SESSIONS + 1).open()) {
            db.execute("CREATE FUNCTION test_panic() RETURNS void LANGUAGE c AS '" + module
                    + "', 'pgembed_test_panic'; CREATE TABLE kept (id int PRIMARY KEY);"
                    + " INSERT INTO kept SELECT generate_series(1, 10)");
            PgSession panicking = db.session();
            PgSession idle = db.session();
            PgSession busy = db.session();
            for (PgSession s : List.of(panicking, idle, busy)) {
                assertThat(s.hasOwnBackend()).isTrue();
            }
            int busyPid = busy.backendPid();
            CompletableFuture<PgException> sleeper = CompletableFuture.supplyAsync(() -> {
                try {
                    busy.query("SELECT pg_sleep(120)").close();
                    return null;
                } catch (PgException e) {
                    return e;
                }
            });
            for (int i = 0; i < 500 && !sleeping(db, busyPid); i++) {
                Thread.sleep(20);
            }
            assertThat(sleeping(db, busyPid))
                    .as("the busy session runs pg_sleep")
                    .isTrue();

            assertThatThrownBy(() -> panicking.query("SELECT test_panic()"))
                    .isInstanceOfSatisfying(PgException.class, e -> {
                        assertThat(e.severity()).isEqualTo("PANIC");
                        assertThat(e.isFatal()).isTrue();
                    });
            assertThat(panicking.isOpen()).isFalse();

            PgException slept = sleeper.get(60, TimeUnit.SECONDS);
            assertThat((Throwable) slept)
                    .as("pg_sleep ended by the crash restart")
                    .isNotNull();
            assertThatThrownBy(() -> idle.query("SELECT 1")).isInstanceOfSatisfying(PgException.class, e -> {
                System.out.printf("busy: %s; idle: %s%n", slept, e);
                for (PgException x : List.of(slept, e)) {
                    assertThat(x.isFatal()).as("%s", x).isTrue();
                    assertThat(x.sqlState()).as("%s", x).isEqualTo("57P02");
                }
            });
            assertThat(idle.isOpen()).isFalse();
            assertThat(busy.isOpen()).isFalse();

            // the database's own session was idle too: the call that meets its end fails as the others' did,
            // and the next one connects a new backend once recovery is done
            assertThatThrownBy(() -> db.query("SELECT 1"))
                    .isInstanceOfSatisfying(
                            PgException.class,
                            e -> assertThat(e.sqlState()).as("%s", e).isEqualTo("57P02"));
            assertThat(db.isOpen()).as("the database outlives its own backend").isTrue();
            try (Result r = db.query("SELECT count(*) FROM kept")) {
                assertThat(r.row(0).getLong(0)).isEqualTo(10);
            }
            for (PgSession s : List.of(panicking, idle, busy)) {
                s.close();
            }
            assertThat(db.backendCount()).as("only the database's own backend").isEqualTo(1);
            List<PgSession> again = new ArrayList<>();
            try {
                for (int i = 0; i < SESSIONS; i++) {
                    again.add(db.session());
                }
                for (PgSession s : again) {
                    assertThat(s.hasOwnBackend())
                            .as("the ended backends' places are free again")
                            .isTrue();
                    s.execute("INSERT INTO kept VALUES ($1)", 100 + again.indexOf(s));
                }
            } finally {
                again.forEach(PgSession::close);
            }
            try (Result r = db.query("SELECT count(*) FROM kept")) {
                assertThat(r.row(0).getLong(0)).isEqualTo(10 + SESSIONS);
            }
        }
    }

    @ParameterizedTest(name = "close {0} ms after the PANIC")
    @ValueSource(ints = {0, 100, 200, 300, 400, 600, 800, 1000})
    void aCloseSoonAfterAPanicReturnsAndNothingCommittedIsLost(int delayMillis) throws Exception {
        Path module = PanicModule.compile(tmp);
        Path dir = tmp.resolve("db");
        PgEmbedded db = PgEmbedded.builder(dir).backends(3).open();
        db.execute("CREATE FUNCTION test_panic() RETURNS void LANGUAGE c AS '" + module
                + "', 'pgembed_test_panic'; CREATE TABLE kept (id int PRIMARY KEY);"
                + " INSERT INTO kept SELECT generate_series(1, 10)");
        PgSession panicking = db.session();
        assertThat(panicking.hasOwnBackend()).isTrue();
        assertThatThrownBy(() -> panicking.query("SELECT test_panic()"))
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.severity()).isEqualTo("PANIC"));
        Thread.sleep(delayMillis);
        // while the postmaster's crash restart runs: a close that hangs would hang in a native call no timeout
        // interrupts, so it runs on a thread of its own that the test waits for
        CompletableFuture<Throwable> closed = new CompletableFuture<>();
        Thread closer = new Thread(
                () -> {
                    try {
                        panicking.close();
                        db.close();
                        closed.complete(null);
                    } catch (Throwable t) {
                        closed.complete(t);
                    }
                },
                "close after PANIC");
        closer.setDaemon(true);
        closer.start();
        Throwable failure = closed.get(60, TimeUnit.SECONDS);
        System.out.println("close " + delayMillis + " ms after a PANIC: " + (failure == null ? "no error" : failure));
        assertThat(db.isOpen()).isFalse();
        try (PgEmbedded again = PgEmbedded.open(dir);
                Result r = again.query("SELECT count(*) FROM kept")) {
            assertThat(r.row(0).getLong(0)).isEqualTo(10);
        }
    }

    private static boolean sleeping(PgEmbedded db, int pid) {
        try (Result r = db.query(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'"
                        + " AND query LIKE '%pg_sleep%'",
                pid)) {
            return r.row(0).getLong(0) == 1;
        }
    }
}
