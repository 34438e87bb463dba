package dev.pgembed.spring;

import dev.pgembed.Durability;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code spring.pgembed.*}: the database the starter opens. None of them is needed: without
 * {@code spring.datasource.url} and without {@code spring.pgembed.directory} the application gets an in-memory
 * database. Options given in a {@code jdbc:pgembed:} URL apply first, these on top of them.
 */
@ConfigurationProperties("spring.pgembed")
public class PgEmbedProperties {

    /** Whether the starter opens a database and provides the data source's connection details. */
    private boolean enabled = true;

    /**
     * Data directory of the database (created when absent or empty). Used when spring.datasource.url is not set;
     * when both are set they must name the same directory.
     */
    private @Nullable Path directory;

    /**
     * Whether the database is a throw-away one in a temporary directory (under /dev/shm when it has 256 MB free,
     * else under java.io.tmpdir, or under -Dpgembed.memory.dir), deleted when the application context closes. The default when neither a directory nor a URL is set.
     */
    private @Nullable Boolean inMemory;

    /** Durability: DURABLE (every commit flushed), RELAXED (WAL flushed in the background) or NONE. */
    private @Nullable Durability durability;

    /** PostgreSQL settings applied when the database opens, for example work_mem=64MB. */
    private final Map<String, String> settings = new LinkedHashMap<>();

    /** Session time zone; the JVM's default zone when not set. */
    private @Nullable ZoneId timeZone;

    /** How long a connection waits for another connection's transaction to end before failing with 55P03. */
    private @Nullable Duration transactionWaitTimeout;

    /** Role the session runs as instead of the superuser (for untrusted SQL). */
    private @Nullable String sessionRole;

    /** Serve mode: psql, pg_dump and other clients attach to the running database. */
    private final Serve serve = new Serve();

    /** Properties with their defaults, for the binder to set. */
    public PgEmbedProperties() {}

    /** {@return the {@code spring.pgembed.enabled} property} */
    public boolean isEnabled() {
        return enabled;
    }

    /**
     * Sets {@code spring.pgembed.enabled}.
     *
     * @param enabled the new value
     */
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    /** {@return the {@code spring.pgembed.directory} property} */
    public @Nullable Path getDirectory() {
        return directory;
    }

    /**
     * Sets {@code spring.pgembed.directory}.
     *
     * @param directory the new value
     */
    public void setDirectory(@Nullable Path directory) {
        this.directory = directory;
    }

    /** {@return the {@code spring.pgembed.in-memory} property} */
    public @Nullable Boolean getInMemory() {
        return inMemory;
    }

    /**
     * Sets {@code spring.pgembed.in-memory}.
     *
     * @param inMemory the new value
     */
    public void setInMemory(@Nullable Boolean inMemory) {
        this.inMemory = inMemory;
    }

    /** {@return the {@code spring.pgembed.durability} property} */
    public @Nullable Durability getDurability() {
        return durability;
    }

    /**
     * Sets {@code spring.pgembed.durability}.
     *
     * @param durability the new value
     */
    public void setDurability(@Nullable Durability durability) {
        this.durability = durability;
    }

    /** {@return the {@code spring.pgembed.settings} map (the binder adds to it)} */
    public Map<String, String> getSettings() {
        return settings;
    }

    /** {@return the {@code spring.pgembed.time-zone} property} */
    public @Nullable ZoneId getTimeZone() {
        return timeZone;
    }

    /**
     * Sets {@code spring.pgembed.time-zone}.
     *
     * @param timeZone the new value
     */
    public void setTimeZone(@Nullable ZoneId timeZone) {
        this.timeZone = timeZone;
    }

    /** {@return the {@code spring.pgembed.transaction-wait-timeout} property} */
    public @Nullable Duration getTransactionWaitTimeout() {
        return transactionWaitTimeout;
    }

    /**
     * Sets {@code spring.pgembed.transaction-wait-timeout}.
     *
     * @param transactionWaitTimeout the new value
     */
    public void setTransactionWaitTimeout(@Nullable Duration transactionWaitTimeout) {
        this.transactionWaitTimeout = transactionWaitTimeout;
    }

    /** {@return the {@code spring.pgembed.session-role} property} */
    public @Nullable String getSessionRole() {
        return sessionRole;
    }

    /**
     * Sets {@code spring.pgembed.session-role}.
     *
     * @param sessionRole the new value
     */
    public void setSessionRole(@Nullable String sessionRole) {
        this.sessionRole = sessionRole;
    }

    /** {@return the {@code spring.pgembed.serve} properties} */
    public Serve getServe() {
        return serve;
    }

    /** {@code spring.pgembed.serve.*}: listeners for PostgreSQL clients; none unless configured. */
    public static class Serve {

        /**
         * Directory of a Unix-domain socket for psql -h DIR (mode 0700, no password: the directory is the access
         * control).
         */
        private @Nullable Path unixSocketDirectory;

        /** Port number in the socket's name (.s.PGSQL.PORT), for psql -p. */
        private int unixSocketPort = 5432;

        /** TCP port to listen on (0: any free port); TCP is off unless set. */
        private @Nullable Integer tcpPort;

        /** Address the TCP listener binds to. */
        private String tcpHost = "127.0.0.1";

        /** Password TCP clients authenticate with (SCRAM-SHA-256); required with tcp-port. */
        private @Nullable String tcpPassword;

        /** Serve properties with their defaults, for the binder to set. */
        public Serve() {}

        /** {@return the {@code spring.pgembed.serve.unix-socket-directory} property} */
        public @Nullable Path getUnixSocketDirectory() {
            return unixSocketDirectory;
        }

        /**
         * Sets {@code spring.pgembed.serve.unix-socket-directory}.
         *
         * @param unixSocketDirectory the new value
         */
        public void setUnixSocketDirectory(@Nullable Path unixSocketDirectory) {
            this.unixSocketDirectory = unixSocketDirectory;
        }

        /** {@return the {@code spring.pgembed.serve.unix-socket-port} property} */
        public int getUnixSocketPort() {
            return unixSocketPort;
        }

        /**
         * Sets {@code spring.pgembed.serve.unix-socket-port}.
         *
         * @param unixSocketPort the new value
         */
        public void setUnixSocketPort(int unixSocketPort) {
            this.unixSocketPort = unixSocketPort;
        }

        /** {@return the {@code spring.pgembed.serve.tcp-port} property} */
        public @Nullable Integer getTcpPort() {
            return tcpPort;
        }

        /**
         * Sets {@code spring.pgembed.serve.tcp-port}.
         *
         * @param tcpPort the new value
         */
        public void setTcpPort(@Nullable Integer tcpPort) {
            this.tcpPort = tcpPort;
        }

        /** {@return the {@code spring.pgembed.serve.tcp-host} property} */
        public String getTcpHost() {
            return tcpHost;
        }

        /**
         * Sets {@code spring.pgembed.serve.tcp-host}.
         *
         * @param tcpHost the new value
         */
        public void setTcpHost(String tcpHost) {
            this.tcpHost = tcpHost;
        }

        /** {@return the {@code spring.pgembed.serve.tcp-password} property} */
        public @Nullable String getTcpPassword() {
            return tcpPassword;
        }

        /**
         * Sets {@code spring.pgembed.serve.tcp-password}.
         *
         * @param tcpPassword the new value
         */
        public void setTcpPassword(@Nullable String tcpPassword) {
            this.tcpPassword = tcpPassword;
        }
    }
}
