package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgembed.internal.NativeLoader;
import dev.pgembed.internal.Platforms;
import org.junit.jupiter.api.Test;

class PlatformsTest {

    @Test
    void namesThePlatformsAPayloadIsBuiltFor() {
        assertThat(Platforms.of("Linux", "amd64")).isEqualTo("linux-x86_64");
        assertThat(Platforms.of("Linux", "x86_64")).isEqualTo("linux-x86_64");
        assertThat(Platforms.of("Linux", "aarch64")).isEqualTo("linux-aarch64");
        assertThat(Platforms.of("Mac OS X", "aarch64")).isNull();
        assertThat(Platforms.of("Windows 11", "amd64")).isNull();
        assertThat(Platforms.of("Linux", "ppc64le")).isNull();
    }

    @Test
    void theRunningPlatformsPayloadIsOnTheClassPathAndSaysWhichItIs() {
        NativeLoader.Manifest m = NativeLoader.readManifest();
        assertThat(m.platform()).isEqualTo(Platforms.current());
        assertThat(new String(m.bytes(), java.nio.charset.StandardCharsets.UTF_8))
                .contains("\nplatform " + Platforms.current() + "\n");
    }

    @Test
    void aMissingPayloadNamesTheArtifactToAdd() {
        String other = Platforms.KNOWN.stream()
                .filter(p -> !p.equals(Platforms.current()))
                .findFirst()
                .orElseThrow();
        assertThatThrownBy(() -> NativeLoader.readManifest(other))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("payload for " + other + " is not on the class path")
                .hasMessageContaining("only the one for " + Platforms.current() + " is")
                .hasMessageContaining("dev.pgembed:pgembed-postgres with <classifier>" + other + "</classifier>");
    }
}
