package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Vacuum and analyze without autovacuum processes: every row of a table has its indexed column updated,
 * {@link LongRuns#churnRounds()} times (20 rounds of 100 000 rows in the long run). With pgembed's own
 * maintenance the table stays within 2x of its size after round 1; with it switched off
 * ({@code autovacuum=off}) the same run grows it several times over. A bulk-loaded table gets a planner
 * estimate within 10% without a manual ANALYZE.
 */
class ReliabilityVacuumTest {

    /** a naptime short enough for the test; the default (60 s) applies to applications */
    private static final String NAPTIME = "1s";

    @Test
    void automaticVacuumKeepsAnUpdatedTableNearItsSize(@TempDir Path tmp) throws Exception {
        long[] with = churn(tmp.resolve("with"), true);
        long[] without = churn(tmp.resolve("without"), false);
        System.out.printf(
                "vacuum: %d rows x %d rounds: %d kB after round 1, %d kB at the end with maintenance;"
                        + " %d kB and %d kB without (%.1fx vs %.1fx)%n",
                LongRuns.churnRows(),
                LongRuns.churnRounds(),
                with[0] >> 10,
                with[1] >> 10,
                without[0] >> 10,
                without[1] >> 10,
                (double) with[1] / with[0],
                (double) without[1] / without[0]);
        assertThat(with[1]).as("size with maintenance").isLessThanOrEqualTo(2 * with[0]);
        // after n rounds an unvacuumed table holds n + 1 versions of each row, round 1 holds 2: it grows about
        // (n + 1) / 2 times; the long run's 20 rounds must reach the 5x, CI's few rounds most of theirs
        double growth = Math.min(5.0, 0.8 * (LongRuns.churnRounds() + 1) / 2);
        assertThat((double) without[1] / without[0])
                .as("growth without maintenance")
                .isGreaterThanOrEqualTo(growth);
    }

    /** returns {size after round 1, size after the last round} */
    private static long[] churn(Path dir, boolean maintenance) throws InterruptedException {
        PgEmbedded.Builder b =
                PgEmbedded.builder(dir).durability(Durability.NONE).setting("autovacuum_naptime", NAPTIME);
        if (!maintenance) {
            b.setting("autovacuum", "off");
        }
        long first = 0;
        long last = 0;
        try (PgEmbedded db = b.open()) {
            db.execute("CREATE TABLE churn (id int PRIMARY KEY, k int NOT NULL, pad text NOT NULL)");
            db.execute("CREATE INDEX ON churn (k)");
            db.execute(
                    "INSERT INTO churn SELECT g, g, repeat('p', 100) FROM generate_series(1, $1) g",
                    LongRuns.churnRows());
            for (int round = 1; round <= LongRuns.churnRounds(); round++) {
                db.execute("UPDATE churn SET k = k + 1");
                // a naptime passes between rounds, as between an application's bursts
                Thread.sleep(1300);
                last = size(db);
                if (round == 1) {
                    first = last;
                }
            }
        }
        return new long[] {first, last};
    }

    private static long size(PgEmbedded db) {
        try (Result r = db.query("SELECT pg_total_relation_size('churn')")) {
            return r.row(0).getLong(0);
        }
    }

    @Test
    void aBulkLoadGetsStatisticsWithoutAnalyze(@TempDir Path tmp) throws Exception {
        int rows = LongRuns.churnRows() * 5;
        try (PgEmbedded db = PgEmbedded.builder(tmp.resolve("db"))
                .durability(Durability.NONE)
                .setting("autovacuum_naptime", NAPTIME)
                .open()) {
            db.execute("CREATE TABLE bulk (id int, v text)");
            db.execute("INSERT INTO bulk SELECT g, md5(g::text) FROM generate_series(1, $1) g", rows);
            long estimate = 0;
            for (int i = 0; i < 50 && Math.abs(estimate - rows) > rows / 10; i++) {
                Thread.sleep(100);
                try (Result r = db.query("SELECT reltuples::bigint FROM pg_class WHERE relname = 'bulk'")) {
                    estimate = r.row(0).getLong(0);
                }
            }
            try (Result r = db.query("EXPLAIN SELECT * FROM bulk")) {
                String plan = r.row(0).getString(0);
                long planned = Long.parseLong(plan.replaceAll(".*rows=(\\d+).*", "$1"));
                System.out.printf(
                        "analyze: %d rows loaded, reltuples %d, planner's estimate %d%n", rows, estimate, planned);
                assertThat((double) planned).isCloseTo(rows, org.assertj.core.data.Percentage.withPercentage(10));
            }
        }
    }
}
