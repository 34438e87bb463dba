package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sessions of a database with several backends ({@link PgEmbedded.Builder#backends(int)}): each on a real
 * PostgreSQL backend of its own, with a server's isolation and locks; beyond the limit they share the
 * database's own backend.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SessionsTest {
    static PgEmbedded db;

    @BeforeAll
    static void open() {
        db = PgEmbedded.inMemory()
                .backends(4)
                .transactionWaitTimeout(Duration.ofSeconds(10))
                .open();
        db.execute("CREATE TABLE acc (id int PRIMARY KEY, balance int NOT NULL)");
        db.execute("INSERT INTO acc VALUES (1, 100), (2, 0)");
    }

    @AfterAll
    static void close() {
        db.close();
    }

    private static String one(SqlSession s, String sql, Object... params) {
        try (Result r = s.query(sql, params)) {
            return r.row(0).getString(0);
        }
    }

    @Test
    void aSessionHasABackendOfItsOwn() {
        try (PgSession s = db.session()) {
            assertThat(s.hasOwnBackend()).isTrue();
            assertThat(s.backendPid()).isNotEqualTo(db.backendPid());
            // virtual pids, above any Linux pid_max: no process of this machine has them
            assertThat(db.backendPid()).isGreaterThanOrEqualTo(0x40000000);
            assertThat(one(s, "SELECT pg_backend_pid()")).isEqualTo(String.valueOf(s.backendPid()));
            assertThat(one(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", s.backendPid()))
                    .isEqualTo("1");
            assertThat(db.backendCount()).isEqualTo(2);
        }
        assertThat(db.backendCount()).isEqualTo(1);
    }

    @Test
    void anUncommittedChangeIsInvisibleToAnotherSessionUntilCommit() throws Exception {
        try (PgSession writer = db.session()) {
            Transaction tx = writer.begin();
            tx.execute("UPDATE acc SET balance = balance + 1 WHERE id = 2");
            // another thread reads at once, through the database's own backend: no wait, the old value
            String seen = CompletableFuture.supplyAsync(() -> one(db, "SELECT balance FROM acc WHERE id = 2"))
                    .get(10, TimeUnit.SECONDS);
            int before = Integer.parseInt(seen);
            assertThat(one(writer, "SELECT balance FROM acc WHERE id = 2")).isEqualTo(String.valueOf(before + 1));
            tx.commit();
            assertThat(one(db, "SELECT balance FROM acc WHERE id = 2")).isEqualTo(String.valueOf(before + 1));
        }
    }

    @Test
    void twoThreadsHoldTransactionsAtOnce() throws Exception {
        CountDownLatch bothIn = new CountDownLatch(2);
        List<CompletableFuture<Long>> runs = new ArrayList<>();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        for (int i = 0; i < 2; i++) {
            runs.add(CompletableFuture.supplyAsync(
                    () -> {
                        try (PgSession s = db.session()) {
                            return s.transactionResult(tx -> {
                                tx.execute("SELECT 1");
                                bothIn.countDown();
                                // both transactions are open now: with one shared backend this would wait for ever
                                try {
                                    if (!bothIn.await(20, TimeUnit.SECONDS)) {
                                        throw new IllegalStateException(
                                                "the other transaction did not start meanwhile");
                                    }
                                } catch (InterruptedException e) {
                                    throw new IllegalStateException(e);
                                }
                                return tx.execute("SELECT txid_current()");
                            });
                        }
                    },
                    threads));
        }
        for (CompletableFuture<Long> r : runs) {
            assertThat(r.get(60, TimeUnit.SECONDS)).isEqualTo(1L);
        }
        threads.shutdown();
    }

    @Test
    void anUpdateWaitsForAnotherSessionsRowLock() throws Exception {
        try (PgSession a = db.session();
                PgSession b = db.session()) {
            int waiter = b.backendPid(); // asked first: b's session is busy while its statement waits
            Transaction tx = a.begin();
            tx.execute("UPDATE acc SET balance = balance WHERE id = 1");
            CompletableFuture<Long> waiting =
                    CompletableFuture.supplyAsync(() -> b.execute("UPDATE acc SET balance = balance + 0 WHERE id = 1"));
            // b waits in PostgreSQL's lock manager, as pg_locks shows, not in pgembed
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!one(db, "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted", waiter)
                    .equals("1")) {
                assertThat(System.nanoTime()).isLessThan(deadline);
                Thread.sleep(20);
            }
            assertThat(waiting).isNotDone();
            tx.commit();
            assertThat(waiting.get(20, TimeUnit.SECONDS)).isEqualTo(1L);
        }
    }

    @Test
    void beyondTheLimitASessionSharesTheDatabasesBackend() {
        List<PgSession> sessions = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                sessions.add(db.session());
            }
            assertThat(sessions).allMatch(PgSession::hasOwnBackend);
            assertThat(db.backendCount()).isEqualTo(4);
            try (PgSession shared = db.session()) {
                assertThat(shared.hasOwnBackend()).isFalse();
                assertThat(shared.backendPid()).isEqualTo(db.backendPid());
                assertThat(one(shared, "SELECT 6 * 7")).isEqualTo("42");
            }
            sessions.remove(0).close();
            try (PgSession again = db.session()) {
                assertThat(again.hasOwnBackend()).isTrue();
            }
        } finally {
            sessions.forEach(PgSession::close);
        }
    }

    @Test
    void aSessionsStateIsItsOwn() {
        try (PgSession a = db.session();
                PgSession b = db.session()) {
            a.execute("SET work_mem = '77MB'");
            a.execute("CREATE TEMP TABLE scratch (x int)");
            assertThat(one(b, "SHOW work_mem")).isNotEqualTo("77MB");
            assertThat(one(b, "SELECT to_regclass('scratch') IS NULL")).isEqualTo("t");
            assertThat(one(a, "SELECT to_regclass('scratch') IS NULL")).isEqualTo("f");
            assertThat(one(a, "SELECT pg_try_advisory_lock(42)")).isEqualTo("t");
            assertThat(one(b, "SELECT pg_try_advisory_lock(42)")).isEqualTo("f");
            a.close();
            assertThat(one(b, "SELECT pg_try_advisory_lock(42)")).isEqualTo("t");
            assertThat(one(b, "SELECT pg_advisory_unlock(42)")).isEqualTo("t");
        }
    }

    @Test
    void aTerminatedSessionIsClosedAndTheDatabasesOwnBackendIsReplaced() {
        PgSession s = db.session();
        assertThat(one(db, "SELECT pg_terminate_backend($1, 10000)", s.backendPid()))
                .isEqualTo("t");
        assertThatThrownBy(() -> s.execute("SELECT 1")).isInstanceOfSatisfying(PgException.class, e -> {
            assertThat(e.isFatal()).isTrue();
            assertThat(e.sqlState()).isEqualTo("57P01");
        });
        assertThat(s.isOpen()).isFalse();
        s.close();

        int before = db.backendPid();
        try (PgSession admin = db.session()) {
            assertThat(one(admin, "SELECT pg_terminate_backend($1, 10000)", before))
                    .isEqualTo("t");
        }
        // the call that meets the end gets it, as a server's client would; the next one has a new backend
        assertThatThrownBy(() -> db.execute("SELECT 1"))
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.sqlState()).isEqualTo("57P01"));
        assertThat(db.isOpen()).isTrue();
        assertThat(one(db, "SELECT 41 + 1")).isEqualTo("42");
        assertThat(db.backendPid()).isNotEqualTo(before);
        assertThat(db.backendCount()).isEqualTo(1);
    }

    @Test
    void withOneBackendASessionShares(@TempDir Path dir) {
        try (PgEmbedded single = PgEmbedded.open(dir.resolve("db"))) {
            assertThat(single.backendCount()).isEqualTo(1);
            try (PgSession s = single.session()) {
                assertThat(s.hasOwnBackend()).isFalse();
                assertThat(s.backendPid()).isEqualTo(single.backendPid());
                assertThat(s.backendPid())
                        .isEqualTo((int) ProcessHandle.current().pid());
                s.execute("CREATE TABLE t (x int)");
                Transaction tx = s.begin();
                tx.execute("INSERT INTO t VALUES (1)");
                s.close(); // rolls back what this thread began through it
                assertThat(tx.isActive()).isFalse();
            }
            assertThat(one(single, "SELECT count(*) FROM t")).isEqualTo("0");
        }
    }

    @Test
    void closingTheDatabaseEndsItsSessions(@TempDir Path dir) {
        PgEmbedded d = PgEmbedded.builder(dir.resolve("db")).backends(3).open();
        PgSession s = d.session();
        s.execute("CREATE TABLE t (x int)");
        Transaction tx = s.begin();
        tx.execute("INSERT INTO t VALUES (1)");
        d.close();
        assertThat(s.isOpen()).isFalse();
        assertThatThrownBy(() -> s.execute("SELECT 1")).isInstanceOf(IllegalStateException.class);
        // reopened in either mode: the open transaction was rolled back, the table is there
        try (PgEmbedded again = PgEmbedded.open(dir.resolve("db"))) {
            assertThat(one(again, "SELECT count(*) FROM t")).isEqualTo("0");
        }
    }
}
