package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.PGStatement;
import org.postgresql.copy.CopyManager;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

class JdbcFeaturesTest {
    static final String URL = "jdbc:pgembed:memory:features";
    static Connection keeper;

    @BeforeAll
    static void open() throws SQLException {
        keeper = DriverManager.getConnection(URL);
    }

    @AfterAll
    static void close() throws SQLException {
        keeper.close();
    }

    static Connection connect() throws SQLException {
        return DriverManager.getConnection(URL);
    }

    @Test
    void basicStatements() throws Exception {
        try (Connection c = connect();
                Statement s = c.createStatement()) {
            assertThat(c.isWrapperFor(PGConnection.class)).isTrue();
            s.execute("CREATE TABLE basic (id int PRIMARY KEY, name text, at timestamptz)");
            assertThat(s.executeUpdate("INSERT INTO basic VALUES (1, 'one', now()), (2, NULL, NULL)"))
                    .isEqualTo(2);
            assertThat(s.executeUpdate("UPDATE basic SET name = 'uno' WHERE id = 1"))
                    .isEqualTo(1);
            try (ResultSet rs = s.executeQuery("SELECT id, name, at FROM basic ORDER BY id")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(1);
                assertThat(rs.getString("name")).isEqualTo("uno");
                assertThat(rs.getObject(3, OffsetDateTime.class)).isNotNull();
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(2)).isNull();
                assertThat(rs.wasNull()).isTrue();
                assertThat(rs.next()).isFalse();
            }
            assertThatThrownBy(() -> s.execute("SELEC 1"))
                    .isInstanceOfSatisfying(
                            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42601"));
            assertThatThrownBy(() -> s.execute("INSERT INTO basic VALUES (1, 'dup', NULL)"))
                    .isInstanceOfSatisfying(
                            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("23505"));
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM basic")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(2);
            }
            assertThat(c.isValid(1)).isTrue();
            assertThat(c.getMetaData().getDatabaseProductVersion()).startsWith("18.");
        }
    }

    @Test
    void preparedStatementsWithBinaryTransfer() throws Exception {
        Properties p = new Properties();
        p.setProperty("prepareThreshold", "1");
        p.setProperty("binaryTransfer", "true");
        try (Connection c = DriverManager.getConnection(URL, p)) {
            UUID u = UUID.randomUUID();
            OffsetDateTime t = OffsetDateTime.of(2024, 2, 29, 12, 34, 56, 789_000_000, ZoneOffset.UTC);
            try (PreparedStatement ps =
                    c.prepareStatement("SELECT ?::int4, ?::int8, ?::text, ?::float8, ?::timestamptz,"
                            + " ?::bytea, ?::uuid, ?::numeric, ?::int4[], ?::bool")) {
                for (int i = 0; i < 5; i++) {
                    ps.setInt(1, i);
                    ps.setLong(2, 1L << 40);
                    ps.setString(3, "héllo " + i);
                    ps.setDouble(4, 0.1 + i);
                    ps.setObject(5, t);
                    ps.setBytes(6, new byte[] {0, 1, (byte) 255});
                    ps.setObject(7, u);
                    ps.setBigDecimal(8, new BigDecimal("12345678901234567890.125"));
                    ps.setArray(9, c.createArrayOf("int4", new Integer[] {1, 2, 3}));
                    ps.setBoolean(10, true);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertThat(rs.next()).isTrue();
                        assertThat(rs.getInt(1)).isEqualTo(i);
                        assertThat(rs.getLong(2)).isEqualTo(1L << 40);
                        assertThat(rs.getString(3)).isEqualTo("héllo " + i);
                        assertThat(rs.getDouble(4)).isEqualTo(0.1 + i);
                        assertThat(rs.getObject(5, OffsetDateTime.class).toInstant())
                                .isEqualTo(t.toInstant());
                        assertThat(rs.getBytes(6)).containsExactly(0, 1, 255);
                        assertThat(rs.getObject(7)).isEqualTo(u);
                        assertThat(rs.getBigDecimal(8)).isEqualByComparingTo("12345678901234567890.125");
                        assertThat((Integer[]) rs.getArray(9).getArray()).containsExactly(1, 2, 3);
                        assertThat(rs.getBoolean(10)).isTrue();
                    }
                    assertThat(ps.unwrap(PGStatement.class).isUseServerPrepare())
                            .isTrue();
                }
            }
            // the server-side statement carries the connection's prefix
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery(
                            "SELECT name FROM pg_prepared_statements WHERE statement LIKE" + " 'SELECT $1::int4%'")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).matches("pgembed\\d+_S_\\d+");
            }
        }
    }

    @Test
    void batchInsert() throws Exception {
        for (boolean rewrite : new boolean[] {false, true}) {
            Properties p = new Properties();
            p.setProperty("reWriteBatchedInserts", Boolean.toString(rewrite));
            try (Connection c = DriverManager.getConnection(URL, p);
                    Statement s = c.createStatement()) {
                s.execute("CREATE TABLE batch_" + rewrite + " (id int PRIMARY KEY, v text)");
                c.setAutoCommit(false);
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO batch_" + rewrite + " VALUES (?, ?)")) {
                    for (int i = 0; i < 5000; i++) {
                        ps.setInt(1, i);
                        ps.setString(2, "v" + i);
                        ps.addBatch();
                    }
                    int[] counts = ps.executeBatch();
                    assertThat(counts).hasSize(5000);
                }
                c.commit();
                try (ResultSet rs = s.executeQuery("SELECT count(*), sum(id) FROM batch_" + rewrite)) {
                    rs.next();
                    assertThat(rs.getLong(1)).isEqualTo(5000);
                    assertThat(rs.getLong(2)).isEqualTo(4999L * 5000 / 2);
                }
            }
        }
    }

    /*
     * A batch of a plain INSERT runs as one set-oriented insert; its twin, kept row by row by a statement
     * trigger that does nothing, must see the same update counts, error and rows.
     */
    @Test
    void batchFailureAsRowByRow() throws Exception {
        try (Connection c = connect();
                Statement s = c.createStatement()) {
            s.execute(
                    "CREATE TABLE fast_b (id int PRIMARY KEY, v varchar(3)); CREATE TABLE slow_b (LIKE fast_b INCLUDING ALL)");
            s.execute("CREATE FUNCTION nothing_b() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$");
            s.execute("CREATE TRIGGER nothing AFTER INSERT ON slow_b FOR EACH STATEMENT EXECUTE FUNCTION nothing_b()");
            List<String> outcomes = new ArrayList<>();
            for (String table : List.of("fast_b", "slow_b")) {
                for (Object[][] batch : new Object[][][] {
                    {{1, "a"}, {2, "b"}, {3, "c"}}, // fine
                    {{4, "a"}, {5, "b"}, {4, "c"}, {6, "d"}}, // a duplicate key at 2
                    {{7, "a"}, {8, "long"}}
                }) { // too long for varchar(3) at 1
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " VALUES (?, ?)")) {
                        for (Object[] row : batch) {
                            ps.setInt(1, (Integer) row[0]);
                            ps.setString(2, (String) row[1]);
                            ps.addBatch();
                        }
                        try {
                            outcomes.add(table + " " + java.util.Arrays.toString(ps.executeBatch()));
                        } catch (java.sql.BatchUpdateException e) {
                            SQLException next = e.getNextException();
                            outcomes.add(table + " " + java.util.Arrays.toString(e.getUpdateCounts()) + " "
                                    + (next != null
                                            ? next.getSQLState() + " "
                                                    + next.getMessage().replace("slow_b", "fast_b")
                                            : e.getSQLState()));
                        }
                    }
                }
                try (ResultSet rs = s.executeQuery("SELECT string_agg(id || v, ',' ORDER BY id) FROM " + table)) {
                    rs.next();
                    outcomes.add(table + " " + rs.getString(1));
                }
            }
            int half = outcomes.size() / 2;
            for (int i = 0; i < half; i++) {
                assertThat(outcomes.get(i).substring(5))
                        .isEqualTo(outcomes.get(half + i).substring(5));
            }
            assertThat(outcomes.get(0)).isEqualTo("fast_b [1, 1, 1]");
            assertThat(outcomes.get(1)).contains("23505");
            assertThat(outcomes.get(2)).contains("22001");
            assertThat(outcomes.get(3)).isEqualTo("fast_b 1a,2b,3c");
        }
    }

    /*
     * pgjdbc's own batch runs as one insert per chunk it syncs: its first chunk (BEGIN, the Parse, a Describe of
     * the portal in every set) and the later ones (Executes that ask for one row). log_statement logs a set-oriented
     * insert once, as "... parameter sets, inserted as one batch", and each row-by-row Execute on its own.
     */
    @Test
    void pgjdbcBatchRunsAsOneInsertPerChunk() throws Exception {
        java.util.logging.Logger server = java.util.logging.Logger.getLogger("dev.pgembed");
        java.util.logging.Level before = server.getLevel();
        List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                lines.add(r.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        h.setLevel(java.util.logging.Level.ALL);
        server.setLevel(java.util.logging.Level.ALL);
        server.addHandler(h);
        try (Connection c = connect();
                Statement s = c.createStatement()) {
            s.execute("CREATE TABLE chunks (id int PRIMARY KEY, n int, v varchar(20))");
            s.execute("SET log_statement = 'all'");
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO chunks VALUES (?, ?, ?)")) {
                for (int i = 0; i < 600; i++) {
                    ps.setInt(1, i);
                    ps.setObject(2, i * 7);
                    ps.setString(3, "v" + i);
                    ps.addBatch();
                }
                assertThat(ps.executeBatch()).hasSize(600).containsOnly(1);
            }
            c.commit();
            c.setAutoCommit(true);
            s.execute("RESET log_statement");
            try (ResultSet rs = s.executeQuery("SELECT count(*), sum(n), count(DISTINCT v) FROM chunks")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(600);
                assertThat(rs.getLong(2)).isEqualTo(599L * 600 / 2 * 7);
                assertThat(rs.getLong(3)).isEqualTo(600);
            }
        } finally {
            server.removeHandler(h);
            server.setLevel(before);
        }
        List<String> inserts;
        synchronized (lines) {
            inserts =
                    lines.stream().filter(l -> l.contains("INSERT INTO chunks")).toList();
        }
        assertThat(inserts).isNotEmpty().allMatch(l -> l.contains("inserted as one batch"));
        assertThat(inserts.size()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void copyInAndOut() throws Exception {
        try (Connection c = connect();
                Statement s = c.createStatement()) {
            s.execute("CREATE TABLE copied (id int, name text)");
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            StringBuilder data = new StringBuilder();
            int rows = 150_000; // several MB: sent in pieces, received in several chunks
            for (int i = 0; i < rows; i++) {
                data.append(i).append(",name number ").append(i).append(" with some padding\n");
            }
            assertThat(copy.copyIn("COPY copied FROM STDIN (FORMAT csv)", new StringReader(data.toString())))
                    .isEqualTo(rows);
            StringWriter out = new StringWriter();
            assertThat(copy.copyOut("COPY (SELECT * FROM copied ORDER BY id) TO STDOUT (FORMAT csv)", out))
                    .isEqualTo(rows);
            assertThat(out.toString()).isEqualTo(data.toString());
            // a failing COPY leaves the connection usable
            assertThatThrownBy(() -> copy.copyIn("COPY copied FROM STDIN (FORMAT csv)", new StringReader("x,y\n")))
                    .isInstanceOf(SQLException.class);
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM copied")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(rows);
            }
        }
    }

    @Test
    void cancelFromAnotherThread() throws Exception {
        try (Connection c = connect();
                Statement s = c.createStatement()) {
            CompletableFuture<Void> canceller = CompletableFuture.runAsync(() -> {
                try {
                    Thread.sleep(500);
                    s.cancel();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> s.execute("SELECT pg_sleep(60)"))
                    .isInstanceOfSatisfying(
                            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("57014"));
            assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(10));
            canceller.get(10, TimeUnit.SECONDS);
            try (ResultSet rs = s.executeQuery("SELECT 42")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(42);
            }
        }
    }

    @Test
    void queryTimeout() throws Exception {
        try (Connection c = connect();
                Statement s = c.createStatement()) {
            s.setQueryTimeout(1);
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> s.execute("SELECT pg_sleep(30)"))
                    .isInstanceOfSatisfying(
                            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("57014"));
            assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(10));
            s.setQueryTimeout(0);
            assertThat(s.execute("SELECT 1")).isTrue();
        }
    }

    @Test
    void isolationLevelAndSavepoints() throws Exception {
        try (Connection c = connect();
                Statement s = c.createStatement()) {
            s.execute("CREATE TABLE sp (id int)");
            c.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
            assertThat(c.getTransactionIsolation()).isEqualTo(Connection.TRANSACTION_SERIALIZABLE);
            c.setAutoCommit(false);
            try (ResultSet rs = s.executeQuery("SHOW transaction_isolation")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("serializable");
            }
            s.execute("INSERT INTO sp VALUES (1)");
            Savepoint one = c.setSavepoint("one");
            s.execute("INSERT INTO sp VALUES (2)");
            c.rollback(one);
            Savepoint two = c.setSavepoint();
            s.execute("INSERT INTO sp VALUES (3)");
            c.releaseSavepoint(two);
            // an error inside a savepoint does not doom the transaction
            Savepoint three = c.setSavepoint();
            assertThatThrownBy(() -> s.execute("SELECT 1/0")).isInstanceOf(SQLException.class);
            c.rollback(three);
            c.commit();
            try (ResultSet rs = s.executeQuery("SELECT string_agg(id::text, ',' ORDER BY id) FROM sp")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("1,3");
            }
            c.rollback();
            c.setAutoCommit(true);
            c.setReadOnly(true);
            c.setAutoCommit(false);
            assertThatThrownBy(() -> s.execute("INSERT INTO sp VALUES (4)"))
                    .isInstanceOfSatisfying(
                            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("25006"));
            c.rollback();
        }
    }

    @Test
    void listenNotify() throws Exception {
        try (Connection c = connect();
                Statement s = c.createStatement()) {
            PGConnection pg = c.unwrap(PGConnection.class);
            s.execute("LISTEN events");
            s.execute("NOTIFY events, 'hello'");
            s.execute("SELECT pg_notify('events', 'world')");
            PGNotification[] got = pg.getNotifications(1000);
            assertThat(got).extracting(PGNotification::getName).containsOnly("events");
            List<String> payloads = new ArrayList<>();
            for (PGNotification n : got) {
                payloads.add(n.getParameter());
            }
            if (payloads.size() < 2) {
                for (PGNotification n : pg.getNotifications(1000)) {
                    payloads.add(n.getParameter());
                }
            }
            assertThat(payloads).containsExactly("hello", "world");
            // a notification sent in a transaction arrives at commit
            c.setAutoCommit(false);
            s.execute("NOTIFY events, 'later'");
            assertThat(pg.getNotifications(10)).isEmpty();
            c.commit();
            assertThat(pg.getNotifications(1000))
                    .extracting(PGNotification::getParameter)
                    .containsExactly("later");
            c.setAutoCommit(true);
            s.execute("UNLISTEN *");
        }
    }

    @Test
    void largeObjects() throws Exception {
        try (Connection c = connect()) {
            c.setAutoCommit(false);
            LargeObjectManager lom = c.unwrap(PGConnection.class).getLargeObjectAPI();
            byte[] data = new byte[3 * 1024 * 1024 + 17];
            new Random(7).nextBytes(data);
            long oid = lom.createLO(LargeObjectManager.READWRITE);
            try (LargeObject lo = lom.open(oid, LargeObjectManager.WRITE)) {
                lo.write(data);
            }
            c.commit();
            try (LargeObject lo = lom.open(oid, LargeObjectManager.READ)) {
                assertThat(lo.size64()).isEqualTo(data.length);
                assertThat(lo.read(data.length)).isEqualTo(data);
                lo.seek(1000);
                byte[] part = lo.read(10);
                assertThat(part).containsExactly(java.util.Arrays.copyOfRange(data, 1000, 1010));
            }
            lom.delete(oid);
            c.commit();
        }
    }

    @Test
    void metadataTour() throws Exception {
        try (Connection c = connect();
                Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA meta");
            s.execute("CREATE TABLE meta.person (id bigint PRIMARY KEY, name varchar(40) NOT NULL, born date)");
            s.execute("CREATE TABLE meta.pet (person_id bigint REFERENCES meta.person, pet text,"
                    + " PRIMARY KEY (person_id, pet))");
            DatabaseMetaData md = c.getMetaData();
            assertThat(md.getDatabaseProductName()).isEqualTo("PostgreSQL");
            assertThat(md.getDriverName()).isEqualTo("PostgreSQL JDBC Driver");
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = md.getTables(null, "meta", "%", new String[] {"TABLE"})) {
                while (rs.next()) {
                    tables.add(rs.getString("TABLE_NAME"));
                }
            }
            assertThat(tables).containsExactly("person", "pet");
            List<String> columns = new ArrayList<>();
            try (ResultSet rs = md.getColumns(null, "meta", "person", "%")) {
                while (rs.next()) {
                    columns.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME") + ":"
                            + rs.getInt("NULLABLE"));
                }
            }
            assertThat(columns).containsExactly("id:int8:0", "name:varchar:0", "born:date:1");
            List<String> pk = new ArrayList<>();
            try (ResultSet rs = md.getPrimaryKeys(null, "meta", "pet")) {
                while (rs.next()) {
                    pk.add(rs.getShort("KEY_SEQ") + ":" + rs.getString("COLUMN_NAME"));
                }
            }
            assertThat(pk).containsExactly("1:person_id", "2:pet");
            try (ResultSet rs = md.getImportedKeys(null, "meta", "pet")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString("PKTABLE_NAME")).isEqualTo("person");
            }
            try (ResultSet rs = md.getSchemas()) {
                List<String> schemas = new ArrayList<>();
                while (rs.next()) {
                    schemas.add(rs.getString(1));
                }
                assertThat(schemas).contains("meta", "public");
            }
        }
    }
}
