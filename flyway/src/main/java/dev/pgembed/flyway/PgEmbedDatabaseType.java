package dev.pgembed.flyway;

import dev.pgembed.jdbc.PgEmbedDriver;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.flywaydb.core.api.configuration.Configuration;
import org.flywaydb.core.internal.database.base.Database;
import org.flywaydb.core.internal.jdbc.JdbcConnectionFactory;
import org.flywaydb.core.internal.jdbc.StatementInterceptor;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;
import org.flywaydb.database.postgresql.PostgreSQLDatabaseType;

/**
 * Flyway's database type for pgembed: {@code jdbc:pgembed:} URLs, and any connection whose PostgreSQL session
 * runs inside this JVM (a pool of {@code jdbc:pgembed:} connections, serve mode from the same process).
 *
 * <p>Flyway finds it through {@link java.util.ServiceLoader} ({@code org.flywaydb.core.extensibility.Plugin}),
 * so putting {@code pgembed-flyway} on the class path is all it takes: with
 * {@code Flyway.configure().dataSource("jdbc:pgembed:/path", null, null)}, the Flyway Maven plugin (as a plugin
 * dependency) or Spring Boot. Everything else is PostgreSQL's support, unchanged.
 *
 * <p>One difference, on a database with one backend (the default): Flyway's default PostgreSQL lock holds a
 * transaction open on one connection while a second connection migrates. There the connections take turns
 * on the one backend at transaction boundaries, so the second connection would wait for the first, on the
 * same thread, and fails at once with SQLSTATE 55P03 instead. On such a database this type therefore uses
 * Flyway's session-level advisory lock on a single connection (what {@code flyway.postgresql.transactional.lock=false}
 * selects, offered by PostgreSQL's support for connection poolers); a configured {@code true} could only fail.
 * A database with several backends ({@code ?backends=n}) gives each connection a backend of its own, and
 * Flyway's lock, transactional or not, works there as on a server: its configuration is left alone.
 */
public class PgEmbedDatabaseType extends PostgreSQLDatabaseType {
    private static final System.Logger LOG = System.getLogger(PgEmbedDatabaseType.class.getName());
    private static final long OWN_PID = ProcessHandle.current().pid();
    /*
     * the backends of a database with several run under virtual pids from 2^30 up, above any Linux pid_max
     * (at most 2^22): no server's backend has one
     */
    private static final long FIRST_VIRTUAL_PID = 1L << 30;

    /** Created by Flyway's plugin register. */
    public PgEmbedDatabaseType() {}

    /** Ahead of PostgreSQL's (0) and CockroachDB's (1) types, which accept the same connections. */
    @Override
    public int getPriority() {
        return 2;
    }

    @Override
    public boolean handlesJDBCUrl(String url) {
        return url.regionMatches(true, 0, PgEmbedDriver.PREFIX, 0, PgEmbedDriver.PREFIX.length());
    }

    @Override
    public String getDriverClass(String url, ClassLoader classLoader) {
        return PgEmbedDriver.class.getName();
    }

    /**
     * A connection is pgembed's when its backend runs in this process: pgembed's backends run on the caller's
     * threads, so {@code pg_backend_pid()} is this JVM's own process id (one backend) or a virtual pid of the
     * database's cluster (several backends), which no server's backend can be.
     * (The connection's URL does not tell: a {@code jdbc:pgembed:} connection is a pgjdbc connection, whose
     * metadata names pgjdbc's URL.)
     */
    @Override
    public boolean handlesDatabaseProductNameAndVersion(
            String databaseProductName, String databaseProductVersion, Connection connection) {
        if (!databaseProductName.startsWith("PostgreSQL")) {
            return false;
        }
        long pid = backendPid(connection);
        return pid == OWN_PID || pid >= FIRST_VIRTUAL_PID;
    }

    /* whether the connections take turns on one backend (its pid is this process's): unknown counts as yes */
    private static boolean sharesOneBackend(JdbcConnectionFactory factory) {
        try (Connection c = factory.openConnection()) {
            long pid = backendPid(c);
            return pid < FIRST_VIRTUAL_PID;
        } catch (SQLException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "could not tell how many backends the database has", e);
            return true;
        }
    }

    private static long backendPid(Connection connection) {
        try (Statement st = connection.createStatement();
                ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            return rs.next() ? rs.getLong(1) : -1;
        } catch (SQLException e) {
            LOG.log(System.Logger.Level.DEBUG, "could not ask the backend for its pid", e);
            return -1;
        }
    }

    @Override
    public Database createDatabase(
            Configuration configuration,
            JdbcConnectionFactory jdbcConnectionFactory,
            StatementInterceptor statementInterceptor) {
        PostgreSQLConfigurationExtension postgres =
                configuration.getPluginRegister().getExact(PostgreSQLConfigurationExtension.class);
        if (postgres != null && postgres.isTransactionalLock() && sharesOneBackend(jdbcConnectionFactory)) {
            // Not only when unset: Flyway 11 turns its default into an explicit true when it copies a configuration
            // (Spring Boot's, for one), so "unset" cannot be told from "true"; and true cannot work on one session.
            postgres.setTransactionalLock(false);
            LOG.log(
                    System.Logger.Level.DEBUG,
                    "pgembed: Flyway takes its session-level advisory lock on one connection");
        }
        return super.createDatabase(configuration, jdbcConnectionFactory, statementInterceptor);
    }
}
