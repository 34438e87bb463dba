package dev.pgembed.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgembed.micrometer.PgEmbedMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;

/** The starter's meters in a real application context with Spring Boot's own Micrometer set-up. */
class PgEmbedMetricsAutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(
                    PgEmbedAutoConfiguration.class,
                    DataSourceAutoConfiguration.class,
                    JdbcTemplateAutoConfiguration.class,
                    PgEmbedMetricsAutoConfiguration.class));

    @Test
    void withAMeterRegistryTheStatementsAndErrorsOfTheApplicationAreCounted() {
        runner.withConfiguration(AutoConfigurations.of(
                        MetricsAutoConfiguration.class,
                        CompositeMeterRegistryAutoConfiguration.class,
                        SimpleMetricsExportAutoConfiguration.class))
                .run(context -> {
                    assertThat(context).hasNotFailed().hasSingleBean(PgEmbedMetrics.class);
                    MeterRegistry registry = context.getBean(MeterRegistry.class);
                    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                    jdbc.execute("CREATE TABLE t (id int PRIMARY KEY)");
                    assertThat(registry.get(PgEmbedMetrics.ENGINES_OPEN).gauge().value())
                            .isEqualTo(1);
                    double ok = registry.get(PgEmbedMetrics.STATEMENTS)
                            .tag("outcome", "success")
                            .counter()
                            .count();
                    jdbc.update("INSERT INTO t VALUES (1)");
                    jdbc.update("INSERT INTO t VALUES (2)");
                    assertThatThrownBy(() -> jdbc.update("INSERT INTO t VALUES (1)"))
                            .isInstanceOf(DataAccessException.class);
                    assertThat(registry.get(PgEmbedMetrics.STATEMENTS)
                                            .tag("outcome", "success")
                                            .counter()
                                            .count()
                                    - ok)
                            .isEqualTo(2);
                    assertThat(registry.get(PgEmbedMetrics.ERRORS)
                                    .tag("sqlstate", "23505")
                                    .counter()
                                    .count())
                            .isEqualTo(1);
                });
    }

    @Test
    void withoutAMeterRegistryThereAreNoMeters() {
        runner.run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(PgEmbedMetrics.class));
    }
}
