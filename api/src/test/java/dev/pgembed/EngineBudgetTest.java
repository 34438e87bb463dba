package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The namespace budget: glibc's link-map namespaces limit the engines one process can hold. 11 load
 * without the tunable, 15 with {@code GLIBC_TUNABLES=glibc.rtld.nns=16} in the environment the JVM starts
 * with (this build's surefire sets it); beyond that an open is refused with 53300, whose message names the
 * setting, never with 58000 about static TLS.
 */
class EngineBudgetTest {

    @Test
    void withoutTheTunableTheTwelfthOpenIs53300NamingIt() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(ChildJvm.command(true, List.of(), "open-until-refused", "16"))
                .redirectErrorStream(true);
        pb.environment().remove("GLIBC_TUNABLES");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
        assertThat(out).contains("opened 11\n");
        assertThat(out).contains("refused 53300 ");
        assertThat(out).contains("GLIBC_TUNABLES=glibc.rtld.nns=16");
    }

    @Test
    void withTheTunableFifteenOpenAndTheSixteenthIs53300() {
        assertThat(System.getenv("GLIBC_TUNABLES"))
                .as("set by this build's surefire configuration")
                .contains("glibc.rtld.nns=16");
        List<PgEmbedded> open = new ArrayList<>();
        try {
            for (int i = 0; i < 15; i++) {
                open.add(PgEmbedded.inMemory().durability(Durability.NONE).open());
            }
            assertThatThrownBy(() ->
                            PgEmbedded.inMemory().durability(Durability.NONE).open())
                    .isInstanceOfSatisfying(
                            PgException.class, e -> assertThat(e.sqlState()).isEqualTo("53300"));
        } finally {
            open.forEach(PgEmbedded::close);
        }
    }
}
