package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackupTest {

    @Test
    void copyWhileAnotherThreadWritesHoldsEveryEarlierCommit(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("db");
        Path copy = tmp.resolve("copy");
        ConcurrentLinkedQueue<Integer> acked = new ConcurrentLinkedQueue<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> writerFailure = new AtomicReference<>();
        int ackedBefore;
        int ackedDuring;
        try (PgEmbedded db =
                PgEmbedded.builder(dir).durability(Durability.RELAXED).open()) {
            db.execute("CREATE TABLE t (id int PRIMARY KEY, pad text)");
            db.execute("CREATE INDEX ON t (pad)");
            Thread writer = new Thread(
                    () -> {
                        try {
                            for (int id = 1; !stop.get(); id++) {
                                db.execute("INSERT INTO t VALUES ($1, repeat(md5($1::text), 40))", id);
                                acked.add(id);
                                if (id % 500 == 0) {
                                    // recycles WAL segments while the copy runs: the backup's slot must keep them
                                    db.execute("CHECKPOINT");
                                }
                            }
                        } catch (Throwable t) {
                            writerFailure.set(t);
                        }
                    },
                    "writer");
            writer.start();
            while (acked.size() < 2000 && writer.isAlive()) {
                Thread.sleep(5);
            }
            ackedBefore = acked.size();
            db.backup(copy);
            ackedDuring = acked.size() - ackedBefore;
            stop.set(true);
            writer.join();
            assertThat(writerFailure.get()).isNull();
            try (Result r = db.query("SELECT count(*) FROM pg_replication_slots")) {
                assertThat(r.row(0).getLong(0))
                        .as("the backup's slot is dropped")
                        .isZero();
            }
        }
        System.out.printf("backup: %d rows acknowledged before the call, %d during it%n", ackedBefore, ackedDuring);

        assertThat(copy.resolve("backup_label")).isRegularFile();
        assertThat(copy.resolve("postmaster.pid")).doesNotExist();
        try (Stream<Path> all = Files.walk(copy)) {
            assertThat(all.filter(Files::isRegularFile))
                    .allSatisfy(p -> assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p)))
                            .isEqualTo("rw-------"));
        }
        try (PgEmbedded restored = PgEmbedded.open(copy)) {
            Integer[] before = acked.stream().limit(ackedBefore).toArray(Integer[]::new);
            try (Result r = restored.query("SELECT count(*) FROM t WHERE id = ANY($1)", (Object) before)) {
                assertThat(r.row(0).getLong(0))
                        .as("every row committed before backup()")
                        .isEqualTo(ackedBefore);
            }
            restored.execute("CREATE EXTENSION amcheck");
            try (Result r = restored.query("SELECT bt_index_check(c.oid, true) FROM pg_index i "
                    + "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 't'::regclass")) {
                assertThat(r.rowCount()).isEqualTo(2);
            }
            try (Result r = restored.query("SELECT count(*) FROM verify_heapam('t')")) {
                assertThat(r.row(0).getLong(0)).as("heap corruption reports").isZero();
            }
            assertThat(restored.directory().resolve("backup_label")).doesNotExist();
        }
    }

    @Test
    void refusesANonEmptyTargetAndAnOpenTransactionOfTheCaller(@TempDir Path tmp) throws Exception {
        Path full = Files.createDirectories(tmp.resolve("full"));
        Files.writeString(full.resolve("mine.txt"), "keep");
        try (PgEmbedded db = PgEmbedded.builder(tmp.resolve("db"))
                .durability(Durability.NONE)
                .open()) {
            assertThatThrownBy(() -> db.backup(full))
                    .isInstanceOf(PgException.class)
                    .satisfies(e -> assertThat(((PgException) e).sqlState()).isEqualTo("58P02"));
            assertThat(full.resolve("mine.txt")).hasContent("keep");
            assertThatThrownBy(() -> db.backup(tmp.resolve("db").resolve("inside")))
                    .isInstanceOf(PgException.class)
                    .satisfies(e -> assertThat(((PgException) e).sqlState()).isEqualTo("22023"));
            db.transaction(tx -> assertThatThrownBy(() -> db.backup(tmp.resolve("in-tx")))
                    .isInstanceOf(PgException.class)
                    .satisfies(e -> assertThat(((PgException) e).sqlState()).isEqualTo("25001")));
            assertThat(tmp.resolve("in-tx")).doesNotExist();
            // a failed attempt leaves the instance usable and a later backup works
            db.execute("CREATE TABLE after (x int)");
            db.backup(tmp.resolve("ok"));
        }
        try (PgEmbedded restored = PgEmbedded.open(tmp.resolve("ok"));
                Result r = restored.query("SELECT count(*) FROM after")) {
            assertThat(r.row(0).getLong(0)).isZero();
        }
    }

    @Test
    void aSessionRoleNeedsReplicationAndTheBackupFunctions(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("db");
        try (PgEmbedded admin =
                PgEmbedded.builder(dir).durability(Durability.NONE).open()) {
            admin.execute("CREATE ROLE app LOGIN");
            admin.execute("CREATE ROLE ops LOGIN REPLICATION");
            admin.execute("GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean) TO ops");
            admin.execute("GRANT EXECUTE ON FUNCTION pg_backup_stop(boolean) TO ops");
        }
        try (PgEmbedded db = PgEmbedded.builder(dir)
                .durability(Durability.NONE)
                .sessionRole("app")
                .open()) {
            assertThatThrownBy(() -> db.backup(tmp.resolve("refused")))
                    .isInstanceOf(PgException.class)
                    .satisfies(e -> assertThat(((PgException) e).sqlState()).isEqualTo("42501"));
            assertThat(tmp.resolve("refused")).doesNotExist();
        }
        try (PgEmbedded db = PgEmbedded.builder(dir)
                .durability(Durability.NONE)
                .sessionRole("ops")
                .open()) {
            db.backup(tmp.resolve("ok"));
        }
        try (PgEmbedded restored = PgEmbedded.open(tmp.resolve("ok"));
                Result r = restored.query("SELECT count(*) FROM pg_roles WHERE rolname IN ('app', 'ops')")) {
            assertThat(r.row(0).getLong(0)).isEqualTo(2);
        }
    }
}
