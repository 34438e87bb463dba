package dev.pgembed.benchmarks;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PreparedStatement;
import dev.pgembed.Result;
import dev.pgembed.Row;
import dev.pgembed.Transaction;
import java.util.List;

/** pgembed through its Java API: server-side prepared statements, native batches, COPY. */
final class PgEmbedEngine implements Engine {
    private final PgEmbedded db;
    private Transaction tx;

    PgEmbedEngine(PgEmbedded db) {
        this.db = db;
    }

    /** {@code ?} placeholders to PostgreSQL's {@code $n} (the workloads have no {@code ?} in literals). */
    static String dollar(String sql) {
        StringBuilder b = new StringBuilder(sql.length() + 8);
        int n = 0;
        for (int i = 0; i < sql.length(); i++) {
            char c = sql.charAt(i);
            if (c == '?') {
                b.append('$').append(++n);
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    @Override
    public void exec(String sql) {
        db.execute(sql);
    }

    @Override
    public int queryText(String sql) {
        try (Result r = db.query(sql)) {
            return readAll(r);
        }
    }

    private static int readAll(Result r) {
        int cols = r.columnCount();
        int n = r.rowCount();
        for (int i = 0; i < n; i++) {
            Row row = r.row(i);
            for (int c = 0; c < cols; c++) {
                row.getString(c);
            }
        }
        return n;
    }

    @Override
    public Stmt prepare(String sql) {
        PreparedStatement ps = db.prepare(dollar(sql));
        return new Stmt() {
            @Override
            public void execute(Object... params) {
                ps.execute(params);
            }

            @Override
            public int query(Object... params) {
                try (Result r = ps.query(params)) {
                    return readAll(r);
                }
            }

            @Override
            public void batch(List<Object[]> sets) {
                ps.executeBatch(sets);
            }

            @Override
            public void close() {
                ps.close();
            }
        };
    }

    @Override
    public void begin() {
        tx = db.begin();
    }

    @Override
    public void commit() {
        tx.commit();
        tx = null;
    }

    @Override
    public void bulkLoad(int rows) {
        long n = db.copyIn("COPY " + Workloads.BULK_TABLE + " FROM STDIN", new BulkSource(rows));
        if (n != rows) {
            throw new IllegalStateException("COPY loaded " + n + " rows, expected " + rows);
        }
    }

    @Override
    public String describe() {
        try (Result r = db.query("SHOW server_version")) {
            return "PostgreSQL " + r.row(0).getString(0) + " in process";
        }
    }

    @Override
    public void close() {
        db.close();
    }
}
