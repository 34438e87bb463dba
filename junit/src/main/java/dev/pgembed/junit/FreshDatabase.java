package dev.pgembed.junit;

import dev.pgembed.Durability;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Asks {@link PgEmbeddedExtension} for a fresh database: on a field (an instance field gets a new database for
 * every test method, a static field one for the whole class) or on a test or lifecycle method parameter, of type
 * {@code PgEmbedded}, {@link TestDatabase}, {@link ServedDatabase}, {@code javax.sql.DataSource},
 * {@code java.sql.Connection} or {@code String} (its {@code jdbc:pgembed:} URL). Each annotated element gets a
 * database of its own; inject a {@link TestDatabase} for several views of one database.
 *
 * <p>Each database is a new cluster, in memory (a temporary directory, under /dev/shm where available), closed
 * and deleted after its test: a copy of the bundled template, or, with an {@link #initializer()}, a copy of the
 * template that initializer prepared once in this JVM (migrations run once, not per test).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.FIELD, ElementType.PARAMETER})
public @interface FreshDatabase {

    /**
     * Durability of the database; tests rarely need more than {@link Durability#NONE}, which skips
     * every fsync.
     *
     * @return the durability
     */
    Durability durability() default Durability.NONE;

    /**
     * Settings applied at open, each {@code name=value}, for example {@code "work_mem=16MB"}.
     *
     * @return the settings
     */
    String[] settings() default {};

    /**
     * What the database's template holds: run once per JVM for this initializer and these options, then copied
     * for each test ({@link FlywayMigrations} runs Flyway's migrations).
     *
     * @return the initializer, {@link DatabaseInitializer.None} for an empty database
     */
    Class<? extends DatabaseInitializer> initializer() default DatabaseInitializer.None.class;
}
