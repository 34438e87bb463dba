package dev.pgembed.conformance;

import dev.pgembed.Column;
import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.PgException;
import dev.pgembed.Result;
import dev.pgembed.Row;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.ZoneId;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
 * expected-differences file); {@code conformance.work} (a scratch directory for the report).
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
    public static final List<String> CI_FILES = List.of("test_setup", "boolean", "char", "name", "varchar", "text",
            "int2", "int4", "int8", "float4", "float8", "numeric", "strings", "copy", "create_misc", "create_table",
            "insert", "select", "update", "delete", "join", "aggregates", "transactions", "plpgsql");

    final Path tree;
    final Path regress;
    private final Suite suite;
    /** Where the suite's .sql files are. */
    private final Path sqlDir;
    final Path work;
    final PrintStream log;
    private final Path shared;
    private StockServer server;
    private WireClient client;
    private final Mode mode;
    /** The session settings of this run (pgjdbc needs DateStyle ISO). */
    private final Map<String, String> session = new LinkedHashMap<>(SESSION);
    private JdbcClient jdbcEmbed;
    private JdbcClient jdbcServer;
    private PgEmbedded db;
    private Path embedData;
    private final Side embed = new Side("pgembed");
    private final Side stock = new Side("server");
    private final Map<String, String> expected;
    /** The expected entries that occurred in this run. */
    private final java.util.Set<String> occurred = new java.util.HashSet<>();
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "conformance-watchdog");
        t.setDaemon(true);
        return t;
    });

    /** Per side: environment of \getenv and psql variables. */
    static final class Side {
        final String name;
        final Map<String, String> env = new HashMap<>();
        final Map<String, String> vars = new HashMap<>();

        Side(String name) {
            this.name = name;
        }
    }

    /** The counts of one file. */
    public record FileResult(String file, int compared, int equal, int bothFailed, int different, int skipped, int expectedDiffs,
                             List<String> unexpected, double seconds, String error) {
    }

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
            return String.format(Locale.ROOT, "conformance: %d compared, %d equal (%.1f%%), %d different, %d skipped,"
                    + " %d listed difference(s) did not occur", c, equal(), c == 0 ? 0.0 : 100.0 * equal() / c,
                    different(), skipped(), stale.size());
        }
    }

    public Conformance(Path tree, Path work, Path expectedFile, PrintStream log) throws IOException, InterruptedException {
        this(tree, work, expectedFile, log, Mode.API);
    }

    public Conformance(Path tree, Path work, Path expectedFile, PrintStream log, Mode mode)
            throws IOException, InterruptedException {
        this(tree, work, expectedFile, log, mode, Suite.REGRESSION);
    }

    public Conformance(Path tree, Path work, Path expectedFile, PrintStream log, Mode mode, Suite suite)
            throws IOException, InterruptedException {
        this.tree = tree;
        this.mode = mode;
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
        this.expected = readExpected(expectedFile, mode);
        if (!Files.isRegularFile(regress.resolve("parallel_schedule")) || !Files.isDirectory(tree.resolve("stage/bin"))) {
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
        StockServer.run(List.of("patchelf", "--add-needed", "libpgembed.so", libEmbed.resolve("regress.so").toString()),
                null, 60);
        StockServer.run(List.of("chmod", "-R", "a+rX", libEmbed.toString(), libServer.toString()), null, 30);
        Path buildEmbed = shared.resolve("build-pgembed");
        Path buildServer = shared.resolve("build-server");
        Files.createDirectories(buildEmbed.resolve("results"));
        Files.createDirectories(buildServer.resolve("results"));
        if ("root".equals(System.getProperty("user.name"))) {
            StockServer.run(List.of("chown", "-R", "nobody:nogroup", buildServer.toString()), null, 30);
        }
        for (Side s : List.of(embed, stock)) {
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

        long t0 = System.nanoTime();
        server = StockServer.start(tree.resolve("stage"), shared.resolve("server"), SERVER);
        log.printf(Locale.ROOT, "conformance: stock server on 127.0.0.1:%d (%s), started in %.1f s%n", server.port,
                server.data, (System.nanoTime() - t0) / 1e9);
        try (WireClient c = connectServer("postgres")) {
            for (String sql : createDatabase()) {
                WireClient.Reply r = c.query(sql, null);
                if (!r.outcome().ok()) {
                    throw new IllegalStateException("server: " + sql + ": " + r.outcome().brief());
                }
            }
        }
        embedData = shared.resolve("pgembed-data");
        try (PgEmbedded p = embedBuilder(embedData).open()) {
            for (String sql : createDatabase()) {
                p.execute(sql);
            }
        }
        db = embedBuilder(embedData).database(DATABASE).open();
        if (suite == Suite.PGVECTOR) {
            // what pg_regress --load-extension=vector does in the test database
            db.execute("CREATE EXTENSION vector");
            try (WireClient c = connectServer(DATABASE)) {
                WireClient.Reply r = c.query("CREATE EXTENSION vector", null);
                if (!r.outcome().ok()) {
                    throw new IllegalStateException("server: CREATE EXTENSION vector: " + r.outcome().brief());
                }
            }
        }
        if (mode == Mode.API) {
            client = connectServer(DATABASE);
        } else {
            try {
                // jdbc:pgembed: on a directory the application opened itself uses that instance (database regression)
                jdbcEmbed = new JdbcClient("jdbc:pgembed:" + embedData,
                        JdbcClient.properties(session.get("IntervalStyle")), TIME_ZONE);
                jdbcServer = new JdbcClient("jdbc:postgresql://127.0.0.1:" + server.port + "/" + DATABASE,
                        JdbcClient.properties(session.get("IntervalStyle")), TIME_ZONE);
            } catch (java.sql.SQLException e) {
                throw new IOException("JDBC connection failed: " + e.getMessage(), e);
            }
        }
    }

    private static List<String> createDatabase() {
        String d = "\"" + DATABASE + "\"";
        return List.of("CREATE DATABASE " + d + " TEMPLATE=template0 ENCODING='UTF8'",
                "ALTER DATABASE " + d + " SET lc_messages TO 'C'",
                "ALTER DATABASE " + d + " SET lc_monetary TO 'C'",
                "ALTER DATABASE " + d + " SET lc_numeric TO 'C'",
                "ALTER DATABASE " + d + " SET lc_time TO 'C'",
                "ALTER DATABASE " + d + " SET bytea_output TO 'hex'",
                "ALTER DATABASE " + d + " SET timezone_abbreviations TO 'Default'");
    }

    private PgEmbedded.Builder embedBuilder(Path dir) {
        PgEmbedded.Builder b = PgEmbedded.builder(dir).durability(Durability.NONE)
                .timeZone(ZoneId.of(TIME_ZONE)).noticeListener(n -> { });
        for (Map.Entry<String, String> e : SERVER.entrySet()) {
            b.setting(e.getKey(), e.getValue());
        }
        for (Map.Entry<String, String> e : session.entrySet()) {
            b.setting(e.getKey(), e.getValue());
        }
        return b;
    }

    private WireClient connectServer(String database) throws IOException {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("client_encoding", "UTF8");
        o.put("TimeZone", TIME_ZONE);
        for (Map.Entry<String, String> e : session.entrySet()) {
            o.put(e.getKey(), e.getValue());
        }
        WireClient c = new WireClient("127.0.0.1", server.port, "postgres", database, o);
        c.setTimeout(600_000);
        return c;
    }

    /** The test names of the suite in order: parallel_schedule's, flattened, or pgvector's sorted. */
    public List<String> schedule() throws IOException {
        List<String> names = new ArrayList<>();
        if (suite == Suite.PGVECTOR) {
            try (java.util.stream.Stream<Path> s = Files.list(sqlDir)) {
                s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".sql")).sorted()
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
                    throw new IllegalArgumentException("not a test of the " + suite.name().toLowerCase(Locale.ROOT)
                            + " suite: " + s);
                }
            }
        }
        long t0 = System.nanoTime();
        List<FileResult> results = new ArrayList<>();
        try (PrintStream report = new PrintStream(Files.newOutputStream(work.resolve("differences.txt")), true,
                StandardCharsets.UTF_8)) {
            for (String name : names) {
                FileResult r = runFile(name, report);
                results.add(r);
                log.printf(Locale.ROOT, "%-28s compared %5d  equal %5d (errors %4d)  different %4d (expected %d)  skipped %4d  %6.1f s%s%n",
                        name, r.compared(), r.equal(), r.bothFailed(), r.different(), r.expectedDiffs(), r.skipped(), r.seconds(),
                        r.error() != null ? "  ERROR " + r.error() : "");
            }
        }
        Summary s = new Summary(results, (System.nanoTime() - t0) / 1e9, stale(results));
        log.println(s.line() + String.format(Locale.ROOT, " (%s mode, %.1f s)", mode.name().toLowerCase(Locale.ROOT),
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

    /** The entries of this mode for files that ran to their end, which did not occur. */
    private List<String> stale(List<FileResult> results) {
        java.util.Set<String> ran = new java.util.HashSet<>();
        for (FileResult r : results) {
            if (r.error() == null) {
                ran.add(r.file());
            }
        }
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : expected.entrySet()) {
            if (ran.contains(e.getKey().substring(0, e.getKey().indexOf(' '))) && !occurred.contains(e.getKey())
                    && !e.getValue().startsWith(SOMETIMES)) {
                out.add(e.getKey() + " " + e.getValue());
            }
        }
        out.sort(null);
        return out;
    }

    // ------------------------------------------------------------------------------------------
    // One file
    // ------------------------------------------------------------------------------------------

    private final class FileRun {
        final String file;
        final PrintStream report;
        int compared;
        /** The index of entries: compared statements, and in JDBC mode the statements it cannot send. */
        int ordinal;
        int equal;
        int different;
        int skipped;
        int expectedDiffs;
        int bothFailed;
        final List<String> unexpected = new ArrayList<>();
        /** \if stack: whether the branch is active, whether some branch was taken. */
        final Deque<boolean[]> conds = new ArrayDeque<>();
        boolean pipeline;
        boolean quit;
        List<String> bindEmbed;
        List<String> bindStock;

        FileRun(String file, PrintStream report) {
            this.file = file;
            this.report = report;
        }

        boolean active() {
            for (boolean[] c : conds) {
                if (!c[0]) {
                    return false;
                }
            }
            return true;
        }
    }

    private FileResult runFile(String name, PrintStream report) {
        long t0 = System.nanoTime();
        FileRun f = new FileRun(name, report);
        String error = null;
        try {
            byte[] raw = Files.readAllBytes(sqlDir.resolve(name.substring(suite.prefix.length()) + ".sql"));
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(raw)).toString();
            } catch (java.nio.charset.CharacterCodingException notUtf8) {
                text = new String(raw, StandardCharsets.ISO_8859_1); // collate.windows.win1252: skipped by its \if
            }
            resetSessions();
            embed.vars.clear();
            stock.vars.clear();
            for (PsqlScript.Item item : PsqlScript.parse(text)) {
                if (f.quit) {
                    break;
                }
                if (item instanceof PsqlScript.Meta m) {
                    meta(f, m);
                } else if (item instanceof PsqlScript.Sql q) {
                    if (!f.active()) {
                        continue;
                    }
                    sql(f, q);
                }
            }
        } catch (IOException | RuntimeException e) {
            error = e.toString();
            e.printStackTrace(log);
        }
        return new FileResult(name, f.compared, f.equal, f.bothFailed, f.different, f.skipped, f.expectedDiffs, f.unexpected,
                (System.nanoTime() - t0) / 1e9, error);
    }

    /** Each file of pg_regress runs in a new psql session: reset the session state on both sides alike. */
    private void resetSessions() throws IOException {
        // SET SESSION AUTHORIZATION first: in pgembed, RESET (and DISCARD ALL) does not restore it
        for (String sql : List.of("ROLLBACK", "SET SESSION AUTHORIZATION postgres", "DISCARD ALL")) {
            runEmbedded(sql, null, false, true, null);
            runServer(sql, null);
        }
    }

    private void meta(FileRun f, PsqlScript.Meta m) throws IOException {
        String cmd = m.cmd();
        switch (cmd) {
            case "if" -> {
                boolean outer = f.active();
                boolean v = outer && truth(PsqlScript.args(m.args(), stock.vars));
                f.conds.push(new boolean[] {v, v || !outer});
                return;
            }
            case "elif" -> {
                boolean[] c = f.conds.peek();
                if (c != null) {
                    boolean v = !c[1] && truth(PsqlScript.args(m.args(), stock.vars));
                    c[0] = v;
                    c[1] |= v;
                }
                return;
            }
            case "else" -> {
                boolean[] c = f.conds.peek();
                if (c != null) {
                    c[0] = !c[1];
                    c[1] = true;
                }
                return;
            }
            case "endif" -> {
                f.conds.poll();
                return;
            }
            default -> {
            }
        }
        if (!f.active()) {
            return;
        }
        switch (cmd) {
            case "getenv" -> {
                for (Side s : List.of(embed, stock)) {
                    List<String> a = PsqlScript.args(m.args(), s.vars);
                    if (a.size() == 2) {
                        String v = s.env.get(a.get(1));
                        if (v == null) {
                            v = System.getenv(a.get(1));
                        }
                        if (v != null) {
                            s.vars.put(a.get(0), v);
                        } else {
                            s.vars.remove(a.get(0));
                        }
                    }
                }
            }
            case "set" -> {
                for (Side s : List.of(embed, stock)) {
                    List<String> a = PsqlScript.args(m.args(), s.vars);
                    if (!a.isEmpty()) {
                        s.vars.put(a.get(0), String.join("", a.subList(1, a.size())));
                    }
                }
            }
            case "unset" -> {
                for (Side s : List.of(embed, stock)) {
                    List<String> a = PsqlScript.args(m.args(), s.vars);
                    if (!a.isEmpty()) {
                        s.vars.remove(a.get(0));
                    }
                }
            }
            case "setenv" -> {
                for (Side s : List.of(embed, stock)) {
                    List<String> a = PsqlScript.args(m.args(), s.vars);
                    if (a.size() >= 2) {
                        s.env.put(a.get(0), a.get(1));
                    } else if (a.size() == 1) {
                        s.env.remove(a.get(0));
                    }
                }
            }
            case "bind" -> {
                f.bindEmbed = PsqlScript.args(m.args(), embed.vars);
                f.bindStock = PsqlScript.args(m.args(), stock.vars);
            }
            case "startpipeline" -> {
                f.pipeline = true;
                f.skipped++;
            }
            case "endpipeline" -> {
                f.pipeline = false;
                f.skipped++;
            }
            case "q", "quit" -> f.quit = true;
            case "copy" -> copyMeta(f, m);
            case "c", "connect" -> {
                // a new session: emulated by resetting the session on both sides (same database only)
                List<String> a = PsqlScript.args(m.args(), stock.vars);
                String dbname = a.isEmpty() ? "-" : a.get(0);
                String user = a.size() < 2 ? "-" : a.get(1);
                f.skipped++;
                if (!dbname.equals("-") && !dbname.equals(DATABASE) || dbname.contains("=")) {
                    return;
                }
                resetSessions();
                if (!user.equals("-")) {
                    String set = "SET SESSION AUTHORIZATION " + PsqlScript.identifier(user);
                    runEmbedded(set, null, false, false, null);
                    runServer(set, null);
                }
            }
            default -> f.skipped++;
        }
    }

    private static boolean truth(List<String> a) {
        if (a.isEmpty()) {
            return false;
        }
        String v = a.get(0).toLowerCase(Locale.ROOT);
        return !v.isEmpty() && ("true".startsWith(v) || "yes".startsWith(v) || v.equals("on") || v.equals("1"));
    }

    private static final Pattern COPY_META = Pattern.compile(
            "^(.*?)\\s+(from|to)\\s+('(?:[^']|'')*'|\\S+)(.*)$", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    /** {@code \copy}: COPY ... FROM STDIN / TO STDOUT with the client's file or the script's data. */
    private void copyMeta(FileRun f, PsqlScript.Meta m) throws IOException {
        Outcome[] out = new Outcome[2];
        String[] texts = new String[2];
        int i = 0;
        for (Side s : List.of(embed, stock)) {
            String args = PsqlScript.interpolate(m.args(), s.vars);
            Matcher mm = topLevelCopy(args);
            if (mm == null) {
                f.skipped++;
                return;
            }
            String target = mm.group(1);
            boolean from = mm.group(2).equalsIgnoreCase("from");
            String file = mm.group(3);
            if (file.startsWith("'")) {
                file = file.substring(1, file.length() - 1).replace("''", "'");
            } else if (file.indexOf(';') >= 0) {
                file = file.substring(0, file.indexOf(';')); // psql ends the file name at ';' (\copy ... to stdout;)
            }
            String rest = mm.group(4);
            String lf = file.toLowerCase(Locale.ROOT);
            String sql = "COPY " + target + (from ? " FROM STDIN" : " TO STDOUT") + rest;
            texts[i] = sql;
            byte[] data = null;
            Path toFile = null;
            if (from) {
                if (lf.equals("stdin") || lf.equals("pstdin")) {
                    data = (m.copyData() == null ? "" : m.copyData()).getBytes(StandardCharsets.UTF_8);
                } else {
                    data = Files.readAllBytes(work.resolve(file));
                }
            } else if (!lf.equals("stdout") && !lf.equals("pstdout")) {
                // psql's working directory is pg_regress's output directory: ours is the work directory
                toFile = work.resolve(file);
            }
            Outcome o = s == embed ? runEmbedded(sql, data, !from, false, null) : runServer(sql, data, !from);
            if (toFile != null && o.ok() && o.copyText() != null) {
                Files.writeString(toFile, o.copyText());
            }
            out[i++] = o;
        }
        compare(f, new PsqlScript.Sql("\\copy " + m.args(), "copy", "", m.line(), null, false), texts, out[0], out[1]);
    }

    private static Matcher topLevelCopy(String args) {
        // the target may be a parenthesized query: find " from " / " to " after its closing parenthesis
        int start = 0;
        if (args.stripLeading().startsWith("(")) {
            int depth = 0;
            for (int p = args.indexOf('('); p < args.length(); p++) {
                char c = args.charAt(p);
                if (c == '(') {
                    depth++;
                } else if (c == ')') {
                    depth--;
                    if (depth == 0) {
                        start = p + 1;
                        break;
                    }
                } else if (c == '\'') {
                    p = PsqlScript.skipString(args, p, false) - 1;
                }
            }
        }
        Matcher m = COPY_META.matcher(args);
        if (m.find(0) && m.start(2) >= start) {
            return m;
        }
        Matcher tail = COPY_META.matcher(args.substring(start));
        if (!tail.matches()) {
            return null;
        }
        Matcher whole = Pattern.compile("^(" + Pattern.quote(args.substring(0, start)) + ".*?)\\s+(from|to)\\s+('(?:[^']|'')*'|\\S+)(.*)$",
                Pattern.CASE_INSENSITIVE | Pattern.DOTALL).matcher(args);
        return whole.matches() ? whole : null;
    }

    private void sql(FileRun f, PsqlScript.Sql q) throws IOException {
        String term = q.terminator();
        List<String> bindE = f.bindEmbed;
        if (f.pipeline || term.equals("gdesc") || term.equals("watch")) {
            f.bindEmbed = null;
            f.bindStock = null;
            f.skipped++;
            return;
        }
        String textE = PsqlScript.interpolate(q.text(), embed.vars);
        String textS = PsqlScript.interpolate(q.text(), stock.vars);
        if (!textE.equals(q.text()) && bindE == null) {
            // psql lexes an interpolated value: a variable holding several statements sends them one by one
            List<PsqlScript.Item> pe = PsqlScript.parse(textE);
            List<PsqlScript.Item> ps = PsqlScript.parse(textS);
            if (pe.size() > 1 && pe.size() == ps.size() && pe.stream().allMatch(i -> i instanceof PsqlScript.Sql)
                    && ps.stream().allMatch(i -> i instanceof PsqlScript.Sql)) {
                for (int i = 0; i < pe.size(); i++) {
                    PsqlScript.Sql a = (PsqlScript.Sql) pe.get(i);
                    PsqlScript.Sql b = (PsqlScript.Sql) ps.get(i);
                    boolean last = i == pe.size() - 1;
                    PsqlScript.Sql part = new PsqlScript.Sql(a.text(), last ? term : ";", last ? q.termArgs() : "",
                            q.line(), last ? q.copyData() : null, a.multi());
                    runPair(f, part, a.text(), b.text());
                }
                return;
            }
        }
        runPair(f, q, textE, textS);
    }

    private void runPair(FileRun f, PsqlScript.Sql q, String textE, String textS) throws IOException {
        String term = q.terminator();
        List<String> bindE = f.bindEmbed;
        List<String> bindS = f.bindStock;
        f.bindEmbed = null;
        f.bindStock = null;
        if (mode == Mode.JDBC && JDBC_REFUSES.matcher(PsqlScript.stripComments(textS)).find()) {
            // pgjdbc would close the connection: neither side runs it (the index still counts it)
            f.skipped++;
            f.ordinal++;
            return;
        }
        byte[] data = q.copyData() == null ? null : q.copyData().getBytes(StandardCharsets.UTF_8);
        boolean copyOut = !q.multi() && isCopyToStdout(textE);
        if (q.multi()) {
            data = null;
        }
        Outcome e = runEmbedded(textE, data, copyOut, q.multi(), bindE);
        Outcome s = bindS != null ? runServerBound(textS, bindS) : runServer(textS, data, copyOut);
        if (mode == Mode.API && q.multi() && s.ok()) {
            s = Outcome.ok("", null, null); // execute() returns no rows: compare success and SQLSTATE only
        }
        compare(f, q, new String[] {textE, textS}, e, s);
        if (RESETS_SESSION_USER.matcher(PsqlScript.stripComments(textE)).find()) {
            checkSessionUser(f, q);
        }
        if (term.equals("gset")) {
            List<String> a = PsqlScript.args(q.termArgs(), stock.vars);
            String prefix = a.isEmpty() ? "" : a.get(0);
            gset(embed, e, prefix);
            gset(stock, s, prefix);
        } else if (term.equals("gexec") && s.ok() && s.rows() != null) {
            int k = 0;
            for (List<String> row : s.rows()) {
                for (String cell : row) {
                    if (cell == null) {
                        continue;
                    }
                    k++;
                    PsqlScript.Sql sub = new PsqlScript.Sql(cell, ";", "", q.line(), null, false);
                    Outcome se = runEmbedded(cell, null, isCopyToStdout(cell), false, null);
                    Outcome ss = runServer(cell, null);
                    compare(f, sub, new String[] {cell, cell}, se, ss);
                }
            }
        }
    }

    /**
     * Statements pgjdbc cannot survive: it closes its connection when DateStyle stops beginning with ISO or
     * client_encoding stops being UTF8 (a change of the order alone, SET datestyle TO dmy, is fine).
     */
    private static final Pattern JDBC_REFUSES = Pattern.compile(
            "^\\s*set\\s+(local\\s+|session\\s+)?(datestyle\\b[^;]*\\b(postgres|sql|german)\\b"
                    + "|client_encoding\\b(?![\\s=to']*(utf-?8|unicode)\\b))", Pattern.CASE_INSENSITIVE);

    /** Statements that give the session back its original user (the bug they check is described below). */
    private static final Pattern RESETS_SESSION_USER = Pattern.compile(
            "^\\s*(reset\\s+session\\s+authorization|set\\s+session\\s+authorization\\s+default|discard\\s+all"
                    + "|reset\\s+all|rollback|abort|commit|end|prepare\\s+transaction)\\b", Pattern.CASE_INSENSITIVE);

    /**
     * pgembed runs its backend like a standalone one (no postmaster), whose start never set the GUC
     * session_authorization, so RESET SESSION AUTHORIZATION, SET SESSION AUTHORIZATION DEFAULT and DISCARD
     * ALL used to leave the session as the user it was switched to (the engine now sets it). The check stays
     * as a guard: after such a statement, compare the session users; when they differ, count a difference
     * for the statement and switch pgembed back to the server's user, so that the rest of the file is not
     * compared as a different user.
     */
    private void checkSessionUser(FileRun f, PsqlScript.Sql q) throws IOException {
        String sql = "SELECT session_user, current_user";
        Outcome e = runEmbedded(sql, null, false, false, null);
        Outcome s = runServer(sql, null);
        if (!s.ok() || s.rows() == null || s.rows().isEmpty() || e.ok() && Objects.equals(e.rows(), s.rows())) {
            return;
        }
        f.compared++;
        String flat = q.text().strip().replaceAll("\\s+", " ");
        recordDifference(f, ++f.ordinal, q, flat + "; " + sql, flat, "session user after the statement", e, s);
        String user = s.rows().get(0).get(0);
        String role = s.rows().get(0).get(1);
        runEmbedded("SET SESSION AUTHORIZATION " + PsqlScript.identifier(user), null, false, false, null);
        runEmbedded(user.equals(role) ? "RESET ROLE" : "SET ROLE " + PsqlScript.identifier(role), null, false, false, null);
    }

    private static void gset(Side side, Outcome o, String prefix) {
        if (!o.ok() || o.rows() == null || o.rows().size() != 1) {
            return;
        }
        List<String> row = o.rows().get(0);
        for (int i = 0; i < o.columns().size(); i++) {
            String v = row.get(i);
            if (v == null) {
                side.vars.remove(prefix + o.columns().get(i));
            } else {
                side.vars.put(prefix + o.columns().get(i), v);
            }
        }
    }

    private static final Pattern COPY_TO_STDOUT = Pattern.compile("^\\s*copy\\b.*\\bto\\s+stdout\\b.*",
            Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    private static boolean isCopyToStdout(String sql) {
        return COPY_TO_STDOUT.matcher(PsqlScript.stripComments(sql)).matches();
    }

    // ------------------------------------------------------------------------------------------
    // The two sides
    // ------------------------------------------------------------------------------------------

    private static final int STATEMENT_TIMEOUT_S = 300;

    private Outcome runEmbedded(String sql, byte[] copyIn, boolean copyOut, boolean multi, List<String> params) {
        if (db == null || !db.isOpen()) {
            reopenEmbedded();
        }
        if (mode == Mode.JDBC) {
            Outcome o = jdbcEmbed.run(sql, copyIn, copyOut, params, STATEMENT_TIMEOUT_S);
            if (!db.isOpen() || jdbcEmbed.isClosed()) {
                log.println("conformance: pgembed's JDBC connection ended (" + o.brief() + "); reopening");
                reopenEmbedded();
            }
            return o;
        }
        ScheduledFuture<?> dog = watchdog.schedule(() -> db.cancel(), 300, TimeUnit.SECONDS);
        try {
            if (copyIn != null) {
                long n = db.copyIn(sql, new ByteArrayInputStream(copyIn));
                return Outcome.ok("COPY " + n, null, null);
            }
            if (copyOut) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                long n = db.copyOut(sql, b);
                return Outcome.copy("COPY " + n, b.toString(StandardCharsets.UTF_8));
            }
            if (multi) {
                db.execute(sql);
                return Outcome.ok("", null, null);
            }
            Object[] p = params == null ? new Object[0] : params.toArray();
            try (Result r = db.query(sql, p)) {
                List<Column> cols = r.columns();
                if (cols.isEmpty() && r.rowCount() == 0) {
                    return Outcome.ok(r.commandTag(), null, null);
                }
                List<String> names = new ArrayList<>(cols.size());
                int[] floats = new int[cols.size()];
                for (int c = 0; c < cols.size(); c++) {
                    Column col = cols.get(c);
                    names.add(col.name());
                    if (col.format() == 1 && (col.typeOid() == 700 || col.typeOid() == 701)) {
                        floats[c] = col.typeOid() == 700 ? 4 : 8;
                    }
                }
                List<List<String>> rows = new ArrayList<>(r.rowCount());
                for (int i = 0; i < r.rowCount(); i++) {
                    Row row = r.row(i);
                    List<String> vals = new ArrayList<>(cols.size());
                    for (int c = 0; c < cols.size(); c++) {
                        vals.add(row.getString(c));
                    }
                    rows.add(vals);
                }
                boolean anyFloat = Arrays.stream(floats).anyMatch(x -> x != 0);
                return new Outcome(true, null, null, r.commandTag(), names, rows, null, anyFloat ? floats : null);
            }
        } catch (PgException ex) {
            if (ex.isFatal() || !db.isOpen()) {
                log.println("conformance: pgembed ended (" + ex + "); reopening");
                reopenEmbedded();
            }
            return Outcome.error(ex.sqlState(), ex.getMessage());
        } catch (RuntimeException ex) {
            return Outcome.error("JAVA", ex.toString());
        } finally {
            dog.cancel(false);
        }
    }

    private void reopenEmbedded() {
        try {
            if (db != null) {
                db.close();
            }
        } catch (RuntimeException ignored) {
            // already ended
        }
        db = embedBuilder(embedData).database(DATABASE).open();
        if (jdbcEmbed != null) {
            try {
                jdbcEmbed.connect();
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException("jdbc:pgembed: reconnect failed: " + e.getMessage(), e);
            }
        }
    }

    private Outcome runServer(String sql, byte[] copyIn) throws IOException {
        return runServer(sql, copyIn, copyIn == null && isCopyToStdout(sql));
    }

    /** copyOut: COPY TO STDOUT alone (the simple protocol of WireClient needs not know). */
    private Outcome runServer(String sql, byte[] copyIn, boolean copyOut) throws IOException {
        if (mode == Mode.JDBC) {
            return runServerJdbc(sql, copyIn, copyOut, null);
        }
        try {
            return client.query(sql, copyIn).outcome();
        } catch (IOException ex) {
            // the session ended (a FATAL error, a terminated backend): connect again
            log.println("conformance: server connection lost (" + ex + "); reconnecting");
            client.close();
            client = connectServer(DATABASE);
            return Outcome.error("08006", "connection lost: " + ex.getMessage());
        }
    }

    private Outcome runServerJdbc(String sql, byte[] copyIn, boolean copyOut, List<String> params) throws IOException {
        Outcome o = jdbcServer.run(sql, copyIn, copyOut, params, STATEMENT_TIMEOUT_S);
        if (jdbcServer.isClosed()) {
            log.println("conformance: server JDBC connection ended (" + o.brief() + "); reconnecting");
            try {
                jdbcServer.connect();
            } catch (java.sql.SQLException e) {
                throw new IOException("server: reconnect failed: " + e.getMessage(), e);
            }
        }
        return o;
    }

    /** psql's \bind: the extended protocol with text parameters; emulated by PREPARE/EXECUTE-free quoting. */
    private Outcome runServerBound(String sql, List<String> params) throws IOException {
        if (mode == Mode.JDBC) {
            return runServerJdbc(sql, null, false, params);
        }
        // replace $n by quoted literals of unknown type, outside quotes
        StringBuilder b = new StringBuilder();
        int n = sql.length();
        int p = 0;
        while (p < n) {
            char c = sql.charAt(p);
            if (c == '\'' || c == '"') {
                int e = c == '\'' ? PsqlScript.skipString(sql, p, false) : PsqlScript.skipQuoted(sql, p, '"');
                b.append(sql, p, e);
                p = e;
                continue;
            }
            if (c == '$' && p + 1 < n && Character.isDigit(sql.charAt(p + 1))) {
                int e = p + 1;
                while (e < n && Character.isDigit(sql.charAt(e))) {
                    e++;
                }
                int k = Integer.parseInt(sql.substring(p + 1, e));
                if (k >= 1 && k <= params.size()) {
                    b.append(PsqlScript.literal(params.get(k - 1)).trim());
                    p = e;
                    continue;
                }
            }
            b.append(c);
            p++;
        }
        return runServer(b.toString(), null);
    }

    // ------------------------------------------------------------------------------------------
    // Comparison
    // ------------------------------------------------------------------------------------------

    private void compare(FileRun f, PsqlScript.Sql q, String[] texts, Outcome e, Outcome s) throws IOException {
        f.compared++;
        int index = ++f.ordinal;
        String why = difference(q.text(), e, s);
        if (why == null) {
            f.equal++;
            if (!e.ok()) {
                f.bothFailed++;
            }
            return;
        }
        String flat = q.text().strip().replaceAll("\\s+", " ");
        if (flat.length() > 160) {
            flat = flat.substring(0, 160) + "...";
        }
        recordDifference(f, index, q, flat, flat, why, e, s);
    }

    /** Counts a difference, writes it to the report and, when expected-differences.txt does not list it, to the failures. */
    private void recordDifference(FileRun f, int index, PsqlScript.Sql q, String reportSql, String listSql, String why,
                                  Outcome e, Outcome s) {
        f.different++;
        String key = f.file + " " + index + " " + hash(q.text());
        String reason = expected.get(key);
        if (reason != null) {
            occurred.add(key);
        }
        f.report.println((reason != null ? "[expected] " : "[UNEXPECTED] ") + key + "  (line " + q.line() + ")");
        f.report.println("  sql:     " + reportSql);
        f.report.println("  why:     " + why);
        f.report.println("  pgembed: " + e.brief());
        f.report.println("  server:  " + s.brief());
        if (reason != null) {
            f.expectedDiffs++;
        } else {
            f.unexpected.add(key + "  line " + q.line() + ": " + listSql + "  [" + why + "]  pgembed: " + e.brief()
                    + "  server: " + s.brief());
        }
    }

    /** Null when equal, else what differs. */
    private String difference(String sql, Outcome e, Outcome s) throws IOException {
        // no columns and no rows: pgembed's Result cannot tell it from a statement that returns no rows
        if (s.ok() && s.columns() != null && s.columns().isEmpty() && s.rows().isEmpty()) {
            s = Outcome.ok(s.tag(), null, null);
        }
        if (e.ok() && e.columns() != null && e.columns().isEmpty() && e.rows().isEmpty()) {
            e = Outcome.ok(e.tag(), null, null);
        }
        if (e.ok() != s.ok()) {
            return e.ok() ? "pgembed succeeded, server failed" : "pgembed failed, server succeeded";
        }
        if (!e.ok()) {
            return Objects.equals(e.sqlState(), s.sqlState()) ? null : "SQLSTATE";
        }
        if (!Objects.equals(e.tag(), s.tag())) {
            return "command tag";
        }
        if (!Objects.equals(e.copyText(), s.copyText())) {
            return "COPY data";
        }
        if (!Objects.equals(e.columns(), s.columns())) {
            return "columns";
        }
        if (e.rows() == null && s.rows() == null) {
            return null;
        }
        if (e.rows() == null || s.rows() == null || e.rows().size() != s.rows().size()) {
            return "row count";
        }
        List<List<String>> er = e.rows();
        List<List<String>> sr = s.rows();
        if (e.floatCols() != null) {
            // getString of a binary float prints float8out's text for extra_float_digits >= 1: compared as is
            int efd = extraFloatDigits();
            if (efd < 1) {
                er = canonicalFloats(er, e.floatCols(), efd, true);
                sr = canonicalFloats(sr, e.floatCols(), efd, false);
            }
        }
        if (!PsqlScript.ordered(sql)) {
            er = sorted(er);
            sr = sorted(sr);
        }
        return er.equals(sr) ? null : "rows";
    }

    private int extraFloatDigits() throws IOException {
        Outcome o = client.query("SHOW extra_float_digits", null).outcome();
        if (o.ok() && o.rows() != null && o.rows().size() == 1) {
            try {
                return Integer.parseInt(o.rows().get(0).get(0).trim());
            } catch (NumberFormatException ignored) {
                // default
            }
        }
        return 1;
    }

    /**
     * pgembed returns float4/float8 columns in binary form, which Row.getString prints as PostgreSQL does
     * with extra_float_digits >= 1 (the shortest exact form); below that PostgreSQL rounds to 15 (6) +
     * extra_float_digits digits, which the binary value cannot know: round it the same way before comparing.
     */
    private static List<List<String>> canonicalFloats(List<List<String>> rows, int[] kinds, int efd, boolean embedded) {
        List<List<String>> out = new ArrayList<>(rows.size());
        for (List<String> row : rows) {
            List<String> r = new ArrayList<>(row);
            for (int c = 0; c < kinds.length && c < r.size(); c++) {
                String v = r.get(c);
                if (kinds[c] == 0 || v == null) {
                    continue;
                }
                r.set(c, canonicalFloat(v, kinds[c], efd, embedded));
            }
            out.add(r);
        }
        return out;
    }

    private static String canonicalFloat(String v, int kind, int efd, boolean embedded) {
        try {
            double d = kind == 4 ? Float.parseFloat(v) : Double.parseDouble(v);
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                return Double.toString(d);
            }
            if (d == 0) {
                return "0";
            }
            int digits = Math.max(1, (kind == 4 ? 6 : 15) + efd);
            BigDecimal b = embedded ? new BigDecimal(kind == 4 ? (double) (float) d : d).round(new MathContext(digits, RoundingMode.HALF_EVEN))
                    : new BigDecimal(v.trim());
            return b.stripTrailingZeros().toString();
        } catch (NumberFormatException ex) {
            return v;
        }
    }

    private static List<List<String>> sorted(List<List<String>> rows) {
        List<List<String>> s = new ArrayList<>(rows);
        Comparator<List<String>> cmp = (a, b) -> {
            for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
                String x = a.get(i);
                String y = b.get(i);
                if (x == null || y == null) {
                    if (x != y) {
                        return x == null ? -1 : 1;
                    }
                    continue;
                }
                int k = x.compareTo(y);
                if (k != 0) {
                    return k;
                }
            }
            return Integer.compare(a.size(), b.size());
        };
        s.sort(cmp);
        return s;
    }

    static String hash(String sql) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(sql.strip().replaceAll("\\s+", " ")
                    .getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The tag of an entry that may or may not occur (counters that the two sides reach by chance). */
    static final String SOMETIMES = "[sometimes]";

    /**
     * The expected-differences file: lines "[mode] [sometimes] file index hash reason", where the mode tag
     * ({@code [api]} or {@code [jdbc]}) is optional (without it the entry holds in both modes), and
     * {@code [sometimes]} marks an entry that is never reported as stale; # starts a comment.
     */
    static Map<String, String> readExpected(Path file, Mode mode) throws IOException {
        Map<String, String> m = new HashMap<>();
        if (file == null || !Files.isRegularFile(file)) {
            return m;
        }
        for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String t = l.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            boolean otherMode = false;
            boolean sometimes = false;
            while (t.startsWith("[")) {
                String tag = t.substring(0, t.indexOf(']') + 1);
                if (tag.equals(SOMETIMES)) {
                    sometimes = true;
                } else if (Arrays.stream(Mode.values()).noneMatch(x -> x.tag().equals(tag))) {
                    throw new IllegalArgumentException("bad tag in " + file + ": " + l);
                } else {
                    otherMode |= !tag.equals(mode.tag());
                }
                t = t.substring(tag.length()).strip();
            }
            if (otherMode) {
                continue;
            }
            String[] p = t.split("\\s+", 4);
            if (p.length < 4) {
                throw new IllegalArgumentException("bad line in " + file + ": " + l);
            }
            String key = p[0] + " " + p[1] + " " + p[2];
            m.put(key, sometimes ? SOMETIMES + " " + p[3] : p[3]);
        }
        return m;
    }

    private void stopQuietly() {
        StockServer s = server;
        if (s != null) {
            s.close();
        }
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
        if (client != null) {
            client.close();
            client = null;
        }
        if (jdbcEmbed != null) {
            jdbcEmbed.close();
            jdbcEmbed = null;
        }
        if (jdbcServer != null) {
            jdbcServer.close();
            jdbcServer = null;
        }
        if (db != null) {
            try {
                db.close();
            } catch (RuntimeException ignored) {
                // ended
            }
            db = null;
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
        Suite suite = suiteName.isBlank() ? Suite.REGRESSION : Suite.valueOf(suiteName.strip().toUpperCase(Locale.ROOT));
        Path work = Path.of(System.getProperty("conformance.work", "target/conformance"),
                suite.prefix + mode.name().toLowerCase(Locale.ROOT));
        List<String> files = filesFromProperty(args.length > 0 ? args[0] : System.getProperty("conformance.files"), null);
        Summary s;
        try (Conformance c = new Conformance(tree, work, Path.of(exp), System.out, mode, suite)) {
            s = c.run(files);
        }
        System.exit(s.unexpected().isEmpty() && s.stale().isEmpty() ? 0 : 1);
    }
}
