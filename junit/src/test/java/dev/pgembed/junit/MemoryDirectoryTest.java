package dev.pgembed.junit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Test databases go where the API puts in-memory databases (issue #18, item 4): /dev/shm only when it has room,
 * else java.io.tmpdir, or {@code -Dpgembed.memory.dir}. The extension used to pick /dev/shm whenever it was
 * writable, and ignored the property.
 */
class MemoryDirectoryTest {
    @Test
    void aTestDatabaseIsMadeUnderPgembedMemoryDir(@TempDir Path base) {
        String old = System.getProperty("pgembed.memory.dir");
        System.setProperty("pgembed.memory.dir", base.toString());
        try (TestDatabase db = TestDatabase.fresh()) {
            assertThat(db.directory().getParent()).isEqualTo(base);
            assertThat(db.pgEmbedded().execute("SELECT 1")).isEqualTo(1);
            db.close();
            assertThat(db.directory()).as("deleted at close").doesNotExist();
        } finally {
            if (old == null) {
                System.clearProperty("pgembed.memory.dir");
            } else {
                System.setProperty("pgembed.memory.dir", old);
            }
        }
    }
}
