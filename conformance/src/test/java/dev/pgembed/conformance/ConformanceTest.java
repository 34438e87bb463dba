package dev.pgembed.conformance;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs the CI subset of the regression suite through pgembed and the stock server and fails on a
 * difference that expected-differences.txt does not list. {@code -Dconformance.files.ci=all} (or a list)
 * selects other files.
 */
class ConformanceTest {
    @Test
    void regressionSuiteMatchesStockServer() throws Exception {
        Path tree = Conformance.treeFromProperties();
        List<String> files = Conformance.filesFromProperty(System.getProperty("conformance.files"), Conformance.CI_FILES);
        Conformance.Summary s;
        try (Conformance c = new Conformance(tree, Path.of(System.getProperty("conformance.work", "target/conformance")),
                Path.of(System.getProperty("conformance.expected", "expected-differences.txt")), System.out)) {
            s = c.run(files);
        }
        assertThat(s.compared()).as("statements compared").isGreaterThan(0);
        assertThat(s.files()).as("files that could not run").allSatisfy(f -> assertThat(f.error()).isNull());
        assertThat(s.unexpected()).as("differences not listed in expected-differences.txt").isEmpty();
    }
}
