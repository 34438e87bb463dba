package dev.pgembed.postgis;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * PostGIS's own regression tests ({@code regress/core} of the source the build compiled), run as PostGIS's
 * {@code regress/run_test.pl} runs each of them ({@code run_simple_test}): psql with the same variables and flags
 * on the test's {@code .sql}, the same rewriting of the output, a line-by-line comparison with the test's
 * {@code _expected}.
 *
 * <p>run_test.pl itself cannot drive pgembed: it creates and drops its database and asks {@code template1}
 * questions first, and serve mode answers only for the instance's one database. So this class does what
 * run_test.pl would have done before the tests: the database settings of its {@code PGOPTIONS} (here as
 * {@code ALTER DATABASE ... SET}, serve mode takes no startup options), {@code CREATE EXTENSION postgis} and its
 * {@code hook-after-create.sql}. Its per-test object-leak count and upgrade modes are left out.
 */
final class PostgisRegress {
    static final String VERSION = "3.6.4";
    private static final int TIMEOUT_SECONDS = 600;

    /** What run_test.pl sets before the tests (its PGOPTIONS), as settings of the database. */
    static final List<String> SETTINGS = List.of(
            "ALTER DATABASE postgres SET lc_messages TO 'C'",
            "ALTER DATABASE postgres SET client_min_messages TO 'notice'",
            "ALTER DATABASE postgres SET extra_float_digits TO 0");

    /** A server psql connects to. */
    record Target(String host, int port, String user, String dbname) {}

    /** One test's verdict: the obtained output (rewritten) and its differences from the expected (empty: passed). */
    record Outcome(String test, boolean passed, String diff, long millis) {}

    private PostgisRegress() {}

    /** The compiled PostgreSQL tree: the file named by {@code pgembed.tree.file} holds its path. */
    static Path tree() throws IOException {
        String file = System.getProperty("pgembed.tree.file", "../postgres-build/target/native/pg-tree.path");
        return Path.of(Files.readString(Path.of(file)).strip());
    }

    /** PostGIS's source in the tree (build-postgis.sh unpacks and configures it there). */
    static Path source(Path tree) {
        return tree.resolve("postgis-" + VERSION);
    }

    /**
     * The core tests of this configuration: the {@code TESTS} of {@code regress/core/tests.mk}, which configure
     * wrote for the GEOS, JSON and protobuf versions found (make evaluates its conditions).
     */
    static List<String> coreTests(Path source, Path work) throws IOException, InterruptedException {
        Path printer = Files.createDirectories(work).resolve("print-tests.mk");
        Files.writeString(printer, "print-tests:\n\t@echo $(TESTS)\n");
        String out = run(
                List.of(
                        "make",
                        "-s",
                        "-f",
                        source.resolve("regress/core/tests.mk").toString(),
                        "-f",
                        printer.toString(),
                        "top_srcdir=" + source,
                        "print-tests"),
                work,
                List.of());
        return Arrays.stream(out.strip().split("\\s+"))
                .map(t -> t.substring(t.lastIndexOf('/') + 1))
                .toList();
    }

    /**
     * Runs tests against a server with PostGIS installed in {@code dbname}, as run_test.pl's run_simple_test.
     *
     * @param stage the stage of the tree (psql and libpq)
     * @param source PostGIS's source
     * @param target where psql connects
     * @param tests the tests' names (files {@code regress/core/<name>.sql} and {@code <name>_expected})
     * @param work where the obtained outputs and differences go
     * @return one outcome per test, in order
     */
    static List<Outcome> runAll(Path stage, Path source, Target target, List<String> tests, Path work)
            throws IOException, InterruptedException {
        Path regdir = source.resolve("regress");
        Path core = regdir.resolve("core");
        Path out = Files.createDirectories(work);
        // the server writes and reads the tests' COPY files here: it may run as another user (run_test.pl's 0777)
        Path betmp = Files.createDirectories(out.resolve("pgis_reg_tmp"));
        Files.setPosixFilePermissions(betmp, PosixFilePermissions.fromString("rwxrwxrwx"));
        List<Outcome> outcomes = new ArrayList<>();
        int run = 0;
        for (String test : tests) {
            run++;
            long t0 = System.nanoTime();
            List<String> cmd = List.of(
                    stage.resolve("bin/psql").toString(),
                    "-v",
                    "VERBOSITY=terse",
                    "-v",
                    "tmpfile='" + betmp.resolve("test_" + run + "_tmp") + "'",
                    "-v",
                    "scriptdir=" + source.resolve("postgis"),
                    "-v",
                    "regdir=" + regdir,
                    "-v",
                    "top_builddir=" + source,
                    "-v",
                    "schema=public.",
                    "-c",
                    "SET search_path TO public,public,topology",
                    "-tXAq",
                    "-f",
                    test + ".sql",
                    "-h",
                    target.host(),
                    "-p",
                    Integer.toString(target.port()),
                    "-U",
                    target.user(),
                    target.dbname());
            String obtained = morph(run(cmd, core, List.of("LD_LIBRARY_PATH=" + stage.resolve("lib"))));
            Path obtainedFile = out.resolve(test + "_out");
            Files.writeString(obtainedFile, obtained);
            String diff = diff(Files.readString(core.resolve(test + "_expected")), obtained);
            if (!diff.isEmpty()) {
                Files.writeString(out.resolve(test + "_diff"), diff);
            }
            outcomes.add(new Outcome(test, diff.isEmpty(), diff, (System.nanoTime() - t0) / 1_000_000));
        }
        return outcomes;
    }

    /**
     * Loads {@code regress/hooks/hook-after-create.sql} (an event trigger that turns autovacuum off for the
     * tests' tables), as run_test.pl's {@code --after-create-script} of {@code tests.mk}.
     *
     * @param stage the stage of the tree (psql and libpq)
     * @param source PostGIS's source
     * @param target where psql connects
     * @param work psql's working directory
     */
    static void runHook(Path stage, Path source, Target target, Path work) throws IOException, InterruptedException {
        run(
                List.of(
                        stage.resolve("bin/psql").toString(),
                        "--no-psqlrc",
                        "--variable",
                        "ON_ERROR_STOP=true",
                        "-q",
                        "-f",
                        source.resolve("regress/hooks/hook-after-create.sql").toString(),
                        "-h",
                        target.host(),
                        "-p",
                        Integer.toString(target.port()),
                        "-U",
                        target.user(),
                        target.dbname()),
                Files.createDirectories(work),
                List.of("LD_LIBRARY_PATH=" + stage.resolve("lib")));
    }

    /** Runs one SQL command through psql (ON_ERROR_STOP). */
    static void psql(Path stage, Target target, String sql) throws IOException, InterruptedException {
        run(
                List.of(
                        stage.resolve("bin/psql").toString(),
                        "--no-psqlrc",
                        "--variable",
                        "ON_ERROR_STOP=true",
                        "-q",
                        "-c",
                        sql,
                        "-h",
                        target.host(),
                        "-p",
                        Integer.toString(target.port()),
                        "-U",
                        target.user(),
                        target.dbname()),
                stage,
                List.of("LD_LIBRARY_PATH=" + stage.resolve("lib")));
    }

    private static final Pattern PSQL_PREFIX = Pattern.compile("^psql.*(NOTICE|WARNING|ERROR):");

    /** run_test.pl's rewriting: blank lines dropped, infinities, exponents and psql's prefixes normalized. */
    static String morph(String output) {
        StringBuilder b = new StringBuilder();
        for (String line : output.split("(?<=\n)")) {
            if (line.matches("\\s+")) {
                continue;
            }
            String l = line.replace("Infinity", "inf")
                    .replace("Inf", "inf")
                    .replace("1.#INF", "inf")
                    .replaceAll("[eE]([+-])0+(\\d+)", "e$1$2")
                    .replaceAll("Self-intersection .*", "Self-intersection")
                    .replaceAll("^ROLLBACK", "COMMIT");
            l = PSQL_PREFIX.matcher(l).replaceAll("$1:");
            b.append(l);
        }
        return b.toString();
    }

    /** run_test.pl's own comparison (without diff(1)): line by line, {@code n.OBT:} and {@code n.EXP:} lines. */
    static String diff(String expected, String obtained) {
        String[] exp = expected.replace("\r\n", "\n").split("\n", -1);
        String[] obt = obtained.replace("\r\n", "\n").split("\n", -1);
        StringBuilder d = new StringBuilder();
        int n = Math.max(exp.length, obt.length);
        for (int i = 0; i < n; i++) {
            String e = i < exp.length ? exp[i] : "";
            String o = i < obt.length ? obt[i] : "";
            if (!e.equals(o)) {
                d.append(i + 1).append(".OBT: ").append(o).append('\n');
                d.append(i + 1).append(".EXP: ").append(e).append('\n');
            }
        }
        return d.toString();
    }

    /** One line for logs: counts, time and the failed tests. */
    static String summary(String side, List<Outcome> outcomes) {
        List<String> failed =
                outcomes.stream().filter(o -> !o.passed()).map(Outcome::test).toList();
        long ms = outcomes.stream().mapToLong(Outcome::millis).sum();
        return String.format(
                Locale.ROOT,
                "PostGIS regress/core through %s: %d of %d passed in %.1f s%s",
                side,
                outcomes.size() - failed.size(),
                outcomes.size(),
                ms / 1000.0,
                failed.isEmpty() ? "" : "; failed " + failed);
    }

    static String run(List<String> cmd, Path dir, List<String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(dir.toFile());
        pb.environment().put("LC_ALL", "C");
        pb.environment().put("LANG", "C");
        pb.environment().remove("PGOPTIONS");
        for (String e : env) {
            int eq = e.indexOf('=');
            pb.environment().put(e.substring(0, eq), e.substring(eq + 1));
        }
        Process p = pb.start();
        byte[] text = p.getInputStream().readAllBytes();
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("did not finish in " + TIMEOUT_SECONDS + " s: " + String.join(" ", cmd));
        }
        String s = new String(text, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException("exit " + p.exitValue() + ": " + String.join(" ", cmd) + "\n" + s);
        }
        return s;
    }
}
