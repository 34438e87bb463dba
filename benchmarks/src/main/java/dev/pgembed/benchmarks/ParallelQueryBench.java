package dev.pgembed.benchmarks;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Parallel query on a database with several backends: one aggregate over a table of {@code PGEMBED_PARALLEL_ROWS}
 * rows (default 10 000 000), run serially ({@code max_parallel_workers_per_gather = 0}) and with two workers
 * (PostgreSQL's parallel workers, each a thread and a namespace of this process), alternating, {@code
 * PGEMBED_PARALLEL_ROUNDS} times (default 5). Prints the medians, their ratio, the workers EXPLAIN ANALYZE says
 * were launched, and whether both plans give the same row. The table fits in shared_buffers (512MB), so the
 * figure is CPU, not the disk: on 2 cores two workers and the leader share them.
 *
 * <pre>mvn -q -B install -DskipTests &amp;&amp; mvn -q -B -pl benchmarks validate exec:exec -Dbench.main=dev.pgembed.benchmarks.ParallelQueryBench</pre>
 */
public final class ParallelQueryBench {
    private static final String QUERY = "SELECT count(*), sum(id), avg(k) FROM big";

    private ParallelQueryBench() {}

    /**
     * Runs the measurement and prints a Markdown table.
     *
     * @param args none
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        int rows = Integer.parseInt(System.getenv().getOrDefault("PGEMBED_PARALLEL_ROWS", "10000000"));
        int rounds = Integer.parseInt(System.getenv().getOrDefault("PGEMBED_PARALLEL_ROUNDS", "5"));
        Path base = Files.createTempDirectory("pgembed-bench-parallel-");
        try (PgEmbedded db = PgEmbedded.builder(base.resolve("db"))
                .durability(Durability.RELAXED)
                .backends(4)
                .setting("shared_buffers", "512MB")
                .open()) {
            db.execute("CREATE TABLE big AS SELECT g AS id, g % 1000 AS k FROM generate_series(1, " + rows + ") g");
            db.execute("VACUUM ANALYZE big");
            String serialRow = run(db, 0);
            String parallelRow = run(db, 2); // warm-up of both, and their answers
            String launched = launched(db);
            double[] serial = new double[rounds];
            double[] parallel = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                serial[r] = timed(db, 0);
                parallel[r] = timed(db, 2);
            }
            double s = Stats.median(serial);
            double p = Stats.median(parallel);
            System.out.printf(
                    Locale.ROOT,
                    "| %,d rows: `%s` | serial %.0f ms | 2 workers %.0f ms (%s) | speed-up %.2fx | same row: %s |%n",
                    rows,
                    QUERY,
                    s,
                    p,
                    launched,
                    s / p,
                    serialRow.equals(parallelRow));
        } finally {
            Benchmarks.deleteTree(base);
        }
    }

    private static String run(PgEmbedded db, int workers) {
        db.execute("SET max_parallel_workers_per_gather = " + workers);
        try (Result r = db.query(QUERY)) {
            return r.row(0).getString(0) + "/" + r.row(0).getString(1) + "/"
                    + r.row(0).getString(2);
        }
    }

    private static double timed(PgEmbedded db, int workers) {
        long start = System.nanoTime();
        run(db, workers);
        return (System.nanoTime() - start) / 1e6;
    }

    private static String launched(PgEmbedded db) {
        db.execute("SET max_parallel_workers_per_gather = 2");
        StringBuilder plan = new StringBuilder();
        try (Result r = db.query("EXPLAIN (ANALYZE, COSTS OFF) " + QUERY)) {
            for (var row : r) {
                plan.append(row.getString(0)).append('\n');
            }
        }
        return plan.toString()
                .lines()
                .map(String::trim)
                .filter(l -> l.startsWith("Workers Launched"))
                .findFirst()
                .orElse("no Gather: the query ran serially");
    }
}
