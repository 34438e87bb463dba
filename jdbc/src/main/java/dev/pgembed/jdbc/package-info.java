/**
 * pgembed's JDBC driver: {@code jdbc:pgembed:} URLs ({@link dev.pgembed.jdbc.PgEmbedDriver}, found by
 * {@link java.sql.DriverManager}), {@link dev.pgembed.jdbc.PgEmbedDataSource}, and serve mode
 * ({@link dev.pgembed.jdbc.PgEmbedServer}) for psql and other clients of the running database.
 *
 * {@snippet :
 * try (Connection c = DriverManager.getConnection("jdbc:pgembed:/var/lib/app/db");
 *      ResultSet rs = c.createStatement().executeQuery("SELECT version()")) {
 *     rs.next();
 *     System.out.println(rs.getString(1));
 * }
 * }
 *
 * <p>Null-marked: parameters and results are never null unless annotated {@code @Nullable}; the JDBC interfaces'
 * own methods keep JDBC's contracts.
 */
@NullMarked
package dev.pgembed.jdbc;

import org.jspecify.annotations.NullMarked;
