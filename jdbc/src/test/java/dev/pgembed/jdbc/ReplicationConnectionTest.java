package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PgException;
import dev.pgembed.Result;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.PGReplicationStream;

/**
 * Replication connections ({@code replication=database}) through serve mode: relayed to a WAL sender of the
 * database's postmaster, PostgreSQL's own walsender.c on a thread of its own, which speaks the replication
 * protocol (IDENTIFY_SYSTEM, START_REPLICATION, CopyBoth) on the connection's socket.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ReplicationConnectionTest {
    private static final String PASSWORD = "repl-secret";

    @TempDir
    Path tmp;

    private static PgEmbedded open(Path dir) {
        return PgEmbedded.builder(dir).backends(4).logicalReplication(3).open();
    }

    /* pgjdbc's replication connection to serve mode over TCP (SCRAM first, then relayed) */
    private static Connection replicationConnection(PgEmbedServer server) throws SQLException {
        Properties p = new Properties();
        PGProperty.USER.set(p, "postgres");
        PGProperty.PASSWORD.set(p, PASSWORD);
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(p, "10");
        PGProperty.REPLICATION.set(p, "database");
        PGProperty.PREFER_QUERY_MODE.set(p, "simple");
        PGProperty.CONNECT_TIMEOUT.set(p, 60);
        PGProperty.SOCKET_TIMEOUT.set(p, 60);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.port() + "/postgres", p);
    }

    /* test_decoding's lines of the stream, until one ends a transaction that contains want */
    private static List<String> readUntil(PGReplicationStream stream, String want) throws SQLException {
        List<String> lines = new ArrayList<>();
        boolean seen = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            ByteBuffer m = stream.readPending();
            if (m == null) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                continue;
            }
            String line = new String(m.array(), m.arrayOffset() + m.position(), m.remaining(), StandardCharsets.UTF_8);
            lines.add(line);
            stream.setAppliedLSN(stream.getLastReceiveLSN());
            stream.setFlushedLSN(stream.getLastReceiveLSN());
            seen |= line.contains(want);
            if (seen && line.startsWith("COMMIT")) {
                return lines;
            }
        }
        throw new AssertionError("no transaction with \"" + want + "\" in 60 s; got " + lines);
    }

    @Test
    void psqlRunsReplicationCommandsOnAWalSender() throws Exception {
        try (PgEmbedded db = open(tmp.resolve("db"));
                PgEmbedServer server = PgEmbedServer.unixSocket(db, tmp.resolve("sock"), 5433)) {
            String systemId;
            try (Result r = db.query("SELECT system_identifier::text FROM pg_control_system()")) {
                systemId = r.row(0).getString(0);
            }
            ProcessBuilder pb = new ProcessBuilder(
                    PgEmbedServer.clientTool("psql").toString(),
                    "-X",
                    "-A",
                    "-t",
                    "-c",
                    "IDENTIFY_SYSTEM",
                    "-c",
                    "SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()",
                    "dbname=postgres replication=database user=postgres port=5433 host=" + tmp.resolve("sock"));
            pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
            pb.environment().remove("LD_LIBRARY_PATH");
            pb.redirectErrorStream(true);
            Process psql = pb.start();
            String out = new String(psql.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(psql.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(psql.exitValue()).as(out).isZero();
            // IDENTIFY_SYSTEM: systemid|timeline|xlogpos|dbname, from the WAL sender of this very cluster
            assertThat(out).startsWith(systemId + "|1|").contains("|postgres\n");
            assertThat(out).contains("walsender");
        }
    }

    @Test
    void aReplicationConnectionOfADatabaseWithoutWalSendersIsRefused() throws Exception {
        // max_wal_senders alone opens no socket: only logicalReplication does (it checks the session role)
        try (PgEmbedded db = PgEmbedded.builder(tmp.resolve("plain"))
                        .backends(3)
                        .setting("max_wal_senders", "2")
                        .open();
                PgEmbedServer server = PgEmbedServer.tcp(db, 0, PASSWORD)) {
            assertThatThrownBy(() -> replicationConnection(server).close())
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("logicalReplication");
        }
        assertThatThrownBy(() -> PgEmbedded.builder(tmp.resolve("one"))
                        .logicalReplication(2)
                        .open())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("backends");
        assertThatThrownBy(() -> PgEmbedded.builder(tmp.resolve("role"))
                        .backends(3)
                        .sessionRole("app")
                        .logicalReplication(2)
                        .open())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("sessionRole");
    }

    @Test
    void withNoNamespaceLeftAReplicationConnectionIsRefusedAndClosedThenServedAgain() throws Exception {
        try (PgEmbedded db = open(tmp.resolve("limit"));
                PgEmbedServer server = PgEmbedServer.tcp(db, 0, PASSWORD)) {
            List<PgEmbedded> fillers = new ArrayList<>();
            try {
                // every namespace the process has left goes to single-backend databases
                while (fillers.size() < 16) {
                    try {
                        fillers.add(PgEmbedded.inMemory().open());
                    } catch (PgException e) {
                        assertThat(e.sqlState()).isEqualTo("53300");
                        break;
                    }
                }
                // the postmaster's failed fork: its message on the socket, which it then closes (no hang)
                assertThat(fillers).isNotEmpty();
                assertThatThrownBy(() -> replicationConnection(server).close())
                        .isInstanceOf(SQLException.class)
                        .satisfies(e -> System.out.println("replication at the limit: " + e));
            } finally {
                for (PgEmbedded f : fillers) {
                    f.close();
                }
            }
            try (Connection c = replicationConnection(server);
                    Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString("dbname")).isEqualTo("postgres");
            }
        }
    }

    @Test
    void changesStreamToAReplicationClientAndTheSlotSurvivesAReopen() throws Exception {
        Path dir = tmp.resolve("stream");
        try (PgEmbedded db = open(dir)) {
            db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
            db.execute("SELECT pg_create_logical_replication_slot('s', 'test_decoding')");
        }
        for (int i = 0; i < 2; i++) {
            int round = i;
            try (PgEmbedded db = open(dir);
                    PgEmbedServer server = PgEmbedServer.tcp(db, 0, PASSWORD);
                    Connection c = replicationConnection(server);
                    PGReplicationStream stream = c.unwrap(PGConnection.class)
                            .getReplicationAPI()
                            .replicationStream()
                            .logical()
                            .withSlotName("s")
                            .withStatusInterval(1, TimeUnit.SECONDS)
                            .start()) {
                db.execute("INSERT INTO t VALUES (" + round + ", 'round " + round + "')");
                List<String> lines = readUntil(stream, "'round " + round + "'");
                assertThat(lines).anyMatch(l -> l.startsWith("table public.t: INSERT: id[integer]:" + round));
                // what was confirmed in the first round is not sent again in the second
                assertThat(lines).noneMatch(l -> l.contains("'round " + (round - 1) + "'"));
                // the confirmation reaches the slot (the WAL sender's own handling of standby status updates)
                String lsn = stream.getLastReceiveLSN().asString();
                stream.forceUpdateStatus();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                boolean confirmed = false;
                while (!confirmed && System.nanoTime() < deadline) {
                    try (Result r = db.query("SELECT confirmed_flush_lsn >= '" + lsn
                            + "'::pg_lsn FROM pg_replication_slots WHERE slot_name = 's'")) {
                        confirmed = r.row(0).getBoolean(0);
                    }
                    if (!confirmed) {
                        Thread.sleep(50);
                    }
                }
                assertThat(confirmed).as("confirmed_flush_lsn reached " + lsn).isTrue();
            }
        }
    }
}
