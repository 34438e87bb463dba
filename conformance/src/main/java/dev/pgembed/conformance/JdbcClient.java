package dev.pgembed.conformance;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.TimeZone;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * One side of the JDBC mode: a pgjdbc connection (to {@code jdbc:pgembed:} or to the stock server) and what
 * a statement gives through it. pgjdbc reports no command tag, so an outcome carries the update count in its
 * place ({@code "count n"}); rows are read with {@code getString}, COPY goes through pgjdbc's CopyManager.
 *
 * <p>Both sides use the same pgjdbc properties: {@code prepareThreshold=0} and {@code binaryTransfer=false}
 * keep every value in PostgreSQL's text form (pgjdbc's getString of a binary float is Java's notation) and
 * keep pgjdbc's own named statements out of pg_prepared_statements.
 */
final class JdbcClient implements AutoCloseable {
    private final String url;
    private final Properties props;
    private final String timeZone;
    private Connection conn;

    JdbcClient(String url, Properties props, String timeZone) throws SQLException {
        this.url = url;
        this.props = props;
        this.timeZone = timeZone;
        connect();
    }

    /** The properties both sides share: text results, no server-side statements, pg_regress's session. */
    static Properties properties(String intervalStyle) {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("prepareThreshold", "0");
        p.setProperty("binaryTransfer", "false");
        p.setProperty("ApplicationName", "pg_regress");
        p.setProperty("options", "-c IntervalStyle=" + intervalStyle);
        return p;
    }

    void connect() throws SQLException {
        close();
        // pgjdbc sends the JVM's default time zone as the session's TimeZone start-up parameter
        TimeZone before = TimeZone.getDefault();
        synchronized (JdbcClient.class) {
            try {
                TimeZone.setDefault(TimeZone.getTimeZone(timeZone));
                conn = DriverManager.getConnection(url, props);
            } finally {
                TimeZone.setDefault(before);
            }
        }
        conn.setAutoCommit(true);
    }

    boolean isClosed() {
        try {
            return conn == null || conn.isClosed();
        } catch (SQLException e) {
            return true;
        }
    }

    /**
     * Runs one statement (or a psql {@code \;} group: the last result counts, like psql shows it).
     *
     * @param copyIn  the data of COPY FROM STDIN, or null
     * @param copyOut true for COPY TO STDOUT
     * @param params  psql {@code \bind} parameters (text, of unspecified type), or null
     */
    Outcome run(String sql, byte[] copyIn, boolean copyOut, List<String> params, int timeoutSeconds) {
        try {
            if (copyIn != null) {
                long n = copy().copyIn(sql, new ByteArrayInputStream(copyIn));
                return Outcome.ok("count " + n, null, null);
            }
            if (copyOut) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                long n = copy().copyOut(sql, b);
                return Outcome.copy("count " + n, b.toString(StandardCharsets.UTF_8));
            }
            if (params != null) {
                try (PreparedStatement ps = conn.prepareStatement(sql)) {
                    ps.setQueryTimeout(timeoutSeconds);
                    for (int i = 0; i < params.size(); i++) {
                        ps.setObject(i + 1, params.get(i), Types.OTHER);
                    }
                    return results(ps, ps.execute());
                }
            }
            try (Statement st = conn.createStatement()) {
                st.setQueryTimeout(timeoutSeconds);
                return results(st, st.execute(sql));
            }
        } catch (SQLException e) {
            return Outcome.error(e.getSQLState() == null ? "JDBC" : e.getSQLState(), e.getMessage());
        } catch (RuntimeException | java.io.IOException e) {
            return Outcome.error("JAVA", e.toString());
        }
    }

    private CopyManager copy() throws SQLException {
        return conn.unwrap(PGConnection.class).getCopyAPI();
    }

    private static Outcome results(Statement st, boolean isResultSet) throws SQLException {
        Outcome last = null;
        while (true) {
            if (isResultSet) {
                try (ResultSet rs = st.getResultSet()) {
                    last = rows(rs);
                }
            } else {
                int n = st.getUpdateCount();
                if (n == -1) {
                    break;
                }
                last = Outcome.ok("count " + n, null, null);
            }
            isResultSet = st.getMoreResults();
        }
        return last != null ? last : Outcome.ok("", null, null);
    }

    private static Outcome rows(ResultSet rs) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        int n = md.getColumnCount();
        List<String> names = new ArrayList<>(n);
        for (int c = 1; c <= n; c++) {
            names.add(md.getColumnLabel(c));
        }
        List<List<String>> rows = new ArrayList<>();
        while (rs.next()) {
            List<String> r = new ArrayList<>(n);
            for (int c = 1; c <= n; c++) {
                r.add(rs.getString(c));
            }
            rows.add(r);
        }
        return Outcome.ok("count " + rows.size(), names, rows);
    }

    @Override
    public void close() {
        if (conn != null) {
            try {
                conn.close();
            } catch (SQLException ignored) {
                // a connection that already ended
            }
            conn = null;
        }
    }
}
