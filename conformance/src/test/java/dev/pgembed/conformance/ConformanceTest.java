package dev.pgembed.conformance;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs the CI subset of the regression suite through pgembed and the stock server, in both modes (the Java
 * API, and pgjdbc on jdbc:pgembed:), and fails on a difference that expected-differences.txt does not list
 * and on a listed difference of these files that did not occur. {@code -Dconformance.files.ci=all} (or a
 * list) selects other files.
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

    private static void run(Conformance.Mode mode) throws Exception {
        Path tree = Conformance.treeFromProperties();
        List<String> files = Conformance.filesFromProperty(System.getProperty("conformance.files"), Conformance.CI_FILES);
        Path work = Path.of(System.getProperty("conformance.work", "target/conformance"), mode.name().toLowerCase());
        Conformance.Summary s;
        try (Conformance c = new Conformance(tree, work,
                Path.of(System.getProperty("conformance.expected", "expected-differences.txt")), System.out, mode)) {
            s = c.run(files);
        }
        assertThat(s.compared()).as("statements compared").isGreaterThan(0);
        assertThat(s.files()).as("files that could not run").allSatisfy(f -> assertThat(f.error()).isNull());
        assertThat(s.unexpected()).as("differences not listed in expected-differences.txt").isEmpty();
        assertThat(s.stale()).as("listed differences that did not occur").isEmpty();
    }
}
