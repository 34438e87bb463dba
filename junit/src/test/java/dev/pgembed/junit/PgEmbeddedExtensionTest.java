package dev.pgembed.junit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(PgEmbeddedExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PgEmbeddedExtensionTest {

    @FreshDatabase
    static PgEmbedded shared;

    @FreshDatabase(
            durability = Durability.RELAXED,
            settings = {"work_mem=12MB"})
    PgEmbedded db;

    private static final List<PgEmbedded> seen = new ArrayList<>();
    private static final List<Path> dirs = new ArrayList<>();

    @Test
    @Order(1)
    void aFieldGetsAFreshDatabase() {
        db.execute("CREATE TABLE t(n int)");
        db.execute("INSERT INTO t VALUES (1)");
        try (Result r = db.query("SELECT count(*), current_setting('work_mem') FROM t")) {
            assertThat(r.row(0).getLong(0)).isEqualTo(1);
            assertThat(r.row(0).getString(1)).isEqualTo("12MB");
        }
        seen.add(db);
        dirs.add(db.directory());
        shared.execute("CREATE TABLE IF NOT EXISTS shared_t(n int); INSERT INTO shared_t VALUES (1)");
    }

    @Test
    @Order(2)
    void theNextTestStartsEmpty() {
        try (Result r = db.query("SELECT count(*) FROM pg_class WHERE relname = 't'")) {
            assertThat(r.row(0).getLong(0)).isZero();
        }
        assertThat(seen).doesNotContain(db);
        // the previous test's database is closed and gone
        assertThat(seen.get(0).isOpen()).isFalse();
        assertThat(Files.exists(dirs.get(0))).isFalse();
        // the static one lives for the class
        shared.execute("INSERT INTO shared_t VALUES (2)");
        try (Result r = shared.query("SELECT count(*) FROM shared_t")) {
            assertThat(r.row(0).getLong(0)).isEqualTo(2);
        }
    }

    @Test
    @Order(3)
    void parametersAreInjected(PgEmbedded a, @FreshDatabase(settings = "TimeZone=Asia/Tokyo") PgEmbedded b) {
        assertThat(a).isNotSameAs(b).isNotSameAs(db);
        try (Result r = b.query("SHOW TimeZone")) {
            assertThat(r.row(0).getString(0)).isEqualTo("Asia/Tokyo");
        }
        a.execute("CREATE TABLE only_in_a(n int)");
        try (Result r = b.query("SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'")) {
            assertThat(r.row(0).getLong(0)).isZero();
        }
    }
}
