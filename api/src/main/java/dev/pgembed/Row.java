package dev.pgembed;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * One row of a {@link Result} (or of a {@link RowCursor} batch): a view that reads values in place from
 * native memory. It is valid while its result is open; reading it afterwards throws
 * {@link IllegalStateException}.
 *
 * <p>Numeric getters read the binary form when PostgreSQL sent one (bool, int2/4/8, oid, float4/8
 * columns) and parse the text form otherwise. Getters of primitive types throw {@link PgException}
 * (SQLSTATE 22004) on SQL NULL: test {@link #isNull(int)} first, or use {@link #getObject(int)}; getters
 * of object types return null. A value that does not convert (wrong type, out of range) throws
 * {@link PgException} with SQLSTATE 22003 (out of range) or 42804 (datatype mismatch).
 *
 * <p>A row is a cursor-like view, not thread-safe: read it from one thread at a time (its result may be
 * read by several threads, each through rows of its own).
 *
 * <p>{@link #getObject(int)} maps PostgreSQL types to Java as follows: bool → Boolean, int2 → Short,
 * int4 → Integer, int8 and oid → Long, float4 → Float, float8 → Double, numeric → BigDecimal (NaN and
 * ±Infinity → Double), bytea → byte[], uuid → UUID, date → LocalDate, time → LocalTime, timestamp →
 * LocalDateTime, timestamptz → OffsetDateTime, one-dimensional arrays of these → the Java array of the
 * element's type (Boolean[], Short[], Integer[], Long[], Float[], Double[], BigDecimal[], String[], UUID[],
 * LocalDate[], LocalTime[], LocalDateTime[], OffsetDateTime[]), pgvector's vector and halfvec → float[]
 * and sparsevec → {@link SparseVector}, everything else (text, varchar, json, interval, bit, multidimensional
 * arrays, ...) → its text form as String. The date/time infinities map to the MIN/MAX constants of the Java
 * types, BC years to years &lt;= 0.
 *
 * <p>pgvector's types come in binary once the session knows their OIDs in its database: from the start
 * when the extension was there, otherwise after the statement that created it (outside a transaction block,
 * else after the block). Until then they come as text, which the same getters parse.
 */
public final class Row {
    /* the cell reader: where the values are decoded */
    private final CellReader cells;

    Row(Result r, int row) {
        cells = new CellReader(r, row);
    }

    /* a column by name, matched as Result.columnIndex matches it */
    private int col(String column) {
        return cells.r.columnIndex(column);
    }

    /** {@return the 0-based index of this row in its result} */
    public int index() {
        return cells.row;
    }

    /** {@return the result this row belongs to} */
    public Result result() {
        return cells.r;
    }

    /**
     * {@return true when the value is SQL NULL}
     *
     * @param col the column's 0-based index
     */
    public boolean isNull(int col) {
        return cells.isNull(col);
    }

    /**
     * {@return true when the value is SQL NULL}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public boolean isNull(String column) {
        return isNull(col(column));
    }

    // ---- integers --------------------------------------------------------------------------------

    /**
     * {@return the value as an int (int2/int4/int8/oid/numeric/text columns; range-checked)}
     *
     * @param col the column's 0-based index
     */
    public int getInt(int col) {
        return cells.getInt(col);
    }

    /**
     * {@return the value as an int}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public int getInt(String column) {
        return getInt(col(column));
    }

    /**
     * {@return the value as a long}
     *
     * @param col the column's 0-based index
     */
    public long getLong(int col) {
        return cells.getLong(col);
    }

    /**
     * {@return the value as a long}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public long getLong(String column) {
        return getLong(col(column));
    }

    /**
     * {@return the value as a short (range-checked)}
     *
     * @param col the column's 0-based index
     */
    public short getShort(int col) {
        return cells.getShort(col);
    }

    /**
     * {@return the value as a short}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public short getShort(String column) {
        return getShort(col(column));
    }

    // ---- floating point and boolean -------------------------------------------------------------

    /**
     * {@return the value as a double}
     *
     * @param col the column's 0-based index
     */
    public double getDouble(int col) {
        return cells.getDouble(col);
    }

    /**
     * {@return the value as a double}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public double getDouble(String column) {
        return getDouble(col(column));
    }

    /**
     * {@return the value as a float}
     *
     * @param col the column's 0-based index
     */
    public float getFloat(int col) {
        return cells.getFloat(col);
    }

    /**
     * {@return the value as a float}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public float getFloat(String column) {
        return getFloat(col(column));
    }

    /**
     * {@return the value as a boolean (bool columns; text {@code t}/{@code f}/{@code true}/{@code false})}
     *
     * @param col the column's 0-based index
     */
    public boolean getBoolean(int col) {
        return cells.getBoolean(col);
    }

    /**
     * {@return the value as a boolean}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public boolean getBoolean(String column) {
        return getBoolean(col(column));
    }

    // ---- text and bytes -------------------------------------------------------------------------

    /**
     * The value as a String: the text form PostgreSQL sent, or for binary columns (bool, integers, oid,
     * floats) the text PostgreSQL's output function would give ({@code t}/{@code f} for bool; float4/float8
     * as with the default {@code extra_float_digits} of 1, for example {@code 1e+20}, {@code 0.1},
     * {@code -Infinity}; a session with {@code extra_float_digits} of 0 or less prints fewer digits, which
     * the binary value cannot know); null for SQL NULL.
     *
     * @param col the column's 0-based index
     * @return the text, or null for SQL NULL
     */
    public @Nullable String getString(int col) {
        return cells.getString(col);
    }

    /**
     * The value of a pgvector {@code vector} or {@code halfvec} column (or a {@code sparsevec}, made dense, or
     * a {@code real[]} or {@code double precision[]}) as a float[]; null for NULL. A vector arrives in binary
     * and is read in place, without a text form in between.
     *
     * @param col the column's 0-based index
     * @return the elements, or null for SQL NULL
     * @throws PgException (42804) for a column of another type, or an array with a NULL element
     */
    public float @Nullable [] getFloatArray(int col) {
        return cells.getFloatArray(col);
    }

    /**
     * {@return the value as a float[]}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public float @Nullable [] getFloatArray(String column) {
        return getFloatArray(col(column));
    }

    /**
     * The value of a pgvector {@code sparsevec} column; null for NULL.
     *
     * @param col the column's 0-based index
     * @return the vector, or null for SQL NULL
     * @throws PgException (42804) for a column of another type
     */
    public @Nullable SparseVector getSparseVector(int col) {
        return cells.getSparseVector(col);
    }

    /**
     * {@return the value as a SparseVector}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public @Nullable SparseVector getSparseVector(String column) {
        return getSparseVector(col(column));
    }

    /**
     * {@return the value as a String}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public @Nullable String getString(String column) {
        return getString(col(column));
    }

    /**
     * {@return the value of a bytea column as bytes (binary form, or decoded from the hex/escape text form);
     * null for NULL}
     *
     * @param col the column's 0-based index
     */
    public byte @Nullable [] getBytes(int col) {
        return cells.getBytes(col);
    }

    /**
     * {@return the value as bytes}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public byte @Nullable [] getBytes(String column) {
        return getBytes(col(column));
    }

    // ---- objects --------------------------------------------------------------------------------

    /**
     * {@return the value as a BigDecimal (numeric and other number columns); null for NULL}
     *
     * @param col the column's 0-based index
     */
    public @Nullable BigDecimal getBigDecimal(int col) {
        return cells.getBigDecimal(col);
    }

    /**
     * {@return the value as a BigDecimal}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public @Nullable BigDecimal getBigDecimal(String column) {
        return getBigDecimal(col(column));
    }

    /**
     * {@return the value of a uuid column; null for NULL}
     *
     * @param col the column's 0-based index
     */
    public @Nullable UUID getUuid(int col) {
        return cells.getUuid(col);
    }

    /**
     * {@return the value as a UUID}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public @Nullable UUID getUuid(String column) {
        return getUuid(col(column));
    }

    /**
     * {@return the value of a date column (or the date of a timestamp); null for NULL}
     *
     * @param col the column's 0-based index
     */
    public @Nullable LocalDate getLocalDate(int col) {
        return cells.getLocalDate(col);
    }

    /**
     * {@return the value as a LocalDate}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public @Nullable LocalDate getLocalDate(String column) {
        return getLocalDate(col(column));
    }

    /**
     * {@return the value of a time column; null for NULL}
     *
     * @param col the column's 0-based index
     */
    public @Nullable LocalTime getLocalTime(int col) {
        return cells.getLocalTime(col);
    }

    /**
     * {@return the value as a LocalTime}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public @Nullable LocalTime getLocalTime(String column) {
        return getLocalTime(col(column));
    }

    /**
     * {@return the value of a timestamp column (for timestamptz: the local date-time in the session's time
     * zone); null for NULL}
     *
     * @param col the column's 0-based index
     */
    public @Nullable LocalDateTime getLocalDateTime(int col) {
        return cells.getLocalDateTime(col);
    }

    /**
     * {@return the value as a LocalDateTime}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public @Nullable LocalDateTime getLocalDateTime(String column) {
        return getLocalDateTime(col(column));
    }

    /**
     * The value of a timestamptz column, with the offset of the session's time zone; a timestamp without
     * time zone is taken as UTC. Null for NULL.
     *
     * @param col the column's 0-based index
     * @return the value, or null for SQL NULL
     */
    public @Nullable OffsetDateTime getOffsetDateTime(int col) {
        return cells.getOffsetDateTime(col);
    }

    /**
     * {@return the value as an OffsetDateTime}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public @Nullable OffsetDateTime getOffsetDateTime(String column) {
        return getOffsetDateTime(col(column));
    }

    /**
     * {@return the value of a timestamptz column as an Instant (a timestamp without time zone is taken as
     * UTC); null for NULL}
     *
     * @param col the column's 0-based index
     */
    public @Nullable Instant getInstant(int col) {
        return cells.getInstant(col);
    }

    /**
     * {@return the value as an Instant}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public @Nullable Instant getInstant(String column) {
        return getInstant(col(column));
    }

    /**
     * {@return the value as the Java object of the type mapping described in the class documentation; null for NULL}
     *
     * @param col the column's 0-based index
     */
    public @Nullable Object getObject(int col) {
        return cells.getObject(col);
    }

    /**
     * {@return the value as an Object}
     *
     * @param column the column's name, matched as {@link Result#columnIndex(String)} matches it
     */
    public @Nullable Object getObject(String column) {
        return getObject(col(column));
    }

    @Override
    public String toString() {
        List<Object> values = new ArrayList<>(cells.r.cols);
        for (int i = 0; i < cells.r.cols; i++) {
            values.add(getString(i));
        }
        return "Row" + values;
    }
}
