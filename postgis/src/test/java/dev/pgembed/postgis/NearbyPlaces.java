package dev.pgembed.postgis;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PreparedStatement;
import dev.pgembed.Result;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Places near you with PostGIS: a table of points of interest in Berlin with a GiST index, the nearest ones to
 * a location through the index's distance operator {@code <->}, the places inside each of a few areas
 * ({@code ST_Contains}), and areas and distances in metres through a transformation to ETRS89 / UTM zone 33N
 * (EPSG:25833), which PROJ computes from the bundled {@code proj.db}.
 *
 * <p>Eleven landmarks have their real coordinates; the other places are random kiosks spread over the city's
 * bounding box, so that the index has work to do. The areas are rectangles on the map (not the real districts'
 * borders), chosen so that their results can be checked by hand.
 *
 * <p>Run it with {@code pgembed-postgis} on the class path (here: {@code PostgisExamplesTest}).
 */
public final class NearbyPlaces {
    /** Berlin's bounding box, in degrees: the random kiosks lie inside it. */
    static final double WEST = 13.09;

    static final double EAST = 13.76;
    static final double SOUTH = 52.34;
    static final double NORTH = 52.67;

    /** Landmarks: name, longitude, latitude (WGS 84). */
    static final Object[][] LANDMARKS = {
        {"Fernsehturm", 13.40945, 52.52082},
        {"Brandenburger Tor", 13.37770, 52.51628},
        {"Reichstag", 13.37613, 52.51862},
        {"Museumsinsel", 13.39847, 52.52108},
        {"Rotes Rathaus", 13.40837, 52.51847},
        {"Checkpoint Charlie", 13.39040, 52.50753},
        {"East Side Gallery", 13.43961, 52.50504},
        {"Schloss Charlottenburg", 13.29570, 52.52079},
        {"Tempelhofer Feld", 13.40372, 52.47557},
        {"Olympiastadion", 13.23943, 52.51467},
        {"Flughafen BER", 13.50028, 52.36667},
    };

    /** Areas: name and WKT (rectangles in degrees). */
    static final String[][] AREAS = {
        {"centre", "POLYGON((13.37 52.50,13.42 52.50,13.42 52.53,13.37 52.53,13.37 52.50))"},
        {"west", "POLYGON((13.20 52.49,13.32 52.49,13.32 52.55,13.20 52.55,13.20 52.49))"},
        {"south-east", "POLYGON((13.45 52.34,13.76 52.34,13.76 52.45,13.45 52.45,13.45 52.34))"},
    };

    private NearbyPlaces() {}

    /**
     * Runs the example in an in-memory database.
     *
     * @param args optional: the number of random kiosks (default 100000) and the seed of their positions (42)
     */
    public static void main(String[] args) {
        int kiosks = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        long seed = args.length > 1 ? Long.parseLong(args[1]) : 42;
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            db.execute("CREATE EXTENSION postgis");
            db.execute(
                    "CREATE TABLE poi (id int PRIMARY KEY, name text NOT NULL, geom geometry(Point, 4326) NOT NULL)");
            try (PreparedStatement insert =
                    db.prepare("INSERT INTO poi VALUES ($1, $2, ST_SetSRID(ST_MakePoint($3, $4), 4326))")) {
                List<Object[]> batch = new ArrayList<>();
                for (int i = 0; i < LANDMARKS.length; i++) {
                    batch.add(new Object[] {i + 1, LANDMARKS[i][0], LANDMARKS[i][1], LANDMARKS[i][2]});
                }
                insert.executeBatch(batch);
                batch.clear();
                for (double[] p : kiosks(kiosks, seed)) {
                    batch.add(new Object[] {LANDMARKS.length + batch.size() + 1, "kiosk", p[0], p[1]});
                }
                for (int from = 0; from < batch.size(); from += 1000) {
                    insert.executeBatch(batch.subList(from, Math.min(from + 1000, batch.size())));
                }
            }
            db.execute("CREATE INDEX poi_geom ON poi USING gist (geom)");
            db.execute("ANALYZE poi");
            System.out.printf(Locale.ROOT, "Stored %,d places with a GiST index%n", LANDMARKS.length + kiosks);

            // k nearest neighbours: ORDER BY <-> walks the GiST index in distance order, LIMIT stops it; <-> on
            // geometry(4326) is in degrees, so the distance shown is the geography's, in metres on the spheroid
            String nearest = "SELECT name, round(ST_Distance(geom::geography, $1::geography)) FROM poi"
                    + " WHERE name <> 'kiosk' ORDER BY geom <-> $1 LIMIT 3";
            String here = "SRID=4326;POINT(13.41322 52.52192)"; // Alexanderplatz
            try (Result plan = db.query("EXPLAIN (COSTS OFF) " + nearest.replace("$1", "'" + here + "'::geometry"))) {
                List<String> lines = new ArrayList<>();
                plan.forEach(row -> lines.add(row.getString(0).strip()));
                System.out.println("Plan: " + String.join(" / ", lines));
            }
            System.out.println("Landmarks nearest to Alexanderplatz:");
            try (Result r = db.query(nearest.replace("$1", "$1::geometry"), here)) {
                r.forEach(
                        row -> System.out.printf(Locale.ROOT, "  %-20s %6.0f m%n", row.getString(0), row.getDouble(1)));
            }
            try (Result r =
                    db.query("SELECT count(*) FROM poi WHERE ST_DWithin(geom::geography, $1::geography, 500)", here)) {
                System.out.printf(
                        Locale.ROOT,
                        "Places within 500 m of Alexanderplatz: %d%n",
                        r.row(0).getLong(0));
            }

            // containment: the index finds the candidates whose boxes overlap the area, ST_Contains decides
            db.execute("CREATE TABLE area (name text PRIMARY KEY, geom geometry(Polygon, 4326) NOT NULL)");
            for (String[] a : AREAS) {
                db.execute("INSERT INTO area VALUES ($1, ST_GeomFromText($2, 4326))", a[0], a[1]);
            }
            // the area in km², from the polygon transformed to metres (EPSG:25833, ETRS89 / UTM zone 33N)
            System.out.println("Places per area:");
            try (Result r = db.query("SELECT a.name, round((ST_Area(ST_Transform(a.geom, 25833)) / 1e6)::numeric, 2),"
                    + " count(p.id), count(p.id) FILTER (WHERE p.name <> 'kiosk'),"
                    + " string_agg(p.name, ', ' ORDER BY p.name) FILTER (WHERE p.name <> 'kiosk')"
                    + " FROM area a LEFT JOIN poi p ON ST_Contains(a.geom, p.geom) GROUP BY a.name ORDER BY a.name")) {
                r.forEach(row -> System.out.printf(
                        Locale.ROOT,
                        "  %-10s %7.2f km², %,7d places, landmarks: %s%n",
                        row.getString(0),
                        row.getDouble(1),
                        row.getLong(2),
                        row.isNull(4) ? "none" : row.getString(4)));
            }

            // a transformation of a single point, and a distance in metres computed in the projected plane
            try (Result r = db.query("SELECT ST_X(u), ST_Y(u), ST_Distance(u, ST_Transform(b.geom, 25833))"
                    + " FROM (SELECT ST_Transform(geom, 25833) AS u FROM poi WHERE name = 'Fernsehturm') a,"
                    + " poi b WHERE b.name = 'Flughafen BER'")) {
                System.out.printf(
                        Locale.ROOT,
                        "Fernsehturm in EPSG:25833: E %.1f N %.1f; to Flughafen BER %.0f m%n",
                        r.row(0).getDouble(0),
                        r.row(0).getDouble(1),
                        r.row(0).getDouble(2));
            }
        }
    }

    /** The random kiosks' positions (longitude, latitude), uniform over Berlin's bounding box. */
    static List<double[]> kiosks(int n, long seed) {
        Random random = new Random(seed);
        List<double[]> points = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            points.add(new double[] {
                WEST + random.nextDouble() * (EAST - WEST), SOUTH + random.nextDouble() * (NORTH - SOUTH)
            });
        }
        return points;
    }
}
