package dev.pgembed.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.PgEmbedded;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * A Spring Boot application on a database with several backends ({@code ?backends=n}): each pooled connection is
 * a PostgreSQL backend of its own, so what needs two transactions at once works as on a server.
 */
class SeveralBackendsTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(
                    PgEmbedAutoConfiguration.class,
                    DataSourceAutoConfiguration.class,
                    JdbcTemplateAutoConfiguration.class,
                    DataSourceTransactionManagerAutoConfiguration.class,
                    TransactionAutoConfiguration.class))
            .withPropertyValues(
                    "spring.datasource.url=jdbc:pgembed:memory:several?backends=6&transactionWaitTimeout=2s");

    @Test
    void requiresNewInsideRequiredCommitsOnItsOwnBackend() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            jdbc.execute("CREATE TABLE orders (id int); CREATE TABLE audit (msg text)");
            // the pool's connections are backends of their own, besides the database's
            assertThat(context.getBean(PgEmbedded.class).backendCount()).isGreaterThan(1);
            PlatformTransactionManager tm = context.getBean(PlatformTransactionManager.class);
            TransactionTemplate required = new TransactionTemplate(tm);
            TransactionTemplate requiresNew = new TransactionTemplate(tm);
            requiresNew.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
            required.executeWithoutResult(outer -> {
                jdbc.update("INSERT INTO orders VALUES (1)");
                // the outer transaction is suspended, its connection keeps it open: the audit row commits on another
                requiresNew.executeWithoutResult(inner -> {
                    jdbc.update("INSERT INTO audit VALUES ('order 1 attempted')");
                    assertThat(jdbc.queryForObject("SELECT count(*) FROM orders", Long.class))
                            .isZero();
                });
                outer.setRollbackOnly();
            });
            assertThat(jdbc.queryForObject("SELECT count(*) FROM audit", Long.class))
                    .isEqualTo(1L);
            assertThat(jdbc.queryForObject("SELECT count(*) FROM orders", Long.class))
                    .isZero();
        });
    }

    @Test
    void flywaysTransactionalLockWorks() {
        runner.withConfiguration(AutoConfigurations.of(FlywayAutoConfiguration.class))
                .withPropertyValues("spring.flyway.postgresql.transactional-lock=true")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(JdbcTemplate.class)
                                    .queryForList("SELECT name FROM city ORDER BY id", String.class))
                            .containsExactly("Lyon", "Porto");
                });
    }
}
