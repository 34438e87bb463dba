package dev.pgembed.benchmarks;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PreparedStatement;
import dev.pgembed.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * pgvector k-nearest-neighbour search: the build time of an HNSW index and the latency and recall@10 of
 * queries through it, beside an exact scan of the same table, on pgembed and on the stock server of the same
 * build (which loads the same vector.so from the stage). Writes {@code results/vector.md}.
 *
 * <p>Options (environment variable, or the system property in brackets): {@code PGEMBED_BENCH}
 * ({@code bench.size}) {@code full} (100 000 rows of 384 dimensions, 200 queries) or {@code smoke} (2 000
 * rows, 20 queries); {@code PGEMBED_BENCH_ENGINES} ({@code bench.engines}): {@code pgembed}, {@code server}
 * or both (the default); {@code PGEMBED_BENCH_ROWS} ({@code bench.rows}): the number of rows instead of the
 * size's; {@code PGEMBED_BENCH_OUT} ({@code bench.out}): the output directory.
 */
public final class VectorBench {
    static final int K = 10;
    /** The HNSW search widths measured: pgvector's default first. */
    static final int[] EF_SEARCH = {40, 100};

    private VectorBench() {}

    /** The data set and what to run. */
    record Options(int rows, int dims, int queries, int warmUp, List<String> engines, Path outDir) {
        static Options fromEnvironment() {
            boolean smoke =
                    Benchmarks.setting("PGEMBED_BENCH", "bench.size", "full").equalsIgnoreCase("smoke");
            List<String> engines = new ArrayList<>();
            for (String e : Benchmarks.setting("PGEMBED_BENCH_ENGINES", "bench.engines", "pgembed,server")
                    .split(",")) {
                if (e.equals("pgembed") || e.equals("server")) {
                    engines.add(e);
                }
            }
            Path module = Files.isRegularFile(Path.of("benchmarks/pom.xml")) ? Path.of("benchmarks") : Path.of(".");
            String out = Benchmarks.setting("PGEMBED_BENCH_OUT", "bench.out", null);
            Path outDir = out != null ? Path.of(out) : module.resolve("results");
            // a smaller table than the full size, for a run of minutes rather than a quarter of an hour
            String rows = Benchmarks.setting("PGEMBED_BENCH_ROWS", "bench.rows", null);
            int n = rows != null ? Integer.parseInt(rows) : smoke ? 2_000 : 100_000;
            return smoke ? new Options(n, 384, 20, 5, engines, outDir) : new Options(n, 384, 200, 20, engines, outDir);
        }
    }

    /** The two kinds of random embeddings: the table of each is measured on its own. */
    enum DataSet {
        /** Around 1 000 random centres plus noise, normalized: clustered by topic, as a model's embeddings are. */
        CLUSTERED("Clustered embeddings: 1 000 random centres, each vector a centre plus Gaussian noise of half its"
                + " length, normalized"),
        /** Independent Gaussian vectors: all distances nearly alike, the hard case for an approximate index. */
        GAUSSIAN("Independent Gaussian vectors: in 384 dimensions all distances are nearly alike, the hard case for"
                + " an approximate index");

        final String title;

        DataSet(String title) {
            this.title = title;
        }

        /** n vectors of dims elements, the same for every engine (seeded). */
        float[][] vectors(Random random, float[][] centres, int n, int dims) {
            float[][] out = new float[n][];
            for (int i = 0; i < n; i++) {
                out[i] = randomVector(random, dims);
                if (this == CLUSTERED) {
                    float[] c = centres[random.nextInt(centres.length)];
                    double norm = 0;
                    for (int j = 0; j < dims; j++) {
                        out[i][j] = c[j] + 0.5f * out[i][j];
                        norm += out[i][j] * out[i][j];
                    }
                    for (int j = 0; j < dims; j++) {
                        out[i][j] /= (float) Math.sqrt(norm);
                    }
                }
            }
            return out;
        }
    }

    /** What one engine measured on one data set: labels to values, in table order. */
    record Measured(String engine, String version, DataSet data, Map<String, Double> values) {}

    /** One database the benchmark drives: SQL, a batch load and a k-NN query. */
    interface Side extends AutoCloseable {
        void exec(String sql) throws Exception;

        /** Inserts (id, embedding) for ids 1..n. */
        void load(float[][] rows) throws Exception;

        /**
         * Prepares the k-NN query afresh: a cached plan is not replanned when a setting such as
         * enable_indexscan changes, so each phase plans under its own settings.
         */
        void prepareKnn() throws Exception;

        /** The ids of the K nearest rows by L2 distance, by the statement of the last prepareKnn(). */
        List<Integer> knn(float[] target) throws Exception;

        String version() throws Exception;

        @Override
        void close() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.fromEnvironment();
        String md = run(o);
        System.out.println();
        System.out.println(md);
    }

    /** Runs every engine of o on both data sets and writes vector.md; returns its text. */
    static String run(Options o) throws Exception {
        Path work = Files.createTempDirectory(
                "pgembed-vector-bench-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        List<Measured> all = new ArrayList<>();
        try {
            for (DataSet d : DataSet.values()) {
                Random random = new Random(42);
                float[][] centres = new float[1000][];
                for (int i = 0; i < centres.length; i++) {
                    centres[i] = randomVector(random, o.dims());
                }
                float[][] data = d.vectors(random, centres, o.rows(), o.dims());
                float[][] queries = d.vectors(random, centres, o.warmUp() + o.queries(), o.dims());
                for (String engine : o.engines()) {
                    System.out.println("[bench] vector search on " + engine + ", "
                            + d.name().toLowerCase(Locale.ROOT) + " data ...");
                    if (engine.equals("pgembed")) {
                        try (PgEmbedSide s = new PgEmbedSide()) {
                            all.add(measure("pgembed", s, o, d, data, queries));
                        }
                    } else {
                        try (PgServer server = PgServer.start(PgServer.findTree(), work);
                                ServerSide s = new ServerSide(server)) {
                            all.add(measure("PG server, Unix socket", s, o, d, data, queries));
                        }
                    }
                }
            }
        } finally {
            Benchmarks.deleteTree(work);
        }
        String md = markdown(o, all);
        Files.createDirectories(o.outDir());
        Files.writeString(o.outDir().resolve("vector.md"), md);
        System.out.println("[bench] wrote " + o.outDir().resolve("vector.md"));
        return md;
    }

    static Measured measure(String engine, Side s, Options o, DataSet d, float[][] data, float[][] queries)
            throws Exception {
        Map<String, Double> v = new LinkedHashMap<>();
        s.exec("CREATE EXTENSION IF NOT EXISTS vector");
        s.exec("CREATE TABLE items (id int PRIMARY KEY, embedding vector(" + o.dims() + "))");
        long t0 = System.nanoTime();
        s.load(data);
        v.put("load", (System.nanoTime() - t0) / 1e9);
        // the graph fits in maintenance_work_mem: the build never falls back to its slower on-disk phase
        s.exec("SET maintenance_work_mem = '2GB'");
        t0 = System.nanoTime();
        s.exec("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)");
        v.put("build", (System.nanoTime() - t0) / 1e9);
        s.exec("ANALYZE items");

        s.exec("SET enable_indexscan = off");
        List<Set<Integer>> exact = new ArrayList<>();
        long[] ns = timed(s, queries, o.warmUp(), exact);
        double[] st = Stats.meanP50P99(ns);
        v.put("exact-p50", st[1] / 1e3);
        v.put("exact-p99", st[2] / 1e3);
        s.exec("RESET enable_indexscan");
        for (int ef : EF_SEARCH) {
            s.exec("SET hnsw.ef_search = " + ef);
            List<Set<Integer>> approx = new ArrayList<>();
            ns = timed(s, queries, o.warmUp(), approx);
            st = Stats.meanP50P99(ns);
            v.put("hnsw" + ef + "-p50", st[1] / 1e3);
            v.put("hnsw" + ef + "-p99", st[2] / 1e3);
            v.put("hnsw" + ef + "-recall", recall(approx, exact));
        }
        return new Measured(engine, s.version(), d, v);
    }

    /** Runs every query (the first warmUp unmeasured), collects their answers, returns the measured times. */
    private static long[] timed(Side s, float[][] queries, int warmUp, List<Set<Integer>> answers) throws Exception {
        s.prepareKnn();
        long[] ns = new long[queries.length - warmUp];
        for (int i = 0; i < queries.length; i++) {
            long t0 = System.nanoTime();
            List<Integer> ids = s.knn(queries[i]);
            long t = System.nanoTime() - t0;
            if (i >= warmUp) {
                ns[i - warmUp] = t;
                answers.add(new HashSet<>(ids));
            }
        }
        return ns;
    }

    /** The share of the exact K nearest that the approximate answers contain. */
    static double recall(List<Set<Integer>> approx, List<Set<Integer>> exact) {
        int found = 0;
        int total = 0;
        for (int i = 0; i < exact.size(); i++) {
            Set<Integer> a = new HashSet<>(approx.get(i));
            a.retainAll(exact.get(i));
            found += a.size();
            total += exact.get(i).size();
        }
        return total == 0 ? 0 : (double) found / total;
    }

    /** A Gaussian vector of expected length 1. */
    static float[] randomVector(Random random, int dims) {
        float[] v = new float[dims];
        for (int i = 0; i < dims; i++) {
            v[i] = (float) (random.nextGaussian() / Math.sqrt(dims));
        }
        return v;
    }

    /** pgvector's text form, for the server side: {@code [1.5,-2,...]}. */
    static String text(float[] v) {
        StringBuilder b = new StringBuilder(v.length * 11 + 2).append('[');
        for (int i = 0; i < v.length; i++) {
            if (i > 0) {
                b.append(',');
            }
            b.append(v[i]);
        }
        return b.append(']').toString();
    }

    static String markdown(Options o, List<Measured> all) {
        StringBuilder b = new StringBuilder();
        b.append("# pgvector: HNSW index and k-NN search\n\n");
        b.append("- Date: ")
                .append(ZonedDateTime.now().format(DateTimeFormatter.RFC_1123_DATE_TIME))
                .append('\n');
        b.append("- Machine: ").append(Report.machine()).append('\n');
        all.stream()
                .map(m -> "- " + m.engine() + ": " + m.version() + "\n")
                .distinct()
                .forEach(b::append);
        b.append("- Command: `mvn -q -B install -DskipTests && mvn -q -B -pl benchmarks validate exec:exec"
                + " -Dbench.main=dev.pgembed.benchmarks.VectorBench` (`PGEMBED_BENCH=smoke` for the quick run,"
                + " `PGEMBED_BENCH_ROWS=n` for n rows)\n");
        b.append(String.format(
                Locale.ROOT,
                "- Data: %,d random vectors of %d dimensions (seed 42) and %d query vectors"
                        + " drawn the same way, after %d unmeasured ones; k = %d, L2 distance. Two data sets, below.%n",
                o.rows(),
                o.dims(),
                o.queries(),
                o.warmUp(),
                K));
        b.append("- Load: prepared INSERTs in batches of 1000 (pgembed `executeBatch`; the server through pgjdbc's"
                + " `executeBatch`, one statement per row, the vector as text). Index: HNSW, m = 16, ef_construction ="
                + " 64, maintenance_work_mem 2GB. The server may use its parallel maintenance workers for the build"
                + " (its defaults); pgembed has none.\n");
        b.append("- Exact scan: the same query with enable_indexscan = off (a sequential scan keeping the k nearest);"
                + " its answers are the truth recall@10 is measured against. Latency: one prepared query per sample,"
                + " from the call to the last row read.\n");
        for (DataSet d : DataSet.values()) {
            List<Measured> ms = all.stream().filter(m -> m.data() == d).toList();
            if (!ms.isEmpty()) {
                b.append("\n## ").append(d.title).append("\n\n").append(table(o, ms));
            }
        }
        return b.toString();
    }

    private static String table(Options o, List<Measured> all) {
        StringBuilder b = new StringBuilder();
        b.append("| Measure | unit |");
        for (Measured m : all) {
            b.append(' ').append(m.engine()).append(" |");
        }
        b.append("\n|---|---|");
        b.append("---:|".repeat(all.size()));
        b.append('\n');
        Map<String, String[]> rows = new LinkedHashMap<>();
        rows.put("load", new String[] {String.format(Locale.ROOT, "Load %,d rows", o.rows()), "s"});
        rows.put("build", new String[] {"Build the HNSW index", "s"});
        rows.put("exact-p50", new String[] {"Exact scan, k-NN p50", "ms"});
        rows.put("exact-p99", new String[] {"Exact scan, k-NN p99", "ms"});
        for (int ef : EF_SEARCH) {
            rows.put("hnsw" + ef + "-p50", new String[] {"HNSW, ef_search " + ef + ", k-NN p50", "ms"});
            rows.put("hnsw" + ef + "-p99", new String[] {"HNSW, ef_search " + ef + ", k-NN p99", "ms"});
            rows.put("hnsw" + ef + "-recall", new String[] {"HNSW, ef_search " + ef + ", recall@10", ""});
        }
        for (Map.Entry<String, String[]> r : rows.entrySet()) {
            b.append("| ")
                    .append(r.getValue()[0])
                    .append(" | ")
                    .append(r.getValue()[1])
                    .append(" |");
            for (Measured m : all) {
                Double x = m.values().get(r.getKey());
                b.append(' ')
                        .append(
                                x == null
                                        ? ""
                                        : r.getKey().endsWith("recall")
                                                ? String.format(Locale.ROOT, "%.3f", x)
                                                : Report.fmt(x))
                        .append(" |");
            }
            b.append('\n');
        }
        return b.toString();
    }

    /** pgembed through its Java API, in memory (durability NONE, as a benchmark of search, not of commits). */
    static final class PgEmbedSide implements Side {
        private final PgEmbedded db = PgEmbedded.inMemory().open();
        private PreparedStatement search;

        @Override
        public void exec(String sql) {
            db.execute(sql);
        }

        @Override
        public void load(float[][] rows) {
            try (PreparedStatement insert = db.prepare("INSERT INTO items VALUES ($1, $2)")) {
                List<Object[]> batch = new ArrayList<>();
                for (int i = 0; i < rows.length; i++) {
                    batch.add(new Object[] {i + 1, rows[i]});
                    if (batch.size() == 1000 || i == rows.length - 1) {
                        insert.executeBatch(batch);
                        batch.clear();
                    }
                }
            }
        }

        @Override
        public void prepareKnn() {
            if (search != null) {
                search.close();
            }
            search = db.prepare("SELECT id FROM items ORDER BY embedding <-> $1 LIMIT " + K);
        }

        @Override
        public List<Integer> knn(float[] target) {
            List<Integer> ids = new ArrayList<>(K);
            try (Result r = search.query((Object) target)) {
                r.forEach(row -> ids.add(row.getInt(0)));
            }
            return ids;
        }

        @Override
        public String version() {
            try (Result r = db.query("SELECT 'PostgreSQL ' || current_setting('server_version') || ', pgvector '"
                    + " || extversion || ', in process' FROM pg_extension WHERE extname = 'vector'")) {
                return r.row(0).getString(0);
            }
        }

        @Override
        public void close() {
            if (search != null) {
                search.close();
            }
            db.close();
        }
    }

    /** The stock server through pgjdbc on its Unix socket. */
    static final class ServerSide implements Side {
        private final Connection c;
        private java.sql.PreparedStatement search;

        ServerSide(PgServer server) throws SQLException {
            c = DriverManager.getConnection(server.unixUrl("postgres"), "postgres", "");
        }

        @Override
        public void exec(String sql) throws SQLException {
            try (Statement st = c.createStatement()) {
                st.execute(sql);
            }
        }

        @Override
        public void load(float[][] rows) throws SQLException {
            c.setAutoCommit(false);
            try (java.sql.PreparedStatement insert = c.prepareStatement("INSERT INTO items VALUES (?, ?::vector)")) {
                for (int i = 0; i < rows.length; i++) {
                    insert.setInt(1, i + 1);
                    insert.setString(2, text(rows[i]));
                    insert.addBatch();
                    if ((i + 1) % 1000 == 0 || i == rows.length - 1) {
                        insert.executeBatch();
                        c.commit();
                    }
                }
            } finally {
                c.setAutoCommit(true);
            }
        }

        @Override
        public void prepareKnn() throws SQLException {
            if (search != null) {
                search.close();
            }
            search = c.prepareStatement("SELECT id FROM items ORDER BY embedding <-> ?::vector LIMIT " + K);
        }

        @Override
        public List<Integer> knn(float[] target) throws SQLException {
            search.setString(1, text(target));
            List<Integer> ids = new ArrayList<>(K);
            try (ResultSet rs = search.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getInt(1));
                }
            }
            return ids;
        }

        @Override
        public String version() throws SQLException {
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT 'PostgreSQL '"
                            + " || current_setting('server_version') || ', pgvector ' || extversion || ', pgjdbc "
                            + c.getMetaData().getDriverVersion() + "' FROM pg_extension WHERE extname = 'vector'")) {
                rs.next();
                return rs.getString(1);
            }
        }

        @Override
        public void close() throws SQLException {
            if (search != null) {
                search.close();
            }
            c.close();
        }
    }
}
