package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class TransactionsTest {
    static PgEmbedded db;

    @BeforeAll
    static void open() {
        db = PgEmbedded.inMemory()
                .transactionWaitTimeout(Duration.ofSeconds(10))
                .open();
        db.execute("CREATE TABLE acc (id int PRIMARY KEY, balance int NOT NULL)");
    }

    @AfterAll
    static void close() {
        db.close();
    }

    @BeforeEach
    void reset() {
        db.execute("TRUNCATE acc; INSERT INTO acc VALUES (1, 100), (2, 0)");
    }

    private static int balance(int id) {
        try (Result r = db.query("SELECT balance FROM acc WHERE id = $1", id)) {
            return r.row(0).getInt(0);
        }
    }

    @Test
    void commitsOnReturnAndRollsBackOnException() {
        int moved = db.transactionResult(tx -> {
            tx.execute("UPDATE acc SET balance = balance - $1 WHERE id = 1", 30);
            tx.execute("UPDATE acc SET balance = balance + $1 WHERE id = 2", 30);
            assertThat(db.transactionStatus()).isEqualTo(TransactionStatus.IN_TRANSACTION);
            return 30;
        });
        assertThat(moved).isEqualTo(30);
        assertThat(balance(1)).isEqualTo(70);
        assertThat(db.transactionStatus()).isEqualTo(TransactionStatus.IDLE);

        assertThatThrownBy(() -> db.transaction((TransactionConsumer) tx -> {
                    tx.execute("UPDATE acc SET balance = 0 WHERE id = 1");
                    throw new IllegalArgumentException("changed my mind");
                }))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("changed my mind");
        assertThat(balance(1)).isEqualTo(70);

        // a failing statement rolls back too, with the PgException
        assertThatThrownBy(() -> db.transaction(tx -> {
                    tx.execute("UPDATE acc SET balance = 1 WHERE id = 1");
                    tx.execute("INSERT INTO acc VALUES (2, 0)");
                }))
                .isInstanceOfSatisfying(
                        PgException.class,
                        e -> assertThat(e.isUniqueViolation()).isTrue());
        assertThat(balance(1)).isEqualTo(70);
        assertThat(db.transactionStatus()).isEqualTo(TransactionStatus.IDLE);
    }

    @Test
    void nestedTransactionsUseSavepoints() {
        db.transaction(tx -> {
            tx.execute("UPDATE acc SET balance = 1 WHERE id = 1");
            assertThatThrownBy(() -> db.transaction(inner -> {
                        inner.execute("UPDATE acc SET balance = 2 WHERE id = 1");
                        inner.execute("SELECT 1/0");
                    }))
                    .isInstanceOf(PgException.class);
            assertThat(balance(1)).isEqualTo(1); // the outer transaction goes on
            db.transaction(inner -> {
                inner.execute("UPDATE acc SET balance = 3 WHERE id = 2");
            });
        });
        assertThat(balance(1)).isEqualTo(1);
        assertThat(balance(2)).isEqualTo(3);
    }

    @Test
    void explicitBeginCommitRollbackClose() {
        try (Transaction tx = db.begin()) {
            tx.execute("UPDATE acc SET balance = 5 WHERE id = 1");
            tx.commit();
            assertThat(tx.isActive()).isFalse();
            assertThatThrownBy(() -> tx.execute("SELECT 1")).isInstanceOf(IllegalStateException.class);
        }
        assertThat(balance(1)).isEqualTo(5);
        try (Transaction tx = db.begin()) {
            tx.execute("UPDATE acc SET balance = 6 WHERE id = 1");
        } // closed without commit: rolled back
        assertThat(balance(1)).isEqualTo(5);
        Transaction tx = db.begin();
        tx.execute("UPDATE acc SET balance = 7 WHERE id = 1");
        tx.rollback();
        tx.rollback();
        assertThat(balance(1)).isEqualTo(5);
        // a commit of a failed transaction reports the rollback
        Transaction failed = db.begin();
        assertThatThrownBy(() -> failed.execute("SELECT 1/0")).isInstanceOf(PgException.class);
        assertThat(db.transactionStatus()).isEqualTo(TransactionStatus.FAILED);
        assertThatThrownBy(failed::commit)
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.sqlState()).isEqualTo("25P02"));
        assertThat(db.transactionStatus()).isEqualTo(TransactionStatus.IDLE);
    }

    @Test
    void otherThreadsWaitForTheOwnersTransaction() throws Exception {
        CountDownLatch begun = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread a = Thread.ofPlatform()
                .name("owner-A")
                .start(() -> db.transaction(tx -> {
                    tx.execute("UPDATE acc SET balance = 42 WHERE id = 1");
                    begun.countDown();
                    await(release);
                }));
        assertThat(begun.await(10, TimeUnit.SECONDS)).isTrue();
        AtomicReference<Integer> seen = new AtomicReference<>();
        AtomicLong finishedAt = new AtomicLong();
        Thread b = Thread.ofPlatform().name("B").start(() -> {
            seen.set(balance(1));
            finishedAt.set(System.nanoTime());
        });
        Thread.sleep(300);
        assertThat(b.isAlive()).isTrue(); // waiting: it did not join A's transaction
        long releasedAt = System.nanoTime();
        release.countDown();
        b.join(10_000);
        a.join(10_000);
        assertThat(seen.get()).isEqualTo(42); // it ran after the commit
        assertThat(finishedAt.get()).isGreaterThan(releasedAt);
    }

    @Test
    void waitingTimesOutWithAClearError() throws Exception {
        try (PgEmbedded quick = PgEmbedded.inMemory()
                .transactionWaitTimeout(Duration.ofMillis(300))
                .open()) {
            Transaction tx = quick.begin();
            tx.execute("CREATE TABLE t (x int)");
            AtomicReference<Throwable> error = new AtomicReference<>();
            Thread b = Thread.ofPlatform().name("B").start(() -> {
                try {
                    quick.execute("SELECT 1");
                } catch (Throwable t) {
                    error.set(t);
                }
            });
            b.join(10_000);
            assertThat(error.get()).isInstanceOfSatisfying(PgException.class, e -> {
                assertThat(e.sqlState()).isEqualTo("55P03");
                assertThat(e.getMessage()).contains("belongs to the thread that began it");
            });
            // the owner's transaction is intact
            tx.execute("INSERT INTO t VALUES (1)");
            tx.commit();
            // and now B can go
            Thread c = Thread.ofPlatform().start(() -> quick.execute("INSERT INTO t VALUES (2)"));
            c.join(10_000);
            try (Result r = quick.query("SELECT count(*) FROM t")) {
                assertThat(r.row(0).getLong(0)).isEqualTo(2);
            }
        }
    }

    @Test
    void aTransactionCannotBeUsedFromAnotherThread() throws Exception {
        Transaction tx = db.begin();
        try {
            AtomicReference<Throwable> error = new AtomicReference<>();
            Thread b = Thread.ofPlatform().start(() -> {
                try {
                    tx.execute("SELECT 1");
                } catch (Throwable t) {
                    error.set(t);
                }
            });
            b.join(10_000);
            assertThat(error.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("belongs to thread");
        } finally {
            tx.rollback();
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void thousandVirtualThreadsShareOneInstance() throws Exception {
        AtomicLong total = new AtomicLong();
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 1000; t++) {
                int id = t;
                futures.add(ex.submit(() -> {
                    for (int q = 0; q < 100; q++) {
                        try (Result r = db.query("SELECT $1::int + $2", id, q)) {
                            total.addAndGet(r.row(0).getInt(0));
                        }
                    }
                    if (id % 100 == 0) {
                        db.transaction(tx -> {
                            tx.execute("UPDATE acc SET balance = balance + 1 WHERE id = 2");
                        });
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        }
        long expected = 0;
        for (int t = 0; t < 1000; t++) {
            for (int q = 0; q < 100; q++) {
                expected += t + q;
            }
        }
        assertThat(total.get()).isEqualTo(expected);
        assertThat(balance(2)).isEqualTo(10);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void cursorsAndCopyWorkFromVirtualThreads() throws Exception {
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Long>> futures = new ArrayList<>();
            for (int t = 0; t < 20; t++) {
                futures.add(ex.submit(() -> {
                    long sum = 0;
                    try (RowCursor c = db.cursor("SELECT g FROM generate_series(1, 5000) g", 100)) {
                        while (c.hasNext()) {
                            sum += c.next().getLong(0);
                            if (sum % 1000 == 0) {
                                Thread.sleep(1); // unmounts: the carrier may change
                            }
                        }
                    }
                    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                    db.copyOut("COPY (SELECT g FROM generate_series(1, 1000) g) TO STDOUT", out);
                    return sum + out.size();
                }));
            }
            for (Future<Long> f : futures) {
                assertThat(f.get()).isEqualTo(5000L * 5001 / 2 + 3893);
            }
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
