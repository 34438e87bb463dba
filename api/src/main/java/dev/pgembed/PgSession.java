package dev.pgembed;

/**
 * A further session of a database, from {@link PgEmbedded#session()}: statements, prepared statements,
 * cursors, COPY and transactions of its own, as a connection to a server has. Close it when done.
 *
 * <p>On a database with several backends ({@link PgEmbedded.Builder#backends(int)}) a session runs on a
 * PostgreSQL backend of its own, in parallel with the database's other sessions, under a server's rules:
 * it sees what the others committed, never what they have not, waits for their row and table locks (or
 * fails with 40P01 in a deadlock), and its settings, temporary tables, advisory locks and LISTENs are its
 * own. When its backend ends (terminated with {@code pg_terminate_backend}, {@code idle_session_timeout},
 * a crash of another backend) the call that meets the end fails with a {@linkplain PgException#isFatal()
 * fatal} error and the session is closed; open another.
 *
 * <p>When the database has one backend, or no backend was left for this session (see
 * {@link #hasOwnBackend()}), the session shares the database's own backend: its statements take turns with
 * everybody else's at transaction boundaries, exactly as the {@link PgEmbedded} methods do, and its session
 * state is the database's own.
 *
 * <p>Like {@link PgEmbedded}, a session may be used by several threads (see {@link SqlSession}), but it is
 * meant for one task at a time: a thread per session is what gives parallelism.
 */
public final class PgSession extends SqlSession implements AutoCloseable {
    private final PgEmbedded db;
    /* the turn-taking over the session's own backend; null: the session shares the database's */
    private final Session own;
    private volatile boolean closed;

    PgSession(PgEmbedded db, Session own) {
        this.db = db;
        this.own = own;
    }

    @Override
    Session turns() {
        if (own != null) {
            return own;
        }
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        return db.session;
    }

    /**
     * Whether the session runs on a backend of its own. False when the database has one backend, or when its
     * {@linkplain PgEmbedded.Builder#backends(int) limit} or the process's namespaces were spent when the
     * session was opened: then it shares the database's own backend and takes turns with it.
     *
     * @return true for a backend of its own
     */
    public boolean hasOwnBackend() {
        return own != null;
    }

    /**
     * True until {@link #close()}, the end of its backend, or the database's close.
     *
     * @return whether statements can run
     */
    @Override
    public boolean isOpen() {
        return own != null ? own.isOpen() : !closed && db.session.isOpen();
    }

    /**
     * Ends the session: its backend ends (an open transaction is rolled back), waiting for a statement in
     * flight on another thread. On a shared backend, a transaction the calling thread began through this
     * session is rolled back. Idempotent.
     */
    @Override
    public void close() {
        if (own != null) {
            if (own.close(null)) {
                db.cluster.remove(this);
            }
            return;
        }
        if (closed) {
            return;
        }
        try {
            Transaction tx = db.session.outermostOpenTransaction(this);
            if (tx != null) {
                tx.rollbackIfOwned();
            }
        } finally {
            closed = true;
        }
    }

    @Override
    public String toString() {
        return "PgSession[" + db.dir + (own != null ? ", own backend" : ", shared backend")
                + (isOpen() ? "" : ", closed") + "]";
    }
}
