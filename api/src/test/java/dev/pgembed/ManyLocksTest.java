package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One transaction that locks thousands of relations, as pg_dump, {@code pg_restore --single-transaction} and
 * {@code DROP SCHEMA ... CASCADE} do, works as on a server. The shared lock table has max_locks_per_transaction
 * slots per possible process; with an engine's few connections PostgreSQL's default of 64 gave ~450 locks, and
 * PostGIS's typmod regression test failed at its DROP SCHEMA CASCADE with "out of shared memory".
 */
class ManyLocksTest {
    private static final int TABLES = 3000;

    @ParameterizedTest(name = "backends({0})")
    @ValueSource(ints = {1, 2})
    void oneTransactionLocksThousandsOfRelations(int backends, @TempDir Path dir) {
        try (PgEmbedded db = PgEmbedded.builder(dir.resolve("db"))
                .durability(Durability.NONE)
                .backends(backends)
                .open()) {
            // one transaction: every CREATE TABLE holds its AccessExclusiveLock until the end
            db.execute("CREATE SCHEMA many; DO $$ BEGIN FOR i IN 1.." + TABLES
                    + " LOOP EXECUTE format('CREATE TABLE many.t%s (id int)', i); END LOOP; END $$");
            db.transaction(tx -> {
                tx.execute("LOCK TABLE " + String.join(", ", tables()) + " IN ACCESS SHARE MODE");
                try (Result held = tx.query("SELECT count(*) FROM pg_locks WHERE locktype = 'relation'"
                        + " AND relation IN (SELECT oid FROM pg_class WHERE relnamespace = 'many'::regnamespace)")) {
                    assertThat(held.row(0).getLong(0)).isEqualTo(TABLES);
                }
            });
            db.execute("DROP SCHEMA many CASCADE");
            try (Result left = db.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'many'")) {
                assertThat(left.row(0).getLong(0)).isZero();
            }
        }
    }

    private static String[] tables() {
        String[] names = new String[TABLES];
        for (int i = 0; i < TABLES; i++) {
            names[i] = "many.t" + (i + 1);
        }
        return names;
    }
}
