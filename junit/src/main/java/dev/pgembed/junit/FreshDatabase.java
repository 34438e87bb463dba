package dev.pgembed.junit;

import dev.pgembed.Durability;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Asks {@link PgEmbeddedExtension} for a fresh database: on a {@code PgEmbedded} field (an instance
 * field gets a new database for every test method, a static field one for the whole class) or on
 * a {@code PgEmbedded} test or lifecycle method parameter.
 *
 * <p>Each database is a new cluster copied from the bundled template, in memory (a temporary
 * directory, under /dev/shm where available), and is closed and deleted after its test.
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
}
