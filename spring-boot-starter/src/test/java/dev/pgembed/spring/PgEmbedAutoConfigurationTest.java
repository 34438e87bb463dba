package dev.pgembed.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgembed.PgEmbedded;
import dev.pgembed.jdbc.PgEmbedDriver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.liquibase.autoconfigure.LiquibaseAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;

/** The starter in real application contexts, on real databases. */
class PgEmbedAutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(
                    PgEmbedAutoConfiguration.class,
                    PgEmbedHealthAutoConfiguration.class,
                    DataSourceAutoConfiguration.class,
                    JdbcTemplateAutoConfiguration.class));

    @Test
    void noPropertyAtAllGivesAnInMemoryDatabase() {
        AtomicReference<Path> dir = new AtomicReference<>();
        AtomicReference<PgEmbedded> db = new AtomicReference<>();
        runner.run(context -> {
            assertThat(context)
                    .hasNotFailed()
                    .hasSingleBean(PgEmbedDatabase.class)
                    .hasSingleBean(DataSource.class);
            PgEmbedDatabase database = context.getBean(PgEmbedDatabase.class);
            assertThat(database.isInMemory()).isTrue();
            dir.set(database.database().directory());
            db.set(context.getBean(PgEmbedded.class));
            HikariDataSource ds = context.getBean(HikariDataSource.class);
            assertThat(ds.getDriverClassName()).isEqualTo(PgEmbedDriver.class.getName());
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            jdbc.execute("CREATE TABLE t (x int)");
            jdbc.update("INSERT INTO t VALUES (?)", 42);
            // the pool and the direct API share the one open instance
            try (var r = db.get().query("SELECT x FROM t")) {
                assertThat(r.iterator().next().getInt(0)).isEqualTo(42);
            }
        });
        assertThat(db.get().isOpen()).isFalse();
        assertThat(dir.get()).doesNotExist();
    }

    @Test
    void aDirectoryUrlIsAllItTakes(@TempDir Path tmp) {
        String url = "jdbc:pgembed:" + tmp.resolve("app");
        runner.withPropertyValues("spring.datasource.url=" + url).run(context -> {
            assertThat(context).hasNotFailed();
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            jdbc.execute("CREATE TABLE kept (x text)");
            jdbc.update("INSERT INTO kept VALUES ('still here')");
            assertThat(context.getBean(PgEmbedDatabase.class).isInMemory()).isFalse();
        });
        assertThat(tmp.resolve("app/PG_VERSION")).exists();
        runner.withPropertyValues("spring.datasource.url=" + url)
                .run(context -> assertThat(
                                context.getBean(JdbcTemplate.class).queryForObject("SELECT x FROM kept", String.class))
                        .isEqualTo("still here"));
    }

    @Test
    void urlOptionsAndPropertiesApplyAtOpen(@TempDir Path tmp) {
        runner.withPropertyValues(
                        "spring.datasource.url=jdbc:pgembed:" + tmp.resolve("db")
                                + "?work_mem=12MB&ApplicationName=from-url",
                        "spring.pgembed.settings.maintenance_work_mem=96MB",
                        "spring.pgembed.durability=relaxed")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    assertThat(jdbc.queryForObject("SHOW work_mem", String.class))
                            .isEqualTo("12MB");
                    assertThat(jdbc.queryForObject("SHOW maintenance_work_mem", String.class))
                            .isEqualTo("96MB");
                    assertThat(jdbc.queryForObject("SHOW synchronous_commit", String.class))
                            .isEqualTo("off");
                    // a pgjdbc property of the URL stays with the pool's connections
                    assertThat(jdbc.queryForObject("SHOW application_name", String.class))
                            .isEqualTo("from-url");
                });
    }

    @Test
    void anotherDatabasesUrlTurnsTheStarterOff() {
        runner.withPropertyValues("spring.datasource.url=jdbc:postgresql://localhost:1/none")
                .run(context -> {
                    assertThat(context).doesNotHaveBean(PgEmbedDatabase.class);
                    assertThat(context.getBean(HikariDataSource.class).getJdbcUrl())
                            .isEqualTo("jdbc:postgresql://localhost:1/none");
                });
        // turned off, Boot is back to what it did without the starter
        runner.withPropertyValues("spring.pgembed.enabled=false", "spring.datasource.url=jdbc:pgembed:memory:")
                .run(context -> assertThat(context.getStartupFailure())
                        .rootCause()
                        .hasMessageContaining("Failed to determine a suitable driver class"));
    }

    @Test
    void anInMemoryUrlBesideADirectoryIsAClearError(@TempDir Path tmp) {
        runner.withPropertyValues(
                        "spring.datasource.url=jdbc:pgembed:memory:x", "spring.pgembed.directory=" + tmp.resolve("db"))
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(context.getStartupFailure())
                            .rootCause()
                            .hasMessageContaining("names an in-memory database and spring.pgembed.directory names");
                });
    }

    @Test
    void flywayMigratesWithNoPropertyOfItsOwn() {
        // before pgembed-flyway: 55P03 (Flyway's transactional lock) unless
        // spring.flyway.postgresql.transactional-lock=false
        runner.withConfiguration(AutoConfigurations.of(FlywayAutoConfiguration.class))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(JdbcTemplate.class)
                                    .queryForList("SELECT name FROM city ORDER BY id", String.class))
                            .containsExactly("Lyon", "Porto");
                });
    }

    @Test
    void liquibaseMigratesWithNoPropertyOfItsOwn() {
        runner.withConfiguration(AutoConfigurations.of(LiquibaseAutoConfiguration.class))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(JdbcTemplate.class)
                                    .queryForObject("SELECT name FROM river", String.class))
                            .isEqualTo("Rhone");
                });
    }

    @Test
    void thePoolClosesBeforeTheDatabase() {
        AtomicReference<HikariDataSource> pool = new AtomicReference<>();
        AtomicReference<PgEmbedded> db = new AtomicReference<>();
        runner.run(context -> {
            assertThat(context.getBeanFactory().getBeanDefinition("dataSource").getDependsOn())
                    .contains(PgEmbedAutoConfiguration.DATABASE_BEAN);
            pool.set(context.getBean(HikariDataSource.class));
            db.set(context.getBean(PgEmbedded.class));
            try (Connection c = pool.get().getConnection()) {
                assertThat(c.isValid(1)).isTrue();
            }
        });
        assertThat(pool.get().isClosed()).isTrue();
        assertThat(db.get().isOpen()).isFalse();
    }

    @Test
    void healthIsUpWhileTheEngineRuns() {
        runner.run(context -> {
            Health health = context.getBean(PgEmbedHealthIndicator.class).health();
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("inMemory", true).containsKey("directory");
        });
    }

    @Test
    void serveModeLetsOtherClientsIn() {
        runner.withPropertyValues("spring.pgembed.serve.tcp-port=0", "spring.pgembed.serve.tcp-password=s3cret")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    context.getBean(JdbcTemplate.class)
                            .execute("CREATE TABLE shared (x int); INSERT INTO shared VALUES (7)");
                    List<dev.pgembed.jdbc.PgEmbedServer> servers =
                            context.getBean(PgEmbedDatabase.class).servers();
                    assertThat(servers).hasSize(1);
                    int port = servers.get(0).port();
                    try (Connection c = DriverManager.getConnection(
                                    "jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "s3cret");
                            var st = c.createStatement();
                            var rs = st.executeQuery("SELECT x FROM shared")) {
                        assertThat(rs.next()).isTrue();
                        assertThat(rs.getInt(1)).isEqualTo(7);
                    }
                });
        runner.withPropertyValues("spring.pgembed.serve.tcp-port=0")
                .run(context ->
                        assertThat(context.getStartupFailure()).rootCause().hasMessageContaining("tcp-password"));
    }

    @Test
    void anExistingDirectoryOfAnotherKindIsRefusedClearly(@TempDir Path tmp) throws Exception {
        Path notACluster = Files.createDirectories(tmp.resolve("docs"));
        Files.writeString(notACluster.resolve("readme.txt"), "not a database");
        runner.withPropertyValues("spring.pgembed.directory=" + notACluster)
                .run(context -> assertThat(context.getStartupFailure())
                        .rootCause()
                        .hasMessageContaining(notACluster.toString()));
        assertThat(Files.readString(notACluster.resolve("readme.txt"))).isEqualTo("not a database");
    }
}
