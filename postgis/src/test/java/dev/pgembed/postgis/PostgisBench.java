package dev.pgembed.postgis;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.PreparedStatement;
import dev.pgembed.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * A small PostGIS benchmark on pgembed: random points over a square of 1 000 x 1 000 (SRID 0), the build of a
 * GiST index on them, and the latency of k-nearest-neighbour queries ({@code ORDER BY geom <-> point LIMIT k})
 * through it, beside a box query ({@code &&}) of about the same number of rows.
 *
 * <p>Not a unit test (no timing asserts): run it with the module's test class path, e.g. the one surefire
 * recorded ({@code surefire.test.class.path} in {@code target/surefire-reports/TEST-*.xml}):
 * {@code java --enable-native-access=ALL-UNNAMED -cp <class path> dev.pgembed.postgis.PostgisBench 1000000 1000}.
 * ({@code exec:exec -Dexec.executable=java} does not work in this module: the property also replaces the
 * executable of the module's build-postgis execution.)
 */
public final class PostgisBench {
    private static final double SIDE = 1_000.0;

    private PostgisBench() {}

    /**
     * Runs the benchmark in a database in a temporary directory (durability NONE: the load is not what is
     * measured).
     *
     * @param args optional: points (default 1000000), queries (1000), k (10)
     * @throws Exception if the temporary directory cannot be made
     */
    public static void main(String[] args) throws Exception {
        int points = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        int queries = args.length > 1 ? Integer.parseInt(args[1]) : 1_000;
        int k = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        Path dir = Files.createTempDirectory("postgis-bench-");
        try (PgEmbedded db = PgEmbedded.builder(dir.resolve("db"))
                .durability(Durability.NONE)
                .setting("maintenance_work_mem", "256MB")
                .open()) {
            db.execute("CREATE EXTENSION postgis");
            long t0 = System.nanoTime();
            db.execute("SELECT setseed(0.42)");
            db.execute("CREATE TABLE pts AS SELECT i AS id, ST_MakePoint(random() * " + SIDE + ", random() * " + SIDE
                    + ")::geometry(Point) AS geom FROM generate_series(1, " + points + ") i");
            double load = seconds(t0);
            t0 = System.nanoTime();
            db.execute("CREATE INDEX pts_geom ON pts USING gist (geom)");
            double build = seconds(t0);
            db.execute("VACUUM ANALYZE pts");
            String size;
            try (Result r = db.query("SELECT pg_size_pretty(pg_relation_size('pts_geom'))")) {
                size = r.row(0).getString(0);
            }
            System.out.printf(
                    Locale.ROOT,
                    "%,d points: generated in %.2f s; GiST index built in %.2f s (%s, maintenance_work_mem 256MB)%n",
                    points,
                    load,
                    build,
                    size);
            try (Result plan = db.query(
                    "EXPLAIN (COSTS OFF) SELECT id FROM pts ORDER BY geom <-> ST_MakePoint(1, 2) LIMIT " + k)) {
                System.out.println("Plan: " + plan.row(1).getString(0).strip());
            }

            Random random = new Random(7);
            // a box of side s holds about points * s² / SIDE² rows: the side that holds about k of them
            double side = SIDE * Math.sqrt((double) k / points);
            try (PreparedStatement knn =
                            db.prepare("SELECT id FROM pts ORDER BY geom <-> ST_MakePoint($1, $2) LIMIT " + k);
                    PreparedStatement box = db.prepare(
                            "SELECT id FROM pts WHERE geom && ST_MakeEnvelope($1, $2, $1::float8 + $3, $2::float8 + $3)")) {
                // warm-up: the plans, the index's pages in shared buffers
                for (int i = 0; i < 100; i++) {
                    knn.query(random.nextDouble() * SIDE, random.nextDouble() * SIDE)
                            .close();
                    box.query(random.nextDouble() * SIDE, random.nextDouble() * SIDE, side)
                            .close();
                }
                long[] knnNanos = new long[queries];
                long[] boxNanos = new long[queries];
                long rows = 0;
                for (int i = 0; i < queries; i++) {
                    double x = random.nextDouble() * SIDE;
                    double y = random.nextDouble() * SIDE;
                    long q0 = System.nanoTime();
                    try (Result r = knn.query(x, y)) {
                        rows += r.rowCount();
                    }
                    knnNanos[i] = System.nanoTime() - q0;
                    q0 = System.nanoTime();
                    try (Result r = box.query(x, y, side)) {
                        r.rowCount();
                    }
                    boxNanos[i] = System.nanoTime() - q0;
                }
                System.out.printf(
                        Locale.ROOT,
                        "k-NN (k = %d), %d queries: p50 %.3f ms, p99 %.3f ms (%d rows)%n",
                        k,
                        queries,
                        percentile(knnNanos, 0.50),
                        percentile(knnNanos, 0.99),
                        rows);
                System.out.printf(
                        Locale.ROOT,
                        "box && (about %d rows), %d queries: p50 %.3f ms, p99 %.3f ms%n",
                        k,
                        queries,
                        percentile(boxNanos, 0.50),
                        percentile(boxNanos, 0.99));
            }
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            }
        }
    }

    private static double percentile(long[] nanos, double p) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.ceil(p * s.length) - 1)] / 1e6;
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
