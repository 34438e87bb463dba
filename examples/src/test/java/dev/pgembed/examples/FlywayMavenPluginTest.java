package dev.pgembed.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Flyway's own Maven plugin migrates a {@code jdbc:pgembed:} database configured by URL alone (issue: "No Flyway
 * database plugin found to handle jdbc:pgembed:"): runs {@code examples/flyway-maven-project} in a Maven of its own,
 * on this test's JDK, against the pgembed artifacts this build installed, then reads the migrated database.
 *
 * <p>It needs the artifacts of this build in the local repository, as {@code mvn install} (the README's test
 * command and CI) puts them there before this module's tests.
 */
class FlywayMavenPluginTest {

    @Test
    void migratesByUrl(@TempDir Path dir) throws Exception {
        Path project = dir.resolve("project");
        copyTree(Path.of("flyway-maven-project"), project);
        Path database = dir.resolve("app-db");

        String log = maven(project, database, "flyway:migrate", "flyway:validate", "flyway:info");
        assertThat(log)
                .contains("Successfully applied 2 migrations to schema \"public\"")
                .contains("Successfully validated 2 migrations")
                .contains("BUILD SUCCESS");

        try (PgEmbedded db = PgEmbedded.open(database);
                Result notes = db.query("SELECT title FROM note ORDER BY id");
                Result history = db.query("SELECT version, success FROM flyway_schema_history"
                        + " WHERE version IS NOT NULL ORDER BY installed_rank")) {
            assertThat(notes)
                    .extracting(row -> row.getString("title"))
                    .containsExactly("migrated by the Flyway Maven plugin", "on jdbc:pgembed:");
            assertThat(history)
                    .extracting(row -> row.getString("version") + "/" + row.getBoolean("success"))
                    .containsExactly("1/true", "2/true");
        }

        // a second run finds nothing to do: the schema history written through pgembed reads back
        assertThat(maven(project, database, "flyway:migrate"))
                .contains("Schema \"public\" is up to date. No migration necessary.");
    }

    /** Runs the Maven that runs this build, on this JVM's JDK, in {@code project}; returns its output. */
    private static String maven(Path project, Path database, String... goals) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("pgembed.it.maven.home"), "bin", "mvn")
                .toString());
        command.add("-B");
        command.add("-Dmaven.repo.local=" + System.getProperty("pgembed.it.repository"));
        command.add("-Dpgembed.version=" + System.getProperty("pgembed.it.version"));
        command.add("-Ddatabase.dir=" + database);
        command.addAll(List.of(goals));
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(project.toFile())
                .redirectErrorStream(true)
                .redirectOutput(project.resolve("maven.log").toFile());
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process maven = builder.start();
        boolean done = maven.waitFor(5, TimeUnit.MINUTES);
        if (!done) {
            maven.destroyForcibly();
        }
        String log = Files.readString(project.resolve("maven.log"), StandardCharsets.UTF_8);
        assertThat(done)
                .as("Maven finished within 5 minutes; its output:%n%s", log)
                .isTrue();
        assertThat(maven.exitValue())
                .as("Maven's exit status; its output:%n%s", log)
                .isZero();
        return log;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            paths.filter(path -> !path.startsWith(from.resolve("target"))).forEach(path -> {
                try {
                    Files.copy(path, to.resolve(from.relativize(path).toString()));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
