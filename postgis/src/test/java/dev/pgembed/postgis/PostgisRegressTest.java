package dev.pgembed.postgis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.jdbc.PgEmbedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * PostGIS's own regression tests through pgembed's serve mode: psql of the same build connects to the database
 * served on a Unix socket, and each test's output must match PostGIS's {@code regress/core/<test>_expected}.
 *
 * <p>By default every test of {@code tests.mk} (130 here, about a minute of psql time);
 * {@code -Dpostgis.regress.tests=quick} runs {@link #QUICK}, {@code -Dpostgis.regress.tests=a,b,c} the ones named.
 * {@code -Dpostgis.regress.stock=true} also runs them on the stock server of the same build and prints where the
 * two differ. The obtained outputs and differences are in {@code target/postgis-regress}.
 */
class PostgisRegressTest {
    /** Types, I/O formats, operators, indexes, GEOS, PROJ, SQL-MM curves, the tickets collection. */
    static final List<String> QUICK = List.of(
            "affine",
            "binary",
            "boundary",
            "ctors",
            "dump",
            "dumppoints",
            "empty",
            "geography",
            "in_geojson",
            "in_gml",
            "in_kml",
            "legacy",
            "lwgeom_regress",
            "measures",
            "operators",
            "out_geography",
            "out_geometry",
            "polygonize",
            "regress",
            "regress_index",
            "regress_index_nulls",
            "regress_management",
            "regress_ogc",
            "regress_ogc_cover",
            "regress_proj_basic",
            "regress_proj_adhoc",
            "regress_selectivity",
            "regress_spgist_index_2d",
            "relate",
            "snaptogrid",
            "sql-mm-circularstring",
            "sql-mm-compoundcurve",
            "temporal_knn",
            "tickets",
            "twkb",
            "typmod",
            "union",
            "wkb",
            "wkt");

    /**
     * Tests that differ on pgembed, and the only text their obtained lines may differ by: none. (typmod, which
     * ends with {@code DROP SCHEMA tm CASCADE}, one lock per dropped object in one transaction, failed with "out
     * of shared memory" until the engine got a server's lock table: pgembed_engine.c, ManyLocksTest.)
     */
    static final Map<String, String> EXPECTED_DIFFERENCES = Map.of();

    /* a failure listed in EXPECTED_DIFFERENCES whose every obtained line that differs shows the listed text */
    private static boolean failsAsExpected(PostgisRegress.Outcome o) {
        String text = EXPECTED_DIFFERENCES.get(o.test());
        return text != null
                && o.diff().lines().filter(l -> l.matches("\\d+\\.OBT: .*")).allMatch(l -> l.endsWith(": " + text));
    }

    @Test
    void postgisRegressionTestsPassThroughServeMode() throws Exception {
        Path tree = PostgisRegress.tree();
        Path source = PostgisRegress.source(tree);
        Path work = Path.of("target/postgis-regress").toAbsolutePath();
        // a fresh database and fresh outputs each run
        PostgisRegress.run(List.of("rm", "-rf", work.toString()), Path.of("/"), List.of());
        List<String> all = PostgisRegress.coreTests(source, work);
        String chosen = System.getProperty("postgis.regress.tests", "");
        List<String> tests = chosen.isEmpty() || chosen.equals("all")
                ? all
                : chosen.equals("quick") ? QUICK : Arrays.asList(chosen.split(","));
        assertThat(all)
                .as("the tests are part of this configuration's tests.mk")
                .containsAll(tests);

        // socket paths are limited to 107 bytes: the directory lives in /tmp (created 0700, as serve mode wants)
        Path sock = Files.createTempDirectory(Path.of("/tmp"), "postgis-regress-");
        List<PostgisRegress.Outcome> outcomes;
        PgEmbedded.Builder builder = PgEmbedded.builder(work.resolve("db"))
                .durability(Durability.NONE)
                .noticeListener(n -> {});
        String locks = System.getProperty("postgis.regress.max_locks_per_transaction", "");
        if (!locks.isEmpty()) {
            builder.setting("max_locks_per_transaction", locks);
        }
        try (PgEmbedded db = builder.open()) {
            for (String sql : PostgisRegress.SETTINGS) {
                db.execute(sql);
            }
            db.execute("CREATE EXTENSION postgis");
            try (PgEmbedServer server = PgEmbedServer.unixSocket(db, sock)) {
                PostgisRegress.Target target =
                        new PostgisRegress.Target(sock.toString(), server.port(), "postgres", "postgres");
                PostgisRegress.runHook(tree.resolve("stage"), source, target, work);
                outcomes = PostgisRegress.runAll(tree.resolve("stage"), source, target, tests, work.resolve("pgembed"));
            }
        } finally {
            Files.deleteIfExists(sock);
        }
        System.out.println(PostgisRegress.summary("pgembed serve mode", outcomes));
        if (Boolean.getBoolean("postgis.regress.stock")) {
            List<PostgisRegress.Outcome> stock = stock(tree, source, tests, work);
            System.out.println(PostgisRegress.summary("the stock server", stock));
            for (int i = 0; i < tests.size(); i++) {
                if (outcomes.get(i).passed() != stock.get(i).passed()) {
                    System.out.println("differs from the stock server: " + tests.get(i) + " (pgembed "
                            + (outcomes.get(i).passed() ? "passed" : "failed") + ")");
                }
            }
        }
        String failures = outcomes.stream()
                .filter(o -> !o.passed() && !failsAsExpected(o))
                .map(o -> o.test() + ":\n" + o.diff())
                .collect(Collectors.joining("\n"));
        assertThat(failures)
                .as("tests whose output differs from their _expected")
                .isEmpty();
    }

    /* the same tests on the stock server of the same build (-Dpostgis.regress.stock=true) */
    private static List<PostgisRegress.Outcome> stock(Path tree, Path source, List<String> tests, Path work)
            throws Exception {
        Path sock = Files.createTempDirectory(Path.of("/tmp"), "postgis-stock-");
        try (StockPostgis server = StockPostgis.start(tree, work.resolve("stock-server"), sock)) {
            PostgisRegress.Target target =
                    new PostgisRegress.Target(sock.toString(), server.port, "postgres", "postgres");
            for (String sql : PostgisRegress.SETTINGS) {
                PostgisRegress.psql(server.stage(), target, sql);
            }
            PostgisRegress.psql(server.stage(), target, "CREATE EXTENSION postgis");
            PostgisRegress.runHook(server.stage(), source, target, work);
            return PostgisRegress.runAll(server.stage(), source, target, tests, work.resolve("stock"));
        } finally {
            PostgisRegress.run(List.of("rm", "-rf", sock.toString()), work, List.of());
        }
    }
}
