package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgembed.PgEmbedded;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sessionRole URL option: connections act as that role, and cannot share a session of another user. */
class SessionRoleJdbcTest {
    @TempDir
    Path dir;

    @Test
    void connectionsActAsTheRole() throws SQLException {
        try (PgEmbedded admin = PgEmbedded.builder(dir).open()) {
            admin.execute("CREATE ROLE app LOGIN; CREATE SCHEMA AUTHORIZATION app");
        }
        String url = "jdbc:pgembed:" + dir + "?sessionRole=app";
        try (Connection c = DriverManager.getConnection(url);
                Statement s = c.createStatement()) {
            assertThat(SharingTest.one(c, "SELECT current_user")).isEqualTo("app");
            assertThat(c.getMetaData().getUserName()).isEqualTo("app");
            s.execute("CREATE TABLE app.t(x int); INSERT INTO app.t VALUES (1)");
            assertThat(SharingTest.one(c, "SELECT count(*) FROM app.t")).isEqualTo("1");
            assertThatThrownBy(() -> s.execute("COPY app.t FROM PROGRAM 'id'"))
                    .isInstanceOfSatisfying(
                            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42501"));
            assertThatThrownBy(() -> s.execute("SET ROLE postgres"))
                    .isInstanceOfSatisfying(
                            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42501"));
        }
        try (PgEmbedded open = PgEmbedded.builder(dir).open()) {
            assertThatThrownBy(() -> DriverManager.getConnection(url).close())
                    .isInstanceOfSatisfying(
                            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("28000"));
            assertThat(open.isOpen()).isTrue();
        }
    }
}
