package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The URL property memoryDir chooses where a memory: database's temporary directory is made. */
class MemoryDirUrlTest {

    @Test
    void memoryDirPlacesTheDatabase(@TempDir Path parent) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:pgembed:memory:?memoryDir=" + parent);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT current_setting('data_directory')")) {
            assertThat(rs.next()).isTrue();
            assertThat(Path.of(rs.getString(1)).getParent()).isEqualTo(parent);
        }
    }
}
