package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PgException;
import dev.pgembed.Result;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Serve mode with the stock psql and pg_dump bundled in the payload, and pgjdbc over TCP. */
class ServeModeTest {
    @TempDir
    Path tmp;

    record Run(int exit, String out, String err) {}

    /* a client tool from the payload: it must find its own libpq (the system may have none, or another) */
    private ProcessBuilder tool(String name, Map<String, String> env, Object... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(PgEmbedServer.clientTool(name).toString());
        for (Object a : args) {
            cmd.add(a.toString());
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        pb.environment().remove("LD_LIBRARY_PATH");
        pb.environment().putAll(env);
        return pb;
    }

    private Run run(String name, Map<String, String> env, Object... args) throws Exception {
        Path out = Files.createTempFile(tmp, name, ".out");
        Path err = Files.createTempFile(tmp, name, ".err");
        Process p = tool(name, env, args)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        p.getOutputStream().close();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(name + " did not finish");
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private static String text(PgEmbedded db, String sql) {
        try (Result r = db.query(sql)) {
            return r.iterator().next().getString(0);
        }
    }

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static final String FINGERPRINT =
            "SELECT count(*) || ' ' || md5(string_agg(id || ':' || name || ':' || price"
                    + " || ':' || coalesce(tags::text, '-'), ',' ORDER BY id)) FROM items";

    @Test
    void psqlAndPgDumpAttachToARunningInstanceAndTheDumpRestores() throws Exception {
        Path dir = tmp.resolve("db");
        Path sock = tmp.resolve("sock");
        Path dump = tmp.resolve("dump.sql");
        try (PgEmbedded db = PgEmbedded.open(dir);
                PgEmbedServer server = PgEmbedServer.unixSocket(db, sock, 5433)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)))
                    .isEqualTo("rwx------");
            assertThat(server.address()).isEqualTo(UnixDomainSocketAddress.of(sock.resolve(".s.PGSQL.5433")));
            db.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(8,2), tags text[])");
            db.execute("INSERT INTO items SELECT g, 'item ''' || g || E'\\t\\\\', g * 1.25,"
                    + " CASE WHEN g % 3 = 0 THEN ARRAY['a', 'b c'] END FROM generate_series(1, 500) g");
            db.execute("CREATE INDEX items_name ON items (name)");
            db.execute("CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 10");

            Run psql = run(
                    "psql",
                    Map.of(),
                    "-X",
                    "-A",
                    "-t",
                    "-h",
                    sock,
                    "-p",
                    5433,
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-c",
                    "SELECT count(*), sum(price) FROM items");
            assertThat(psql.exit()).as(psql.err()).isZero();
            assertThat(psql.out().trim()).isEqualTo(text(db, "SELECT count(*) || '|' || sum(price) FROM items"));
            // a result larger than the backend's output buffer streams through in pieces
            Run many = run(
                    "psql",
                    Map.of(),
                    "-X",
                    "-A",
                    "-t",
                    "-h",
                    sock,
                    "-p",
                    5433,
                    "-U",
                    "postgres",
                    "-c",
                    "SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g");
            assertThat(many.exit()).as(many.err()).isZero();
            List<String> lines = many.out().lines().toList();
            assertThat(lines).hasSize(100_000);
            assertThat(lines.get(99_999)).isEqualTo("100000|" + "x".repeat(100));

            // a JDBC transaction of the application holds the backend: psql waits, and never sees its rows
            try (Connection c = DriverManager.getConnection("jdbc:pgembed:" + dir)) {
                c.setAutoCommit(false);
                try (Statement s = c.createStatement()) {
                    s.executeUpdate("INSERT INTO items VALUES (1000, 'uncommitted', 1, NULL)");
                }
                Path out = tmp.resolve("waiting.out");
                Process waiting = tool(
                                "psql",
                                Map.of(),
                                "-X",
                                "-A",
                                "-t",
                                "-h",
                                sock,
                                "-p",
                                5433,
                                "-U",
                                "postgres",
                                "-c",
                                "SELECT count(*) FROM items WHERE id >= 1000")
                        .redirectOutput(out.toFile())
                        .redirectErrorStream(true)
                        .start();
                assertThat(waiting.waitFor(1, TimeUnit.SECONDS))
                        .as("psql waits for the open transaction")
                        .isFalse();
                c.rollback();
                try (Statement s = c.createStatement()) {
                    s.executeUpdate("INSERT INTO items VALUES (1001, 'committed by JDBC', 2, '{x}')");
                }
                c.commit();
                assertThat(waiting.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(waiting.exitValue()).as(Files.readString(out)).isZero();
                assertThat(Files.readString(out).trim()).isIn("0", "1"); // before or after the commit, never 1000
                assertThat(one(c, "SELECT count(*) FROM items WHERE id = 1000")).isEqualTo("0");
            }

            Run pgDump =
                    run("pg_dump", Map.of(), "-h", sock, "-p", 5433, "-U", "postgres", "-d", "postgres", "-f", dump);
            assertThat(pgDump.exit()).as(pgDump.err()).isZero();
            String sql = Files.readString(dump);
            assertThat(sql)
                    .contains(
                            "CREATE TABLE public.items",
                            "CREATE INDEX items_name ON public.items",
                            "CREATE VIEW public.cheap",
                            "COPY public.items (id, name, price, tags) FROM stdin;",
                            "1001\tcommitted by JDBC\t2.00\t{x}");
            assertThat(sql).doesNotContain("uncommitted");
            String expected = text(db, FINGERPRINT);

            // restore through serve mode into a fresh instance: the way across major versions, too
            try (PgEmbedded fresh = PgEmbedded.open(tmp.resolve("restored"));
                    PgEmbedServer target = PgEmbedServer.unixSocket(fresh, tmp.resolve("sock2"))) {
                Run restore = run(
                        "psql",
                        Map.of(),
                        "-X",
                        "-q",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-h",
                        tmp.resolve("sock2"),
                        "-U",
                        "postgres",
                        "-d",
                        "postgres",
                        "-f",
                        dump);
                assertThat(restore.exit()).as(restore.err()).isZero();
                assertThat(text(fresh, FINGERPRINT)).isEqualTo(expected);
                assertThat(text(fresh, "SELECT count(*) FROM cheap")).isEqualTo(text(db, "SELECT count(*) FROM cheap"));
                assertThat(text(fresh, "SELECT indexdef FROM pg_indexes WHERE indexname = 'items_name'"))
                        .isEqualTo(text(db, "SELECT indexdef FROM pg_indexes WHERE indexname = 'items_name'"));
            }

            // the custom format, restored by pg_restore
            Path custom = tmp.resolve("dump.custom");
            Run pgDumpC =
                    run("pg_dump", Map.of(), "-Fc", "-h", sock, "-p", 5433, "-U", "postgres", "-f", custom, "postgres");
            assertThat(pgDumpC.exit()).as(pgDumpC.err()).isZero();
            try (PgEmbedded fresh = PgEmbedded.inMemory().open();
                    PgEmbedServer target = PgEmbedServer.unixSocket(fresh, tmp.resolve("sock3"))) {
                Run restore = run(
                        "pg_restore",
                        Map.of(),
                        "-h",
                        tmp.resolve("sock3"),
                        "-U",
                        "postgres",
                        "-d",
                        "postgres",
                        "--no-owner",
                        "--exit-on-error",
                        custom);
                assertThat(restore.exit()).as(restore.err()).isZero();
                assertThat(text(fresh, FINGERPRINT)).isEqualTo(expected);
            }
        }
        assertThat(sock).doesNotExist(); // created by the server, removed with it
    }

    @Test
    void aPsqlTransactionIsInvisibleToTheDirectApiWhichWaitsForIt() throws Exception {
        Path sock = tmp.resolve("s");
        try (PgEmbedded db = PgEmbedded.builder(tmp.resolve("db"))
                        .transactionWaitTimeout(Duration.ofMillis(300))
                        .open();
                PgEmbedServer server = PgEmbedServer.unixSocket(db, sock)) {
            db.execute("CREATE TABLE t (id int)");
            Path out = tmp.resolve("psql.out");
            Process psql = tool("psql", Map.of(), "-X", "-h", sock, "-U", "postgres", "-v", "ON_ERROR_STOP=1")
                    .redirectOutput(out.toFile())
                    .redirectErrorStream(true)
                    .start();
            OutputStream in = psql.getOutputStream();
            in.write("BEGIN;\nINSERT INTO t VALUES (1);\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            // once psql's transaction holds the backend, the direct API waits for it and gives up (55P03)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            PgException waited = null;
            while (waited == null && System.nanoTime() < deadline) {
                try {
                    assertThat(text(db, "SELECT count(*) FROM t")).isEqualTo("0");
                    Thread.sleep(20);
                } catch (PgException e) {
                    waited = e;
                }
            }
            assertThat(waited)
                    .as("the direct API waited for psql's transaction")
                    .isNotNull();
            assertThat(waited.sqlState()).isEqualTo("55P03");
            in.write("ROLLBACK;\nINSERT INTO t VALUES (2);\n\\q\n".getBytes(StandardCharsets.UTF_8));
            in.close();
            assertThat(psql.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(psql.exitValue()).as(Files.readString(out)).isZero();
            assertThat(text(db, "SELECT string_agg(id::text, ',') FROM t")).isEqualTo("2");
        }
    }

    @Test
    void concurrentClientsAndTheDirectApiTakeTurnsByTransaction() throws Exception {
        Path sock = tmp.resolve("s");
        int clients = 4;
        int transactions = 25;
        try (PgEmbedded db = PgEmbedded.open(tmp.resolve("db"));
                PgEmbedServer server = PgEmbedServer.unixSocket(db, sock)) {
            db.execute("CREATE TABLE log (id bigserial PRIMARY KEY, client int, step int)");
            List<Process> psqls = new ArrayList<>();
            for (int k = 1; k <= clients; k++) {
                StringBuilder script = new StringBuilder();
                for (int t = 0; t < transactions; t++) {
                    script.append("BEGIN;\nINSERT INTO log (client, step) VALUES (")
                            .append(k)
                            .append(", 1);\n")
                            .append("SELECT pg_sleep(0.001);\n")
                            .append("INSERT INTO log (client, step) VALUES (")
                            .append(k)
                            .append(", 2);\nCOMMIT;\n");
                }
                Path file = tmp.resolve("client" + k + ".sql");
                Files.writeString(file, script);
                psqls.add(tool(
                                "psql",
                                Map.of(),
                                "-X",
                                "-q",
                                "-v",
                                "ON_ERROR_STOP=1",
                                "-h",
                                sock,
                                "-U",
                                "postgres",
                                "-d",
                                "postgres",
                                "-f",
                                file)
                        .redirectOutput(tmp.resolve("client" + k + ".out").toFile())
                        .redirectErrorStream(true)
                        .start());
            }
            for (int t = 0; t < transactions; t++) {
                db.transaction(tx -> {
                    tx.execute("INSERT INTO log (client, step) VALUES (0, 1)");
                    tx.execute("INSERT INTO log (client, step) VALUES (0, 2)");
                });
            }
            for (int k = 1; k <= clients; k++) {
                Process p = psqls.get(k - 1);
                assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue())
                        .as(Files.readString(tmp.resolve("client" + k + ".out")))
                        .isZero();
            }
            assertThat(text(db, "SELECT count(*) FROM log"))
                    .isEqualTo(String.valueOf((clients + 1) * transactions * 2));
            // one transaction's two rows took consecutive ids: nobody else's statement ran in between
            assertThat(text(
                            db,
                            "SELECT count(*) FROM log a LEFT JOIN log b ON b.id = a.id + 1 WHERE a.step = 1"
                                    + " AND (b.id IS NULL OR b.step <> 2 OR b.client <> a.client)"))
                    .isEqualTo("0");
            assertThat(text(db, "SELECT count(DISTINCT client) FROM log")).isEqualTo(String.valueOf(clients + 1));
        }
    }

    @Test
    void closingTheServerRollsBackAClientsTransactionAndKeepsTheDatabase() throws Exception {
        Path sock = tmp.resolve("s");
        Path out = tmp.resolve("psql.out");
        try (PgEmbedded db = PgEmbedded.builder(tmp.resolve("db"))
                .transactionWaitTimeout(Duration.ofMillis(300))
                .open()) {
            db.execute("CREATE TABLE t (id int)");
            Files.createDirectory(
                    sock, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Process psql;
            try (PgEmbedServer server = PgEmbedServer.unixSocket(db, sock)) {
                psql = tool("psql", Map.of(), "-X", "-h", sock, "-U", "postgres")
                        .redirectOutput(out.toFile())
                        .redirectErrorStream(true)
                        .start();
                psql.getOutputStream().write("BEGIN;\nINSERT INTO t VALUES (1);\n".getBytes(StandardCharsets.UTF_8));
                psql.getOutputStream().flush();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                boolean held = false;
                while (!held && System.nanoTime() < deadline) {
                    try {
                        db.execute("SELECT 1");
                        Thread.sleep(20);
                    } catch (PgException e) {
                        held = e.sqlState().equals("55P03");
                    }
                }
                assertThat(held).as("psql's transaction holds the backend").isTrue();
            }
            // the client's transaction rolled back; the database serves the application as before
            assertThat(text(db, "SELECT count(*) FROM t")).isEqualTo("0");
            db.execute("INSERT INTO t VALUES (2)");
            assertThat(sock).isDirectory(); // not created by the server: left in place
            assertThat(sock.resolve(".s.PGSQL.5432")).doesNotExist();
            psql.getOutputStream().write("SELECT 1;\n".getBytes(StandardCharsets.UTF_8));
            psql.getOutputStream().close();
            assertThat(psql.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(Files.readString(out)).contains("the pgembed server is closing");
            assertThat(text(db, "SELECT string_agg(id::text, ',') FROM t")).isEqualTo("2");
        }
    }

    @Test
    void theSocketDirectoryMustBePrivateAndTheSocketFree() throws Exception {
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            Path open = Files.createDirectory(
                    tmp.resolve("open"),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-x---")));
            Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-x---"));
            assertThatThrownBy(() -> PgEmbedServer.unixSocket(db, open))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("not private");
            assertThat(open.resolve(".s.PGSQL.5432")).doesNotExist();

            Path sock = tmp.resolve("s");
            try (PgEmbedServer first = PgEmbedServer.unixSocket(db, sock)) {
                assertThatThrownBy(() -> PgEmbedServer.unixSocket(db, sock))
                        .isInstanceOf(IOException.class)
                        .hasMessageContaining("in use");
                assertThat(first.isOpen()).isTrue();
                // one backend serves one database: another name is refused, as a server would
                Run other =
                        run("psql", Map.of(), "-X", "-h", sock, "-U", "postgres", "-d", "template1", "-c", "SELECT 1");
                assertThat(other.exit()).isNotZero();
                assertThat(other.err()).contains("database \"template1\" does not exist");
                Run served = run(
                        "psql",
                        Map.of(),
                        "-X",
                        "-A",
                        "-t",
                        "-h",
                        sock,
                        "-U",
                        "postgres",
                        "-d",
                        "postgres",
                        "-c",
                        "SELECT current_database()");
                assertThat(served.out().trim()).as(served.err()).isEqualTo("postgres");
            }
            assertThatThrownBy(() -> PgEmbedServer.tcp(db, 0, "")).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> PgEmbedServer.clientTool("initdb")).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void tcpRequiresThePassword() throws Exception {
        try (PgEmbedded db = PgEmbedded.inMemory().open();
                PgEmbedServer server = PgEmbedServer.tcp(db, 0, "s3cret pässword")) {
            db.execute("CREATE TABLE t AS SELECT 42 AS answer");
            InetSocketAddress at = (InetSocketAddress) server.address();
            assertThat(at.getAddress().isLoopbackAddress()).isTrue();
            assertThat(at.getPort()).isEqualTo(server.port()).isPositive();
            String url = "jdbc:postgresql://" + at.getAddress().getHostAddress() + ":" + server.port() + "/postgres";

            assertThatThrownBy(() -> DriverManager.getConnection(url, "postgres", "wrong")
                            .close())
                    .isInstanceOfSatisfying(
                            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("28P01"));
            try (Connection c = DriverManager.getConnection(url, "postgres", "s3cret pässword")) {
                assertThat(one(c, "SELECT answer FROM t")).isEqualTo("42");
                // a CancelRequest on a new connection cancels this connection's statement
                try (Statement s = c.createStatement()) {
                    CompletableFuture<Object> sleep = CompletableFuture.supplyAsync(() -> {
                        try {
                            return s.execute("SELECT pg_sleep(60)");
                        } catch (SQLException e) {
                            return e;
                        }
                    });
                    while (!sleep.isDone()) {
                        s.cancel();
                        Thread.sleep(50);
                    }
                    assertThat(sleep.get())
                            .isInstanceOfSatisfying(
                                    SQLException.class,
                                    e -> assertThat(e.getSQLState()).isEqualTo("57014"));
                }
                assertThat(one(c, "SELECT 1")).isEqualTo("1");
            }

            Run wrong = run(
                    "psql",
                    Map.of("PGPASSWORD", "nope"),
                    "-X",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    server.port(),
                    "-U",
                    "postgres",
                    "-c",
                    "SELECT 1");
            assertThat(wrong.exit()).isNotZero();
            assertThat(wrong.err()).contains("password authentication failed");
            Run right = run(
                    "psql",
                    Map.of("PGPASSWORD", "s3cret pässword"),
                    "-X",
                    "-A",
                    "-t",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    server.port(),
                    "-U",
                    "postgres",
                    "-c",
                    "SELECT answer FROM t");
            assertThat(right.exit()).as(right.err()).isZero();
            assertThat(right.out().trim()).isEqualTo("42");
        }
    }
}
