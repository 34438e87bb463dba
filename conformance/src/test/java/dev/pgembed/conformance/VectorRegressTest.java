package dev.pgembed.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * pgvector's own regression suite passes through pgembed: PostgreSQL's pg_regress runs psql against the
 * database served on a Unix socket and compares with pgvector's test/expected. Skipped only when the build
 * left pgvector out (its source was unobtainable).
 */
class VectorRegressTest {
    @Test
    void pgvectorRegressionSuitePassesThroughServeMode() throws Exception {
        Path tree = Conformance.treeFromProperties();
        assumeTrue(VectorRegress.built(tree), "pgvector is not in this build");
        VectorRegress.Result r = VectorRegress.run(
                tree, Path.of(System.getProperty("conformance.work", "target/conformance"), "pgvector-regress"));
        System.out.print(r.output());
        System.out.println(r.line());
        assertThat(r.failed())
                .as("tests whose output differs from test/expected (see %s)", r.diffs())
                .isEmpty();
        assertThat(r.passed())
                .as("tests pg_regress reported passing")
                .containsExactlyElementsOf(VectorRegress.tests(tree));
        assertThat(r.exitCode()).as("pg_regress's exit status").isZero();
    }
}
