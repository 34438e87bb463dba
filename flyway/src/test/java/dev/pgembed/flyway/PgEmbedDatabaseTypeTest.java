package dev.pgembed.flyway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.jdbc.PgEmbedDataSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.flywaydb.core.internal.database.DatabaseTypeRegister;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Flyway on pgembed with no configuration beyond the URL or the data source. */
class PgEmbedDatabaseTypeTest {

    @Test
    void migratesWhenConfiguredByUrlOnly(@TempDir Path dir) throws Exception {
        String url = "jdbc:pgembed:" + dir.resolve("db");
        // before the plugin: "No Flyway database plugin found to handle jdbc:pgembed:..."
        Flyway flyway = Flyway.configure().dataSource(url, null, null).load();
        MigrateResult result = flyway.migrate();
        assertThat(result.migrationsExecuted).isEqualTo(3);
        assertThat(result.targetSchemaVersion).isEqualTo("3");
        assertThat(flyway.migrate().migrationsExecuted).isZero();
        assertThat(flyway.info().applied()).hasSize(3);
        try (Connection c = new PgEmbedDataSource(url).getConnection();
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT notes_tagged('a'), notes_tagged('b')")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getLong(1)).isEqualTo(2);
            assertThat(rs.getLong(2)).isEqualTo(1);
        }
    }

    @Test
    void migratesThroughADataSourceWithTheDefaultLockSetting(@TempDir Path dir) {
        // Flyway's default PostgreSQL lock is transactional; on pgembed that was 55P03 until the lock was set by hand
        var config = Flyway.configure().dataSource(new PgEmbedDataSource("jdbc:pgembed:" + dir.resolve("db")));
        assertThat(config.getPluginRegister()
                        .getExact(PostgreSQLConfigurationExtension.class)
                        .getTransactional())
                .isNull();
        Flyway flyway = config.load();
        assertThat(flyway.migrate().migrationsExecuted).isEqualTo(3);
        assertThat(flyway.validateWithResult().validationSuccessful).isTrue();
    }

    @Test
    void aConfiguredTransactionalLockIsReplacedByOneThatWorks(@TempDir Path dir) {
        var config = Flyway.configure().dataSource("jdbc:pgembed:" + dir.resolve("db"), null, null);
        config.getPluginRegister()
                .getExact(PostgreSQLConfigurationExtension.class)
                .setTransactionalLock(true);
        assertThat(config.load().migrate().migrationsExecuted).isEqualTo(3);
    }

    @Test
    void withSeveralBackendsFlywaysTransactionalLockIsKept(@TempDir Path dir) throws Exception {
        String url = "jdbc:pgembed:" + dir.resolve("db") + "?backends=4";
        var config = Flyway.configure().dataSource(url, null, null);
        var postgres = config.getPluginRegister().getExact(PostgreSQLConfigurationExtension.class);
        postgres.setTransactionalLock(true);
        Flyway flyway = config.load();
        // each connection has a backend of its own: the lock's transaction and the migration run side by side
        assertThat(flyway.migrate().migrationsExecuted).isEqualTo(3);
        assertThat(flyway.getConfiguration()
                        .getPluginRegister()
                        .getExact(PostgreSQLConfigurationExtension.class)
                        .isTransactionalLock())
                .isTrue();
        try (Connection c = new PgEmbedDataSource(url).getConnection()) {
            var meta = c.getMetaData();
            assertThat(new PgEmbedDatabaseType()
                            .handlesDatabaseProductNameAndVersion(
                                    meta.getDatabaseProductName(), meta.getDatabaseProductVersion(), c))
                    .isTrue();
        }
    }

    @Test
    void cleanAndRepairWork(@TempDir Path dir) {
        Flyway flyway = Flyway.configure()
                .dataSource("jdbc:pgembed:" + dir.resolve("db"), null, null)
                .cleanDisabled(false)
                .load();
        flyway.migrate();
        assertThat(flyway.clean().schemasCleaned).contains("public");
        assertThat(flyway.info().applied()).isEmpty();
        assertThat(flyway.migrate().migrationsExecuted).isEqualTo(3);
        assertThat(flyway.repair().repairActions).isEmpty();
    }

    @Test
    void theUrlNamesTheDriver() {
        var types = DatabaseTypeRegister.getDatabaseTypesForUrl("jdbc:pgembed:memory:x", null);
        assertThat(types).hasSize(1).first().isInstanceOf(PgEmbedDatabaseType.class);
        assertThat(((PgEmbedDatabaseType) types.get(0)).getDriverClass("jdbc:pgembed:memory:x", null))
                .isEqualTo("dev.pgembed.jdbc.PgEmbedDriver");
        assertThat(DatabaseTypeRegister.getDatabaseTypesForUrl("jdbc:postgresql://localhost/x", null))
                .noneMatch(PgEmbedDatabaseType.class::isInstance);
    }

    @Test
    void claimsConnectionsWhoseBackendRunsInThisProcess(@TempDir Path dir) throws Exception {
        PgEmbedDatabaseType type = new PgEmbedDatabaseType();
        try (Connection c = new PgEmbedDataSource("jdbc:pgembed:" + dir.resolve("db")).getConnection()) {
            var meta = c.getMetaData();
            // the metadata says plain PostgreSQL and pgjdbc's URL: the backend's pid is what tells
            assertThat(meta.getURL()).startsWith("jdbc:postgresql:");
            assertThat(type.handlesDatabaseProductNameAndVersion(
                            meta.getDatabaseProductName(), meta.getDatabaseProductVersion(), c))
                    .isTrue();
            assertThat(type.handlesDatabaseProductNameAndVersion("MySQL", "8.0", c))
                    .isFalse();
            assertThat(DatabaseTypeRegister.getDatabaseTypeForConnection(c, null))
                    .isInstanceOf(PgEmbedDatabaseType.class);
        }
    }
}
