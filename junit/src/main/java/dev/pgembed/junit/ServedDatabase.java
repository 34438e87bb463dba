package dev.pgembed.junit;

import dev.pgembed.jdbc.PgEmbedServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * A test database served over TCP on the loopback address, for code that needs a host, a port, a user and a
 * password: tools ({@code psql}, {@code pg_dump}), non-JVM clients, libraries configured by URL. The accessors are
 * named as Testcontainers' {@code JdbcDatabaseContainer}'s, so that tests written for it move with few changes:
 *
 * <pre>{@code
 * try (ServedDatabase pg = ServedDatabase.start()) {
 *     DriverManager.getConnection(pg.getJdbcUrl(), pg.getUsername(), pg.getPassword());
 *     new ProcessBuilder("psql", pg.getUri(), "-c", "SELECT 1").start();
 * }
 * }</pre>
 *
 * The password is random per listener and checked with SCRAM-SHA-256; there is no TLS.
 */
public final class ServedDatabase implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final TestDatabase database;
    private final boolean ownsDatabase;
    private final PgEmbedServer server;
    private final String password;

    private ServedDatabase(TestDatabase database, boolean ownsDatabase, PgEmbedServer server, String password) {
        this.database = database;
        this.ownsDatabase = ownsDatabase;
        this.server = server;
        this.password = password;
    }

    /**
     * A fresh, empty test database, served.
     *
     * @return the served database; close it to stop the listener and delete the database
     */
    public static ServedDatabase start() {
        return serve(TestDatabase.fresh(), true);
    }

    /**
     * A fresh copy of an initializer's template (migrations run once per JVM), served.
     *
     * @param initializer for example {@code FlywayMigrations.class}
     * @return the served database; close it to stop the listener and delete the database
     */
    public static ServedDatabase start(Class<? extends DatabaseInitializer> initializer) {
        return serve(TestDatabase.fresh(initializer), true);
    }

    static ServedDatabase serve(TestDatabase db, boolean ownsDatabase) {
        byte[] secret = new byte[18];
        RANDOM.nextBytes(secret);
        String password = HexFormat.of().formatHex(secret);
        try {
            return new ServedDatabase(
                    db,
                    ownsDatabase,
                    PgEmbedServer.tcp(db.pgEmbedded(), InetAddress.getLoopbackAddress(), 0, password),
                    password);
        } catch (IOException e) {
            if (ownsDatabase) {
                db.close();
            }
            throw new UncheckedIOException("could not serve " + db, e);
        } catch (RuntimeException e) {
            if (ownsDatabase) {
                db.close();
            }
            throw e;
        }
    }

    /** {@return the database served, for its direct API, data source and JDBC URL} */
    public TestDatabase database() {
        return database;
    }

    /** {@return the listener's address, a loopback one} */
    public String getHost() {
        return InetAddress.getLoopbackAddress().getHostAddress();
    }

    /** {@return the TCP port} */
    public int getPort() {
        return server.port();
    }

    /** {@return the database name clients connect to} */
    public String getDatabaseName() {
        return "postgres";
    }

    /** {@return the user name (every client is the database's superuser)} */
    public String getUsername() {
        return "postgres";
    }

    /** {@return the password} */
    public String getPassword() {
        return password;
    }

    /** {@return a pgjdbc URL: {@code jdbc:postgresql://host:port/postgres}} */
    public String getJdbcUrl() {
        return "jdbc:postgresql://" + hostForUrl() + ":" + getPort() + "/" + getDatabaseName();
    }

    /** {@return a libpq connection URI with the credentials, for psql and other libpq clients} */
    public String getUri() {
        return "postgresql://" + getUsername() + ":" + password + "@" + hostForUrl() + ":" + getPort() + "/"
                + getDatabaseName();
    }

    private String hostForUrl() {
        String h = getHost();
        return h.contains(":") ? "[" + h + "]" : h;
    }

    /** Stops the listener (its clients are disconnected); a database {@link #start()} made is closed too. */
    @Override
    public void close() {
        server.close();
        if (ownsDatabase) {
            database.close();
        }
    }

    @Override
    public String toString() {
        return "ServedDatabase[" + getHost() + ":" + getPort() + " -> " + database + "]";
    }
}
