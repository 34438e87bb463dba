package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Row.getString of binary float4/float8 values against the engine's own float4out/float8out: each value
 * goes in as text that reads back exactly (Java's shortest form), comes back once in binary form (rendered
 * by Row) and once as {@code x::text} (rendered by PostgreSQL).
 */
class FloatTextTest {
    static PgEmbedded db;

    @BeforeAll
    static void open() {
        db = PgEmbedded.inMemory().open();
    }

    @AfterAll
    static void close() {
        db.close();
    }

    @Test
    void float8MatchesFloat8out() {
        List<Double> values = new ArrayList<>(List.of(
                0.0,
                -0.0,
                Double.NaN,
                Double.POSITIVE_INFINITY,
                Double.NEGATIVE_INFINITY,
                Double.MIN_VALUE,
                -Double.MIN_VALUE,
                Double.MAX_VALUE,
                Double.MIN_NORMAL,
                Math.nextDown(Double.MIN_NORMAL),
                1.0,
                -1.0,
                0.1,
                0.2,
                0.3,
                1.0 / 3,
                2.0 / 3,
                Math.PI,
                Math.E,
                1e14,
                1e15,
                1e16,
                123456789012345.0,
                1234567890123456.0,
                9007199254740991.0,
                9007199254740992.0,
                9007199254740993.0,
                0.0001,
                0.00001,
                0.00012345,
                0.000012345,
                99999999999999.9,
                999999999999999.0,
                1e300,
                1e-300,
                1e22,
                1e23,
                2e23,
                5e-324,
                1.7976931348623157e308,
                4.35,
                100.0,
                1e-5,
                65536.0));
        for (int e = -325; e <= 308; e++) {
            values.add(Double.parseDouble("1e" + e));
            values.add(Double.parseDouble("5e" + e));
            values.add(Double.parseDouble("-9.87654321e" + e));
        }
        SplittableRandom random = new SplittableRandom(20261123);
        for (int i = 0; i < 20_000; i++) {
            values.add(Double.longBitsToDouble(random.nextLong())); // every exponent, subnormals, NaN payloads
            values.add(random.nextDouble() * Math.pow(10, random.nextInt(-8, 20))); // around the notation switch
            values.add((double) random.nextLong(-(1L << 54), 1L << 54)); // integers, exact and not
        }
        assertThat(compare(
                        "float8",
                        values.stream().map(d -> literal(d, Double.toString(d))).toList()))
                .as("binary float8 rendered by Row vs float8out")
                .isEqualTo(List.of());
    }

    @Test
    void float4MatchesFloat4out() {
        List<Float> values = new ArrayList<>(List.of(
                0f,
                -0f,
                Float.NaN,
                Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY,
                Float.MIN_VALUE,
                Float.MAX_VALUE,
                Float.MIN_NORMAL,
                1f,
                0.1f,
                1f / 3,
                1e5f,
                1e6f,
                1e7f,
                123456f,
                1234567f,
                16777216f,
                16777217f,
                0.0001f,
                0.00001f,
                1e-45f,
                3.4028235e38f,
                7e-45f,
                100f));
        for (int e = -46; e <= 38; e++) {
            values.add(Float.parseFloat("1e" + e));
            values.add(Float.parseFloat("-3e" + e));
        }
        SplittableRandom random = new SplittableRandom(1123);
        for (int i = 0; i < 20_000; i++) {
            values.add(Float.intBitsToFloat(random.nextInt()));
            values.add((float) (random.nextDouble() * Math.pow(10, random.nextInt(-6, 10))));
            values.add((float) random.nextInt(-(1 << 26), 1 << 26));
        }
        assertThat(compare(
                        "float4",
                        values.stream().map(f -> literal(f, Float.toString(f))).toList()))
                .as("binary float4 rendered by Row vs float4out")
                .isEqualTo(List.of());
    }

    private static String literal(Number n, String javaText) {
        double d = n.doubleValue();
        if (Double.isNaN(d)) {
            return "NaN";
        }
        return Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : javaText;
    }

    /* the values whose two renderings differ, as "binary | text" */
    private static List<String> compare(String type, List<String> literals) {
        List<String> mismatches = new ArrayList<>();
        int n = 0;
        try (Result r = db.query(
                "SELECT v, v::text FROM unnest($1::" + type + "[]) v", "{" + String.join(",", literals) + "}")) {
            assertThat(r.columns().get(0).format())
                    .as("binary transfer of " + type)
                    .isEqualTo(1);
            for (Row row : r) {
                n++;
                String binary = row.getString(0);
                String text = row.getString(1);
                if (!binary.equals(text)) {
                    mismatches.add(binary + " | " + text);
                }
            }
        }
        assertThat(n).isEqualTo(literals.size());
        return mismatches.size() > 20 ? mismatches.subList(0, 20) : mismatches;
    }
}
