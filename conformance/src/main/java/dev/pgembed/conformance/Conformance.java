package dev.pgembed.conformance;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The conformance harness: runs the SQL files of PostgreSQL's regression suite (src/test/regress/sql, in the
 * order of parallel_schedule) statement by statement through pgembed and through a stock server of the same
 * build, and compares what each statement did (success or SQLSTATE, command tag, columns, rows).
 *
 * <p>Two modes ({@link Mode}): {@code api} runs the pgembed side through the Java API and the server side
 * through {@link WireClient} (psql's simple protocol); {@code jdbc} runs both sides through pgjdbc, pgembed's
 * on {@code jdbc:pgembed:} (see {@link JdbcClient} for what is compared there).
 *
 * <p>The same comparison runs on pgvector's regression SQL ({@link Suite#PGVECTOR}: the test/sql files of the
 * source the build compiled, with {@code CREATE EXTENSION vector} in the database of both sides, which run the
 * same vector.so from the stage).
 *
 * <p>System properties: {@code pgembed.tree.file} (the file naming the compiled PostgreSQL tree) or
 * {@code pgembed.tree}; {@code conformance.files} ("all" or a comma-separated list of test names);
 * {@code conformance.mode} ({@code api}, the default, or {@code jdbc}); {@code conformance.suite}
 * ({@code regression}, the default, or {@code pgvector}); {@code conformance.expected} (the
 * expected-differences file); {@code conformance.work} (a scratch directory for the report);
 * {@code conformance.backends} (1, the default: pgembed's database has one backend; n &gt; 1: it is a cluster
 * of up to n backends, {@code PgEmbedded.builder(dir).backends(n)}, where parallel query, event triggers and
 * the statistics of other processes are real: see {@link #clusterSettings}).
 */
public final class Conformance implements AutoCloseable {
    /** The session settings pg_regress gives psql (PGTZ, PGDATESTYLE, PGOPTIONS) and its temp config. */
    static final Map<String, String> SESSION = new LinkedHashMap<>();
    /** Server settings: pgembed's engine defaults and durability NONE, mirrored on the stock server. */
    static final Map<String, String> SERVER = new LinkedHashMap<>();

    static {
        SESSION.put("DateStyle", "Postgres, MDY");
        SESSION.put("IntervalStyle", "postgres_verbose");
        SESSION.put("application_name", "pg_regress");
        SERVER.put("max_prepared_transactions", "2");
        SERVER.put("autovacuum", "off");
        SERVER.put("fsync", "off");
        SERVER.put("synchronous_commit", "off");
        SERVER.put("full_page_writes", "off");
        SERVER.put("max_wal_senders", "0");
        SERVER.put("max_worker_processes", "0");
        SERVER.put("max_parallel_workers", "0");
        SERVER.put("max_parallel_workers_per_gather", "0");
        SERVER.put("autovacuum_worker_slots", "1");
        SERVER.put("update_process_title", "off");
        SERVER.put("huge_pages", "off");
    }

    /**
     * The settings of {@link #SERVER} a cluster run leaves at PostgreSQL's defaults on both sides: a cluster
     * has parallel workers (one backend cannot have any), so parallel plans run as on the server.
     */
    static final List<String> SINGLE_BACKEND_ONLY =
            List.of("max_worker_processes", "max_parallel_workers", "max_parallel_workers_per_gather");

    /** The server settings of a run: {@link #SERVER}, less {@link #SINGLE_BACKEND_ONLY} on a cluster. */
    static Map<String, String> clusterSettings(int backends) {
        Map<String, String> m = new LinkedHashMap<>(SERVER);
        if (backends > 1) {
            SINGLE_BACKEND_ONLY.forEach(m::remove);
        }
        return m;
    }

    /** The tag of expected-differences entries that hold only on a database with one backend. */
    static final String SINGLE = "[single]";
    /** The tag of expected-differences entries that hold only on a cluster (conformance.backends &gt; 1). */
    static final String CLUSTER = "[cluster]";

    static final String TIME_ZONE = "America/Los_Angeles";

    /** How the statements reach the two sides. */
    public enum Mode {
        /** pgembed through its Java API (dev.pgembed.PgEmbedded), the server through psql's simple protocol. */
        API,
        /** Both through pgjdbc: pgembed on jdbc:pgembed:, the server on jdbc:postgresql:. */
        JDBC;

        /** The tag of expected-differences entries for this mode only. */
        String tag() {
            return "[" + name().toLowerCase(Locale.ROOT) + "]";
        }
    }

    static final String DATABASE = "regression";

    /** Which SQL files run. */
    public enum Suite {
        /** PostgreSQL's regression suite, src/test/regress/sql in the order of parallel_schedule. */
        REGRESSION(""),
        /** pgvector's, <tree>/pgvector/test/sql in name order (as its Makefile runs them); names "pgvector/<test>". */
        PGVECTOR("pgvector/");

        /** What this suite's test names begin with (the keys of expected-differences.txt too). */
        final String prefix;

        Suite(String prefix) {
            this.prefix = prefix;
        }
    }

    /** The files of the CI subset: quick to load, covering the core types and statements. */
    public static final List<String> CI_FILES = List.of(
            "test_setup",
            "boolean",
            "char",
            "name",
            "varchar",
            "text",
            "int2",
            "int4",
            "int8",
            "float4",
            "float8",
            "numeric",
            "strings",
            "copy",
            "create_misc",
            "create_table",
            "insert",
            "select",
            "update",
            "delete",
            "join",
            "aggregates",
            "transactions",
            "plpgsql");

    /**
     * The files of CI's cluster run (conformance.backends &gt; 1): those where a cluster differs from one backend
     * (parallel plans and their execution with workers, event triggers), with the files they build on.
     */
    public static final List<String> CLUSTER_CI_FILES =
            List.of("test_setup", "create_index", "select_parallel", "write_parallel", "event_trigger");

    final Path tree;
    final Path regress;
    private final Suite suite;
    /** Where the suite's .sql files are. */
    private final Path sqlDir;

    final Path work;
    final PrintStream log;
    private final Path shared;
    private StockServer server;
    private final Mode mode;
    /** How many backends pgembed's database may run (1: a single engine, more: a cluster). */
    private final int backends;
    /** The session settings of this run (pgjdbc needs DateStyle ISO). */
    private final Map<String, String> session = new LinkedHashMap<>(SESSION);

    private final Sides sides;
    private final ExpectedDifferences expected;

    /** The counts of one file. */
    public record FileResult(
            String file,
            int compared,
            int equal,
            int bothFailed,
            int different,
            int skipped,
            int expectedDiffs,
            List<String> unexpected,
            double seconds,
            String error) {}

    /** The counts of a run. */
    public record Summary(List<FileResult> files, double seconds, List<String> stale) {
        public int compared() {
            return files.stream().mapToInt(FileResult::compared).sum();
        }

        public int equal() {
            return files.stream().mapToInt(FileResult::equal).sum();
        }

        public int different() {
            return files.stream().mapToInt(FileResult::different).sum();
        }

        public int skipped() {
            return files.stream().mapToInt(FileResult::skipped).sum();
        }

        public List<String> unexpected() {
            List<String> u = new ArrayList<>();
            for (FileResult f : files) {
                u.addAll(f.unexpected());
                if (f.error() != null) {
                    u.add(f.file() + ": " + f.error());
                }
            }
            return u;
        }

        public String line() {
            int c = compared();
            return String.format(
                    Locale.ROOT,
                    "conformance: %d compared, %d equal (%.1f%%), %d different, %d skipped,"
                            + " %d listed difference(s) did not occur",
                    c,
                    equal(),
                    c == 0 ? 0.0 : 100.0 * equal() / c,
                    different(),
                    skipped(),
                    stale.size());
        }
    }

    public Conformance(Path tree, Path work, Path expectedFile, PrintStream log)
            throws IOException, InterruptedException {
        this(tree, work, expectedFile, log, Mode.API);
    }

    public Conformance(Path tree, Path work, Path expectedFile, PrintStream log, Mode mode)
            throws IOException, InterruptedException {
        this(tree, work, expectedFile, log, mode, Suite.REGRESSION);
    }

    public Conformance(Path tree, Path work, Path expectedFile, PrintStream log, Mode mode, Suite suite)
            throws IOException, InterruptedException {
        this(tree, work, expectedFile, log, mode, suite, 1);
    }

    /**
     * A run of the suite in a mode; {@code backends} &gt; 1 opens pgembed's database as a cluster of that many
     * backends (the expected differences tagged {@value #SINGLE} then do not apply, those tagged
     * {@value #CLUSTER} do).
     */
    public Conformance(Path tree, Path work, Path expectedFile, PrintStream log, Mode mode, Suite suite, int backends)
            throws IOException, InterruptedException {
        if (backends < 1) {
            throw new IllegalArgumentException("conformance.backends must be at least 1, not " + backends);
        }
        this.tree = tree;
        this.mode = mode;
        this.backends = backends;
        this.suite = suite;
        if (mode == Mode.JDBC) {
            // pgjdbc closes its connection when DateStyle stops beginning with ISO
            session.put("DateStyle", "ISO, MDY");
        }
        this.regress = tree.resolve("src/src/test/regress");
        this.sqlDir = suite == Suite.PGVECTOR ? tree.resolve("pgvector/test/sql") : regress.resolve("sql");
        if (suite == Suite.PGVECTOR && !Files.isDirectory(sqlDir)) {
            throw new IllegalStateException("pgvector is not in this build (no " + sqlDir + ")");
        }
        this.work = work;
        this.log = log;
        this.expected = new ExpectedDifferences(expectedFile, mode, backends > 1);
        if (!Files.isRegularFile(regress.resolve("parallel_schedule"))
                || !Files.isDirectory(tree.resolve("stage/bin"))) {
            throw new IllegalStateException("not a compiled PostgreSQL tree with a stage: " + tree);
        }
        Path so = regress.resolve("regress.so");
        if (!Files.isRegularFile(so)) {
            throw new IllegalStateException("regress.so is missing: " + so + " (build postgres-build first)");
        }
        // psql's \copy ... 'results/x' is relative to pg_regress's output directory, which has results/
        Files.createDirectories(work.resolve("results"));
        // everything the server (user nobody) reads or writes lives under a world-readable temp directory
        shared = Files.createTempDirectory(Path.of("/tmp"), "pgembed-conformance-");
        Runtime.getRuntime().addShutdownHook(new Thread(this::stopQuietly));
        StockServer.chmod(shared, "755");
        Path src = shared.resolve("regress");
        Files.createDirectories(src);
        StockServer.run(List.of("cp", "-a", regress.resolve("data").toString(), src.toString()), null, 60);
        StockServer.run(List.of("chmod", "-R", "a+rX", src.toString()), null, 60);
        // regress.so: pgembed needs a DT_NEEDED on libpgembed.so; the stock server the file as built
        Path libEmbed = shared.resolve("lib-pgembed");
        Path libServer = shared.resolve("lib-server");
        Files.createDirectories(libEmbed);
        Files.createDirectories(libServer);
        Files.copy(so, libEmbed.resolve("regress.so"));
        Files.copy(so, libServer.resolve("regress.so"));
        StockServer.run(
                List.of(
                        "patchelf",
                        "--add-needed",
                        "libpgembed.so",
                        libEmbed.resolve("regress.so").toString()),
                null,
                60);
        StockServer.run(List.of("chmod", "-R", "a+rX", libEmbed.toString(), libServer.toString()), null, 30);
        Path buildEmbed = shared.resolve("build-pgembed");
        Path buildServer = shared.resolve("build-server");
        Files.createDirectories(buildEmbed.resolve("results"));
        Files.createDirectories(buildServer.resolve("results"));
        if ("root".equals(System.getProperty("user.name"))) {
            StockServer.run(List.of("chown", "-R", "nobody:nogroup", buildServer.toString()), null, 30);
        }

        long t0 = System.nanoTime();
        Map<String, String> settings = clusterSettings(backends);
        server = StockServer.start(tree.resolve("stage"), shared.resolve("server"), settings);
        log.printf(
                Locale.ROOT,
                "conformance: stock server on 127.0.0.1:%d (%s), started in %.1f s%n",
                server.port,
                server.data,
                (System.nanoTime() - t0) / 1e9);
        // pgvector's tests run where pg_regress --load-extension=vector would have created it
        sides = new Sides(
                mode,
                log,
                session,
                settings,
                backends,
                server.port,
                shared.resolve("pgembed-data"),
                suite == Suite.PGVECTOR ? List.of("CREATE EXTENSION vector") : List.of());
        Sides.Side embed = sides.embed;
        Sides.Side stock = sides.stock;
        for (Sides.Side s : List.of(embed, stock)) {
            s.env.put("PG_ABS_SRCDIR", src.toString());
            s.env.put("PG_DLSUFFIX", ".so");
            s.env.put("PGAPPNAME", "pg_regress");
            s.env.put("PGTZ", TIME_ZONE);
            s.env.put("PGDATESTYLE", "Postgres, MDY");
        }
        embed.env.put("PG_ABS_BUILDDIR", buildEmbed.toString());
        embed.env.put("PG_LIBDIR", libEmbed.toString());
        stock.env.put("PG_ABS_BUILDDIR", buildServer.toString());
        stock.env.put("PG_LIBDIR", libServer.toString());
    }

    /** The test names of the suite in order: parallel_schedule's, flattened, or pgvector's sorted. */
    public List<String> schedule() throws IOException {
        List<String> names = new ArrayList<>();
        if (suite == Suite.PGVECTOR) {
            try (java.util.stream.Stream<Path> s = Files.list(sqlDir)) {
                s.map(p -> p.getFileName().toString())
                        .filter(n -> n.endsWith(".sql"))
                        .sorted()
                        .forEach(n -> names.add(suite.prefix + n.substring(0, n.length() - 4)));
            }
            return names;
        }
        for (String l : Files.readAllLines(regress.resolve("parallel_schedule"))) {
            l = l.strip();
            if (l.startsWith("test:")) {
                for (String t : l.substring(5).trim().split("\\s+")) {
                    if (!t.isEmpty()) {
                        names.add(t);
                    }
                }
            }
        }
        return names;
    }

    /** Runs the files (names of parallel_schedule) in the schedule's order. */
    public Summary run(List<String> selected) throws IOException {
        List<String> all = schedule();
        List<String> names = new ArrayList<>();
        for (String t : all) {
            if (selected == null || selected.contains(t)) {
                names.add(t);
            }
        }
        if (selected != null) {
            for (String s : selected) {
                if (!all.contains(s)) {
                    throw new IllegalArgumentException(
                            "not a test of the " + suite.name().toLowerCase(Locale.ROOT) + " suite: " + s);
                }
            }
        }
        long t0 = System.nanoTime();
        List<FileResult> results = new ArrayList<>();
        try (PrintStream report =
                new PrintStream(Files.newOutputStream(work.resolve("differences.txt")), true, StandardCharsets.UTF_8)) {
            for (String name : names) {
                FileResult r = runFile(name, report);
                results.add(r);
                log.printf(
                        Locale.ROOT,
                        "%-28s compared %5d  equal %5d (errors %4d)  different %4d (expected %d)  skipped %4d  %6.1f s%s%n",
                        name,
                        r.compared(),
                        r.equal(),
                        r.bothFailed(),
                        r.different(),
                        r.expectedDiffs(),
                        r.skipped(),
                        r.seconds(),
                        r.error() != null ? "  ERROR " + r.error() : "");
            }
        }
        Summary s = new Summary(results, (System.nanoTime() - t0) / 1e9, expected.stale(results));
        log.println(s.line()
                + String.format(
                        Locale.ROOT,
                        " (%s mode, %s, %.1f s)",
                        mode.name().toLowerCase(Locale.ROOT),
                        backends > 1 ? "cluster of " + backends + " backends" : "one backend",
                        s.seconds()));
        List<String> u = s.unexpected();
        if (!u.isEmpty()) {
            log.println("conformance: " + u.size() + " difference(s) not listed in expected-differences.txt:");
            u.forEach(x -> log.println("  " + x));
        }
        if (!s.stale().isEmpty()) {
            log.println("conformance: " + s.stale().size() + " listed difference(s) of the files run did not occur"
                    + " (remove them from expected-differences.txt, or tag them with the mode they belong to):");
            s.stale().forEach(x -> log.println("  " + x));
        }
        log.println("conformance: details in " + work.resolve("differences.txt"));
        return s;
    }

    private FileResult runFile(String name, PrintStream report) {
        long t0 = System.nanoTime();
        FileRun f = new FileRun(name, report, sides, expected, mode, work);
        String error = null;
        try {
            byte[] raw = Files.readAllBytes(sqlDir.resolve(name.substring(suite.prefix.length()) + ".sql"));
            String text;
            try {
                text = StandardCharsets.UTF_8
                        .newDecoder()
                        .decode(java.nio.ByteBuffer.wrap(raw))
                        .toString();
            } catch (java.nio.charset.CharacterCodingException notUtf8) {
                text = new String(raw, StandardCharsets.ISO_8859_1); // collate.windows.win1252: skipped by its \if
            }
            f.run(text);
        } catch (IOException | RuntimeException e) {
            error = e.toString();
            e.printStackTrace(log);
        }
        return f.result((System.nanoTime() - t0) / 1e9, error);
    }

    private void stopQuietly() {
        StockServer s = server;
        if (s != null) {
            s.close();
        }
    }

    @Override
    public void close() {
        if (sides != null) {
            sides.close();
        }
        stopQuietly();
        server = null;
        try {
            StockServer.run(List.of("rm", "-rf", shared.toString()), null, 120);
        } catch (IOException | InterruptedException e) {
            log.println("conformance: could not remove " + shared + ": " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------------------------------
    // Entry points
    // ------------------------------------------------------------------------------------------

    /** The compiled tree from system property pgembed.tree or the file named by pgembed.tree.file. */
    public static Path treeFromProperties() throws IOException {
        String t = System.getProperty("pgembed.tree");
        if (t == null || t.isBlank()) {
            String f = System.getProperty("pgembed.tree.file");
            if (f == null || f.isBlank()) {
                throw new IllegalStateException("set -Dpgembed.tree=<compiled PostgreSQL tree> or -Dpgembed.tree.file");
            }
            Path p = Path.of(f);
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException("the file naming the compiled PostgreSQL tree is missing: " + p
                        + " (run mvn install -DskipTests -pl postgres-build first)");
            }
            t = Files.readString(p).strip();
        }
        Path tree = Path.of(t);
        if (!Files.isDirectory(tree.resolve("src")) || !Files.isDirectory(tree.resolve("stage"))) {
            throw new IllegalStateException("the compiled PostgreSQL tree is missing or incomplete: " + tree
                    + " (needs src/ and stage/; run mvn install -DskipTests -pl postgres-build)");
        }
        return tree;
    }

    /** Parses conformance.backends: 1 (also when empty) or the backends of a cluster. */
    public static int backendsFromProperty(String v) {
        return v == null || v.isBlank() ? 1 : Integer.parseInt(v.strip());
    }

    /** The scratch directory of a run: per suite, mode and (for a cluster) topology. */
    public static Path workDir(Suite suite, Mode mode, int backends) {
        return Path.of(
                System.getProperty("conformance.work", "target/conformance"),
                suite.prefix + mode.name().toLowerCase(Locale.ROOT) + (backends > 1 ? "-cluster" : ""));
    }

    /** Parses conformance.mode: api (also when empty) or jdbc. */
    public static Mode modeFromProperty(String v) {
        return v == null || v.isBlank() ? Mode.API : Mode.valueOf(v.strip().toUpperCase(Locale.ROOT));
    }

    /** Parses conformance.files: "all" (or empty) for every file, else a comma-separated list. */
    public static List<String> filesFromProperty(String v, List<String> dflt) {
        if (v == null || v.isBlank()) {
            return dflt;
        }
        if (v.strip().equals("all")) {
            return null;
        }
        List<String> l = new ArrayList<>();
        for (String s : v.split(",")) {
            if (!s.isBlank()) {
                l.add(s.strip());
            }
        }
        return l;
    }

    public static void main(String[] args) throws Exception {
        Path tree = treeFromProperties();
        String exp = System.getProperty("conformance.expected", "conformance/expected-differences.txt");
        Mode mode = modeFromProperty(System.getProperty("conformance.mode"));
        String suiteName = System.getProperty("conformance.suite", "");
        Suite suite = suiteName.isBlank()
                ? Suite.REGRESSION
                : Suite.valueOf(suiteName.strip().toUpperCase(Locale.ROOT));
        int backends = backendsFromProperty(System.getProperty("conformance.backends"));
        Path work = workDir(suite, mode, backends);
        List<String> files =
                filesFromProperty(args.length > 0 ? args[0] : System.getProperty("conformance.files"), null);
        Summary s;
        try (Conformance c = new Conformance(tree, work, Path.of(exp), System.out, mode, suite, backends)) {
            s = c.run(files);
        }
        System.exit(s.unexpected().isEmpty() && s.stale().isEmpty() ? 0 : 1);
    }
}
