package dev.pgembed.conformance;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.jdbc.PgEmbedServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * pgvector's own regression tests, the {@code test/sql} and {@code test/expected} of the source the build
 * compiled ({@code <tree>/pgvector}), run by PostgreSQL's {@code pg_regress} of the same build against pgembed.
 * The database is served on a Unix socket ({@link PgEmbedServer#unixSocket}); pg_regress's psql connects to it
 * as to any server. With {@code --use-existing} pg_regress neither creates nor drops the database, so this
 * class does what it would have done: the settings of its {@code create_database} and {@code CREATE
 * EXTENSION vector} (its {@code --load-extension}).
 *
 * <p>System properties of {@link #main}: those of {@link Conformance#treeFromProperties()} and
 * {@code conformance.work} (where {@code regression.diffs} and the results go).
 */
public final class VectorRegress {
    /** pg_regress's TAP lines: {@code ok 3 - cast 65 ms}, {@code not ok 4 + copy 336 ms}. */
    private static final Pattern LINE = Pattern.compile("^(not )?ok\\s+\\d+\\s+[-+]\\s+(\\S+)");

    private static final int TIMEOUT_SECONDS = 1800;

    private VectorRegress() {}

    /**
     * What pg_regress reported.
     *
     * @param exitCode pg_regress's exit status (0 when every test passed)
     * @param passed   the tests whose output matched test/expected
     * @param failed   the tests whose output did not
     * @param output   pg_regress's own output
     * @param diffs    regression.diffs (exists only when a test failed)
     */
    public record Result(int exitCode, List<String> passed, List<String> failed, String output, Path diffs) {
        /** One line for logs: counts and where the differences are. */
        public String line() {
            return String.format(
                    Locale.ROOT,
                    "pgvector regression through pgembed serve mode: %d of %d passed%s",
                    passed.size(),
                    passed.size() + failed.size(),
                    failed.isEmpty() ? "" : "; failed " + failed + " (differences in " + diffs + ")");
        }
    }

    /** True when the build included pgvector: build-pgvector.sh writes pgvector.done last. */
    public static boolean built(Path tree) {
        return Files.isRegularFile(tree.resolve("pgvector.done"))
                && Files.isDirectory(tree.resolve("pgvector/test/sql"));
    }

    /** The names of pgvector's regression tests ({@code test/sql/*.sql}), sorted, as its Makefile lists them. */
    public static List<String> tests(Path tree) throws IOException {
        try (Stream<Path> s = Files.list(tree.resolve("pgvector/test/sql"))) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".sql"))
                    .map(n -> n.substring(0, n.length() - 4))
                    .sorted()
                    .toList();
        }
    }

    /**
     * Runs every test against a fresh pgembed database under work.
     *
     * @param tree the compiled PostgreSQL tree (with stage/ and pgvector/)
     * @param work a directory for the database, the socket and pg_regress's output (emptied first)
     * @return pg_regress's verdicts
     */
    public static Result run(Path tree, Path work) throws IOException, InterruptedException {
        Path stage = tree.resolve("stage");
        Path pgRegress = stage.resolve("lib/postgresql/pgxs/src/test/regress/pg_regress");
        if (!Files.isExecutable(pgRegress)) {
            throw new IllegalStateException("pg_regress is missing from the stage: " + pgRegress);
        }
        StockServer.run(List.of("rm", "-rf", work.toString()), null, 120);
        Path out = Files.createDirectories(work.resolve("output"));
        List<String> tests = tests(tree);
        // socket paths are limited to 107 bytes: the directory lives in /tmp (created 0700, as serve mode wants)
        Path sock = Files.createTempDirectory(Path.of("/tmp"), "pgvector-regress-");
        try (PgEmbedded db = PgEmbedded.builder(work.resolve("db"))
                .durability(Durability.NONE)
                .noticeListener(n -> {})
                .open()) {
            // what pg_regress's create_database sets, and its --load-extension
            for (String sql : List.of(
                    "ALTER DATABASE postgres SET lc_messages TO 'C'",
                    "ALTER DATABASE postgres SET lc_monetary TO 'C'",
                    "ALTER DATABASE postgres SET lc_numeric TO 'C'",
                    "ALTER DATABASE postgres SET lc_time TO 'C'",
                    "ALTER DATABASE postgres SET bytea_output TO 'hex'",
                    "ALTER DATABASE postgres SET timezone_abbreviations TO 'Default'",
                    "CREATE EXTENSION vector")) {
                db.execute(sql);
            }
            try (PgEmbedServer server = PgEmbedServer.unixSocket(db, sock)) {
                List<String> cmd = new ArrayList<>(List.of(
                        pgRegress.toString(),
                        "--use-existing",
                        "--host=" + sock,
                        "--port=" + server.port(),
                        "--user=postgres",
                        "--dbname=postgres",
                        "--bindir=" + stage.resolve("bin"),
                        "--inputdir=" + tree.resolve("pgvector/test"),
                        "--outputdir=" + out));
                cmd.addAll(tests);
                ProcessBuilder pb = new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        // psql's working directory: copy.sql writes results/*.bin relative to it
                        .directory(out.toFile());
                // the stage's libpq for pg_regress and psql (the stage is built without an rpath)
                pb.environment().put("LD_LIBRARY_PATH", stage.resolve("lib").toString());
                pb.environment().remove("PGOPTIONS");
                Process p = pb.start();
                byte[] text = p.getInputStream().readAllBytes();
                if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IOException("pg_regress did not finish in " + TIMEOUT_SECONDS + " s");
                }
                return parse(p.exitValue(), new String(text, StandardCharsets.UTF_8), out.resolve("regression.diffs"));
            }
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    private static Result parse(int exit, String output, Path diffs) {
        List<String> passed = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        for (String l : output.split("\n")) {
            Matcher m = LINE.matcher(l);
            if (m.find()) {
                (m.group(1) == null ? passed : failed).add(m.group(2));
            }
        }
        return new Result(exit, passed, failed, output, diffs);
    }

    public static void main(String[] args) throws Exception {
        Path tree = Conformance.treeFromProperties();
        if (!built(tree)) {
            System.out.println("pgvector is not in this build (" + tree + " has no pgvector.done)");
            System.exit(1);
        }
        Result r = run(tree, Path.of(System.getProperty("conformance.work", "target/conformance"), "pgvector-regress"));
        System.out.print(r.output());
        System.out.println(r.line());
        System.exit(r.exitCode());
    }
}
