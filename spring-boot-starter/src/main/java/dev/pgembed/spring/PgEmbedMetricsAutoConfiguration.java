package dev.pgembed.spring;

import dev.pgembed.micrometer.PgEmbedMetrics;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * pgembed's Micrometer meters ({@link PgEmbedMetrics}: {@code pgembed.engines.open}, {@code pgembed.sessions.waiting},
 * {@code pgembed.session.wait}, {@code pgembed.statements}, {@code pgembed.errors}) when the application has a
 * {@code MeterRegistry} (Spring Boot's actuator): Spring Boot binds the bean to its registries. They count every
 * pgembed database of the process, the starter's included; closing the context stops them.
 */
@AutoConfiguration(
        afterName = {
            "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
            "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration"
        })
@ConditionalOnClass(name = "io.micrometer.core.instrument.MeterRegistry")
@ConditionalOnBean(type = "io.micrometer.core.instrument.MeterRegistry")
public final class PgEmbedMetricsAutoConfiguration {

    /** Created by Spring. */
    public PgEmbedMetricsAutoConfiguration() {}

    /**
     * The meters; Spring Boot binds them to its registries, and closes them with the context.
     *
     * @return the binder
     */
    @Bean
    @ConditionalOnMissingBean
    PgEmbedMetrics pgEmbedMetrics() {
        return new PgEmbedMetrics();
    }
}
