package dev.pgembed;

import dev.pgembed.internal.EngineBridge;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Turn-taking on the one backend session of a {@link PgEmbedded}: one call runs at a time, under the lock;
 * a transaction, an open cursor or a protocol client's unfinished exchange makes its holder (a thread or
 * an {@link EngineBridge.Token}) the owner of the session, and every other caller waits until the owner
 * lets go, at most the transaction wait timeout. It keeps what ownership is decided by (the stack of
 * direct-API transactions, the open cursor, the transaction status), recovers a session whose owner thread
 * died, notices the end of the engine, and runs COPY and cursors of virtual threads on a helper platform
 * thread (their native calls must stay on one OS thread).
 *
 * <p>The native calls themselves are {@link NativeSession}'s; an {@link Op} receives it once the caller
 * has its turn.
 */
final class Session implements NativeSession.Events {
    private static final System.Logger LOG = System.getLogger("dev.pgembed");

    private final String label;
    private final long id;
    private final Duration waitTimeout;
    private final NativeSession natives;

    final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    private volatile boolean open = true;
    private volatile boolean closed;
    private volatile String endReason;
    private volatile TransactionStatus txStatus = TransactionStatus.IDLE;
    /* ownership (under lock): the Thread of a direct-API transaction, or an EngineBridge.Token */
    private Object owner;
    /* runs before direct API calls (pgembed-jdbc hands the session back); see EngineBridge */
    private volatile EngineBridge.DirectHook directHook;
    /* the direct API's open transactions, innermost first (under lock) */
    private final Deque<Transaction> txStack = new ArrayDeque<>();
    private RowCursor openCursor;
    private ExecutorService helper;
    /* a new backend when this one ended while its cluster goes on (null: the end of the engine is the end) */
    private final Reconnect reconnect;
    /* the engine ended and the next call connects a new backend (under lock) */
    private boolean lost;

    /** Connects a new backend for the session (a cluster's backend ended: terminated, or a crash restart). */
    @FunctionalInterface
    interface Reconnect {
        /** @throws PgException when no backend could be connected */
        MemorySegment connect(Duration within);
    }

    Session(MemorySegment engine, String label, Duration waitTimeout, Consumer<Notice> noticeListener, long id) {
        this(engine, label, waitTimeout, noticeListener, id, null, null);
    }

    /*
     * onRelease: runs each time an engine of the session is released; reconnect: the session outlives its
     * backend (the database's own session in a cluster), else null
     */
    Session(MemorySegment engine, String label, Duration waitTimeout, Consumer<Notice> noticeListener, long id,
            Runnable onRelease, Reconnect reconnect) {
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

    /** A native operation run with the lock held and the engine open. */
    @FunctionalInterface
    interface Op<T> {
        T run(NativeSession natives) throws IOException;
    }

    /* runs op once the calling thread has its turn; the thread owns the session afterwards while it holds it */
    <T> T call(Op<T> op) {
        enter();
        try {
            EngineBridge.DirectHook hook = directHook;
            if (hook != null) {
                hook.beforeDirectCall(natives.engine());
            }
            return op.run(natives);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            exit();
        }
    }

    private void enter() {
        lock.lock();
        try {
            awaitTurn(Thread.currentThread());
        } catch (RuntimeException | Error e) {
            lock.unlock();
            throw e;
        }
    }

    private void exit() {
        try {
            Thread me = Thread.currentThread();
            if (open && (!txStack.isEmpty() || openCursor != null || txStatus != TransactionStatus.IDLE)) {
                owner = me;
            } else if (owner != null) {
                owner = null;
                released.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /* me: the calling Thread (direct API) or an EngineBridge.Token (a protocol client) */
    private void awaitTurn(Object me) {
        ensureOpen();
        if (owner == null || owner == me) {
            return;
        }
        Thread self = Thread.currentThread();
        long deadline = System.nanoTime() + waitTimeout.toNanos();
        while (owner != null && owner != me) {
            if (owner instanceof Thread t && !t.isAlive()) {
                recoverAbandoned();
                break;
            }
            Thread holder = owner instanceof Thread t ? t : ((EngineBridge.Token) owner).thread();
            if (holder == self) {
                throw new PgException("55P03", "this thread already holds an open transaction on " + label + " ("
                        + describe(owner) + "), and " + (me instanceof Thread ? "the direct API" : me)
                        + " wants the same database session: an embedded database has one session, so a second,"
                        + " independent transaction cannot start on the thread that holds the first (it would wait"
                        + " for itself). Commit or roll back the first one before, or use a savepoint / nested"
                        + " transaction instead of a new one (e.g. Spring's REQUIRES_NEW)");
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new PgException("55P03", "waited " + waitTimeout.toMillis() + " ms for the transaction of "
                        + describe(owner) + " to end: a transaction belongs to the thread that began it (or to"
                        + " its JDBC connection), other callers wait until it commits or rolls back (raise"
                        + " transactionWaitTimeout, or keep transactions short)");
            }
            try {
                released.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PgException("57014", "interrupted while waiting for another thread's transaction");
            }
            ensureOpen();
        }
    }

    private static String describe(Object owner) {
        return owner instanceof Thread t ? "thread \"" + t.getName() + "\"" : String.valueOf(owner);
    }

    /* runs a protocol client's work (see EngineBridge.run) */
    int runAs(EngineBridge.Token token, EngineBridge.Body body) throws IOException {
        lock.lock();
        try {
            awaitTurn(token);
            int state = body.run(natives.engine());
            switch (state) {
                case EngineBridge.IDLE -> {
                    txStatus = TransactionStatus.IDLE;
                    if (owner != null) {
                        owner = null;
                        released.signalAll();
                    }
                }
                case EngineBridge.IN_TRANSACTION, EngineBridge.FAILED, EngineBridge.BUSY -> {
                    if (state != EngineBridge.BUSY) {
                        txStatus = state == EngineBridge.FAILED ? TransactionStatus.FAILED
                                : TransactionStatus.IN_TRANSACTION;
                    }
                    owner = token;
                }
                case EngineBridge.ENDED -> engineEnded("the engine ended");
                default -> throw new IllegalArgumentException("state " + state);
            }
            return state;
        } finally {
            lock.unlock();
        }
    }

    /* the owner thread died with a transaction open: roll it back */
    private void recoverAbandoned() {
        LOG.log(System.Logger.Level.WARNING, label + ": thread \"" + ((Thread) owner).getName()
                + "\" ended with a transaction open; rolling it back");
        endAllTransactions();
        if (openCursor != null) {
            RowCursor c = openCursor;
            openCursor = null;
            c.abandon();
            if (c.viaHelper) {
                // a cursor belongs to the OS thread that opened it: close it there
                try {
                    onHelper(n -> {
                        n.cursorCloseAbandoned();
                        return null;
                    }, natives);
                } catch (IOException | RuntimeException ignored) {
                    // best effort
                }
            }
        }
        natives.rollbackAbandoned();
        owner = null;
    }

    private void ensureOpen() {
        if (!open) {
            String why = endReason;
            throw new IllegalStateException(label + " is closed" + (why != null ? " (" + why + ")" : ""));
        }
        if (lost) {
            // the backend ended (its FATAL went to the call that met it): a new one, as a reconnecting client would
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
        endAllTransactions();
        openCursor = null;
        natives.release();
        if (reconnect != null && !closed) {
            LOG.log(System.Logger.Level.DEBUG, label + ": " + why + "; the next call connects a new backend");
            lost = true;
            txStatus = TransactionStatus.IDLE;
            if (owner != null) {
                owner = null;
            }
        } else {
            endReason = why;
            open = false;
            txStatus = TransactionStatus.CLOSED;
        }
        released.signalAll();
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
        if (helper == null) {
            helper = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "pgembed-helper-" + id);
                t.setDaemon(true);
                return t;
            });
        }
        Future<T> f = helper.submit(() -> op.run(n));
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();
                } catch (InterruptedException ie) {
                    interrupted = true; // the native call must finish before the lock is released
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

    // ---- what ownership is decided by (callers hold the lock) ------------------------------------

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

    /* ends the session (the engine's shutdown checkpoint); true for the call that closed it */
    boolean close() {
        if (closed) {
            return false;
        }
        lock.lock();
        try {
            if (closed) {
                return false;
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
            released.signalAll();
            if (helper != null) {
                helper.shutdown();
            }
        } finally {
            lock.unlock();
        }
        return true;
    }
}
