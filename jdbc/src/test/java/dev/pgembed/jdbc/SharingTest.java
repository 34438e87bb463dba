package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;
import dev.pgembed.Transaction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SharingTest {

    static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void hikariPoolOfFourWithEightThreads() throws Exception {
        HikariConfig cfg = new HikariConfig();
        cfg.setJdbcUrl("jdbc:pgembed:memory:hikari?prepareThreshold=1&transactionWaitTimeout=60s");
        cfg.setMaximumPoolSize(4);
        cfg.setAutoCommit(false);
        try (HikariDataSource ds = new HikariDataSource(cfg)) {
            try (Connection c = ds.getConnection();
                    Statement s = c.createStatement()) {
                s.execute("CREATE TABLE account (id int PRIMARY KEY, balance bigint NOT NULL)");
                s.execute("CREATE TABLE transfer (id bigserial PRIMARY KEY, thread int, n int)");
                s.execute("INSERT INTO account SELECT g, 1000 FROM generate_series(1, 10) g");
                c.commit();
            }
            int threads = 8;
            int perThread = 200;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> futures = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        try (Connection c = ds.getConnection()) {
                            int from = 1 + (thread + i) % 10;
                            int to = 1 + (thread + i + 3) % 10;
                            try (PreparedStatement debit = c.prepareStatement(
                                            "UPDATE account SET balance = balance - ? WHERE id = ?");
                                    PreparedStatement credit = c.prepareStatement(
                                            "UPDATE account SET balance = balance + ? WHERE id = ?");
                                    PreparedStatement log =
                                            c.prepareStatement("INSERT INTO transfer (thread, n) VALUES (?, ?)")) {
                                debit.setLong(1, 7);
                                debit.setInt(2, from);
                                assertThat(debit.executeUpdate()).isEqualTo(1);
                                credit.setLong(1, 7);
                                credit.setInt(2, to);
                                assertThat(credit.executeUpdate()).isEqualTo(1);
                                log.setInt(1, thread);
                                log.setInt(2, i);
                                log.executeUpdate();
                            }
                            if (i % 10 == 9) {
                                c.rollback();
                            } else {
                                c.commit();
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
            pool.shutdown();
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            System.out.printf(
                    "HikariCP: %d transactions over 4 connections from 8 threads in %d ms%n", threads * perThread, ms);
            try (Connection c = ds.getConnection()) {
                assertThat(one(c, "SELECT sum(balance) FROM account")).isEqualTo("10000");
                assertThat(one(c, "SELECT count(*) FROM transfer"))
                        .isEqualTo(String.valueOf(threads * perThread * 9 / 10));
                // prepared statements of the pooled connections never collided, and all carry a prefix
                assertThat(one(c, "SELECT count(*) FROM pg_prepared_statements WHERE name !~ '^pgembed\\d+_'"))
                        .isEqualTo("0");
                c.commit();
            }
        }
    }

    @Test
    void sessionSettingsStayWithTheirConnection() throws Exception {
        String url = "jdbc:pgembed:memory:settings";
        try (Connection a = DriverManager.getConnection(url);
                Connection b = DriverManager.getConnection(url)) {
            String defaultWorkMem = one(b, "SHOW work_mem");
            try (Statement s = a.createStatement()) {
                s.execute("SET work_mem = '77MB'");
                s.execute("SET application_name = 'conn-a'");
                s.execute("CREATE TEMP TABLE scratch (x int)");
            }
            a.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            // b does not see a's settings, isolation, or temp table
            assertThat(one(b, "SHOW work_mem")).isEqualTo(defaultWorkMem);
            assertThat(one(b, "SHOW application_name")).isNotEqualTo("conn-a");
            assertThat(one(b, "SHOW transaction_isolation")).isEqualTo("read committed");
            assertThat(b.getTransactionIsolation()).isEqualTo(Connection.TRANSACTION_READ_COMMITTED);
            assertThat(one(b, "SELECT count(*) FROM pg_tables WHERE tablename = 'scratch'"))
                    .isEqualTo("0");
            try (Statement s = b.createStatement()) {
                s.execute("SET work_mem = '5MB'");
            }
            // a keeps its own
            assertThat(one(a, "SHOW work_mem")).isEqualTo("77MB");
            assertThat(one(a, "SHOW application_name")).isEqualTo("conn-a");
            assertThat(a.getTransactionIsolation()).isEqualTo(Connection.TRANSACTION_REPEATABLE_READ);
            assertThat(one(b, "SHOW work_mem")).isEqualTo("5MB");
            // a SET inside a transaction rolled back is undone, as on a server
            b.setAutoCommit(false);
            try (Statement s = b.createStatement()) {
                s.execute("SET work_mem = '9MB'");
            }
            b.rollback();
            b.setAutoCommit(true);
            assertThat(one(b, "SHOW work_mem")).isEqualTo("5MB");
            assertThat(one(a, "SHOW work_mem")).isEqualTo("77MB");
        }
    }

    @Test
    void nestedIndependentTransactionOnOneThreadFailsFast() throws Exception {
        String url = "jdbc:pgembed:memory:nested";
        try (Connection outer = DriverManager.getConnection(url);
                Connection inner = DriverManager.getConnection(url)) {
            try (Statement s = outer.createStatement()) {
                s.execute("CREATE TABLE audit (msg text)");
            }
            outer.setAutoCommit(false);
            try (Statement s = outer.createStatement()) {
                s.execute("INSERT INTO audit VALUES ('outer')");
            }
            long t0 = System.nanoTime();
            // like Spring's REQUIRES_NEW: a second connection on the same thread while the first holds a transaction
            assertThatThrownBy(() -> one(inner, "SELECT count(*) FROM audit"))
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getSQLState()).isEqualTo("55P03");
                        assertThat(e.getMessage())
                                .contains("this thread already holds an open transaction")
                                .contains("REQUIRES_NEW");
                    });
            assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(2));
            // the inner connection stays usable, the outer transaction is intact
            try (Statement s = outer.createStatement()) {
                s.execute("INSERT INTO audit VALUES ('outer 2')");
            }
            outer.commit();
            assertThat(one(inner, "SELECT count(*) FROM audit")).isEqualTo("2");
            // the same through a prepared statement (extended protocol) and in a batch
            outer.setAutoCommit(false);
            one(outer, "SELECT 1");
            try (PreparedStatement ps = inner.prepareStatement("INSERT INTO audit VALUES (?)")) {
                ps.setString(1, "x");
                assertThatThrownBy(ps::executeUpdate)
                        .isInstanceOfSatisfying(
                                SQLException.class,
                                e -> assertThat(e.getSQLState()).isEqualTo("55P03"));
                outer.rollback();
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
        }
    }

    @Test
    void otherThreadsWaitForATransactionThenTimeOut() throws Exception {
        String url = "jdbc:pgembed:memory:waits?transactionWaitTimeout=400ms";
        try (Connection a = DriverManager.getConnection(url);
                Connection b = DriverManager.getConnection(url)) {
            a.setAutoCommit(false);
            one(a, "SELECT 1");
            CompletableFuture<String> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return one(b, "SELECT 2");
                } catch (SQLException e) {
                    return e.getSQLState() + " " + e.getMessage();
                }
            });
            assertThat(waiting.get(10, TimeUnit.SECONDS)).startsWith("55P03").contains("JDBC connection #");
            CompletableFuture<String> later = CompletableFuture.supplyAsync(() -> {
                try {
                    return one(b, "SELECT 3");
                } catch (SQLException e) {
                    return e.getSQLState();
                }
            });
            Thread.sleep(100);
            a.commit();
            assertThat(later.get(10, TimeUnit.SECONDS)).isEqualTo("3");
        }
    }

    @Test
    void directApiAndJdbcTakeTurns(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("db");
        try (PgEmbedded db = PgEmbedded.open(data)) {
            db.execute("CREATE TABLE t (x int)");
            try (Connection c = DriverManager.getConnection("jdbc:pgembed:" + data)) {
                // the application's instance is reused (a second open of the directory would fail)
                assertThat(one(c, "SELECT count(*) FROM t")).isEqualTo("0");
                // JDBC transaction open: the direct API (another thread) waits and does not see it
                c.setAutoCommit(false);
                try (Statement s = c.createStatement()) {
                    s.execute("INSERT INTO t VALUES (1)");
                    s.execute("SET LOCAL work_mem = '11MB'");
                }
                CompletableFuture<Long> direct = CompletableFuture.supplyAsync(() -> {
                    try (Result r = db.query("SELECT count(*) FROM t")) {
                        return r.row(0).getLong(0);
                    }
                });
                Thread.sleep(300);
                assertThat(direct).isNotDone();
                c.commit();
                assertThat(direct.get(10, TimeUnit.SECONDS)).isEqualTo(1L);
                c.setAutoCommit(true);

                // direct transaction open on this thread's partner: JDBC waits and does not see it
                CompletableFuture<Transaction> begun = new CompletableFuture<>();
                CompletableFuture<Void> release = new CompletableFuture<>();
                Thread owner = Thread.ofPlatform().start(() -> {
                    Transaction tx = db.begin();
                    tx.execute("INSERT INTO t VALUES (2)");
                    begun.complete(tx);
                    release.join();
                    tx.commit();
                });
                begun.get(10, TimeUnit.SECONDS);
                CompletableFuture<String> viaJdbc = CompletableFuture.supplyAsync(() -> {
                    try {
                        return one(c, "SELECT count(*) FROM t");
                    } catch (SQLException e) {
                        return e.toString();
                    }
                });
                Thread.sleep(300);
                assertThat(viaJdbc).isNotDone();
                release.complete(null);
                owner.join(10_000);
                assertThat(viaJdbc.get(10, TimeUnit.SECONDS)).isEqualTo("2");

                // session settings do not leak between the doors
                try (Statement s = c.createStatement()) {
                    s.execute("SET TimeZone = 'Asia/Tokyo'");
                    s.execute("SET search_path = pg_catalog");
                }
                try (Result r = db.query("SELECT current_setting('TimeZone'), current_setting('search_path')")) {
                    assertThat(r.row(0).getString(0)).isNotEqualTo("Asia/Tokyo");
                    assertThat(r.row(0).getString(1)).isEqualTo("\"$user\", public");
                }
                db.execute("SET statement_timeout = '123s'");
                assertThat(one(c, "SHOW TimeZone")).isEqualTo("Asia/Tokyo");
                assertThat(one(c, "SHOW statement_timeout")).isEqualTo("0");
                try (Result r = db.query("SHOW statement_timeout")) {
                    assertThat(r.row(0).getString(0)).isEqualTo("123s");
                }
                // the direct API on the thread that holds a JDBC transaction fails fast instead of waiting for itself
                c.setAutoCommit(false);
                one(c, "SELECT 1");
                assertThatThrownBy(() -> db.execute("SELECT 1")).hasMessageContaining("this thread already holds");
                c.rollback();
                assertThat(db.execute("SELECT 1")).isEqualTo(1);
            }
            // the last connection closed: the application's instance stays open
            assertThat(db.isOpen()).isTrue();
            assertThat(db.execute("SELECT 1")).isEqualTo(1);
        }
    }

    @Test
    void directoryUrlCreatesAndReopens(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("fresh");
        String url = "jdbc:pgembed:" + data + "?durability=relaxed&work_mem=12MB";
        try (Connection c = DriverManager.getConnection(url);
                Statement s = c.createStatement()) {
            s.execute("CREATE TABLE kept (x int)");
            s.execute("INSERT INTO kept VALUES (42)");
            assertThat(one(c, "SHOW work_mem")).isEqualTo("12MB");
            assertThat(one(c, "SHOW synchronous_commit")).isEqualTo("off");
        }
        assertThat(Files.exists(data.resolve("PG_VERSION"))).isTrue();
        // closed with the last connection: the directory can be opened again
        try (PgEmbedded db = PgEmbedded.open(data);
                Result r = db.query("SELECT x FROM kept")) {
            assertThat(r.row(0).getInt(0)).isEqualTo(42);
        }
        PgEmbedDataSource ds = new PgEmbedDataSource();
        ds.setUrl("jdbc:pgembed:" + data);
        try (Connection c = ds.getConnection()) {
            assertThat(one(c, "SELECT x FROM kept")).isEqualTo("42");
        }
    }

    @Test
    void memoryDatabasesAreSharedWhileOpen() throws Exception {
        try (Connection a = DriverManager.getConnection("jdbc:pgembed:memory:shared")) {
            try (Statement s = a.createStatement()) {
                s.execute("CREATE TABLE m (x int)");
            }
            try (Connection b = DriverManager.getConnection("jdbc:pgembed:memory:shared")) {
                assertThat(one(b, "SELECT count(*) FROM m")).isEqualTo("0");
            }
            try (Connection p = DriverManager.getConnection("jdbc:pgembed:memory:")) {
                assertThat(one(p, "SELECT count(*) FROM pg_tables WHERE tablename = 'm'"))
                        .isEqualTo("0");
            }
        }
        try (Connection a = DriverManager.getConnection("jdbc:pgembed:memory:shared")) {
            assertThat(one(a, "SELECT count(*) FROM pg_tables WHERE tablename = 'm'"))
                    .isEqualTo("0");
        }
    }
}
