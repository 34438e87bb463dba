/**
 * A JUnit 5 extension that gives each test a fresh pgembed database: {@link dev.pgembed.junit.PgEmbeddedExtension}
 * with {@link dev.pgembed.junit.FreshDatabase} fields and parameters.
 *
 * {@snippet :
 * @ExtendWith(PgEmbeddedExtension.class)
 * class OrderRepositoryTest {
 *     @FreshDatabase PgEmbedded db;   // a new database for every test method
 *
 *     @Test
 *     void storesOrders() {
 *         db.execute("CREATE TABLE orders(id int PRIMARY KEY)");
 *     }
 * }
 * }
 *
 * <p>Null-marked: parameters and results are never null unless annotated {@code @Nullable}.
 */
@NullMarked
package dev.pgembed.junit;

import org.jspecify.annotations.NullMarked;
