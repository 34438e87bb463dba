package dev.pgembed;

import dev.pgembed.internal.bindings.PgEmbeddedH;
import dev.pgembed.internal.bindings.pgembed_cell;
import dev.pgembed.internal.bindings.pgembed_field;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The rows of a query, read in place from the native result (no copy into Java objects until a getter
 * is called).
 *
 * <p>A result lives in an {@link Arena}: {@link PgEmbedded#query(String, Object...)} gives it an arena of
 * its own that {@link #close()} closes; {@link PgEmbedded#query(Arena, String, Object...)} ties it to the
 * caller's arena, and closing that arena frees it ({@link #close()} then does nothing). Reading a result
 * (or one of its {@link Row}s) after it was freed throws {@link IllegalStateException}.
 *
 * <p>A result may be read by several threads at once while it is open.
 */
public final class Result implements AutoCloseable, Iterable<Row> {
    /* the cells of all rows, row after row, each a pgembed_cell as the bindings lay it out */
    static final long CELL_SIZE = pgembed_cell.sizeof();
    /* a column's description, a pgembed_field */
    static final long FIELD_SIZE = pgembed_field.sizeof();
    /** All memory, but scoped to the result's arena: every read through it checks that the arena is alive. */
    final MemorySegment all;

    /* where the cells begin, read through all (rows and columns are checked before a cell is read) */
    final long cellsAt;
    final int rows;
    final int cols;
    final int[] types;
    private final Arena arena;
    private final boolean ownsArena;
    private final List<Column> columns;
    private final String commandTag;
    private final long rowsAffected;
    private final List<Notice> notices;
    /** The OIDs of extension types in the database of the result (read when a column is of one). */
    final ExtensionTypes extensionTypes;

    /* the result of a checked call: its counts, columns and cells come from the header the check read */
    Result(NativeSession.Raw raw, Arena arena, boolean ownsArena, ExtensionTypes extensionTypes) {
        this(raw, arena, ownsArena, extensionTypes, null);
    }

    /* shape: the last result of the same prepared statement, whose columns and tag this one shares if equal (or null) */
    Result(NativeSession.Raw raw, Arena arena, boolean ownsArena, ExtensionTypes extensionTypes, ResultShape shape) {
        this.extensionTypes = extensionTypes;
        this.arena = arena;
        this.ownsArena = ownsArena;
        this.notices = raw.notices();
        try {
            raw.ptr().reinterpret(arena, PgEmbeddedH::pgembed_result_free);
        } catch (RuntimeException e) {
            raw.free();
            throw e;
        }
        long n = raw.ntuples();
        if (n > Integer.MAX_VALUE) {
            throw new PgException("54000", "the result has more than 2^31 rows: use a cursor");
        }
        rows = (int) n;
        cols = raw.nfields();
        ResultShape.Columns same = shape == null ? null : shape.sameColumns(raw.fields(), cols);
        if (same == null) {
            same = readColumns(raw.fields(), cols, shape != null);
            if (shape != null) {
                shape.keepColumns(same);
            }
        }
        columns = same.list;
        types = same.types;
        String tag = shape == null ? null : shape.sameTag(raw.tag());
        if (tag == null) {
            tag = raw.commandTag();
            if (shape != null) {
                shape.keepTag(tag);
            }
        }
        commandTag = tag;
        rowsAffected = raw.rowsAffected();
        all = MemorySegment.NULL.reinterpret(Long.MAX_VALUE, arena, null);
        cellsAt = raw.cells();
    }

    /* the columns of the native fields, decoded */
    private static ResultShape.Columns readColumns(long nativeFields, int cols, boolean kept) {
        int[] types = new int[cols];
        List<Column> cs = new ArrayList<>(cols);
        MemorySegment fields = cols == 0
                ? MemorySegment.NULL
                : MemorySegment.ofAddress(nativeFields).reinterpret(cols * FIELD_SIZE);
        for (int i = 0; i < cols; i++) {
            MemorySegment f = fields.asSlice(i * FIELD_SIZE, FIELD_SIZE);
            types[i] = pgembed_field.type(f);
            cs.add(new Column(
                    pgembed_field.name(f).reinterpret(Long.MAX_VALUE).getString(0),
                    types[i],
                    pgembed_field.typmod(f),
                    pgembed_field.format(f)));
        }
        return new ResultShape.Columns(Collections.unmodifiableList(cs), types, kept);
    }

    /** {@return the number of rows} */
    public int rowCount() {
        return rows;
    }

    /** {@return the number of columns} */
    public int columnCount() {
        return cols;
    }

    /** {@return the columns, in order} */
    public List<Column> columns() {
        return columns;
    }

    /** {@return the command tag of the statement, for example {@code SELECT 3} or {@code INSERT 0 1}} */
    public String commandTag() {
        return commandTag;
    }

    /**
     * {@return the rows affected (INSERT, UPDATE, DELETE, MERGE, COPY) or returned (SELECT); -1 when not
     * applicable}
     */
    public long rowsAffected() {
        return rowsAffected;
    }

    /** {@return the NOTICE/WARNING messages the statement raised, in order (also given to the notice listener)} */
    public List<Notice> notices() {
        return notices;
    }

    /**
     * The row at an index.
     *
     * @param index 0-based
     * @return a view of the row, valid while the result is open
     */
    public Row row(int index) {
        if (index < 0 || index >= rows) {
            throw new IndexOutOfBoundsException("row " + index + " of a result with " + rows + " rows");
        }
        return new Row(this, index);
    }

    /**
     * The index of a column, found as pgjdbc's {@code ResultSet.findColumn} finds it: the first column whose
     * name is exactly {@code name} (as PostgreSQL reports it: unquoted identifiers in lower case); if there is
     * none, the first whose name equals it ignoring case. So {@code "A"} finds a column {@code a}, unless a
     * column {@code "A"} exists.
     *
     * @param name the column's name
     * @return its 0-based index
     * @throws IllegalArgumentException when no column has that name
     */
    public int columnIndex(String name) {
        for (int i = 0; i < cols; i++) {
            if (columns.get(i).name().equals(name)) {
                return i;
            }
        }
        for (int i = 0; i < cols; i++) {
            if (columns.get(i).name().equalsIgnoreCase(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no column named \"" + name + "\" in " + columnNames());
    }

    private List<String> columnNames() {
        return columns.stream().map(Column::name).toList();
    }

    /** Iterates over the rows (views valid while the result is open). */
    @Override
    public Iterator<Row> iterator() {
        return new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
                return next < rows;
            }

            @Override
            public Row next() {
                if (next >= rows) {
                    throw new NoSuchElementException();
                }
                return new Row(Result.this, next++);
            }
        };
    }

    /** {@return the rows as a sequential stream (views valid while the result is open)} */
    public Stream<Row> stream() {
        return StreamSupport.stream(
                Spliterators.spliterator(
                        iterator(), rows, Spliterator.ORDERED | Spliterator.NONNULL | Spliterator.SIZED),
                false);
    }

    /** {@return true while the result can be read (its arena is alive)} */
    public boolean isOpen() {
        return arena.scope().isAlive();
    }

    /**
     * Frees the native result when it owns its arena (the {@code query(String, ...)} forms); does nothing for
     * a result tied to a caller's arena. Idempotent.
     */
    @Override
    public void close() {
        if (ownsArena && arena.scope().isAlive()) {
            try {
                arena.close();
            } catch (IllegalStateException ignored) {
                // closed concurrently
            }
        }
    }

    @Override
    public String toString() {
        return "Result[" + commandTag + ", " + rows + " rows, columns " + columnNames() + "]";
    }
}
