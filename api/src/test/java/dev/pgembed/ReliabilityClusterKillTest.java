package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * kill -9 under eight concurrent writers on a database with several backends: a child JVM opens the database
 * with {@code backends(9)} and runs eight threads, each on a {@link PgSession} with a backend of its own,
 * committing numbered rows {@code (writer, seq)} (and counting each in its writer's tally row) and printing
 * each one after its commit returned; this JVM kills it with SIGKILL at a random moment, reopens the
 * directory as a cluster (PostgreSQL's crash recovery runs in it) and checks, per writer, that the rows are
 * 1..max with no gap and no duplicate, every transaction applied whole, and every acknowledged row there
 * (DURABLE) or missing only when acknowledged within 3 x {@code wal_writer_delay} before the kill (RELAXED:
 * commits return before their WAL is flushed; the WAL writer flushes it); amcheck verifies every index and
 * heap. It also counts the POSIX shared memory segments ({@code /dev/shm/PostgreSQL.*}) the child had mapped
 * when it was killed that are still there after the kill and after the reopen: printed, not asserted (the
 * sweep of what a dead process left is issue #18's). Iterations per mode:
 * {@link LongRuns#clusterKillIterations()} ({@code -Dpgembed.clusterKills=N}; 50 with
 * {@code -Dpgembed.long=true}).
 */
class ReliabilityClusterKillTest {
    private static final int WRITERS = 8;
    private static final Pattern SEGMENT = Pattern.compile("/dev/shm/(PostgreSQL\\.\\d+)");

    private record Ack(int writer, long seq, long arrivedNanos) {}

    @ParameterizedTest
    @EnumSource(
            value = Durability.class,
            names = {"DURABLE", "RELAXED"})
    void acknowledgedCommitsOfEightWritersSurviveSigkill(Durability durability, @TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("db");
        int iterations = LongRuns.clusterKillIterations();
        long seed = Long.getLong("pgembed.killSeed", System.nanoTime());
        boolean tunable = String.valueOf(System.getenv("GLIBC_TUNABLES")).contains("glibc.rtld.nns=16");
        System.out.printf(
                "kill -9 under %d writers, %s: %d kills, seed %d (-Dpgembed.killSeed repeats the kill moments)%n",
                WRITERS, durability, iterations, seed);
        SplittableRandom random = new SplittableRandom(seed);
        long[] verifiedMax = new long[WRITERS];
        long acked = 0;
        long missingTotal = 0;
        long missingMax = 0;
        long oldestMissingMs = 0;
        int earlyKills = 0;
        int fewerOwn = 0;
        long windowMs = 0;
        long runningNanos = 0;
        long segmentsMapped = 0;
        long segmentsAfterKill = 0;
        long segmentsAfterReopen = 0;
        Set<Path> left = new HashSet<>();
        long started = System.nanoTime();
        try {
            for (int it = 1; it <= iterations; it++) {
                boolean early = random.nextInt(8) == 0; // sometimes during start-up or crash recovery
                long delayMs = early ? random.nextInt(2000) : 200 + random.nextInt(1300);
                Process p = ChildJvm.start("cluster-writers", dir.toString(), durability.name(), "" + WRITERS);
                ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
                StringBuffer other = new StringBuffer();
                AtomicInteger own = new AtomicInteger(-1);
                CountDownLatch ready = new CountDownLatch(1);
                Thread reader = Thread.ofPlatform().start(() -> {
                    try (BufferedReader in =
                            new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                        String line;
                        while ((line = in.readLine()) != null) {
                            long now = System.nanoTime();
                            if (line.startsWith("ack ")) {
                                String[] f = line.split(" ");
                                acks.add(new Ack(Integer.parseInt(f[1]), Long.parseLong(f[2]), now));
                            } else if (line.startsWith("ready ")) {
                                own.set(Integer.parseInt(line.substring(6)));
                                ready.countDown();
                            } else {
                                other.append(line).append('\n');
                            }
                        }
                    } catch (Exception e) {
                        other.append(e).append('\n');
                    }
                });
                long killedAt;
                long readyAt = 0;
                Set<Path> mapped;
                try {
                    if (early) {
                        earlyKills++;
                    } else {
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                        while (!ready.await(50, TimeUnit.MILLISECONDS)) {
                            if (!p.isAlive()) {
                                throw new AssertionError("kill " + it + ": the child ended by itself with exit code "
                                        + p.exitValue() + " before it was ready; its output: " + other);
                            }
                            if (System.nanoTime() > deadline) {
                                throw new AssertionError("kill " + it + ": the child did not become ready in 120 s;"
                                        + " its output: " + other + "\nits threads:\n"
                                        + ReliabilityKillTest.stacks(p.pid()));
                            }
                        }
                        readyAt = System.nanoTime();
                    }
                    Thread.sleep(delayMs);
                    assertThat(p.isAlive())
                            .as("the child is still running; its output: %s", other)
                            .isTrue();
                    mapped = segmentsMappedBy(p.pid());
                    killedAt = System.nanoTime();
                } finally {
                    p.destroyForcibly(); // SIGKILL
                }
                assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).isEqualTo(137);
                reader.join();
                assertThat(other.toString()).as("the child's other output").doesNotContain(" failed: ");
                if (!early) {
                    if (acks.isEmpty()) {
                        System.out.printf(
                                "kill %d: no commit acknowledged in the %d ms after ready; the child's output: %s%n",
                                it, TimeUnit.NANOSECONDS.toMillis(killedAt - readyAt), other);
                    }
                    runningNanos += killedAt - readyAt;
                    if (own.get() < WRITERS) {
                        fewerOwn++;
                    }
                    if (tunable) {
                        // 8 sessions + the database's own: within the budget of 15 namespaces in either mode
                        assertThat(own.get())
                                .as("writers on a backend of their own")
                                .isEqualTo(WRITERS);
                    }
                }
                assertThat(ReliabilityKillTest.sysvSegmentsCreatedBy(p.pid()))
                        .as("System V shared memory left by kill %d", it)
                        .isZero();
                segmentsMapped += mapped.size();
                List<Path> afterKill = existing(mapped);
                segmentsAfterKill += afterKill.size();
                left.addAll(afterKill);

                try (PgEmbedded db = PgEmbedded.builder(dir)
                        .durability(durability)
                        .backends(2)
                        .open()) {
                    if (windowMs == 0) {
                        try (Result r =
                                db.query("SELECT setting::int FROM pg_settings WHERE name = 'wal_writer_delay'")) {
                            windowMs = 3L * r.row(0).getInt(0);
                        }
                    }
                    long[] max = new long[WRITERS];
                    // absent when the child was killed before it created them or, RELAXED, before that commit was
                    // flushed
                    if (exists(db, "written")) {
                        try (Result r = db.query("SELECT w.writer, count(*), min(w.seq), max(w.seq), t.n"
                                + " FROM written w JOIN tally t USING (writer) GROUP BY w.writer, t.n")) {
                            for (Row row : r) {
                                int w = row.getInt(0);
                                long count = row.getLong(1);
                                max[w] = row.getLong(3);
                                // (writer, seq) is the primary key: no duplicate; 1..max without a gap: a
                                // writer's commits survive as a prefix of its sequence
                                assertThat(row.getLong(2))
                                        .as("writer %d's first row", w)
                                        .isEqualTo(1);
                                assertThat(count)
                                        .as("writer %d: rows 1..max, no gap", w)
                                        .isEqualTo(max[w]);
                                assertThat(row.getLong(4))
                                        .as("writer %d: every transaction applied whole", w)
                                        .isEqualTo(count);
                            }
                        }
                    }
                    List<Ack> missing = new ArrayList<>();
                    for (int w = 0; w < WRITERS; w++) {
                        assertThat(max[w])
                                .as("writer %d: rows verified after earlier kills are still there", w)
                                .isGreaterThanOrEqualTo(verifiedMax[w]);
                    }
                    for (Ack a : acks) {
                        if (a.seq() > max[a.writer()]) {
                            missing.add(a);
                        }
                    }
                    if (durability == Durability.DURABLE) {
                        assertThat(missing)
                                .as("acknowledged durable commits lost")
                                .isEmpty();
                    } else {
                        long window = TimeUnit.MILLISECONDS.toNanos(windowMs);
                        for (Ack a : missing) {
                            long before = killedAt - a.arrivedNanos();
                            oldestMissingMs = Math.max(oldestMissingMs, TimeUnit.NANOSECONDS.toMillis(before));
                            assertThat(before)
                                    .as(
                                            "writer %d's row %d, acknowledged %d ms before the kill, is lost (allowed: %d"
                                                    + " ms)",
                                            a.writer(), a.seq(), TimeUnit.NANOSECONDS.toMillis(before), windowMs)
                                    .isLessThanOrEqualTo(window);
                        }
                    }
                    IntegrityCheck.Report report = IntegrityCheck.run(db);
                    assertThat(report.problems())
                            .as("amcheck after kill %d", it)
                            .isEmpty();
                    assertThat(report.indexes()).isGreaterThan(100); // the catalogs' and ours
                    acked += acks.size();
                    missingTotal += missing.size();
                    missingMax = Math.max(missingMax, missing.size());
                    verifiedMax = max;
                }
                segmentsAfterReopen += existing(mapped).size();
            }
        } finally {
            // what the killed children left in /dev/shm, counted above: not this machine's to keep
            for (Path s : left) {
                Files.deleteIfExists(s);
            }
        }
        long rows = 0;
        for (long m : verifiedMax) {
            rows += m;
        }
        System.out.printf(
                "kill -9 under %d writers, %s: %d kills (%d during start-up), %d acknowledged commits (%.0f/s while"
                        + " running), %d rows checked, %d acknowledged commits missing (at most %d per kill; the oldest"
                        + " acknowledged %d ms before its kill, allowed %d ms), fewer than %d own backends in %d runs;"
                        + " /dev/shm: %d PostgreSQL segments mapped by the children at their kills, %d of them left after"
                        + " the kills, %d still there after the reopens; %.1f s%n",
                WRITERS,
                durability,
                iterations,
                earlyKills,
                acked,
                runningNanos == 0 ? 0.0 : acked / (runningNanos / 1e9),
                rows,
                missingTotal,
                missingMax,
                oldestMissingMs,
                windowMs,
                WRITERS,
                fewerOwn,
                segmentsMapped,
                segmentsAfterKill,
                segmentsAfterReopen,
                (System.nanoTime() - started) / 1e9);
    }

    /* the POSIX shared memory segments of PostgreSQL that process pid maps now */
    private static Set<Path> segmentsMappedBy(long pid) throws IOException {
        Set<Path> out = new HashSet<>();
        try (Stream<String> lines = Files.lines(Path.of("/proc/" + pid + "/maps"))) {
            lines.forEach(l -> {
                Matcher m = SEGMENT.matcher(l);
                if (m.find()) {
                    out.add(Path.of("/dev/shm", m.group(1)));
                }
            });
        } catch (java.nio.file.NoSuchFileException e) {
            // ended meanwhile: the assertion after the kill tells why
        }
        return out;
    }

    private static List<Path> existing(Set<Path> segments) {
        return segments.stream().filter(Files::exists).toList();
    }

    private static boolean exists(PgEmbedded db, String table) {
        try (Result r = db.query("SELECT to_regclass($1) IS NOT NULL", table)) {
            return r.row(0).getBoolean(0);
        }
    }
}
