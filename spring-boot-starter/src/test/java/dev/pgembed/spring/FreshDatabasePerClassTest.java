package dev.pgembed.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.spring.test.FreshPgEmbedDatabase;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * {@code @FreshPgEmbedDatabase} on {@code @SpringBootTest} classes: each class gets its own context and database
 * (migrated by Flyway at start-up), even though the configuration names a PostgreSQL server, and
 * the database is gone after its class.
 */
class FreshDatabasePerClassTest {
    static final List<Path> DIRECTORIES = new CopyOnWriteArrayList<>();

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {}

    abstract static class Base {
        @Autowired
        JdbcTemplate jdbc;

        @Autowired
        PgEmbedDatabase database;

        @Test
        void startsFromTheMigrationsAlone() {
            assertThat(database.isInMemory()).isTrue();
            DIRECTORIES.add(database.database().directory());
            assertThat(jdbc.queryForList("SELECT name FROM city ORDER BY id", String.class))
                    .containsExactly("Lyon", "Porto");
            // what this class writes, the other class must not see
            jdbc.update("INSERT INTO city VALUES (3, ?)", getClass().getSimpleName());
        }
    }

    @Nested
    @SpringBootTest(
            classes = App.class,
            properties = {"spring.datasource.url=jdbc:postgresql://192.0.2.1:1/none", "spring.liquibase.enabled=false"
            }) // this test's class path has both; Flyway's migrations here
    @FreshPgEmbedDatabase
    class First extends Base {}

    @Nested
    @SpringBootTest(
            classes = App.class,
            properties = {"spring.datasource.url=jdbc:postgresql://192.0.2.1:1/none", "spring.liquibase.enabled=false"
            }) // this test's class path has both; Flyway's migrations here
    @FreshPgEmbedDatabase
    class Second extends Base {}

    @AfterAll
    static void eachClassHadItsOwnDatabaseAndItIsGone() {
        assertThat(DIRECTORIES).hasSize(2).doesNotHaveDuplicates();
        assertThat(DIRECTORIES).allSatisfy(d -> assertThat(d).doesNotExist());
    }
}
