package dev.pgembed.examples;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PreparedStatement;
import dev.pgembed.Result;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * Vector similarity search with pgvector: stores random embeddings, builds an HNSW index, runs k-nearest-neighbour
 * queries through it and measures how many of the true neighbours (found by an exact scan) it returns.
 *
 * <p>The embeddings are random but, like those of a real model, gather around topics: each is one of 1 000
 * random centres plus noise, normalized to length 1 ({@code clustered}, the default). Pass {@code uniform}
 * for independent Gaussian vectors, the hard case for an approximate index: in 384 dimensions all their
 * distances are nearly alike, and recall drops.
 */
public final class VectorSearch {
    private static final int K = 10;
    /* a float[] parameter of a prepared statement takes the statement's type: here a vector, sent in binary */
    private static final String KNN = "SELECT id FROM items ORDER BY embedding <-> $1 LIMIT " + K;

    private VectorSearch() {}

    /**
     * Runs the example in an in-memory database.
     *
     * @param args optional: number of rows (default 100000), dimensions (384), queries (100), and
     *             {@code clustered} (default) or {@code uniform}
     */
    public static void main(String[] args) {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int dims = args.length > 1 ? Integer.parseInt(args[1]) : 384;
        int queries = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        Embeddings random = new Embeddings(42, dims, args.length > 3 && args[3].equals("uniform"));
        // the HNSW graph is built fastest when it fits in maintenance_work_mem
        try (PgEmbedded db =
                PgEmbedded.inMemory().setting("maintenance_work_mem", "1GB").open()) {
            db.execute("CREATE EXTENSION vector");
            db.execute("CREATE TABLE items (id int PRIMARY KEY, embedding vector(" + dims + "))");

            long t0 = System.nanoTime();
            try (PreparedStatement insert = db.prepare("INSERT INTO items VALUES ($1, $2)")) {
                List<Object[]> batch = new ArrayList<>();
                for (int id = 1; id <= rows; id++) {
                    batch.add(new Object[] {id, random.next()});
                    if (batch.size() == 1000 || id == rows) {
                        insert.executeBatch(batch);
                        batch.clear();
                    }
                }
            }
            System.out.printf(
                    Locale.ROOT,
                    "Stored %,d random %d-dimension embeddings (%s) in %.1f s%n",
                    rows,
                    dims,
                    random.kind(),
                    seconds(t0));

            t0 = System.nanoTime();
            db.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)");
            System.out.printf(
                    Locale.ROOT, "Built the HNSW index (m = 16, ef_construction = 64) in %.1f s%n", seconds(t0));

            float[][] targets = new float[queries][];
            for (int i = 0; i < queries; i++) {
                targets[i] = random.next();
            }
            // exact: with index scans disabled the planner scans every row and keeps the K nearest
            db.execute("SET enable_indexscan = off");
            Searched exact = search(db, targets);
            db.execute("RESET enable_indexscan");
            try (Result plan = db.query("EXPLAIN (COSTS OFF) "
                    + KNN.replace("$1", "'" + Arrays.toString(targets[0]).replace(" ", "") + "'"))) {
                System.out.println("Plan: " + plan.row(0).getString(0) + " / "
                        + plan.row(1).getString(0).strip());
            }
            System.out.printf(Locale.ROOT, "Exact search:        median %6.2f ms per query%n", exact.medianMs());
            for (int ef : new int[] {40, 100, 200}) {
                db.execute("SET hnsw.ef_search = " + ef);
                Searched approx = search(db, targets);
                System.out.printf(
                        Locale.ROOT,
                        "HNSW, ef_search %3d: median %6.2f ms per query, recall@%d %.3f%n",
                        ef,
                        approx.medianMs(),
                        K,
                        approx.recall(exact));
            }
        }
    }

    /** The answers of a series of queries, and how long each took. */
    private record Searched(List<Set<Integer>> ids, long[] nanos) {
        double medianMs() {
            long[] s = nanos.clone();
            Arrays.sort(s);
            return (s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0) / 1e6;
        }

        /** The share of the true K nearest neighbours these answers found. */
        double recall(Searched exact) {
            int found = 0;
            for (int i = 0; i < ids.size(); i++) {
                Set<Integer> hit = new HashSet<>(ids.get(i));
                hit.retainAll(exact.ids.get(i));
                found += hit.size();
            }
            return (double) found / (ids.size() * K);
        }
    }

    private static Searched search(PgEmbedded db, float[][] targets) {
        List<Set<Integer>> ids = new ArrayList<>();
        long[] nanos = new long[targets.length];
        // prepared for each series: a cached plan keeps the settings (enable_indexscan) it was planned under
        try (PreparedStatement knn = db.prepare(KNN)) {
            for (int i = 0; i < targets.length; i++) {
                long t0 = System.nanoTime();
                Set<Integer> found = new HashSet<>();
                try (Result r = knn.query((Object) targets[i])) {
                    r.forEach(row -> found.add(row.getInt(0)));
                }
                nanos[i] = System.nanoTime() - t0;
                ids.add(found);
            }
        }
        return new Searched(ids, nanos);
    }

    /** Random embeddings: around random centres (clustered), or independent Gaussian vectors (uniform). */
    private static final class Embeddings {
        private static final int CENTRES = 1000;
        /* the noise around a centre, relative to the centre's length */
        private static final double SPREAD = 0.5;
        private final Random random;
        private final int dims;
        private final float[][] centres;

        Embeddings(long seed, int dims, boolean uniform) {
            this.random = new Random(seed);
            this.dims = dims;
            this.centres = uniform ? null : new float[CENTRES][];
            for (int c = 0; !uniform && c < CENTRES; c++) {
                centres[c] = gaussian(1.0);
            }
        }

        String kind() {
            return centres == null ? "independent Gaussian vectors" : "around " + CENTRES + " random centres";
        }

        float[] next() {
            if (centres == null) {
                return gaussian(1.0);
            }
            float[] c = centres[random.nextInt(CENTRES)];
            float[] v = gaussian(SPREAD);
            double norm = 0;
            for (int i = 0; i < dims; i++) {
                v[i] += c[i];
                norm += v[i] * v[i];
            }
            for (int i = 0; i < dims; i++) {
                v[i] /= (float) Math.sqrt(norm);
            }
            return v;
        }

        /* a Gaussian vector of expected length scale */
        private float[] gaussian(double scale) {
            float[] v = new float[dims];
            for (int i = 0; i < dims; i++) {
                v[i] = (float) (random.nextGaussian() * scale / Math.sqrt(dims));
            }
            return v;
        }
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
