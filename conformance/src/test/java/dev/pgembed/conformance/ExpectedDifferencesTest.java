package dev.pgembed.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tags of expected-differences.txt: mode ([api], [jdbc]) and topology ([single], [cluster]) apply alike. */
class ExpectedDifferencesTest {
    @TempDir
    Path tmp;

    @Test
    void topologyTagsSelectEntriesOfOneBackendOrOfACluster() throws Exception {
        Path f = tmp.resolve("expected.txt");
        Files.writeString(f, """
                # comment
                all 1 aaaaaaaa on both
                [single] one 2 bbbbbbbb only on one backend
                [cluster] many 3 cccccccc only on a cluster
                [jdbc] [single] jdbcone 4 dddddddd jdbc on one backend
                [api] [cluster] [sometimes] apimany 5 eeeeeeee api on a cluster, by chance
                """);
        Map<String, String> apiSingle = ExpectedDifferences.readExpected(f, Conformance.Mode.API, false);
        Map<String, String> apiCluster = ExpectedDifferences.readExpected(f, Conformance.Mode.API, true);
        Map<String, String> jdbcSingle = ExpectedDifferences.readExpected(f, Conformance.Mode.JDBC, false);
        Map<String, String> jdbcCluster = ExpectedDifferences.readExpected(f, Conformance.Mode.JDBC, true);

        assertThat(apiSingle).containsOnlyKeys("all 1 aaaaaaaa", "one 2 bbbbbbbb");
        assertThat(apiCluster).containsOnlyKeys("all 1 aaaaaaaa", "many 3 cccccccc", "apimany 5 eeeeeeee");
        assertThat(apiCluster.get("apimany 5 eeeeeeee")).startsWith(ExpectedDifferences.SOMETIMES);
        assertThat(jdbcSingle).containsOnlyKeys("all 1 aaaaaaaa", "one 2 bbbbbbbb", "jdbcone 4 dddddddd");
        assertThat(jdbcCluster).containsOnlyKeys("all 1 aaaaaaaa", "many 3 cccccccc");
    }

    @Test
    void anUnknownTagIsAnError() throws Exception {
        Path f = tmp.resolve("bad.txt");
        Files.writeString(f, "[clusters] x 1 aaaaaaaa reason\n");
        assertThatThrownBy(() -> ExpectedDifferences.readExpected(f, Conformance.Mode.API, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad tag");
    }
}
