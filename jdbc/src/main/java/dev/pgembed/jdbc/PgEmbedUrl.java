package dev.pgembed.jdbc;

import dev.pgembed.PgEmbedded;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * What a {@code jdbc:pgembed:} URL names, for code that opens the database itself and hands JDBC a URL of the
 * open instance (the Spring Boot starter, the test kit): the URL's open options become a
 * {@link PgEmbedded.Builder}, its pgjdbc properties stay for the connections. The grammar is
 * {@link PgEmbedDriver}'s.
 */
public final class PgEmbedUrl {
    private final String url;
    private final PgEmbedDriver.Parsed parsed;

    private PgEmbedUrl(String url, PgEmbedDriver.Parsed parsed) {
        this.url = url;
        this.parsed = parsed;
    }

    /**
     * Parses a {@code jdbc:pgembed:} URL.
     *
     * @param url the URL
     * @return what it names
     * @throws IllegalArgumentException when it is not a valid {@code jdbc:pgembed:} URL
     */
    public static PgEmbedUrl parse(String url) {
        if (url == null || !url.regionMatches(true, 0, PgEmbedDriver.PREFIX, 0, PgEmbedDriver.PREFIX.length())) {
            throw new IllegalArgumentException("not a " + PgEmbedDriver.PREFIX + " URL: " + url);
        }
        try {
            return new PgEmbedUrl(url, PgEmbedDriver.parse(url));
        } catch (SQLException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * Whether a string is a {@code jdbc:pgembed:} URL (by its prefix).
     *
     * @param url a JDBC URL, or null
     * @return true for {@code jdbc:pgembed:...}
     */
    public static boolean accepts(@Nullable String url) {
        return url != null && url.regionMatches(true, 0, PgEmbedDriver.PREFIX, 0, PgEmbedDriver.PREFIX.length());
    }

    /** {@return true for {@code jdbc:pgembed:memory:[name]}} */
    public boolean isInMemory() {
        return parsed.memory;
    }

    /** {@return the absolute, normalised directory of a directory URL; empty for an in-memory one} */
    public Optional<Path> directory() {
        return Optional.ofNullable(parsed.dir);
    }

    /**
     * A builder with the URL's open options (durability, time zone, transaction wait timeout, session role,
     * PostgreSQL settings) applied: {@link PgEmbedded#inMemory()} for an in-memory URL.
     *
     * @return a new builder
     */
    public PgEmbedded.Builder builder() {
        return parsed.builder();
    }

    /**
     * Sets the URL's open options and settings on a builder of the caller's, for example one for a directory of
     * its own in place of an in-memory URL's temporary one.
     *
     * @param builder the builder
     * @return the same builder
     */
    public PgEmbedded.Builder applyTo(PgEmbedded.Builder builder) {
        return parsed.applyTo(builder);
    }

    /** {@return the URL's pgjdbc connection properties (a copy)} */
    public Properties connectionProperties() {
        Properties p = new Properties();
        p.putAll(parsed.pgjdbc);
        return p;
    }

    /**
     * The URL of a directory, with pgjdbc connection properties: what reaches a database the application
     * opened on that directory (connections to it use the open instance and leave it open).
     *
     * @param directory  the data directory
     * @param properties pgjdbc connection properties, possibly empty
     * @return a {@code jdbc:pgembed:} URL
     */
    public static String forDirectory(Path directory, Properties properties) {
        StringBuilder sb = new StringBuilder(PgEmbedDriver.PREFIX)
                .append(escape(directory.toAbsolutePath().normalize().toString()));
        Map<String, String> sorted = new TreeMap<>();
        for (String k : properties.stringPropertyNames()) {
            sorted.put(k, properties.getProperty(k));
        }
        char sep = '?';
        for (Map.Entry<String, String> e : sorted.entrySet()) {
            sb.append(sep).append(escape(e.getKey())).append('=').append(escape(e.getValue()));
            sep = '&';
        }
        return sb.toString();
    }

    /* percent-encodes what the parser would read as syntax or decode */
    private static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c <= 0x20 || c >= 0x7f || "%?&=+#".indexOf(c) >= 0) {
                sb.append('%')
                        .append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            } else {
                sb.append((char) c);
            }
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return url;
    }
}
