package dev.pgembed.spring.test;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Gives a Spring test class ({@code @SpringBootTest}, {@code @DataJpaTest}, ...) an application context of its
 * own with a fresh in-memory pgembed database, whatever {@code spring.datasource.url} and
 * {@code spring.pgembed.directory} say (a PostgreSQL server's URL included): the migrations (Flyway, Liquibase)
 * run on it when the context starts, and the context and its database are closed after the class, so that they
 * do not hold one of the process's engines while later classes run.
 *
 * <pre>{@code
 * @SpringBootTest
 * @FreshPgEmbedDatabase
 * class OrderServiceTest { ... }
 * }</pre>
 *
 * The {@code spring.pgembed.*} options (durability, settings, ...) still apply.
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface FreshPgEmbedDatabase {}
