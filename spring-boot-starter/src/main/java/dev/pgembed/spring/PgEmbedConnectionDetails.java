package dev.pgembed.spring;

import dev.pgembed.jdbc.PgEmbedDriver;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;

/**
 * The connection details of the starter's open database: its {@code jdbc:pgembed:} URL and pgembed's driver. There
 * is no user name or password: the database belongs to the process.
 */
public final class PgEmbedConnectionDetails implements JdbcConnectionDetails {
    private final String url;

    PgEmbedConnectionDetails(String url) {
        this.url = url;
    }

    @Override
    public @Nullable String getUsername() {
        return null;
    }

    @Override
    public @Nullable String getPassword() {
        return null;
    }

    @Override
    public String getJdbcUrl() {
        return url;
    }

    @Override
    public String getDriverClassName() {
        return PgEmbedDriver.class.getName();
    }

    /** pgembed has no XA data source. */
    @Override
    public @Nullable String getXaDataSourceClassName() {
        return null;
    }
}
