/**
 * Spring Boot auto-configuration for pgembed: with the starter on the class path and
 * {@code spring.datasource.url=jdbc:pgembed:/var/lib/app/db} (or {@code spring.pgembed.*}, see
 * {@link dev.pgembed.spring.PgEmbedProperties}), the application's data source, Flyway or Liquibase, and health
 * indicator use an in-process database.
 *
 * {@snippet lang=properties :
 * spring.datasource.url=jdbc:pgembed:/var/lib/app/db
 * spring.pgembed.durability=RELAXED
 * }
 *
 * <p>Null-marked: parameters and results are never null unless annotated {@code @Nullable}; a property not set
 * reads as null.
 */
@NullMarked
package dev.pgembed.spring;

import org.jspecify.annotations.NullMarked;
