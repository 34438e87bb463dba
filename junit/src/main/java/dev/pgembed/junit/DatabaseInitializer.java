package dev.pgembed.junit;

/**
 * Prepares the template that test databases are cloned from: migrations, reference data. It runs once per JVM
 * for each initializer class and database options; every test then gets a copy of the result, so a fresh
 * migrated database costs a copy, not a migration.
 *
 * <p>Implementations need a public no-argument constructor. {@link FlywayMigrations} runs Flyway.
 */
@FunctionalInterface
public interface DatabaseInitializer {

    /**
     * Builds the template's contents.
     *
     * @param template the template database, open; closed and copied afterwards
     * @throws Exception any failure, reported as the test's
     */
    void initialize(TestDatabase template) throws Exception;

    /** No initialization: a fresh empty database. */
    final class None implements DatabaseInitializer {
        /** Created by the extension. */
        public None() {}

        @Override
        public void initialize(TestDatabase template) {}
    }
}
