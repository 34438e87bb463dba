package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LifecycleTest {

    @Test
    void createsReopensAndPersists(@TempDir Path tmp) {
        Path dir = tmp.resolve("db");
        try (PgEmbedded db = PgEmbedded.builder(dir).durability(Durability.NONE).open()) {
            assertThat(dir.resolve("PG_VERSION")).isRegularFile();
            db.execute("CREATE TABLE kv (k text PRIMARY KEY, v int)");
            db.execute("INSERT INTO kv VALUES ('a', 1), ('b', 2)");
        }
        try (PgEmbedded db = PgEmbedded.open(dir);
                Result r = db.query("SELECT sum(v) FROM kv")) {
            assertThat(r.row(0).getLong(0)).isEqualTo(3);
        }
    }

    @Test
    void aNewDatabaseIsFlushedAsItsDurabilitySays(@TempDir Path tmp) throws Exception {
        // DURABLE: on disk before open returns; RELAXED: flushed right after, a marker until then
        try (PgEmbedded db = PgEmbedded.builder(tmp.resolve("durable"))
                .durability(Durability.DURABLE)
                .open()) {
            assertThat(tmp.resolve("durable/pgembed.unflushed")).doesNotExist();
        }
        try (PgEmbedded db = PgEmbedded.builder(tmp.resolve("relaxed"))
                .durability(Durability.RELAXED)
                .open()) {
            Path marker = tmp.resolve("relaxed/pgembed.unflushed");
            for (int i = 0; i < 500 && Files.exists(marker); i++) {
                Thread.sleep(10);
            }
            assertThat(marker).doesNotExist();
        }
        // the template databases come when first needed
        try (PgEmbedded db = PgEmbedded.builder(tmp.resolve("none"))
                .durability(Durability.NONE)
                .open()) {
            assertThat(tmp.resolve("none/base/1")).doesNotExist();
            db.execute("CREATE DATABASE other");
            assertThat(tmp.resolve("none/base/1")).isDirectory();
        }
    }

    @Test
    void createsInAnEmptyDirectory(@TempDir Path tmp) {
        try (PgEmbedded db = PgEmbedded.builder(tmp).durability(Durability.NONE).open();
                Result r = db.query("SELECT 1 + 1")) {
            assertThat(r.row(0).getInt(0)).isEqualTo(2);
        }
    }

    @Test
    void refusesANonEmptyDirectoryThatIsNoCluster(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("notes.txt"), "mine");
        assertThatThrownBy(() -> PgEmbedded.open(tmp))
                .isInstanceOf(PgException.class)
                .hasMessageContaining("neither empty nor a PostgreSQL database cluster");
        assertThat(tmp.resolve("notes.txt")).hasContent("mine");
    }

    @Test
    void inMemoryIsDeletedOnCloseAndCloseIsIdempotent() {
        PgEmbedded db = PgEmbedded.inMemory().open();
        Path dir = db.directory();
        assertThat(dir).isDirectory();
        db.execute("CREATE TABLE t (x int)");
        assertThat(db.isOpen()).isTrue();
        db.close();
        db.close();
        assertThat(db.isOpen()).isFalse();
        assertThat(dir).doesNotExist();
        assertThat(db.transactionStatus()).isEqualTo(TransactionStatus.CLOSED);
        assertThatThrownBy(() -> db.execute("SELECT 1"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is closed");
        assertThatThrownBy(() -> db.query("SELECT 1")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(db::begin).isInstanceOf(IllegalStateException.class);
        db.cancel(); // harmless
    }

    @Test
    void fatalErrorClosesTheInstanceAndTheDirectoryOpensAgain(@TempDir Path tmp) {
        Path dir = tmp.resolve("db");
        PgEmbedded db = PgEmbedded.builder(dir).durability(Durability.NONE).open();
        db.execute("CREATE TABLE t (x int)");
        db.execute("INSERT INTO t VALUES (42)");
        assertThatThrownBy(() -> db.query("SELECT pg_terminate_backend(pg_backend_pid())"))
                .isInstanceOfSatisfying(PgException.class, e -> {
                    assertThat(e.isFatal()).isTrue();
                    assertThat(e.sqlState()).isEqualTo("57P01");
                });
        assertThat(db.isOpen()).isFalse();
        assertThat(db.transactionStatus()).isEqualTo(TransactionStatus.CLOSED);
        assertThatThrownBy(() -> db.execute("SELECT 1"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is closed");
        try (PgEmbedded again = PgEmbedded.open(dir);
                Result r = again.query("SELECT x FROM t")) {
            assertThat(r.row(0).getInt("x")).isEqualTo(42);
        }
        db.close();
    }

    @Test
    void aDirectoryCanBeOpenOnlyOnce() {
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            assertThatThrownBy(() -> PgEmbedded.open(db.directory()))
                    .isInstanceOfSatisfying(
                            PgException.class, e -> assertThat(e.sqlState()).isEqualTo("55006"));
        }
    }

    @Test
    void settingsAndTimeZoneApply() {
        try (PgEmbedded db = PgEmbedded.inMemory()
                        .timeZone(java.time.ZoneId.of("Asia/Kolkata"))
                        .setting("work_mem", "8MB")
                        .open();
                Result r = db.query("SELECT current_setting('TimeZone'), current_setting('work_mem'),"
                        + " current_setting('fsync'), timestamptz '2024-01-01 00:00:00+00'")) {
            Row row = r.row(0);
            assertThat(row.getString(0)).isEqualTo("Asia/Kolkata");
            assertThat(row.getString(1)).isEqualTo("8MB");
            assertThat(row.getString(2)).isEqualTo("off");
            assertThat(row.getOffsetDateTime(3).getOffset().getTotalSeconds()).isEqualTo(5 * 3600 + 1800);
            assertThat(row.getInstant(3)).isEqualTo(java.time.Instant.parse("2024-01-01T00:00:00Z"));
        }
    }
}
