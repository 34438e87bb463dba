package dev.pgembed.benchmarks;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.junit.FlywayMigrations;
import dev.pgembed.junit.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;

/**
 * What a fresh database per test costs, in one run: an empty one (the JUnit extension's per-test database), one
 * migrated per test, a copy of a template migrated once (the test kit's {@code initializer}), and PostgreSQL's
 * {@code CREATE DATABASE ... TEMPLATE} inside one cluster (then the engine must be reopened on the new database,
 * as a pgembed engine serves one database). Migrations: {@code testdb-migrations/} (12 tables, 8 indexes, a view, a
 * function, 2 000 rows). Each figure: median, mean and p90 of {@code PGEMBED_TESTDB_N} (default 30) repetitions
 * after 3 warm-ups, in milliseconds.
 *
 * <pre>mvn -q -B install -DskipTests && mvn -q -B -pl benchmarks validate exec:exec -Dbench.main=dev.pgembed.benchmarks.TestDatabaseBench</pre>
 */
public final class TestDatabaseBench {

    /** Flyway on the benchmark's migrations. */
    public static final class Migrations extends FlywayMigrations {
        /** Created by the test kit. */
        public Migrations() {}

        @Override
        protected void configure(FluentConfiguration configuration) {
            configuration.locations("classpath:testdb-migrations");
        }
    }

    private interface Step {
        void run() throws Exception;
    }

    private TestDatabaseBench() {}

    /**
     * Runs the comparison and prints a Markdown table.
     *
     * @param args none
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(System.getenv().getOrDefault("PGEMBED_TESTDB_N", "30"));
        List<String> rows = new ArrayList<>();
        rows.add(row("fresh empty database (open + close)", time(n, () -> {
            try (TestDatabase db = TestDatabase.fresh()) {
                db.pgEmbedded().execute("SELECT 1");
            }
        })));
        rows.add(row("fresh database + Flyway migration per test", time(n, () -> {
            try (TestDatabase db = TestDatabase.fresh()) {
                new Migrations().initialize(db);
            }
        })));
        long t0 = System.nanoTime();
        try (TestDatabase first = TestDatabase.fresh(Migrations.class)) {
            first.pgEmbedded().execute("SELECT 1");
        }
        double templateMs = (System.nanoTime() - t0) / 1e6;
        rows.add(row("copy of the migrated template (open + close)", time(n, () -> {
            try (TestDatabase db = TestDatabase.fresh(Migrations.class)) {
                db.pgEmbedded().execute("SELECT count(*) FROM product");
            }
        })));
        Path dir = Files.createTempDirectory(
                Path.of(Files.isWritable(Path.of("/dev/shm")) ? "/dev/shm" : System.getProperty("java.io.tmpdir")),
                "pgembed-bench-tmpl-");
        try {
            try (PgEmbedded db =
                    PgEmbedded.builder(dir).durability(Durability.NONE).open()) {
                Flyway.configure()
                        .dataSource(
                                dev.pgembed.jdbc.PgEmbedUrl.forDirectory(dir, new java.util.Properties()), null, null)
                        .locations("classpath:testdb-migrations")
                        .load()
                        .migrate();
                // the template's own session may stay connected: PostgreSQL counts the other sessions only
                int[] i = {0};
                rows.add(row("CREATE DATABASE ... TEMPLATE (FILE_COPY) + DROP", time(n, () -> {
                    String name = "t_" + i[0]++;
                    db.execute("CREATE DATABASE " + name + " TEMPLATE postgres STRATEGY FILE_COPY");
                    db.execute("DROP DATABASE " + name);
                })));
                rows.add(row("CREATE DATABASE ... TEMPLATE (WAL_LOG) + DROP", time(n, () -> {
                    String name = "w_" + i[0]++;
                    db.execute("CREATE DATABASE " + name + " TEMPLATE postgres STRATEGY WAL_LOG");
                    db.execute("DROP DATABASE " + name);
                })));
                db.execute("CREATE DATABASE reopened TEMPLATE postgres STRATEGY FILE_COPY");
            }
            rows.add(row("then reopening the engine on that database (close + open)", time(n, () -> {
                try (PgEmbedded db = PgEmbedded.builder(dir)
                        .durability(Durability.NONE)
                        .database("reopened")
                        .open()) {
                    db.execute("SELECT count(*) FROM product");
                }
            })));
        } finally {
            Benchmarks.deleteTree(dir);
        }
        System.out.println("| per test | median ms | mean ms | p90 ms |");
        System.out.println("|---|---:|---:|---:|");
        rows.forEach(System.out::println);
        System.out.printf(
                Locale.ROOT,
                "%nbuilding the template once (open, migrate, close, first copy): %.0f ms; n = %d%n",
                templateMs,
                n);
    }

    private static double[] time(int n, Step step) throws Exception {
        for (int i = 0; i < 3; i++) {
            step.run();
        }
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            step.run();
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        return ms;
    }

    private static String row(String name, double[] ms) {
        double[] s = ms.clone();
        Arrays.sort(s);
        double mean = Arrays.stream(s).average().orElse(Double.NaN);
        return String.format(
                Locale.ROOT,
                "| %s | %.1f | %.1f | %.1f |",
                name,
                s[s.length / 2],
                mean,
                s[(int) Math.min(s.length - 1, Math.ceil(s.length * 0.9) - 1)]);
    }
}
