package dev.pgembed;

import dev.pgembed.internal.EngineBridge;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Turn-taking on the one backend session of a {@link PgEmbedded}: one call runs at a time; a transaction, an
 * open cursor, a protocol client's unfinished exchange or session-scoped state makes its holder (a thread, an
 * {@link EngineBridge.Token}, or the direct API as a whole) the owner of the session, and every other caller
 * waits until the owner lets go. Waiters are served in the order they came (first come, first served), and each
 * waits at most its limit: the transaction wait timeout, or a protocol client's own {@code lock_timeout} /
 * {@code statement_timeout}. A waiting protocol client whose connection is closed stops waiting at once.
 * It keeps what ownership is decided by (the stack of direct-API transactions, the open cursor, the transaction
 * status), recovers a session whose owner thread died, notices the end of the engine, and runs COPY and cursors
 * of virtual threads on a helper platform thread (their native calls must stay on one OS thread).
 *
 * <p>The lock only guards this bookkeeping and is never held during a native call: waiting, timing out and
 * being aborted therefore never depend on how long another caller's statement runs. The native calls
 * themselves are {@link NativeSession}'s; an {@link Op} receives it once the caller has its turn. The
 * {@link PgEmbeddedListener}s hear of the waits for a turn, of the statements' outcomes and of the end of the
 * engine from here.
 */
final class Session implements NativeSession.Events {
    private static final System.Logger LOG = System.getLogger("dev.pgembed");
    /* how often a waiter looks whether the owner thread is still alive */
    private static final long RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    /** The direct API as the owner between its calls: it holds session-scoped state (see EngineBridge.DirectHook). */
    private static final Object DIRECT_STATE = new Object() {
        @Override
        public String toString() {
            return "the direct API";
        }
    };

    private final PgEmbedded db;
    private final boolean databaseOwn;
    private final String label;
    private final long id;
    private final Duration waitTimeout;
    private final NativeSession natives;

    final ReentrantLock lock = new ReentrantLock();
    /* signalled when no call runs any more (close waits for it) */
    private final Condition callEnded = lock.newCondition();
    private volatile boolean open = true;
    private volatile boolean closed;
    private volatile String endReason;
    private volatile TransactionStatus txStatus = TransactionStatus.IDLE;
    /* under lock: the owner between calls (a Thread, an EngineBridge.Token, DIRECT_STATE), or null */
    private Object owner;
    /* under lock: who runs a call now (a Thread or a Token), its thread, and the depth of nested calls */
    private Object running;
    private Thread runningThread;
    private int depth;
    /* under lock: the callers waiting for their turn, in arrival order */
    private final Deque<Waiter> waiters = new ArrayDeque<>();
    /* runs around direct API calls (pgembed-jdbc hands the session back); see EngineBridge */
    private volatile EngineBridge.DirectHook directHook;
    /* the direct API's open transactions, innermost first (changed by the caller that runs) */
    private final Deque<Transaction> txStack = new ArrayDeque<>();
    private RowCursor openCursor;
    private ExecutorService helper;
    /* a new backend when this one ended while its cluster goes on (null: the end of the engine is the end) */
    private final Reconnect reconnect;
    /* the engine ended and the next call connects a new backend (set under lock, cleared on the turn) */
    private volatile boolean lost;

    /** Connects a new backend for the session (a cluster's backend ended: terminated, or a crash restart). */
    @FunctionalInterface
    interface Reconnect {
        /** @throws PgException when no backend could be connected */
        MemorySegment connect(Duration within);
    }

    /* a caller waiting for its turn */
    private static final class Waiter {
        final Object me;
        final Thread thread;
        final Condition turn;
        boolean granted;

        Waiter(Object me, Thread thread, Condition turn) {
            this.me = me;
            this.thread = thread;
            this.turn = turn;
        }
    }

    Session(
            PgEmbedded db,
            MemorySegment engine,
            String label,
            Duration waitTimeout,
            Consumer<Notice> noticeListener,
            long id) {
        this(db, engine, label, waitTimeout, noticeListener, id, true, null, null);
    }

    /*
     * databaseOwn: the database's own session (the end of its engine is the database's, for the listeners),
     * false for a further session (PgSession); onRelease: runs each time an engine of the session is released;
     * reconnect: the session outlives its backend (the database's own session in a cluster), else null
     */
    Session(
            PgEmbedded db,
            MemorySegment engine,
            String label,
            Duration waitTimeout,
            Consumer<Notice> noticeListener,
            long id,
            boolean databaseOwn,
            Runnable onRelease,
            Reconnect reconnect) {
        this.db = db;
        this.databaseOwn = databaseOwn;
        this.label = label;
        this.id = id;
        this.waitTimeout = waitTimeout;
        this.reconnect = reconnect;
        this.natives = new NativeSession(engine, label, noticeListener, this, onRelease);
    }

    NativeSession natives() {
        return natives;
    }

    void setDirectHook(EngineBridge.DirectHook hook) {
        this.directHook = hook;
    }

    boolean isOpen() {
        return open;
    }

    /* throws when the session is closed (or its engine ended for good) */
    void requireOpen() {
        if (!open) {
            String why = endReason;
            throw new IllegalStateException(label + " is closed" + (why != null ? " (" + why + ")" : ""));
        }
    }

    TransactionStatus transactionStatus() {
        return open ? txStatus : TransactionStatus.CLOSED;
    }

    @Override
    public void transactionStatus(TransactionStatus status) {
        txStatus = status;
    }

    @Override
    public void engineReleased() {
        // a backend a cluster's session replaces (lost), or a further session's, is not the database's end
        if (databaseOwn && (reconnect == null || closed)) {
            Listeners.engineClosed(db);
        }
    }

    @Override
    public void statementsSucceeded(int count) {
        if (!Listeners.none()) {
            Listeners.statementsSucceeded(db, count);
        }
    }

    @Override
    public void statementFailed(String sqlState) {
        if (!Listeners.none()) {
            Listeners.statementFailed(db, sqlState);
        }
    }

    /*
     * A notification in the output of a call of this session: on the database's own session shared with JDBC
     * connections, the hook routes it to the connections that listen on its channel and says whether the direct
     * API listens on it too; the database's listener gets those the direct API listens on.
     */
    @Override
    public void notification(Notification n) {
        EngineBridge.DirectHook hook = directHook;
        if (hook == null || hook.notification(n)) {
            db.notified(n);
        }
    }

    /** A native operation run on the caller's turn with the engine open. */
    @FunctionalInterface
    interface Op<T> {
        T run(NativeSession natives) throws IOException;
    }

    /* runs op once the calling thread has its turn; the thread owns the session afterwards while it holds it */
    <T> T call(Op<T> op) {
        Thread me = Thread.currentThread();
        boolean outer = enter(me);
        boolean keeps = false;
        try {
            reconnectIfLost();
            EngineBridge.DirectHook hook = directHook;
            if (hook != null && outer) {
                hook.beforeDirectCall(natives.engine());
            }
            T value = op.run(natives);
            if (hook != null && outer && open && !inTransaction() && openCursor == null) {
                keeps = hook.afterDirectCall(natives.engine());
            }
            return value;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            exitDirect(me, keeps);
        }
    }

    /*
     * Takes the turn for me (the calling Thread, or a Token), waiting when another holds the session; returns
     * false for a call nested in a call of the same thread (which has the turn already).
     */
    private boolean enter(Object me) {
        Thread self = Thread.currentThread();
        lock.lock();
        try {
            ensureOpen();
            if (running != null && runningThread == self) {
                depth++;
                return false;
            }
            if (running == null && mayRun(me)) {
                start(me, self);
                return true;
            }
            failIfWaitingForItself(me, self);
            awaitReported(me, self);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /*
     * under lock: await, announced to the listeners (only callers that have to wait are; the listeners run
     * under the lock, as metrics do: they must not block)
     */
    private void awaitReported(Object me, Thread self) {
        if (Listeners.none()) {
            await(me, self);
            return;
        }
        long start = System.nanoTime();
        Listeners.turnWaitStarted(db);
        boolean gotTurn = false;
        try {
            await(me, self);
            gotTurn = true;
        } finally {
            Listeners.turnWaitEnded(db, System.nanoTime() - start, gotTurn);
        }
    }

    /* under lock: whether me may run while the current owner holds the session */
    private boolean mayRun(Object me) {
        return owner == null || owner == me || (owner == DIRECT_STATE && me instanceof Thread);
    }

    private void start(Object me, Thread self) {
        running = me;
        runningThread = self;
        depth = 1;
    }

    /* under lock: a caller whose own thread holds the session would wait for itself */
    private void failIfWaitingForItself(Object me, Thread self) {
        Object o = owner;
        Thread holder = o instanceof Thread t ? t : o instanceof EngineBridge.Token k ? k.thread() : null;
        if (holder == self && o != me) {
            throw new PgException(
                    "55P03",
                    "this thread already holds an open transaction on " + label + " ("
                            + describe(o) + "), and " + (me instanceof Thread ? "the direct API" : me)
                            + " wants the same database session: an embedded database has one session, so a second,"
                            + " independent transaction cannot start on the thread that holds the first (it would wait"
                            + " for itself). Commit or roll back the first one before, or use a savepoint / nested"
                            + " transaction instead of a new one (e.g. Spring's REQUIRES_NEW)");
        }
    }

    /* under lock: queues me and waits until it is granted the turn, at most its limit */
    private void await(Object me, Thread self) {
        Limit limit = limitFor(me);
        Waiter w = new Waiter(me, self, lock.newCondition());
        waiters.addLast(w);
        boolean granted = false;
        try {
            long deadline = System.nanoTime() + limit.nanos;
            while (!w.granted) {
                if (me instanceof EngineBridge.Token t && t.isAborted()) {
                    throw new PgException(
                            "08003", "the connection was closed while it waited for its turn on " + label);
                }
                ensureOpen();
                if (running == null && owner instanceof Thread t && !t.isAlive()) {
                    recoverAbandoned(me, self);
                    grantNext();
                    continue;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw limit.exceeded(describe(owner), ownerHolds());
                }
                try {
                    w.turn.awaitNanos(Math.min(left, RECHECK_NANOS));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new PgException("57014", "interrupted while waiting for another thread's transaction");
                }
            }
            granted = true;
        } finally {
            if (!granted) {
                if (w.granted) {
                    // granted as it gave up: pass the turn on
                    running = null;
                    runningThread = null;
                    depth = 0;
                    grantNext();
                } else {
                    waiters.remove(w);
                }
            }
        }
    }

    /* under lock, no call running: gives the turn to the first waiter that may run now */
    private void grantNext() {
        if (running != null || waiters.isEmpty()) {
            return; // (no iterator made for an empty queue: this runs at the end of every call)
        }
        for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            if (mayRun(w.me)) {
                it.remove();
                start(w.me, w.thread);
                w.granted = true;
                w.turn.signal();
                return;
            }
        }
    }

    /* under lock: wakes every waiter (the session closed, or a waiter was aborted) */
    private void wakeAll() {
        for (Waiter w : waiters) {
            w.turn.signal();
        }
    }

    /* the end of a direct API call: the thread keeps the session while it holds a transaction or cursor */
    private void exitDirect(Thread me, boolean keepsState) {
        lock.lock();
        try {
            if (--depth > 0) {
                return;
            }
            running = null;
            runningThread = null;
            if (open && (!txStack.isEmpty() || openCursor != null || txStatus != TransactionStatus.IDLE)) {
                owner = me;
            } else if (open && keepsState) {
                owner = DIRECT_STATE;
            } else if (owner == me || owner == DIRECT_STATE) {
                owner = null;
            }
            grantNext();
            callEnded.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /* how long a waiter waits, and what it fails with then */
    private record Limit(long nanos, String sqlState, String prefix, String setting) {
        PgException exceeded(String holder, String holds) {
            long ms = TimeUnit.NANOSECONDS.toMillis(nanos);
            if (setting == null) {
                return new PgException(
                        sqlState,
                        "waited " + ms + " ms for " + holds + " of " + holder + " to end:"
                                + " a transaction belongs to the thread that began it (or to its JDBC connection), and"
                                + " session-scoped state to the connection that holds it; other callers wait until it"
                                + " ends (raise transactionWaitTimeout, set lock_timeout, or keep transactions short)");
            }
            return new PgException(
                    sqlState,
                    prefix + ": waited " + ms + " ms (" + setting + ") for its turn on"
                            + " the shared database session, which " + holder + " holds (" + holds + ")");
        }
    }

    private Limit limitFor(Object me) {
        Limit limit = new Limit(waitTimeout.toNanos(), "55P03", null, null);
        if (me instanceof EngineBridge.Token t) {
            long lockMs = t.lockTimeoutMillis();
            long statementMs = t.statementTimeoutMillis();
            if (lockMs > 0) {
                limit = new Limit(
                        TimeUnit.MILLISECONDS.toNanos(lockMs),
                        "55P03",
                        "canceling statement due to lock timeout",
                        "lock_timeout");
            }
            if (statementMs > 0 && TimeUnit.MILLISECONDS.toNanos(statementMs) < limit.nanos) {
                limit = new Limit(
                        TimeUnit.MILLISECONDS.toNanos(statementMs),
                        "57014",
                        "canceling statement due to statement timeout",
                        "statement_timeout");
            }
        }
        return limit;
    }

    private String ownerHolds() {
        Object o = owner;
        if (o == DIRECT_STATE) {
            return "session-scoped state";
        }
        if (o instanceof EngineBridge.Token t && t.holding() != null) {
            return t.holding();
        }
        return "the transaction";
    }

    private static String describe(Object owner) {
        return owner instanceof Thread t ? "thread \"" + t.getName() + "\"" : String.valueOf(owner);
    }

    /* runs a protocol client's work (see EngineBridge.run) */
    int runAs(EngineBridge.Token token, EngineBridge.Body body) throws IOException {
        enter(token);
        int state = -1;
        try {
            reconnectIfLost();
            state = body.run(natives.engine());
            return state;
        } finally {
            exitToken(token, state);
        }
    }

    /* runAs when the turn is free and nobody waits for it; EngineBridge.NOT_RUN otherwise */
    int tryRunAs(EngineBridge.Token token, EngineBridge.Body body) throws IOException {
        lock.lock();
        try {
            ensureOpen();
            if (running != null || !mayRun(token) || !waiters.isEmpty()) {
                return EngineBridge.NOT_RUN;
            }
            start(token, Thread.currentThread());
        } finally {
            lock.unlock();
        }
        int state = -1;
        try {
            reconnectIfLost();
            state = body.run(natives.engine());
            return state;
        } finally {
            exitToken(token, state);
        }
    }

    private void exitToken(EngineBridge.Token token, int state) {
        lock.lock();
        try {
            running = null;
            runningThread = null;
            depth = 0;
            switch (state) {
                case EngineBridge.IDLE -> {
                    txStatus = TransactionStatus.IDLE;
                    if (owner == token) {
                        owner = null;
                    }
                }
                case EngineBridge.HELD -> {
                    txStatus = TransactionStatus.IDLE;
                    owner = token;
                }
                case EngineBridge.IN_TRANSACTION, EngineBridge.FAILED, EngineBridge.BUSY -> {
                    if (state != EngineBridge.BUSY) {
                        txStatus = state == EngineBridge.FAILED
                                ? TransactionStatus.FAILED
                                : TransactionStatus.IN_TRANSACTION;
                    }
                    owner = token;
                }
                case EngineBridge.ENDED -> engineEnded("the engine ended");
                case -1 -> {
                    // the body failed: ownership stays as it was
                }
                default -> throw new IllegalArgumentException("state " + state);
            }
            grantNext();
            callEnded.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /* a waiting protocol client's connection was closed: it stops waiting at once (see EngineBridge.abort) */
    void abortWait(EngineBridge.Token token) {
        lock.lock();
        try {
            for (Waiter w : waiters) {
                if (w.me == token) {
                    w.turn.signal();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /* under lock, no call running: the owner thread died with a transaction open; me rolls it back */
    private void recoverAbandoned(Object me, Thread self) {
        LOG.log(
                System.Logger.Level.WARNING,
                label + ": thread \"" + ((Thread) owner).getName()
                        + "\" ended with a transaction open; rolling it back");
        start(me, self);
        try {
            endAllTransactions();
            if (openCursor != null) {
                RowCursor c = openCursor;
                openCursor = null;
                c.abandon();
                if (c.viaHelper) {
                    // a cursor belongs to the OS thread that opened it: close it there
                    try {
                        onHelper(
                                n -> {
                                    n.cursorCloseAbandoned();
                                    return null;
                                },
                                natives);
                    } catch (IOException | RuntimeException ignored) {
                        // best effort
                    }
                }
            }
            natives.rollbackAbandoned();
        } finally {
            running = null;
            runningThread = null;
            depth = 0;
            owner = null;
        }
    }

    private void ensureOpen() {
        if (!open) {
            String why = endReason;
            throw new IllegalStateException(label + " is closed" + (why != null ? " (" + why + ")" : ""));
        }
    }

    /*
     * on the caller's turn, outside the lock (connecting is a native call): the backend ended (its FATAL went to
     * the call that met it), so a new one, as a reconnecting client would
     */
    private void reconnectIfLost() {
        if (lost) {
            natives.attach(reconnect.connect(waitTimeout));
            lost = false;
            txStatus = TransactionStatus.IDLE;
        }
    }

    /*
     * the engine ended (FATAL): release it now so that the directory can be opened again; a session that
     * outlives its backend connects a new one at its next call
     */
    @Override
    public void engineEnded(String why) {
        lock.lock();
        try {
            endAllTransactions();
            openCursor = null;
            natives.release();
            if (reconnect != null && !closed) {
                LOG.log(System.Logger.Level.DEBUG, label + ": " + why + "; the next call connects a new backend");
                lost = true;
                txStatus = TransactionStatus.IDLE;
                owner = null;
            } else {
                endReason = why;
                open = false;
                txStatus = TransactionStatus.CLOSED;
            }
            wakeAll();
        } finally {
            lock.unlock();
        }
    }

    /* call() for work that spans several native calls bound to one OS thread (COPY, cursors) */
    <T> T callOnOsThread(Op<T> op) {
        return call(n -> onOsThread(op, n));
    }

    private <T> T onOsThread(Op<T> op, NativeSession n) throws IOException {
        if (!Thread.currentThread().isVirtual()) {
            return op.run(n);
        }
        return onHelper(op, n);
    }

    private <T> T onHelper(Op<T> op, NativeSession n) throws IOException {
        ExecutorService h;
        synchronized (this) {
            if (helper == null) {
                helper = Executors.newSingleThreadExecutor(r -> {
                    Thread t = new Thread(r, "pgembed-helper-" + id);
                    t.setDaemon(true);
                    return t;
                });
            }
            h = helper;
        }
        Future<T> f = h.submit(() -> op.run(n));
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();
                } catch (InterruptedException ie) {
                    interrupted = true; // the native call must finish before the turn passes on
                } catch (ExecutionException ee) {
                    Throwable c = ee.getCause();
                    if (c instanceof IOException io) {
                        throw io;
                    }
                    if (c instanceof RuntimeException re) {
                        throw re;
                    }
                    if (c instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(c);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---- what ownership is decided by (changed only by the caller whose turn it is) ------------

    /* a transaction is open: the direct API's, or one begun by a plain BEGIN */
    boolean inTransaction() {
        return !txStack.isEmpty() || txStatus != TransactionStatus.IDLE;
    }

    void pushTransaction(Transaction tx) {
        txStack.push(tx);
    }

    /* tx and every transaction nested in it ended */
    void popTransactions(Transaction tx) {
        while (!txStack.isEmpty()) {
            Transaction t = txStack.pop();
            t.ended = true;
            if (t == tx) {
                break;
            }
        }
    }

    private void endAllTransactions() {
        for (Transaction t : txStack) {
            t.ended = true;
        }
        txStack.clear();
    }

    /* the outermost open transaction begun through origin (a session sharing this backend), or null */
    Transaction outermostOpenTransaction(SqlSession origin) {
        lock.lock();
        try {
            Transaction found = null;
            for (Transaction t : txStack) { // innermost first
                if (t.origin() == origin && !t.ended) {
                    found = t;
                }
            }
            return found;
        } finally {
            lock.unlock();
        }
    }

    boolean isOpenCursor(RowCursor c) {
        return openCursor == c;
    }

    /* c holds the session until it is exhausted or closed (null: no cursor does) */
    void setOpenCursor(RowCursor c) {
        openCursor = c;
    }

    /* true when the calling thread holds the session (its transaction or cursor is open) */
    boolean ownedByCurrentThread() {
        lock.lock();
        try {
            ensureOpen();
            return owner == Thread.currentThread();
        } finally {
            lock.unlock();
        }
    }

    /*
     * Ends the session (the engine's shutdown checkpoint) once no call runs, waiting at most wait (null: as
     * long as it takes); true for the call that closed it, false when closed before or the wait ran out.
     */
    boolean close(Duration wait) {
        if (closed) {
            return false;
        }
        lock.lock();
        try {
            if (closed) {
                return false;
            }
            long deadline = wait == null ? 0 : System.nanoTime() + wait.toNanos();
            // a statement in flight on another thread finishes first (a call of this very thread cannot)
            while (running != null && runningThread != Thread.currentThread()) {
                try {
                    if (wait == null) {
                        callEnded.await();
                    } else {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            return false;
                        }
                        callEnded.awaitNanos(left);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            closed = true;
            if (open) {
                endReason = null;
            }
            open = false;
            endAllTransactions();
            openCursor = null;
            owner = null;
            natives.release();
            wakeAll();
            synchronized (this) {
                if (helper != null) {
                    helper.shutdown();
                }
            }
        } finally {
            lock.unlock();
        }
        return true;
    }
}
