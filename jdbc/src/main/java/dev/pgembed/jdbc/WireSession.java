package dev.pgembed.jdbc;

import dev.pgembed.PgException;
import dev.pgembed.PgSession;
import dev.pgembed.internal.EngineBridge;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The server side of one in-process "socket": the start-up phase answered here, then the client's messages
 * passed through {@code pgembed_protocol_exchange} (statement and portal names prefixed per connection,
 * Terminate intercepted), and the backend's replies handed back to the reader. Not thread-safe: the
 * socket serialises its calls.
 *
 * <p>On a database with several backends ({@code PgEmbedded.Builder.backends}) the connection gets a backend of
 * its own ({@link EngineBridge#openSession}), started with the client's start-up settings: its messages go to
 * that backend as they are, and output the backend writes while idle (a notification, its FATAL when it was
 * terminated) can be waited for ({@link #awaitOutput(int)}; see {@link OwnBackend}). When none is left it shares
 * the database's own backend through the {@link Backend}, taking turns at transaction boundaries: names prefixed
 * ({@link SharedNames}), the turn kept while it holds session-scoped state ({@link HeldState}), notifications
 * routed to it from others' exchanges ({@link PendingNotifications}). The start-up request: {@link StartupPacket}.
 *
 * <p>In serve mode a replication connection ({@code replication=database}) is not served here: once the client
 * authenticated, {@link #relay()} names the database postmaster's own socket, and the server relays the
 * connection's bytes there as they are, to a WAL sender that PostgreSQL starts for it.
 */
final class WireSession {
    private static final System.Logger LOG = System.getLogger("dev.pgembed.jdbc");
    private static final Map<Integer, WireSession> BY_SECRET = new ConcurrentHashMap<>();
    private static final AtomicLong IDS = new AtomicLong();
    private static final SecureRandom RANDOM = new SecureRandom();
    /* pgjdbc's PgBufferedOutputStream flushes by itself when full; big COPY or batch data goes on early */
    private static final int EAGER_SEND = 1 << 20;

    private enum Phase {
        STARTUP,
        AUTH,
        READY,
        ENDED
    }

    private final String backendKey;
    private final Authentication auth;
    /* the start-up request, kept while the client authenticates */
    private Map<String, String> pendingSet;
    private List<String> pendingUnknown;
    private int pendingMinor;
    /* a replication connection's start-up packet, kept while the client authenticates */
    private byte[] pendingReplication;
    /* where a replication connection goes, once it may (see relay()) */
    private Relay relay;
    private String user = "postgres";
    private String database;
    /* serve mode: a client must name the engine's database (one backend serves one database) */
    private boolean checkDatabase;
    private volatile Phase phase = Phase.STARTUP;
    private Backend backend;
    /* the connection's own backend (null: it shares the database's through the Backend) */
    private OwnBackend own;
    private EngineBridge.Token token;
    /* its prefixed statement and portal names on the shared backend */
    private SharedNames names;
    private int secret;
    private NativeExchange nat;
    /* the statements the backend's replies end, for the listeners (under the db's lock, in exchanges) */
    private final ReplyScanner replies = new ReplyScanner();

    /* session state kept while other connections use the backend (read and written under the db's lock) */
    private Map<String, String> settings = new LinkedHashMap<>();
    private List<String> channels = List.of();

    private int state = EngineBridge.IDLE;
    /* idle, but keeping the turn: the connection holds session-scoped state (EngineBridge.HELD) */
    private boolean pinned;
    /* a statement since the last look may have taken session-scoped state another connection could see */
    private boolean checkHeld;
    /* a statement since the settings were last recorded may have changed them (see Backend.switchTo) */
    private boolean settingsChanged;
    /* a statement to be sent may LISTEN or UNLISTEN; the backend listens on this connection's channels only */
    private boolean listenChange;
    private boolean listenOwn;
    /* notifications for this connection that arrived in other connections' exchanges (see Backend.route) */
    private final PendingNotifications notifications = new PendingNotifications();
    private final Backend.Carry carry = new Backend.Carry();
    private boolean more;
    private boolean skipUntilSync;

    /* bytes written by the client, not yet sent */
    final Wire.Buf w = new Wire.Buf(8192);
    /* the messages sent to the engine */
    private final Wire.Buf in = new Wire.Buf(8192);
    /* bytes for the client to read */
    private final Wire.Buf r = new Wire.Buf(8192);
    private int rpos;
    private boolean eof;

    WireSession(String backendKey) {
        this(backendKey, null);
    }

    /**
     * @param backendKey the registry key of the {@link Backend}
     * @param auth       the password exchange the client must pass first, or null (in process, Unix socket)
     */
    WireSession(String backendKey, Authentication auth) {
        this.backendKey = backendKey;
        this.auth = auth;
    }

    /** Serve mode: refuses a start-up packet that names another database than the engine's (3D000). */
    WireSession checkingDatabase() {
        checkDatabase = true;
        return this;
    }

    // =============================================================================================
    // Reading side
    // =============================================================================================

    int available() {
        return r.len - rpos;
    }

    int read(byte[] b, int off, int len) {
        int n = Math.min(len, r.len - rpos);
        if (n > 0) {
            System.arraycopy(r.b, rpos, b, off, n);
            rpos += n;
            if (rpos == r.len) {
                rpos = 0;
                r.len = 0;
                if (r.b.length > (4 << 20)) {
                    r.b = new byte[8192];
                }
            }
        }
        return n;
    }

    boolean eof() {
        return eof && rpos == r.len;
    }

    /** True once the start-up exchange is over (authenticated and ready, or failed); readable from any thread. */
    boolean startedOrEnded() {
        return phase == Phase.READY || phase == Phase.ENDED;
    }

    boolean morePending() {
        return more && !eof;
    }

    /**
     * A replication connection the server relays to the database postmaster's socket: the start-up packet
     * and what the client sent after it, to be sent there first.
     */
    record Relay(Path socket, byte[] startup) {}

    /** The relay of an authenticated replication connection (serve mode), or null. */
    Relay relay() {
        return relay;
    }

    /** Continues output the backend paused (the reader drained what it had). */
    void continueOutput() throws IOException {
        exchange(in.b, 0);
    }

    // =============================================================================================
    // Writing side
    // =============================================================================================

    /** The client wrote; sends early when a lot is buffered. */
    void written() throws IOException {
        if (w.len >= EAGER_SEND && phase == Phase.READY) {
            flush();
        }
    }

    /** The client flushed: sends the complete messages buffered so far. */
    void flush() throws IOException {
        switch (phase) {
            case STARTUP -> startupPhase();
            case AUTH -> authPhase();
            case ENDED -> w.clear();
            case READY -> readyPhase();
        }
    }

    private void readyPhase() throws IOException {
        if (answersPing()) {
            return;
        }
        byte[] b = w.b;
        int p = 0;
        in.clear();
        boolean terminate = false;
        while (p + 5 <= w.len) {
            char type = (char) b[p];
            int total = 1 + Wire.int32(b, p + 1);
            if (p + total > w.len) {
                break;
            }
            if (skipUntilSync) {
                if (type == 'S') {
                    skipUntilSync = false;
                    Wire.readyForQuery(r, 'I');
                }
                p += total;
                continue;
            }
            if (type == 'X') {
                terminate = true;
                p = w.len;
                break;
            }
            if (own != null) {
                in.put(b, p, total); // a backend of its own: no names to keep apart
            } else {
                transform(b, p, total, type);
            }
            p += total;
        }
        consume(p);
        if (in.len > 0) {
            send();
        }
        if (terminate) {
            end();
        }
    }

    /*
     * A connection check (pgjdbc's isValid, which pools call before lending a connection: a simple query with an
     * empty string) of a connection that does not hold the session is answered here, as the backend would answer
     * it (EmptyQueryResponse, ReadyForQuery 'I'), without waiting for the turn: a pool must learn at once that the
     * connection is alive, whoever holds the session.
     */
    private boolean answersPing() {
        if (state != EngineBridge.IDLE || more || skipUntilSync || w.len < 6 || w.b[0] != 'Q') {
            return false;
        }
        int total = 1 + Wire.int32(w.b, 1);
        if (total != w.len) {
            return false;
        }
        for (int i = 5; i < total - 1; i++) {
            byte c = w.b[i];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return false;
            }
        }
        if (pinned || !backend.db.isOpen()) {
            return false;
        }
        w.len = 0;
        r.put('I');
        r.int32(4);
        Wire.readyForQuery(r, 'I');
        return true;
    }

    private void consume(int n) {
        if (n >= w.len) {
            w.len = 0;
        } else if (n > 0) {
            System.arraycopy(w.b, n, w.b, 0, w.len - n);
            w.len -= n;
        }
    }

    /* copies one message into 'in', its names prefixed, and notes what its statement text may change */
    private void transform(byte[] b, int p, int total, char type) {
        noteStatement(names.transform(b, p, total, type, in));
    }

    /* what a statement's text may change of the session (its Wire.sessionHints) */
    private void noteStatement(int hints) {
        if ((hints & Wire.HINT_HELD) != 0) {
            checkHeld = true;
        }
        if ((hints & Wire.HINT_SETTINGS) != 0) {
            settingsChanged = true;
        }
        if ((hints & Wire.HINT_LISTEN) != 0) {
            listenChange = true;
        }
    }

    /* sends 'in' (complete messages) to the engine; the replies become readable */
    private void send() throws IOException {
        while (more) {
            continueOutput();
        }
        try {
            exchange(in.b, in.len);
        } catch (PgException e) {
            // no turn (another connection's transaction, or this thread's own): answer like a backend would
            skipUntilSync = Wire.failBatch(in, r, e.sqlState(), e.getMessage());
        } catch (Backend.Refused e) {
            skipUntilSync = Wire.failBatch(in, r, e.sqlState, e.getMessage());
        }
    }

    private void exchange(byte[] data, int len) throws IOException {
        int st;
        try {
            st = own != null
                    ? exchangeOwn(data, len)
                    : EngineBridge.run(backend.db, token, engine -> {
                        backend.switchTo(this, engine);
                        if (listenChange && len > 0) {
                            listenChange = false;
                            if (!listenOwn) {
                                backend.listenOnly(this, engine);
                                listenOwn = true;
                            }
                        }
                        backend.running = this;
                        int rc;
                        try {
                            rc = nat.exchange(engine, data, 0, len);
                        } finally {
                            backend.running = null;
                        }
                        int from = r.len;
                        nat.appendTo(r);
                        replies.scan(backend.db, r.b, from, r.len - from);
                        more = rc == NativeExchange.MORE;
                        int now = nat.state(rc);
                        if (backend.anyListening()) {
                            r.len = backend.route(r, from, this, carry);
                        }
                        if (now == EngineBridge.IDLE && listenOwn) {
                            // the LISTENs are in force now: record this connection's, listen for every connection again
                            List<String> mine = backend.listeningChannels(engine);
                            backend.listens(this, channels, mine);
                            channels = mine;
                            listenOwn = false;
                            backend.listenAll(engine);
                        }
                        if (now == EngineBridge.IDLE && (checkHeld || pinned)) {
                            now = lookForHeldState(engine);
                        }
                        return now;
                    });
        } catch (IllegalStateException closed) {
            eof = true;
            throw new IOException("pgembed-jdbc: " + closed.getMessage(), closed);
        }
        ended(st);
    }

    private void ended(int st) {
        state = st;
        if (!more && st != EngineBridge.BUSY && !notifications.isEmpty()) {
            // after the ReadyForQuery: a message boundary
            deliverNotifications();
        }
        if (st == EngineBridge.ENDED) {
            more = false;
            eof = true;
            phase = Phase.ENDED;
        }
    }

    /* on the connection's own backend: the messages go as they are */
    private int exchangeOwn(byte[] data, int len) throws IOException {
        int st = own.exchange(data, len, r, replies, backend.db);
        more = own.paused();
        return st;
    }

    /** True when the client may wait for output it did not ask for: its backend is its own and idle. */
    boolean canAwaitOutput() {
        return own != null && phase == Phase.READY && !more && !eof;
    }

    /**
     * Waits at most timeoutMs for output the connection's own backend writes while idle (a notification, a
     * FATAL) and makes it readable; true when something came (or the backend ended). Holds the backend's turn
     * meanwhile, so keep the slices short: closing the database waits for them.
     */
    boolean awaitOutput(int timeoutMs) throws IOException {
        int before = r.len;
        int st;
        try {
            st = own.awaitOutput(timeoutMs, state, r);
            more = own.paused();
        } catch (IllegalStateException closed) {
            eof = true;
            throw new IOException("pgembed-jdbc: " + closed.getMessage(), closed);
        }
        ended(st);
        return r.len > before || eof || more;
    }

    /* after a statement that may have taken session-scoped state, and while it is held: see HeldState */
    private int lookForHeldState(MemorySegment engine) {
        checkHeld = false;
        int st = HeldState.look(backend, engine, token, pinned);
        pinned = st == EngineBridge.HELD;
        return st;
    }

    /** A notification for this connection (a NotificationResponse message) that arrived elsewhere; any thread. */
    void notification(byte[] message) {
        notifications.add(message);
    }

    /* the size of the notifications waiting to be read */
    int notificationBytes() {
        return notifications.bytes();
    }

    /** Makes the waiting notifications readable when the reader is at a message boundary; true when any. */
    boolean deliverNotifications() {
        if (notifications.isEmpty() || more) {
            return false;
        }
        return notifications.drainTo(r);
    }

    /** Whether the connection listens on a channel (a read without a request may wait for a notification). */
    boolean listens() {
        return !channels.isEmpty();
    }

    /**
     * Waits until a notification for this connection arrives, at most millis (0: until one arrives or the
     * connection is closed from another thread); true when one is waiting.
     */
    boolean awaitNotification(int millis) {
        return notifications.await(millis);
    }

    /** Whether the connection was closed from another thread (a waiting read ends). */
    boolean aborted() {
        return notifications.aborted();
    }

    /** Whether a statement may have changed the settings since they were last recorded; clears the mark. */
    boolean takeSettingsChanged() {
        boolean c = settingsChanged;
        settingsChanged = false;
        return c;
    }

    // =============================================================================================
    // Start-up
    // =============================================================================================

    private void startupPhase() throws IOException {
        while (phase == Phase.STARTUP && w.len >= 8) {
            int len = Wire.int32(w.b, 0);
            if (len < 8 || len > 10_000) {
                fatal("08P01", "invalid start-up packet length " + len);
                return;
            }
            if (w.len < len) {
                return;
            }
            byte[] m = java.util.Arrays.copyOf(w.b, len);
            consume(len);
            int code = Wire.int32(m, 4);
            if (code == 80877103 || code == 80877104) { // SSLRequest, GSSENCRequest
                r.put('N');
            } else if (code == 80877102) { // CancelRequest
                if (len >= 16) {
                    cancel(Wire.int32(m, 12));
                }
                phase = Phase.ENDED;
                eof = true;
            } else if ((code >>> 16) == 3) {
                startup(m, code & 0xffff);
            } else {
                fatal("08P01", "unsupported frontend protocol " + (code >>> 16) + "." + (code & 0xffff));
            }
        }
    }

    private static void cancel(int secret) {
        WireSession s = BY_SECRET.get(secret);
        if (s != null) {
            s.cancelIfRunning();
        }
    }

    private void fatal(String sqlState, String message) {
        Wire.errorResponse(r, "FATAL", sqlState, message);
        phase = Phase.ENDED;
        eof = true;
        w.clear();
    }

    private void startup(byte[] m, int minor) throws IOException {
        StartupPacket packet;
        try {
            packet = StartupPacket.parse(m);
        } catch (StartupPacket.Refused e) {
            fatal(e.sqlState, e.getMessage());
            return;
        }
        if (packet.user() != null) {
            user = packet.user(); // every client is the engine's session user; kept for messages
        }
        database = packet.database();
        if (packet.replication() != null) {
            if (!checkDatabase) {
                fatal(
                        "0A000",
                        "replication connections are served by PgEmbedServer (serve mode) of a database opened with"
                                + " PgEmbedded.Builder.logicalReplication, not by jdbc:pgembed: connections");
                return;
            }
            if (auth != null) {
                pendingReplication = m;
                auth.start(user, r);
                phase = Phase.AUTH;
                return;
            }
            relayTo(m);
            return;
        }
        Map<String, String> set = packet.settings();
        List<String> unknownOptions = packet.unknownOptions();
        if (auth != null) {
            pendingSet = set;
            pendingUnknown = unknownOptions;
            pendingMinor = minor;
            auth.start(user, r);
            phase = Phase.AUTH;
            return;
        }
        open(set, unknownOptions, minor);
    }

    private void authPhase() throws IOException {
        while (phase == Phase.AUTH && w.len >= 5) {
            char type = (char) w.b[0];
            int len = Wire.int32(w.b, 1);
            if (type != 'p' || len < 4 || len > 10_000) {
                fatal("08P01", "expected a password response, got message type '" + type + "'");
                return;
            }
            if (w.len < 1 + len) {
                return;
            }
            byte[] m = java.util.Arrays.copyOfRange(w.b, 5, 1 + len);
            consume(1 + len);
            boolean done;
            try {
                done = auth.respond(m, 0, m.length, r);
            } catch (Authentication.Failure f) {
                LOG.log(
                        System.Logger.Level.DEBUG,
                        "pgembed serve: authentication of \"" + user + "\" failed: " + f.getMessage());
                fatal(f.sqlState, f.getMessage());
                return;
            }
            if (done && pendingReplication != null) {
                byte[] startup = pendingReplication;
                pendingReplication = null;
                relayTo(startup);
            } else if (done) {
                Map<String, String> set = pendingSet;
                pendingSet = null;
                open(set, pendingUnknown, pendingMinor);
            }
        }
    }

    /*
     * A replication connection whose client is who it claims: PostgreSQL authenticates it again on the
     * postmaster's socket ("local" trust, the socket's directory being private) and answers its start-up
     */
    private void relayTo(byte[] startup) {
        Backend b = Backend.retain(backendKey);
        if (b == null) {
            fatal("57P01", "the served pgembed database is closed");
            return;
        }
        Path socket;
        try {
            socket = EngineBridge.replicationSocket(b.db);
        } catch (IllegalStateException e) {
            fatal("57P01", e.getMessage());
            return;
        } finally {
            b.release();
        }
        if (socket == null) {
            fatal(
                    "0A000",
                    "this pgembed database serves no replication connections: open it with"
                            + " PgEmbedded.Builder.backends(n > 1) and logicalReplication(walSenders)");
            return;
        }
        byte[] first = java.util.Arrays.copyOf(startup, startup.length + w.len);
        System.arraycopy(w.b, 0, first, startup.length, w.len);
        w.clear();
        relay = new Relay(socket, first);
        phase = Phase.ENDED; // nothing more happens here; the bytes go to PostgreSQL as they are
    }

    /* the client is who it claims: joins the backend and finishes the start-up exchange */
    private void open(Map<String, String> set, List<String> unknownOptions, int minor) throws IOException {
        backend = Backend.retain(backendKey);
        if (backend == null && checkDatabase) {
            fatal("57P01", "the served pgembed database is closed");
            return;
        }
        if (backend == null) {
            fatal(
                    "3D000",
                    "no open pgembed database is registered under \"" + backendKey + "\": connect through"
                            + " jdbc:pgembed: URLs (PgEmbedDriver / PgEmbedDataSource)");
            return;
        }
        long id = IDS.incrementAndGet();
        token = new EngineBridge.Token("JDBC connection #" + id);
        names = new SharedNames(id);
        nat = new NativeExchange();
        settings = set;
        timeoutsFrom(set);
        String[] values = new String[StartupPacket.REPORTED.length];
        String[] error = new String[2];
        int pid;
        String sql = StartupPacket.reportedQuery();
        // libpq's default database is the user name
        String wanted = database == null || database.isEmpty() ? user : database;
        try {
            // a backend of its own when the database has one to give: the client's database, its settings
            PgSession session = EngineBridge.openSession(backend.db, checkDatabase ? wanted : null, set);
            own = session != null ? new OwnBackend(session, token, nat) : null;
        } catch (PgException e) {
            fatal(e.sqlState(), e.getMessage());
            release();
            return;
        } catch (IllegalStateException e) {
            fatal("57P01", e.getMessage());
            release();
            return;
        }
        // the same start-up request answered before (a pool's connections all send the same): no wait for the turn
        // (the shared backend's answer only: a backend of its own answers for itself)
        Backend.Startup known = own == null ? backend.startup(startupKey(set)) : null;
        if (known != null) {
            System.arraycopy(known.values(), 0, values, 0, StartupPacket.REPORTED.length);
            pid = known.pid();
        } else
            try {
                int[] pidOut = new int[1];
                state = own != null
                        ? own.startup(sql, values, error, pidOut)
                        : EngineBridge.run(
                                backend.db,
                                token,
                                engine -> backend.startSession(
                                        this, engine, set, sql, checkDatabase ? wanted : null, values, error, pidOut));
                pid = pidOut[0];
                if (error[0] == null && own == null) {
                    backend.remember(startupKey(set), new Backend.Startup(values.clone(), pid));
                }
            } catch (PgException e) {
                error[0] = e.sqlState();
                error[1] = e.getMessage();
                pid = 0;
            } catch (Backend.Refused e) {
                error[0] = e.sqlState;
                error[1] = e.getMessage();
                pid = 0;
            } catch (IllegalStateException e) {
                error[0] = "57P01";
                error[1] = e.getMessage();
                pid = 0;
            }
        if (error[0] != null) {
            fatal(error[0], error[1]);
            if (own != null) {
                own.close();
            }
            release();
            return;
        }
        do {
            secret = RANDOM.nextInt();
        } while (secret == 0 || BY_SECRET.putIfAbsent(secret, this) != null);
        StartupPacket.answer(r, minor, unknownOptions, values, pid, secret);
        phase = Phase.READY;
    }

    /* what decides the start-up answer: the settings, and in serve mode the database asked for */
    private String startupKey(Map<String, String> set) {
        String wanted = database == null || database.isEmpty() ? user : database;
        return (checkDatabase ? wanted : "") + "\u0000" + set;
    }

    // =============================================================================================
    // Session state (under the db's lock)
    // =============================================================================================

    Map<String, String> settings() {
        return settings;
    }

    List<String> channels() {
        return channels;
    }

    /* the settings switchTo restores for the connection, while its start-up settings are tried (Backend.startSession) */
    void startupSettings(Map<String, String> settings) {
        this.settings = settings;
    }

    void saved(Map<String, String> settings, List<String> channels) {
        this.settings = settings;
        this.channels = channels;
        timeoutsFrom(settings);
    }

    /* the connection's lock_timeout and statement_timeout bound its waits for the turn */
    private void timeoutsFrom(Map<String, String> s) {
        token.timeouts(Wire.milliseconds(s.get("lock_timeout")), Wire.milliseconds(s.get("statement_timeout")));
    }

    // =============================================================================================
    // End
    // =============================================================================================

    /** Terminate, or the socket closed: leaves the backend idle for the next user and frees this session. */
    void end() {
        if (phase == Phase.ENDED) {
            return;
        }
        boolean wasReady = phase == Phase.READY;
        phase = Phase.ENDED;
        eof = true;
        w.clear();
        if (!wasReady || backend == null) {
            return;
        }
        if (own != null) {
            try {
                own.close(); // its backend ends: an open transaction is rolled back with it
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "pgembed-jdbc: could not close the backend of " + token, e);
            } finally {
                release();
            }
            return;
        }
        try {
            if (state != EngineBridge.IDLE || more) {
                // it holds the turn (a transaction, an unfinished exchange): no wait
                state = EngineBridge.run(backend.db, token, this::settle);
            } else if (names.any() || backend.mayBeCurrent(this)) {
                // the turn may be another's: never wait for it; the next holder cleans up instead
                int st = EngineBridge.tryRun(backend.db, token, this::settle);
                if (st == EngineBridge.NOT_RUN) {
                    backend.endedElsewhere(this, names.closeMessages());
                    names.forget();
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "pgembed-jdbc: could not clean up after " + token, e);
        } finally {
            release();
        }
    }

    private int settle(MemorySegment engine) {
        Wire.Buf sink = new Wire.Buf(256);
        int rc = NativeExchange.WAITING;
        while (more) {
            sink.clear();
            rc = nat.exchange(engine, in.b, 0, 0);
            more = rc == NativeExchange.MORE;
        }
        int st = rc == NativeExchange.ENDED ? EngineBridge.ENDED : state;
        if (st == EngineBridge.HELD) {
            // as at the end of a session: its advisory locks go (its cursors go with the reset)
            Wire.Reply u = backend.simpleQuery(engine, "SELECT pg_catalog.pg_advisory_unlock_all()");
            st = u.error != null && "57P01".equals(u.error.get('C')) ? EngineBridge.ENDED : EngineBridge.IDLE;
            pinned = false;
        }
        for (int attempt = 0; attempt < 3 && st != EngineBridge.IDLE && st != EngineBridge.ENDED; attempt++) {
            Wire.Buf m = new Wire.Buf(64);
            if (st == EngineBridge.BUSY) {
                int at = m.begin('f'); // aborts a COPY FROM STDIN; ignored elsewhere
                m.cstr("the JDBC connection was closed");
                m.end(at);
                at = m.begin('S');
                m.end(at);
            } else {
                m.put(Wire.query("ROLLBACK"), 0, Wire.query("ROLLBACK").length);
            }
            sink.clear();
            rc = nat.exchangeAll(engine, m.b, 0, m.len, sink);
            st = rc == NativeExchange.ENDED ? EngineBridge.ENDED : NativeExchange.stateOf(rc, sink.b, sink.len);
        }
        if (st == EngineBridge.IDLE && names.any()) {
            Wire.Buf m = names.closeMessages();
            sink.clear();
            rc = nat.exchangeAll(engine, m.b, 0, m.len, sink);
            st = rc == NativeExchange.ENDED ? EngineBridge.ENDED : NativeExchange.stateOf(rc, sink.b, sink.len);
            names.forget();
        }
        backend.stopsListening(this);
        if (listenOwn && st == EngineBridge.IDLE) {
            listenOwn = false;
            backend.listenAll(engine);
        }
        backend.ended(this);
        return st;
    }

    private void release() {
        if (secret != 0) {
            BY_SECRET.remove(secret, this);
        }
        if (nat != null) {
            nat.close();
        }
        Backend b = backend;
        if (b != null) {
            b.stopsListening(this);
            b.release();
        }
    }

    /** For a CancelRequest, and Socket.close from another thread: interrupts this connection's running statement. */
    void cancelIfRunning() {
        OwnBackend o = own;
        if (o != null) {
            o.cancelIfRunning();
            return;
        }
        Backend b = backend;
        if (b != null && b.running == this) {
            b.db.cancel();
        }
    }

    /**
     * For Socket.close from another thread (Connection.abort, a pool's shutdown): interrupts this connection's
     * running statement, and ends its wait for the turn at once (the wait fails with 08003).
     */
    void abortFromAnotherThread() {
        notifications.abort();
        if (own != null) {
            // a backend of its own: nobody else's turn to wait for
            cancelIfRunning();
            return;
        }
        Backend b = backend;
        EngineBridge.Token t = token;
        if (b != null && t != null) {
            EngineBridge.abort(b.db, t);
        }
        if (b != null && b.running == this) {
            b.db.cancel();
        }
    }

    @Override
    public String toString() {
        return token != null ? token.toString() : "WireSession[" + backendKey + "]";
    }
}
