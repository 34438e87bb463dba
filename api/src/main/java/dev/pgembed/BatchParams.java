package dev.pgembed;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * The parameter sets of a batch, encoded straight into one native block. A batch of 25 000 sets of three
 * values went through {@link Params#encodeOne} per value: a String, its UTF-8 bytes, a NUL-terminated copy,
 * then a copy into native memory and a pointer segment per value; that was about half the Java API's cost of
 * a 25 000-row insert, and more before the JIT compiled it. Here the text of the common parameter classes
 * (Integer, Long, Short, a String of ASCII characters without NUL) is written as bytes into one growing
 * buffer; any other value goes through {@link Params#encodeOne}, so every value is sent as before, and fails
 * as before (same exception, same order). The native block is then filled by bulk copies.
 */
final class BatchParams {
    private BatchParams() {}

    /* the encoding in progress: the bytes, and per value its offset (-1: NULL), length and format */
    private static final class Buffer {
        byte[] bytes = new byte[4096];
        int pos;
        final long[] offsets;
        final int[] lengths;
        final int[] formats;

        Buffer(int n) {
            offsets = new long[n];
            lengths = new int[n];
            formats = new int[n];
        }

        void ensure(int more) {
            if (bytes.length - pos < more) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, Math.addExact(pos, more)));
            }
        }
    }

    /**
     * The sets (set s's parameter i at s * nparams + i) as native values, lengths and formats, as {@link
     * Params#toNative(Arena, int[], byte[][], int[], boolean)} lays out the values {@link Params#encode} gives each set.
     */
    static Params.Native toNative(Arena arena, List<Object[]> sets, int nparams, Params.Types t, int[] declared) {
        int n = Math.multiplyExact(sets.size(), nparams);
        if (n == 0) {
            return Params.toNative(arena, new int[0], new byte[0][], new int[0], false);
        }
        Buffer b = new Buffer(n);
        int[] oneType = new int[1];
        byte[][] oneValue = new byte[1][];
        int[] oneFormat = new int[1];
        for (int s = 0; s < sets.size(); s++) {
            Object[] set = sets.get(s);
            if (set.length != nparams) {
                throw new IllegalArgumentException(
                        "parameter set " + s + " has " + set.length + " values, the first one has " + nparams);
            }
            for (int i = 0; i < nparams; i++) {
                int k = s * nparams + i;
                Object v = set[i];
                // the statement's declared types matter only for values an extension type takes (a float[])
                if (declared == null && fast(b, k, v)) {
                    continue;
                }
                Params.encodeOne(v, 0, oneType, oneValue, oneFormat, i + 1, t, Params.declaredType(declared, i));
                put(b, k, oneValue[0], oneFormat[0]);
            }
        }
        long ptrBytes = 8L * n;
        long bytesAt = ptrBytes + 8L * n;
        MemorySegment slab = arena.allocate(bytesAt + Math.max(1, b.pos), 8);
        MemorySegment.copy(b.bytes, 0, slab, ValueLayout.JAVA_BYTE, bytesAt, b.pos);
        long base = slab.address() + bytesAt;
        long[] ptrs = b.offsets;
        for (int k = 0; k < n; k++) {
            ptrs[k] = ptrs[k] < 0 ? 0 : base + ptrs[k];
        }
        MemorySegment vals = slab.asSlice(0, ptrBytes);
        MemorySegment lens = slab.asSlice(ptrBytes, 4L * n);
        MemorySegment fmts = slab.asSlice(ptrBytes + 4L * n, 4L * n);
        MemorySegment.copy(ptrs, 0, vals, ValueLayout.JAVA_LONG_UNALIGNED, 0, n);
        MemorySegment.copy(b.lengths, 0, lens, ValueLayout.JAVA_INT_UNALIGNED, 0, n);
        MemorySegment.copy(b.formats, 0, fmts, ValueLayout.JAVA_INT_UNALIGNED, 0, n);
        return new Params.Native(n, MemorySegment.NULL, vals, lens, fmts);
    }

    /* value k from encodeOne's arrays: text NUL-terminated (its length without the NUL), binary as it is */
    private static void put(Buffer b, int k, byte[] v, int format) {
        b.formats[k] = format;
        if (v == null) {
            b.offsets[k] = -1;
            b.lengths[k] = -1;
            return;
        }
        b.ensure(v.length);
        System.arraycopy(v, 0, b.bytes, b.pos, v.length);
        b.offsets[k] = b.pos;
        b.lengths[k] = format == NativeSession.FORMAT_BINARY ? v.length : v.length - 1;
        b.pos += v.length;
    }

    /*
     * Writes value k when it is one of the common cases, with the text encodeOne would send for it
     * (Integer.toString and the like; a String's own characters); false: nothing written.
     */
    private static boolean fast(Buffer b, int k, Object v) {
        if (v == null) {
            b.offsets[k] = -1;
            b.lengths[k] = -1;
            b.formats[k] = NativeSession.FORMAT_TEXT;
            return true;
        }
        Class<?> c = v.getClass();
        if (c == Integer.class) {
            number(b, k, (Integer) v);
        } else if (c == Long.class) {
            number(b, k, (Long) v);
        } else if (c == Short.class) {
            number(b, k, (Short) v);
        } else if (c == String.class) {
            return ascii(b, k, (String) v);
        } else {
            return false;
        }
        return true;
    }

    /* a decimal number as Long.toString writes it, NUL-terminated */
    private static void number(Buffer b, int k, long x) {
        b.ensure(21);
        int end = Params.putDecimal(b.bytes, b.pos, x);
        b.bytes[end] = 0;
        b.offsets[k] = b.pos;
        b.lengths[k] = end - b.pos;
        b.formats[k] = NativeSession.FORMAT_TEXT;
        b.pos = end + 1;
    }

    /*
     * A String of characters 1..127 as its bytes, NUL-terminated; false (nothing taken) for any other
     * character, which encodeOne encodes or refuses (a NUL, an unpaired surrogate)
     */
    private static boolean ascii(Buffer b, int k, String s) {
        b.ensure(s.length() + 1);
        int end = Params.putAscii(b.bytes, b.pos, s);
        if (end < 0) {
            return false;
        }
        b.bytes[end] = 0;
        b.offsets[k] = b.pos;
        b.lengths[k] = end - b.pos;
        b.formats[k] = NativeSession.FORMAT_TEXT;
        b.pos = end + 1;
        return true;
    }
}
