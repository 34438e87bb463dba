package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * pgjdbc's {@code executeBatch} of {@code UPDATE t SET ... WHERE key = ?} runs as one joined update inside the engine
 * when it can; its update counts, errors and rows must be those of row by row. Each batch runs on twin tables: "fast"
 * (eligible) and "slow" (a statement trigger that does nothing keeps it row by row). Rows a batch updated as one
 * statement carry the XID of the subtransaction it ran in, rows updated row by row the transaction's own: that tells
 * which path a batch inside a transaction took.
 */
class BatchUpdateJdbcTest {
    static final String URL = "jdbc:pgembed:memory:batch-update";
    static Connection keeper;

    @BeforeAll
    static void open() throws SQLException {
        keeper = DriverManager.getConnection(URL);
        try (Statement s = keeper.createStatement()) {
            for (String t : List.of("fast", "slow")) {
                s.execute("CREATE TABLE " + t + " (id int, v int CHECK (v >= 0), w varchar(4))");
                s.execute("CREATE INDEX ON " + t + " (id)");
            }
            s.execute("CREATE FUNCTION nothing() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$");
            s.execute("CREATE TRIGGER nothing AFTER UPDATE ON slow FOR EACH STATEMENT EXECUTE FUNCTION nothing()");
        }
    }

    @AfterAll
    static void close() throws SQLException {
        keeper.close();
    }

    /** A batch's outcome: its update counts, or the exception's counts, SQLSTATE and message. */
    record Outcome(String text, boolean joined) {}

    /**
     * Runs the batch (update's %s is the table; sets of {w, v, id}) on table t, in a transaction committed or rolled
     * back after when tx is "commit" or "rollback", in autocommit when null.
     */
    static Outcome run(Connection c, String t, String update, List<Object[]> sets, String tx) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("UPDATE " + t + " SET w = 'r' WHERE w IS DISTINCT FROM 'r'");
        }
        c.setAutoCommit(tx == null);
        String text;
        try (PreparedStatement ps = c.prepareStatement(update.formatted(t))) {
            for (Object[] set : sets) {
                ps.setString(1, (String) set[0]);
                ps.setInt(2, (Integer) set[1]);
                ps.setInt(3, (Integer) set[2]);
                ps.addBatch();
            }
            try {
                text = Arrays.toString(ps.executeBatch());
            } catch (BatchUpdateException e) {
                SQLException next = e.getNextException();
                text = Arrays.toString(e.getUpdateCounts()) + " " + e.getSQLState() + " "
                        + (next != null ? next.getMessage().replace(t, "<t>") : "");
            }
        }
        boolean joined = false;
        if (tx != null) {
            // in the transaction still (unless the batch failed): which XID wrote the batch's rows
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT count(*) FILTER (WHERE xmin <> pg_current_xact_id()::xid)"
                            + " > 0 FROM " + t + " WHERE w <> 'r'")) {
                joined = rs.next() && rs.getBoolean(1);
            } catch (SQLException aborted) {
                assertThat(aborted.getSQLState()).isEqualTo("25P02");
            }
            if (tx.equals("commit")) {
                c.commit();
            } else {
                c.rollback();
            }
            c.setAutoCommit(true);
        }
        return new Outcome(text, joined);
    }

    /** The batch on both twins: the same outcome and rows; the fast twin's outcome. */
    static Outcome onTwins(String update, List<Object[]> sets, String tx) throws SQLException {
        try (Connection c = DriverManager.getConnection(URL)) {
            Outcome fast = run(c, "fast", update, sets, tx);
            Outcome slow = run(c, "slow", update, sets, tx);
            assertThat(fast.text()).isEqualTo(slow.text());
            assertThat(slow.joined()).as("the slow twin runs row by row").isFalse();
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery(
                            "SELECT (SELECT string_agg(f::text, '|' ORDER BY f::text) FROM fast f)"
                                    + " IS NOT DISTINCT FROM (SELECT string_agg(s::text, '|' ORDER BY s::text) FROM slow s)")) {
                rs.next();
                assertThat(rs.getBoolean(1)).as("the same rows").isTrue();
            }
            return fast;
        }
    }

    /** Fills both twins: ids 1..n with v = id, and a second row for id 5. */
    static void fill(int n) throws SQLException {
        try (Statement s = keeper.createStatement()) {
            for (String t : List.of("fast", "slow")) {
                s.execute("TRUNCATE " + t);
                s.execute("INSERT INTO " + t + " SELECT g, g, 'r' FROM generate_series(1, " + n + ") g");
                s.execute("INSERT INTO " + t + " VALUES (5, 50, 'r')");
            }
        }
    }

    /** Sets {w, v, id}: ids first, then 1000 + i (no row) for the rest, n in all. */
    static List<Object[]> sets(int n, int... ids) {
        List<Object[]> sets = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int id = i < ids.length ? ids[i] : 1000 + i;
            sets.add(new Object[] {"s" + (i % 100), i, id});
        }
        return sets;
    }

    static final String SET_W = "UPDATE %s SET w = ?, v = v + ? WHERE id = ?";

    @Test
    void countsPerSetAsRowByRow() throws SQLException {
        fill(600);
        // a key with one row, none, two
        assertThat(onTwins(SET_W, sets(3, 1, 999, 5), null).text()).isEqualTo("[1, 0, 2]");
        Outcome in = onTwins(SET_W, sets(3, 1, 999, 5), "commit");
        assertThat(in.text()).isEqualTo("[1, 0, 2]");
        assertThat(in.joined()).as("run as one update").isTrue();
        // more sets than pgjdbc sends before a Sync (256): several chunks, each with its counts
        List<Object[]> many = new ArrayList<>();
        int[] expected = new int[700];
        for (int i = 0; i < 700; i++) {
            int id = i % 2 == 0 ? i / 2 + 1 : 10_000 + i; // half of them match
            many.add(new Object[] {"m", i, id});
            expected[i] = i % 2 == 1 ? 0 : id == 5 ? 2 : 1;
        }
        assertThat(onTwins(SET_W, many, null).text()).isEqualTo(Arrays.toString(expected));
        Outcome big = onTwins(SET_W, many, "rollback");
        assertThat(big.text()).isEqualTo(Arrays.toString(expected));
        assertThat(big.joined()).as("run as one update").isTrue();
        // the same key twice stays row by row: the second set sees the first's row
        Outcome twice = onTwins(SET_W, sets(2, 7, 7), "commit");
        assertThat(twice.text()).isEqualTo("[1, 1]");
        assertThat(twice.joined()).isFalse();
        // a statement that is not eligible (a range) has the same counts, row by row
        assertThat(onTwins("UPDATE %s SET w = ?, v = v + ? WHERE id <= ?", sets(3, 1, 999, 5), "commit"))
                .isEqualTo(new Outcome("[1, 601, 6]", false));
    }

    @Test
    void anErrorInOneSetAsRowByRow() throws SQLException {
        fill(600);
        // set 2 drives v below 0 (CHECK): found when the update runs, so the joined update is rolled back
        String lower = "UPDATE %s SET w = ?, v = v - ? WHERE id = ?";
        List<Object[]> sets = List.of(new Object[] {"a", 0, 1}, new Object[] {"b", 0, 999}, new Object[] {"c", 100, 5});
        for (String tx : new String[] {null, "rollback"}) {
            Outcome o = onTwins(lower, sets, tx);
            assertThat(o.text()).contains("23514").contains("<t>");
            assertThat(o.joined()).isFalse();
        }
        // a value too long for the column (found when Bind plans the set)
        List<Object[]> tooLong = List.of(new Object[] {"a", 0, 1}, new Object[] {"longer", 0, 2});
        assertThat(onTwins(SET_W, tooLong, null).text()).contains("22001");
        assertThat(onTwins(SET_W, tooLong, "rollback").text()).contains("22001");
        // in a later chunk: the earlier chunks committed (autocommit), as row by row
        List<Object[]> late = new ArrayList<>(sets(300, 1, 2, 3));
        late.set(280, new Object[] {"c", 100, 5});
        Outcome o = onTwins(lower, late, null);
        assertThat(o.text()).contains("23514");
        try (Statement s = keeper.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM fast WHERE w <> 'r'")) {
            rs.next();
            assertThat(rs.getInt(1)).as("the first chunk's rows").isEqualTo(3);
        }
        // and the twins still take their paths afterwards
        assertThat(onTwins(SET_W, sets(3, 1, 999, 5), "commit")).isEqualTo(new Outcome("[1, 0, 2]", true));
    }
}
