package dev.pgembed.benchmarks;

import dev.pgembed.PgEmbedded;
import dev.pgembed.jdbc.PgEmbedDriver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What handing the one backend session from one JDBC connection to another costs (the turn-taking of connections
 * that share a backend): a point read by primary key, alternating between two connections (every statement is a
 * hand-over), against the same read repeated on one connection, and alternating a JDBC connection with the direct
 * API. Single-threaded, so the figure is the hand-over itself, not waiting. Each figure: median and p90 of
 * {@code PGEMBED_HANDOVER_ROUNDS} (default 15) rounds of {@code PGEMBED_HANDOVER_N} (default 2000) reads, after
 * warm-up rounds, in microseconds per read.
 *
 * <pre>mvn -q -B install -DskipTests &amp;&amp; mvn -q -B -pl benchmarks validate exec:exec -Dbench.main=dev.pgembed.benchmarks.HandOverBench</pre>
 */
public final class HandOverBench {
    private interface Read {
        void run(int id) throws Exception;
    }

    private HandOverBench() {}

    /**
     * Runs the measurement and prints a Markdown table.
     *
     * @param args none
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(System.getenv().getOrDefault("PGEMBED_HANDOVER_ROUNDS", "15"));
        int n = Integer.parseInt(System.getenv().getOrDefault("PGEMBED_HANDOVER_N", "2000"));
        Path base = Path.of(Files.isWritable(Path.of("/dev/shm")) ? "/dev/shm" : System.getProperty("java.io.tmpdir"));
        Path dir = Files.createTempDirectory(base, "pgembed-bench-handover-");
        Class.forName(PgEmbedDriver.class.getName());
        try (PgEmbedded db = PgEmbedded.open(dir.resolve("db"))) {
            db.execute("CREATE TABLE kv (id int PRIMARY KEY, v text)");
            db.execute("INSERT INTO kv SELECT g, 'value ' || g FROM generate_series(1, 1000) g");
            db.execute("VACUUM ANALYZE kv");
            String url = "jdbc:pgembed:" + dir.resolve("db");
            try (Connection a = DriverManager.getConnection(url);
                    Connection b = DriverManager.getConnection(url);
                    PreparedStatement ra = a.prepareStatement("SELECT v FROM kv WHERE id = ?");
                    PreparedStatement rb = b.prepareStatement("SELECT v FROM kv WHERE id = ?")) {
                List<String> rows = new ArrayList<>();
                rows.add(row("one JDBC connection", time(rounds, n, id -> read(ra, id))));
                rows.add(row(
                        "two JDBC connections, alternating", time(rounds, n, id -> read((id & 1) == 0 ? ra : rb, id))));
                try (Statement s = b.createStatement()) {
                    s.execute("SET work_mem = '8MB'");
                    s.execute("SET application_name = 'bench-b'");
                }
                rows.add(row(
                        "two JDBC connections, alternating, one with 2 SETs",
                        time(rounds, n, id -> read((id & 1) == 0 ? ra : rb, id))));
                rows.add(row("JDBC connection and direct API, alternating", time(rounds, n, id -> {
                    if ((id & 1) == 0) {
                        read(ra, id);
                    } else {
                        try (var r = db.query("SELECT v FROM kv WHERE id = $1", 1 + id % 1000)) {
                            r.row(0).getString(0);
                        }
                    }
                })));
                System.out.println("| Point read (primary key) | median µs | p90 µs |");
                System.out.println("|---|---:|---:|");
                rows.forEach(System.out::println);
            }
        } finally {
            Benchmarks.deleteTree(dir);
        }
    }

    private static void read(PreparedStatement ps, int id) throws SQLException {
        ps.setInt(1, 1 + id % 1000);
        try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            rs.getString(1);
        }
    }

    private static double[] time(int rounds, int n, Read read) throws Exception {
        for (int w = 0; w < 3; w++) {
            for (int i = 0; i < n; i++) {
                read.run(i);
            }
        }
        double[] us = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                read.run(i);
            }
            us[r] = (System.nanoTime() - t0) / 1e3 / n;
        }
        Arrays.sort(us);
        return us;
    }

    private static String row(String name, double[] sorted) {
        double median = sorted[sorted.length / 2];
        double p90 = sorted[Math.min(sorted.length - 1, (int) Math.ceil(sorted.length * 0.9) - 1)];
        return String.format(Locale.ROOT, "| %s | %.1f | %.1f |", name, median, p90);
    }
}
