package dev.pgembed;

import java.lang.foreign.Arena;
import org.jspecify.annotations.Nullable;

/**
 * A transaction (or, nested in another one, a savepoint) that belongs to the thread that began it; see
 * {@link SqlSession#begin()} and {@link SqlSession#transactionResult(TransactionFunction)}. Its statements run
 * on the session of the database it came from.
 */
public final class Transaction implements AutoCloseable {
    private final SqlSession db;
    final String savepoint;
    private final Thread thread;
    volatile boolean ended;

    Transaction(SqlSession db, String savepoint, Thread thread) {
        this.db = db;
        this.savepoint = savepoint;
        this.thread = thread;
    }

    private void check() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException(
                    "this transaction belongs to thread \"" + thread.getName() + "\": use it from that thread");
        }
        if (ended) {
            throw new IllegalStateException("this transaction has ended");
        }
    }

    /**
     * Runs a statement in this transaction: see {@link SqlSession#execute(String, Object...)}.
     *
     * @param sql    the SQL text
     * @param params the parameter values
     * @return the rows affected
     */
    public long execute(String sql, @Nullable Object... params) {
        check();
        return db.execute(sql, params);
    }

    /**
     * Runs a query in this transaction: see {@link SqlSession#query(String, Object...)}.
     *
     * @param sql    one SQL statement
     * @param params the parameter values
     * @return the result, owning its memory
     */
    public Result query(String sql, @Nullable Object... params) {
        check();
        return db.query(sql, params);
    }

    /**
     * Runs a query in this transaction, its result tied to an arena: see
     * {@link SqlSession#query(Arena, String, Object...)}.
     *
     * @param arena  the arena that owns the result
     * @param sql    one SQL statement
     * @param params the parameter values
     * @return the result
     */
    public Result query(Arena arena, String sql, @Nullable Object... params) {
        check();
        return db.query(arena, sql, params);
    }

    /**
     * Prepares a statement: see {@link SqlSession#prepare(String)} (it outlives the transaction).
     *
     * @param sql one SQL statement
     * @return the prepared statement
     */
    public PreparedStatement prepare(String sql) {
        check();
        return db.prepare(sql);
    }

    /**
     * Opens a cursor in this transaction: see {@link SqlSession#cursor(String, int, Object...)}.
     *
     * @param sql       one SQL statement
     * @param fetchSize rows per fetch
     * @param params    the parameter values
     * @return the cursor
     */
    public RowCursor cursor(String sql, int fetchSize, @Nullable Object... params) {
        check();
        return db.cursor(sql, fetchSize, params);
    }

    /**
     * Commits the transaction (releases the savepoint, for a nested one).
     *
     * @throws PgException when the commit fails, or (SQLSTATE 25P02) when PostgreSQL rolled the
     *                     transaction back because a statement in it failed
     */
    public void commit() {
        check();
        db.endTransaction(this, true);
    }

    /** Rolls the transaction back (to the savepoint, for a nested one). Does nothing once it has ended. */
    public void rollback() {
        if (ended || !db.isOpen()) {
            ended = true;
            return;
        }
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException(
                    "this transaction belongs to thread \"" + thread.getName() + "\": roll it back from that thread");
        }
        db.endTransaction(this, false);
    }

    /* the session it was begun through */
    SqlSession origin() {
        return db;
    }

    /* rolls back when the calling thread is the one that began it (the end of its session) */
    void rollbackIfOwned() {
        if (Thread.currentThread() == thread && !ended) {
            rollback();
        }
    }

    /** {@return true until it was committed or rolled back (or the database closed)} */
    public boolean isActive() {
        return !ended && db.isOpen();
    }

    /** Rolls back unless committed or rolled back already. */
    @Override
    public void close() {
        rollback();
    }

    @Override
    public String toString() {
        return "Transaction[" + (savepoint != null ? "savepoint " + savepoint : "top-level") + (ended ? ", ended" : "")
                + "]";
    }
}
