package dev.pgembed.benchmarks;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.postgresql.PGConnection;

/**
 * SQLite (sqlite-jdbc) or a PostgreSQL server (pgjdbc) through JDBC: prepared statements, JDBC
 * batches; the bulk load is COPY through pgjdbc's CopyManager for the server, one transaction of
 * batched prepared INSERTs for SQLite.
 */
final class JdbcEngine implements Engine {
    private final Connection conn;
    private final boolean postgres;
    private final Statement plain;

    JdbcEngine(Connection conn, boolean postgres) throws SQLException {
        this.conn = conn;
        this.postgres = postgres;
        this.plain = conn.createStatement();
    }

    Connection connection() {
        return conn;
    }

    @Override
    public void exec(String sql) throws SQLException {
        if (plain.execute(sql)) {
            try (ResultSet rs = plain.getResultSet()) {
                drain(rs);
            }
        }
    }

    private static int drain(ResultSet rs) throws SQLException {
        int cols = rs.getMetaData().getColumnCount();
        int n = 0;
        while (rs.next()) {
            for (int c = 1; c <= cols; c++) {
                rs.getString(c);
            }
            n++;
        }
        return n;
    }

    @Override
    public Stmt prepare(String sql) throws SQLException {
        PreparedStatement ps = conn.prepareStatement(sql);
        return new Stmt() {
            private void bind(Object[] params) throws SQLException {
                for (int i = 0; i < params.length; i++) {
                    ps.setObject(i + 1, params[i]);
                }
            }

            @Override
            public void execute(Object... params) throws SQLException {
                bind(params);
                ps.executeUpdate();
            }

            @Override
            public int query(Object... params) throws SQLException {
                bind(params);
                try (ResultSet rs = ps.executeQuery()) {
                    return drain(rs);
                }
            }

            @Override
            public void batch(List<Object[]> sets) throws SQLException {
                int pending = 0;
                for (Object[] p : sets) {
                    bind(p);
                    ps.addBatch();
                    if (++pending == 10_000) {
                        ps.executeBatch();
                        pending = 0;
                    }
                }
                if (pending > 0) {
                    ps.executeBatch();
                }
            }

            @Override
            public void close() throws SQLException {
                ps.close();
            }
        };
    }

    @Override
    public void begin() throws SQLException {
        conn.setAutoCommit(false);
    }

    @Override
    public void commit() throws SQLException {
        conn.commit();
        conn.setAutoCommit(true);
    }

    @Override
    public void bulkLoad(int rows) throws Exception {
        if (postgres) {
            long n = conn.unwrap(PGConnection.class)
                    .getCopyAPI()
                    .copyIn("COPY " + Workloads.BULK_TABLE + " FROM STDIN", new BulkSource(rows));
            if (n != rows) {
                throw new IllegalStateException("COPY loaded " + n + " rows, expected " + rows);
            }
            return;
        }
        conn.setAutoCommit(false);
        try (PreparedStatement ps =
                conn.prepareStatement("INSERT INTO " + Workloads.BULK_TABLE + " VALUES (?, ?, ?)")) {
            for (int i = 1; i <= rows; i++) {
                ps.setInt(1, i);
                ps.setInt(2, Workloads.bulkN(i));
                ps.setString(3, Workloads.bulkText(i));
                ps.addBatch();
                if (i % 10_000 == 0) {
                    ps.executeBatch();
                }
            }
            ps.executeBatch();
        }
        conn.commit();
        conn.setAutoCommit(true);
    }

    @Override
    public String describe() throws SQLException {
        try (ResultSet rs = plain.executeQuery(postgres ? "SHOW server_version" : "SELECT sqlite_version()")) {
            rs.next();
            return (postgres ? "PostgreSQL " : "SQLite ") + rs.getString(1) + " ("
                    + conn.getMetaData().getDriverName() + " "
                    + conn.getMetaData().getDriverVersion() + ")";
        }
    }

    @Override
    public void close() throws SQLException {
        plain.close();
        conn.close();
    }
}
