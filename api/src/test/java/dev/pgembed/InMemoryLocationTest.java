package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.pgembed.internal.TemporaryDirectories;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where in-memory databases go: a chosen directory (builder, system property), /dev/shm when it has room,
 * a temporary directory otherwise. Docker's default 64 MB /dev/shm failed at the third database with "No
 * space left on device".
 */
class InMemoryLocationTest {

    @Test
    void theBuilderChoosesTheDirectory(@TempDir Path parent) {
        Path dir;
        try (PgEmbedded db =
                PgEmbedded.inMemory().memoryDirectory(parent.resolve("mem")).open()) {
            dir = db.directory();
            assertThat(dir.getParent()).isEqualTo(parent.resolve("mem"));
            assertThat(dir.getFileName().toString()).startsWith("pgembed-mem-");
            db.execute("CREATE TABLE t AS SELECT 1 AS x");
        }
        assertThat(dir).as("deleted on close").doesNotExist();
        assertThatThrownBy(() -> PgEmbedded.builder(parent.resolve("db")).memoryDirectory(parent))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void theSystemPropertyChoosesTheDirectory(@TempDir Path parent) {
        String before = System.getProperty("pgembed.memory.dir");
        System.setProperty("pgembed.memory.dir", parent.toString());
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            assertThat(db.directory().getParent()).isEqualTo(parent);
        } finally {
            if (before == null) {
                System.clearProperty("pgembed.memory.dir");
            } else {
                System.setProperty("pgembed.memory.dir", before);
            }
        }
    }

    /*
     * A 64 MB tmpfs stands for Docker's /dev/shm (the real one is shared with the machine's other processes:
     * never mount over it). Root only, skipped otherwise.
     */
    @Test
    void aSmallShmIsPassedOverForATemporaryDirectory(@TempDir Path tmp) throws Exception {
        Path shm = Files.createDirectory(tmp.resolve("shm"));
        Path disk = Files.createDirectory(tmp.resolve("disk"));
        assumeTrue(
                "root".equals(ProcessHandle.current().info().user().orElse("")), "mounting a file system needs root");
        String mount = run("mount", "-t", "tmpfs", "-o", "size=64m", "pgembed-small-shm", shm.toString());
        assumeTrue(mount.startsWith("0"), "mounting a tmpfs is not allowed here: " + mount);
        try {
            assertThat(TemporaryDirectories.memoryBase(shm, disk)).isEqualTo(disk);
            // what the fallback gives: more databases than 64 MB held, each one working
            List<PgEmbedded> dbs = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    PgEmbedded db = PgEmbedded.inMemory()
                            .memoryDirectory(TemporaryDirectories.memoryBase(shm, disk))
                            .open();
                    dbs.add(db);
                    db.execute("CREATE TABLE t AS SELECT generate_series(1, 1000) AS x");
                    assertThat(db.directory().getParent()).isEqualTo(disk);
                }
            } finally {
                dbs.forEach(PgEmbedded::close);
            }
        } finally {
            if (!run("umount", shm.toString()).startsWith("0")) {
                run("umount", "-l", shm.toString());
            }
        }
        // a large enough shm is used
        if (Files.isDirectory(Path.of("/dev/shm"))
                && Files.getFileStore(Path.of("/dev/shm")).getUsableSpace() >= TemporaryDirectories.SHM_MIN_FREE) {
            assertThat(TemporaryDirectories.memoryBase(Path.of("/dev/shm"), disk))
                    .isEqualTo(Path.of("/dev/shm"));
        }
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", cmd) + " did not finish");
        }
        return p.exitValue() + " " + out.trim();
    }
}
