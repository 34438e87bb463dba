/**
 * Flyway's database type for pgembed ({@link dev.pgembed.flyway.PgEmbedDatabaseType}), found by Flyway's
 * plugin loader: having {@code pgembed-flyway} on the class path is all it takes.
 *
 * {@snippet :
 * Flyway.configure().dataSource("jdbc:pgembed:/var/lib/app/db", null, null).load().migrate();
 * }
 *
 * <p>Null-marked: parameters and results are never null unless annotated {@code @Nullable}; Flyway's overridden
 * methods keep Flyway's contracts.
 */
@NullMarked
package dev.pgembed.flyway;

import org.jspecify.annotations.NullMarked;
