package dev.pgembed;

import dev.pgembed.PgType.Oid;
import dev.pgembed.internal.bindings.pgembed_cell;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigDecimal;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/*
 * The decoding behind Row's getters: reads one row's cells in place (a pgembed_cell's header, then its
 * binary or text form) and turns them into Java values, with the errors Row documents (22004 for NULL in a
 * primitive getter, 42804 for a type that does not convert, 22003 out of range). Each method named as a
 * public getter of Row is that getter's body; the contract is documented there. One reader per row, so
 * that rows of one result may be read on several threads.
 */
final class CellReader {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    /* a pgembed_cell's fields: the value's address (read as a long), its length (-1 for NULL) and format */
    private static final ValueLayout.OfLong ADDR = ValueLayout.JAVA_LONG;
    private static final long VALUE = pgembed_cell.value$offset();
    private static final long LENGTH = pgembed_cell.length$offset();
    private static final long FORMAT = pgembed_cell.format$offset();
    private static final int BINARY = NativeSession.FORMAT_BINARY;
    private static final int TEXT = NativeSession.FORMAT_TEXT;

    final Result r;
    final int row;
    /* the cell being read, set by cell() */
    private long addr;
    private int len;
    private int fmt;

    CellReader(Result r, int row) {
        this.r = r;
        this.row = row;
    }

    /* reads the cell's header (checks that the result is alive); false for NULL */
    private boolean cell(int col) {
        if (col < 0 || col >= r.cols) {
            throw new IndexOutOfBoundsException("column " + col + " of a result with " + r.cols + " columns");
        }
        long off = r.cellsAt + ((long) row * r.cols + col) * Result.CELL_SIZE;
        MemorySegment c = r.all;
        len = c.get(ValueLayout.JAVA_INT, off + LENGTH);
        if (len < 0) {
            return false;
        }
        addr = c.get(ADDR, off + VALUE);
        fmt = c.get(ValueLayout.JAVA_INT, off + FORMAT);
        return true;
    }

    private String name(int col) {
        return r.columns().get(col).name();
    }

    private PgException isNullError(int col) {
        return new PgException("22004", "column \"" + name(col) + "\" is NULL: test isNull() first or use getObject()");
    }

    private PgException mismatch(int col, String javaType) {
        return new PgException(
                "42804", "column \"" + name(col) + "\" of type OID " + r.types[col] + " cannot be read as " + javaType);
    }

    private PgException outOfRange(int col, String javaType, Object value) {
        return new PgException(
                "22003", "value " + value + " of column \"" + name(col) + "\" does not fit in " + javaType);
    }

    boolean isNull(int col) {
        return !cell(col);
    }

    // ---- integers --------------------------------------------------------------------------------

    private long integer(int col, String javaType) {
        if (!cell(col)) {
            throw isNullError(col);
        }
        if (fmt == BINARY) {
            MemorySegment a = r.all;
            return switch (r.types[col]) {
                case Oid.INT2 -> a.get(I16, addr);
                case Oid.INT4 -> a.get(I32, addr);
                case Oid.OID -> Integer.toUnsignedLong(a.get(I32, addr));
                case Oid.INT8 -> a.get(I64, addr);
                case Oid.BOOL -> throw mismatch(col, javaType);
                case Oid.FLOAT4 -> exactLong(col, javaType, a.get(F32, addr));
                case Oid.FLOAT8 -> exactLong(col, javaType, a.get(F64, addr));
                default -> throw mismatch(col, javaType);
            };
        }
        return parseLong(col, javaType);
    }

    private long exactLong(int col, String javaType, double d) {
        long l = (long) d;
        if (l != d) {
            throw outOfRange(col, javaType, d);
        }
        return l;
    }

    /* parses an integer from the text in place; falls back to BigDecimal for "12.0", "1e3" */
    private long parseLong(int col, String javaType) {
        MemorySegment a = r.all;
        long p = addr;
        long end = addr + len;
        boolean neg = false;
        if (p < end) {
            byte b = a.get(ValueLayout.JAVA_BYTE, p);
            if (b == '-' || b == '+') {
                neg = b == '-';
                p++;
            }
        }
        if (p == end || end - p > 18) {
            return slowLong(col, javaType);
        }
        long v = 0;
        for (; p < end; p++) {
            int d = a.get(ValueLayout.JAVA_BYTE, p) - '0';
            if (d < 0 || d > 9) {
                return slowLong(col, javaType);
            }
            v = v * 10 + d;
        }
        return neg ? -v : v;
    }

    private long slowLong(int col, String javaType) {
        String s = text();
        try {
            return new BigDecimal(s.trim()).longValueExact();
        } catch (NumberFormatException e) {
            throw mismatch(col, javaType);
        } catch (ArithmeticException e) {
            throw outOfRange(col, javaType, s);
        }
    }

    int getInt(int col) {
        long v = integer(col, "int");
        if (v != (int) v) {
            throw outOfRange(col, "int", v);
        }
        return (int) v;
    }

    long getLong(int col) {
        return integer(col, "long");
    }

    short getShort(int col) {
        long v = integer(col, "short");
        if (v != (short) v) {
            throw outOfRange(col, "short", v);
        }
        return (short) v;
    }

    // ---- floating point and boolean -------------------------------------------------------------

    double getDouble(int col) {
        if (!cell(col)) {
            throw isNullError(col);
        }
        if (fmt == BINARY) {
            MemorySegment a = r.all;
            return switch (r.types[col]) {
                case Oid.FLOAT4 -> a.get(F32, addr);
                case Oid.FLOAT8 -> a.get(F64, addr);
                case Oid.INT2 -> a.get(I16, addr);
                case Oid.INT4 -> a.get(I32, addr);
                case Oid.OID -> Integer.toUnsignedLong(a.get(I32, addr));
                case Oid.INT8 -> a.get(I64, addr);
                default -> throw mismatch(col, "double");
            };
        }
        try {
            return Double.parseDouble(text());
        } catch (NumberFormatException e) {
            throw mismatch(col, "double");
        }
    }

    float getFloat(int col) {
        if (cell(col) && fmt == BINARY && r.types[col] == Oid.FLOAT4) {
            return r.all.get(F32, addr);
        }
        if (!cell(col)) {
            throw isNullError(col);
        }
        if (fmt == TEXT) {
            try {
                return Float.parseFloat(text());
            } catch (NumberFormatException e) {
                throw mismatch(col, "float");
            }
        }
        return (float) getDouble(col);
    }

    boolean getBoolean(int col) {
        if (!cell(col)) {
            throw isNullError(col);
        }
        if (fmt == BINARY) {
            if (r.types[col] != Oid.BOOL) {
                throw mismatch(col, "boolean");
            }
            return r.all.get(ValueLayout.JAVA_BYTE, addr) != 0;
        }
        byte b = len > 0 ? r.all.get(ValueLayout.JAVA_BYTE, addr) : 0;
        if (len == 1 && b == 't' || len == 4 && "true".equalsIgnoreCase(text())) {
            return true;
        }
        if (len == 1 && b == 'f' || len == 5 && "false".equalsIgnoreCase(text())) {
            return false;
        }
        throw mismatch(col, "boolean");
    }

    // ---- text and bytes -------------------------------------------------------------------------

    /* the current cell's text, decoded from UTF-8 */
    private String text() {
        byte[] b = new byte[len];
        MemorySegment.copy(r.all, ValueLayout.JAVA_BYTE, addr, b, 0, len);
        return new String(b, StandardCharsets.UTF_8);
    }

    @Nullable
    String getString(int col) {
        if (!cell(col)) {
            return null;
        }
        if (fmt == TEXT) {
            return text();
        }
        MemorySegment a = r.all;
        return switch (r.types[col]) {
            case Oid.BOOL -> a.get(ValueLayout.JAVA_BYTE, addr) != 0 ? "t" : "f";
            case Oid.INT2 -> Short.toString(a.get(I16, addr));
            case Oid.INT4 -> Integer.toString(a.get(I32, addr));
            case Oid.OID -> Long.toString(Integer.toUnsignedLong(a.get(I32, addr)));
            case Oid.INT8 -> Long.toString(a.get(I64, addr));
            case Oid.FLOAT4 -> FloatText.of(a.get(F32, addr));
            case Oid.FLOAT8 -> FloatText.of(a.get(F64, addr));
            default -> {
                PgType t = r.extensionTypes.ofOid(r.types[col]);
                if (t == PgType.VECTOR || t == PgType.HALFVEC) {
                    yield vectorText(getFloatArray(col));
                }
                if (t == PgType.SPARSEVEC) {
                    yield getSparseVector(col).toString();
                }
                throw mismatch(col, "String");
            }
        };
    }

    /* pgvector's text form of a vector: each element as the shortest decimal that reads back the same */
    private static String vectorText(float[] v) {
        StringBuilder b = new StringBuilder(v.length * 8 + 2).append('[');
        for (int i = 0; i < v.length; i++) {
            if (i > 0) {
                b.append(',');
            }
            b.append(FloatText.of(v[i]));
        }
        return b.append(']').toString();
    }

    float @Nullable [] getFloatArray(int col) {
        if (!cell(col)) {
            return null;
        }
        int type = r.types[col];
        PgType t = r.extensionTypes.ofOid(type);
        if (t == PgType.VECTOR || t == PgType.HALFVEC) {
            if (fmt == BINARY) {
                MemorySegment v = r.all.asSlice(addr, len);
                return t == PgType.VECTOR ? VectorCodec.vector(v) : VectorCodec.halfvec(v);
            }
            return VectorCodec.parseVector(text());
        }
        if (t == PgType.SPARSEVEC) {
            return getSparseVector(col).toArray();
        }
        if (fmt == TEXT && (type == Oid.FLOAT4_ARRAY || type == Oid.FLOAT8_ARRAY)) {
            List<String> elems = ArrayText.parse(text());
            if (elems != null) {
                float[] f = new float[elems.size()];
                for (int i = 0; i < f.length; i++) {
                    if (elems.get(i) == null) {
                        throw mismatch(col, "float[] (an element is NULL)");
                    }
                    f[i] = Float.parseFloat(elems.get(i));
                }
                return f;
            }
        }
        // a vector of an extension this session has not looked up yet (created inside the current transaction)
        if (fmt == TEXT && len > 0 && r.all.get(ValueLayout.JAVA_BYTE, addr) == '[') {
            return VectorCodec.parseVector(text());
        }
        throw mismatch(col, "float[]");
    }

    @Nullable
    SparseVector getSparseVector(int col) {
        if (!cell(col)) {
            return null;
        }
        if (r.extensionTypes.ofOid(r.types[col]) == PgType.SPARSEVEC && fmt == BINARY) {
            return VectorCodec.sparsevec(r.all.asSlice(addr, len));
        }
        if (fmt == TEXT && len > 0 && r.all.get(ValueLayout.JAVA_BYTE, addr) == '{') {
            String s = text();
            if (s.contains("}/")) {
                return VectorCodec.parseSparse(s);
            }
        }
        throw mismatch(col, "SparseVector");
    }

    byte @Nullable [] getBytes(int col) {
        if (!cell(col)) {
            return null;
        }
        MemorySegment a = r.all;
        if (fmt == BINARY) {
            byte[] b = new byte[len];
            MemorySegment.copy(a, ValueLayout.JAVA_BYTE, addr, b, 0, len);
            return b;
        }
        if (len >= 2 && a.get(ValueLayout.JAVA_BYTE, addr) == '\\' && a.get(ValueLayout.JAVA_BYTE, addr + 1) == 'x') {
            int n = (len - 2) / 2;
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) {
                int hi = Character.digit(a.get(ValueLayout.JAVA_BYTE, addr + 2 + 2L * i), 16);
                int lo = Character.digit(a.get(ValueLayout.JAVA_BYTE, addr + 3 + 2L * i), 16);
                if (hi < 0 || lo < 0) {
                    throw mismatch(col, "byte[]");
                }
                b[i] = (byte) (hi << 4 | lo);
            }
            return b;
        }
        if (r.types[col] != Oid.BYTEA) {
            byte[] b = new byte[len];
            MemorySegment.copy(a, ValueLayout.JAVA_BYTE, addr, b, 0, len);
            return b;
        }
        // escape format: \\ and \ooo
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(len);
        for (long p = addr, end = addr + len; p < end; ) {
            byte c = a.get(ValueLayout.JAVA_BYTE, p);
            if (c != '\\') {
                out.write(c);
                p++;
            } else if (p + 1 < end && a.get(ValueLayout.JAVA_BYTE, p + 1) == '\\') {
                out.write('\\');
                p += 2;
            } else if (p + 3 < end) {
                int v = (a.get(ValueLayout.JAVA_BYTE, p + 1) - '0') * 64
                        + (a.get(ValueLayout.JAVA_BYTE, p + 2) - '0') * 8
                        + (a.get(ValueLayout.JAVA_BYTE, p + 3) - '0');
                out.write(v);
                p += 4;
            } else {
                throw mismatch(col, "byte[]");
            }
        }
        return out.toByteArray();
    }

    // ---- objects --------------------------------------------------------------------------------

    @Nullable
    BigDecimal getBigDecimal(int col) {
        if (!cell(col)) {
            return null;
        }
        if (fmt == BINARY) {
            return switch (r.types[col]) {
                case Oid.FLOAT4, Oid.FLOAT8 -> BigDecimal.valueOf(getDouble(col));
                default -> BigDecimal.valueOf(getLong(col));
            };
        }
        try {
            char[] ascii = asciiChars();
            // what new BigDecimal(String) parses (it parses the String's chars), without the byte[] and String
            return ascii != null ? new BigDecimal(ascii, 0, ascii.length) : new BigDecimal(text());
        } catch (NumberFormatException e) {
            throw mismatch(col, "BigDecimal");
        }
    }

    /* the current cell's text as chars when it is ASCII (numbers are), else null */
    private char @Nullable [] asciiChars() {
        char[] c = new char[len];
        MemorySegment a = r.all;
        for (int i = 0; i < len; i++) {
            byte b = a.get(ValueLayout.JAVA_BYTE, addr + i);
            if (b < 0) {
                return null;
            }
            c[i] = (char) b;
        }
        return c;
    }

    @Nullable
    UUID getUuid(int col) {
        String s = getString(col);
        if (s == null) {
            return null;
        }
        try {
            return UUID.fromString(s);
        } catch (IllegalArgumentException e) {
            throw mismatch(col, "UUID");
        }
    }

    @Nullable
    LocalDate getLocalDate(int col) {
        String s = getString(col);
        if (s == null) {
            return null;
        }
        try {
            return TemporalText.parseDate(s);
        } catch (RuntimeException e) {
            throw mismatch(col, "LocalDate");
        }
    }

    @Nullable
    LocalTime getLocalTime(int col) {
        String s = getString(col);
        if (s == null) {
            return null;
        }
        try {
            return TemporalText.parseTime(s);
        } catch (RuntimeException e) {
            throw mismatch(col, "LocalTime");
        }
    }

    @Nullable
    LocalDateTime getLocalDateTime(int col) {
        String s = getString(col);
        if (s == null) {
            return null;
        }
        try {
            return TemporalText.parseTimestamp(s).toLocalDateTime();
        } catch (RuntimeException e) {
            throw mismatch(col, "LocalDateTime");
        }
    }

    @Nullable
    OffsetDateTime getOffsetDateTime(int col) {
        String s = getString(col);
        if (s == null) {
            return null;
        }
        try {
            return TemporalText.parseTimestamp(s);
        } catch (RuntimeException e) {
            throw mismatch(col, "OffsetDateTime");
        }
    }

    @Nullable
    Instant getInstant(int col) {
        OffsetDateTime t = getOffsetDateTime(col);
        if (t == null) {
            return null;
        }
        if (t.equals(OffsetDateTime.MAX)) {
            return Instant.MAX;
        }
        if (t.equals(OffsetDateTime.MIN)) {
            return Instant.MIN;
        }
        return t.toInstant();
    }

    @Nullable
    Object getObject(int col) {
        if (!cell(col)) {
            return null;
        }
        int type = r.types[col];
        PgType scalar = PgType.ofOid(type);
        if (scalar == null) {
            scalar = r.extensionTypes.ofOid(type);
        }
        if (scalar != null) {
            return switch (scalar.getter) {
                case BOOLEAN -> getBoolean(col);
                case SHORT -> getShort(col);
                case INT -> getInt(col);
                case LONG -> getLong(col);
                case FLOAT -> getFloat(col);
                case DOUBLE -> getDouble(col);
                case NUMERIC -> numeric(col);
                case BYTES -> getBytes(col);
                case UUID -> getUuid(col);
                case LOCAL_DATE -> getLocalDate(col);
                case LOCAL_TIME -> getLocalTime(col);
                case LOCAL_DATE_TIME -> getLocalDateTime(col);
                case OFFSET_DATE_TIME -> getOffsetDateTime(col);
                case STRING -> getString(col);
                case FLOAT_ARRAY -> getFloatArray(col);
                case SPARSE_VECTOR -> getSparseVector(col);
            };
        }
        PgType element = PgType.ofArrayOid(type);
        if (element != null) {
            String s = getString(col);
            List<String> elems = ArrayText.parse(s);
            return elems == null ? s : element.elements(elems);
        }
        return getString(col);
    }

    /* a numeric's value: BigDecimal, or Double for NaN and the infinities, which BigDecimal cannot hold */
    private Object numeric(int col) {
        String s = getString(col);
        return switch (s) {
            case "NaN" -> Double.NaN;
            case "Infinity" -> Double.POSITIVE_INFINITY;
            case "-Infinity" -> Double.NEGATIVE_INFINITY;
            default -> new BigDecimal(s);
        };
    }
}
