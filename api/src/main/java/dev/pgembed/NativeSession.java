package dev.pgembed;

import dev.pgembed.internal.bindings.PgEmbeddedH;
import dev.pgembed.internal.bindings.pgembed_notification;
import dev.pgembed.internal.bindings.pgembed_result_header;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The native side of one database session: the only class of this package that calls the generated
 * bindings ({@link PgEmbeddedH}) on an open engine, besides {@link Result} and {@link PgException} reading a
 * result's fields (as sqlite-jdbc's {@code DB} is its one door to {@code NativeDB}); engines and clusters are
 * made and ended by {@link NativeEngines}. It owns the engine pointer, turns each
 * operation of the API into its native calls, and checks every native result: an error becomes a
 * {@link PgException} (the result freed), notices go to the listener, the transaction status, the end
 * of the engine and each statement's outcome are reported to the {@link Events} of the session.
 *
 * <p>It does no turn-taking: every method except {@link #cancel()} and {@link #engineFromAnyThread()} runs
 * with the session's lock held and the caller's turn ({@link Session#call}), the methods of COPY and
 * cursors on the OS thread that started them.
 */
final class NativeSession {
    private static final System.Logger LOG = System.getLogger("dev.pgembed");

    /* the statuses of pgembed_status and the result formats this class passes, as the header defines them */
    static final int COPY_IN = PgEmbeddedH.PGEMBED_COPY_IN();
    static final int COPY_OUT = PgEmbeddedH.PGEMBED_COPY_OUT();
    static final int SUSPENDED = PgEmbeddedH.PGEMBED_SUSPENDED();
    static final int ERROR = PgEmbeddedH.PGEMBED_ERROR();
    static final int FATAL = PgEmbeddedH.PGEMBED_FATAL();
    static final int MISUSE = PgEmbeddedH.PGEMBED_MISUSE();
    static final int FORMAT_TEXT = PgEmbeddedH.PGEMBED_FORMAT_TEXT();
    static final int FORMAT_BINARY = PgEmbeddedH.PGEMBED_FORMAT_BINARY();
    static final int FORMAT_AUTO = PgEmbeddedH.PGEMBED_FORMAT_AUTO();
    /** What a checked result tells the session that runs it. */
    interface Events {
        /** The transaction status after a statement. */
        void transactionStatus(TransactionStatus status);

        /** The engine ended (a FATAL error): the session is over. */
        void engineEnded(String why);

        /** The engine is gone (closed, or released after it ended); once. */
        void engineReleased();

        /** Statements completed without error (a batch completes one per parameter set). */
        void statementsSucceeded(int count);

        /** A statement (or the preparation of one) failed with this SQLSTATE. */
        void statementFailed(String sqlState);

        /** A notification arrived in a call's output (the session listens on its channel). */
        void notification(Notification n);
    }

    /* where pgembed_result_header holds its pointers (read as 8-byte addresses) */
    private static final long HEADER_FIELDS = pgembed_result_header.fields$offset();
    private static final long HEADER_CELLS = pgembed_result_header.cells$offset();
    private static final long HEADER_TAG = pgembed_result_header.command_tag$offset();

    /* check()'s statements argument for a result that reports nothing (an aborted COPY's end) */
    private static final int UNCOUNTED = -1;

    private final String label;
    private final Consumer<Notice> noticeListener;
    private final Events events;
    private final Object engineGuard = new Object();
    /* pgembed_result_header_of's answer, read at once: one downcall per result instead of ten and four per column */
    private final MemorySegment header = Arena.ofAuto().allocate(pgembed_result_header.layout());
    /* extension types were handed to the C front (pgembed_set_binary_types) and are its list now */
    private boolean binaryTypesSent;
    /* the native engine; null once released (guarded by engineGuard for cancel(), changed under the session's lock) */
    private MemorySegment engine;
    /* runs once per engine released: a backend of a cluster gives its place back (null: nothing to do) */
    private final Runnable onRelease;
    /* the OIDs of the type table's extension types in this database (pgvector's) */
    private final ExtensionTypes extensionTypes = new ExtensionTypes();
    /* the parameters of prepared statements' executions, in native memory reused between calls */
    private final ParamBuffer paramBuffer = new ParamBuffer();
    /* what parameter encoding needs of them: a missing OID is looked up before the statement fails */
    private final Params.Types types = new Params.Types() {
        @Override
        public int oidOf(PgType t) {
            Integer oid = extensionTypes.oid(t);
            if (oid == null) {
                lookUpExtensionTypes(true);
                oid = extensionTypes.oid(t);
            }
            if (oid == null) {
                throw new PgException(
                        "42704",
                        "type \"" + t.typeName + "\" does not exist: it comes with the " + t.extension
                                + " extension (CREATE EXTENSION " + t.extension + ")");
            }
            return oid;
        }

        @Override
        public PgType ofOid(int oid) {
            PgType t = extensionTypes.ofOid(oid);
            if (t == null && oid >= ExtensionTypes.FIRST_NORMAL_OID) {
                extensionTypes.seen(oid);
                if (extensionTypes.isStale()) {
                    lookUpExtensionTypes(true);
                    t = extensionTypes.ofOid(oid);
                }
            }
            return t;
        }
    };

    NativeSession(MemorySegment engine, String label, Consumer<Notice> noticeListener, Events events) {
        this(engine, label, noticeListener, events, null);
    }

    NativeSession(
            MemorySegment engine, String label, Consumer<Notice> noticeListener, Events events, Runnable onRelease) {
        this.engine = engine;
        this.label = label;
        this.noticeListener = noticeListener;
        this.events = events;
        this.onRelease = onRelease;
    }

    /* a new backend for a session whose engine was released (a backend of a cluster ended); on its turn */
    void attach(MemorySegment e) {
        synchronized (engineGuard) {
            if (engine != null) {
                throw new IllegalStateException("the session still has its engine");
            }
            engine = e;
        }
    }

    /* the engine, for a caller that holds the session's lock (under which it changes) */
    MemorySegment engine() {
        return engine;
    }

    /* the engine for a caller without the session's lock (EngineBridge.engine); null once released */
    MemorySegment engineFromAnyThread() {
        synchronized (engineGuard) {
            return engine;
        }
    }

    /**
     * Raw native result, checked: not an error. The rest is its header (pgembed_result_header): the row and
     * column counts, the columns (pgembed_field), the cells and the command tag, as native pointers that live
     * as long as the result.
     */
    record Raw(
            MemorySegment ptr,
            int status,
            List<Notice> notices,
            long rowsAffected,
            long ntuples,
            int nfields,
            long fields,
            long cells,
            long tag) {
        String commandTag() {
            return MemorySegment.ofAddress(tag).reinterpret(Long.MAX_VALUE).getString(0);
        }

        void free() {
            PgEmbeddedH.pgembed_result_free(ptr);
        }
    }

    /**
     * Checks a native result: throws PgException for errors (freeing it), dispatches notices, records the
     * transaction status, reports the statement's outcome; aborts a COPY that a non-COPY call started (a COPY
     * TO STDOUT stops at its start, before it does anything), so that the refused statement has no effect.
     */
    Raw check(MemorySegment raw, boolean copyAllowed) {
        return check(raw, copyAllowed, 1);
    }

    /*
     * check() of a result that completes `statements` statements when it is no error and ends the statement
     * (not a cursor's suspended batch, not the start of a COPY): 0 for a protocol step (Parse, Deallocate),
     * whose failure still counts; UNCOUNTED for none at all
     */
    private Raw check(MemorySegment raw, boolean copyAllowed, int statements) {
        if (raw.address() == 0) {
            if (statements != UNCOUNTED) {
                events.statementFailed("53200");
            }
            throw new PgException("53200", "out of memory");
        }
        PgEmbeddedH.pgembed_result_header_of(raw, header);
        int status = pgembed_result_header.status(header);
        List<Notice> notices = pgembed_result_header.nnotices(header) == 0 ? List.of() : notices(raw);
        List<Notification> notifications =
                pgembed_result_header.nnotifications(header) == 0 ? List.of() : notifications(raw);
        if (status != MISUSE && status != SUSPENDED && status != COPY_IN && status != COPY_OUT) {
            events.transactionStatus(transactionStatus(pgembed_result_header.tx_status(header)));
        }
        if (status == ERROR || status == FATAL || status == MISUSE) {
            PgException ex;
            try {
                ex = PgException.fromNative(pgembed_result_header.error(header), status == FATAL)
                        .inBatch(pgembed_result_header.failed_set(header));
            } finally {
                PgEmbeddedH.pgembed_result_free(raw);
            }
            dispatch(notices);
            dispatchNotifications(notifications);
            if (statements != UNCOUNTED) {
                events.statementFailed(ex.sqlState());
            }
            if (status == FATAL) {
                events.engineEnded("the engine ended: " + ex.sqlState() + " " + ex.getMessage());
            }
            throw ex;
        }
        if (!notices.isEmpty()) {
            dispatch(notices);
        }
        if (!notifications.isEmpty()) {
            dispatchNotifications(notifications);
        }
        boolean ends = status != SUSPENDED && status != COPY_IN && status != COPY_OUT;
        if (ends && statements > 0) {
            events.statementsSucceeded(statements);
        }
        if (!copyAllowed && (status == COPY_IN || status == COPY_OUT)) {
            PgEmbeddedH.pgembed_result_free(raw);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment end = PgEmbeddedH.pgembed_copy_end(
                        engine,
                        arena.allocateFrom(
                                status == COPY_IN
                                        ? "COPY FROM STDIN is not supported by this method: use copyIn"
                                        : "COPY TO STDOUT is not supported by this method: use copyOut"));
                try {
                    check(end, false, UNCOUNTED).free();
                } catch (PgException expected) {
                    // the aborted COPY's error
                }
            }
            if (statements != UNCOUNTED) {
                events.statementFailed("0A000");
            }
            throw new PgException(
                    "0A000",
                    "COPY ... " + (status == COPY_IN ? "FROM STDIN" : "TO STDOUT") + " needs "
                            + (status == COPY_IN ? "copyIn" : "copyOut") + "(...)");
        }
        return new Raw(
                raw,
                status,
                notices,
                pgembed_result_header.rows_affected(header),
                pgembed_result_header.ntuples(header),
                pgembed_result_header.nfields(header),
                // the addresses as numbers: a segment each would be made for nothing (Result scopes its own)
                header.get(ValueLayout.JAVA_LONG, HEADER_FIELDS),
                header.get(ValueLayout.JAVA_LONG, HEADER_CELLS),
                header.get(ValueLayout.JAVA_LONG, HEADER_TAG));
    }

    /* a result's transaction status (its PGEMBED_TX_* code) */
    private static TransactionStatus transactionStatus(int code) {
        if (code == PgEmbeddedH.PGEMBED_TX_IDLE()) {
            return TransactionStatus.IDLE;
        }
        if (code == PgEmbeddedH.PGEMBED_TX_INBLOCK()) {
            return TransactionStatus.IN_TRANSACTION;
        }
        if (code == PgEmbeddedH.PGEMBED_TX_FAILED()) {
            return TransactionStatus.FAILED;
        }
        return TransactionStatus.CLOSED;
    }

    /* the rows a statement affected (0 when it tells none), its result checked and freed */
    private long rowsAffected(MemorySegment raw) {
        return rowsAffected(raw, 1);
    }

    /* rowsAffected() of a result that completes `statements` statements */
    private long rowsAffected(MemorySegment raw, int statements) {
        Raw r = check(raw, false, statements);
        long n = r.rowsAffected();
        r.free();
        return Math.max(0, n);
    }

    /* a query's result, checked, owned by resultArena (closed with it when owns) */
    private Result result(MemorySegment raw, Arena resultArena, boolean owns) {
        return result(raw, resultArena, owns, null);
    }

    /* result() reusing the column list and command tag of shape where this result has the same (shape may be null) */
    private Result result(MemorySegment raw, Arena resultArena, boolean owns, ResultShape shape) {
        Raw r = check(raw, false);
        Result res = new Result(r, resultArena, owns, extensionTypes, shape);
        // a column of a user-defined type not seen before may be an extension type created since the last lookup
        for (int i = 0; i < res.cols; i++) {
            extensionTypes.seen(res.types[i]);
        }
        lookUpExtensionTypesIfDue();
        return res;
    }

    // =============================================================================================
    // The OIDs of extension types
    // =============================================================================================

    /* the extension types of the type table, as this database knows them */
    ExtensionTypes extensionTypes() {
        return extensionTypes;
    }

    /*
     * A due lookup runs only outside a transaction block: there it is a transaction of its own and cannot
     * affect the caller's (a failure of it, a snapshot taken early)
     */
    private void lookUpExtensionTypesIfDue() {
        if (extensionTypes.isStale()) {
            lookUpExtensionTypes(false);
        }
    }

    /* after a statement the caller ran: one that names an extension may have created or dropped types */
    private void afterStatement(String sql) {
        if (ExtensionTypes.namesExtension(sql)) {
            extensionTypes.changed();
        }
        lookUpExtensionTypesIfDue();
    }

    /*
     * Looks the types up and tells the C front to return them in binary. inBlock: also inside a healthy
     * transaction block, for a parameter that cannot be sent otherwise. A lookup that cannot run now (a
     * cursor or COPY in progress, a failed transaction) leaves the types stale for the next one.
     */
    private void lookUpExtensionTypes(boolean inBlock) {
        int tx = PgEmbeddedH.pgembed_transaction_status(engine);
        if (tx != PgEmbeddedH.PGEMBED_TX_IDLE() && !(inBlock && tx == PgEmbeddedH.PGEMBED_TX_INBLOCK())) {
            return;
        }
        Map<String, Integer> found = new HashMap<>();
        try (Arena arena = Arena.ofConfined()) {
            // pgembed's own statements: not the caller's for the listeners. None of the extensions: none of
            // their types (the lookup's answer is empty), known from pg_extension alone
            Raw p = check(PgEmbeddedH.pgembed_exec(engine, arena.allocateFrom(ExtensionTypes.PROBE)), false, UNCOUNTED);
            long any;
            try {
                // from the header check() read: the downcalls of a query's path, warm by now, not cold ones
                any = pgembed_result_header.ntuples(header);
            } finally {
                p.free();
            }
            Raw r = any == 0
                    ? null
                    : check(
                            PgEmbeddedH.pgembed_exec(engine, arena.allocateFrom(ExtensionTypes.LOOKUP)),
                            false,
                            UNCOUNTED);
            try {
                long n = r == null ? 0 : PgEmbeddedH.pgembed_result_ntuples(r.ptr());
                for (int i = 0; i < n; i++) {
                    found.put(
                            PgEmbeddedH.pgembed_result_value(r.ptr(), i, 0).getString(0),
                            Integer.parseUnsignedInt(PgEmbeddedH.pgembed_result_value(r.ptr(), i, 1)
                                    .getString(0)));
                }
            } finally {
                if (r != null) {
                    r.free();
                }
            }
            int[] oids = extensionTypes.found(found);
            // the C front's list starts empty: an empty answer changes nothing until one was sent
            if (oids.length > 0 || binaryTypesSent) {
                PgEmbeddedH.pgembed_set_binary_types(
                        engine,
                        oids.length,
                        oids.length == 0 ? MemorySegment.NULL : arena.allocateFrom(ValueLayout.JAVA_INT, oids));
                binaryTypesSent = oids.length > 0;
            }
        } catch (PgException notNow) {
            LOG.log(System.Logger.Level.DEBUG, "the lookup of extension types waits: " + notNow.getMessage());
        }
    }

    /* the parameter types a prepared statement declares (its own or those PostgreSQL inferred) */
    int[] parameterTypes(MemorySegment name) {
        Raw r = check(PgEmbeddedH.pgembed_describe_prepared(engine, name), false, 0); // a protocol step
        try {
            int[] t = new int[PgEmbeddedH.pgembed_result_nparams(r.ptr())];
            for (int i = 0; i < t.length; i++) {
                t[i] = PgEmbeddedH.pgembed_result_param_type(r.ptr(), i);
            }
            return t;
        } finally {
            r.free();
        }
    }

    private static List<Notice> notices(MemorySegment raw) {
        int n = PgEmbeddedH.pgembed_result_notice_count(raw);
        if (n <= 0) {
            return List.of();
        }
        List<Notice> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            MemorySegment e = PgEmbeddedH.pgembed_result_notice(raw, i);
            String sev = PgException.field(e, 'V');
            list.add(new Notice(
                    sev != null ? sev : PgException.field(e, 'S'),
                    PgException.field(e, 'C'),
                    PgException.field(e, 'M'),
                    PgException.field(e, 'D'),
                    PgException.field(e, 'H')));
        }
        return List.copyOf(list);
    }

    /* the result's notifications (they point into the result: read before it is freed) */
    private static List<Notification> notifications(MemorySegment raw) {
        int n = PgEmbeddedH.pgembed_result_notification_count(raw);
        List<Notification> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            MemorySegment nt =
                    PgEmbeddedH.pgembed_result_notification(raw, i).reinterpret(pgembed_notification.sizeof());
            list.add(new Notification(
                    pgembed_notification.channel(nt).reinterpret(Long.MAX_VALUE).getString(0),
                    pgembed_notification.payload(nt).reinterpret(Long.MAX_VALUE).getString(0),
                    pgembed_notification.pid(nt)));
        }
        return list;
    }

    private void dispatchNotifications(List<Notification> notifications) {
        for (Notification n : notifications) {
            try {
                events.notification(n);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "notification listener failed", e);
            }
        }
    }

    private void dispatch(List<Notice> notices) {
        for (Notice n : notices) {
            if (noticeListener != null) {
                try {
                    noticeListener.accept(n);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "notice listener failed", e);
                }
            } else {
                System.Logger.Level level =
                        "WARNING".equals(n.severity()) ? System.Logger.Level.WARNING : System.Logger.Level.INFO;
                if (LOG.isLoggable(level)) {
                    LOG.log(level, n.toString());
                }
            }
        }
    }

    /* ends the engine (a shutdown checkpoint) unless released already; an error is logged, not thrown */
    void release() {
        MemorySegment e;
        synchronized (engineGuard) {
            e = engine;
            engine = null;
        }
        if (e == null) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errOut = arena.allocate(ValueLayout.ADDRESS);
            int rc = PgEmbeddedH.pgembed_close(e, errOut);
            events.engineReleased();
            if (rc != 0) {
                MemorySegment err = errOut.get(ValueLayout.ADDRESS, 0);
                String msg = err.address() == 0 ? "unknown error" : PgException.field(err, 'M');
                if (err.address() != 0) {
                    PgEmbeddedH.pgembed_error_free(err);
                }
                LOG.log(System.Logger.Level.WARNING, label + ": the shutdown reported an error: " + msg);
            }
        } finally {
            if (onRelease != null) {
                onRelease.run();
            }
        }
    }

    /* the backend's pid (virtual in a cluster) */
    int backendPid() {
        return PgEmbeddedH.pgembed_backend_pid(engine);
    }

    /* from any thread: cancels the running statement, if any */
    void cancel() {
        synchronized (engineGuard) {
            if (engine != null) {
                PgEmbeddedH.pgembed_cancel(engine);
            }
        }
    }

    /* this engine's callback, called with context as its first argument */
    void setLogCallback(MemorySegment callback, long context) {
        PgEmbeddedH.pgembed_set_log_callback(engine, callback, MemorySegment.ofAddress(context));
    }

    // =============================================================================================
    // Statements
    // =============================================================================================

    long execute(String sql, Object[] params) {
        lookUpExtensionTypesIfDue();
        long n;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment raw;
            if (params == null || params.length == 0) {
                raw = PgEmbeddedH.pgembed_exec(engine, sqlText(arena, sql));
            } else {
                Params.Native p = Params.toNative(arena, params, types, null);
                raw = PgEmbeddedH.pgembed_exec_params(
                        engine,
                        sqlText(arena, sql),
                        p.count(),
                        p.types(),
                        p.values(),
                        p.lengths(),
                        p.formats(),
                        FORMAT_TEXT);
            }
            n = rowsAffected(raw);
        }
        afterStatement(sql);
        return n;
    }

    Result query(Arena resultArena, boolean owns, String sql, Object[] params) {
        lookUpExtensionTypesIfDue();
        Result r;
        try (Arena arena = Arena.ofConfined()) {
            Params.Native p = Params.toNative(arena, params, types, null);
            r = result(
                    PgEmbeddedH.pgembed_exec_params(
                            engine,
                            sqlText(arena, sql),
                            p.count(),
                            p.types(),
                            p.values(),
                            p.lengths(),
                            p.formats(),
                            FORMAT_AUTO),
                    resultArena,
                    owns);
        }
        afterStatement(sql);
        return r;
    }

    /* runs a statement of the session's own (BEGIN, SAVEPOINT, COMMIT, ...) and returns its command tag */
    String command(String sql) {
        try (Arena arena = Arena.ofConfined()) {
            Raw r = check(PgEmbeddedH.pgembed_exec(engine, sqlText(arena, sql)), false);
            String tag = r.commandTag();
            r.free();
            return tag;
        }
    }

    /* like command(), for a caller that needs no tag */
    void run(String sql) {
        try (Arena arena = Arena.ofConfined()) {
            check(PgEmbeddedH.pgembed_exec(engine, sqlText(arena, sql)), false).free();
        }
    }

    /*
     * ROLLBACK for a session whose owner thread died: its result is not checked (nobody is there to receive
     * the error), only the transaction status and the end of the engine are reported
     */
    void rollbackAbandoned() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment raw = PgEmbeddedH.pgembed_exec(engine, arena.allocateFrom("ROLLBACK"));
            int st = PgEmbeddedH.pgembed_result_status(raw);
            if (st != MISUSE) {
                events.transactionStatus(transactionStatus(PgEmbeddedH.pgembed_result_transaction_status(raw)));
            }
            PgEmbeddedH.pgembed_result_free(raw);
            if (st == FATAL) {
                events.engineEnded("the engine ended");
            }
        }
    }

    // =============================================================================================
    // Prepared statements
    // =============================================================================================

    void prepare(String name, String sql) {
        lookUpExtensionTypesIfDue();
        try (Arena arena = Arena.ofConfined()) {
            check(
                            PgEmbeddedH.pgembed_prepare(
                                    engine, arena.allocateFrom(name), sqlText(arena, sql), 0, MemorySegment.NULL),
                            false,
                            0)
                    .free();
        }
    }

    /* declared: the statement's parameter types when a parameter's encoding depends on them, else null */
    long executePrepared(MemorySegment name, Object[] params, int[] declared) {
        lookUpExtensionTypesIfDue();
        return rowsAffected(execPrepared(name, params, declared, FORMAT_TEXT));
    }

    /* shape: what the statement's last result looked like, reused where this one is the same (or null) */
    Result queryPrepared(
            Arena resultArena, boolean owns, MemorySegment name, Object[] params, int[] declared, ResultShape shape) {
        lookUpExtensionTypesIfDue();
        return result(execPrepared(name, params, declared, FORMAT_AUTO), resultArena, owns, shape);
    }

    /* the unchecked result of pgembed_exec_prepared; the parameters live in native memory during the call only */
    private MemorySegment execPrepared(MemorySegment name, Object[] params, int[] declared, int resultFormat) {
        if (params == null || params.length == 0) {
            // no parameters to encode: no memory for them
            return PgEmbeddedH.pgembed_exec_prepared(
                    engine, name, 0, MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL, resultFormat);
        }
        Params.Encoded e = Params.encode(params, types, declared);
        Params.Native p = paramBuffer.take(e);
        if (p != null) {
            try {
                return PgEmbeddedH.pgembed_exec_prepared(
                        engine, name, p.count(), p.values(), p.lengths(), p.formats(), resultFormat);
            } finally {
                paramBuffer.release();
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            p = Params.toNative(arena, e.types, e.values, e.formats, true);
            return PgEmbeddedH.pgembed_exec_prepared(
                    engine, name, p.count(), p.values(), p.lengths(), p.formats(), resultFormat);
        }
    }

    long executeBatch(String name, List<Object[]> sets, int[] declared) {
        lookUpExtensionTypesIfDue();
        int nparams = sets.get(0).length;
        try (Arena arena = Arena.ofConfined()) {
            Params.Native p = BatchParams.toNative(arena, sets, nparams, types, declared);
            return rowsAffected(
                    PgEmbeddedH.pgembed_exec_prepared_batch(
                            engine,
                            arena.allocateFrom(name),
                            sets.size(),
                            nparams,
                            p.values(),
                            p.lengths(),
                            p.formats()),
                    sets.size());
        }
    }

    void deallocate(String name) {
        try (Arena arena = Arena.ofConfined()) {
            check(PgEmbeddedH.pgembed_deallocate(engine, arena.allocateFrom(name)), false, 0)
                    .free();
        }
    }

    // =============================================================================================
    // Cursors
    // =============================================================================================

    /* the first batch; status SUSPENDED when more follow */
    Raw cursorOpen(String sql, Object[] params, int fetchSize) {
        lookUpExtensionTypesIfDue();
        try (Arena arena = Arena.ofConfined()) {
            Params.Native p = Params.toNative(arena, params, types, null);
            return check(
                    PgEmbeddedH.pgembed_cursor_open(
                            engine,
                            sqlText(arena, sql),
                            p.count(),
                            p.types(),
                            p.values(),
                            p.lengths(),
                            p.formats(),
                            FORMAT_AUTO,
                            fetchSize),
                    false);
        }
    }

    /* the next batch; status SUSPENDED when more follow */
    Raw cursorFetch(int fetchSize) {
        return check(PgEmbeddedH.pgembed_cursor_fetch(engine, fetchSize), false);
    }

    void cursorClose() {
        check(PgEmbeddedH.pgembed_cursor_close(engine), false).free();
    }

    /* closes the cursor of a thread that died: nobody receives the result */
    void cursorCloseAbandoned() {
        PgEmbeddedH.pgembed_result_free(PgEmbeddedH.pgembed_cursor_close(engine));
    }

    // =============================================================================================
    // COPY
    // =============================================================================================

    long copyIn(String copySql, CopyStreams.Source source) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            startCopy(arena, copySql, COPY_IN, "copyIn needs a COPY ... FROM STDIN statement");
            int chunk = 64 * 1024;
            MemorySegment buf = arena.allocate(chunk);
            byte[] bytes = new byte[chunk];
            try {
                while (true) {
                    int n = source.read(bytes);
                    if (n < 0) {
                        break;
                    }
                    if (n == 0) {
                        continue;
                    }
                    MemorySegment.copy(bytes, 0, buf, ValueLayout.JAVA_BYTE, 0, n);
                    if (PgEmbeddedH.pgembed_copy_put(engine, buf, n) != 0) {
                        break; // the error comes with copy_end
                    }
                }
            } catch (IOException | RuntimeException ex) {
                abortCopy(arena, "reading the client's data failed: ", ex);
                throw ex;
            }
            return finishCopy(MemorySegment.NULL);
        }
    }

    /* ends a COPY that failed on the caller's side; an error of the abort itself stays with the caller's */
    private void abortCopy(Arena arena, String what, Exception ex) {
        try {
            finishCopy(arena.allocateFrom(what + ex));
        } catch (PgException aborted) {
            ex.addSuppressed(aborted);
        }
    }

    long copyOut(String copySql, CopyStreams.Sink sink) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            startCopy(arena, copySql, COPY_OUT, "copyOut needs a COPY ... TO STDOUT statement");
            MemorySegment dataOut = arena.allocate(ValueLayout.ADDRESS);
            byte[] bytes = new byte[64 * 1024];
            try {
                while (true) {
                    long n = PgEmbeddedH.pgembed_copy_get(engine, dataOut);
                    if (n <= 0) {
                        break;
                    }
                    MemorySegment data = dataOut.get(ValueLayout.ADDRESS, 0).reinterpret(n);
                    if (bytes.length < n) {
                        bytes = new byte[(int) Math.max(n, bytes.length * 2L)];
                    }
                    MemorySegment.copy(data, ValueLayout.JAVA_BYTE, 0, bytes, 0, (int) n);
                    sink.write(bytes, (int) n);
                }
            } catch (IOException | RuntimeException ex) {
                // the COPY stops where it stands (a COPY (INSERT ...) TO STDOUT does no more)
                abortCopy(arena, "writing the client's data failed: ", ex);
                throw ex;
            }
            return finishCopy(MemorySegment.NULL);
        }
    }

    /* the SQL text as the engine takes it: strict UTF-8, no NUL (see Utf8) */
    private static MemorySegment sqlText(Arena arena, String sql) {
        return Utf8.cString(arena, sql, "the SQL text");
    }

    /**
     * Starts a COPY and checks its direction; a COPY in the other direction is aborted before the error
     * (at its start: it has done nothing), so the engine is idle again.
     */
    private void startCopy(Arena arena, String copySql, int want, String wrongDirection) {
        Raw start = check(PgEmbeddedH.pgembed_exec(engine, sqlText(arena, copySql)), true);
        start.free();
        if (start.status() == want) {
            return;
        }
        // a statement other than a COPY ran (and counted); a COPY in the wrong direction fails as 42601
        boolean copy = start.status() == COPY_IN || start.status() == COPY_OUT;
        try {
            if (start.status() == COPY_IN) {
                finishCopy(arena.allocateFrom("copyOut was given a COPY FROM STDIN"), UNCOUNTED);
            } else if (start.status() == COPY_OUT) {
                finishCopy(arena.allocateFrom("copyIn was given a COPY TO STDOUT"), UNCOUNTED);
            }
        } catch (PgException aborted) {
            // aborting a COPY fails it (57014) by design: the caller's mistake is the error
            PgException e = new PgException("42601", wrongDirection);
            e.addSuppressed(aborted);
            events.statementFailed(e.sqlState());
            throw e;
        }
        if (copy) {
            events.statementFailed("42601");
        }
        throw new PgException("42601", wrongDirection);
    }

    private long finishCopy(MemorySegment errmsg) {
        return finishCopy(errmsg, 1);
    }

    private long finishCopy(MemorySegment errmsg, int statements) {
        return rowsAffected(PgEmbeddedH.pgembed_copy_end(engine, errmsg), statements);
    }
}
