package dev.pgembed.benchmarks;

import java.util.ArrayList;
import java.util.List;

/**
 * The workloads, as data: the same statements and the same parameter values for every engine. Random
 * numbers come from a 32-bit LCG that {@code pglite/bridge.mjs} does not need to repeat (the parameters
 * travel to it), and numbers are spelled out in words as in SQLite's speedtest.tcl.
 */
final class Workloads {
    private Workloads() {}

    /** One statement: run once ({@code params == null}) or once per parameter set. */
    record Step(String sql, List<Object[]> params, boolean query) {
        static Step exec(String sql) {
            return new Step(sql, null, false);
        }

        static Step each(String sql, List<Object[]> params) {
            return new Step(sql, params, false);
        }

        static Step select(String sql, List<Object[]> params) {
            return new Step(sql, params, true);
        }
    }

    /**
     * A timed unit of work. When {@code inTransaction}, everything runs in one transaction and
     * non-query steps with parameters use the engine's batch path; otherwise every statement is its own
     * (autocommit) transaction.
     */
    record Workload(String id, String section, String label, boolean inTransaction, List<Step> steps) {
        int statements() {
            int n = 0;
            for (Step s : steps) {
                n += s.params() == null ? 1 : s.params().size();
            }
            return n;
        }
    }

    /** Deterministic pseudo-random numbers (Numerical Recipes LCG). */
    static final class Lcg {
        private int x;

        Lcg(int seed) {
            x = seed;
        }

        int next(int bound) {
            x = x * 1664525 + 1013904223;
            return (x >>> 8) % bound;
        }
    }

    private static final String[] ONES = {
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen"
    };
    private static final String[] TENS = {
        "", "ten", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"
    };

    /** speedtest.tcl's number_name. */
    static String numberName(int n) {
        StringBuilder txt = new StringBuilder();
        if (n >= 1000) {
            txt.append(numberName(n / 1000)).append(" thousand");
            n %= 1000;
        }
        if (n >= 100) {
            txt.append(' ').append(ONES[n / 100]).append(" hundred");
            n %= 100;
        }
        if (n >= 20) {
            txt.append(' ').append(TENS[n / 10]);
            n %= 10;
        }
        if (n > 0) {
            txt.append(' ').append(ONES[n]);
        }
        String s = txt.toString().trim();
        return s.isEmpty() ? "zero" : s;
    }

    static final String SPEED = "Speed test (SQLite speedtest, as in PGlite's benchmark)";
    static final String LITERAL = "Speed test, literal SQL (no prepared statements)";
    static final String ROUND_TRIP = "Round trips (mean per operation)";

    /** The 16 tests of SQLite's speedtest, counts divided by {@code div}. */
    static List<Workload> speedTest(int div) {
        Lcg rnd = new Lcg(1);
        List<Workload> w = new ArrayList<>();
        int n1000 = Math.max(1, 1000 / div);
        int n25000 = Math.max(1, 25000 / div);
        int n100 = Math.max(1, 100 / div);
        int n5000 = Math.max(1, 5000 / div);
        int n12000 = Math.max(1, 12000 / div);
        String ins = "INSERT INTO %s VALUES (?, ?, ?)";

        w.add(new Workload(
                "s01",
                SPEED,
                "1: " + n1000 + " INSERTs (each its own transaction)",
                false,
                List.of(
                        Step.exec("CREATE TABLE t1(a INTEGER, b INTEGER, c VARCHAR(100))"),
                        Step.each(ins.formatted("t1"), rows(rnd, 1, n1000)))));
        w.add(new Workload(
                "s02",
                SPEED,
                "2: " + n25000 + " INSERTs in a transaction",
                true,
                List.of(
                        Step.exec("CREATE TABLE t2(a INTEGER, b INTEGER, c VARCHAR(100))"),
                        Step.each(ins.formatted("t2"), rows(rnd, 1, n25000)))));
        w.add(new Workload(
                "s03",
                SPEED,
                "3: " + n25000 + " INSERTs into an indexed table",
                true,
                List.of(
                        Step.exec("CREATE TABLE t3(a INTEGER, b INTEGER, c VARCHAR(100))"),
                        Step.exec("CREATE INDEX i3 ON t3(c)"),
                        Step.each(ins.formatted("t3"), rows(rnd, 1, n25000)))));
        List<Object[]> p4 = new ArrayList<>();
        for (int i = 0; i < n100; i++) {
            p4.add(new Object[] {i * 100, i * 100 + 1000});
        }
        w.add(new Workload(
                "s04",
                SPEED,
                "4: " + n100 + " SELECTs without an index",
                true,
                List.of(Step.select("SELECT count(*), avg(b) FROM t2 WHERE b >= ? AND b < ?", p4))));
        List<Object[]> p5 = new ArrayList<>();
        for (int i = 1; i <= n100; i++) {
            p5.add(new Object[] {"%" + numberName(i) + "%"});
        }
        w.add(new Workload(
                "s05",
                SPEED,
                "5: " + n100 + " SELECTs on a string comparison",
                true,
                List.of(Step.select("SELECT count(*), avg(b) FROM t2 WHERE c LIKE ?", p5))));
        w.add(new Workload(
                "s06",
                SPEED,
                "6: Creating an index",
                false,
                List.of(Step.exec("CREATE INDEX i2a ON t2(a)"), Step.exec("CREATE INDEX i2b ON t2(b)"))));
        List<Object[]> p7 = new ArrayList<>();
        for (int i = 0; i < n5000; i++) {
            p7.add(new Object[] {i * 100, i * 100 + 100});
        }
        w.add(new Workload(
                "s07",
                SPEED,
                "7: " + n5000 + " SELECTs with an index",
                true,
                List.of(Step.select("SELECT count(*), avg(b) FROM t2 WHERE b >= ? AND b < ?", p7))));
        List<Object[]> p8 = new ArrayList<>();
        for (int i = 0; i < n1000; i++) {
            p8.add(new Object[] {i * 10, i * 10 + 10});
        }
        w.add(new Workload(
                "s08",
                SPEED,
                "8: " + n1000 + " UPDATEs without an index",
                true,
                List.of(Step.each("UPDATE t1 SET b = b * 2 WHERE a >= ? AND a < ?", p8))));
        List<Object[]> p9 = new ArrayList<>();
        for (int i = 1; i <= n25000; i++) {
            p9.add(new Object[] {rnd.next(100000), i});
        }
        w.add(new Workload(
                "s09",
                SPEED,
                "9: " + n25000 + " UPDATEs with an index",
                true,
                List.of(Step.each("UPDATE t2 SET b = ? WHERE a = ?", p9))));
        List<Object[]> p10 = new ArrayList<>();
        for (int i = 1; i <= n25000; i++) {
            p10.add(new Object[] {numberName(rnd.next(100000)), i});
        }
        w.add(new Workload(
                "s10",
                SPEED,
                "10: " + n25000 + " text UPDATEs with an index",
                true,
                List.of(Step.each("UPDATE t2 SET c = ? WHERE a = ?", p10))));
        w.add(new Workload(
                "s11",
                SPEED,
                "11: INSERTs from a SELECT",
                true,
                List.of(
                        Step.exec("INSERT INTO t1 SELECT b, a, c FROM t2"),
                        Step.exec("INSERT INTO t2 SELECT b, a, c FROM t1"))));
        w.add(new Workload(
                "s12",
                SPEED,
                "12: DELETE without an index",
                false,
                List.of(Step.exec("DELETE FROM t2 WHERE c LIKE '%fifty%'"))));
        w.add(new Workload(
                "s13",
                SPEED,
                "13: DELETE with an index",
                false,
                List.of(Step.exec("DELETE FROM t2 WHERE a > 10 AND a < " + Math.max(11, 20000 / div)))));
        w.add(new Workload(
                "s14",
                SPEED,
                "14: A big INSERT after a big DELETE",
                false,
                List.of(Step.exec("INSERT INTO t2 SELECT * FROM t1"))));
        w.add(new Workload(
                "s15",
                SPEED,
                "15: A big DELETE followed by " + n12000 + " small INSERTs",
                true,
                List.of(Step.exec("DELETE FROM t1"), Step.each(ins.formatted("t1"), rows(rnd, 1, n12000)))));
        w.add(new Workload(
                "s16",
                SPEED,
                "16: DROP TABLE",
                false,
                List.of(Step.exec("DROP TABLE t1"), Step.exec("DROP TABLE t2"), Step.exec("DROP TABLE t3"))));
        return w;
    }

    /**
     * The same workloads as SQL text alone: every parameter set becomes its own statement with the values
     * written into it, run as plain SQL (no prepared statement, no batch).
     */
    static List<Workload> literal(List<Workload> prepared) {
        List<Workload> w = new ArrayList<>();
        for (Workload p : prepared) {
            List<Step> steps = new ArrayList<>();
            for (Step s : p.steps()) {
                if (s.params() == null) {
                    steps.add(s);
                    continue;
                }
                for (Object[] values : s.params()) {
                    steps.add(new Step(inline(s.sql(), values), null, s.query()));
                }
            }
            w.add(new Workload("l" + p.id().substring(1), LITERAL, p.label(), p.inTransaction(), steps));
        }
        return w;
    }

    /** {@code sql} with each {@code ?} replaced by the next value as a literal (no {@code ?} in the workloads' literals). */
    static String inline(String sql, Object[] values) {
        StringBuilder b = new StringBuilder(sql.length() + 32);
        int n = 0;
        for (int i = 0; i < sql.length(); i++) {
            char c = sql.charAt(i);
            if (c != '?') {
                b.append(c);
            } else if (values[n] instanceof Number num) {
                b.append(num);
                n++;
            } else {
                b.append('\'')
                        .append(String.valueOf(values[n++]).replace("'", "''"))
                        .append('\'');
            }
        }
        return b.toString();
    }

    private static List<Object[]> rows(Lcg rnd, int from, int count) {
        List<Object[]> p = new ArrayList<>(count);
        for (int i = from; i < from + count; i++) {
            int r = rnd.next(100000);
            p.add(new Object[] {i, r, numberName(r)});
        }
        return p;
    }

    /** Payload sizes of the round-trip workloads. */
    static final int[] PAYLOADS = {16, 1024, 10 * 1024};

    static String payloadLabel(int size) {
        return size < 1024 ? size + " B" : size / 1024 + " KB";
    }

    /** Insert, select, update, delete of one row by key, each statement its own transaction. */
    static List<Workload> roundTrips(int ops) {
        List<Workload> w = new ArrayList<>();
        for (int size : PAYLOADS) {
            String table = "rt" + size;
            String p = payloadLabel(size);
            List<Object[]> ins = new ArrayList<>();
            List<Object[]> sel = new ArrayList<>();
            List<Object[]> upd = new ArrayList<>();
            List<Object[]> del = new ArrayList<>();
            for (int i = 0; i < ops; i++) {
                ins.add(new Object[] {i, payload(size, i)});
                sel.add(new Object[] {i});
                upd.add(new Object[] {payload(size, i + 7), i});
                del.add(new Object[] {i});
            }
            w.add(new Workload(
                    "rt-ins-" + size,
                    ROUND_TRIP,
                    "INSERT one row, " + p + " payload",
                    false,
                    List.of(
                            Step.exec("CREATE TABLE " + table + "(id INTEGER PRIMARY KEY, payload TEXT)"),
                            Step.each("INSERT INTO " + table + " VALUES (?, ?)", ins))));
            w.add(new Workload(
                    "rt-sel-" + size,
                    ROUND_TRIP,
                    "SELECT one row, " + p + " payload",
                    false,
                    List.of(Step.select("SELECT id, payload FROM " + table + " WHERE id = ?", sel))));
            w.add(new Workload(
                    "rt-upd-" + size,
                    ROUND_TRIP,
                    "UPDATE one row, " + p + " payload",
                    false,
                    List.of(Step.each("UPDATE " + table + " SET payload = ? WHERE id = ?", upd))));
            w.add(new Workload(
                    "rt-del-" + size,
                    ROUND_TRIP,
                    "DELETE one row, " + p + " payload",
                    false,
                    List.of(
                            Step.each("DELETE FROM " + table + " WHERE id = ?", del),
                            Step.exec("DROP TABLE " + table))));
        }
        return w;
    }

    /** A printable payload of {@code size} bytes (ASCII), different per key. */
    static String payload(int size, int key) {
        StringBuilder b = new StringBuilder(size);
        Lcg r = new Lcg(key);
        while (b.length() < size) {
            b.append((char) ('a' + r.next(26)));
        }
        return b.toString();
    }

    /** The warm-up every engine gets before it is measured: a small mix of everything. */
    static List<Workload> warmUp(int div) {
        int n = Math.max(10, 2000 / div);
        Lcg rnd = new Lcg(42);
        List<Object[]> rows = rows(rnd, 1, n);
        List<Object[]> keys = new ArrayList<>();
        List<Object[]> upd = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            keys.add(new Object[] {i});
            upd.add(new Object[] {i * 3, i});
        }
        return List.of(
                new Workload(
                        "w1",
                        "warm-up",
                        "warm-up insert",
                        true,
                        List.of(
                                Step.exec("CREATE TABLE warm(a INTEGER PRIMARY KEY, b INTEGER, c VARCHAR(100))"),
                                Step.each("INSERT INTO warm VALUES (?, ?, ?)", rows))),
                new Workload(
                        "w2",
                        "warm-up",
                        "warm-up autocommit",
                        false,
                        List.of(
                                Step.select("SELECT a, b, c FROM warm WHERE a = ?", keys),
                                Step.each(
                                        "UPDATE warm SET b = ? WHERE a = ?", upd.subList(0, Math.min(upd.size(), 200))),
                                Step.exec("SELECT 1"),
                                Step.exec("SELECT count(*), avg(b) FROM warm WHERE c LIKE '%seven%'"),
                                Step.exec("DROP TABLE warm"))));
    }

    /** Table and columns of the bulk load. */
    static final String BULK_TABLE = "bulk";

    static final String BULK_DDL = "CREATE TABLE bulk(id INTEGER, n INTEGER, t VARCHAR(100))";

    /** Row {@code i} of the bulk load: id, a number, a short text (the same formula in bridge.mjs). */
    static int bulkN(int i) {
        return (int) ((i * 7919L) % 1000003);
    }

    static String bulkText(int i) {
        return "row " + i + " of the bulk load";
    }
}
