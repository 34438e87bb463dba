package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class PgEmbedUrlTest {

    @Test
    void splitsOpenOptionsFromConnectionProperties() {
        PgEmbedUrl u = PgEmbedUrl.parse("jdbc:pgembed:/tmp/x?durability=relaxed&prepareThreshold=1&work_mem=8MB");
        assertThat(u.isInMemory()).isFalse();
        assertThat(u.directory()).contains(Path.of("/tmp/x"));
        assertThat(u.connectionProperties()).containsOnlyKeys("prepareThreshold");
        assertThat(PgEmbedUrl.parse("jdbc:pgembed:memory:").isInMemory()).isTrue();
        assertThat(PgEmbedUrl.parse("jdbc:pgembed:memory:name").directory()).isEmpty();
    }

    @Test
    void aDirectoryUrlSurvivesOddCharacters() {
        Path odd = Path.of("/tmp/a b+c%d?e&f=g#h/\u00e9t\u00e9");
        Properties p = new Properties();
        p.setProperty("ApplicationName", "a&b c");
        String url = PgEmbedUrl.forDirectory(odd, p);
        PgEmbedUrl back = PgEmbedUrl.parse(url);
        assertThat(back.directory()).contains(odd);
        assertThat(back.connectionProperties().getProperty("ApplicationName")).isEqualTo("a&b c");
    }

    @Test
    void refusesOtherUrls() {
        assertThat(PgEmbedUrl.accepts("jdbc:postgresql://localhost/x")).isFalse();
        assertThat(PgEmbedUrl.accepts("JDBC:PGEMBED:memory:")).isTrue();
        assertThatThrownBy(() -> PgEmbedUrl.parse("jdbc:postgresql://localhost/x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PgEmbedUrl.parse("jdbc:pgembed:/x?durability=sometimes"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("durability");
    }
}
