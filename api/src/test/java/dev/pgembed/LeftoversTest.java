package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.pgembed.internal.NativeLoader;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A JVM killed with in-memory databases open left their directories and their POSIX shared memory segments
 * in /dev/shm, and no later JVM removed them. Now their dynamic shared memory lives in their directories,
 * and the next JVM that makes an in-memory database in the same place deletes the directories no live
 * engine holds; a live one is never touched, and a clean close leaves nothing.
 */
class LeftoversTest {

    @Test
    void whatAKilledJvmLeftIsSweptAndALiveDatabaseIsNot() throws Exception {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Opening.onTmpfs(shm), "no tmpfs /dev/shm here");
        // a base of this test's own on the tmpfs (other processes' databases are not the test's to sweep)
        Path base = Files.createDirectory(shm.resolve("pgembed-leftovers-test-" + UUID.randomUUID()));
        try {
            List<Path> dead = killedWithDatabasesOpen(base, 4);
            for (Path d : dead) {
                assertThat(d).as("left by the killed JVM").isDirectory();
            }
            try (PgEmbedded live = PgEmbedded.inMemory().memoryDirectory(base).open()) {
                for (Path d : dead) {
                    assertThat(d).as("swept at the first in-memory open here").doesNotExist();
                }
                assertThat(Leftovers.sweep(base))
                        .as("a live database is not swept")
                        .isZero();
                assertThat(live.directory()).isDirectory();
                assertThat(live.execute("SELECT 1")).isEqualTo(1);
            }
            try (Stream<Path> s = Files.list(base)) {
                assertThat(s.toList()).as("a clean close leaves nothing").isEmpty();
            }
        } finally {
            NativeLoader.deleteRecursively(base);
        }
    }

    /* the directories of n in-memory databases of a child JVM killed with SIGKILL */
    private static List<Path> killedWithDatabasesOpen(Path base, int n) throws Exception {
        Process child = ChildJvm.start("memory-databases-forever", base.toString(), Integer.toString(n));
        List<Path> dirs = new ArrayList<>();
        try {
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            List<String> seen = new ArrayList<>();
            for (String line; (line = out.readLine()) != null && !line.equals("ready"); ) {
                seen.add(line);
                if (line.startsWith("dir ")) {
                    String[] f = line.split(" ");
                    dirs.add(Path.of(f[1]));
                    assertThat(f[2])
                            .as("dynamic shared memory in the directory, not in /dev/shm")
                            .isEqualTo("mmap");
                }
            }
            assertThat(dirs).as("the child's output: %s", seen).hasSize(n);
        } finally {
            child.destroyForcibly();
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        return dirs;
    }
}
