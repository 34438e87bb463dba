package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bounded WAL: a workload of inserts, updates and deletes generates {@link LongRuns#walMegabytes()} of WAL
 * (2 GB in the long run) while pg_wal, watched from outside the engine every 20 ms, stays near
 * max_wal_size: the engine's own checkpoints recycle segments as a server's checkpointer would.
 */
class ReliabilityWalTest {

    private static final int MAX_WAL_MB = 32;

    @Test
    void pgWalStaysNearMaxWalSize(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("db");
        long target = LongRuns.walMegabytes() << 20;
        AtomicLong maxSeen = new AtomicLong();
        long started = System.nanoTime();
        long generated;
        long atEnd;
        int rounds = 0;
        try (PgEmbedded db = PgEmbedded.builder(dir)
                .durability(Durability.RELAXED)
                .setting("max_wal_size", MAX_WAL_MB + "MB")
                .setting("min_wal_size", "32MB")
                .open()) {
            Path walDir = dir.resolve("pg_wal");
            Thread watcher = Thread.ofPlatform().daemon().start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    maxSeen.accumulateAndGet(sizeOf(walDir), Math::max);
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            db.execute(
                    "CREATE TABLE w (id bigint PRIMARY KEY, n int NOT NULL, v text NOT NULL); CREATE INDEX ON w (n)");
            long start = lsn(db);
            long next = 1;
            try {
                while (lsn(db) - start < target) {
                    rounds++;
                    long from = next;
                    next += 20_000;
                    db.execute(
                            "INSERT INTO w SELECT g, g % 1000, repeat(md5(g::text), 6) FROM generate_series($1::bigint, $2::bigint) g",
                            from, next - 1);
                    db.execute("UPDATE w SET n = n + 1, v = left(v, 100) || md5(v) WHERE id % 3 = $1", rounds % 3);
                    db.execute("DELETE FROM w WHERE id < $1", next - 60_000);
                }
                generated = lsn(db) - start;
                atEnd = sizeOf(walDir);
            } finally {
                watcher.interrupt();
                watcher.join();
            }
        }
        System.out.printf(
                "WAL: %d MB generated in %d rounds (%.1f s); pg_wal at most %d MB while it ran, %d MB at"
                        + " the end (max_wal_size %d MB)%n",
                generated >> 20,
                rounds,
                (System.nanoTime() - started) / 1e9,
                maxSeen.get() >> 20,
                atEnd >> 20,
                MAX_WAL_MB);
        // a checkpoint cycle keeps up to about max_wal_size plus the segments written while it completes
        assertThat(maxSeen.get()).as("largest pg_wal seen").isLessThan(3L * MAX_WAL_MB << 20);
        assertThat(atEnd).isLessThan(3L * MAX_WAL_MB << 20);
    }

    private static long lsn(PgEmbedded db) {
        try (Result r = db.query("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")) {
            return r.row(0).getLong(0);
        }
    }

    /** Bytes in the files of a directory tree, tolerant of files that vanish meanwhile (recycled segments). */
    private static long sizeOf(Path dir) {
        long total = 0;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                try {
                    if (Files.isRegularFile(p)) {
                        total += Files.size(p);
                    }
                } catch (IOException gone) {
                    // recycled or removed between listing and stat
                }
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            return total;
        }
        return total;
    }
}
