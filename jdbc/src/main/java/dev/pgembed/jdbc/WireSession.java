package dev.pgembed.jdbc;

import dev.pgembed.PgException;
import dev.pgembed.PgSession;
import dev.pgembed.internal.EngineBridge;
import dev.pgembed.internal.bindings.PgEmbeddedH;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
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
 * terminated) can be waited for ({@link #awaitOutput(int)}). When none is left it shares the database's own
 * backend through the {@link Backend}, taking turns at transaction boundaries.
 */
final class WireSession {
    private static final System.Logger LOG = System.getLogger("dev.pgembed.jdbc");
    private static final Map<Integer, WireSession> BY_SECRET = new ConcurrentHashMap<>();
    private static final AtomicLong IDS = new AtomicLong();
    private static final SecureRandom RANDOM = new SecureRandom();
    /* pgjdbc's PgBufferedOutputStream flushes by itself when full; big COPY or batch data goes on early */
    private static final int EAGER_SEND = 1 << 20;
    /* what a connection holds that outlives a transaction and keeps the turn (see lookForHeldState) */
    static final String HELD_STATE = "SELECT (SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype ="
            + " 'advisory' AND pid = pg_catalog.pg_backend_pid() AND granted), (SELECT count(*) FROM"
            + " pg_catalog.pg_cursors WHERE is_holdable)";
    private static final String[] REPORTED = {
        "server_version",
        "server_encoding",
        "client_encoding",
        "DateStyle",
        "TimeZone",
        "integer_datetimes",
        "standard_conforming_strings",
        "IntervalStyle",
        "is_superuser",
        "session_authorization",
        "application_name",
        "default_transaction_read_only",
        "in_hot_standby",
        "search_path"
    };

    private enum Phase {
        STARTUP,
        AUTH,
        READY,
        ENDED
    }

    /**
     * A password exchange run between the start-up packet and AuthenticationOk (serve mode over TCP); one
     * object per connection.
     */
    interface Authentication {
        /** Appends the first authentication request to out; user is the start-up packet's (for messages). */
        void start(String user, Wire.Buf out);

        /**
         * Handles the body of one password-type message ('p') and appends the next request to out.
         *
         * @return true once the client is authenticated
         * @throws Failure when the client failed (its SQLSTATE and message are sent as FATAL)
         */
        boolean respond(byte[] b, int off, int len, Wire.Buf out) throws Failure;

        /** A failed authentication. */
        final class Failure extends Exception {
            final String sqlState;

            Failure(String sqlState, String message) {
                super(message, null, false, false);
                this.sqlState = sqlState;
            }
        }
    }

    private final String backendKey;
    private final Authentication auth;
    /* the start-up request, kept while the client authenticates */
    private Map<String, String> pendingSet;
    private List<String> pendingUnknown;
    private int pendingMinor;
    private String user = "postgres";
    private String database;
    /* serve mode: a client must name the engine's database (one backend serves one database) */
    private boolean checkDatabase;
    private volatile Phase phase = Phase.STARTUP;
    private Backend backend;
    /* the connection's own backend (null: it shares the database's through the Backend) */
    private PgSession own;
    /* a request of this connection runs on its own backend now (for CancelRequest) */
    private volatile boolean ownRunning;
    private EngineBridge.Token token;
    private byte[] prefix;
    private int secret;
    private NativeExchange nat;
    /* the statements the backend's replies end, for the listeners (under the db's lock, in exchanges) */
    private final ReplyScanner replies = new ReplyScanner();

    /* session state kept while other connections use the backend (read and written under the db's lock) */
    private Map<String, String> settings = new LinkedHashMap<>();
    private List<String> channels = List.of();
    private final Set<String> statements = new HashSet<>();

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
    private final java.util.concurrent.ConcurrentLinkedQueue<byte[]> notifications =
            new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.locks.ReentrantLock notifyLock = new java.util.concurrent.locks.ReentrantLock();
    private final java.util.concurrent.locks.Condition notified = notifyLock.newCondition();
    private volatile boolean aborted;
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

    /* copies one message into 'in', prefixing prepared statement and portal names */
    private void transform(byte[] b, int p, int total, char type) {
        int end = p + total;
        switch (type) {
            case 'P' -> { // Parse: name, query, types
                int nameEnd = Wire.cstrEnd(b, p + 5, end);
                if (nameEnd > p + 5) {
                    statements.add(new String(b, p + 5, nameEnd - p - 5, StandardCharsets.UTF_8));
                }
                noteStatement(b, nameEnd + 1, Wire.cstrEnd(b, nameEnd + 1, end));
                renamed(b, p, end, type, p + 5, nameEnd, -1, -1, 0);
            }
            case 'B' -> { // Bind: portal, statement, ...
                int portalEnd = Wire.cstrEnd(b, p + 5, end);
                int stmtEnd = Wire.cstrEnd(b, portalEnd + 1, end);
                renamed(b, p, end, type, p + 5, portalEnd, portalEnd + 1, stmtEnd, 0);
            }
            case 'D', 'C' -> { // Describe/Close: 'S'|'P', name
                int nameEnd = Wire.cstrEnd(b, p + 6, end);
                if (type == 'C' && b[p + 5] == 'S' && nameEnd > p + 6) {
                    statements.remove(new String(b, p + 6, nameEnd - p - 6, StandardCharsets.UTF_8));
                }
                renamed(b, p, end, type, p + 6, nameEnd, -1, -1, 1);
            }
            case 'E' -> { // Execute: portal, max rows
                int nameEnd = Wire.cstrEnd(b, p + 5, end);
                renamed(b, p, end, type, p + 5, nameEnd, -1, -1, 0);
            }
            case 'Q' -> {
                noteStatement(b, p + 5, end - 1);
                in.put(b, p, total);
            }
            default -> in.put(b, p, total);
        }
    }

    /* what the statement text [from, to) may change of the session (see Wire.SessionHints) */
    private void noteStatement(byte[] b, int from, int to) {
        int hints = Wire.sessionHints(b, from, to);
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

    /*
     * Copies the message at [p, end) with the name [s1, e1) (and [s2, e2) unless s2 < 0) prefixed when not
     * empty; 'lead' bytes follow the length word before the first name.
     */
    private void renamed(byte[] b, int p, int end, char type, int s1, int e1, int s2, int e2, int lead) {
        boolean r1 = e1 > s1;
        boolean r2 = s2 >= 0 && e2 > s2;
        if (!r1 && !r2) {
            in.put(b, p, end - p);
            return;
        }
        int at = in.begin(type);
        in.put(b, p + 5, lead);
        if (r1) {
            in.put(prefix, 0, prefix.length);
        }
        if (s2 < 0) {
            in.put(b, s1, end - s1);
        } else {
            in.put(b, s1, s2 - s1);
            if (r2) {
                in.put(prefix, 0, prefix.length);
            }
            in.put(b, s2, end - s2);
        }
        in.end(at);
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
            failBatch(e.sqlState(), e.getMessage());
        } catch (Backend.Refused e) {
            failBatch(e.sqlState, e.getMessage());
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
        return EngineBridge.run(own, token, engine -> {
            ownRunning = true;
            int rc;
            try {
                rc = nat.exchange(engine, data, 0, len);
            } finally {
                ownRunning = false;
            }
            int from = r.len;
            nat.appendTo(r);
            replies.scan(backend.db, r.b, from, r.len - from);
            more = rc == NativeExchange.MORE;
            return nat.state(rc);
        });
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
            st = EngineBridge.run(own, token, engine -> {
                if (PgEmbeddedH.pgembed_wait_output(engine, timeoutMs) == 0) {
                    return state;
                }
                int rc = nat.exchange(engine, in.b, 0, 0);
                nat.appendTo(r);
                more = rc == NativeExchange.MORE;
                // idle output carries no ReadyForQuery: the transaction state stays what it was
                return rc == NativeExchange.ENDED ? EngineBridge.ENDED : more ? EngineBridge.BUSY : state;
            });
        } catch (IllegalStateException closed) {
            eof = true;
            throw new IOException("pgembed-jdbc: " + closed.getMessage(), closed);
        }
        ended(st);
        return r.len > before || eof || more;
    }

    /*
     * Session-level advisory locks and cursors WITH HOLD outlive a transaction, and with one shared backend another
     * connection would see them (its pg_try_advisory_lock would succeed, since the lock is the same session's),
     * or the hand-over would close the cursor under its owner: while the connection holds any, it keeps the turn
     * (EngineBridge.HELD), so others wait for it as separate sessions wait for the lock. (Temporary tables do not
     * keep the turn: a pool's connection that keeps one would block every other for good; they are dropped at the
     * hand-over instead, see Backend.) Looked for only after a statement whose text names one of them
     * (Wire.sessionHints), and after every exchange while held; on the turn, the backend idle.
     */
    private int lookForHeldState(MemorySegment engine) {
        checkHeld = false;
        Wire.Reply q = backend.simpleQuery(engine, HELD_STATE);
        if (q.error != null || q.results.isEmpty() || q.results.get(0).isEmpty()) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "pgembed-jdbc: could not look for session-scoped state of " + token + ": " + q.errorText());
            return pinned ? EngineBridge.HELD : EngineBridge.IDLE;
        }
        String[] row = q.results.get(0).get(0);
        List<String> held = new ArrayList<>();
        String[] what = {"session-level advisory lock", "cursor WITH HOLD"};
        for (int i = 0; i < what.length; i++) {
            long n = Long.parseLong(row[i]);
            if (n > 0) {
                held.add(n + " " + what[i] + (n > 1 ? "s" : ""));
            }
        }
        pinned = !held.isEmpty();
        token.holding(pinned ? String.join(", ", held) : null);
        return pinned ? EngineBridge.HELD : EngineBridge.IDLE;
    }

    /** A notification for this connection (a NotificationResponse message) that arrived elsewhere; any thread. */
    void notification(byte[] message) {
        notifications.add(message);
        notifyLock.lock();
        try {
            notified.signalAll();
        } finally {
            notifyLock.unlock();
        }
    }

    /* the size of the notifications waiting to be read */
    int notificationBytes() {
        int n = 0;
        for (byte[] m : notifications) {
            n += m.length;
        }
        return n;
    }

    /** Makes the waiting notifications readable when the reader is at a message boundary; true when any. */
    boolean deliverNotifications() {
        if (notifications.isEmpty() || more) {
            return false;
        }
        byte[] m;
        boolean any = false;
        while ((m = notifications.poll()) != null) {
            r.put(m, 0, m.length);
            any = true;
        }
        return any;
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
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(millis);
        notifyLock.lock();
        try {
            while (notifications.isEmpty() && !aborted) {
                if (millis <= 0) {
                    notified.await();
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    notified.awaitNanos(left);
                }
            }
            return !notifications.isEmpty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !notifications.isEmpty();
        } finally {
            notifyLock.unlock();
        }
    }

    /** Whether the connection was closed from another thread (a waiting read ends). */
    boolean aborted() {
        return aborted;
    }

    /** Whether a statement may have changed the settings since they were last recorded; clears the mark. */
    boolean takeSettingsChanged() {
        boolean c = settingsChanged;
        settingsChanged = false;
        return c;
    }

    /* answers the messages in 'in' with the error, as a backend skips to Sync after an error */
    private void failBatch(String sqlState, String msg) {
        boolean erred = false;
        int p = 0;
        while (p + 5 <= in.len) {
            char type = (char) in.b[p];
            p += 1 + Wire.int32(in.b, p + 1);
            if (type == 'S' || type == 'Q') {
                if (!erred) {
                    Wire.errorResponse(r, "ERROR", sqlState, msg);
                }
                Wire.readyForQuery(r, 'I');
                erred = false;
            } else if (!erred && type != 'H') {
                Wire.errorResponse(r, "ERROR", sqlState, msg);
                erred = true;
            }
        }
        skipUntilSync = erred;
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
        Map<String, String> params = new LinkedHashMap<>();
        int p = 8;
        while (p < m.length && m[p] != 0) {
            int ke = Wire.cstrEnd(m, p, m.length);
            int ve = Wire.cstrEnd(m, ke + 1, m.length);
            params.put(
                    new String(m, p, ke - p, StandardCharsets.UTF_8),
                    new String(m, ke + 1, Math.max(0, ve - ke - 1), StandardCharsets.UTF_8));
            p = ve + 1;
        }
        List<String> unknownOptions = new ArrayList<>();
        Map<String, String> set = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : params.entrySet()) {
            String k = e.getKey();
            String v = e.getValue();
            switch (k) {
                case "user" -> user = v; // every client is the engine's session user; kept for messages
                case "database" -> database = v;
                case "client_encoding" -> {
                    String norm = v.replace("-", "").replace("_", "").toUpperCase(Locale.ROOT);
                    // SQL_ASCII means "no conversion": UTF-8 bytes pass as they are (psql in the C locale asks for it)
                    if (!norm.equals("UTF8") && !norm.equals("UNICODE") && !norm.equals("SQLASCII")) {
                        fatal("22023", "pgembed-jdbc supports only client_encoding UTF8, not \"" + v + "\"");
                        return;
                    }
                }
                case "replication" -> {
                    if (!v.equalsIgnoreCase("false") && !v.equals("0") && !v.equalsIgnoreCase("off")) {
                        fatal("0A000", "replication connections are not supported by pgembed-jdbc");
                        return;
                    }
                }
                case "options" -> {
                    if (!parseOptions(v, set)) {
                        fatal(
                                "0A000",
                                "pgembed-jdbc supports only \"-c name=value\" and \"--name=value\" in"
                                        + " options, not \"" + v + "\"");
                        return;
                    }
                }
                default -> {
                    if (k.startsWith("_pq_.")) {
                        unknownOptions.add(k);
                    } else {
                        set.put(k, v);
                    }
                }
            }
        }
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
            if (done) {
                Map<String, String> set = pendingSet;
                pendingSet = null;
                open(set, pendingUnknown, pendingMinor);
            }
        }
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
        prefix = ("pgembed" + id + "_").getBytes(StandardCharsets.US_ASCII);
        nat = new NativeExchange();
        settings = set;
        timeoutsFrom(set);
        String[] values = new String[REPORTED.length];
        String[] error = new String[2];
        int pid;
        StringBuilder sql = new StringBuilder("SELECT ");
        for (int i = 0; i < REPORTED.length; i++) {
            sql.append(i == 0 ? "" : ", ")
                    .append("pg_catalog.current_setting(")
                    .append(Wire.literal(REPORTED[i]))
                    .append(", true)");
        }
        sql.append(", pg_catalog.current_database()");
        // libpq's default database is the user name
        String wanted = database == null || database.isEmpty() ? user : database;
        try {
            // a backend of its own when the database has one to give: the client's database, its settings
            own = EngineBridge.openSession(backend.db, checkDatabase ? wanted : null, set);
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
            System.arraycopy(known.values(), 0, values, 0, REPORTED.length);
            pid = known.pid();
        } else
            try {
                int[] pidOut = new int[1];
                state = own != null
                        ? EngineBridge.run(own, token, engine -> {
                            Wire.Reply q = Backend.simpleQuery(nat, engine, sql.toString());
                            if (q.error != null
                                    || q.results.isEmpty()
                                    || q.results.get(0).isEmpty()) {
                                error[0] = q.error != null ? q.error.getOrDefault('C', "XX000") : "XX000";
                                error[1] = q.error != null ? q.error.getOrDefault('M', "?") : "no start-up values";
                                return EngineBridge.IDLE;
                            }
                            System.arraycopy(q.results.get(0).get(0), 0, values, 0, REPORTED.length);
                            pidOut[0] = PgEmbeddedH.pgembed_backend_pid(engine);
                            return EngineBridge.IDLE;
                        })
                        : EngineBridge.run(backend.db, token, engine -> {
                            // applying the start-up settings must not fail silently: try them here first
                            if (!set.isEmpty()) {
                                settings = Map.of();
                                backend.switchTo(this, engine);
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
                                Wire.Reply a = backend.simpleQuery(engine, apply.toString());
                                settings = set;
                                if (a.error != null) {
                                    error[0] = a.error.getOrDefault('C', "22023");
                                    error[1] = a.error.getOrDefault('M', "invalid start-up parameter");
                                    backend.ended(this);
                                    return EngineBridge.IDLE;
                                }
                            } else {
                                backend.switchTo(this, engine);
                            }
                            Wire.Reply q = backend.simpleQuery(engine, sql.toString());
                            if (q.error != null
                                    || q.results.isEmpty()
                                    || q.results.get(0).isEmpty()) {
                                error[0] = q.error != null ? q.error.getOrDefault('C', "XX000") : "XX000";
                                error[1] = q.error != null ? q.error.getOrDefault('M', "?") : "no start-up values";
                                backend.ended(this);
                                return EngineBridge.IDLE;
                            }
                            String[] row = q.results.get(0).get(0);
                            String served = row[REPORTED.length];
                            if (checkDatabase && !wanted.equals(served)) {
                                error[0] = "3D000";
                                error[1] =
                                        "database \"" + wanted + "\" does not exist: this pgembed instance serves only"
                                                + " \"" + served + "\"";
                                backend.ended(this);
                                return EngineBridge.IDLE;
                            }
                            System.arraycopy(row, 0, values, 0, REPORTED.length);
                            pidOut[0] = PgEmbeddedH.pgembed_backend_pid(engine);
                            return EngineBridge.IDLE;
                        });
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
        if (minor > 0 || !unknownOptions.isEmpty()) {
            int at = r.begin('v');
            r.int32(3 << 16);
            r.int32(unknownOptions.size());
            for (String o : unknownOptions) {
                r.cstr(o);
            }
            r.end(at);
        }
        int at = r.begin('R');
        r.int32(0);
        r.end(at);
        for (int i = 0; i < REPORTED.length; i++) {
            if (values[i] != null) {
                Wire.parameterStatus(r, REPORTED[i], values[i]);
            }
        }
        at = r.begin('K');
        r.int32(pid);
        r.int32(secret);
        r.end(at);
        Wire.readyForQuery(r, 'I');
        phase = Phase.READY;
    }

    /* what decides the start-up answer: the settings, and in serve mode the database asked for */
    private String startupKey(Map<String, String> set) {
        String wanted = database == null || database.isEmpty() ? user : database;
        return (checkDatabase ? wanted : "") + "\u0000" + set;
    }

    /* "-c a=b -c x=y" and "--a=b" */
    private static boolean parseOptions(String options, Map<String, String> into) {
        String[] words = options.trim().split("\\s+");
        for (int i = 0; i < words.length; i++) {
            String wd = words[i];
            if (wd.isEmpty()) {
                continue;
            }
            String kv;
            if (wd.equals("-c") && i + 1 < words.length) {
                kv = words[++i];
            } else if (wd.startsWith("-c")) {
                kv = wd.substring(2);
            } else if (wd.startsWith("--")) {
                kv = wd.substring(2);
            } else {
                return false;
            }
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                return false;
            }
            into.put(kv.substring(0, eq).replace('-', '_'), kv.substring(eq + 1));
        }
        return true;
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
            } else if (!statements.isEmpty() || backend.mayBeCurrent(this)) {
                // the turn may be another's: never wait for it; the next holder cleans up instead
                int st = EngineBridge.tryRun(backend.db, token, this::settle);
                if (st == EngineBridge.NOT_RUN) {
                    backend.endedElsewhere(this, closeMessages());
                    statements.clear();
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
        if (st == EngineBridge.IDLE && !statements.isEmpty()) {
            Wire.Buf m = closeMessages();
            sink.clear();
            rc = nat.exchangeAll(engine, m.b, 0, m.len, sink);
            st = rc == NativeExchange.ENDED ? EngineBridge.ENDED : NativeExchange.stateOf(rc, sink.b, sink.len);
            statements.clear();
        }
        backend.stopsListening(this);
        if (listenOwn && st == EngineBridge.IDLE) {
            listenOwn = false;
            backend.listenAll(engine);
        }
        backend.ended(this);
        return st;
    }

    /* Close messages for this connection's prepared statements, and a Sync */
    private Wire.Buf closeMessages() {
        Wire.Buf m = new Wire.Buf(64 + statements.size() * 32);
        for (String s : statements) {
            int at = m.begin('C');
            m.put('S');
            m.put(prefix, 0, prefix.length);
            m.cstr(s);
            m.end(at);
        }
        int at = m.begin('S');
        m.end(at);
        return m;
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
        PgSession o = own;
        if (o != null) {
            if (ownRunning) {
                o.cancel();
            }
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
        aborted = true;
        notifyLock.lock();
        try {
            notified.signalAll();
        } finally {
            notifyLock.unlock();
        }
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
