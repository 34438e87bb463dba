package dev.pgembed.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;
import dev.pgembed.jdbc.PgEmbedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Physical replication through serve mode: the stock {@code pg_basebackup} of the same build takes a base
 * backup of a live pgembed database over serve mode's Unix socket (a physical WAL sender: BASE_BACKUP, with
 * the WAL streamed beside it), {@code pg_verifybackup} accepts it, and pgembed opens the copy with every row.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class BaseBackupTest {
    @TempDir
    Path tmp;

    private static long count(PgEmbedded db, String sql) {
        try (Result r = db.query(sql)) {
            return r.row(0).getLong(0);
        }
    }

    @Test
    void pgBasebackupCopiesALiveDatabaseThroughServeMode() throws Exception {
        Path bin = Conformance.treeFromProperties().resolve("stage/bin");
        Path copy = tmp.resolve("copy");
        try (PgEmbedded db = PgEmbedded.builder(tmp.resolve("db"))
                        .backends(3)
                        .logicalReplication(2)
                        .open();
                PgEmbedServer serve = PgEmbedServer.unixSocket(db, tmp.resolve("sock"), 5434)) {
            db.execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 50000) g");
            String out = StockServer.run(
                    List.of(
                            bin.resolve("pg_basebackup").toString(),
                            "-h",
                            tmp.resolve("sock").toString(),
                            "-p",
                            "5434",
                            "-U",
                            "postgres",
                            "-D",
                            copy.toString(),
                            "-X",
                            "stream",
                            "-c",
                            "fast"),
                    null,
                    180);
            System.out.println("pg_basebackup: " + out.strip());
            // the application goes on meanwhile: the copy is of the moment the backup ended, not later
            db.execute("INSERT INTO t SELECT g FROM generate_series(50001, 50010) g");
        }
        assertThat(StockServer.run(
                        List.of(bin.resolve("pg_verifybackup").toString(), "-n", copy.toString()), null, 120))
                .contains("backup successfully verified");
        assertThat(Files.exists(copy.resolve("backup_label"))).isTrue();
        try (PgEmbedded restored = PgEmbedded.open(copy)) {
            assertThat(count(restored, "SELECT count(*) FROM t")).isEqualTo(50_000);
        }
    }
}
