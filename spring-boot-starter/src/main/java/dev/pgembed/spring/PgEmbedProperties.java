package dev.pgembed.spring;

import dev.pgembed.Durability;

import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.Map;

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
    private Path directory;

    /**
     * Whether the database is a throw-away one in a temporary directory (under /dev/shm when possible), deleted
     * when the application context closes. The default when neither a directory nor a URL is set.
     */
    private Boolean inMemory;

    /** Durability: DURABLE (every commit flushed), RELAXED (WAL flushed in the background) or NONE. */
    private Durability durability;

    /** PostgreSQL settings applied when the database opens, for example work_mem=64MB. */
    private final Map<String, String> settings = new LinkedHashMap<>();

    /** Session time zone; the JVM's default zone when not set. */
    private ZoneId timeZone;

    /** How long a connection waits for another connection's transaction to end before failing with 55P03. */
    private Duration transactionWaitTimeout;

    /** Role the session runs as instead of the superuser (for untrusted SQL). */
    private String sessionRole;

    /** Serve mode: psql, pg_dump and other clients attach to the running database. */
    private final Serve serve = new Serve();

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public Path getDirectory() {
        return directory;
    }

    public void setDirectory(Path directory) {
        this.directory = directory;
    }

    public Boolean getInMemory() {
        return inMemory;
    }

    public void setInMemory(Boolean inMemory) {
        this.inMemory = inMemory;
    }

    public Durability getDurability() {
        return durability;
    }

    public void setDurability(Durability durability) {
        this.durability = durability;
    }

    public Map<String, String> getSettings() {
        return settings;
    }

    public ZoneId getTimeZone() {
        return timeZone;
    }

    public void setTimeZone(ZoneId timeZone) {
        this.timeZone = timeZone;
    }

    public Duration getTransactionWaitTimeout() {
        return transactionWaitTimeout;
    }

    public void setTransactionWaitTimeout(Duration transactionWaitTimeout) {
        this.transactionWaitTimeout = transactionWaitTimeout;
    }

    public String getSessionRole() {
        return sessionRole;
    }

    public void setSessionRole(String sessionRole) {
        this.sessionRole = sessionRole;
    }

    public Serve getServe() {
        return serve;
    }

    /** {@code spring.pgembed.serve.*}: listeners for PostgreSQL clients; none unless configured. */
    public static class Serve {

        /**
         * Directory of a Unix-domain socket for psql -h DIR (mode 0700, no password: the directory is the access
         * control).
         */
        private Path unixSocketDirectory;

        /** Port number in the socket's name (.s.PGSQL.PORT), for psql -p. */
        private int unixSocketPort = 5432;

        /** TCP port to listen on (0: any free port); TCP is off unless set. */
        private Integer tcpPort;

        /** Address the TCP listener binds to. */
        private String tcpHost = "127.0.0.1";

        /** Password TCP clients authenticate with (SCRAM-SHA-256); required with tcp-port. */
        private String tcpPassword;

        public Path getUnixSocketDirectory() {
            return unixSocketDirectory;
        }

        public void setUnixSocketDirectory(Path unixSocketDirectory) {
            this.unixSocketDirectory = unixSocketDirectory;
        }

        public int getUnixSocketPort() {
            return unixSocketPort;
        }

        public void setUnixSocketPort(int unixSocketPort) {
            this.unixSocketPort = unixSocketPort;
        }

        public Integer getTcpPort() {
            return tcpPort;
        }

        public void setTcpPort(Integer tcpPort) {
            this.tcpPort = tcpPort;
        }

        public String getTcpHost() {
            return tcpHost;
        }

        public void setTcpHost(String tcpHost) {
            this.tcpHost = tcpHost;
        }

        public String getTcpPassword() {
            return tcpPassword;
        }

        public void setTcpPassword(String tcpPassword) {
            this.tcpPassword = tcpPassword;
        }
    }
}
