package dev.pgembed;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;

/**
 * Encodes Java values as parameters of PostgreSQL's extended protocol: text form, binary for byte[] and for
 * the extension types of the type table, whose OIDs come from the session ({@link Types}). Where the statement
 * declares its parameter types (a prepared statement), a value an extension type takes in binary is sent so
 * (a float[] for a vector parameter).
 */
final class Params {
    private Params() {}

    /** What encoding needs from the session: the OIDs of extension types in its database. */
    interface Types {
        /** The OID of an extension type; throws PgException (42704) when the database has none. */
        int oidOf(PgType t);

        /** The extension type of an OID (a declared parameter type), or null. */
        PgType ofOid(int oid);
    }

    /** For callers without a session: no extension types. */
    static final Types NO_EXTENSIONS = new Types() {
        @Override
        public int oidOf(PgType t) {
            throw new PgException("42704", "type \"" + t.typeName + "\" does not exist");
        }

        @Override
        public PgType ofOid(int oid) {
            return null;
        }
    };

    /** True when a parameter's encoding depends on the type the statement declares for it (a float[]). */
    static boolean dependsOnDeclaredTypes(Object[] params) {
        if (params != null) {
            for (Object p : params) {
                if (p instanceof float[]) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Parameters ready for a native call: OIDs, values (text NUL-terminated), lengths, formats. */
    record Native(int count, MemorySegment types, MemorySegment values, MemorySegment lengths, MemorySegment formats) {}

    /** Encoded parameters, before they go to native memory. */
    static final class Encoded {
        final int[] types;
        final byte[][] values;
        final int[] formats;

        Encoded(int n) {
            types = new int[n];
            values = new byte[n][];
            formats = new int[n];
        }
    }

    static Encoded encode(Object[] params) {
        return encode(params, NO_EXTENSIONS, null);
    }

    /* declared: the statement's parameter types (null when it has none to tell) */
    static Encoded encode(Object[] params, Types t, int[] declared) {
        Object[] p = params == null ? new Object[0] : params;
        Encoded e = new Encoded(p.length);
        for (int i = 0; i < p.length; i++) {
            encodeOne(p[i], i, e.types, e.values, e.formats, i + 1, t, declaredType(declared, i));
        }
        return e;
    }

    static int declaredType(int[] declared, int i) {
        return declared != null && i < declared.length ? declared[i] : PgType.Oid.UNSPECIFIED;
    }

    static void encodeOne(
            Object v, int i, int[] types, byte[][] values, int[] formats, int number, Types t, int declared) {
        if (v == null) {
            types[i] = PgType.Oid.UNSPECIFIED;
            values[i] = null;
            formats[i] = NativeSession.FORMAT_TEXT;
            return;
        }
        // the statement's own type for the parameter, when it is an extension type that takes v in binary
        PgType declaredType = declared == PgType.Oid.UNSPECIFIED ? null : t.ofOid(declared);
        byte[] asDeclared = declaredType == null ? null : declaredType.binary(v);
        if (asDeclared != null) {
            types[i] = declared;
            values[i] = asDeclared;
            formats[i] = NativeSession.FORMAT_BINARY;
            return;
        }
        PgType.Parameter p = PgType.parameter(v.getClass());
        if (p == null) {
            throw new IllegalArgumentException("parameter $" + number + " has the unsupported type "
                    + v.getClass().getName() + ": pass " + PgType.PARAMETER_CLASSES + ", arrays of these, or null");
        }
        if (p.type().isExtension()) {
            types[i] = t.oidOf(p.type());
            values[i] = p.type().binary(v);
            formats[i] = NativeSession.FORMAT_BINARY;
            return;
        }
        types[i] = p.oid();
        if (p.binary()) {
            values[i] = (byte[]) v;
            formats[i] = NativeSession.FORMAT_BINARY;
            return;
        }
        formats[i] = NativeSession.FORMAT_TEXT;
        if (!p.array() && (v instanceof Integer || v instanceof Long || v instanceof Short)) {
            values[i] = decimal(((Number) v).longValue());
            return;
        }
        values[i] = nulTerminated(p.text(v), number);
    }

    static byte[] nulTerminated(String s, int number) {
        // ASCII text (numbers, most keys): one array, no UTF-8 encoder and no copy
        byte[] r = new byte[s.length() + 1];
        return putAscii(r, 0, s) < 0 ? nulTerminatedUtf8(s, number) : r;
    }

    /*
     * s's characters as bytes at d[p..]: the end, or -1 (d partly written) when s has a character outside
     * 1..127, which only the UTF-8 path encodes (or refuses: a NUL, an unpaired surrogate)
     */
    static int putAscii(byte[] d, int p, String s) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c == 0 || c >= 0x80) {
                return -1;
            }
            d[p + i] = (byte) c;
        }
        return p + n;
    }

    private static byte[] nulTerminatedUtf8(String s, int number) {
        byte[] b = Utf8.encode(s, "parameter $" + number);
        for (byte x : b) {
            if (x == 0) {
                throw new IllegalArgumentException("a text parameter contains a NUL character, which PostgreSQL"
                        + " text cannot hold: use byte[] (bytea)");
            }
        }
        byte[] r = new byte[b.length + 1];
        System.arraycopy(b, 0, r, 0, b.length);
        return r;
    }

    /* v's decimal digits, NUL-terminated: the text Long.toString gives, without the String */
    static byte[] decimal(long v) {
        byte[] r = new byte[decimalLength(v) + 1];
        putDecimal(r, 0, v);
        return r;
    }

    /* how many characters Long.toString(v) has */
    static int decimalLength(long v) {
        int n = v < 0 ? 2 : 1;
        // counted on the negated value: -Long.MIN_VALUE does not exist, Long.MIN_VALUE's negation does
        for (long t = v < 0 ? v : -v; t <= -10; t /= 10) {
            n++;
        }
        return n;
    }

    /* v's text as Long.toString writes it, at d[p..]; returns the end (no NUL written) */
    static int putDecimal(byte[] d, int p, long v) {
        int end = p + decimalLength(v);
        long t = v < 0 ? v : -v;
        int i = end;
        do {
            d[--i] = (byte) ('0' - (int) (t % 10));
            t /= 10;
        } while (t != 0);
        if (v < 0) {
            d[p] = '-';
        }
        return end;
    }

    /** Copies encoded parameters into native memory allocated from the arena. */
    private static final Native NONE =
            new Native(0, MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL);

    /* the bytes toNative needs for these values: pointers, lengths, formats (and types), then the values */
    static long nativeSize(byte[][] values, boolean withTypes) {
        int n = values.length;
        long total = 0;
        for (byte[] v : values) {
            if (v != null) {
                total += v.length;
            }
        }
        return valuesOffset(n, withTypes) + Math.max(1, total);
    }

    private static long valuesOffset(int n, boolean withTypes) {
        return 8L * n + 4L * n * (withTypes ? 3 : 2);
    }

    /* the arrays of n parameters laid out at the start of slab */
    static Native layout(MemorySegment slab, int n, boolean withTypes) {
        return new Native(
                n,
                withTypes ? slab.asSlice(16L * n, 4L * n) : MemorySegment.NULL,
                slab.asSlice(0, 8L * n),
                slab.asSlice(8L * n, 4L * n),
                slab.asSlice(12L * n, 4L * n));
    }

    static Native toNative(SegmentAllocator arena, int[] types, byte[][] values, int[] formats, boolean withTypes) {
        int n = values.length;
        if (n == 0) {
            return NONE;
        }
        // one allocation per call: pointers, then lengths, formats and types, then the bytes
        MemorySegment slab = arena.allocate(nativeSize(values, withTypes), 8);
        Native p = layout(slab, n, withTypes);
        fill(p, slab, types, values, formats);
        return p;
    }

    /* writes the values into slab (laid out as p) */
    static void fill(Native p, MemorySegment slab, int[] types, byte[][] values, int[] formats) {
        int n = values.length;
        boolean withTypes = p.types().byteSize() != 0;
        MemorySegment vals = p.values();
        MemorySegment lens = p.lengths();
        MemorySegment fmts = p.formats();
        MemorySegment typs = p.types();
        long off = valuesOffset(n, withTypes);
        long base = slab.address();
        for (int i = 0; i < n; i++) {
            byte[] v = values[i];
            if (v == null) {
                vals.setAtIndex(ValueLayout.ADDRESS, i, MemorySegment.NULL);
                lens.setAtIndex(ValueLayout.JAVA_INT, i, -1);
            } else {
                MemorySegment.copy(v, 0, slab, ValueLayout.JAVA_BYTE, off, v.length);
                // the value's address as a C pointer (8 bytes, as the layout above assumes), without a segment
                vals.setAtIndex(ValueLayout.JAVA_LONG, i, base + off);
                lens.setAtIndex(
                        ValueLayout.JAVA_INT, i, formats[i] == NativeSession.FORMAT_BINARY ? v.length : v.length - 1);
                off += v.length;
            }
            fmts.setAtIndex(ValueLayout.JAVA_INT, i, formats[i]);
            if (withTypes) {
                typs.setAtIndex(ValueLayout.JAVA_INT, i, types[i]);
            }
        }
    }

    static Native toNative(Arena arena, Object[] params, Types t, int[] declared) {
        Encoded e = encode(params, t, declared);
        return toNative(arena, e.types, e.values, e.formats, true);
    }
}
