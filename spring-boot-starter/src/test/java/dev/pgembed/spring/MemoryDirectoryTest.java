package dev.pgembed.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The starter's in-memory database goes where the API puts in-memory databases (issue #18, item 4): /dev/shm
 * only when it has room, else java.io.tmpdir, or {@code -Dpgembed.memory.dir}. The starter used to pick /dev/shm
 * whenever it was writable (Docker's 64 MB one filled up), and ignored the property.
 */
class MemoryDirectoryTest {
    @Test
    void theInMemoryDatabaseIsMadeUnderPgembedMemoryDir(@TempDir Path base) {
        String old = System.getProperty("pgembed.memory.dir");
        System.setProperty("pgembed.memory.dir", base.toString());
        try {
            PgEmbedDatabase d = PgEmbedDatabase.open(null, new PgEmbedProperties(), null);
            Path dir = d.database().directory();
            try {
                assertThat(d.isInMemory()).isTrue();
                assertThat(dir.getParent()).isEqualTo(base);
                assertThat(d.database().execute("SELECT 1")).isEqualTo(1);
            } finally {
                d.destroy();
            }
            assertThat(dir).as("deleted when the context closes").doesNotExist();
        } finally {
            if (old == null) {
                System.clearProperty("pgembed.memory.dir");
            } else {
                System.setProperty("pgembed.memory.dir", old);
            }
        }
    }
}
