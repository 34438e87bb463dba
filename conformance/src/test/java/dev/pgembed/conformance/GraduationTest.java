package dev.pgembed.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;
import dev.pgembed.jdbc.PgEmbedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Graduation to a server: a stock PostgreSQL 18 server of the same build ({@link StockServer}) subscribes to a
 * publication of a pgembed database served by {@link PgEmbedServer} (TCP with SCRAM: the server runs as
 * {@code nobody} when the build runs as root, and could not enter serve mode's private socket directory). The
 * application writes through pgembed, the server copies the table and follows its changes, pgembed closes and
 * reopens while the subscription stays (its slot survives), and the application then moves to the server:
 * no row is lost. And the other way: a pgembed database subscribes to the server's publication (a local replica
 * of a central database), through the WAL receiver's libpq in its workers. The lags are printed, not asserted
 * (the machine's load decides them).
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class GraduationTest {
    private static final String PASSWORD = "graduation";
    /* generous: the shared build machine; the figures printed are what the run measured */
    private static final long WAIT_MS = 120_000;

    private static PgEmbedded openApp(Path dir) {
        return PgEmbedded.builder(dir).backends(4).logicalReplication(4).open();
    }

    private static long count(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static long count(PgEmbedded db, String sql) {
        try (Result r = db.query(sql)) {
            return r.row(0).getLong(0);
        }
    }

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /* waits until the server holds want rows of orders; returns the milliseconds it took */
    private static long awaitRows(Connection server, long want, String what) throws Exception {
        long start = System.nanoTime();
        long have = -1;
        while (System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(WAIT_MS)) {
            have = count(server, "SELECT count(*) FROM orders");
            if (have == want) {
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                System.out.println("graduation: " + what + ": " + want + " rows on the server after " + ms + " ms");
                return ms;
            }
            Thread.sleep(20);
        }
        throw new AssertionError(what + ": the server has " + have + " rows of " + want + " after " + WAIT_MS + " ms");
    }

    private static void insert(PgEmbedded db, int from, int to) {
        db.execute("INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(" + from + ", " + to + ") g");
    }

    @Test
    void aServerSubscribesFollowsAReopenAndTakesOverWithNoRowLost() throws Exception {
        Path work = Path.of(System.getProperty("conformance.work", "target/conformance"), "graduation");
        deleteRecursively(work);
        Files.createDirectories(work);
        Path appDir = work.resolve("app");
        Path stage = Conformance.treeFromProperties().resolve("stage");
        int port;
        try (StockServer stock =
                StockServer.start(stage, work.resolve("server"), Map.of("wal_retrieve_retry_interval", "1s"))) {
            try (Connection server = DriverManager.getConnection(
                    "jdbc:postgresql://127.0.0.1:" + stock.port + "/postgres", "postgres", "")) {
                exec(server, "CREATE TABLE orders (id bigint PRIMARY KEY, item text NOT NULL)");

                // 1. the application writes through pgembed; the server subscribes and copies the table
                try (PgEmbedded db = openApp(appDir);
                        PgEmbedServer serve = PgEmbedServer.tcp(db, 0, PASSWORD)) {
                    port = serve.port();
                    db.execute("CREATE TABLE orders (id bigint PRIMARY KEY, item text NOT NULL)");
                    insert(db, 1, 5000);
                    db.execute("CREATE PUBLICATION p FOR TABLE orders");
                    exec(
                            server,
                            "CREATE SUBSCRIPTION s CONNECTION 'host=127.0.0.1 port=" + port + " user=postgres password="
                                    + PASSWORD + " dbname=postgres' PUBLICATION p");
                    // how many WAL senders (each a namespace of the process) the subscription takes, sampled
                    AtomicLong most = new AtomicLong();
                    Thread sampler = Thread.ofPlatform().start(() -> {
                        while (!Thread.currentThread().isInterrupted()) {
                            most.accumulateAndGet(
                                    count(db, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'"),
                                    Math::max);
                            try {
                                Thread.sleep(5);
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                    });
                    try {
                        awaitRows(server, 5000, "initial copy");
                    } finally {
                        sampler.interrupt();
                        sampler.join();
                    }
                    System.out.println("graduation: at most " + most.get() + " WAL senders at once during the copy");

                    // 2. rows committed afterwards follow
                    insert(db, 5001, 5100);
                    awaitRows(server, 5100, "100 rows committed after the copy");
                    db.execute("UPDATE orders SET item = 'changed' WHERE id = 7");
                    db.execute("DELETE FROM orders WHERE id = 8");
                    awaitRows(server, 5099, "an UPDATE and a DELETE");
                    assertThat(count(server, "SELECT count(*) FROM orders WHERE id = 7 AND item = 'changed'"))
                            .isEqualTo(1);
                }

                // 3. pgembed closed and reopened (same directory, same port): the subscription resumes from its slot
                try (PgEmbedded db = openApp(appDir);
                        PgEmbedServer serve = PgEmbedServer.tcp(db, port, PASSWORD)) {
                    assertThat(count(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 's'"))
                            .isEqualTo(1);
                    insert(db, 5101, 6000);
                    awaitRows(server, 5999, "900 rows committed after pgembed reopened");

                    // 4. the application stops writing to pgembed, waits for the server to catch up and moves
                    long lastId = count(db, "SELECT max(id) FROM orders");
                    long rows = count(db, "SELECT count(*) FROM orders");
                    awaitRows(server, rows, "caught up before the switch");
                    assertThat(count(server, "SELECT sum(id) FROM orders"))
                            .isEqualTo(count(db, "SELECT sum(id) FROM orders"));
                    // the subscription (and its slot in pgembed) goes: the server is the database now
                    exec(server, "DROP SUBSCRIPTION s");
                    assertThat(count(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 's'"))
                            .isZero();
                    assertThat(lastId).isEqualTo(6000);
                }

                // 5. the application goes on writing, to the server
                exec(server, "INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(6001, 6100) g");
                assertThat(count(server, "SELECT count(*) FROM orders")).isEqualTo(6099);
                // every id the application ever wrote, except the one it deleted, is on the server
                assertThat(count(
                                server,
                                "SELECT count(*) FROM generate_series(1, 6100) g"
                                        + " LEFT JOIN orders o ON o.id = g WHERE o.id IS NULL AND g <> 8"))
                        .isZero();
            }
        }
    }

    /* waits until sql's one value on db is want; returns the milliseconds it took */
    private static long awaitLocal(PgEmbedded db, String sql, long want, String what) throws Exception {
        long start = System.nanoTime();
        long have = -1;
        while (System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(WAIT_MS)) {
            have = count(db, sql);
            if (have == want) {
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                System.out.println("local replica: " + what + ": " + want + " after " + ms + " ms");
                return ms;
            }
            Thread.sleep(20);
        }
        throw new AssertionError(what + ": pgembed has " + have + " of " + want + " after " + WAIT_MS + " ms");
    }

    private static PgEmbedded openReplica(Path dir) {
        return PgEmbedded.builder(dir)
                .backends(3)
                .setting("max_logical_replication_workers", "2")
                .setting("wal_retrieve_retry_interval", "1s")
                .open();
    }

    @Test
    void aPgembedDatabaseSubscribesToAServerAndCatchesUpAfterAReopen() throws Exception {
        Path work = Path.of(System.getProperty("conformance.work", "target/conformance"), "replica");
        deleteRecursively(work);
        Files.createDirectories(work);
        Path replicaDir = work.resolve("replica");
        Path stage = Conformance.treeFromProperties().resolve("stage");
        try (StockServer stock = StockServer.start(stage, work.resolve("server"), Map.of("wal_level", "logical"));
                Connection server = DriverManager.getConnection(
                        "jdbc:postgresql://127.0.0.1:" + stock.port + "/postgres", "postgres", "")) {
            exec(server, "CREATE TABLE prices (id bigint PRIMARY KEY, amount numeric NOT NULL)");
            exec(server, "INSERT INTO prices SELECT g, g * 1.5 FROM generate_series(1, 3000) g");
            exec(server, "CREATE PUBLICATION central FOR TABLE prices");
            String connection = "host=127.0.0.1 port=" + stock.port + " user=postgres dbname=postgres";
            try (PgEmbedded db = openReplica(replicaDir)) {
                db.execute("CREATE TABLE prices (id bigint PRIMARY KEY, amount numeric NOT NULL)");
                db.execute("CREATE SUBSCRIPTION local CONNECTION '" + connection + "' PUBLICATION central");
                awaitLocal(db, "SELECT count(*) FROM prices", 3000, "initial copy");
                exec(server, "INSERT INTO prices SELECT g, g * 1.5 FROM generate_series(3001, 3100) g");
                awaitLocal(db, "SELECT count(*) FROM prices", 3100, "100 rows committed on the server");
            }
            // written while the replica is closed: the server's slot keeps them for it
            exec(server, "INSERT INTO prices SELECT g, g * 1.5 FROM generate_series(3101, 3500) g");
            exec(server, "UPDATE prices SET amount = 0 WHERE id = 1");
            try (PgEmbedded db = openReplica(replicaDir)) {
                awaitLocal(db, "SELECT count(*) FROM prices", 3500, "caught up after the replica reopened");
                awaitLocal(db, "SELECT count(*) FROM prices WHERE id = 1 AND amount = 0", 1, "the UPDATE");
                assertThat(count(db, "SELECT sum(id) FROM prices"))
                        .isEqualTo(count(server, "SELECT sum(id) FROM prices"));
                db.execute("DROP SUBSCRIPTION local");
            }
            assertThat(count(server, "SELECT count(*) FROM pg_replication_slots"))
                    .isZero();
        }
    }

    private static void deleteRecursively(Path p) throws Exception {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
