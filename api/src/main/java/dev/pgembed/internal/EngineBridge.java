package dev.pgembed.internal;

import dev.pgembed.Notification;
import dev.pgembed.PgEmbedded;
import dev.pgembed.PgSession;
import dev.pgembed.SqlSession;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * <b>Internal, not API</b>: the door through which pgembed's own JDBC module ({@code pgembed-jdbc}) reaches
 * the native engine of a {@link PgEmbedded} and takes part in its call serialisation. It may change or
 * disappear in any release; applications must not use it.
 *
 * <p>A protocol client (a JDBC connection) is identified by a {@link Token}, not by a thread: while an
 * exchange run under a token leaves the backend anywhere but idle outside a transaction, only that token
 * may run the next exchange, and every other caller (other tokens and the direct Java API) waits, in arrival
 * order, at most the instance's transaction wait timeout (then {@code PgException} 55P03) or the token's own
 * {@link Token#timeouts lock_timeout / statement_timeout}. A caller that would wait for a token or transaction
 * held by its own thread fails at once with 55P03 (it would wait for itself); an aborted token's wait fails at
 * once with 08003.
 *
 * <p>The door follows the JDK's SharedSecrets pattern ({@code jdk.internal.access.SharedSecrets}): this class is
 * public so that another package can call it, and its implementation ({@link Access}) lives inside
 * {@link PgEmbedded}, which installs it from its class initialisation, so that the engine pointer and the
 * turn-taking stay private to {@code dev.pgembed}. {@code PgEmbedded} and {@code EngineBridge} therefore refer
 * to each other on purpose: the cycle is what keeps the engine out of {@code PgEmbedded}'s public API.
 * {@link #engine(PgEmbedded)} and the other entry points initialise {@code PgEmbedded} first when the JDBC
 * module reaches the door before any database was opened.
 */
public final class EngineBridge {
    /** {@link Body} result: the backend is idle outside a transaction (ReadyForQuery 'I'); releases the token's turn. */
    public static final int IDLE = 0;
    /** {@link Body} result: in a transaction block (ReadyForQuery 'T'); the token keeps the turn. */
    public static final int IN_TRANSACTION = 1;
    /** {@link Body} result: in a failed transaction block (ReadyForQuery 'E'); the token keeps the turn. */
    public static final int FAILED = 2;
    /** {@link Body} result: mid-protocol (no ReadyForQuery yet, COPY, more output pending); the token keeps the turn. */
    public static final int BUSY = 3;
    /** {@link Body} result: the engine ended; the instance closes itself. */
    public static final int ENDED = 4;
    /**
     * {@link Body} result: idle outside a transaction, but the token keeps the turn: its connection holds
     * session-scoped state another connection must not see (see {@link Token#holding(String)}).
     */
    public static final int HELD = 5;
    /** {@link #tryRun} result: the turn was not free, the body did not run. */
    public static final int NOT_RUN = -1;

    /** The identity of a protocol client (a JDBC connection), usable from any thread. */
    public static final class Token {
        private final String description;
        private volatile Thread thread;
        private volatile boolean aborted;
        private volatile long lockTimeoutMillis;
        private volatile long statementTimeoutMillis;
        private volatile String holding;

        /** @param description how messages name the holder, for example {@code "JDBC connection #3"} */
        public Token(String description) {
            this.description = Objects.requireNonNull(description, "description");
        }

        /** The thread that ran this token's last exchange, or null. */
        public @Nullable Thread thread() {
            return thread;
        }

        /** True once {@link EngineBridge#abort} was called: the token's waits fail at once (08003). */
        public boolean isAborted() {
            return aborted;
        }

        /**
         * The connection's own {@code lock_timeout} and {@code statement_timeout} in milliseconds (0: not set): a
         * wait for the turn lasts at most the smaller of those set (failing as PostgreSQL's timeouts do, 55P03 and
         * 57014), else the instance's transaction wait timeout.
         *
         * @param lockTimeout      lock_timeout, 0 for none
         * @param statementTimeout statement_timeout, 0 for none
         */
        public void timeouts(long lockTimeout, long statementTimeout) {
            this.lockTimeoutMillis = lockTimeout;
            this.statementTimeoutMillis = statementTimeout;
        }

        /** @return lock_timeout as set by {@link #timeouts}, in milliseconds (0: none) */
        public long lockTimeoutMillis() {
            return lockTimeoutMillis;
        }

        /** @return statement_timeout as set by {@link #timeouts}, in milliseconds (0: none) */
        public long statementTimeoutMillis() {
            return statementTimeoutMillis;
        }

        /**
         * What the token holds while it keeps the turn outside a transaction ({@link #HELD}), for the messages of
         * those who wait, for example {@code "a session-level advisory lock"}; null when nothing.
         *
         * @param what the description, or null
         */
        public void holding(String what) {
            this.holding = what;
        }

        /** @return what {@link #holding(String)} said, or null */
        public String holding() {
            return holding;
        }

        @Override
        public String toString() {
            Thread t = thread;
            return description + (t != null ? " (last used by thread \"" + t.getName() + "\")" : "");
        }
    }

    /** Work run on the token's turn (no other call runs meanwhile); returns one of the state constants. */
    @FunctionalInterface
    public interface Body {
        int run(MemorySegment engine) throws IOException;
    }

    /**
     * Runs before every call of the direct Java API, on the caller's turn (the backend is
     * idle, or in the calling thread's own transaction).
     */
    @FunctionalInterface
    public interface DirectHook {
        void beforeDirectCall(MemorySegment engine) throws IOException;

        /**
         * Runs after a direct API call that left the backend idle outside a transaction, still on the caller's
         * turn; true when the direct API must keep the session until its next call (it holds session-scoped state
         * that a protocol client must not see), which makes protocol clients wait.
         */
        default boolean afterDirectCall(MemorySegment engine) throws IOException {
            return false;
        }

        /**
         * A notification arrived in the output of a direct API call (the backend listens on its channel for a
         * protocol client, or for the direct API); runs on the caller's turn, must not call the engine. True when
         * the direct API listens on the channel itself (the database's notification listener gets it).
         */
        default boolean notification(Notification n) {
            return true;
        }
    }

    /** Implemented by {@link PgEmbedded}. */
    public interface Access {
        MemorySegment engine(SqlSession s);

        int run(SqlSession s, Token token, Body body) throws IOException;

        int tryRun(PgEmbedded db, Token token, Body body) throws IOException;

        void setDirectHook(PgEmbedded db, DirectHook hook);

        void abort(PgEmbedded db, Token token);

        @Nullable
        PgEmbedded findOpen(Path dir);

        @Nullable
        PgSession openSession(PgEmbedded db, @Nullable String database, Map<String, String> settings);

        void statementsSucceeded(PgEmbedded db, int count);

        void statementFailed(PgEmbedded db, String sqlState);

        void notified(PgEmbedded db, Notification n);
    }

    private static volatile Access access;

    private EngineBridge() {}

    /**
     * Called once by {@link PgEmbedded}'s class initialisation.
     *
     * @param a the implementation
     */
    public static synchronized void install(Access a) {
        if (access != null) {
            throw new IllegalStateException("already installed");
        }
        access = Objects.requireNonNull(a);
    }

    private static Access access() {
        Access a = access;
        if (a == null) {
            try {
                Class.forName("dev.pgembed.PgEmbedded", true, EngineBridge.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
            a = access;
        }
        return a;
    }

    /**
     * The native engine of an open session (null once closed, or while a session that outlives its backend has
     * none); for calls that are safe from any thread (cancel).
     */
    public static MemorySegment engine(SqlSession s) {
        return access().engine(s);
    }

    /**
     * Runs body once token has the turn (see the class comment); the state it returns
     * decides whether the token keeps the turn.
     *
     * @throws dev.pgembed.PgException 55P03 when the turn did not come in time, or would never come
     * @throws IllegalStateException   when db is closed
     */
    public static int run(SqlSession db, Token token, Body body) throws IOException {
        Objects.requireNonNull(token, "token");
        return access().run(db, token, engine -> {
            token.thread = Thread.currentThread();
            return body.run(engine);
        });
    }

    /**
     * Makes the token's waits for the turn on db fail at once with 08003, now and later (its connection was
     * closed or aborted from another thread); returns at once, whatever db's calls are doing.
     */
    public static void abort(PgEmbedded db, Token token) {
        token.aborted = true;
        access().abort(db, token);
    }

    /**
     * Runs body like {@link #run} when token can have the turn at once (nobody else holds it or waits for it);
     * otherwise returns {@link #NOT_RUN} without waiting.
     */
    public static int tryRun(PgEmbedded db, Token token, Body body) throws IOException {
        Objects.requireNonNull(token, "token");
        return access().tryRun(db, token, engine -> {
            token.thread = Thread.currentThread();
            return body.run(engine);
        });
    }

    /** Installs (or removes, with null) the hook that runs before every direct API call on db. */
    public static void setDirectHook(PgEmbedded db, DirectHook hook) {
        access().setDirectHook(db, hook);
    }

    /**
     * A session of db on a backend of its own, for a protocol client (a JDBC connection, a serve-mode client):
     * connected to database as db's session role (the superuser without one: a client is never more than the
     * application's own session), with the client's start-up settings. Null when db has no backend to give
     * (it has one backend, or its limit or the process's namespaces are spent): the client shares db's own.
     *
     * @param db       the open instance
     * @param database the database (null: db's own)
     * @param settings session settings, as a start-up packet carries them
     * @return the session on a backend of its own, or null when the client shares db's own backend
     * @throws dev.pgembed.PgException the backend's own refusal (no such database, a bad setting, ...)
     * @throws IllegalStateException   when db is closed
     */
    public static @Nullable PgSession openSession(
            PgEmbedded db, @Nullable String database, Map<String, String> settings) {
        return access().openSession(db, database, settings);
    }

    /** The open instance on a directory (absolute, normalised), or null. */
    public static @Nullable PgEmbedded findOpen(Path dir) {
        return access().findOpen(dir);
    }

    /** Reports statements a protocol client's exchange completed without error to the listeners. */
    public static void statementsSucceeded(PgEmbedded db, int count) {
        access().statementsSucceeded(db, count);
    }

    /**
     * Hands a notification that arrived in a protocol client's exchange to the direct API's notification listener
     * (the direct API listens on its channel).
     */
    public static void notified(PgEmbedded db, Notification n) {
        access().notified(db, n);
    }

    /** Reports a statement of a protocol client that failed with this SQLSTATE to the listeners. */
    public static void statementFailed(PgEmbedded db, String sqlState) {
        access().statementFailed(db, sqlState);
    }
}
