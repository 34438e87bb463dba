package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** pgvector's binary and text forms, without a database (VectorTest checks them against the server). */
class VectorCodecTest {

    private static MemorySegment bytes(int... b) {
        byte[] a = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            a[i] = (byte) b[i];
        }
        return MemorySegment.ofArray(a);
    }

    @Test
    void vectorIsDimensionsThenFloat4s() {
        byte[] b = VectorCodec.vector(new float[] {1f, 2f, 3f});
        assertThat(b).containsExactly(0, 3, 0, 0, 0x3f, 0x80, 0, 0, 0x40, 0, 0, 0, 0x40, 0x40, 0, 0);
        assertThat(VectorCodec.vector(MemorySegment.ofArray(b))).containsExactly(1f, 2f, 3f);
    }

    @Test
    void halfvecIsDimensionsThenHalfFloats() {
        // 1.0 = 0x3c00, -2.0 = 0xc000 in IEEE 754 binary16
        byte[] b = VectorCodec.halfvec(new float[] {1f, -2f});
        assertThat(b).containsExactly(0, 2, 0, 0, 0x3c, 0, 0xc0 - 256, 0);
        assertThat(VectorCodec.halfvec(bytes(0, 2, 0, 0, 0x3c, 0, 0xc0, 0))).containsExactly(1f, -2f);
    }

    @Test
    void sparsevecIsDimensionsCountThenIndicesThenValues() {
        SparseVector s = new SparseVector(5, new int[] {0, 2}, new float[] {1.5f, 2f});
        byte[] b = VectorCodec.sparsevec(s);
        assertThat(b).hasSize(12 + 16).startsWith(0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);
        assertThat(VectorCodec.sparsevec(MemorySegment.ofArray(b))).isEqualTo(s);
        assertThat(s.toString()).isEqualTo("{1:1.5,3:2}/5");
        assertThat(s.toArray()).containsExactly(1.5f, 0f, 2f, 0f, 0f);
        assertThat(SparseVector.of(new float[] {1.5f, 0f, 2f, 0f, 0f})).isEqualTo(s);
    }

    @Test
    void textForms() {
        assertThat(VectorCodec.parseVector("[1,2.5,-3e-05]")).containsExactly(1f, 2.5f, -3e-05f);
        assertThat(VectorCodec.parseSparse("{1:1.5,3:2}/5"))
                .isEqualTo(new SparseVector(5, new int[] {0, 2}, new float[] {1.5f, 2f}));
        assertThat(VectorCodec.parseSparse("{}/3").nonZeroCount()).isZero();
        assertThatThrownBy(() -> VectorCodec.parseVector("{1,2}")).isInstanceOf(PgException.class);
    }

    @Test
    void malformedBinaryAndBadValuesAreRefused() {
        assertThatThrownBy(() -> VectorCodec.vector(bytes(0, 3, 0, 0, 0x3f, 0x80, 0, 0)))
                .isInstanceOf(PgException.class)
                .hasMessageContaining("8 bytes");
        assertThatThrownBy(() -> VectorCodec.vector(new float[40_000])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SparseVector(3, new int[] {2, 1}, new float[] {1, 1}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ascend");
        assertThatThrownBy(() -> new SparseVector(3, new int[] {3}, new float[] {1}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SparseVector(3, new int[] {1}, new float[] {0}))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
