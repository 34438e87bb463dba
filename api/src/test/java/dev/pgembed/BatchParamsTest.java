package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A batch's sets in native memory hold what {@link Params#encode} makes of each set, and fail as it fails. */
class BatchParamsTest {
    /* value k of the native sets: its bytes (text without the NUL), or null, and its format */
    private record Value(byte[] bytes, int format) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Value v && Arrays.equals(bytes, v.bytes) && format == v.format;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes) * 31 + format;
        }

        @Override
        public String toString() {
            return (bytes == null ? "NULL" : Arrays.toString(bytes)) + "/" + format;
        }
    }

    private static List<Value> nativeSets(List<Object[]> sets, int nparams) {
        try (Arena arena = Arena.ofConfined()) {
            Params.Native p = BatchParams.toNative(arena, sets, nparams, Params.NO_EXTENSIONS, null);
            List<Value> out = new ArrayList<>();
            for (int k = 0; k < p.count(); k++) {
                MemorySegment v = p.values().getAtIndex(ValueLayout.ADDRESS, k);
                int len = p.lengths().getAtIndex(ValueLayout.JAVA_INT, k);
                int format = p.formats().getAtIndex(ValueLayout.JAVA_INT, k);
                if (v.equals(MemorySegment.NULL)) {
                    assertThat(len).isEqualTo(-1);
                    out.add(new Value(null, format));
                    continue;
                }
                MemorySegment bytes = v.reinterpret(len + 1L);
                if (format == NativeSession.FORMAT_TEXT) {
                    assertThat(bytes.get(ValueLayout.JAVA_BYTE, len)).isZero();
                }
                out.add(new Value(bytes.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE), format));
            }
            return out;
        }
    }

    private static List<Value> encodedOneByOne(List<Object[]> sets) {
        List<Value> out = new ArrayList<>();
        for (Object[] set : sets) {
            Params.Encoded e = Params.encode(set);
            for (int i = 0; i < set.length; i++) {
                byte[] v = e.values[i];
                if (v != null && e.formats[i] == NativeSession.FORMAT_TEXT) {
                    v = Arrays.copyOf(v, v.length - 1);
                }
                out.add(new Value(v, e.formats[i]));
            }
        }
        return out;
    }

    @Test
    void everyKindOfValueIsSentAsOneByOne() {
        Object[] values = {
            0,
            7,
            -7,
            Integer.MAX_VALUE,
            Integer.MIN_VALUE,
            0L,
            Long.MAX_VALUE,
            Long.MIN_VALUE,
            -1234567890123L,
            (short) 0,
            Short.MIN_VALUE,
            Short.MAX_VALUE,
            "",
            "plain ascii",
            "\u007f",
            "caf\u00e9",
            "\ud83d\ude00 emoji",
            null,
            true,
            2.5,
            1.5f,
            new BigDecimal("-12.3400"),
            new byte[] {0, 1, 2, (byte) 255},
            new int[] {1, -2, 3},
            new String[] {"a", "b c", null}
        };
        List<Object[]> sets = new ArrayList<>();
        for (int s = 0; s < 40; s++) {
            Object[] set = new Object[3];
            for (int i = 0; i < 3; i++) {
                set[i] = values[(s * 3 + i * 7) % values.length];
            }
            sets.add(set);
        }
        assertThat(nativeSets(sets, 3)).containsExactlyElementsOf(encodedOneByOne(sets));
    }

    @Test
    void aLargeBatchGrowsItsBuffer() {
        List<Object[]> sets = new ArrayList<>();
        for (int s = 0; s < 5000; s++) {
            sets.add(new Object[] {s, "row number " + s + " " + "x".repeat(s % 50), (long) -s});
        }
        assertThat(nativeSets(sets, 3)).containsExactlyElementsOf(encodedOneByOne(sets));
    }

    @Test
    void refusedValuesFailAsOneByOne() {
        List<Object[]> nul = List.of(new Object[] {1, "ok"}, new Object[] {2, "a\0b"});
        assertThatThrownBy(() -> nativeSets(nul, 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("NUL character");
        List<Object[]> surrogate = List.<Object[]>of(new Object[] {1, "a\ud800b\0"});
        assertThatThrownBy(() -> nativeSets(surrogate, 2))
                .isInstanceOf(PgException.class)
                .hasMessageContaining("unpaired UTF-16 surrogate");
        List<Object[]> unsupported = List.<Object[]>of(new Object[] {1, new Object()});
        assertThatThrownBy(() -> nativeSets(unsupported, 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("parameter $2 has the unsupported type java.lang.Object");
        List<Object[]> ragged = List.of(new Object[] {1, "a"}, new Object[] {2});
        assertThatThrownBy(() -> nativeSets(ragged, 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("parameter set 1 has 1 values, the first one has 2");
    }
}
