package dev.pgembed.junit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;
import dev.pgembed.jdbc.PgEmbedServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(PgEmbeddedExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TestKitTest {

    /** Counts how often its template is built. */
    public static final class CountingMigrations extends FlywayMigrations {
        static final AtomicInteger RUNS = new AtomicInteger();

        @Override
        public void initialize(TestDatabase template) {
            RUNS.incrementAndGet();
            super.initialize(template);
        }
    }

    @FreshDatabase(initializer = CountingMigrations.class)
    DataSource migrated;

    @FreshDatabase
    Connection connection;

    @FreshDatabase
    String url;

    @Test
    @Order(1)
    void aCopyOfTheMigratedTemplate() throws Exception {
        try (Connection c = migrated.getConnection();
                Statement st = c.createStatement()) {
            st.execute("INSERT INTO ledger (account, amount) VALUES (1, 5)");
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM ledger")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(1);
            }
        }
    }

    @Test
    @Order(2)
    void theNextTestGetsAnotherCopyAndNoSecondMigration() throws Exception {
        try (Connection c = migrated.getConnection();
                Statement st = c.createStatement();
                ResultSet rs =
                        st.executeQuery("SELECT (SELECT count(*) FROM ledger), (SELECT sum(balance) FROM account),"
                                + " (SELECT count(*) FROM flyway_schema_history)")) {
            rs.next();
            assertThat(rs.getLong(1)).isZero();
            assertThat(rs.getBigDecimal(2)).isEqualByComparingTo("350.50");
            assertThat(rs.getLong(3)).isEqualTo(2);
        }
        assertThat(CountingMigrations.RUNS.get()).isEqualTo(1);
    }

    @Test
    @Order(3)
    void connectionAndUrlFieldsAreDatabasesOfTheirOwn() throws Exception {
        try (Statement st = connection.createStatement()) {
            st.execute("CREATE TABLE only_here (x int)");
        }
        assertThat(url).startsWith("jdbc:pgembed:");
        try (Connection c = DriverManager.getConnection(url);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_class WHERE relname = 'only_here'")) {
            rs.next();
            assertThat(rs.getLong(1)).isZero();
        }
    }

    @Test
    @Order(4)
    void oneTestDatabaseHasEveryView(TestDatabase db) throws Exception {
        db.pgEmbedded().execute("CREATE TABLE t (x text); INSERT INTO t VALUES ('direct')");
        try (Connection c = db.connection();
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT x FROM t")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("direct");
        }
        try (Connection c = DriverManager.getConnection(db.jdbcUrl());
                Statement st = c.createStatement()) {
            st.execute("INSERT INTO t VALUES ('by url')");
        }
        try (Result r = db.pgEmbedded().query("SELECT count(*) FROM t")) {
            assertThat(r.row(0).getLong(0)).isEqualTo(2);
        }
    }

    @Test
    @Order(5)
    void servedForToolsAndOtherClients() throws Exception {
        Path dir;
        try (ServedDatabase pg = ServedDatabase.start(CountingMigrations.class)) {
            dir = pg.database().directory();
            try (Connection c = DriverManager.getConnection(pg.getJdbcUrl(), pg.getUsername(), pg.getPassword());
                    Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT owner FROM account WHERE id = 2")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("grace");
            }
            // a non-JVM client: the bundled psql, given only the URI
            Process psql = new ProcessBuilder(
                            PgEmbedServer.clientTool("psql").toString(),
                            pg.getUri(),
                            "-At",
                            "-c",
                            "SELECT count(*) FROM account")
                    .redirectErrorStream(true)
                    .start();
            assertThat(psql.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(new String(psql.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim())
                    .isEqualTo("2");
            assertThat(psql.exitValue()).isZero();
        }
        assertThat(Files.exists(dir)).isFalse();
        assertThat(CountingMigrations.RUNS.get()).isEqualTo(1);
    }

    @Test
    @Order(6)
    void aServedParameter(ServedDatabase pg, PgEmbedded other) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.getJdbcUrl(), pg.getUsername(), pg.getPassword())) {
            assertThat(c.isValid(5)).isTrue();
        }
        assertThat(other.directory()).isNotEqualTo(pg.database().directory());
    }
}
