package dev.pgembed.spring;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.internal.TemporaryDirectories;
import dev.pgembed.jdbc.PgEmbedServer;
import dev.pgembed.jdbc.PgEmbedUrl;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.DisposableBean;

/**
 * The database the starter opened for an application context, and what it serves: the {@link PgEmbedded}, the
 * JDBC URL the connection pool uses, the serve-mode listeners. Closed when the context closes, after the beans
 * that use it (the pool first, then the listeners, then the database; an in-memory database's directory last).
 */
public final class PgEmbedDatabase implements DisposableBean {
    private static final System.Logger LOG = System.getLogger(PgEmbedDatabase.class.getName());
    /**
     * Set by {@code @FreshPgEmbedDatabase} to the test class's name: a fresh in-memory database, whatever the URL and
     * directory say.
     */
    public static final String FRESH_FOR_TEST_PROPERTY = "spring.pgembed.test.fresh-database-for";

    private final PgEmbedded db;
    private final String jdbcUrl;
    private final Path temporaryDirectory;
    private final List<PgEmbedServer> servers = new ArrayList<>();

    private PgEmbedDatabase(PgEmbedded db, String jdbcUrl, Path temporaryDirectory) {
        this.db = db;
        this.jdbcUrl = jdbcUrl;
        this.temporaryDirectory = temporaryDirectory;
    }

    /**
     * Opens the database a URL and the {@code spring.pgembed.*} properties name.
     *
     * @param url        the {@code spring.datasource.url}, a {@code jdbc:pgembed:} one, or null
     * @param properties the properties
     * @param freshFor   the test class of {@code @FreshPgEmbedDatabase}, or null
     * @return the open database, its listeners started
     * @throws IllegalStateException when the URL and the properties contradict each other
     */
    static PgEmbedDatabase open(@Nullable String url, PgEmbedProperties properties, @Nullable String freshFor) {
        PgEmbedUrl parsed = url == null || freshFor != null ? null : PgEmbedUrl.parse(url);
        Path dir = freshFor != null ? null : directory(parsed, properties);
        Path temp = null;
        PgEmbedded.Builder builder;
        if (dir == null) {
            // a directory of our own rather than PgEmbedded.inMemory(): the pool's connections reach it by its path;
            // where the API puts in-memory databases (/dev/shm only when it has room, see TemporaryDirectories)
            temp = TemporaryDirectories.create("pgembed-spring-");
            builder = PgEmbedded.builder(temp).durability(Durability.NONE);
        } else {
            builder = PgEmbedded.builder(dir);
        }
        if (parsed != null) {
            parsed.applyTo(builder);
        }
        apply(properties, builder);
        PgEmbedded db;
        try {
            db = builder.open();
        } catch (RuntimeException e) {
            if (temp != null) {
                TemporaryDirectories.deleteRecursively(temp);
            }
            throw e;
        }
        Properties connection = parsed == null ? new Properties() : parsed.connectionProperties();
        PgEmbedDatabase d = new PgEmbedDatabase(db, PgEmbedUrl.forDirectory(db.directory(), connection), temp);
        try {
            d.serve(properties.getServe());
        } catch (IOException | RuntimeException e) {
            d.destroy();
            throw e instanceof IOException io
                    ? new UncheckedIOException("serve mode could not start", io)
                    : (RuntimeException) e;
        }
        LOG.log(
                System.Logger.Level.INFO,
                "pgembed: " + (temp != null ? "in-memory database" : "database in " + dir)
                        + (freshFor != null ? " for " + freshFor : "") + " open" + d.describeServers());
        return d;
    }

    private static Path directory(PgEmbedUrl url, PgEmbedProperties properties) {
        Path configured = properties.getDirectory() == null
                ? null
                : properties.getDirectory().toAbsolutePath().normalize();
        boolean inMemory = Boolean.TRUE.equals(properties.getInMemory());
        if (url != null) {
            Optional<Path> fromUrl = url.directory();
            if (url.isInMemory() && configured != null) {
                throw new IllegalStateException("spring.datasource.url " + url + " names an in-memory database and "
                        + "spring.pgembed.directory names " + configured + ": set one of them");
            }
            if (fromUrl.isPresent() && configured != null && !fromUrl.get().equals(configured)) {
                throw new IllegalStateException("spring.datasource.url names " + fromUrl.get()
                        + " and spring.pgembed.directory names " + configured + ": set one of them");
            }
            if (fromUrl.isPresent() && inMemory) {
                throw new IllegalStateException("spring.datasource.url names the directory " + fromUrl.get()
                        + " and spring.pgembed.in-memory is true: set one of them");
            }
            return fromUrl.orElse(null);
        }
        if (configured != null && inMemory) {
            throw new IllegalStateException("spring.pgembed.directory (" + configured
                    + ") and spring.pgembed.in-memory=true contradict each other: set one of them");
        }
        return configured;
    }

    private static void apply(PgEmbedProperties p, PgEmbedded.Builder b) {
        if (p.getDurability() != null) {
            b.durability(p.getDurability());
        }
        if (p.getTimeZone() != null) {
            b.timeZone(p.getTimeZone());
        }
        if (p.getTransactionWaitTimeout() != null) {
            b.transactionWaitTimeout(p.getTransactionWaitTimeout());
        }
        if (p.getSessionRole() != null) {
            b.sessionRole(p.getSessionRole());
        }
        p.getSettings().forEach(b::setting);
    }

    private void serve(PgEmbedProperties.Serve serve) throws IOException {
        if (serve.getUnixSocketDirectory() != null) {
            servers.add(PgEmbedServer.unixSocket(db, serve.getUnixSocketDirectory(), serve.getUnixSocketPort()));
        }
        if (serve.getTcpPort() != null) {
            if (serve.getTcpPassword() == null || serve.getTcpPassword().isEmpty()) {
                throw new IllegalStateException("spring.pgembed.serve.tcp-port is set without "
                        + "spring.pgembed.serve.tcp-password: TCP clients always authenticate");
            }
            servers.add(PgEmbedServer.tcp(
                    db, InetAddress.getByName(serve.getTcpHost()), serve.getTcpPort(), serve.getTcpPassword()));
        }
    }

    private String describeServers() {
        StringBuilder sb = new StringBuilder();
        for (PgEmbedServer s : servers) {
            sb.append(sb.isEmpty() ? ", serving " : " and ").append(s.address());
        }
        return sb.toString();
    }

    /** {@return the open database, for the direct API ({@code query}, {@code copyIn}, {@code backup}, ...)} */
    public PgEmbedded database() {
        return db;
    }

    /** {@return the URL the data source connects with: it reaches this open instance} */
    public String jdbcUrl() {
        return jdbcUrl;
    }

    /** {@return true when the database is a throw-away one, deleted on close} */
    public boolean isInMemory() {
        return temporaryDirectory != null;
    }

    /** {@return the serve-mode listeners, in the order started (Unix socket first)} */
    public List<PgEmbedServer> servers() {
        return List.copyOf(servers);
    }

    /** Closes the listeners and the database, then deletes an in-memory database's directory. */
    @Override
    public void destroy() {
        for (PgEmbedServer s : servers) {
            s.close();
        }
        try {
            db.close();
        } finally {
            if (temporaryDirectory != null) {
                TemporaryDirectories.deleteRecursively(temporaryDirectory);
            }
        }
    }

    @Override
    public String toString() {
        return "PgEmbedDatabase[" + db.directory() + (isInMemory() ? ", in memory" : "") + "]";
    }
}
