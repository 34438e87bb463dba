package dev.pgembed.conformance;

import dev.pgembed.Column;
import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.PgException;
import dev.pgembed.Result;
import dev.pgembed.Row;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The two sides a statement runs on: pgembed (its Java API, or pgjdbc on {@code jdbc:pgembed:} in JDBC mode)
 * and the stock server (psql's simple protocol through {@link WireClient}, or pgjdbc), each with its psql
 * variables and environment. Runs a statement on one side and gives back its {@link Outcome}; a side whose
 * session ended is opened or connected again, so that the rest of the file can run.
 */
final class Sides implements AutoCloseable {
    /** Per side: environment of \getenv and psql variables. */
    static final class Side {
        final String name;
        final Map<String, String> env = new HashMap<>();
        final Map<String, String> vars = new HashMap<>();

        Side(String name) {
            this.name = name;
        }
    }

    final Side embed = new Side("pgembed");
    final Side stock = new Side("server");
    private final Conformance.Mode mode;
    private final PrintStream log;
    private final Map<String, String> session;
    /** The server settings, the same on both sides. */
    private final Map<String, String> settings;
    /** pgembed's backends: 1, a single engine; more, a cluster. */
    private final int backends;

    private final int port;
    private final Path embedData;
    private WireClient client;
    private JdbcClient jdbcEmbed;
    private JdbcClient jdbcServer;
    private PgEmbedded db;
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "conformance-watchdog");
        t.setDaemon(true);
        return t;
    });

    /**
     * Creates the regression database on both sides (pgembed's in embedData), runs the setup statements in it
     * on both sides ({@code CREATE EXTENSION vector} for pgvector's suite) and connects to it.
     */
    Sides(
            Conformance.Mode mode,
            PrintStream log,
            Map<String, String> session,
            Map<String, String> settings,
            int backends,
            int port,
            Path embedData,
            List<String> setup)
            throws IOException {
        this.mode = mode;
        this.log = log;
        this.session = session;
        this.settings = settings;
        this.backends = backends;
        this.port = port;
        this.embedData = embedData;
        try (WireClient c = connectServer("postgres")) {
            for (String sql : createDatabase()) {
                WireClient.Reply r = c.query(sql, null);
                if (!r.outcome().ok()) {
                    throw new IllegalStateException(
                            "server: " + sql + ": " + r.outcome().brief());
                }
            }
        }
        try (PgEmbedded p = embedBuilder(embedData).open()) {
            for (String sql : createDatabase()) {
                p.execute(sql);
            }
        }
        db = embedBuilder(embedData).database(Conformance.DATABASE).open();
        if (!setup.isEmpty()) {
            try (WireClient c = connectServer(Conformance.DATABASE)) {
                for (String sql : setup) {
                    db.execute(sql);
                    WireClient.Reply r = c.query(sql, null);
                    if (!r.outcome().ok()) {
                        throw new IllegalStateException(
                                "server: " + sql + ": " + r.outcome().brief());
                    }
                }
            }
        }
        if (mode == Conformance.Mode.API) {
            client = connectServer(Conformance.DATABASE);
        } else {
            try {
                // jdbc:pgembed: on a directory the application opened itself uses that instance (database regression)
                jdbcEmbed = new JdbcClient(
                        "jdbc:pgembed:" + embedData,
                        JdbcClient.properties(session.get("IntervalStyle")),
                        Conformance.TIME_ZONE);
                jdbcServer = new JdbcClient(
                        "jdbc:postgresql://127.0.0.1:" + port + "/" + Conformance.DATABASE,
                        JdbcClient.properties(session.get("IntervalStyle")),
                        Conformance.TIME_ZONE);
            } catch (java.sql.SQLException e) {
                throw new IOException("JDBC connection failed: " + e.getMessage(), e);
            }
        }
    }

    private static List<String> createDatabase() {
        String d = "\"" + Conformance.DATABASE + "\"";
        return List.of(
                "CREATE DATABASE " + d + " TEMPLATE=template0 ENCODING='UTF8'",
                "ALTER DATABASE " + d + " SET lc_messages TO 'C'",
                "ALTER DATABASE " + d + " SET lc_monetary TO 'C'",
                "ALTER DATABASE " + d + " SET lc_numeric TO 'C'",
                "ALTER DATABASE " + d + " SET lc_time TO 'C'",
                "ALTER DATABASE " + d + " SET bytea_output TO 'hex'",
                "ALTER DATABASE " + d + " SET timezone_abbreviations TO 'Default'");
    }

    private PgEmbedded.Builder embedBuilder(Path dir) {
        PgEmbedded.Builder b = PgEmbedded.builder(dir)
                .durability(Durability.NONE)
                .timeZone(ZoneId.of(Conformance.TIME_ZONE))
                .noticeListener(n -> {});
        if (backends > 1) {
            b.backends(backends);
        }
        for (Map.Entry<String, String> e : settings.entrySet()) {
            b.setting(e.getKey(), e.getValue());
        }
        for (Map.Entry<String, String> e : session.entrySet()) {
            b.setting(e.getKey(), e.getValue());
        }
        return b;
    }

    private WireClient connectServer(String database) throws IOException {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("client_encoding", "UTF8");
        o.put("TimeZone", Conformance.TIME_ZONE);
        for (Map.Entry<String, String> e : session.entrySet()) {
            o.put(e.getKey(), e.getValue());
        }
        WireClient c = new WireClient("127.0.0.1", port, "postgres", database, o);
        c.setTimeout(600_000);
        return c;
    }

    /** Each file of pg_regress runs in a new psql session: reset the session state on both sides alike. */
    void resetSessions() throws IOException {
        // SET SESSION AUTHORIZATION first: in pgembed, RESET (and DISCARD ALL) does not restore it
        for (String sql : List.of("ROLLBACK", "SET SESSION AUTHORIZATION postgres", "DISCARD ALL")) {
            runEmbedded(sql, null, false, true, null);
            runServer(sql, null);
        }
    }

    private static final int STATEMENT_TIMEOUT_S = 300;

    Outcome runEmbedded(String sql, byte[] copyIn, boolean copyOut, boolean multi, List<String> params) {
        if (db == null || !db.isOpen()) {
            reopenEmbedded();
        }
        if (mode == Conformance.Mode.JDBC) {
            Outcome o = jdbcEmbed.run(sql, copyIn, copyOut, params, STATEMENT_TIMEOUT_S);
            if (!db.isOpen() || jdbcEmbed.isClosed()) {
                log.println("conformance: pgembed's JDBC connection ended (" + o.brief() + "); reopening");
                reopenEmbedded();
            }
            return o;
        }
        ScheduledFuture<?> dog = watchdog.schedule(() -> db.cancel(), 300, TimeUnit.SECONDS);
        try {
            if (copyIn != null) {
                long n = db.copyIn(sql, new ByteArrayInputStream(copyIn));
                return Outcome.ok("COPY " + n, null, null);
            }
            if (copyOut) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                long n = db.copyOut(sql, b);
                return Outcome.copy("COPY " + n, b.toString(StandardCharsets.UTF_8));
            }
            if (multi) {
                db.execute(sql);
                return Outcome.ok("", null, null);
            }
            Object[] p = params == null ? new Object[0] : params.toArray();
            try (Result r = db.query(sql, p)) {
                List<Column> cols = r.columns();
                if (cols.isEmpty() && r.rowCount() == 0) {
                    return Outcome.ok(r.commandTag(), null, null);
                }
                List<String> names = new ArrayList<>(cols.size());
                int[] floats = new int[cols.size()];
                for (int c = 0; c < cols.size(); c++) {
                    Column col = cols.get(c);
                    names.add(col.name());
                    if (col.format() == 1 && (col.typeOid() == 700 || col.typeOid() == 701)) {
                        floats[c] = col.typeOid() == 700 ? 4 : 8;
                    }
                }
                List<List<String>> rows = new ArrayList<>(r.rowCount());
                for (int i = 0; i < r.rowCount(); i++) {
                    Row row = r.row(i);
                    List<String> vals = new ArrayList<>(cols.size());
                    for (int c = 0; c < cols.size(); c++) {
                        vals.add(row.getString(c));
                    }
                    rows.add(vals);
                }
                boolean anyFloat = Arrays.stream(floats).anyMatch(x -> x != 0);
                return new Outcome(true, null, null, r.commandTag(), names, rows, null, anyFloat ? floats : null);
            }
        } catch (PgException ex) {
            if (ex.isFatal() || !db.isOpen()) {
                log.println("conformance: pgembed ended (" + ex + "); reopening");
                reopenEmbedded();
            }
            return Outcome.error(ex.sqlState(), ex.getMessage());
        } catch (RuntimeException ex) {
            return Outcome.error("JAVA", ex.toString());
        } finally {
            dog.cancel(false);
        }
    }

    private void reopenEmbedded() {
        try {
            if (db != null) {
                db.close();
            }
        } catch (RuntimeException ignored) {
            // already ended
        }
        db = embedBuilder(embedData).database(Conformance.DATABASE).open();
        if (jdbcEmbed != null) {
            try {
                jdbcEmbed.connect();
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException("jdbc:pgembed: reconnect failed: " + e.getMessage(), e);
            }
        }
    }

    private static final Pattern COPY_TO_STDOUT =
            Pattern.compile("^\\s*copy\\b.*\\bto\\s+stdout\\b.*", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    /* COPY ... TO STDOUT, which the server side must be told to read as COPY data */
    static boolean isCopyToStdout(String sql) {
        return COPY_TO_STDOUT.matcher(PsqlScript.stripComments(sql)).matches();
    }

    Outcome runServer(String sql, byte[] copyIn) throws IOException {
        return runServer(sql, copyIn, copyIn == null && isCopyToStdout(sql));
    }

    /** copyOut: COPY TO STDOUT alone (the simple protocol of WireClient needs not know). */
    Outcome runServer(String sql, byte[] copyIn, boolean copyOut) throws IOException {
        if (mode == Conformance.Mode.JDBC) {
            return runServerJdbc(sql, copyIn, copyOut, null);
        }
        try {
            return client.query(sql, copyIn).outcome();
        } catch (IOException ex) {
            // the session ended (a FATAL error, a terminated backend): connect again
            log.println("conformance: server connection lost (" + ex + "); reconnecting");
            client.close();
            client = connectServer(Conformance.DATABASE);
            return Outcome.error("08006", "connection lost: " + ex.getMessage());
        }
    }

    private Outcome runServerJdbc(String sql, byte[] copyIn, boolean copyOut, List<String> params) throws IOException {
        Outcome o = jdbcServer.run(sql, copyIn, copyOut, params, STATEMENT_TIMEOUT_S);
        if (jdbcServer.isClosed()) {
            log.println("conformance: server JDBC connection ended (" + o.brief() + "); reconnecting");
            try {
                jdbcServer.connect();
            } catch (java.sql.SQLException e) {
                throw new IOException("server: reconnect failed: " + e.getMessage(), e);
            }
        }
        return o;
    }

    /** psql's \bind: the extended protocol with text parameters; emulated by PREPARE/EXECUTE-free quoting. */
    Outcome runServerBound(String sql, List<String> params) throws IOException {
        if (mode == Conformance.Mode.JDBC) {
            return runServerJdbc(sql, null, false, params);
        }
        // replace $n by quoted literals of unknown type, outside quotes
        StringBuilder b = new StringBuilder();
        int n = sql.length();
        int p = 0;
        while (p < n) {
            char c = sql.charAt(p);
            if (c == '\'' || c == '"') {
                int e = c == '\'' ? PsqlScript.skipString(sql, p, false) : PsqlScript.skipQuoted(sql, p, '"');
                b.append(sql, p, e);
                p = e;
                continue;
            }
            if (c == '$' && p + 1 < n && Character.isDigit(sql.charAt(p + 1))) {
                int e = p + 1;
                while (e < n && Character.isDigit(sql.charAt(e))) {
                    e++;
                }
                int k = Integer.parseInt(sql.substring(p + 1, e));
                if (k >= 1 && k <= params.size()) {
                    b.append(PsqlScript.literal(params.get(k - 1)).trim());
                    p = e;
                    continue;
                }
            }
            b.append(c);
            p++;
        }
        return runServer(b.toString(), null);
    }

    /* the server session's extra_float_digits (the simple-protocol client of the api mode) */
    int extraFloatDigits() throws IOException {
        Outcome o = client.query("SHOW extra_float_digits", null).outcome();
        if (o.ok() && o.rows() != null && o.rows().size() == 1) {
            try {
                return Integer.parseInt(o.rows().get(0).get(0).trim());
            } catch (NumberFormatException ignored) {
                // default
            }
        }
        return 1;
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
        if (client != null) {
            client.close();
            client = null;
        }
        if (jdbcEmbed != null) {
            jdbcEmbed.close();
            jdbcEmbed = null;
        }
        if (jdbcServer != null) {
            jdbcServer.close();
            jdbcServer = null;
        }
        if (db != null) {
            try {
                db.close();
            } catch (RuntimeException ignored) {
                // ended
            }
            db = null;
        }
    }
}
