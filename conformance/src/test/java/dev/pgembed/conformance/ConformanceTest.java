package dev.pgembed.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Runs the CI subset of the regression suite through pgembed and the stock server, in both modes (the Java
 * API, and pgjdbc on jdbc:pgembed:), and fails on a difference that expected-differences.txt does not list
 * and on a listed difference of these files that did not occur. {@code -Dconformance.files.ci=all} (or a
 * list) selects other files; {@code -Dconformance.backends=8} runs them on a cluster of 8 backends (the
 * entries tagged [single] then do not apply, those tagged [cluster] do). pgvector's regression SQL, all of it, is compared the same way (the stock server
 * runs the same vector.so from the stage); skipped only when the build left pgvector out.
 */
class ConformanceTest {
    @Test
    void regressionSuiteMatchesStockServer() throws Exception {
        run(Conformance.Mode.API);
    }

    @Test
    void regressionSuiteMatchesStockServerThroughJdbc() throws Exception {
        run(Conformance.Mode.JDBC);
    }

    /**
     * The short cluster form: pgembed's database as a cluster of 8 backends (parallel workers, event triggers),
     * through the Java API, on {@link Conformance#CLUSTER_CI_FILES}.
     */
    @Test
    void regressionSuiteMatchesStockServerOnACluster() throws Exception {
        List<String> files =
                Conformance.filesFromProperty(System.getProperty("conformance.files"), Conformance.CLUSTER_CI_FILES);
        run(Conformance.Mode.API, Conformance.Suite.REGRESSION, files, 8);
    }

    @ParameterizedTest
    @EnumSource(Conformance.Mode.class)
    void pgvectorSqlMatchesStockServer(Conformance.Mode mode) throws Exception {
        runPgvector(mode);
    }

    private static void run(Conformance.Mode mode) throws Exception {
        List<String> files =
                Conformance.filesFromProperty(System.getProperty("conformance.files"), Conformance.CI_FILES);
        run(mode, Conformance.Suite.REGRESSION, files, backends());
    }

    /* -Dconformance.backends (1 when unset) */
    private static int backends() {
        return Conformance.backendsFromProperty(System.getProperty("conformance.backends"));
    }

    private static void runPgvector(Conformance.Mode mode) throws Exception {
        assumeTrue(VectorRegress.built(Conformance.treeFromProperties()), "pgvector is not in this build");
        run(mode, Conformance.Suite.PGVECTOR, null, backends());
    }

    private static void run(Conformance.Mode mode, Conformance.Suite suite, List<String> files, int backends)
            throws Exception {
        Path tree = Conformance.treeFromProperties();
        Path work = Conformance.workDir(suite, mode, backends);
        Conformance.Summary s;
        try (Conformance c = new Conformance(
                tree,
                work,
                Path.of(System.getProperty("conformance.expected", "expected-differences.txt")),
                System.out,
                mode,
                suite,
                backends)) {
            s = c.run(files);
        }
        assertThat(s.compared()).as("statements compared").isGreaterThan(0);
        assertThat(s.files())
                .as("files that could not run")
                .allSatisfy(f -> assertThat(f.error()).isNull());
        assertThat(s.unexpected())
                .as("differences not listed in expected-differences.txt")
                .isEmpty();
        assertThat(s.stale()).as("listed differences that did not occur").isEmpty();
    }
}
