/**
 * pgembed's Java API: a PostgreSQL 18 database inside this JVM, one backend session per open directory, no
 * server process. Start at {@link dev.pgembed.PgEmbedded}.
 *
 * {@snippet :
 * try (PgEmbedded db = PgEmbedded.open(Path.of("data"))) {
 *     db.execute("CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY, name text)");
 *     db.execute("INSERT INTO t VALUES ($1, $2) ON CONFLICT DO NOTHING", 1, "one");
 *     try (Result r = db.query("SELECT name FROM t WHERE id = $1", 1)) {
 *         for (Row row : r) System.out.println(row.getString("name"));
 *     }
 * }
 * }
 *
 * <p>Null-marked: parameters and results are never null unless annotated {@code @Nullable} (SQL NULL values,
 * absent error fields, options not set).
 */
@NullMarked
package dev.pgembed;

import org.jspecify.annotations.NullMarked;
