package dev.pgembed.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pgvector benchmark on a small data set, pgembed only: every row of the table gets a number. */
class VectorBenchSmokeTest {

    @Test
    void smallRunMeasuresBuildLatencyAndRecall(@TempDir Path out) throws Exception {
        VectorBench.Options o = new VectorBench.Options(1_000, 32, 20, 2, List.of("pgembed"), out);
        VectorBench.Measured m;
        try (VectorBench.PgEmbedSide s = new VectorBench.PgEmbedSide()) {
            m = VectorBench.measure("pgembed", s, o, VectorBench.DataSet.GAUSSIAN, vectors(1_000, 32), vectors(22, 32));
        }
        assertThat(m.values())
                .containsKeys(
                        "load",
                        "build",
                        "exact-p50",
                        "exact-p99",
                        "hnsw40-p50",
                        "hnsw40-p99",
                        "hnsw40-recall",
                        "hnsw100-recall");
        assertThat(m.values().values()).allSatisfy(v -> assertThat(v).isPositive());
        // a wider search finds at least as many of the true neighbours, and on 1000 points nearly all
        assertThat(m.values().get("hnsw100-recall"))
                .isGreaterThanOrEqualTo(m.values().get("hnsw40-recall"))
                .isCloseTo(1.0, within(0.05));
        assertThat(m.version()).startsWith("PostgreSQL 18.6, pgvector ");

        String md = VectorBench.markdown(o, List.of(m));
        assertThat(md)
                .contains(
                        "## Independent Gaussian",
                        "| Build the HNSW index | s |",
                        "| HNSW, ef_search 40, recall@10 |  |")
                .doesNotContain("## Clustered");
        Files.writeString(out.resolve("vector.md"), md);
    }

    private static float[][] vectors(int n, int dims) {
        java.util.Random r = new java.util.Random(n);
        float[][] v = new float[n][];
        for (int i = 0; i < n; i++) {
            v[i] = VectorBench.randomVector(r, dims);
        }
        return v;
    }
}
