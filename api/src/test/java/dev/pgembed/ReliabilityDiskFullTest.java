package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk: a database on a 96 MB tmpfs is filled with committed transactions until PostgreSQL
 * refuses. Either a data file cannot grow (ERROR, SQLSTATE 53100, the session goes on) or the WAL cannot
 * be written (PostgreSQL PANICs: the instance ends, the JVM does not). After a ballast file on the same
 * file system is deleted, the directory opens again and every acknowledged commit is there. Then, with
 * the WAL given room first, a table's data file is what cannot grow: 53100 and a session that goes on.
 * Needs root
 * (to mount the file system): skipped otherwise. There is no honest stand-in without mounting: a loop
 * device needs mounting too, and RLIMIT_FSIZE gives EFBIG and SIGXFSZ, not ENOSPC.
 */
class ReliabilityDiskFullTest {

    // the ballast given back must hold a new 16 MB WAL segment (PostgreSQL writes it whole)
    private static final int FS_MB = 96;
    private static final int BALLAST_MB = 24;

    @Test
    void aFullDiskLosesNoCommittedTransaction(@TempDir Path tmp) throws Exception {
        Path fs = Files.createDirectory(tmp.resolve("fs"));
        assumeTrue(
                "root".equals(ProcessHandle.current().info().user().orElse("")),
                "mounting a small file system needs root");
        String mount =
                run("mount", "-t", "tmpfs", "-o", "size=" + FS_MB + "m,mode=0700", "pgembed-full", fs.toString());
        assumeTrue(mount.startsWith("0"), "mounting a tmpfs is not allowed here: " + mount);
        try {
            fill(fs);
        } finally {
            String umount = run("umount", fs.toString());
            if (!umount.startsWith("0")) {
                run("umount", "-l", fs.toString()); // busy after a failure above: detach it anyway
            }
        }
    }

    private static void fill(Path fs) throws Exception {
        Path ballast = fs.resolve("ballast");
        Files.write(ballast, new byte[BALLAST_MB << 20]);
        Path dir = fs.resolve("db");
        List<Long> acked = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(42);
        PgException failure = null;
        String outcome;
        PgEmbedded db = PgEmbedded.open(dir);
        try {
            db.execute("CREATE TABLE filler (id bigint PRIMARY KEY, payload bytea NOT NULL)");
            for (long id = 1; failure == null && id < 1_000_000; id++) {
                // incompressible rows of 1-32 kB: the heap, its TOAST table and the WAL all grow
                byte[] payload = new byte[1024 * (1 + random.nextInt(32))];
                random.nextBytes(payload);
                try {
                    db.execute("INSERT INTO filler VALUES ($1, $2)", id, payload);
                    acked.add(id);
                } catch (PgException e) {
                    failure = e;
                }
            }
            assertThat(failure).as("the %d MB file system never filled", FS_MB).isNotNull();
            assertThat(failure.sqlState()).as("%s", failure).isEqualTo("53100");
            if (db.isOpen()) {
                outcome = "ERROR " + failure.getMessage();
                assertThat(failure.isFatal()).isFalse();
                // the session goes on: what was committed can be read
                try (Result r = db.query("SELECT count(*) FROM filler")) {
                    assertThat(r.row(0).getLong(0)).isEqualTo(acked.size());
                }
            } else {
                outcome = failure.severity() + " " + failure.getMessage();
                assertThat(failure.isFatal()).as("%s", failure).isTrue();
            }
        } finally {
            // space back first: the shutdown checkpoint of close() needs some
            Files.delete(ballast);
            db.close();
        }
        System.out.printf("disk full after %d committed rows on a %d MB tmpfs: %s%n", acked.size(), FS_MB, outcome);

        try (PgEmbedded again = PgEmbedded.open(dir)) {
            List<Long> present = new ArrayList<>();
            try (Result r = again.query("SELECT id FROM filler ORDER BY id")) {
                r.forEach(row -> present.add(row.getLong(0)));
            }
            assertThat(present).as("acknowledged commits after the disk filled").containsAll(acked);
            assertThat(IntegrityCheck.run(again).problems()).isEmpty();
            again.execute("CREATE UNLOGGED TABLE scratch (v text)");
            // a fresh WAL segment with room for the few records to come (an abort's, a commit's)
            again.query("SELECT pg_switch_wal()").close();
            again.execute("INSERT INTO filler VALUES (0, '\\x00')");
            // the writes so far and the switch may have made a checkpoint due (two 16 MB segments since
            // the last redo, with max_wal_size 96 MB): taken now, not at an idle point once the disk is
            // full (a checkpoint that cannot write its files PANICs, as in any PostgreSQL)
            again.execute("CHECKPOINT");
            // now fill the file system to the last byte: the next write that needs space is not the WAL's
            fillUp(ballast);
            assertThatThrownBy(() -> again.execute(
                            "INSERT INTO scratch SELECT repeat('s', 1000) FROM generate_series(1, 100000)"))
                    .isInstanceOfSatisfying(PgException.class, e -> {
                        assertThat(e.sqlState()).as("%s", e).isEqualTo("53100");
                        assertThat(e.isFatal()).isFalse();
                        System.out.printf("disk full for a table's data file: %s %s%n", e.severity(), e.getMessage());
                    });
            assertThat(again.isOpen()).isTrue();
            try (Result r = again.query("SELECT count(*) FROM filler")) {
                assertThat(r.row(0).getLong(0)).isEqualTo(acked.size() + 1);
            }
            Files.delete(ballast);
            // space is back: the same session writes again
            again.execute("INSERT INTO filler VALUES (-1, '\\x01')");
        }
        try (PgEmbedded third = PgEmbedded.open(dir);
                Result r = third.query("SELECT count(*) FROM filler")) {
            assertThat(r.row(0).getLong(0)).isEqualTo(acked.size() + 2);
        }
    }

    /** Writes to a file until the file system has no space left. */
    private static void fillUp(Path file) throws Exception {
        byte[] chunk = new byte[64 << 10];
        try (var out = Files.newOutputStream(file)) {
            while (true) {
                out.write(chunk);
            }
        } catch (java.io.IOException e) {
            assertThat(e.getMessage()).contains("No space left on device");
        }
    }

    /** Runs a command; returns its exit code, a space and its output. */
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
