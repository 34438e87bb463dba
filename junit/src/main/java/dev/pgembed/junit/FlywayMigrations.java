package dev.pgembed.junit;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;

/**
 * Runs the project's Flyway migrations ({@code classpath:db/migration} unless {@link #configure} says otherwise)
 * on the template: {@code @FreshDatabase(initializer = FlywayMigrations.class)}. Needs {@code flyway-core} on the
 * test class path; pgembed's Flyway plugin comes with this module.
 */
public class FlywayMigrations implements DatabaseInitializer {

    /** Created by the extension. */
    public FlywayMigrations() {}

    @Override
    public void initialize(TestDatabase template) {
        FluentConfiguration config = Flyway.configure().dataSource(template.dataSource());
        configure(config);
        config.load().migrate();
    }

    /**
     * Changes Flyway's configuration before it migrates (locations, placeholders, ...); subclasses override it.
     *
     * @param configuration the configuration, with the data source set
     */
    protected void configure(FluentConfiguration configuration) {}
}
