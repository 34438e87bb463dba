package dev.pgembed.postgis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;
import dev.pgembed.internal.NativeLoader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * PostGIS through the Java API, with pgembed-postgis on the class path: the extension, WKT and WKB both ways
 * for geometry and geography, a GiST index in the planner, PROJ's transformations with the bundled proj.db,
 * topology, and a second engine in the same process.
 */
class PostgisTest {
    static PgEmbedded db;

    @BeforeAll
    static void open() {
        db = PgEmbedded.inMemory().open();
        db.execute("CREATE EXTENSION postgis");
    }

    @AfterAll
    static void close() {
        if (db != null) {
            db.close();
        }
    }

    private static String text(String sql, Object... params) {
        try (Result r = db.query(sql, params)) {
            return r.row(0).getString(0);
        }
    }

    private static List<String> plan(String sql) {
        List<String> lines = new ArrayList<>();
        try (Result r = db.query("EXPLAIN (COSTS OFF) " + sql)) {
            r.forEach(row -> lines.add(row.getString(0).strip()));
        }
        return lines;
    }

    /* a 2D point in OGC WKB, little-endian: byte order 1, type 1, x, y */
    private static byte[] wkbPoint(double x, double y) {
        return ByteBuffer.allocate(21)
                .order(ByteOrder.LITTLE_ENDIAN)
                .put((byte) 1)
                .putInt(1)
                .putDouble(x)
                .putDouble(y)
                .array();
    }

    /* great-circle distance in metres on the sphere of the Earth's mean radius */
    private static double haversine(double lon1, double lat1, double lon2, double lat2) {
        double p1 = Math.toRadians(lat1);
        double p2 = Math.toRadians(lat2);
        double a = Math.pow(Math.sin((p2 - p1) / 2), 2)
                + Math.cos(p1) * Math.cos(p2) * Math.pow(Math.sin(Math.toRadians(lon2 - lon1) / 2), 2);
        return 2 * 6_371_008.8 * Math.asin(Math.sqrt(a));
    }

    @Test
    void theExtensionRunsWithTheBundledLibraries() {
        String version = text("SELECT postgis_full_version()");
        assertThat(version)
                .contains("POSTGIS=\"3.6.4")
                .contains("GEOS=\"3.11.1")
                .contains("PROJ=\"9.1.1")
                .contains("LIBXML=\"2.9.14")
                .contains("LIBJSON=\"0.16")
                .contains("LIBPROTOBUF=\"1.4.1");
        assertThat(text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'"))
                .isEqualTo("3.6.4");
    }

    @Test
    void wktGoesInAndComesOutAsText() {
        String wkt = "POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,2 4,4 4,4 2,2 2))";
        assertThat(text("SELECT ST_AsText(ST_GeomFromText($1, 4326))", wkt)).isEqualTo(wkt);
        try (Result r = db.query(
                "SELECT ST_Area(g), ST_SRID(g), ST_NumInteriorRings(g)"
                        + " FROM (SELECT ST_GeomFromText($1, 4326) AS g) s",
                wkt)) {
            assertThat(r.row(0).getDouble(0)).isEqualTo(96.0);
            assertThat(r.row(0).getInt(1)).isEqualTo(4326);
            assertThat(r.row(0).getInt(2)).isEqualTo(1);
        }
    }

    @Test
    void wkbGoesInAndComesOutAsBytes() {
        byte[] wkb = wkbPoint(13.405, 52.52);
        assertThat(text("SELECT ST_AsText(ST_GeomFromWKB($1, 4326))", wkb)).isEqualTo("POINT(13.405 52.52)");
        try (Result r = db.query("SELECT ST_AsBinary(ST_GeomFromWKB($1, 4326), 'NDR')", wkb)) {
            assertThat(r.row(0).getBytes(0)).isEqualTo(wkb);
        }
        // geography: the same bytes, and a distance on the spheroid (Berlin to Paris), which differs from the
        // great-circle distance on the mean sphere by well under half a percent
        try (Result r = db.query(
                "SELECT ST_AsBinary(ST_GeogFromWKB($1), 'NDR'),"
                        + " ST_Distance(ST_GeogFromWKB($1), ST_GeogFromWKB($2))",
                wkb,
                wkbPoint(2.3522, 48.8566))) {
            assertThat(r.row(0).getBytes(0)).isEqualTo(wkb);
            double sphere = haversine(13.405, 52.52, 2.3522, 48.8566);
            assertThat(r.row(0).getDouble(1)).isCloseTo(sphere, within(sphere * 0.005));
        }
        assertThat(text("SELECT ST_AsText(ST_GeogFromText('SRID=4326;LINESTRING(0 0,1 1)'))"))
                .isEqualTo("LINESTRING(0 0,1 1)");
    }

    @Test
    void aGistIndexAnswersStDWithinAndTheBoxOperator() {
        db.execute("CREATE TABLE pts AS SELECT i AS id,"
                + " ST_SetSRID(ST_MakePoint((i % 100) * 0.01, (i / 100) * 0.01), 4326)::geometry(Point, 4326) AS geom"
                + " FROM generate_series(0, 9999) i");
        db.execute("CREATE INDEX pts_geom ON pts USING gist (geom)");
        db.execute("ANALYZE pts");
        String near =
                "SELECT count(*) FROM pts WHERE ST_DWithin(geom, ST_SetSRID(ST_MakePoint(0.5, 0.5), 4326), 0.015)";
        String box = "SELECT count(*) FROM pts WHERE geom && ST_MakeEnvelope(0.1, 0.1, 0.2, 0.2, 4326)";
        assertThat(String.join("\n", plan(near))).contains("Index").contains("pts_geom");
        assertThat(String.join("\n", plan(box))).contains("Index").contains("pts_geom");
        long indexedNear;
        long indexedBox;
        try (Result r = db.query(near)) {
            indexedNear = r.row(0).getLong(0);
        }
        try (Result r = db.query(box)) {
            indexedBox = r.row(0).getLong(0);
        }
        // the grid's spacing is 0.01: within 0.015 of (0.5, 0.5) lie it and its 8 neighbours (the farthest at
        // 0.01 * sqrt(2)); the closed box spans 11 x 11 grid points
        assertThat(indexedNear).isEqualTo(9);
        assertThat(indexedBox).isEqualTo(121);
        // the same answers without the index
        db.execute("SET enable_indexscan = off");
        db.execute("SET enable_bitmapscan = off");
        try {
            assertThat(String.join("\n", plan(near))).doesNotContain("pts_geom");
            try (Result r = db.query(near)) {
                assertThat(r.row(0).getLong(0)).isEqualTo(indexedNear);
            }
            try (Result r = db.query(box)) {
                assertThat(r.row(0).getLong(0)).isEqualTo(indexedBox);
            }
        } finally {
            db.execute("RESET enable_indexscan");
            db.execute("RESET enable_bitmapscan");
        }
        // k nearest neighbours through the index's distance operator
        assertThat(String.join(
                        "\n",
                        plan("SELECT id FROM pts ORDER BY geom <-> ST_SetSRID(ST_MakePoint(0.5, 0.5), 4326)"
                                + " LIMIT 3")))
                .contains("Index Scan using pts_geom");
        try (Result r =
                db.query("SELECT id FROM pts ORDER BY geom <-> ST_SetSRID(ST_MakePoint(0.501, 0.5), 4326) LIMIT 1")) {
            assertThat(r.row(0).getInt(0)).isEqualTo(5050);
        }
    }

    @Test
    void stTransformFindsTheBundledProjDatabase() {
        // Berlin in UTM zone 33N (EPSG:32633): easting about 391 800 m, northing about 5 820 000 m
        try (Result r = db.query("SELECT ST_X(u), ST_Y(u), ST_X(b), ST_Y(b) FROM (SELECT u, ST_Transform(u, 4326) AS b"
                + " FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(13.405, 52.52), 4326), 32633) AS u) s) t")) {
            assertThat(r.row(0).getDouble(0)).isCloseTo(391_800, within(500.0));
            assertThat(r.row(0).getDouble(1)).isCloseTo(5_820_000, within(1_000.0));
            assertThat(r.row(0).getDouble(2)).isCloseTo(13.405, within(1e-9));
            assertThat(r.row(0).getDouble(3)).isCloseTo(52.52, within(1e-9));
        }
        // authority codes as text are resolved by PROJ itself, from proj.db alone (not spatial_ref_sys)
        try (Result r = db.query("SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(ST_MakePoint(13.405, 52.52),"
                + " 'EPSG:4326', 'EPSG:25833') AS g) s")) {
            assertThat(r.row(0).getDouble(0)).isCloseTo(391_800, within(500.0));
        }
        // and it is our copy PROJ opened, not one the system may have (PROJ finds it from libproj's directory)
        Matcher m = Pattern.compile("DATABASE_PATH=([^\" ]+)").matcher(text("SELECT postgis_full_version()"));
        assertThat(m.find()).as("postgis_full_version() names PROJ's database").isTrue();
        assertThat(Path.of(m.group(1)).normalize())
                .isEqualTo(NativeLoader.load(null).resolve("share/proj/proj.db").normalize());
    }

    @Test
    void topologyBuildsOnPostgis() {
        db.execute("CREATE EXTENSION postgis_topology");
        try (Result r = db.query("SELECT topology.CreateTopology('city', 4326)")) {
            assertThat(r.row(0).getInt(0)).isPositive();
        }
        db.execute("SELECT topology.TopoGeo_AddLineString('city', 'LINESTRING(0 0, 1 0, 1 1)')");
        try (Result r = db.query("SELECT count(*) FROM city.edge")) {
            assertThat(r.row(0).getLong(0)).isEqualTo(1);
        }
    }

    @Test
    void aSecondEngineLoadsItsOwnCopy() {
        try (PgEmbedded other = PgEmbedded.inMemory().open()) {
            other.execute("CREATE EXTENSION postgis");
            try (Result r = other.query("SELECT ST_Area(ST_Buffer(ST_MakePoint(0, 0), 1, 64))")) {
                assertThat(r.row(0).getDouble(0)).isCloseTo(Math.PI, within(1e-3));
            }
        }
        assertThat(text("SELECT ST_AsText(ST_Centroid(ST_GeomFromText('LINESTRING(0 0,2 0)')))"))
                .isEqualTo("POINT(1 0)");
    }
}
