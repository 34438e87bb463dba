package com.example.notes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.PgEmbedded;
import dev.pgembed.spring.PgEmbedDatabase;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Properties;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Boots the application as it is (its application.properties, its dependencies) and uses it over HTTP: web,
 * Spring Data JPA, Flyway and the actuator on pgembed.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class NotesApplicationTest {
    private final HttpClient http = HttpClient.newHttpClient();

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    PgEmbedDatabase database;

    @Autowired
    MeterRegistry meters;

    @Test
    void oneDependencyAndOneProperty() throws Exception {
        Properties app = new Properties();
        try (InputStream in = getClass().getResourceAsStream("/application.properties")) {
            app.load(in);
        }
        // nothing but the URL: no driver class, no Flyway lock setting, no dialect
        assertThat(app.stringPropertyNames()).containsExactly("spring.datasource.url");
        assertThat(app.getProperty("spring.datasource.url")).startsWith("jdbc:pgembed:");
        assertThat(database.database().directory()).endsWith(java.nio.file.Path.of("target", "notes-db"));
    }

    @Test
    void flywayMigratedTheSchema() {
        assertThat(jdbc.queryForObject("SELECT max(version) FROM flyway_schema_history WHERE success", String.class))
                .isEqualTo("1");
        assertThat(jdbc.queryForObject("SELECT count(*) FROM pg_indexes WHERE indexname = 'note_title'", Long.class))
                .isEqualTo(1L);
    }

    @Test
    void notesGoInAndComeOutOverHttp() throws Exception {
        String word = "w" + UUID.randomUUID().toString().replace("-", "");
        HttpResponse<String> created = http.send(
                HttpRequest.newBuilder(uri("/notes"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"title\":\"About " + word + "\",\"body\":\"élan\"}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(created.statusCode()).isEqualTo(201);
        assertThat(created.body()).contains("\"id\":");

        HttpResponse<String> found = http.send(
                HttpRequest.newBuilder(uri("/notes?q=" + word.toUpperCase())).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(found.statusCode()).isEqualTo(200);
        assertThat(found.body()).contains("About " + word).contains("élan").contains("\"created\":\"");
        // the same row through the direct API on the same open database
        PgEmbedded db = database.database();
        try (var r = db.query("SELECT body FROM note WHERE title = $1", "About " + word)) {
            assertThat(r.iterator().next().getString(0)).isEqualTo("élan");
        }
    }

    @Test
    void metricsCountTheApplicationsStatements() throws Exception {
        double before = meters.get("pgembed.statements")
                .tag("outcome", "success")
                .counter()
                .count();
        HttpResponse<String> found = http.send(
                HttpRequest.newBuilder(uri("/notes?q=nothing")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(found.statusCode()).isEqualTo(200);
        assertThat(meters.get("pgembed.statements")
                        .tag("outcome", "success")
                        .counter()
                        .count())
                .isGreaterThan(before);
        assertThat(meters.get("pgembed.engines.open").gauge().value()).isEqualTo(1);
    }

    @Test
    void healthReportsTheDatabase() throws Exception {
        HttpResponse<String> health = http.send(
                HttpRequest.newBuilder(uri("/actuator/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("\"status\":\"UP\"");
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }
}
