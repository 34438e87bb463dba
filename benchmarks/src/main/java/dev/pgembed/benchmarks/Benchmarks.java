package dev.pgembed.benchmarks;

import dev.pgembed.Durability;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;
import org.openjdk.jmh.util.Statistics;

/**
 * Runs the comparison and writes {@code results/results.md} and {@code results/results.png}.
 *
 * <p>Options (environment variable, or the system property in brackets):
 * <ul>
 *   <li>{@code PGEMBED_BENCH} ({@code bench.size}): {@code full} (default) or {@code smoke} (every count
 *       divided by 100, no PGlite, no 1M-row bulk load);</li>
 *   <li>{@code PGEMBED_BENCH_ENGINES} ({@code bench.engines}): comma-separated engine families to run,
 *       among {@code pgembed,jdbc,sqlite,server,pglite} (default: all; {@code jdbc} is pgembed
 *       through pgjdbc on {@code jdbc:pgembed:});</li>
 *   <li>{@code PGEMBED_BENCH_OUT} ({@code bench.out}): the output directory (default {@code results}
 *       in the benchmarks module);</li>
 *   <li>{@code PGEMBED_BENCH_PARTS} ({@code bench.parts}): comma-separated parts to run, among
 *       {@code speed,literal,roundtrip,latency,open,bulk} (default: all), e.g. {@code speed} for the prepared
 *       speed test alone (a run of a few seconds per engine, to measure a change);</li>
 *   <li>{@code PGEMBED_BENCH_GROUPS} ({@code bench.groups}): {@code durable}, {@code relaxed} or both (the
 *       default);</li>
 *   <li>{@code PGEMBED_PG_TREE}: the compiled PostgreSQL tree for the server (default: the path in
 *       {@code postgres-build/target/native/pg-tree.path}).</li>
 * </ul>
 */
public final class Benchmarks {
    private Benchmarks() {}

    /** What to run and where to write. */
    record Options(
            boolean smoke, Set<String> families, Set<String> parts, Set<String> groups, Path outDir, Path moduleDir) {
        static final String PARTS = "speed,literal,roundtrip,latency,open,bulk";

        /** Every part, both groups. */
        Options(boolean smoke, Set<String> families, Path outDir, Path moduleDir) {
            this(smoke, families, list(PARTS), list("durable,relaxed"), outDir, moduleDir);
        }

        static Options fromEnvironment() {
            String size = setting("PGEMBED_BENCH", "bench.size", "full").toLowerCase(Locale.ROOT);
            if (!size.equals("full") && !size.equals("smoke")) {
                throw new IllegalArgumentException("PGEMBED_BENCH must be full or smoke, not " + size);
            }
            Set<String> fam =
                    list(setting("PGEMBED_BENCH_ENGINES", "bench.engines", "pgembed,jdbc,sqlite,server,pglite"));
            Set<String> parts = list(setting("PGEMBED_BENCH_PARTS", "bench.parts", PARTS));
            for (String p : parts) {
                if (!list(PARTS).contains(p)) {
                    throw new IllegalArgumentException(
                            "PGEMBED_BENCH_PARTS: unknown part " + p + " (parts: " + PARTS + ")");
                }
            }
            Set<String> groups = list(setting("PGEMBED_BENCH_GROUPS", "bench.groups", "durable,relaxed"));
            for (String g : groups) {
                if (!g.equals("durable") && !g.equals("relaxed")) {
                    throw new IllegalArgumentException(
                            "PGEMBED_BENCH_GROUPS: unknown group " + g + " (groups: durable,relaxed)");
                }
            }
            Path module = Files.isRegularFile(Path.of("benchmarks/pom.xml")) ? Path.of("benchmarks") : Path.of(".");
            String out = setting("PGEMBED_BENCH_OUT", "bench.out", null);
            return new Options(
                    size.equals("smoke"),
                    fam,
                    parts,
                    groups,
                    out != null ? Path.of(out) : module.resolve("results"),
                    module);
        }

        static Set<String> list(String commaSeparated) {
            Set<String> s = new LinkedHashSet<>();
            for (String f : commaSeparated.split(",")) {
                if (!f.isBlank()) {
                    s.add(f.trim().toLowerCase(Locale.ROOT));
                }
            }
            return s;
        }

        int div() {
            return smoke ? 100 : 1;
        }

        boolean wants(String family) {
            return families.contains(family);
        }

        boolean wantsPart(String part) {
            return parts.contains(part);
        }

        boolean wantsGroup(Target.Group g) {
            return groups.contains(g.name().toLowerCase(Locale.ROOT));
        }
    }

    static String setting(String env, String prop, String def) {
        String v = System.getProperty(prop);
        if (v == null || v.isBlank()) {
            v = System.getenv(env);
        }
        return v == null || v.isBlank() ? def : v.trim();
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.fromEnvironment();
        Results r = run(o);
        System.out.println("[bench] wrote " + o.outDir().resolve("results.md") + " and "
                + o.outDir().resolve("results.png"));
        System.out.println();
        System.out.println(Files.readString(o.outDir().resolve("results.md")));
        System.exit(r.targets.isEmpty() ? 1 : 0);
    }

    /** Starts the server on first use. */
    static final class ServerHandle implements AutoCloseable {
        private final Path workRoot;
        private PgServer server;
        private Exception failure;

        ServerHandle(Path workRoot) {
            this.workRoot = workRoot;
        }

        synchronized PgServer get() throws Exception {
            if (failure != null) {
                throw failure;
            }
            if (server == null) {
                try {
                    server = PgServer.start(PgServer.findTree(), workRoot);
                } catch (Exception e) {
                    failure = e;
                    throw e;
                }
            }
            return server;
        }

        @Override
        public synchronized void close() {
            if (server != null) {
                server.close();
            }
        }
    }

    static Results run(Options o) throws Exception {
        // no durable spares but in their own row: each target's fresh database has the same history
        System.setProperty(DURABLE_SPARES, "false");
        Results res = new Results();
        res.smoke = o.smoke();
        if (!o.parts().equals(Options.list(Options.PARTS)) || o.groups().size() < Target.Group.values().length) {
            res.parts = String.join(",", o.parts()) + " of groups " + String.join(",", o.groups());
        }
        Path work = Files.createTempDirectory(
                "pgembed-bench-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(work)));
        Select1Bench.workDir = work;
        System.out.println("[bench] " + (o.smoke() ? "smoke" : "full") + " run, engines " + o.families()
                + ", work directory " + work);

        List<Target> all = new ArrayList<>();
        Target.Group D = Target.Group.DURABLE;
        Target.Group R = Target.Group.RELAXED;
        Path pgliteDir = o.moduleDir().resolve("pglite").toAbsolutePath();
        try (ServerHandle server = new ServerHandle(work)) {
            if (o.wants("pgembed")) {
                all.add(Target.pgembed("pgembed-durable", "pgembed DURABLE", D, Durability.DURABLE));
            }
            if (o.wants("jdbc")) {
                all.add(Target.pgembedJdbc("pgembed-jdbc-durable", "pgembed DURABLE via JDBC", D, "durable"));
            }
            if (o.wants("sqlite")) {
                all.add(Target.sqlite("sqlite-full", "SQLite disk (WAL, sync FULL)", D, "FULL"));
            }
            if (o.wants("server")) {
                all.add(Target.server("server-unix", "PG server, Unix socket", D, server, false, false));
                all.add(Target.server("server-tcp", "PG server, TCP", D, server, true, false));
            }
            if (o.wants("pglite")) {
                all.add(Target.pglite("pglite-dir", "PGlite, NodeFS dir", D, pgliteDir, false));
            }
            if (o.wants("pgembed")) {
                all.add(Target.pgembed("pgembed-relaxed", "pgembed RELAXED", R, Durability.RELAXED));
                all.add(Target.pgembedInMemory("pgembed-memory", "pgembed inMemory (NONE)", R));
            }
            if (o.wants("jdbc")) {
                all.add(Target.pgembedJdbc("pgembed-jdbc-relaxed", "pgembed RELAXED via JDBC", R, "relaxed"));
            }
            if (o.wants("sqlite")) {
                all.add(Target.sqlite("sqlite-normal", "SQLite disk (WAL, sync NORMAL)", R, "NORMAL"));
                all.add(Target.sqliteInMemory("sqlite-memory", "SQLite :memory:", R));
            }
            if (o.wants("server")) {
                all.add(Target.server(
                        "server-unix-relaxed", "PG server, Unix socket, sync commit off", R, server, false, true));
                all.add(Target.server("server-tcp-relaxed", "PG server, TCP, sync commit off", R, server, true, true));
            }
            if (o.wants("pglite")) {
                all.add(Target.pglite("pglite-memory", "PGlite, in memory", R, pgliteDir, true));
            }

            all.removeIf(t -> !o.wantsGroup(t.group()));
            String pgliteWhy = null;
            if (o.wants("pglite")) {
                pgliteWhy = o.smoke() ? "smoke mode" : PgliteEngine.unavailable(pgliteDir);
            }
            List<Workloads.Workload> speed = new ArrayList<>();
            if (o.wantsPart("speed")) {
                speed.addAll(Workloads.speedTest(o.div()));
            }
            if (o.wantsPart("literal")) {
                speed.addAll(Workloads.literal(Workloads.speedTest(o.div())));
            }
            int rtOps = Math.max(10, 2000 / o.div());
            List<Workloads.Workload> rt = o.wantsPart("roundtrip") ? Workloads.roundTrips(rtOps) : List.of();
            for (Workloads.Workload w : speed) {
                res.row(w.id(), w.section(), w.label(), "ms");
            }
            for (Workloads.Workload w : rt) {
                res.row(w.id(), w.section() + ", " + rtOps + " operations", w.label(), "µs/op");
            }
            String lat = "SELECT 1 latency";
            if (o.wantsPart("latency")) {
                res.row("lat-mean", lat, "SELECT 1, mean", "µs");
                res.row("lat-p50", lat, "SELECT 1, p50", "µs");
                res.row("lat-p99", lat, "SELECT 1, p99", "µs");
            }
            String life = "Opening and loading";
            if (o.wantsPart("open")) {
                res.row("open-fresh", life, "Create a fresh database (open + SELECT 1)", "ms");
                res.row("open-existing", life, "Open an existing database (open + SELECT 1)", "ms");
                res.row(
                        "open-fresh-spare",
                        life,
                        "Create a fresh database, spare ready (the process created others) (open + SELECT 1)",
                        "ms");
            }
            int bulkRows = o.smoke() || !o.wantsPart("bulk") ? 0 : 1_000_000;
            if (bulkRows > 0) {
                res.row("bulk", life, "Bulk load " + String.format(Locale.ROOT, "%,d", bulkRows) + " rows", "ms");
            }

            for (Target t : all) {
                if (t.id().startsWith("pglite") && pgliteWhy != null) {
                    skip(res, t, pgliteWhy);
                    continue;
                }
                try {
                    runTarget(o, res, t, work, speed, rt, rtOps, bulkRows);
                    res.targets.add(t);
                } catch (Exception | Error e) {
                    e.printStackTrace(System.out);
                    skip(res, t, "failed: " + firstLine(e));
                    for (java.util.Map<String, Double> m : res.values.values()) {
                        m.remove(t.id());
                    }
                }
            }
            if (o.wantsPart("latency")) {
                latencyJmh(o, res);
            }
        }
        if (!res.targets.isEmpty()) {
            Report.write(res, o.outDir());
        }
        return res;
    }

    /*
     * Every other row runs without durable spares (see run): each target's "fresh database" is the process's
     * second creation, with the same history for every target. This one shows what a process that created
     * databases before gets: two creations with spares on (the second makes the next cluster ahead), a pause for
     * it to be made and flushed, then the timed creation, which takes it (or waits for it).
     */
    private static double freshWithSpare(Target t, Path work) throws Exception {
        System.setProperty(DURABLE_SPARES, "true");
        try {
            for (int i = 0; i < 2; i++) {
                Path d = Files.createTempDirectory(work, "prime-" + t.id() + "-");
                t.opener().open(d).engine().close();
                deleteTree(d);
            }
            Thread.sleep(1000);
            Path d = Files.createTempDirectory(work, "spare-" + t.id() + "-");
            Target.Opened o = t.opener().open(d);
            o.engine().close();
            deleteTree(d);
            return o.ms();
        } finally {
            System.setProperty(DURABLE_SPARES, "false");
        }
    }

    /* pgembed's switch for durable spare clusters, read at each creation */
    private static final String DURABLE_SPARES = "pgembed.spare.durable";

    private static void skip(Results res, Target t, String why) {
        String line = t.label() + " skipped: " + why;
        res.skipped.add(line);
        System.out.println("[bench] " + line);
    }

    static String firstLine(Throwable e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        return m.lines().findFirst().orElse(m);
    }

    private static void runTarget(
            Options o,
            Results res,
            Target t,
            Path work,
            List<Workloads.Workload> speed,
            List<Workloads.Workload> rt,
            int rtOps,
            int bulkRows)
            throws Exception {
        long t0 = System.nanoTime();
        System.out.println("[bench] " + t.label() + " ...");
        // warm-up, the same for every engine, on a throw-away database
        Path warmDir = Files.createTempDirectory(work, "warm-" + t.id() + "-");
        try (Engine e = t.opener().open(warmDir).engine()) {
            for (Workloads.Workload w : Workloads.warmUp(o.div())) {
                e.run(w);
            }
            e.latency("SELECT 1", 100, 100);
        }
        deleteTree(warmDir);

        Path dir = Files.createTempDirectory(work, t.id() + "-");
        Target.Opened opened = t.opener().open(dir);
        if (o.wantsPart("open")) {
            res.put("open-fresh", t.id(), opened.ms());
        }
        try (Engine e = opened.engine()) {
            res.versions.putIfAbsent(t.id().replaceAll("-.*", ""), e.describe());
            for (Workloads.Workload w : speed) {
                res.put(w.id(), t.id(), e.run(w));
            }
            for (Workloads.Workload w : rt) {
                res.put(w.id(), t.id(), e.run(w) * 1000.0 / rtOps);
            }
            if (!t.inProcess() && o.wantsPart("latency")) {
                int n = o.smoke() ? 200 : 20_000;
                double[] l = e.latency("SELECT 1", n / 2, n);
                res.put("lat-mean", t.id(), l[0]);
                res.put("lat-p50", t.id(), l[1]);
                res.put("lat-p99", t.id(), l[2]);
            }
            if (bulkRows > 0) {
                e.exec(Workloads.BULK_DDL);
                long b0 = System.nanoTime();
                e.bulkLoad(bulkRows);
                res.put("bulk", t.id(), (System.nanoTime() - b0) / 1e6);
            }
        }
        if (t.reopenable() && o.wantsPart("open")) {
            Target.Opened again = t.opener().open(dir);
            res.put("open-existing", t.id(), again.ms());
            again.engine().close();
        }
        deleteTree(dir);
        if (t.id().startsWith("pgembed") && t.reopenable() && o.wantsPart("open")) {
            res.put("open-fresh-spare", t.id(), freshWithSpare(t, work));
        }
        System.out.printf(Locale.ROOT, "[bench] %s done in %.1f s%n", t.label(), (System.nanoTime() - t0) / 1e9);
    }

    /** SELECT 1 for the in-process engines, by JMH (SampleTime, not forked). */
    private static void latencyJmh(Options o, Results res) {
        List<String> ids = new ArrayList<>();
        for (Target t : res.targets) {
            if (t.inProcess()) {
                ids.add(t.id());
                Select1Bench.TARGETS.put(t.id(), t);
            }
        }
        if (ids.isEmpty()) {
            return;
        }
        System.out.println("[bench] SELECT 1 latency by JMH for " + ids);
        ChainedOptionsBuilder b = new OptionsBuilder()
                .include(Select1Bench.class.getName() + ".select1")
                .param("target", ids.toArray(String[]::new))
                .forks(0)
                .threads(1)
                .shouldFailOnError(true)
                .verbosity(VerboseMode.SILENT);
        if (o.smoke()) {
            b.warmupIterations(1)
                    .warmupTime(TimeValue.milliseconds(100))
                    .measurementIterations(1)
                    .measurementTime(TimeValue.milliseconds(200));
        } else {
            b.warmupIterations(3)
                    .warmupTime(TimeValue.seconds(1))
                    .measurementIterations(5)
                    .measurementTime(TimeValue.seconds(1));
        }
        try {
            Collection<RunResult> results = new Runner(b.build()).run();
            for (RunResult rr : results) {
                String id = rr.getParams().getParam("target");
                Statistics s = rr.getPrimaryResult().getStatistics();
                res.put("lat-mean", id, s.getMean());
                res.put("lat-p50", id, s.getPercentile(50));
                res.put("lat-p99", id, s.getPercentile(99));
            }
        } catch (Exception e) {
            e.printStackTrace(System.out);
            res.notes.add("JMH failed (" + firstLine(e) + "); no SELECT 1 latency for the in-process engines.");
        }
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
