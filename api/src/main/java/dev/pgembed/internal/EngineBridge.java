package dev.pgembed.internal;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PgSession;
import dev.pgembed.SqlSession;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * <b>Internal, not API</b>: the door through which pgembed's own JDBC module ({@code pgembed-jdbc}) reaches
 * the native engine of a {@link PgEmbedded} and takes part in its call serialisation. It may change or
 * disappear in any release; applications must not use it.
 *
 * <p>A protocol client (a JDBC connection) is identified by a {@link Token}, not by a thread: while an
 * exchange run under a token leaves the backend anywhere but idle outside a transaction, only that token
 * may run the next exchange, and every other caller (other tokens and the direct Java API) waits, at most
 * the instance's transaction wait timeout (then {@code PgException} 55P03). A caller that would wait for
 * a token or transaction held by its own thread fails at once with 55P03 (it would wait for itself).
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

    /** The identity of a protocol client (a JDBC connection), usable from any thread. */
    public static final class Token {
        private final String description;
        private volatile Thread thread;

        /** @param description how messages name the holder, for example {@code "JDBC connection #3"} */
        public Token(String description) {
            this.description = Objects.requireNonNull(description, "description");
        }

        /** The thread that ran this token's last exchange, or null. */
        public Thread thread() {
            return thread;
        }

        @Override
        public String toString() {
            Thread t = thread;
            return description + (t != null ? " (last used by thread \"" + t.getName() + "\")" : "");
        }
    }

    /** Work run with the instance's lock held and the token's turn; returns one of the state constants. */
    @FunctionalInterface
    public interface Body {
        int run(MemorySegment engine) throws IOException;
    }

    /**
     * Runs before every call of the direct Java API, with the lock held and the caller's turn (the backend is
     * idle, or in the calling thread's own transaction).
     */
    @FunctionalInterface
    public interface DirectHook {
        void beforeDirectCall(MemorySegment engine) throws IOException;
    }

    /** Implemented by {@link PgEmbedded}. */
    public interface Access {
        MemorySegment engine(SqlSession s);

        int run(SqlSession s, Token token, Body body) throws IOException;

        void setDirectHook(PgEmbedded db, DirectHook hook);

        PgEmbedded findOpen(Path dir);

        PgSession openSession(PgEmbedded db, String database, Map<String, String> settings);
    }

    private static volatile Access access;

    private EngineBridge() {
    }

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
     * Runs body with db's lock held once token has the turn (see the class comment); the state it returns
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
     * @param database the database (null: db's own)
     * @param settings session settings, as a start-up packet carries them
     * @throws dev.pgembed.PgException the backend's own refusal (no such database, a bad setting, ...)
     * @throws IllegalStateException   when db is closed
     */
    public static PgSession openSession(PgEmbedded db, String database, Map<String, String> settings) {
        return access().openSession(db, database, settings);
    }

    /** The open instance on a directory (absolute, normalised), or null. */
    public static PgEmbedded findOpen(Path dir) {
        return access().findOpen(dir);
    }
}
