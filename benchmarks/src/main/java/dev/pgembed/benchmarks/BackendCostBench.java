package dev.pgembed.benchmarks;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PgSession;
import dev.pgembed.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What several backends cost in Java: the open and the close of an existing database with {@code backends(1)}
 * (one engine) against {@code backends(8)} (PostgreSQL's postmaster, checkpointer and autovacuum launcher in
 * this process, and the database's own backend), alternating, and, on a database with as many backends as the
 * process's namespaces allow, the time of one more session ({@code db.session()} and its first
 * {@code SELECT 1}), of its close, and the resident memory each one adds (VmRSS of this process and its
 * anonymous, file and shared parts, from {@code /proc/self/status}). The database is on disk, DURABLE. {@code PGEMBED_COST_ROUNDS} (default
 * 7) opens per mode and rounds of sessions; medians and ranges over them.
 *
 * <pre>mvn -q -B install -DskipTests &amp;&amp; mvn -q -B -pl benchmarks validate exec:exec -Dbench.main=dev.pgembed.benchmarks.BackendCostBench</pre>
 */
public final class BackendCostBench {
    /* the sessions a round opens: the database's own backend and 11 more, the durable budget with the tunable */
    private static final int SESSIONS_WITH_TUNABLE = 11;
    private static final int SESSIONS_WITHOUT = 7;

    private BackendCostBench() {}

    /**
     * Runs the measurement and prints Markdown tables.
     *
     * @param args none
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(System.getenv().getOrDefault("PGEMBED_COST_ROUNDS", "7"));
        boolean tunable = String.valueOf(System.getenv("GLIBC_TUNABLES")).contains("glibc.rtld.nns=16");
        int sessions = tunable ? SESSIONS_WITH_TUNABLE : SESSIONS_WITHOUT;
        Path base = Files.createTempDirectory("pgembed-bench-backends-");
        Path dir = base.resolve("db");
        try {
            try (PgEmbedded db = PgEmbedded.open(dir)) {
                db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
            }
            // warm-up: one of each (class loading, the library's pages, the file cache)
            openClose(dir, 1);
            openClose(dir, 8);
            double[][] one = new double[2][rounds];
            double[][] eight = new double[2][rounds];
            for (int r = 0; r < rounds; r++) {
                double[] a = openClose(dir, 1);
                double[] b = openClose(dir, 8);
                one[0][r] = a[0];
                one[1][r] = a[1];
                eight[0][r] = b[0];
                eight[1][r] = b[1];
            }
            System.out.printf("GLIBC_TUNABLES %s; %d rounds%n%n", tunable ? "glibc.rtld.nns=16" : "unset", rounds);
            System.out.println("| existing database, DURABLE | open, ms | range | close, ms | range |");
            System.out.println("|---|---:|---:|---:|---:|");
            System.out.println("| `backends(1)` | " + cell(one[0]) + " | " + cell(one[1]) + " |");
            System.out.println("| `backends(8)` | " + cell(eight[0]) + " | " + cell(eight[1]) + " |");
            System.out.printf(
                    "%nopen ratio backends(8) / backends(1): %.2f (medians)%n%n",
                    Stats.median(eight[0]) / Stats.median(one[0]));

            List<Double> opens = new ArrayList<>();
            List<Double> closes = new ArrayList<>();
            List<Double> rssPer = new ArrayList<>();
            List<Double> anonPer = new ArrayList<>();
            List<Double> filePer = new ArrayList<>();
            List<Double> shmemPer = new ArrayList<>();
            List<Double> privatePer = new ArrayList<>();
            List<Double> rssKept = new ArrayList<>();
            try (PgEmbedded db = PgEmbedded.builder(dir).backends(sessions + 1).open()) {
                for (int r = 0; r < rounds + 1; r++) {
                    List<PgSession> open = new ArrayList<>();
                    long[] before = memory();
                    List<Double> roundOpens = new ArrayList<>();
                    for (int i = 0; i < sessions; i++) {
                        long t0 = System.nanoTime();
                        PgSession s = db.session();
                        try (Result x = s.query("SELECT 1")) {
                            x.row(0).getInt(0);
                        }
                        roundOpens.add((System.nanoTime() - t0) / 1e6);
                        if (!s.hasOwnBackend()) {
                            throw new IllegalStateException("session " + (i + 1) + " shares the database's backend");
                        }
                        open.add(s);
                    }
                    long[] full = memory();
                    List<Double> roundCloses = new ArrayList<>();
                    for (PgSession s : open) {
                        long t0 = System.nanoTime();
                        s.close();
                        roundCloses.add((System.nanoTime() - t0) / 1e6);
                    }
                    long[] after = memory();
                    if (r == 0) {
                        continue; // warm-up round
                    }
                    opens.addAll(roundOpens);
                    closes.addAll(roundCloses);
                    rssPer.add((full[0] - before[0]) / 1024.0 / sessions);
                    anonPer.add((full[1] - before[1]) / 1024.0 / sessions);
                    filePer.add((full[2] - before[2]) / 1024.0 / sessions);
                    shmemPer.add((full[3] - before[3]) / 1024.0 / sessions);
                    privatePer.add((full[4] - before[4]) / 1024.0 / sessions);
                    rssKept.add((after[0] - before[0]) / 1024.0);
                }
            }
            System.out.printf("| one more session (%d at once, %d rounds) | median | range |%n", sessions, rounds);
            System.out.println("|---|---:|---:|");
            System.out.println("| `db.session()` + first `SELECT 1`, ms | " + cell(opens) + " |");
            System.out.println("| `close()`, ms | " + cell(closes) + " |");
            System.out.println("| VmRSS added per session, MB | " + cell(rssPer) + " |");
            System.out.println("| of it RssAnon (heap, stacks), MB | " + cell(anonPer) + " |");
            System.out.println("| of it RssFile (the library copy's pages), MB | " + cell(filePer) + " |");
            System.out.println("| of it RssShmem (shared buffers touched), MB | " + cell(shmemPer) + " |");
            System.out.println(
                    "| private memory added per session (pages mapped once), MB | " + cell(privatePer) + " |");
            System.out.println("| VmRSS kept after all closed, MB (round total) | " + cell(rssKept) + " |");
        } finally {
            Benchmarks.deleteTree(base);
        }
    }

    /* opens the existing database with n backends and closes it: {open ms, close ms} */
    private static double[] openClose(Path dir, int n) {
        long t0 = System.nanoTime();
        PgEmbedded db = PgEmbedded.builder(dir).backends(n).open();
        long t1 = System.nanoTime();
        db.close();
        long t2 = System.nanoTime();
        return new double[] {(t1 - t0) / 1e6, (t2 - t1) / 1e6};
    }

    /*
     * {VmRSS, RssAnon, RssFile, RssShmem, private} of this process in kB; private (Private_Clean + Private_Dirty of
     * smaps_rollup) leaves out pages mapped more than once (the library file's pages in several namespaces, or by
     * other processes; a shared buffer two backends touched): what the process alone holds
     */
    private static long[] memory() throws IOException {
        long[] out = new long[5];
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                out[0] = kb(line);
            } else if (line.startsWith("RssAnon:")) {
                out[1] = kb(line);
            } else if (line.startsWith("RssFile:")) {
                out[2] = kb(line);
            } else if (line.startsWith("RssShmem:")) {
                out[3] = kb(line);
            }
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps_rollup"))) {
            if (line.startsWith("Private_Clean:") || line.startsWith("Private_Dirty:")) {
                out[4] += kb(line);
            }
        }
        return out;
    }

    private static long kb(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }

    private static String cell(List<Double> xs) {
        return cell(xs.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /* "median | min-max" */
    private static String cell(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return String.format(Locale.ROOT, "%.1f | %.1f-%.1f", Stats.median(s), s[0], s[s.length - 1]);
    }
}
