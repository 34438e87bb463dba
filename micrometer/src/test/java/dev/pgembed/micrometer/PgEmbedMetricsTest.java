package dev.pgembed.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PgException;
import dev.pgembed.Transaction;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The meters against real databases. Other tests of this JVM open no database, so the process-wide meters
 * count this test's work only; each test reads them as differences.
 */
class PgEmbedMetricsTest {

    private static double count(SimpleMeterRegistry r, String name, String... tags) {
        var c = r.find(name).tags(tags).counter();
        return c == null ? 0 : c.count();
    }

    private static double gauge(SimpleMeterRegistry r, String name) {
        return r.get(name).gauge().value();
    }

    @Test
    void countsEnginesStatementsAndErrorsOfTheDirectApiAndOfJdbc(@TempDir Path tmp) throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (PgEmbedded before = PgEmbedded.inMemory().open();
                PgEmbedMetrics metrics = new PgEmbedMetrics(Tags.of("app", "test"))) {
            metrics.bindTo(registry);
            // a database open before the binding counts
            assertThat(gauge(registry, PgEmbedMetrics.ENGINES_OPEN)).isEqualTo(1);
            assertThat(registry.get(PgEmbedMetrics.ENGINES_OPEN).gauge().getId().getTag("app"))
                    .isEqualTo("test");

            Path dir = tmp.resolve("db");
            try (PgEmbedded db = PgEmbedded.open(dir)) {
                assertThat(gauge(registry, PgEmbedMetrics.ENGINES_OPEN)).isEqualTo(2);
                double ok = count(registry, PgEmbedMetrics.STATEMENTS, "outcome", "success");
                db.execute("CREATE TABLE t (id int PRIMARY KEY)");
                db.execute("INSERT INTO t VALUES (1)");
                assertThatThrownBy(() -> db.execute("INSERT INTO t VALUES (1)")).isInstanceOf(PgException.class);
                try (Connection c = DriverManager.getConnection("jdbc:pgembed:" + dir);
                        Statement st = c.createStatement()) {
                    st.execute("INSERT INTO t VALUES (2)");
                    assertThatThrownBy(() -> st.execute("SELECT 1/0")).isInstanceOf(SQLException.class);
                    assertThatThrownBy(() -> st.execute("INSERT INTO t VALUES (2)"))
                            .isInstanceOf(SQLException.class);
                }
                assertThat(count(registry, PgEmbedMetrics.STATEMENTS, "outcome", "success") - ok)
                        .isEqualTo(3);
                assertThat(count(registry, PgEmbedMetrics.STATEMENTS, "outcome", "error"))
                        .isEqualTo(3);
                assertThat(count(registry, PgEmbedMetrics.ERRORS, "sqlstate", "23505"))
                        .isEqualTo(2);
                assertThat(count(registry, PgEmbedMetrics.ERRORS, "sqlstate", "22012"))
                        .isEqualTo(1);
            }
            assertThat(gauge(registry, PgEmbedMetrics.ENGINES_OPEN)).isEqualTo(1);
            // after close() nothing is counted
            metrics.close();
            assertThat(gauge(registry, PgEmbedMetrics.ENGINES_OPEN)).isZero();
            assertThatThrownBy(() -> before.execute("SELECT 1/0")).isInstanceOf(PgException.class);
            assertThat(count(registry, PgEmbedMetrics.ERRORS, "sqlstate", "22012"))
                    .isEqualTo(1);
        }
    }

    @Test
    void timesTheWaitsForATurnAndCountsTheWaiters() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ExecutorService other = Executors.newSingleThreadExecutor();
        try (PgEmbedMetrics metrics = new PgEmbedMetrics();
                PgEmbedded db = PgEmbedded.inMemory()
                        .transactionWaitTimeout(Duration.ofSeconds(30))
                        .open()) {
            metrics.bindTo(registry);
            db.execute("CREATE TABLE t (x int)");
            Transaction tx = db.begin();
            tx.execute("INSERT INTO t VALUES (1)");
            Future<Long> waiter = other.submit(() -> db.execute("SELECT count(*) FROM t"));
            while (gauge(registry, PgEmbedMetrics.SESSIONS_WAITING) < 1) {
                Thread.onSpinWait();
            }
            tx.commit();
            assertThat(waiter.get(30, TimeUnit.SECONDS)).isEqualTo(1);
            assertThat(gauge(registry, PgEmbedMetrics.SESSIONS_WAITING)).isZero();
            assertThat(registry.get(PgEmbedMetrics.SESSION_WAIT)
                            .tag("outcome", "acquired")
                            .timer()
                            .count())
                    .isEqualTo(1);
            assertThat(registry.get(PgEmbedMetrics.SESSION_WAIT)
                            .tag("outcome", "failed")
                            .timer()
                            .count())
                    .isZero();
        } finally {
            other.shutdownNow();
        }
    }
}
