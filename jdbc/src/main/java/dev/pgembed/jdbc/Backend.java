package dev.pgembed.jdbc;

import dev.pgembed.PgEmbedded;
import dev.pgembed.internal.EngineBridge;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * One open database shared by every JDBC connection to it: reference counted, and the keeper of its one
 * backend session's passage from one connection to another.
 *
 * <p>The backend has one session; each connection (and the direct Java API) behaves as a session of its
 * own. When the backend passes to another connection (always while idle outside a transaction), the
 * outgoing one's session settings ({@code pg_settings.source = 'session'}) and LISTEN channels are
 * recorded, the session is reset like {@code DISCARD ALL} minus {@code DEALLOCATE ALL} (protocol-level
 * prepared statements stay: their names carry a per-connection prefix; SQL-level {@code PREPARE}s, which
 * carry none, are deallocated) and minus {@code pg_advisory_unlock_all()} (see RESET), and the incoming
 * one's settings and channels are applied again.
 */
final class Backend {
    private static final System.Logger LOG = System.getLogger("dev.pgembed.jdbc");
    private static final Object LOCK = new Object();
    private static final Map<String, Backend> BY_TARGET = new HashMap<>();
    private static final Map<String, Backend> BY_KEY = new ConcurrentHashMap<>();
    private static final AtomicLong KEYS = new AtomicLong();

    /** The direct Java API, as the session that holds the backend. */
    static final Object DIRECT = new Object();
    /** A connection that ended while it held the backend. */
    static final Object GONE = new Object();

    /* SQL-level PREPAREs (pg_dump makes them) would collide with the next session's: they are deallocated */
    private static final String SQL_PREPARED = "SELECT name FROM pg_catalog.pg_prepared_statements WHERE from_sql;";
    private static final String CAPTURE_AND_RESET = "SELECT name, setting FROM pg_catalog.pg_settings WHERE source"
            + " = 'session' AND name NOT IN ('client_encoding', 'transaction_isolation', 'transaction_read_only',"
            + " 'transaction_deferrable');"
            + " SELECT pg_catalog.pg_listening_channels(); " + SQL_PREPARED
            + " CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; DISCARD TEMP;"
            + " DISCARD SEQUENCES";
    /*
     * Session-level advisory locks are deliberately kept (no pg_advisory_unlock_all): all connections share
     * one session, so they never exclude each other anyway, and releasing them would make the holder's own
     * pg_advisory_unlock fail later (Flyway's non-transactional lock does exactly that).
     */
    private static final String RESET = SQL_PREPARED + " CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL;"
            + " UNLISTEN *; DISCARD TEMP; DISCARD SEQUENCES";

    final String key;
    final String target;
    final PgEmbedded db;
    final boolean ownsDb;
    private int refs; // under LOCK

    /* under the db's lock */
    private Object current = DIRECT;
    private Map<String, String> directSettings = Map.of();
    private List<String> directChannels = List.of();
    private final NativeExchange nat = new NativeExchange();
    private final Wire.Buf scratch = new Wire.Buf(4096);
    /** The connection whose request is running now (for CancelRequest). */
    volatile WireSession running;

    private Backend(String target, PgEmbedded db, boolean ownsDb) {
        this.key = "pgembed-" + KEYS.incrementAndGet();
        this.target = target;
        this.db = db;
        this.ownsDb = ownsDb;
    }

    /**
     * The backend of a target, opened when needed, with one reference taken.
     *
     * @param target the registry key ("dir:/abs/path", "mem:name", ...)
     * @param dir    the directory of a directory target (an instance the application opened on it is reused), else null
     * @param opener opens a new instance
     */
    static Backend acquire(String target, Path dir, Supplier<PgEmbedded> opener) {
        synchronized (LOCK) {
            Backend b = BY_TARGET.get(target);
            if (b != null && !b.db.isOpen()) {
                BY_TARGET.remove(target);
                b = null;
            }
            if (b == null) {
                PgEmbedded db = dir == null ? null : EngineBridge.findOpen(dir);
                boolean owns = db == null;
                if (owns) {
                    db = opener.get();
                }
                b = register(target, db, owns);
            }
            b.refs++;
            return b;
        }
    }

    /**
     * The backend of an instance the application opened (serve mode), with one reference taken: the one
     * JDBC connections to its directory use too, registered when none is.
     *
     * @throws IllegalStateException when db is closed
     */
    static Backend forInstance(PgEmbedded db) {
        synchronized (LOCK) {
            if (!db.isOpen()) {
                throw new IllegalStateException(db + " is closed");
            }
            for (Backend b : BY_TARGET.values()) {
                if (b.db == db) {
                    b.refs++;
                    return b;
                }
            }
            Path dir = db.directory().toAbsolutePath().normalize();
            // an in-memory instance is unreachable by URL: a target of its own keeps it apart from "dir:"
            String target = (EngineBridge.findOpen(dir) == db ? "dir:" : "instance:") + dir;
            Backend b = BY_TARGET.get(target);
            if (b != null) {
                BY_TARGET.remove(target); // a closed instance's leftover (checked above: not db's)
            }
            b = register(target, db, false);
            b.refs++;
            return b;
        }
    }

    /* under LOCK */
    private static Backend register(String target, PgEmbedded db, boolean owns) {
        Backend b = new Backend(target, db, owns);
        EngineBridge.setDirectHook(db, engine -> b.switchTo(DIRECT, engine));
        BY_TARGET.put(target, b);
        BY_KEY.put(b.key, b);
        return b;
    }

    /** The backend registered under a socketFactoryArg key, with one more reference; null when unknown. */
    static Backend retain(String key) {
        synchronized (LOCK) {
            Backend b = BY_KEY.get(key);
            if (b == null || b.refs == 0 || !b.db.isOpen()) {
                return null;
            }
            b.refs++;
            return b;
        }
    }

    /** Drops a reference; the last one closes the database (unless the application opened it). */
    void release() {
        synchronized (LOCK) {
            if (--refs > 0) {
                return;
            }
            BY_KEY.remove(key);
            BY_TARGET.remove(target, this);
            try {
                if (ownsDb) {
                    db.close();
                } else if (db.isOpen()) {
                    // hand the session back to the application's direct API, then step aside
                    try {
                        EngineBridge.run(db, new EngineBridge.Token("pgembed-jdbc (closing)"), engine -> {
                            switchTo(DIRECT, engine);
                            return EngineBridge.IDLE;
                        });
                    } finally {
                        EngineBridge.setDirectHook(db, null);
                    }
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "closing " + db + " failed", e);
            } finally {
                nat.close();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Under the db's lock (inside EngineBridge bodies and the direct hook)
    // ---------------------------------------------------------------------------------------------

    /** Makes s (a WireSession, or DIRECT) the session of the backend; the backend is idle. */
    void switchTo(Object s, MemorySegment engine) {
        Object out = current;
        if (out == s) {
            return;
        }
        current = s;
        Wire.Reply r = simpleQuery(engine, out == GONE ? RESET : CAPTURE_AND_RESET);
        List<String[]> prepared = r.results.isEmpty() ? List.of() : r.results.get(r.results.size() - 1);
        if (r.error == null && !prepared.isEmpty()) {
            StringBuilder deallocate = new StringBuilder();
            for (String[] row : prepared) {
                deallocate.append("DEALLOCATE ").append(Wire.identifier(row[0])).append(';');
            }
            Wire.Reply d = simpleQuery(engine, deallocate.toString());
            if (d.error != null) {
                LOG.log(System.Logger.Level.WARNING, "deallocating a session's prepared statements failed: "
                        + d.errorText());
            }
        }
        if (r.error != null) {
            LOG.log(System.Logger.Level.WARNING, "resetting the session for another connection failed: "
                    + r.errorText());
        } else if (out != GONE) {
            Map<String, String> settings = new LinkedHashMap<>();
            List<String> channels = new ArrayList<>();
            if (r.results.size() >= 2) {
                for (String[] row : r.results.get(0)) {
                    settings.put(row[0], row[1]);
                }
                for (String[] row : r.results.get(1)) {
                    channels.add(row[0]);
                }
            }
            if (out == DIRECT) {
                directSettings = settings;
                directChannels = channels;
            } else {
                ((WireSession) out).saved(settings, channels);
            }
        }
        String error = s == DIRECT ? apply(engine, directSettings, directChannels)
                : apply(engine, ((WireSession) s).settings(), ((WireSession) s).channels());
        if (error != null) {
            LOG.log(System.Logger.Level.WARNING, "restoring a session setting failed: " + error);
        }
    }

    /** Applies session settings and LISTENs; returns the first error (all are tried), or null. */
    private String apply(MemorySegment engine, Map<String, String> settings, List<String> channels) {
        if (settings.isEmpty() && channels.isEmpty()) {
            return null;
        }
        List<String> statements = new ArrayList<>();
        String auth = settings.get("session_authorization");
        if (auth != null) {
            statements.add("SELECT pg_catalog.set_config('session_authorization', " + Wire.literal(auth) + ", false)");
        }
        for (Map.Entry<String, String> e : settings.entrySet()) {
            if (!e.getKey().equals("session_authorization")) {
                statements.add("SELECT pg_catalog.set_config(" + Wire.literal(e.getKey()) + ", "
                        + Wire.literal(e.getValue()) + ", false)");
            }
        }
        for (String c : channels) {
            statements.add("LISTEN " + Wire.identifier(c));
        }
        Wire.Reply r = simpleQuery(engine, String.join("; ", statements));
        if (r.error == null) {
            return null;
        }
        // one by one, so that one bad setting does not lose the others
        String first = null;
        for (String st : statements) {
            Wire.Reply one = simpleQuery(engine, st);
            if (one.error != null && first == null) {
                first = one.errorText() + " (" + st + ")";
            }
        }
        return first;
    }

    /** Runs an internal simple query on an idle backend through nat; its output never reaches a client. */
    static Wire.Reply simpleQuery(NativeExchange nat, MemorySegment engine, String sql) {
        byte[] q = Wire.query(sql);
        Wire.Buf out = new Wire.Buf(1024);
        int rc = nat.exchangeAll(engine, q, 0, q.length, out);
        Wire.Reply r = Wire.parse(out.b, 0, out.len);
        if (rc == NativeExchange.ENDED && r.error == null) {
            r.error = Map.of('C', "57P01", 'M', "the engine ended");
        }
        return r;
    }

    /** Runs an internal simple query (the backend is idle); its output never reaches a client. */
    Wire.Reply simpleQuery(MemorySegment engine, String sql) {
        byte[] q = Wire.query(sql);
        scratch.clear();
        int rc = nat.exchangeAll(engine, q, 0, q.length, scratch);
        Wire.Reply r = Wire.parse(scratch.b, 0, scratch.len);
        if (rc == NativeExchange.ENDED && r.error == null) {
            r.error = Map.of('C', "57P01", 'M', "the engine ended");
        }
        if (scratch.b.length > (1 << 20)) {
            scratch.b = new byte[4096];
        }
        return r;
    }

    boolean isCurrent(Object s) {
        return current == s;
    }

    void ended(WireSession s) {
        if (current == s) {
            current = GONE;
        }
    }

    @Override
    public String toString() {
        return "Backend[" + target + ", " + db + "]";
    }
}
