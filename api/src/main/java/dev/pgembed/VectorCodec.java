package dev.pgembed;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * pgvector's wire forms. Binary, as its {@code *_send}/{@code *_recv} functions write and read them
 * (vector.c, halfvec.c, sparsevec.c), all big-endian:
 * <ul>
 *   <li>vector: int16 dimensions, int16 0, then one float4 per element;</li>
 *   <li>halfvec: int16 dimensions, int16 0, then one IEEE 754 binary16 per element;</li>
 *   <li>sparsevec: int32 dimensions, int32 count of stored elements, int32 0, then their 0-based int32
 *       indices, then their float4 values.</li>
 * </ul>
 * And the text forms, for values that arrive as text: {@code [1,2.5,-3]} (vector and halfvec) and
 * {@code {1:1.5,3:2}/5} (sparsevec, 1-based indices).
 */
final class VectorCodec {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    /* vector and halfvec count their dimensions in an int16 */
    private static final int MAX_DIMENSIONS = Short.MAX_VALUE;

    private VectorCodec() {}

    // ---- Java to binary ------------------------------------------------------------------------

    static byte[] vector(float[] v) {
        ByteBuffer b = header(v.length, 4 + 4 * v.length);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    static byte[] halfvec(float[] v) {
        ByteBuffer b = header(v.length, 4 + 2 * v.length);
        for (float f : v) {
            b.putShort(Float.floatToFloat16(f));
        }
        return b.array();
    }

    static byte[] sparsevec(SparseVector s) {
        int n = s.nonZeroCount();
        ByteBuffer b =
                ByteBuffer.allocate(12 + 8 * n).putInt(s.dimensions()).putInt(n).putInt(0);
        for (int i : s.indices()) {
            b.putInt(i);
        }
        for (float f : s.values()) {
            b.putFloat(f);
        }
        return b.array();
    }

    private static ByteBuffer header(int dims, int size) {
        if (dims > MAX_DIMENSIONS) {
            throw new IllegalArgumentException(
                    "a vector of " + dims + " elements: pgvector's vector and halfvec hold" + " at most 16000");
        }
        return ByteBuffer.allocate(size).putShort((short) dims).putShort((short) 0);
    }

    // ---- binary to Java ------------------------------------------------------------------------

    static float[] vector(MemorySegment s) {
        int dims = dimensions(s, 4);
        float[] v = new float[dims];
        for (int i = 0; i < dims; i++) {
            v[i] = s.get(F32, 4 + 4L * i);
        }
        return v;
    }

    static float[] halfvec(MemorySegment s) {
        int dims = dimensions(s, 2);
        float[] v = new float[dims];
        for (int i = 0; i < dims; i++) {
            v[i] = Float.float16ToFloat(s.get(I16, 4 + 2L * i));
        }
        return v;
    }

    static SparseVector sparsevec(MemorySegment s) {
        if (s.byteSize() < 12) {
            throw malformed("sparsevec", s.byteSize());
        }
        int dims = s.get(I32, 0);
        int n = s.get(I32, 4);
        if (n < 0 || s.byteSize() != 12 + 8L * n) {
            throw malformed("sparsevec", s.byteSize());
        }
        int[] idx = new int[n];
        float[] val = new float[n];
        for (int i = 0; i < n; i++) {
            idx[i] = s.get(I32, 12 + 4L * i);
            val[i] = s.get(F32, 12 + 4L * n + 4L * i);
        }
        return new SparseVector(dims, idx, val);
    }

    /* the dimension count of a vector or halfvec, checked against the value's length */
    private static int dimensions(MemorySegment s, int elementSize) {
        if (s.byteSize() < 4) {
            throw malformed(elementSize == 4 ? "vector" : "halfvec", s.byteSize());
        }
        int dims = Short.toUnsignedInt(s.get(I16, 0));
        if (s.byteSize() != 4 + (long) elementSize * dims) {
            throw malformed(elementSize == 4 ? "vector" : "halfvec", s.byteSize());
        }
        return dims;
    }

    private static PgException malformed(String type, long length) {
        return new PgException(
                "22P03", "a binary " + type + " of " + length + " bytes does not have pgvector's layout");
    }

    // ---- text to Java --------------------------------------------------------------------------

    /** {@code [1,2.5,-3]}: the text form of vector and halfvec. */
    static float[] parseVector(String text) {
        String t = text.strip();
        if (t.length() < 2 || t.charAt(0) != '[' || t.charAt(t.length() - 1) != ']') {
            throw new PgException("22P02", "not a vector: " + text);
        }
        String body = t.substring(1, t.length() - 1).strip();
        if (body.isEmpty()) {
            return new float[0];
        }
        String[] parts = body.split(",");
        float[] v = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            v[i] = Float.parseFloat(parts[i].strip());
        }
        return v;
    }

    /** {@code {1:1.5,3:2}/5}: the text form of sparsevec, 1-based. */
    static SparseVector parseSparse(String text) {
        String t = text.strip();
        int close = t.lastIndexOf("}/");
        if (!t.startsWith("{") || close < 0) {
            throw new PgException("22P02", "not a sparsevec: " + text);
        }
        String body = t.substring(1, close).strip();
        int dims = Integer.parseInt(t.substring(close + 2).strip());
        String[] parts = body.isEmpty() ? new String[0] : body.split(",");
        int[] idx = new int[parts.length];
        float[] val = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            int colon = parts[i].indexOf(':');
            idx[i] = Integer.parseInt(parts[i].substring(0, colon).strip()) - 1;
            val[i] = Float.parseFloat(parts[i].substring(colon + 1).strip());
        }
        return new SparseVector(dims, idx, val);
    }
}
