/**
 * Spring test support: {@link dev.pgembed.spring.test.FreshPgEmbedDatabase} gives a test class an application
 * context of its own with a fresh in-memory database.
 *
 * {@snippet :
 * @SpringBootTest
 * @FreshPgEmbedDatabase
 * class OrderServiceTest { }
 * }
 *
 * <p>Null-marked: parameters and results are never null unless annotated {@code @Nullable}.
 */
@NullMarked
package dev.pgembed.spring.test;

import org.jspecify.annotations.NullMarked;
