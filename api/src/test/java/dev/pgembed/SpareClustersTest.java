package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.pgembed.internal.TemporaryDirectories;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A throw-away database's cluster is made ahead of time: the open after an in-memory one (or after a NONE one in
 * an empty directory of /dev/shm, as the test kit's) takes the spare made in the background, a cluster nobody
 * opened (no extension types to look up), protected from other processes' sweeps until it is taken. A durable
 * database created after two others is likewise a spare, flushed to disk before it is ready, renamed onto it.
 */
class SpareClustersTest {

    private static Path shm() {
        Path shm = Path.of("/dev/shm");
        assumeTrue(
                Files.isDirectory(shm) && Files.isWritable(shm) && System.getProperty("pgembed.memory.dir") == null,
                "in-memory databases go to /dev/shm here");
        return shm;
    }

    @Test
    void theNextInMemoryDatabaseIsTheSpareMadeAfterThePreviousOne() throws Exception {
        Path shm = shm();
        try (PgEmbedded first = PgEmbedded.inMemory().open()) {
            assumeTrue(first.directory().getParent().equals(shm), "in-memory databases go to /dev/shm here");
            SpareClusters.awaitMade();
            Path spare = SpareClusters.ready(shm, true);
            assertThat(spare).as("made after the first open").isNotNull();
            assertThat(spare.getFileName().toString()).startsWith("pgembed-mem-");
            Leftovers.sweep(shm);
            assertThat(spare).as("a spare is not swept").isDirectory();
            assertThat(NativeEngines.isCluster(spare)).isTrue();
            // (with other settings than the first: not the engine started ahead for those)
            try (PgEmbedded second =
                    PgEmbedded.inMemory().setting("work_mem", "5MB").open()) {
                assertThat(second.directory()).isEqualTo(spare);
                second.execute("CREATE TABLE t AS SELECT generate_series(1, 10) AS x");
                try (Result r = second.query("SELECT sum(x) FROM t")) {
                    assertThat(r.row(0).getLong(0)).isEqualTo(55L);
                }
            }
            assertThat(spare).as("deleted with the database it became").doesNotExist();
        }
    }

    @Test
    void theNextInMemoryDatabaseWithTheSameSettingsIsAnEngineStartedAhead() throws Exception {
        Path shm = shm();
        try (PgEmbedded first = PgEmbedded.inMemory().open()) {
            assumeTrue(first.directory().getParent().equals(shm), "in-memory databases go to /dev/shm here");
            SpareClusters.awaitMade();
            Path started = SpareClusters.started(shm);
            assertThat(started).as("started after the first open").isNotNull();
            // other settings: not that engine
            try (PgEmbedded other =
                    PgEmbedded.inMemory().setting("work_mem", "8MB").open()) {
                assertThat(other.directory()).isNotEqualTo(started);
            }
            SpareClusters.awaitMade();
            // that one was closed, and one with the first's settings started again
            try (PgEmbedded again = PgEmbedded.inMemory().open()) {
                assertThat(again.directory()).isNotEqualTo(started);
            }
            SpareClusters.awaitMade();
            started = SpareClusters.started(shm);
            assertThat(started).isNotNull();
            try (PgEmbedded second = PgEmbedded.inMemory().open()) {
                assertThat(second.directory()).isEqualTo(started);
                assertThat(second.execute("CREATE TABLE t AS SELECT generate_series(1, 10) AS x"))
                        .isEqualTo(10);
                try (Result r = second.query("SHOW fsync")) {
                    assertThat(r.row(0).getString(0)).isEqualTo("off");
                }
            }
            assertThat(started).as("deleted with the database it became").doesNotExist();
        }
    }

    @Test
    void anEmptyDirectoryInShmBecomesTheSpareBesideIt() throws Exception {
        Path shm = shm();
        Path a = shm.resolve("pgembed-spare-test-" + UUID.randomUUID());
        Path b = Files.createDirectory(shm.resolve("pgembed-spare-test-" + UUID.randomUUID()));
        try {
            try (PgEmbedded db =
                    PgEmbedded.builder(a).durability(Durability.NONE).open()) {
                db.execute("SELECT 1");
            }
            SpareClusters.awaitMade();
            Path spare = SpareClusters.ready(shm, false);
            assertThat(spare).as("made after the first creation").isNotNull();
            assertThat(spare.getFileName().toString()).startsWith(".pgembed-spare-");
            try (PgEmbedded db =
                    PgEmbedded.builder(b).durability(Durability.NONE).open()) {
                assertThat(spare).as("renamed onto the empty directory").doesNotExist();
                assertThat(NativeEngines.isCluster(b)).isTrue();
                // a database nobody opened: extension types appear when an extension is created
                db.execute("CREATE EXTENSION vector");
                try (Result r = db.query("SELECT '[1,2,3]'::vector")) {
                    assertThat(r.row(0).getObject(0)).isEqualTo(new float[] {1, 2, 3});
                }
            }
            // an existing cluster is opened, never replaced
            try (PgEmbedded db =
                    PgEmbedded.builder(b).durability(Durability.NONE).open()) {
                assertThat(db.execute("CREATE TABLE t (x int)")).isZero();
            }
        } finally {
            TemporaryDirectories.deleteRecursively(a);
            TemporaryDirectories.deleteRecursively(b);
        }
    }

    @Test
    void aDurableDatabaseCreatedAfterTwoOthersIsTheSpareFlushedAhead(@TempDir Path tmp) throws Exception {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        Path c = tmp.resolve("c");
        for (Path d : List.of(a, b)) {
            try (PgEmbedded db = PgEmbedded.open(d)) {
                db.execute("SELECT 1");
            }
        }
        SpareClusters.awaitMade();
        Path spare = SpareClusters.readyDurable();
        assumeTrue(spare != null, "pgembed's directory is on the file system of " + tmp);
        assertThat(spare.getFileName().toString()).startsWith("pgembed-durable-");
        assertThat(NativeEngines.isCluster(spare)).isTrue();
        assertThat(spare.resolve("pgembed.unflushed"))
                .as("flushed before it is ready")
                .doesNotExist();
        try (PgEmbedded db = PgEmbedded.open(c)) {
            assertThat(spare).as("renamed onto the new directory").doesNotExist();
            assertThat(NativeEngines.isCluster(c)).isTrue();
            db.execute("CREATE TABLE t (x int)");
            db.execute("INSERT INTO t VALUES (42)");
            // the template databases are put in place as in a created cluster
            db.execute("CREATE DATABASE other");
        }
        SpareClusters.awaitMade();
        assertThat(SpareClusters.readyDurable()).as("the next one").isNotNull().isNotEqualTo(spare);
        // an existing cluster is opened, never replaced
        try (PgEmbedded db = PgEmbedded.open(c);
                Result r = db.query("SELECT x FROM t")) {
            assertThat(r.row(0).getInt(0)).isEqualTo(42);
        }
        try (PgEmbedded db = PgEmbedded.builder(c).database("other").open()) {
            assertThat(db.execute("CREATE TABLE u (y int)")).isZero();
        }
    }

    @Test
    void durableDatabasesAndOwnDirectoriesGetNoSpare() throws Exception {
        Path shm = shm();
        Path own = Files.createDirectory(shm.resolve("pgembed-spare-test-" + UUID.randomUUID()));
        try {
            SpareClusters.awaitMade();
            try (PgEmbedded db = PgEmbedded.inMemory().memoryDirectory(own).open()) {
                db.execute("SELECT 1");
            }
            try (PgEmbedded db = PgEmbedded.builder(own.resolve("relaxed"))
                    .durability(Durability.RELAXED)
                    .open()) {
                db.execute("SELECT 1");
            }
            SpareClusters.awaitMade();
            assertThat(SpareClusters.ready(own, true)).isNull();
            assertThat(SpareClusters.ready(own, false)).isNull();
        } finally {
            TemporaryDirectories.deleteRecursively(own);
        }
    }
}
