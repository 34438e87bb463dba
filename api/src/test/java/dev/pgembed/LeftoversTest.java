package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.pgembed.internal.TemporaryDirectories;
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
            TemporaryDirectories.deleteRecursively(base);
        }
    }

    /*
     * The same for in-memory databases that fell back to a directory on disk (a small /dev/shm,
     * -Dpgembed.memory.dir): their dynamic shared memory stays in their directories too (it was POSIX there, and
     * the sweep of the directory lost the only record of the segments).
     */
    @Test
    void aKilledJvmsInMemoryDatabasesOnDiskLeaveNothingOutsideTheirDirectories(
            @org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        assumeTrue(!Opening.onTmpfs(tmp), "the temporary directory is a tmpfs here");
        Path base = Files.createDirectory(tmp.resolve("memory-on-disk"));
        List<Path> dead = killedWithDatabasesOpen(base, 2);
        try (PgEmbedded live = PgEmbedded.inMemory().memoryDirectory(base).open()) {
            for (Path d : dead) {
                assertThat(d).as("swept at the first in-memory open here").doesNotExist();
            }
            assertThat(live.execute("SELECT 1")).isEqualTo(1);
        }
    }

    /*
     * A disk database's dynamic shared memory is POSIX (/dev/shm/PostgreSQL.<handle>): a JVM killed with it open
     * left the segments, and later opens never removed them (the handle of the control segment that lists them
     * lived only in the main segment, which the kernel frees with the process). The engine records it in
     * pgembed.dsm, and the next open of the directory removes what it names; a clean close leaves neither.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "backends {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 3})
    void theDsmSegmentsOfAKilledJvmAreSweptAtTheNextOpen(int backends, @org.junit.jupiter.api.io.TempDir Path tmp)
            throws Exception {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm), "no /dev/shm here");
        Path dir = tmp.resolve("db");
        Path recorded = dir.resolve("pgembed.dsm");
        Process child = ChildJvm.start("disk-database-forever", dir.toString(), Integer.toString(backends));
        String handle;
        try {
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            List<String> seen = new ArrayList<>();
            for (String line; (line = out.readLine()) != null && !line.equals("ready"); ) {
                seen.add(line);
            }
            assertThat(seen).as("the child's output").contains("dsm posix");
            handle = Files.readString(recorded).strip();
            assertThat(shm.resolve("PostgreSQL." + handle))
                    .as("the live control segment")
                    .exists();
        } finally {
            child.destroyForcibly();
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        Path left = shm.resolve("PostgreSQL." + handle);
        assertThat(left).as("left by the killed JVM").exists();
        try (PgEmbedded db = PgEmbedded.builder(dir).backends(backends).open()) {
            assertThat(left).as("swept at the next open").doesNotExist();
            String now = Files.readString(recorded).strip();
            assertThat(now).isNotEqualTo(handle);
            assertThat(shm.resolve("PostgreSQL." + now)).exists();
            assertThat(db.execute("SELECT 1")).isEqualTo(1);
            db.close();
            assertThat(shm.resolve("PostgreSQL." + now))
                    .as("a clean close removes them")
                    .doesNotExist();
            assertThat(recorded).as("and the record").doesNotExist();
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
