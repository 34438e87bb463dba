package dev.pgembed.junit;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.internal.TemporaryDirectories;
import dev.pgembed.jdbc.PgEmbedDataSource;
import dev.pgembed.jdbc.PgEmbedUrl;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.sql.DataSource;

/**
 * A throw-away database for a test, with every view a test may want of it: the {@link PgEmbedded} (direct API), a
 * {@code jdbc:pgembed:} URL and a {@link DataSource} that reach the same open instance, JDBC connections, and a TCP
 * listener for tools and non-JVM clients ({@link #serve()}). Its directory is under /dev/shm where possible and is
 * deleted on {@link #close()}, which also closes the connections and listeners it handed out.
 *
 * <p>{@link PgEmbeddedExtension} injects one wherever a test asks ({@code @FreshDatabase TestDatabase db}); code
 * without the extension calls {@link #fresh()}. Databases with a {@link DatabaseInitializer} are copies of a
 * template prepared once per JVM. At most a few test databases are open at once (see {@code pgembed.junit.maxOpen});
 * more wait for a free engine, so parallel test execution is safe.
 */
public final class TestDatabase implements AutoCloseable {
    private final PgEmbedded db;
    private final Path directory;
    private final String url;
    private final PgEmbedDataSource dataSource;
    private final boolean keepDirectory;
    private final Deque<AutoCloseable> handedOut = new ArrayDeque<>();
    private boolean closed;

    private TestDatabase(PgEmbedded db, Path directory, boolean keepDirectory) {
        this.db = db;
        this.directory = directory;
        this.keepDirectory = keepDirectory;
        this.url = PgEmbedUrl.forDirectory(directory, new Properties());
        this.dataSource = new PgEmbedDataSource(url);
    }

    /**
     * A fresh, empty database ({@link Durability#NONE}).
     *
     * @return the open database
     */
    public static TestDatabase fresh() {
        return open(Options.DEFAULT);
    }

    /**
     * A fresh copy of the template the initializer prepares (prepared at the first call, in this JVM).
     *
     * @param initializer for example {@code FlywayMigrations.class}
     * @return the open database
     */
    public static TestDatabase fresh(Class<? extends DatabaseInitializer> initializer) {
        return open(new Options(initializer, Durability.NONE, List.of()));
    }

    /** Opens a database as the options say: a copy of a template, or a new cluster. */
    static TestDatabase open(Options options) {
        Path template = options.hasInitializer() ? Templates.prepared(options) : null;
        EngineSlots.acquire();
        Path dir = Directories.newTemporary("pgembed-test-");
        try {
            if (template != null) {
                Directories.copyCluster(template, dir);
            }
            return new TestDatabase(EngineSlots.open(options.builder(dir)), dir, false);
        } catch (RuntimeException | Error e) {
            TemporaryDirectories.deleteRecursively(dir);
            EngineSlots.release();
            throw e;
        }
    }

    /**
     * Opens a template database in dir: the caller acquired an engine slot, which close releases; close keeps the
     * directory.
     */
    static TestDatabase openTemplate(Options options, Path dir) {
        return new TestDatabase(EngineSlots.open(options.builder(dir)), dir, true);
    }

    /** {@return the open database, for the direct API} */
    public PgEmbedded pgEmbedded() {
        return db;
    }

    /** {@return a {@code jdbc:pgembed:} URL of this open instance; connections made with it do not close it} */
    public String jdbcUrl() {
        return url;
    }

    /** {@return a data source of this database ({@link PgEmbedDataSource}: a new connection per call, unpooled)} */
    public DataSource dataSource() {
        return dataSource;
    }

    /** {@return the database's directory (deleted on close)} */
    public Path directory() {
        return directory;
    }

    /**
     * A new JDBC connection, closed with the database.
     *
     * @return the connection
     * @throws SQLException when it cannot connect
     */
    public synchronized Connection connection() throws SQLException {
        Connection c = dataSource.getConnection();
        handedOut.push(c);
        return c;
    }

    /**
     * Serves the database over TCP on the loopback address, with a random password: what tools and non-JVM
     * clients connect to ({@code psql}, a Python script, ...). Closed with the database.
     *
     * @return the host, port, user, password and URLs to connect with
     */
    public synchronized ServedDatabase serve() {
        ServedDatabase s = ServedDatabase.serve(this, false);
        handedOut.push(s);
        return s;
    }

    /** Closes the connections and listeners handed out, then the database, and deletes its directory. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            while (!handedOut.isEmpty()) {
                try {
                    handedOut.pop().close();
                } catch (Exception e) {
                    System.getLogger(TestDatabase.class.getName())
                            .log(System.Logger.Level.WARNING, "closing a connection of " + this + " failed", e);
                }
            }
            db.close();
        } finally {
            if (!keepDirectory) {
                TemporaryDirectories.deleteRecursively(directory);
            }
            EngineSlots.release();
        }
    }

    @Override
    public String toString() {
        return "TestDatabase[" + directory + "]";
    }

    /** What a test database is opened with; equal options share a template. */
    record Options(Class<? extends DatabaseInitializer> initializer, Durability durability, List<String> settings) {
        static final Options DEFAULT = new Options(DatabaseInitializer.None.class, Durability.NONE, List.of());

        Options {
            settings = List.copyOf(settings);
        }

        static Options of(FreshDatabase spec) {
            return spec == null
                    ? DEFAULT
                    : new Options(spec.initializer(), spec.durability(), List.of(spec.settings()));
        }

        boolean hasInitializer() {
            return initializer != DatabaseInitializer.None.class;
        }

        PgEmbedded.Builder builder(Path dir) {
            PgEmbedded.Builder b = PgEmbedded.builder(dir).durability(durability);
            for (Map.Entry<String, String> s : parsedSettings().entrySet()) {
                b.setting(s.getKey(), s.getValue());
            }
            return b;
        }

        Map<String, String> parsedSettings() {
            Map<String, String> m = new java.util.LinkedHashMap<>();
            for (String setting : settings) {
                int eq = setting.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("setting \"" + setting + "\" is not of the form name=value");
                }
                m.put(setting.substring(0, eq).trim(), setting.substring(eq + 1).trim());
            }
            return m;
        }
    }
}
