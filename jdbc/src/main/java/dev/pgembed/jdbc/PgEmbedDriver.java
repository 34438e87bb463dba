package dev.pgembed.jdbc;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.DriverPropertyInfo;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.logging.Logger;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGProperty;

/**
 * A JDBC driver for PostgreSQL running inside this JVM. Connections are real pgjdbc connections
 * ({@code org.postgresql.jdbc.PgConnection}: unwrap to {@code PGConnection} for COPY, large objects,
 * notifications) whose socket is an in-process one.
 *
 * <h2>URLs</h2>
 * <ul>
 *   <li>{@code jdbc:pgembed:/path/to/dir}: the database in a directory, created when absent or empty (like
 *       {@link PgEmbedded#open(Path)}). A relative path is resolved against the working directory.</li>
 *   <li>{@code jdbc:pgembed:memory:name}: a named throw-away database, shared by the connections to the same
 *       name while any of them is open; deleted when the last one closes.</li>
 *   <li>{@code jdbc:pgembed:memory:}: a private throw-away database for this one connection.</li>
 * </ul>
 * Query options ({@code ?a=b&c=d}): {@code durability=durable|relaxed|none}, {@code timeZone=Europe/Paris},
 * {@code transactionWaitTimeout=30s} (or milliseconds), {@code engineWait=30s} (how long opening a database waits
 * for a free engine when the process's engine budget is spent, SQLSTATE 53300; default 30 s, or
 * {@code -Dpgembed.engineWait}), {@code sessionRole=app} (the session belongs to that
 * role, not to the superuser: see {@link PgEmbedded.Builder#sessionRole(String)}; a database already open
 * with another session role is refused with SQLSTATE 28000), {@code memoryDir=/path} (where a
 * {@code memory:} database's temporary directory is made: see {@link PgEmbedded#inMemory()}), {@code backends=8}
 * (the most PostgreSQL backends the database runs at once: see {@link PgEmbedded.Builder#backends(int)} and
 * "Sharing" below), any pgjdbc connection property (for example
 * {@code prepareThreshold=1}, {@code ApplicationName=x}) goes to pgjdbc, and any other {@code name=value} is a
 * PostgreSQL setting ({@code work_mem=64MB}). The open options apply when the database is opened; a database
 * already open keeps its own. Properties passed to {@code connect} go to pgjdbc.
 *
 * <h2>Sharing</h2>
 * One {@link PgEmbedded} per directory serves every connection to it, kept open until the last connection
 * closes; when the application already opened that directory itself, that instance is used (and left
 * open). By default the database has one backend session: connections take turns at transaction boundaries
 * (a connection inside a transaction holds the session, others wait up to the transaction wait timeout), and
 * the direct Java API takes turns with them in the same way.
 *
 * <p>A database opened with several backends ({@code ?backends=n}, or {@link PgEmbedded.Builder#backends(int)}
 * by the application) gives each connection a PostgreSQL backend of its own while its limit and the process's
 * namespaces allow: connections then run in parallel with a server's semantics (row and table locks, their own
 * session state, LISTEN/NOTIFY with {@code PGConnection.getNotifications(timeout)} waking up when a
 * notification arrives); a connection beyond the limit shares the database's own backend by taking turns, as
 * above. Every connection works as the database's session role (the superuser without one), whatever user
 * pgjdbc names.
 */
public final class PgEmbedDriver implements Driver {
    /** The URL prefix. */
    public static final String PREFIX = "jdbc:pgembed:";

    static {
        try {
            DriverManager.registerDriver(new PgEmbedDriver());
        } catch (SQLException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final org.postgresql.Driver pgjdbc = new org.postgresql.Driver();

    /** A driver; {@link DriverManager} and {@link java.util.ServiceLoader} make one, the class registers one. */
    public PgEmbedDriver() {}

    @Override
    public boolean acceptsURL(@Nullable String url) {
        return url != null && url.regionMatches(true, 0, PREFIX, 0, PREFIX.length());
    }

    @Override
    public @Nullable Connection connect(@Nullable String url, Properties info) throws SQLException {
        if (!acceptsURL(url)) {
            return null;
        }
        Parsed p = parse(url);
        Properties props = new Properties();
        if (info != null) {
            for (String k : info.stringPropertyNames()) {
                props.setProperty(k, info.getProperty(k));
            }
        }
        props.putAll(p.pgjdbc);
        Backend b = acquire(p, url);
        try {
            String role = b.db.sessionRole().orElse(null);
            if (p.sessionRole != null && !p.sessionRole.equals(role)) {
                // sharing the open session would hand the connection someone else's rights
                throw new SQLException(
                        "the database of " + url + " is already open "
                                + (role == null ? "without a session role" : "with session role \"" + role + "\""),
                        "28000");
            }
            // what pgjdbc reports as the user name (the engine ignores it)
            props.setProperty("user", role != null ? role : "postgres");
            return connectKey(b.key, props);
        } finally {
            b.release();
        }
    }

    /*
     * The backend of the URL's database; when opening it is refused with 53300 (the process's engine budget is
     * spent: tests in parallel, many databases), waits for an engine to be closed, at most engineWait, retrying
     * outside Backend's lock (a closing connection needs it to free its engine).
     */
    private static Backend acquire(Parsed p, String url) throws SQLException {
        long deadline = System.nanoTime() + p.engineWait.toNanos();
        long pauseMillis = 10;
        while (true) {
            try {
                return Backend.acquire(p.target, p.dir, () -> p.builder().open());
            } catch (dev.pgembed.PgException e) {
                if (!"53300".equals(e.sqlState()) || System.nanoTime() - deadline >= 0) {
                    String waited = "53300".equals(e.sqlState()) && !p.engineWait.isZero()
                            ? " (waited " + p.engineWait.toMillis() + " ms for a free engine: engineWait / "
                                    + "-Dpgembed.engineWait)"
                            : "";
                    throw new SQLException(
                            "could not open the database of " + url + waited + ": " + e.getMessage(), e.sqlState(), e);
                }
            } catch (RuntimeException e) {
                throw new SQLException("could not open the database of " + url + ": " + e.getMessage(), "08001", e);
            }
            try {
                Thread.sleep(pauseMillis);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new SQLException("interrupted while waiting for a free engine", "57014", ie);
            }
            pauseMillis = Math.min(pauseMillis * 2, 200);
        }
    }

    static Connection connectKey(String key, Properties info) throws SQLException {
        Properties props = new Properties();
        props.putAll(info);
        props.putIfAbsent("user", "postgres");
        props.remove("password");
        props.setProperty("socketFactory", InProcessSocketFactory.class.getName());
        props.setProperty("socketFactoryArg", key);
        props.setProperty("sslmode", "disable");
        props.setProperty("gssEncMode", "disable");
        props.putIfAbsent("assumeMinServerVersion", "9.4");
        props.remove("PGHOST");
        props.remove("PGPORT");
        props.remove("PGDBNAME");
        Connection c = new org.postgresql.Driver().connect("jdbc:postgresql://localhost/postgres", props);
        if (c == null) {
            throw new SQLException("pgjdbc refused the connection", "08001");
        }
        return c;
    }

    /** The parts of a jdbc:pgembed: URL. */
    static final class Parsed {
        String target;
        Path dir;
        boolean memory;
        Durability durability;
        ZoneId timeZone;
        Duration waitTimeout;
        /* how long an open refused with 53300 is retried (see acquire) */
        Duration engineWait = defaultEngineWait();
        String sessionRole;
        Integer backends;
        Path memoryDir;
        final Map<String, String> settings = new LinkedHashMap<>();
        final Properties pgjdbc = new Properties();

        PgEmbedded.Builder builder() {
            return applyTo(memory ? PgEmbedded.inMemory() : PgEmbedded.builder(dir));
        }

        /** The URL's open options and settings, set on b. */
        PgEmbedded.Builder applyTo(PgEmbedded.Builder b) {
            if (durability != null) {
                b.durability(durability);
            }
            if (timeZone != null) {
                b.timeZone(timeZone);
            }
            if (waitTimeout != null) {
                b.transactionWaitTimeout(waitTimeout);
            }
            if (sessionRole != null) {
                b.sessionRole(sessionRole);
            }
            if (backends != null) {
                b.backends(backends);
            }
            if (memoryDir != null && memory) {
                b.memoryDirectory(memoryDir);
            }
            settings.forEach(b::setting);
            return b;
        }
    }

    static Parsed parse(String url) throws SQLException {
        String rest = url.substring(PREFIX.length());
        String query = null;
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        Parsed p = new Parsed();
        if (rest.regionMatches(true, 0, "memory:", 0, 7)) {
            p.memory = true;
            String name = rest.substring(7);
            p.target = name.isEmpty() ? "mem-private:" + UUID.randomUUID() : "mem:" + name;
        } else if (rest.isEmpty()) {
            throw new SQLException(
                    "no database in \"" + url + "\": use jdbc:pgembed:/path/to/dir or" + " jdbc:pgembed:memory:[name]",
                    "08001");
        } else {
            if (rest.startsWith("file:")) {
                rest = rest.substring(5);
            }
            p.dir = Path.of(decode(rest)).toAbsolutePath().normalize();
            p.target = "dir:" + p.dir;
        }
        if (query != null && !query.isEmpty()) {
            for (String pair : query.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String k = decode(eq < 0 ? pair : pair.substring(0, eq));
                String v = eq < 0 ? "" : decode(pair.substring(eq + 1));
                switch (k) {
                    case "durability" -> {
                        try {
                            p.durability = Durability.valueOf(v.toUpperCase(Locale.ROOT));
                        } catch (IllegalArgumentException e) {
                            throw new SQLException(
                                    "durability must be durable, relaxed or none, not \"" + v + "\"", "08001");
                        }
                    }
                    case "timeZone" -> {
                        try {
                            p.timeZone = ZoneId.of(v);
                        } catch (RuntimeException e) {
                            throw new SQLException("invalid timeZone \"" + v + "\"", "08001", e);
                        }
                    }
                    case "transactionWaitTimeout" -> p.waitTimeout = duration(v);
                    case "backends" -> {
                        try {
                            p.backends = Integer.parseInt(v.trim());
                        } catch (NumberFormatException e) {
                            p.backends = 0;
                        }
                        if (p.backends < 1) {
                            throw new SQLException(
                                    "backends must be a number of at least 1, not \"" + v + "\"", "08001");
                        }
                    }
                    case "memoryDir" -> {
                        if (v.isEmpty()) {
                            throw new SQLException("memoryDir needs a directory", "08001");
                        }
                        p.memoryDir = Path.of(v).toAbsolutePath().normalize();
                    }
                    case "engineWait" -> p.engineWait = duration(v);
                    case "sessionRole" -> {
                        if (v.isEmpty()) {
                            throw new SQLException("sessionRole needs a role name", "08001");
                        }
                        p.sessionRole = v;
                    }
                    default -> {
                        if (PGProperty.forName(k) != null) {
                            p.pgjdbc.setProperty(k, v);
                        } else {
                            p.settings.put(k, v);
                        }
                    }
                }
            }
        }
        return p;
    }

    private static Duration defaultEngineWait() {
        String v = System.getProperty("pgembed.engineWait");
        if (v != null) {
            try {
                return duration(v);
            } catch (SQLException e) {
                // an unreadable property: the default
            }
        }
        return Duration.ofSeconds(30);
    }

    private static Duration duration(String v) throws SQLException {
        try {
            String s = v.trim().toLowerCase(Locale.ROOT);
            if (s.startsWith("pt")) {
                return Duration.parse(s);
            }
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            }
            if (s.endsWith("s")) {
                return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)));
            }
            return Duration.ofMillis(Long.parseLong(s));
        } catch (RuntimeException e) {
            throw new SQLException("invalid duration \"" + v + "\" (transactionWaitTimeout, engineWait)", "08001", e);
        }
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    @Override
    public DriverPropertyInfo[] getPropertyInfo(String url, Properties info) throws SQLException {
        return pgjdbc.getPropertyInfo("jdbc:postgresql://localhost/postgres", info);
    }

    @Override
    public int getMajorVersion() {
        return 0;
    }

    @Override
    public int getMinorVersion() {
        return 1;
    }

    @Override
    public boolean jdbcCompliant() {
        return false;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException();
    }
}
