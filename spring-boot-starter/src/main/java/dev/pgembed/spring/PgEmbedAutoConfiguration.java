package dev.pgembed.spring;

import dev.pgembed.PgEmbedded;
import javax.sql.DataSource;
import org.springframework.boot.autoconfigure.AbstractDependsOnBeanFactoryPostProcessor;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.core.env.Environment;

/**
 * Auto-configuration for pgembed: with {@code spring.datasource.url=jdbc:pgembed:...}, or with no data source URL
 * at all, the application context opens the database itself and gives Spring Boot's connection pool the
 * connection details of the open instance, driver class included (Boot's {@code DatabaseDriver} does not know
 * {@code jdbc:pgembed:}, which ended in "Failed to determine a suitable driver class").
 *
 * <p>Beans: {@link PgEmbedDatabase} (closes after the beans that use it), the {@link PgEmbedded} itself for the
 * direct API, a {@link JdbcConnectionDetails}. Flyway needs nothing here: {@code pgembed-flyway}, which comes with
 * the starter, recognises pgembed's sessions and takes the lock they can hold. Liquibase takes its lock in a
 * table and works as it is.
 */
@AutoConfiguration(before = DataSourceAutoConfiguration.class)
@ConditionalOnClass({DataSource.class, JdbcConnectionDetails.class})
@Conditional(OnPgEmbedDatabaseCondition.class)
@ConditionalOnMissingBean({DataSource.class, JdbcConnectionDetails.class})
@EnableConfigurationProperties(PgEmbedProperties.class)
public final class PgEmbedAutoConfiguration {

    /** The name of the {@link PgEmbedDatabase} bean, which every data source depends on. */
    public static final String DATABASE_BEAN = "pgEmbedDatabase";

    /** Created by Spring. */
    public PgEmbedAutoConfiguration() {}

    /**
     * Opens the database.
     *
     * @param environment for {@code spring.datasource.url}
     * @param properties  {@code spring.pgembed.*}
     * @return the open database
     */
    @Bean(DATABASE_BEAN)
    PgEmbedDatabase pgEmbedDatabase(Environment environment, PgEmbedProperties properties) {
        String url = environment.getProperty(OnPgEmbedDatabaseCondition.URL_PROPERTY);
        return PgEmbedDatabase.open(
                url == null || url.isBlank() ? null : url.trim(),
                properties,
                environment.getProperty(PgEmbedDatabase.FRESH_FOR_TEST_PROPERTY));
    }

    /**
     * The open database, for the application's own use of the direct API; {@link PgEmbedDatabase} closes it.
     *
     * @param database the starter's database
     * @return its {@link PgEmbedded}
     */
    @Bean(destroyMethod = "")
    @ConditionalOnMissingBean
    PgEmbedded pgEmbedded(PgEmbedDatabase database) {
        return database.database();
    }

    /**
     * What the connection pool connects with.
     *
     * @param database the starter's database
     * @return the connection details
     */
    @Bean
    PgEmbedConnectionDetails pgEmbedConnectionDetails(PgEmbedDatabase database) {
        return new PgEmbedConnectionDetails(database.jdbcUrl());
    }

    /**
     * Makes every data source depend on the database, so that the context closes the pool before it.
     *
     * @return the post-processor
     */
    @Bean
    static DataSourcesDependOnDatabase pgEmbedDataSourcesDependOnDatabase() {
        return new DataSourcesDependOnDatabase();
    }

    /** Adds {@value #DATABASE_BEAN} to the {@code dependsOn} of every {@link DataSource} bean. */
    static final class DataSourcesDependOnDatabase extends AbstractDependsOnBeanFactoryPostProcessor {
        DataSourcesDependOnDatabase() {
            super(DataSource.class, DATABASE_BEAN);
        }
    }
}
