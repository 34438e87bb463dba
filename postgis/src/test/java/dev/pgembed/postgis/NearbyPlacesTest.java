package dev.pgembed.postgis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs {@link NearbyPlaces} and checks its answers against what can be computed without PostGIS: the nearest
 * landmark, the places inside each rectangle (counted in Java from the same random positions), the areas and the
 * distance (on a sphere, which differs from the projected plane by well under one percent here).
 */
class NearbyPlacesTest {
    private static final int KIOSKS = 20_000;
    private static final long SEED = 7;
    private static String out;

    @BeforeAll
    static void run() {
        PrintStream original = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            NearbyPlaces.main(new String[] {Integer.toString(KIOSKS), Long.toString(SEED)});
        } finally {
            System.setOut(original);
        }
        out = bytes.toString(StandardCharsets.UTF_8);
        original.print(out);
    }

    private static String group(String regex) {
        Matcher m = Pattern.compile(regex, Pattern.MULTILINE).matcher(out);
        assertThat(m.find()).as("output matches %s", regex).isTrue();
        return m.group(1);
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
    void theNearestLandmarksComeFromTheIndex() {
        assertThat(out)
                .contains(String.format(Locale.ROOT, "Stored %,d places", KIOSKS + NearbyPlaces.LANDMARKS.length));
        assertThat(group("^Plan: (.*)$")).contains("Index Scan using poi_geom").contains("Order By");
        // Alexanderplatz: the Fernsehturm is about 280 m away, the Rotes Rathaus about 560 m, then the Museumsinsel
        assertThat(group("^Landmarks nearest to Alexanderplatz:\\n  (\\S+)")).isEqualTo("Fernsehturm");
        double metres = Double.parseDouble(group("^  Fernsehturm +(\\d+) m$"));
        assertThat(metres).isCloseTo(haversine(13.41322, 52.52192, 13.40945, 52.52082), within(3.0));
        assertThat(group("^  Rotes Rathaus +(\\d+) m$")).isNotNull();
    }

    @Test
    void everyAreaContainsThePlacesInsideItsRectangle() {
        List<double[]> kiosks = NearbyPlaces.kiosks(KIOSKS, SEED);
        for (String[] area : NearbyPlaces.AREAS) {
            double[] box = box(area[1]);
            long inside = kiosks.stream()
                    .filter(p -> p[0] > box[0] && p[0] < box[1] && p[1] > box[2] && p[1] < box[3])
                    .count();
            long landmarks = 0;
            for (Object[] l : NearbyPlaces.LANDMARKS) {
                double x = (double) l[1];
                double y = (double) l[2];
                landmarks += x > box[0] && x < box[1] && y > box[2] && y < box[3] ? 1 : 0;
            }
            String line = group("^  " + Pattern.quote(area[0]) + " +(.*)$");
            assertThat(line).contains(String.format(Locale.ROOT, "%,7d places", inside + landmarks));
            // the rectangle's area on the sphere: R² · Δλ · (sin φ2 - sin φ1)
            double r = 6_371_008.8;
            double sphere = r
                    * r
                    * Math.toRadians(box[1] - box[0])
                    * (Math.sin(Math.toRadians(box[3])) - Math.sin(Math.toRadians(box[2])));
            double km2 = Double.parseDouble(line.replaceAll(" *([0-9.]+) km².*", "$1"));
            assertThat(km2 * 1e6).isCloseTo(sphere, within(sphere * 0.01));
        }
        assertThat(group("^  centre +.*landmarks: (.*)$"))
                .isEqualTo(
                        "Brandenburger Tor, Checkpoint Charlie, Fernsehturm, Museumsinsel, Reichstag, Rotes Rathaus");
        assertThat(group("^  west +.*landmarks: (.*)$")).isEqualTo("Olympiastadion, Schloss Charlottenburg");
        assertThat(group("^  south-east +.*landmarks: (.*)$")).isEqualTo("Flughafen BER");
    }

    @Test
    void theTransformationGivesMetres() {
        // the Fernsehturm in UTM zone 33N: easting about 392 000 m, northing about 5 820 000 m
        assertThat(Double.parseDouble(group("EPSG:25833: E ([0-9.]+)"))).isCloseTo(392_000, within(1_000.0));
        assertThat(Double.parseDouble(group("EPSG:25833: E [0-9.]+ N ([0-9.]+)")))
                .isCloseTo(5_820_000, within(2_000.0));
        double sphere = haversine(13.40945, 52.52082, 13.50028, 52.36667);
        assertThat(Double.parseDouble(group("to Flughafen BER ([0-9]+) m"))).isCloseTo(sphere, within(sphere * 0.01));
    }

    /* the x and y extent of a rectangle's WKT: west, east, south, north */
    private static double[] box(String wkt) {
        double[] b = {Double.MAX_VALUE, -Double.MAX_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE};
        Matcher m = Pattern.compile("([0-9.]+) ([0-9.]+)").matcher(wkt);
        while (m.find()) {
            double x = Double.parseDouble(m.group(1));
            double y = Double.parseDouble(m.group(2));
            b[0] = Math.min(b[0], x);
            b[1] = Math.max(b[1], x);
            b[2] = Math.min(b[2], y);
            b[3] = Math.max(b[3], y);
        }
        return b;
    }
}
