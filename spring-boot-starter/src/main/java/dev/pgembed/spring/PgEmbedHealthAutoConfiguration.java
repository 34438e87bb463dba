package dev.pgembed.spring;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * The {@code pgEmbed} health indicator ({@code /actuator/health/pgEmbed}), when Spring Boot's health support is on
 * the class path; {@code management.health.pgembed.enabled=false} turns it off.
 */
@AutoConfiguration(after = PgEmbedAutoConfiguration.class)
@ConditionalOnClass({HealthIndicator.class, ConditionalOnEnabledHealthIndicator.class})
@ConditionalOnBean(PgEmbedDatabase.class)
@ConditionalOnEnabledHealthIndicator("pgembed")
public final class PgEmbedHealthAutoConfiguration {

    /** Created by Spring. */
    public PgEmbedHealthAutoConfiguration() {}

    /**
     * @param database the starter's database
     * @return its health indicator
     */
    @Bean
    @ConditionalOnMissingBean(name = "pgEmbedHealthIndicator")
    PgEmbedHealthIndicator pgEmbedHealthIndicator(PgEmbedDatabase database) {
        return new PgEmbedHealthIndicator(database);
    }
}
