package dev.pgembed.jdbc;

import dev.pgembed.Notification;
import dev.pgembed.PgEmbedded;
import dev.pgembed.internal.EngineBridge;
import dev.pgembed.internal.bindings.PgEmbeddedH;
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
 * outgoing one's session settings ({@code pg_settings.source = 'session'}) are recorded, the session is
 * reset like {@code DISCARD ALL} minus {@code DEALLOCATE ALL} (protocol-level prepared statements stay:
 * their names carry a per-connection prefix; SQL-level {@code PREPARE}s, which carry none, are deallocated),
 * minus {@code pg_advisory_unlock_all()} and minus {@code UNLISTEN *}, and the incoming one's settings are
 * applied again. When no statement of the outgoing connection could have changed its session (see
 * WireSession.takeSettingsChanged), only the difference of the two connections' settings is applied (the
 * short hand-over). A connection holding a session-level advisory lock or a cursor WITH HOLD is never handed
 * over: it keeps the turn (HeldState). The backend listens on the channels of every
 * connection, and routes each notification to the connections listening on its channel (see route).
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
            + " CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DISCARD TEMP; DISCARD SEQUENCES";
    /*
     * No pg_advisory_unlock_all: a connection holding a session-level advisory lock keeps the turn until it
     * releases it or ends (WireSession), so none is held at a hand-over but the direct API's. No UNLISTEN *: the
     * backend listens for every connection (route).
     */
    private static final String RESET = SQL_PREPARED + " CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL;"
            + " DISCARD TEMP; DISCARD SEQUENCES";

    final String key;
    final String target;
    final PgEmbedded db;
    final boolean ownsDb;
    private int refs; // under LOCK

    /* changed on the turn (read without it by mayBeCurrent) */
    private volatile Object current = DIRECT;
    /* connections that ended without the turn: what the next holder cleans up for them */
    private final java.util.Queue<Ended> endedElsewhere = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /* start-up answers by request (see WireSession's start-up): a pool's connections open without waiting */
    private final Map<String, Startup> startups = new ConcurrentHashMap<>();
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
        EngineBridge.setDirectHook(db, b.directHook());
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

    /** The values a start-up request was answered with (ParameterStatus values in WireSession's order, and the pid). */
    record Startup(String[] values, int pid) {}

    Startup startup(String key) {
        return startups.get(key);
    }

    /*
     * On the turn, for the start-up of connection s: switches to it with its start-up settings applied (tried
     * here, so that a bad one fails the start-up rather than silently), then reads the REPORTED values (sql) into
     * values and the pid into pid[0]; a failure goes into error (SQLSTATE, message) and s is ended here. wanted:
     * the database the client must get (serve mode), or null.
     */
    int startSession(
            WireSession s,
            MemorySegment engine,
            Map<String, String> set,
            String sql,
            String wanted,
            String[] values,
            String[] error,
            int[] pid) {
        // applying the start-up settings must not fail silently: try them here first
        if (!set.isEmpty()) {
            s.startupSettings(Map.of());
            switchTo(s, engine);
            StringBuilder apply = new StringBuilder("SELECT ");
            int i = 0;
            for (Map.Entry<String, String> e : set.entrySet()) {
                apply.append(i++ == 0 ? "" : ", ")
                        .append("pg_catalog.set_config(")
                        .append(Wire.literal(e.getKey()))
                        .append(", ")
                        .append(Wire.literal(e.getValue()))
                        .append(", false)");
            }
            Wire.Reply a = simpleQuery(engine, apply.toString());
            s.startupSettings(set);
            if (a.error != null) {
                error[0] = a.error.getOrDefault('C', "22023");
                error[1] = a.error.getOrDefault('M', "invalid start-up parameter");
                ended(s);
                return EngineBridge.IDLE;
            }
        } else {
            switchTo(s, engine);
        }
        Wire.Reply q = simpleQuery(engine, sql);
        if (q.error != null || q.results.isEmpty() || q.results.get(0).isEmpty()) {
            error[0] = q.error != null ? q.error.getOrDefault('C', "XX000") : "XX000";
            error[1] = q.error != null ? q.error.getOrDefault('M', "?") : "no start-up values";
            ended(s);
            return EngineBridge.IDLE;
        }
        String[] row = q.results.get(0).get(0);
        String served = row[StartupPacket.REPORTED.length];
        if (wanted != null && !wanted.equals(served)) {
            error[0] = "3D000";
            error[1] = "database \"" + wanted + "\" does not exist: this pgembed instance serves only" + " \"" + served
                    + "\"";
            ended(s);
            return EngineBridge.IDLE;
        }
        System.arraycopy(row, 0, values, 0, StartupPacket.REPORTED.length);
        pid[0] = PgEmbeddedH.pgembed_backend_pid(engine);
        return EngineBridge.IDLE;
    }

    void remember(String key, Startup s) {
        if (startups.size() < 64) {
            startups.put(key, s);
        }
    }

    /* a connection that ended while another held the turn, and the Close messages of its prepared statements */
    private record Ended(WireSession session, Wire.Buf closes) {}

    /** The connection ended without the turn: the next holder forgets it and closes its prepared statements. */
    void endedElsewhere(WireSession s, Wire.Buf closes) {
        endedElsewhere.add(new Ended(s, closes));
    }

    /** Whether s may be the session of the backend now (read without the turn). */
    boolean mayBeCurrent(WireSession s) {
        return current == s;
    }

    /* on the turn: the cleanup of connections that ended without it */
    private void settleEnded(MemorySegment engine) {
        Ended e;
        while ((e = endedElsewhere.poll()) != null) {
            if (current == e.session()) {
                current = GONE;
            }
            if (e.closes().len > 5) {
                scratch.clear();
                nat.exchangeAll(engine, e.closes().b, 0, e.closes().len, scratch);
            }
        }
    }

    /** Makes s (a WireSession, or DIRECT) the session of the backend; the backend is idle. */
    void switchTo(Object s, MemorySegment engine) {
        if (!endedElsewhere.isEmpty()) {
            settleEnded(engine);
        }
        Object out = current;
        if (out == s) {
            return;
        }
        current = s;
        if (out instanceof WireSession w && !w.takeSettingsChanged() && handOverUnchanged(w, s, engine)) {
            return;
        }
        if (out == DIRECT) {
            refuseWhileDirectHolds(engine);
        }
        Wire.Reply r = simpleQuery(engine, out == GONE ? RESET : CAPTURE_AND_RESET);
        List<String[]> prepared = r.results.isEmpty() ? List.of() : r.results.get(r.results.size() - 1);
        if (r.error == null && !prepared.isEmpty()) {
            StringBuilder deallocate = new StringBuilder();
            for (String[] row : prepared) {
                deallocate.append("DEALLOCATE ").append(Wire.identifier(row[0])).append(';');
            }
            Wire.Reply d = simpleQuery(engine, deallocate.toString());
            if (d.error != null) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "deallocating a session's prepared statements failed: " + d.errorText());
            }
        }
        if (r.error != null) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "resetting the session for another connection failed: " + r.errorText());
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
                // the backend listens on every connection's channels (see route); the others are the direct API's
                channels.removeAll(listening.keySet());
                directChannels = channels;
            } else {
                // a connection's channels are recorded when it LISTENs (WireSession.listenChanged), not here
                ((WireSession) out).saved(settings, ((WireSession) out).channels());
            }
        }
        String error = s == DIRECT
                ? apply(engine, directSettings, List.of())
                : apply(engine, ((WireSession) s).settings(), List.of());
        if (error != null) {
            LOG.log(System.Logger.Level.WARNING, "restoring a session setting failed: " + error);
        }
    }

    /** A hand-over refused: the incoming connection's request fails with this SQLSTATE and message. */
    static final class Refused extends RuntimeException {
        final String sqlState;

        Refused(String sqlState, String message) {
            super(message, null, false, false);
            this.sqlState = sqlState;
        }
    }

    /*
     * The direct API (whose statements are not seen here) holding a session-level advisory lock or a cursor WITH
     * HOLD keeps the session: a connection cannot take it over (its statement fails with 55P03 naming why) until
     * the direct API releases them, as a connection holding them keeps it (HeldState).
     */
    private void refuseWhileDirectHolds(MemorySegment engine) {
        Wire.Reply q = simpleQuery(engine, HeldState.QUERY);
        if (q.error != null || q.results.isEmpty() || q.results.get(0).isEmpty()) {
            return;
        }
        String[] row = q.results.get(0).get(0);
        long locks = Long.parseLong(row[0]);
        long cursors = Long.parseLong(row[1]);
        if (locks + cursors == 0) {
            return;
        }
        current = DIRECT;
        throw new Refused(
                "55P03",
                "the direct Java API holds " + (locks > 0 ? locks + " session-level advisory lock(s)" : "")
                        + (locks > 0 && cursors > 0 ? " and " : "")
                        + (cursors > 0 ? cursors + " cursor(s) WITH HOLD" : "") + " on the database session that JDBC"
                        + " connections share: a connection cannot take the session over until the direct API releases them"
                        + " (pg_advisory_unlock, CLOSE)");
    }

    /*
     * The hand-over from a connection none of whose statements could have changed its settings, LISTENs or SQL-level
     * prepared statements since they were recorded (WireSession.takeSettingsChanged; what outlives a transaction
     * otherwise keeps the turn, see HeldState): the backend holds exactly its recorded settings,
     * so only the difference to the incoming session's is applied, in one query with the reset of sequence state
     * (currval) that every hand-over does (LISTENs stay: the backend listens for every connection, see route). False when the difference cannot be applied that way (a role, a failed
     * setting): the caller takes the full path then.
     */
    private boolean handOverUnchanged(WireSession out, Object s, MemorySegment engine) {
        Map<String, String> from = lowerKeys(out.settings());
        Map<String, String> to = lowerKeys(s == DIRECT ? directSettings : ((WireSession) s).settings());
        if (from.containsKey("session_authorization")
                || to.containsKey("session_authorization")
                || from.containsKey("role")
                || to.containsKey("role")) {
            return false;
        }
        StringBuilder sql = new StringBuilder("DISCARD SEQUENCES");
        for (String k : from.keySet()) {
            if (!to.containsKey(k)) {
                sql.append("; RESET ").append(Wire.identifier(k));
            }
        }
        for (Map.Entry<String, String> e : to.entrySet()) {
            if (!e.getValue().equals(from.get(e.getKey()))) {
                sql.append("; SELECT pg_catalog.set_config(")
                        .append(Wire.literal(e.getKey()))
                        .append(", ")
                        .append(Wire.literal(e.getValue()))
                        .append(", false)");
            }
        }
        Wire.Reply r = simpleQuery(engine, sql.toString());
        if (r.error == null) {
            return true;
        }
        LOG.log(System.Logger.Level.DEBUG, "the short hand-over failed (" + r.errorText() + "): taking the full one");
        // out's recorded state is still right; a setting is what failed, and the full path reports it
        return false;
    }

    private static Map<String, String> lowerKeys(Map<String, String> m) {
        Map<String, String> r = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : m.entrySet()) {
            r.put(e.getKey().toLowerCase(java.util.Locale.ROOT), e.getValue());
        }
        return r;
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

    // ---- LISTEN/NOTIFY between connections -----------------------------------------------------

    /*
     * With one backend for all connections, the backend listens on the channels of every connection (the union),
     * and the notifications it receives (NotificationResponse messages, sent before a ReadyForQuery, in whichever
     * connection's exchange or internal query they arrive) are routed here: a copy to every other connection that
     * listens on the channel (WireSession.notification), and out of the exchange's output unless its own connection
     * listens. A connection's own channels are known exactly: a statement that may LISTEN or UNLISTEN runs with the
     * backend listening on that connection's channels only, which are read back afterwards (WireSession).
     */
    private final Map<String, java.util.Set<WireSession>> listening = new ConcurrentHashMap<>();

    /* true when the backend listens on a channel for a connection or for the direct API: output is routed */
    boolean anyListening() {
        return !listening.isEmpty() || !directChannels.isEmpty();
    }

    /* what runs around the direct API's calls: the hand-over, and its notifications routed to the connections */
    private EngineBridge.DirectHook directHook() {
        return new EngineBridge.DirectHook() {
            @Override
            public void beforeDirectCall(MemorySegment engine) {
                switchTo(DIRECT, engine);
            }

            @Override
            public boolean notification(Notification n) {
                return routeDirect(n);
            }
        };
    }

    /*
     * On the turn: a notification in a direct API call's output (its own NOTIFY, or one committed meanwhile by
     * a session of the cluster) goes to every connection listening on the channel; true when the direct API
     * listens on it too, or nobody else does (then the backend listens on it for the direct API alone).
     */
    boolean routeDirect(Notification n) {
        java.util.Set<WireSession> to = listening.get(n.channel());
        if (to == null || to.isEmpty()) {
            return true;
        }
        byte[] message = notificationMessage(n);
        for (WireSession s : to) {
            s.notification(message);
        }
        return directChannels.contains(n.channel());
    }

    /* a NotificationResponse: 'A', length, pid, channel and payload NUL-terminated */
    static byte[] notificationMessage(Notification n) {
        byte[] ch = n.channel().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] pl = n.payload().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1 + 4 + 4 + ch.length + 1 + pl.length + 1);
        b.put((byte) 'A').putInt(4 + 4 + ch.length + 1 + pl.length + 1).putInt(n.pid());
        b.put(ch).put((byte) 0).put(pl).put((byte) 0);
        return b.array();
    }

    /* on the turn: s listened on old, now on now */
    void listens(WireSession s, List<String> old, List<String> now) {
        for (String c : old) {
            if (!now.contains(c)) {
                java.util.Set<WireSession> set = listening.get(c);
                if (set != null) {
                    set.remove(s);
                    if (set.isEmpty()) {
                        listening.remove(c);
                    }
                }
            }
        }
        for (String c : now) {
            listening.computeIfAbsent(c, k -> ConcurrentHashMap.newKeySet()).add(s);
        }
    }

    /* on the turn, the backend idle: it listens on s's channels only (before a statement that may change them) */
    void listenOnly(WireSession s, MemorySegment engine) {
        StringBuilder sql = new StringBuilder("UNLISTEN *");
        for (String c : s.channels()) {
            sql.append("; LISTEN ").append(Wire.identifier(c));
        }
        simpleQuery(engine, sql.toString());
    }

    /* on the turn, the backend idle: the channels it listens on now (s's, after listenOnly) */
    List<String> listeningChannels(MemorySegment engine) {
        Wire.Reply r = simpleQuery(engine, "SELECT pg_catalog.pg_listening_channels()");
        List<String> channels = new ArrayList<>();
        if (r.error == null && !r.results.isEmpty()) {
            for (String[] row : r.results.get(0)) {
                channels.add(row[0]);
            }
        }
        return channels;
    }

    /* on the turn, the backend idle: it listens on every connection's channels (and the direct API's) again */
    void listenAll(MemorySegment engine) {
        java.util.Set<String> all = new java.util.LinkedHashSet<>(listening.keySet());
        all.addAll(directChannels);
        if (all.isEmpty()) {
            return;
        }
        StringBuilder sql = new StringBuilder();
        for (String c : all) {
            sql.append(sql.isEmpty() ? "" : "; ").append("LISTEN ").append(Wire.identifier(c));
        }
        simpleQuery(engine, sql.toString());
    }

    /* a connection ended: it listens no more */
    void stopsListening(WireSession s) {
        listens(s, s.channels(), List.of());
    }

    /**
     * Routes the complete NotificationResponse messages in buf from offset from (see the field comment); returns
     * the new end of buf's content. self is the connection whose output buf is (null: an internal query's).
     */
    int route(Wire.Buf buf, int from, WireSession self, Carry carry) {
        byte[] b = buf.b;
        int end = buf.len;
        int p = carry.skip(b, from, end);
        int w = p;
        while (p < end) {
            if (end - p < 5) {
                carry.header(b, p, end);
                break;
            }
            int total = 1 + Wire.int32(b, p + 1);
            if (p + total > end) {
                carry.body(p + total - end);
                break;
            }
            boolean keep = true;
            if (b[p] == 'A') {
                int ch = p + 9;
                int chEnd = Wire.cstrEnd(b, ch, p + total);
                String channel = new String(b, ch, chEnd - ch, java.nio.charset.StandardCharsets.UTF_8);
                java.util.Set<WireSession> to = listening.get(channel);
                keep = false;
                if (directChannels.contains(channel)) {
                    // the direct API listens on it too: its notification listener gets it here
                    int plEnd = Wire.cstrEnd(b, chEnd + 1, p + total);
                    EngineBridge.notified(
                            db,
                            new Notification(
                                    channel,
                                    new String(
                                            b, chEnd + 1, plEnd - chEnd - 1, java.nio.charset.StandardCharsets.UTF_8),
                                    Wire.int32(b, p + 5)));
                }
                if (to != null) {
                    for (WireSession s : to) {
                        if (s == self) {
                            keep = true;
                        } else {
                            s.notification(java.util.Arrays.copyOfRange(b, p, p + total));
                        }
                    }
                }
            }
            if (keep) {
                if (w != p) {
                    System.arraycopy(b, p, b, w, total);
                }
                w += total;
            }
            p += total;
        }
        int rest = end - p;
        if (rest > 0 && w != p) {
            System.arraycopy(b, p, b, w, rest);
        }
        return w + rest;
    }

    /** Where a stream's routing stands between chunks: the rest of a message split by a chunk's end is passed. */
    static final class Carry {
        private int skip;
        private final byte[] head = new byte[5];
        private int headLen;

        /* the offset in [from, end) where the next whole message starts, or end */
        int skip(byte[] b, int from, int end) {
            int p = from;
            if (headLen > 0) {
                int need = Math.min(5 - headLen, end - p);
                System.arraycopy(b, p, head, headLen, need);
                headLen += need;
                p += need;
                if (headLen < 5) {
                    return end;
                }
                headLen = 0;
                skip = 1 + Wire.int32(head, 1) - 5;
            }
            int k = Math.min(skip, end - p);
            skip -= k;
            return p + k;
        }

        void header(byte[] b, int p, int end) {
            headLen = end - p;
            System.arraycopy(b, p, head, 0, headLen);
        }

        void body(int left) {
            skip = left;
        }
    }

    /** Runs an internal simple query (the backend is idle); its output never reaches a client. */
    Wire.Reply simpleQuery(MemorySegment engine, String sql) {
        byte[] q = Wire.query(sql);
        scratch.clear();
        int rc = nat.exchangeAll(engine, q, 0, q.length, scratch);
        if (anyListening()) {
            // a notification delivered here is a connection's
            scratch.len = route(scratch, 0, null, new Carry());
        }
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
