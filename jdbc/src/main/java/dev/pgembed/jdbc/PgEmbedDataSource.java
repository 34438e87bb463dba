package dev.pgembed.jdbc;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * A {@link DataSource} for {@code jdbc:pgembed:} URLs (see {@link PgEmbedDriver}). Every
 * {@link #getConnection()} opens a new connection; pool them (HikariCP, ...) as usual.
 */
public class PgEmbedDataSource implements DataSource {
    private static final PgEmbedDriver DRIVER = new PgEmbedDriver();
    private volatile @Nullable String url;
    private final Properties properties = new Properties();
    private volatile @Nullable PrintWriter logWriter;
    private volatile int loginTimeout;

    /** A data source without a URL yet: set one with {@link #setUrl(String)} before the first connection. */
    public PgEmbedDataSource() {}

    /**
     * A data source for a URL.
     *
     * @param url a {@code jdbc:pgembed:} URL
     */
    public PgEmbedDataSource(String url) {
        setUrl(url);
    }

    /** {@return the {@code jdbc:pgembed:} URL, or null before one is set} */
    public @Nullable String getUrl() {
        return url;
    }

    /**
     * Sets the URL the connections are made to.
     *
     * @param url a {@code jdbc:pgembed:} URL
     */
    public void setUrl(@Nullable String url) {
        if (url != null && !DRIVER.acceptsURL(url)) {
            throw new IllegalArgumentException("not a jdbc:pgembed: URL: " + url);
        }
        this.url = url;
    }

    /**
     * Same as {@link #setUrl(String)} (some tools look for "jdbcUrl").
     *
     * @param url a {@code jdbc:pgembed:} URL
     */
    public void setJdbcUrl(@Nullable String url) {
        setUrl(url);
    }

    /** {@return the same as {@link #getUrl()}} */
    public @Nullable String getJdbcUrl() {
        return url;
    }

    /**
     * A pgjdbc connection property for every connection (for example {@code prepareThreshold}).
     *
     * @param name  the property
     * @param value its value
     */
    public void setProperty(String name, String value) {
        synchronized (properties) {
            properties.setProperty(name, value);
        }
    }

    @Override
    public Connection getConnection() throws SQLException {
        String u = url;
        if (u == null) {
            throw new SQLException("no URL set on the PgEmbedDataSource", "08001");
        }
        Properties p;
        synchronized (properties) {
            p = (Properties) properties.clone();
        }
        return DRIVER.connect(u, p);
    }

    /** The user and password are ignored: the embedded database has no authentication. */
    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return getConnection();
    }

    @Override
    public @Nullable PrintWriter getLogWriter() {
        return logWriter;
    }

    @Override
    public void setLogWriter(PrintWriter out) {
        this.logWriter = out;
    }

    @Override
    public void setLoginTimeout(int seconds) {
        this.loginTimeout = seconds;
    }

    @Override
    public int getLoginTimeout() {
        return loginTimeout;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException();
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return iface.cast(this);
        }
        throw new SQLException("not a wrapper for " + iface);
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) {
        return iface.isInstance(this);
    }
}
