package dev.pgembed.benchmarks;

import java.util.List;

/**
 * What the workloads need from a database: plain statements, prepared statements ({@code ?}
 * placeholders) with parameters, batches, transactions and a bulk load. One instance is one open
 * database (one session).
 */
interface Engine extends AutoCloseable {

    /** A prepared statement. */
    interface Stmt extends AutoCloseable {
        /** Runs the statement once (autocommit unless inside {@link Engine#begin()}). */
        void execute(Object... params) throws Exception;

        /** Runs a query once and reads every column of every row; returns the rows read. */
        int query(Object... params) throws Exception;

        /** Runs the statement once per parameter set, by the engine's batch path. */
        void batch(List<Object[]> sets) throws Exception;

        @Override
        void close() throws Exception;
    }

    void exec(String sql) throws Exception;

    /**
     * Runs a query given as SQL text and reads every column of every row; returns the rows read. By
     * default {@link #exec}, for engines whose {@code exec} reads what a query returns.
     */
    default int queryText(String sql) throws Exception {
        exec(sql);
        return -1;
    }

    Stmt prepare(String sql) throws Exception;

    void begin() throws Exception;

    void commit() throws Exception;

    /**
     * Loads {@code rows} rows of {@link Workloads#bulkN}/{@link Workloads#bulkText} into the (existing)
     * table {@link Workloads#BULK_TABLE} by the engine's fastest path.
     */
    void bulkLoad(int rows) throws Exception;

    /** Runs a workload and returns its wall time in milliseconds. */
    default double run(Workloads.Workload w) throws Exception {
        long t0 = System.nanoTime();
        if (w.inTransaction()) {
            begin();
        }
        for (Workloads.Step s : w.steps()) {
            if (s.params() == null) {
                if (s.query()) {
                    queryText(s.sql());
                } else {
                    exec(s.sql());
                }
                continue;
            }
            try (Stmt st = prepare(s.sql())) {
                if (s.query()) {
                    for (Object[] p : s.params()) {
                        st.query(p);
                    }
                } else if (w.inTransaction()) {
                    st.batch(s.params());
                } else {
                    for (Object[] p : s.params()) {
                        st.execute(p);
                    }
                }
            }
        }
        if (w.inTransaction()) {
            commit();
        }
        return (System.nanoTime() - t0) / 1e6;
    }

    /** Latency of one query, measured by a manual loop: [mean, p50, p99] in microseconds. */
    default double[] latency(String sql, int warmup, int samples) throws Exception {
        try (Stmt st = prepare(sql)) {
            for (int i = 0; i < warmup; i++) {
                st.query();
            }
            long[] ns = new long[samples];
            for (int i = 0; i < samples; i++) {
                long t0 = System.nanoTime();
                st.query();
                ns[i] = System.nanoTime() - t0;
            }
            return Stats.meanP50P99(ns);
        }
    }

    /** The engine and its version, for the report. */
    String describe() throws Exception;

    @Override
    void close() throws Exception;
}
