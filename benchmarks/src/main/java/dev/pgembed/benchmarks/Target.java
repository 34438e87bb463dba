package dev.pgembed.benchmarks;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;

/** One column of the results: an engine in one configuration. */
record Target(String id, String label, Group group, boolean inProcess, boolean reopenable, Opener opener) {

    /** The two tables of the report, each with its SQLite-on-disk baseline. */
    enum Group {
        DURABLE("Durable: every commit is flushed to disk before it returns", "sqlite-full"),
        RELAXED("Relaxed durability and in memory", "sqlite-normal");

        final String title;
        final String baseline;

        Group(String title, String baseline) {
            this.title = title;
            this.baseline = baseline;
        }
    }

    /** An open database and how long opening it took (open + {@code SELECT 1}), in ms. */
    record Opened(Engine engine, double ms) {}

    @FunctionalInterface
    interface Opener {
        /** Opens the database kept in {@code dir} (creating it when the directory is empty). */
        Opened open(Path dir) throws Exception;
    }

    @FunctionalInterface
    interface EngineSupplier {
        Engine get() throws Exception;
    }

    /** Times opening plus a first {@code SELECT 1}. */
    static Opened timed(EngineSupplier s) throws Exception {
        long t0 = System.nanoTime();
        Engine e = s.get();
        e.exec("SELECT 1");
        return new Opened(e, (System.nanoTime() - t0) / 1e6);
    }

    static Target pgembed(String id, String label, Group g, Durability d) {
        return new Target(
                id,
                label,
                g,
                true,
                true,
                dir -> timed(() ->
                        new PgEmbedEngine(PgEmbedded.builder(dir).durability(d).open())));
    }

    /** pgembed through pgjdbc on {@code jdbc:pgembed:} (the in-process transport of the jdbc module). */
    static Target pgembedJdbc(String id, String label, Group g, String durability) {
        return new Target(
                id,
                label,
                g,
                true,
                true,
                dir -> timed(() -> new JdbcEngine(
                        DriverManager.getConnection(
                                "jdbc:pgembed:" + dir.toAbsolutePath() + "?durability=" + durability),
                        true)));
    }

    static Target pgembedInMemory(String id, String label, Group g) {
        return new Target(
                id,
                label,
                g,
                true,
                false,
                dir -> timed(() -> new PgEmbedEngine(PgEmbedded.inMemory().open())));
    }

    static Target sqlite(String id, String label, Group g, String synchronous) {
        return new Target(
                id,
                label,
                g,
                true,
                true,
                dir -> timed(() -> {
                    Files.createDirectories(dir);
                    Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("bench.db"));
                    JdbcEngine e = new JdbcEngine(c, false);
                    e.exec("PRAGMA journal_mode=WAL");
                    e.exec("PRAGMA synchronous=" + synchronous);
                    return e;
                }));
    }

    static Target sqliteInMemory(String id, String label, Group g) {
        return new Target(
                id,
                label,
                g,
                true,
                false,
                dir -> timed(() -> new JdbcEngine(DriverManager.getConnection("jdbc:sqlite::memory:"), false)));
    }

    /**
     * The server: a database per directory name; the first open of a directory is CREATE DATABASE (from
     * template1) and a connection, later ones a connection.
     */
    static Target server(String id, String label, Group g, Benchmarks.ServerHandle h, boolean tcp, boolean relaxed) {
        return new Target(
                id,
                label,
                g,
                false,
                true,
                dir -> timed(() -> {
                    PgServer srv = h.get();
                    String db = "b_"
                            + dir.getFileName()
                                    .toString()
                                    .replaceAll("[^A-Za-z0-9_]", "_")
                                    .toLowerCase();
                    Path marker = dir.resolve("created");
                    if (!Files.exists(marker)) {
                        try (Connection admin = DriverManager.getConnection(srv.unixUrl("postgres"), "postgres", "");
                                Statement st = admin.createStatement()) {
                            st.execute("CREATE DATABASE " + db);
                        }
                        Files.createDirectories(dir);
                        Files.writeString(marker, db);
                    }
                    Connection c = DriverManager.getConnection(tcp ? srv.tcpUrl(db) : srv.unixUrl(db), "postgres", "");
                    JdbcEngine e = new JdbcEngine(c, true);
                    e.exec("SET synchronous_commit = " + (relaxed ? "off" : "on"));
                    return e;
                }));
    }

    static Target pglite(String id, String label, Group g, Path scriptDir, boolean inMemory) {
        return new Target(id, label, g, false, !inMemory, dir -> {
            PgliteEngine e = PgliteEngine.start(scriptDir, inMemory ? null : dir, false);
            return new Opened(e, e.openMs);
        });
    }
}
