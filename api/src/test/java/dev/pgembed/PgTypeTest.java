package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The type table and the text forms it uses, without a database: what OID and text each parameter class is
 * sent as, and how array elements read back. (StatementsTest round-trips the same types through the engine.)
 */
class PgTypeTest {

    /* the OID, format and text (without its NUL) of one encoded parameter */
    private static String sent(Object v) {
        Params.Encoded e = Params.encode(new Object[] {v});
        byte[] b = e.values[0];
        String text = b == null
                ? "null"
                : e.formats[0] == 1 ? Arrays.toString(b) : new String(b, 0, b.length - 1, StandardCharsets.UTF_8);
        return e.types[0] + " " + e.formats[0] + " " + text;
    }

    @Test
    void everyRowIsFoundByItsOidAndItsArrayOid() {
        for (PgType t : PgType.values()) {
            if (t.isExtension()) {
                assertThat(t.oid)
                        .as("%s: an extension's type has its database's OID", t)
                        .isZero();
                continue;
            }
            assertThat(PgType.ofOid(t.oid)).as("%s by OID", t).isSameAs(t);
            if (t.arrayOid != 0) {
                assertThat(PgType.ofArrayOid(t.arrayOid))
                        .as("%s by array OID", t)
                        .isSameAs(t);
                assertThat(PgType.ofOid(t.arrayOid))
                        .as("%s's array OID is no scalar", t)
                        .isNull();
            }
        }
        assertThat(PgType.ofOid(PgType.Oid.UNSPECIFIED)).isNull();
        assertThat(PgType.ofOid(114)).as("json: read as text, not in the table").isNull();
        assertThat(PgType.ofOid(-1)).isNull();
        assertThat(PgType.ofArrayOid(1_000_000)).isNull();
    }

    @Test
    void scalarParametersAreSentWithTheirTypeAndPostgresTextForm() {
        assertThat(sent(42)).isEqualTo("23 0 42");
        assertThat(sent(42L)).isEqualTo("20 0 42");
        assertThat(sent((short) 4)).isEqualTo("21 0 4");
        assertThat(sent(1.5)).isEqualTo("701 0 1.5");
        assertThat(sent(2.5f)).isEqualTo("700 0 2.5");
        assertThat(sent(new BigDecimal("1E+3"))).isEqualTo("1700 0 1000");
        assertThat(sent(true)).isEqualTo("16 0 t");
        assertThat(sent("x")).as("a String's type is left to PostgreSQL").isEqualTo("0 0 x");
        UUID u = UUID.fromString("123e4567-e89b-12d3-a456-426614174000");
        assertThat(sent(u)).isEqualTo("2950 0 123e4567-e89b-12d3-a456-426614174000");
        assertThat(sent(LocalDate.of(-43, 3, 15))).isEqualTo("1082 0 0044-03-15 BC");
        assertThat(sent(LocalTime.of(1, 2))).isEqualTo("1083 0 01:02");
        assertThat(sent(LocalDateTime.of(2024, 2, 29, 23, 59))).isEqualTo("1114 0 2024-02-29 23:59:00");
        assertThat(sent(OffsetDateTime.of(2024, 1, 2, 3, 4, 5, 0, ZoneOffset.ofHoursMinutesSeconds(-5, -30, -15))))
                .isEqualTo("1184 0 2024-01-02 03:04:05-05:30:15");
        assertThat(sent(Instant.ofEpochSecond(0))).isEqualTo("1184 0 1970-01-01 00:00:00+00:00");
        assertThat(sent(Instant.MAX)).isEqualTo("1184 0 infinity");
        assertThat(sent(new byte[] {1, 2})).as("bytea goes in binary").isEqualTo("17 1 [1, 2]");
        assertThat(sent(null)).isEqualTo("0 0 null");
    }

    @Test
    void subclassesOfAParameterClassAreSentAsIt() {
        class Cents extends BigDecimal {
            Cents(String v) {
                super(v);
            }
        }
        assertThat(sent(new Cents("12.50"))).isEqualTo("1700 0 12.50");
        assertThat(sent(new Cents[] {new Cents("1.5")})).isEqualTo("1231 0 {1.5}");
    }

    @Test
    void arraysQuoteTheElementsOfTextualTypesOnly() {
        assertThat(sent(new int[] {1, -2})).isEqualTo("1007 0 {1,-2}");
        assertThat(sent(new Integer[] {1, null})).isEqualTo("1007 0 {1,NULL}");
        assertThat(sent(new double[] {Double.NaN})).isEqualTo("1022 0 {NaN}");
        assertThat(sent(new boolean[] {true, false})).isEqualTo("1000 0 {t,f}");
        assertThat(sent(new String[] {"a\"b", "c\\d", "NULL", null}))
                .isEqualTo("1009 0 {\"a\\\"b\",\"c\\\\d\",\"NULL\",NULL}");
        assertThat(sent(new LocalDate[] {LocalDate.MAX})).isEqualTo("1182 0 {\"infinity\"}");
        assertThat(sent(new Instant[] {Instant.EPOCH})).isEqualTo("1185 0 {\"1970-01-01 00:00:00+00:00\"}");
        assertThat(sent(new short[0])).isEqualTo("1005 0 {}");
    }

    @Test
    void anUnsupportedParameterNamesTheClassesThatAre() {
        for (Object v : new Object[] {new Object(), 'c', new byte[][] {{1}}, new Object[] {1}, new StringBuilder()}) {
            assertThatThrownBy(() -> sent(v))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("parameter $1 has the unsupported type "
                            + v.getClass().getName() + ": pass Integer,"
                            + " Long, Short, Double, Float, BigDecimal, String, byte[], Boolean, UUID, LocalDate,"
                            + " LocalTime, LocalDateTime, OffsetDateTime, Instant, SparseVector, arrays of these,"
                            + " or null");
        }
        assertThatThrownBy(() -> sent("a\0b"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("NUL character");
    }

    @Test
    void extensionTypesTakeTheirOidFromTheSessionAndTheirValuesInBinary() {
        // as a session whose database has pgvector with these OIDs
        Params.Types pgvector = new Params.Types() {
            @Override
            public int oidOf(PgType t) {
                return t == PgType.SPARSEVEC ? 16_390 : 16_385;
            }

            @Override
            public PgType ofOid(int oid) {
                return oid == 16_385 ? PgType.VECTOR : oid == 16_388 ? PgType.HALFVEC : null;
            }
        };
        SparseVector s = new SparseVector(3, new int[] {1}, new float[] {2f});
        Params.Encoded e = Params.encode(
                new Object[] {s, new float[] {1f}, new float[] {1f}, new float[] {1f}},
                pgvector,
                new int[] {0, 16_385, 16_388, 1021});
        assertThat(e.types).containsExactly(16_390, 16_385, 16_388, 1021);
        assertThat(e.formats).containsExactly(1, 1, 1, 0);
        assertThat(e.values[0]).isEqualTo(VectorCodec.sparsevec(s));
        assertThat(e.values[1]).isEqualTo(VectorCodec.vector(new float[] {1f}));
        assertThat(e.values[2]).isEqualTo(VectorCodec.halfvec(new float[] {1f}));
        assertThat(new String(e.values[3], 0, e.values[3].length - 1, StandardCharsets.UTF_8))
                .isEqualTo("{1.0}");
        assertThat(sent(new float[] {1f, 2.5f}))
                .as("without a declared type a float[] is a real[]")
                .isEqualTo("1021 0 {1.0,2.5}");
        assertThatThrownBy(() -> sent(s)).isInstanceOf(PgException.class).hasMessageContaining("sparsevec");
    }

    @Test
    void arrayElementsReadBackAsTheJavaClassOfTheirType() {
        assertThat(PgType.BOOL.elements(Arrays.asList("t", "f", "true", null)))
                .isExactlyInstanceOf(Boolean[].class)
                .containsExactly(true, false, true, null);
        assertThat(PgType.INT8.elements(Arrays.asList("9", "-1")))
                .isExactlyInstanceOf(Long[].class)
                .containsExactly(9L, -1L);
        assertThat(PgType.NUMERIC.elements(Arrays.asList("1.50"))).containsExactly(new BigDecimal("1.50"));
        assertThat(PgType.VARCHAR.elements(Arrays.asList("a", null)))
                .isExactlyInstanceOf(String[].class)
                .containsExactly("a", null);
        assertThat(PgType.DATE.elements(Arrays.asList("0044-03-15 BC", "infinity")))
                .containsExactly(LocalDate.of(-43, 3, 15), LocalDate.MAX);
        assertThat(PgType.TIMESTAMPTZ.elements(Arrays.asList("2024-01-02 03:04:05.5+05:30")))
                .isExactlyInstanceOf(OffsetDateTime[].class)
                .containsExactly(OffsetDateTime.of(2024, 1, 2, 3, 4, 5, 500_000_000, ZoneOffset.ofHoursMinutes(5, 30)));
    }

    @Test
    void arrayLiteralsParseToTheirElements() {
        assertThat(ArrayText.parse("{1,NULL,\"a,b\",\"q\\\"\"}")).containsExactly("1", null, "a,b", "q\"");
        assertThat(ArrayText.parse("[0:1]={x,y}")).containsExactly("x", "y");
        assertThat(ArrayText.parse("{}")).isEmpty();
        assertThat(ArrayText.parse("{{1},{2}}")).as("multidimensional").isNull();
        assertThat(ArrayText.parse("plain")).isNull();
    }

    @Test
    void temporalTextReadsWhatItWrites() {
        for (LocalDate d : new LocalDate[] {LocalDate.of(2024, 2, 29), LocalDate.of(0, 1, 1), LocalDate.MIN}) {
            assertThat(TemporalText.parseDate(TemporalText.formatDate(d))).isEqualTo(d);
        }
        OffsetDateTime t = OffsetDateTime.of(-100, 6, 1, 12, 30, 0, 123_456_000, ZoneOffset.ofHours(2));
        assertThat(TemporalText.parseTimestamp(TemporalText.formatOffsetDateTime(t)))
                .isEqualTo(t);
        assertThat(TemporalText.parseTime("24:00:00")).isEqualTo(LocalTime.MAX);
        assertThat(TemporalText.parseTime("10:11:12.5+02")).isEqualTo(LocalTime.of(10, 11, 12, 500_000_000));
    }
}
