package dev.pgembed;

import dev.pgembed.internal.EngineBridge;
import dev.pgembed.internal.NativeLoader;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A PostgreSQL 18 database running inside this JVM: one backend session on one data directory, no
 * server process.
 *
 * <pre>{@code
 * try (PgEmbedded db = PgEmbedded.open(Path.of("data"))) {
 *     db.execute("CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY, name text)");
 *     db.execute("INSERT INTO t VALUES ($1, $2)", 1, "one");
 *     try (Result r = db.query("SELECT id, name FROM t WHERE id = $1", 1)) {
 *         for (Row row : r) System.out.println(row.getInt("id") + " " + row.getString("name"));
 *     }
 * }
 * }</pre>
 *
 * <h2>Threads</h2>
 * One instance may be shared by any number of threads (platform or virtual). Calls are serialised (one
 * statement runs at a time, on the calling thread). A transaction belongs to the thread that began it
 * ({@link #transactionResult(TransactionFunction)}, {@link #begin()}, or a plain {@code BEGIN}): while it is
 * open, calls from other threads wait until it ends, at most {@link Builder#transactionWaitTimeout(Duration)}
 * (then they fail with SQLSTATE 55P03); they never join it. A {@link RowCursor} belongs to its thread in
 * the same way. Waiting parks a virtual thread without pinning its carrier; the native call itself pins
 * the carrier for its duration (COPY and cursors started on a virtual thread run their native calls on a
 * helper platform thread of the instance, since they span several calls).
 *
 * <h2>Lifecycle</h2>
 * {@link #close()} ends the session with a shutdown checkpoint. Instances still open when the JVM exits
 * are closed by a shutdown hook (the running statement is cancelled first). After a FATAL error (the
 * engine ended, see {@link PgException#isFatal()}) the instance is closed; open the directory again.
 * At most 15 databases can be open at once in one process, and a directory can be open only once.
 */
public final class PgEmbedded implements AutoCloseable {
    /*
     * The facade. Each method checks its arguments, then runs its native part through session.call: Session
     * takes turns (the lock, the owner of the session, the wait), NativeSession makes the native calls and
     * checks their results. Opening's steps are Opening's, the process-wide registries Instances', and the
     * types of parameters and values PgType's.
     */
    final long id = Instances.nextId();
    final Path dir;
    final boolean deleteOnClose;
    private final String sessionRole;
    final String label;
    final Session session;
    private final AtomicLong statementIds = new AtomicLong();
    private final AtomicLong savepointIds = new AtomicLong();

    static {
        EngineBridge.install(new BridgeAccess());
    }

    /*
     * the internal door of pgembed-jdbc: EngineBridge's implementation, installed from here so that it can reach
     * the session without making it public (the JDK's SharedSecrets pattern; see EngineBridge): not API
     */
    private static final class BridgeAccess implements EngineBridge.Access {
        @Override
        public MemorySegment engine(PgEmbedded db) {
            return db.session.natives().engineFromAnyThread();
        }

        @Override
        public int run(PgEmbedded db, EngineBridge.Token token, EngineBridge.Body body) throws IOException {
            return db.session.runAs(token, body);
        }

        @Override
        public void setDirectHook(PgEmbedded db, EngineBridge.DirectHook hook) {
            db.session.setDirectHook(hook);
        }

        @Override
        public int tryRun(PgEmbedded db, EngineBridge.Token token, EngineBridge.Body body) throws IOException {
            return db.session.tryRunAs(token, body);
        }

        @Override
        public void abort(PgEmbedded db, EngineBridge.Token token) {
            db.session.abortWait(token);
        }

        @Override
        public @Nullable PgEmbedded findOpen(Path d) {
            return Instances.findOpen(d);
        }

        @Override
        public void statementsSucceeded(PgEmbedded db, int count) {
            Listeners.statementsSucceeded(db, count);
        }

        @Override
        public void statementFailed(PgEmbedded db, String sqlState) {
            Listeners.statementFailed(db, sqlState);
        }
    }

    private PgEmbedded(MemorySegment engine, Path dir, boolean deleteOnClose, Duration waitTimeout,
                       Consumer<Notice> noticeListener, String sessionRole) {
        this.sessionRole = sessionRole;
        this.dir = dir;
        this.deleteOnClose = deleteOnClose;
        this.label = "PgEmbedded[" + dir + "]";
        this.session = new Session(this, engine, label, waitTimeout, noticeListener, id);
    }

    // =============================================================================================
    // Opening
    // =============================================================================================

    /**
     * Opens the database in a directory with the default settings: creates a new cluster when the
     * directory is absent or empty, opens it when it holds one.
     *
     * @param dir the data directory
     * @return the open database
     * @throws PgException when the directory is neither empty nor a cluster, or the engine cannot start
     */
    public static PgEmbedded open(Path dir) {
        return builder(dir).open();
    }

    /**
     * A builder for a database in a directory (created when absent or empty).
     *
     * @param dir the data directory
     * @return a builder; finish with {@link Builder#open()}
     */
    public static Builder builder(Path dir) {
        return new Builder(Objects.requireNonNull(dir, "dir"));
    }

    /**
     * A builder for a throw-away database in a temporary directory, deleted on {@link #close()}. The
     * directory is made under {@link Builder#memoryDirectory(Path)} when given, else under the system
     * property {@code pgembed.memory.dir}, else under /dev/shm when it exists, is writable and has 256 MB
     * free, else under java.io.tmpdir (with a warning on the {@code dev.pgembed} logger: Docker's default
     * /dev/shm of 64 MB holds two databases). Its durability defaults to {@link Durability#NONE}, wherever
     * it is: nothing is flushed, so on a disk too its files mostly stay in the page cache.
     *
     * @return a builder; finish with {@link Builder#open()}
     */
    public static Builder inMemory() {
        return new Builder(null).durability(Durability.NONE);
    }

    /** Options for opening a database; obtained from {@link #builder(Path)} or {@link #inMemory()}. */
    public static final class Builder {
        private final Path dir;
        private String database;
        private final Map<String, String> settings = new LinkedHashMap<>();
        private Durability durability = Durability.DURABLE;
        private ZoneId timeZone;
        private Duration transactionWaitTimeout = Duration.ofSeconds(30);
        private Consumer<Notice> noticeListener;
        private Path nativeDirectory;
        private Path memoryDirectory;
        private String sessionRole;

        private Builder(Path dir) {
            this.dir = dir;
        }

        /**
         * The database to connect to (default {@code postgres}); it must exist.
         *
         * @param name the database name
         * @return this builder
         */
        public Builder database(String name) {
            this.database = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * A PostgreSQL setting, applied at start like a command-line option ({@code shared_buffers},
         * {@code work_mem}, {@code statement_timeout}, ...). Overrides the builder's defaults.
         *
         * @param name  the setting's name
         * @param value its value
         * @return this builder
         */
        public Builder setting(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            if (name.isBlank() || name.indexOf('=') >= 0) {
                throw new IllegalArgumentException("invalid setting name: \"" + name + "\"");
            }
            settings.remove(name);
            settings.put(name, value);
            return this;
        }

        /**
         * Opens the session as a role that is not a superuser, instead of the cluster's superuser: for SQL
         * that must not act as the operating-system user. PostgreSQL's privileges then refuse (SQLSTATE 42501)
         * reading or writing server files ({@code pg_read_file}, {@code COPY ... FROM/TO 'file'}), running
         * programs ({@code COPY ... PROGRAM}), loading libraries ({@code LOAD}, {@code LANGUAGE C}), and
         * changing server settings ({@code ALTER SYSTEM}, superuser-only settings). The role is the session's
         * authenticated user, so neither {@code SET ROLE}, {@code SET SESSION AUTHORIZATION} nor
         * {@code RESET} reach a superuser from it. pgembed's own maintenance (checkpoints, vacuum, analyze)
         * still runs as the superuser.
         *
         * <p>The role must exist, have {@code LOGIN} and {@code CONNECT} on the database, and must not be a
         * superuser; opening fails with SQLSTATE 28000 (or 42501 without {@code CONNECT}) otherwise. Create it
         * and grant it what it needs in a session opened without a role, for example
         * {@code CREATE ROLE app LOGIN; CREATE SCHEMA AUTHORIZATION app}.
         *
         * @param role the role's name
         * @return this builder
         */
        public Builder sessionRole(String role) {
            Objects.requireNonNull(role, "role");
            if (role.isEmpty()) {
                throw new IllegalArgumentException("empty role name");
            }
            this.sessionRole = role;
            return this;
        }

        /**
         * How hard commits are made durable (default {@link Durability#DURABLE}).
         *
         * @param durability the durability
         * @return this builder
         */
        public Builder durability(Durability durability) {
            this.durability = Objects.requireNonNull(durability, "durability");
            return this;
        }

        /**
         * The session's time zone (setting {@code TimeZone}); default {@link ZoneId#systemDefault()}.
         *
         * @param zone the time zone
         * @return this builder
         */
        public Builder timeZone(ZoneId zone) {
            this.timeZone = Objects.requireNonNull(zone, "zone");
            return this;
        }

        /**
         * How long a call waits while another thread's transaction is open (default 30 s); then it fails
         * with SQLSTATE 55P03.
         *
         * @param timeout the longest wait
         * @return this builder
         */
        public Builder transactionWaitTimeout(Duration timeout) {
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("negative timeout");
            }
            this.transactionWaitTimeout = timeout;
            return this;
        }

        /**
         * Receives the NOTICE/WARNING/INFO messages of every statement (default: they are logged to
         * {@code System.getLogger("dev.pgembed")}). Called on the thread that ran the statement.
         *
         * @param listener the listener
         * @return this builder
         */
        public Builder noticeListener(Consumer<Notice> listener) {
            this.noticeListener = listener;
            return this;
        }

        /**
         * Where the native library and PostgreSQL's files are extracted (default: system property
         * {@code pgembed.native.dir}, else {@code $XDG_CACHE_HOME/pgembed/native}, else
         * {@code ~/.cache/pgembed/native}). Choose a directory on a filesystem that allows executing code
         * when the default one is mounted noexec. Only the first database opened in a JVM decides.
         *
         * @param directory the base directory of the extracted files
         * @return this builder
         */
        public Builder nativeDirectory(Path directory) {
            this.nativeDirectory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        /**
         * Where an {@link #inMemory()} database's temporary directory is made (see there for the default).
         *
         * @param parent the directory to make it in (created when absent)
         * @return this builder
         * @throws IllegalStateException for a builder of a given directory ({@link #builder(Path)})
         */
        public Builder memoryDirectory(Path parent) {
            if (dir != null) {
                throw new IllegalStateException("memoryDirectory is for PgEmbedded.inMemory(); this builder opens " + dir);
            }
            this.memoryDirectory = Objects.requireNonNull(parent, "parent");
            return this;
        }

        /**
         * Opens the database.
         *
         * @return the open database
         * @throws PgException when the directory is neither empty nor a cluster, or the engine cannot start
         */
        public PgEmbedded open() {
            NativeLoader.load(nativeDirectory);
            Instances.ensureLogStub();
            Path d;
            boolean temp = dir == null;
            if (temp) {
                d = Opening.createTempDir(memoryDirectory);
            } else {
                d = dir.toAbsolutePath().normalize();
            }
            try {
                Opening.prepareDirectory(d, durability);
                return start(d, temp);
            } catch (RuntimeException | Error e) {
                if (temp) {
                    NativeLoader.deleteRecursively(d);
                }
                throw e;
            }
        }

        private PgEmbedded start(Path d, boolean temp) {
            Map<String, String> all = Opening.settings(durability, timeZone, settings, temp && Opening.onTmpfs(d));
            MemorySegment e = NativeSession.open(d, database, sessionRole, all);
            PgEmbedded db = new PgEmbedded(e, d, temp, transactionWaitTimeout, noticeListener, sessionRole);
            Instances.register(db, d);
            Listeners.engineOpened(db);
            try {
                Backup.dropStaleSlots(db, d);
            } catch (PgException ignored) {
                // a session role without REPLICATION cannot drop them; the next backup() will
            }
            return db;
        }
    }

    // =============================================================================================
    // Listeners
    // =============================================================================================

    /**
     * Registers a listener for every database of this process, those open now (it receives
     * {@link PgEmbeddedListener#engineOpened(PgEmbedded)} for each of them at once) and those opened later,
     * however they are opened. Adding a listener that is registered already does nothing.
     *
     * @param listener the listener
     */
    public static void addListener(PgEmbeddedListener listener) {
        Listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /**
     * Unregisters a listener. An event being delivered on another thread at that moment may still reach it.
     *
     * @param listener the listener
     * @return true when it was registered
     */
    public static boolean removeListener(PgEmbeddedListener listener) {
        return Listeners.remove(Objects.requireNonNull(listener, "listener"));
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
        return session.call(n -> n.execute(sql, params));
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
        return session.call(n -> n.query(resultArena, owns, sql, params));
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
        String name = "pgembed_s" + statementIds.incrementAndGet();
        return session.call(n -> {
            n.prepare(name, sql);
            return new PreparedStatement(this, name, sql);
        });
    }

    long executePrepared(PreparedStatement ps, Object[] params) {
        return session.call(n -> n.executePrepared(ps.nativeName(), params, ps.declaredTypes(n, params)));
    }

    Result queryPrepared(Arena resultArena, boolean owns, PreparedStatement ps, Object[] params) {
        return session.call(n -> n.queryPrepared(resultArena, owns, ps.nativeName(), params,
                ps.declaredTypes(n, params)));
    }

    long executeBatch(PreparedStatement ps, List<Object[]> sets) {
        if (sets.isEmpty()) {
            return 0;
        }
        return session.call(n -> n.executeBatch(ps.name(), sets, ps.declaredTypes(n, sets.get(0))));
    }

    void deallocate(String name) {
        if (!session.isOpen()) {
            return;
        }
        session.call(n -> {
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
        return session.callOnOsThread(n -> {
            NativeSession.Raw r = n.cursorOpen(sql, params, fetchSize);
            RowCursor c = new RowCursor(this, caller, fetchSize, newBatch(r, n), r.status() == NativeSession.SUSPENDED);
            if (r.status() == NativeSession.SUSPENDED) {
                session.setOpenCursor(c);
            }
            return c;
        });
    }

    private static Result newBatch(NativeSession.Raw r, NativeSession n) {
        return new Result(r, Arena.ofShared(), true, n.extensionTypes());
    }

    /* next batch of the open cursor; null result status tells whether more follow */
    Result cursorFetch(RowCursor c, boolean[] more) {
        return session.callOnOsThread(n -> {
            if (!session.isOpenCursor(c)) {
                throw new IllegalStateException("the cursor is no longer open");
            }
            NativeSession.Raw r;
            try {
                r = n.cursorFetch(c.fetchSize);
            } catch (RuntimeException ex) {
                session.setOpenCursor(null);
                throw ex;
            }
            more[0] = r.status() == NativeSession.SUSPENDED;
            if (!more[0]) {
                session.setOpenCursor(null);
            }
            return newBatch(r, n);
        });
    }

    void cursorClose(RowCursor c) {
        if (!session.isOpen()) {
            return;
        }
        session.callOnOsThread(n -> {
            if (session.isOpenCursor(c)) {
                session.setOpenCursor(null);
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
        return session.callOnOsThread(n -> n.copyIn(copySql, source));
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
        return session.callOnOsThread(n -> n.copyOut(copySql, sink));
    }

    /**
     * Cancels the statement running on this database, from any thread; it fails with a
     * {@link PgException} whose {@link PgException#isQueryCanceled()} is true. Does nothing when no
     * statement runs.
     */
    public void cancel() {
        session.natives().cancel();
    }

    /**
     * The transaction status after the last statement.
     *
     * @return the status; {@link TransactionStatus#CLOSED} once closed
     */
    public TransactionStatus transactionStatus() {
        return session.transactionStatus();
    }

    /** {@return true until {@link #close()}, or until the engine ended with a FATAL error} */
    public boolean isOpen() {
        return session.isOpen();
    }

    /** {@return the data directory} */
    public Path directory() {
        return dir;
    }

    /**
     * The role the session was opened as ({@link Builder#sessionRole(String)}).
     *
     * @return the role, or empty when the session belongs to the cluster's superuser
     */
    public Optional<String> sessionRole() {
        return Optional.ofNullable(sessionRole);
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
        return session.call(n -> {
            boolean nested = session.inTransaction();
            String sp = nested ? "pgembed_sp" + savepointIds.incrementAndGet() : null;
            n.run(nested ? "SAVEPOINT " + sp : "BEGIN");
            Transaction tx = new Transaction(this, sp, Thread.currentThread());
            session.pushTransaction(tx);
            return tx;
        });
    }

    /* commits (or rolls back) tx and everything nested in it */
    void endTransaction(Transaction tx, boolean commit) {
        session.call(n -> {
            if (tx.ended) {
                return null;
            }
            String sql = tx.savepoint == null ? (commit ? "COMMIT" : "ROLLBACK")
                    : commit ? "RELEASE SAVEPOINT " + tx.savepoint
                    : "ROLLBACK TO SAVEPOINT " + tx.savepoint + "; RELEASE SAVEPOINT " + tx.savepoint;
            boolean done = false;
            try {
                String tag = n.command(sql);
                done = true;
                if (commit && tx.savepoint == null && "ROLLBACK".equals(tag)) {
                    throw new PgException("25P02", "the transaction was rolled back, not committed, because a"
                            + " statement in it failed");
                }
            } finally {
                if (done || tx.savepoint == null || !session.isOpen()) {
                    session.popTransactions(tx);
                }
            }
            return null;
        });
    }

    // =============================================================================================
    // Backup
    // =============================================================================================

    /**
     * Writes a consistent copy of this database into {@code target} while it stays open: other threads
     * (and JDBC connections) keep reading and writing during the copy. The copy holds every transaction
     * committed before this call; it is a complete data directory that {@link #open(Path)} opens (it then
     * replays the WAL written during the copy, as PostgreSQL's crash recovery does). Uses PostgreSQL's
     * low-level backup functions ({@code pg_backup_start} / {@code pg_backup_stop}) with a replication slot
     * that keeps the WAL the copy needs; files are created private to the user and flushed to disk. A
     * {@linkplain Builder#sessionRole(String) session role} needs the {@code REPLICATION} attribute and
     * {@code EXECUTE} on {@code pg_backup_start} and {@code pg_backup_stop} (granted by a superuser), else
     * the call fails with 42501.
     *
     * @param target an absent or empty directory, outside the data directory
     * @throws PgException 58P02 when the target is not empty, 25001 when the calling thread holds an open
     *         transaction, 0A000 when the database uses tablespaces, 58030 when the copy fails (the partial
     *         copy is removed), or PostgreSQL's error
     */
    public void backup(Path target) {
        Objects.requireNonNull(target, "target");
        if (session.ownedByCurrentThread()) {
            throw new PgException("25001", "backup() cannot run inside this thread's open transaction on "
                    + label + ": the copy must not wait for the transaction that waits for it");
        }
        Backup.run(this, dir, target);
    }

    // =============================================================================================
    // Closing
    // =============================================================================================

    /**
     * Closes the database: ends the session with a shutdown checkpoint (an open transaction is rolled
     * back), waiting for a statement in flight on another thread. Deletes the directory of an
     * {@link #inMemory()} database. Idempotent.
     */
    @Override
    public void close() {
        if (!session.close(null)) {
            return;
        }
        closed();
    }

    /* closes unless a call still runs after wait; false when it did not close (or was closed before) */
    boolean closeWithin(Duration wait) {
        if (!session.close(wait)) {
            return false;
        }
        closed();
        return true;
    }

    private void closed() {
        Instances.unregister(this);
        if (deleteOnClose) {
            NativeLoader.deleteRecursively(dir);
        }
    }

    @Override
    public String toString() {
        return label + (session.isOpen() ? "" : " (closed)");
    }
}
