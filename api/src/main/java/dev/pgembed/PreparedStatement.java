package dev.pgembed;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A statement prepared on the server (parsed once, planned per PostgreSQL's plan cache rules), kept
 * across transactions until {@link #close()}. Thread-safe like the database it belongs to.
 *
 * <p>Its parameters have the types the statement gives them, and a value is sent in the form its parameter's
 * type takes where that matters: a {@code float[]} for a {@code vector} (or {@code halfvec}, {@code sparsevec})
 * parameter goes in that type's binary form, as in {@code INSERT INTO items VALUES ($1, $2)} or
 * {@code ORDER BY embedding <-> $1}; for a {@code real[]} parameter, and in {@link PgEmbedded#query(String,
 * Object...)}, it is a {@code real[]}.
 */
public final class PreparedStatement implements AutoCloseable {
    private final SqlSession db;
    private final String name;
    /* the name in native memory, made once: every execution passes it */
    private final MemorySegment nativeName;
    private final String sql;
    private volatile boolean closed;
    /* the parameter types the statement declares, described once when a parameter needs them */
    private volatile int[] declared;
    /* the last result's columns and tag, shared by the next result where it has the same */
    final ResultShape shape = new ResultShape();

    PreparedStatement(SqlSession db, String name, String sql) {
        this.db = db;
        this.name = name;
        this.nativeName = Arena.ofAuto().allocateFrom(name);
        this.sql = sql;
    }

    private void check() {
        if (closed) {
            throw new IllegalStateException("prepared statement " + name + " is closed");
        }
    }

    MemorySegment nativeName() {
        return nativeName;
    }

    /* the statement's parameter types when the encoding of params depends on them (a float[]), else null */
    int @Nullable [] declaredTypes(NativeSession n, @Nullable Object[] params) {
        if (!Params.dependsOnDeclaredTypes(params)) {
            return null;
        }
        int[] d = declared;
        if (d == null) {
            d = n.parameterTypes(nativeName);
            declared = d;
        }
        return d;
    }

    /** {@return the server-side name, for example {@code pgembed_s1}} */
    public String name() {
        return name;
    }

    /** {@return the SQL text} */
    public String sql() {
        return sql;
    }

    /**
     * Executes the statement.
     *
     * @param params the parameter values (see {@link SqlSession#query(String, Object...)})
     * @return the rows affected (or returned)
     */
    public long execute(@Nullable Object... params) {
        check();
        return db.executePrepared(this, params);
    }

    /**
     * Executes the statement and returns its rows. The result belongs to the calling thread; use
     * {@link #query(Arena, Object...)} with a shared arena to read it from others.
     *
     * @param params the parameter values
     * @return the result, owning its memory
     */
    public Result query(@Nullable Object... params) {
        check();
        Arena arena = Arena.ofConfined();
        try {
            return db.queryPrepared(arena, true, this, params);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Executes the statement and ties its result to the caller's arena.
     *
     * @param arena  the arena that owns the result
     * @param params the parameter values
     * @return the result
     */
    public Result query(Arena arena, @Nullable Object... params) {
        check();
        return db.queryPrepared(Objects.requireNonNull(arena, "arena"), false, this, params);
    }

    /**
     * Executes the statement once per parameter set, in one native call. Outside a transaction the batch
     * is atomic (all sets or none); inside one it belongs to it. A plain {@code INSERT INTO t [(cols)]
     * VALUES ($1, ..., $n)} into a table without triggers, rules or row security runs as one set-oriented
     * insert, with the same outcome as row by row; so does an {@code UPDATE t SET ... WHERE id = $k} on an
     * integer column whose sets have distinct keys, when nothing in it depends on the order of the rows.
     *
     * @param paramSets the parameter sets, each with the same number of values
     * @return the total rows affected
     * @throws PgException when a set fails; its {@link PgException#batchIndex()} names that set
     */
    public long executeBatch(List<@Nullable Object[]> paramSets) {
        check();
        return db.executeBatch(this, Objects.requireNonNull(paramSets, "paramSets"));
    }

    /** Deallocates the statement on the server. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            db.deallocate(name);
        }
    }

    @Override
    public String toString() {
        return "PreparedStatement[" + name + ": " + sql + "]";
    }
}
