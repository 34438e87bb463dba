package dev.pgembed.postgis;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PostGIS through pgjdbc on {@code jdbc:pgembed:}: GeoJSON out, WKB in as a bytea parameter. */
class PostgisJdbcTest {

    @Test
    void geoJsonAndWkbThroughPgjdbc(@TempDir Path dir) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:pgembed:" + dir.resolve("db"))) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE EXTENSION postgis");
                s.execute("CREATE TABLE poi (name text PRIMARY KEY, geom geometry(Point, 4326))");
            }
            byte[] wkb = ByteBuffer.allocate(21)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .put((byte) 1)
                    .putInt(1)
                    .putDouble(13.4050)
                    .putDouble(52.5200)
                    .array();
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO poi VALUES (?, ST_GeomFromWKB(?, 4326))")) {
                ps.setString(1, "Berlin");
                ps.setBytes(2, wkb);
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT ST_AsGeoJSON(geom), ST_AsBinary(geom, 'NDR'), ST_AsGeoJSON(ST_Buffer(geom, 1, 1), 3)"
                            + " FROM poi WHERE name = ?")) {
                ps.setString(1, "Berlin");
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isEqualTo("{\"type\":\"Point\",\"coordinates\":[13.405,52.52]}");
                    assertThat(rs.getBytes(2)).isEqualTo(wkb);
                    assertThat(rs.getString(3)).startsWith("{\"type\":\"Polygon\",\"coordinates\":[[[14.405,52.52],");
                }
            }
        }
    }
}
