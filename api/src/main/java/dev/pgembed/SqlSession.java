package dev.pgembed;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * A PostgreSQL session to run SQL on: the statements, prepared statements, cursors, COPY and transactions
 * of {@link PgEmbedded} (the database's own session) and of {@link PgSession} (a further session of the
 * same database, from {@link PgEmbedded#session()}).
 *
 * <p>A session may be shared by any number of threads: its calls are serialised (one statement runs at a
 * time, on the calling thread), and a transaction belongs to the thread that began it
 * ({@link #transactionResult(TransactionFunction)}, {@link #begin()}, or a plain {@code BEGIN}): while it is
 * open, calls from other threads wait until it ends, at most {@link PgEmbedded.Builder#transactionWaitTimeout}
 * (then they fail with SQLSTATE 55P03); they never join it. A {@link RowCursor} belongs to its thread in the
 * same way. Threads that need transactions at the same time use sessions of their own.
 */
public abstract sealed class SqlSession permits PgEmbedded, PgSession {
    /* names of prepared statements and savepoints: unique in the process, so sessions sharing a backend never collide */
    private static final AtomicLong STATEMENT_IDS = new AtomicLong();
    private static final AtomicLong SAVEPOINT_IDS = new AtomicLong();

    SqlSession() {}

    /* the turn-taking over the backend this session's statements run on; throws once the session is closed */
    abstract Session turns();

    /**
     * The process id of the PostgreSQL backend this session runs on, as {@code pg_backend_pid()} and
     * {@code pg_stat_activity.pid} show it: a virtual pid of the database's cluster when the database runs
     * several backends ({@link PgEmbedded.Builder#backends(int)}), this process's id otherwise.
     *
     * @return the backend's pid
     * @throws IllegalStateException when the session is closed
     */
    public int backendPid() {
        return turns().call(NativeSession::backendPid);
    }

    // =============================================================================================
    // Statements
    // =============================================================================================

    /**
     * Runs a statement and returns the number of rows it affected (INSERT/UPDATE/DELETE/MERGE/COPY) or
     * returned (SELECT); 0 for other statements. Without parameters the text may hold several statements
     * separated by semicolons (the count is the last one's).
     *
     * <p>{@code COPY ... FROM STDIN} and {@code COPY ... TO STDOUT} need {@link #copyIn} and {@link #copyOut}:
     * here and in the other statement methods they are refused with 0A000, stopped before they read or
     * write any data (so they have no effect; like any failed statement, the refusal fails an open
     * transaction block).
     *
     * @param sql    the SQL text, with placeholders {@code $1}, {@code $2}, ... for the parameters
     * @param params the parameter values (see {@link #query(String, Object...)} for the supported types)
     * @return the rows affected
     * @throws PgException when the statement fails
     */
    public long execute(String sql, @Nullable Object... params) {
        Objects.requireNonNull(sql, "sql");
        return turns().call(n -> n.execute(sql, params));
    }

    /**
     * Runs a query and returns its rows, read in place from native memory; close the result (or use
     * try-with-resources) to free it. The result belongs to the calling thread (its memory lives in a
     * confined arena, which costs nothing to close); to read it from other threads, pass a shared arena
     * to {@link #query(Arena, String, Object...)}.
     *
     * <p>Parameters are sent separately from the SQL text, never spliced into it: Integer (int4), Long
     * (int8), Short (int2), Double (float8), Float (float4), BigDecimal (numeric), String (type inferred
     * by PostgreSQL), byte[] (bytea), Boolean, UUID, LocalDate (date), LocalTime (time), LocalDateTime
     * (timestamp), OffsetDateTime and Instant (timestamptz), arrays of these (including int[], long[],
     * short[], double[], float[], boolean[]), {@link SparseVector} (pgvector's sparsevec, in binary), and null.
     * Other types throw {@link IllegalArgumentException}. A float[] is a real[] here ({@code $1::vector} makes
     * it a pgvector vector); in a {@link PreparedStatement} it takes its parameter's type, and a vector
     * parameter gets it in binary.
     *
     * @param sql    one SQL statement, with placeholders {@code $1}, {@code $2}, ...
     * @param params the parameter values
     * @return the result, owning its memory
     * @throws PgException when the statement fails
     */
    public Result query(String sql, @Nullable Object... params) {
        // confined: closing a shared arena is a handshake with every thread (tens of microseconds)
        Arena arena = Arena.ofConfined();
        try {
            return query(arena, true, sql, params);
        } catch (RuntimeException | Error ex) {
            arena.close();
            throw ex;
        }
    }

    /**
     * Runs a query and ties its native result to the caller's arena: closing the arena frees it.
     *
     * @param arena  the arena that owns the result (its thread confinement applies to reading it)
     * @param sql    one SQL statement, with placeholders {@code $1}, {@code $2}, ...
     * @param params the parameter values (see {@link #query(String, Object...)})
     * @return the result
     * @throws PgException when the statement fails
     */
    public Result query(Arena arena, String sql, @Nullable Object... params) {
        return query(Objects.requireNonNull(arena, "arena"), false, sql, params);
    }

    Result query(Arena resultArena, boolean owns, String sql, Object[] params) {
        Objects.requireNonNull(sql, "sql");
        return turns().call(n -> n.query(resultArena, owns, sql, params));
    }

    /**
     * Prepares a statement on the server (parsed and planned once, kept across transactions until closed).
     *
     * @param sql one SQL statement, with placeholders {@code $1}, {@code $2}, ...
     * @return the prepared statement; close it to deallocate it
     * @throws PgException when the statement does not parse
     */
    public PreparedStatement prepare(String sql) {
        Objects.requireNonNull(sql, "sql");
        String name = "pgembed_s" + STATEMENT_IDS.incrementAndGet();
        return turns().call(n -> {
            n.prepare(name, sql);
            return new PreparedStatement(this, name, sql);
        });
    }

    long executePrepared(PreparedStatement ps, Object[] params) {
        return turns().call(n -> n.executePrepared(ps.nativeName(), params, ps.declaredTypes(n, params)));
    }

    Result queryPrepared(Arena resultArena, boolean owns, PreparedStatement ps, Object[] params) {
        return turns().call(n ->
                n.queryPrepared(resultArena, owns, ps.nativeName(), params, ps.declaredTypes(n, params), ps.shape));
    }

    long executeBatch(PreparedStatement ps, List<Object[]> sets) {
        if (sets.isEmpty()) {
            return 0;
        }
        return turns().call(n -> n.executeBatch(ps.name(), sets, ps.declaredTypes(n, sets.get(0))));
    }

    void deallocate(String name) {
        if (!isOpen()) {
            return;
        }
        turns().call(n -> {
            n.deallocate(name);
            return null;
        });
    }

    /**
     * Runs a query through a cursor that fetches {@code fetchSize} rows at a time, so that memory stays
     * bounded however many rows the query returns. Until the cursor is exhausted or closed, it holds the
     * session: other threads wait, and the owning thread can run no other statement. Use it from the
     * thread that opened it.
     *
     * @param sql       one SQL statement, with placeholders {@code $1}, {@code $2}, ...
     * @param fetchSize the rows per fetch (at least 1)
     * @param params    the parameter values (see {@link #query(String, Object...)})
     * @return the cursor; close it (try-with-resources) when not read to the end
     */
    public RowCursor cursor(String sql, int fetchSize, @Nullable Object... params) {
        Objects.requireNonNull(sql, "sql");
        if (fetchSize < 1) {
            throw new IllegalArgumentException("fetchSize must be at least 1");
        }
        Thread caller = Thread.currentThread();
        return turns().callOnOsThread(n -> {
            NativeSession.Raw r = n.cursorOpen(sql, params, fetchSize);
            RowCursor c = new RowCursor(this, caller, fetchSize, newBatch(r, n), r.status() == NativeSession.SUSPENDED);
            if (r.status() == NativeSession.SUSPENDED) {
                turns().setOpenCursor(c);
            }
            return c;
        });
    }

    private static Result newBatch(NativeSession.Raw r, NativeSession n) {
        return new Result(r, Arena.ofShared(), true, n.extensionTypes());
    }

    /* next batch of the open cursor; null result status tells whether more follow */
    Result cursorFetch(RowCursor c, boolean[] more) {
        return turns().callOnOsThread(n -> {
            if (!turns().isOpenCursor(c)) {
                throw new IllegalStateException("the cursor is no longer open");
            }
            NativeSession.Raw r;
            try {
                r = n.cursorFetch(c.fetchSize);
            } catch (RuntimeException ex) {
                turns().setOpenCursor(null);
                throw ex;
            }
            more[0] = r.status() == NativeSession.SUSPENDED;
            if (!more[0]) {
                turns().setOpenCursor(null);
            }
            return newBatch(r, n);
        });
    }

    void cursorClose(RowCursor c) {
        if (!isOpen()) {
            return;
        }
        turns().callOnOsThread(n -> {
            if (turns().isOpenCursor(c)) {
                turns().setOpenCursor(null);
                n.cursorClose();
            }
            return null;
        });
    }

    /**
     * Runs {@code COPY ... FROM STDIN} and streams the data in from an InputStream (in the COPY's format,
     * by default tab-separated text lines, UTF-8).
     *
     * @param copySql the COPY statement, for example {@code COPY t FROM STDIN (FORMAT csv)}
     * @param in      the data; read to its end, not closed
     * @return the rows copied
     * @throws PgException          when the COPY fails (bad data, constraint violation, ...)
     * @throws UncheckedIOException when reading the stream fails (the COPY is aborted)
     */
    public long copyIn(String copySql, InputStream in) {
        Objects.requireNonNull(in, "in");
        return copyIn(copySql, in::read);
    }

    /**
     * Runs {@code COPY ... FROM STDIN} and streams the data in from a Reader (sent as UTF-8).
     *
     * @param copySql the COPY statement
     * @param in      the data; read to its end, not closed
     * @return the rows copied
     * @throws PgException          when the COPY fails
     * @throws UncheckedIOException when reading fails (the COPY is aborted)
     */
    public long copyIn(String copySql, Reader in) {
        Objects.requireNonNull(in, "in");
        return copyIn(copySql, new CopyStreams.ReaderSource(in));
    }

    private long copyIn(String copySql, CopyStreams.Source source) {
        Objects.requireNonNull(copySql, "copySql");
        return turns().callOnOsThread(n -> n.copyIn(copySql, source));
    }

    /**
     * Runs {@code COPY ... TO STDOUT} and streams the data out to an OutputStream.
     *
     * @param copySql the COPY statement, for example {@code COPY t TO STDOUT (FORMAT csv)}
     * @param out     receives the data; not closed
     * @return the rows copied
     * @throws PgException          when the COPY fails
     * @throws UncheckedIOException when writing fails (the COPY is aborted where it stands, as
     *                              {@link #copyIn(String, InputStream)} aborts on a failed read)
     */
    public long copyOut(String copySql, OutputStream out) {
        Objects.requireNonNull(out, "out");
        return copyOut(copySql, (b, n) -> out.write(b, 0, n));
    }

    /**
     * Runs {@code COPY ... TO STDOUT} and streams the data out to a Writer (decoded from UTF-8).
     *
     * @param copySql the COPY statement
     * @param out     receives the data; not closed
     * @return the rows copied
     * @throws PgException          when the COPY fails
     * @throws UncheckedIOException when writing fails (the COPY is aborted)
     */
    public long copyOut(String copySql, Writer out) {
        Objects.requireNonNull(out, "out");
        CopyStreams.WriterSink sink = new CopyStreams.WriterSink(out);
        long rows = copyOut(copySql, sink);
        try {
            sink.finish();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return rows;
    }

    private long copyOut(String copySql, CopyStreams.Sink sink) {
        Objects.requireNonNull(copySql, "copySql");
        return turns().callOnOsThread(n -> n.copyOut(copySql, sink));
    }

    /**
     * Cancels the statement running on this database, from any thread; it fails with a
     * {@link PgException} whose {@link PgException#isQueryCanceled()} is true. Does nothing when no
     * statement runs.
     */
    public void cancel() {
        turns().natives().cancel();
    }

    /**
     * The transaction status after the last statement.
     *
     * @return the status; {@link TransactionStatus#CLOSED} once closed
     */
    public TransactionStatus transactionStatus() {
        return turns().transactionStatus();
    }

    /**
     * True until the session is closed ({@link PgEmbedded#close()}, {@link PgSession#close()}), or until its
     * engine ended with a FATAL error.
     *
     * @return whether statements can run
     */
    public boolean isOpen() {
        return turns().isOpen();
    }

    // =============================================================================================
    // Transactions
    // =============================================================================================

    /**
     * Runs a body in a transaction: commits when it returns, rolls back when it throws (and rethrows).
     * Called inside another transaction of the same thread, it runs in a savepoint instead. The
     * transaction belongs to the calling thread.
     *
     * <pre>{@code
     * long moved = db.transactionResult(tx -> {
     *     tx.execute("UPDATE accounts SET balance = balance - 10 WHERE id = $1", from);
     *     return tx.execute("UPDATE accounts SET balance = balance + 10 WHERE id = $1", to);
     * });
     * }</pre>
     *
     * @param body the work; use the given {@link Transaction} (or this instance, from the same thread)
     * @param <T>  the type of the value
     * @return the body's value
     * @throws PgException when a statement or the commit fails
     * @see #transaction(TransactionConsumer)
     */
    public <T> T transactionResult(TransactionFunction<T> body) {
        Objects.requireNonNull(body, "body");
        Transaction tx = begin();
        T value;
        try {
            value = body.apply(tx);
        } catch (Throwable t) {
            rollbackAfter(tx, t);
            throw t;
        }
        try {
            tx.commit();
        } catch (Throwable t) {
            rollbackAfter(tx, t);
            throw t;
        }
        return value;
    }

    /* the failure t is the one to report; a failing rollback rides along with it */
    private static void rollbackAfter(Transaction tx, Throwable t) {
        try {
            tx.rollback();
        } catch (RuntimeException s) {
            t.addSuppressed(s);
        }
    }

    /**
     * Runs a body in a transaction: commits when it returns, rolls back when it throws (and rethrows).
     * Called inside another transaction of the same thread, it runs in a savepoint instead. The
     * transaction belongs to the calling thread. For a body that computes a value, use
     * {@link #transactionResult(TransactionFunction)}.
     *
     * <pre>{@code
     * db.transaction(tx -> tx.execute("INSERT INTO log VALUES ($1)", message));
     * }</pre>
     *
     * @param body the work
     * @throws PgException when a statement or the commit fails
     */
    public void transaction(TransactionConsumer body) {
        Objects.requireNonNull(body, "body");
        transactionResult(tx -> {
            body.accept(tx);
            return null;
        });
    }

    /**
     * Begins a transaction that belongs to the calling thread; inside another transaction of this thread
     * it starts a savepoint. End it with {@link Transaction#commit()} or {@link Transaction#rollback()};
     * {@link Transaction#close()} rolls back when neither happened.
     *
     * @return the transaction
     */
    public Transaction begin() {
        return turns().call(n -> {
            boolean nested = turns().inTransaction();
            String sp = nested ? "pgembed_sp" + SAVEPOINT_IDS.incrementAndGet() : null;
            n.run(nested ? "SAVEPOINT " + sp : "BEGIN");
            Transaction tx = new Transaction(this, sp, Thread.currentThread());
            turns().pushTransaction(tx);
            return tx;
        });
    }

    /* commits (or rolls back) tx and everything nested in it */
    void endTransaction(Transaction tx, boolean commit) {
        turns().call(n -> {
            if (tx.ended) {
                return null;
            }
            String sql = tx.savepoint == null
                    ? (commit ? "COMMIT" : "ROLLBACK")
                    : commit
                            ? "RELEASE SAVEPOINT " + tx.savepoint
                            : "ROLLBACK TO SAVEPOINT " + tx.savepoint + "; RELEASE SAVEPOINT " + tx.savepoint;
            boolean done = false;
            try {
                String tag = n.command(sql);
                done = true;
                if (commit && tx.savepoint == null && "ROLLBACK".equals(tag)) {
                    throw new PgException(
                            "25P02",
                            "the transaction was rolled back, not committed, because a" + " statement in it failed");
                }
            } finally {
                if (done || tx.savepoint == null || !turns().isOpen()) {
                    turns().popTransactions(tx);
                }
            }
            return null;
        });
    }
}
