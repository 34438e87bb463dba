package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.PgEmbeddedListener;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Statements run through JDBC reach the PgEmbeddedListeners, with their outcome. */
class StatementListenerTest {

    /** Counts one database's statements. */
    static final class Counter implements PgEmbeddedListener {
        volatile PgEmbedded watched;
        final AtomicInteger succeeded = new AtomicInteger();
        final List<String> failed = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void statementsSucceeded(PgEmbedded db, int count) {
            if (db == watched) {
                succeeded.addAndGet(count);
            }
        }

        @Override
        public void statementFailed(PgEmbedded db, String sqlState) {
            if (db == watched) {
                failed.add(sqlState);
            }
        }

        void reset() {
            succeeded.set(0);
            failed.clear();
        }
    }

    private final Counter counter = new Counter();

    @AfterEach
    void unregister() {
        PgEmbedded.removeListener(counter);
    }

    @Test
    void eachStatementAConnectionRunsCountsOnceWithItsOutcome(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("db");
        try (PgEmbedded db = PgEmbedded.builder(dir).durability(Durability.NONE).open();
                Connection c = DriverManager.getConnection("jdbc:pgembed:" + dir)) {
            counter.watched = db;
            PgEmbedded.addListener(counter);
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
                st.execute("SELECT 1; SELECT 2; SELECT 3"); // one simple query, three statements
                assertThat(counter.succeeded).hasValue(4);
                assertThatThrownBy(() -> st.execute("SELECT * FROM missing")).isInstanceOf(SQLException.class);
                assertThat(counter.failed).containsExactly("42P01");

                // a result of 10 MB leaves the engine in many exchanges, messages cut anywhere: still one statement
                try (ResultSet rs = st.executeQuery("SELECT repeat('x', 2000) FROM generate_series(1, 5000)")) {
                    int rows = 0;
                    while (rs.next()) {
                        rows++;
                    }
                    assertThat(rows).isEqualTo(5000);
                }
                assertThat(counter.succeeded).hasValue(5);
            }
            counter.reset();
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES (?, ?)")) {
                for (int i = 1; i <= 3; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "v" + i);
                    ps.addBatch();
                }
                assertThat(ps.executeBatch()).containsExactly(1, 1, 1);
                ps.setInt(1, 1);
                ps.setString(2, "again");
                assertThatThrownBy(ps::executeUpdate).isInstanceOf(SQLException.class);
            }
            assertThat(counter.succeeded).hasValue(3);
            assertThat(counter.failed).containsExactly("23505");

            // a transaction: BEGIN (pgjdbc's), the statement, COMMIT
            counter.reset();
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.executeUpdate("UPDATE t SET v = upper(v)");
            }
            c.commit();
            c.setAutoCommit(true);
            assertThat(counter.succeeded).hasValue(3);
            assertThat(counter.failed).isEmpty();
        }
    }

    /** The scanner follows messages cut at every possible place (one byte per exchange). */
    @Test
    void repliesCutAnywhereAreFollowed() {
        Wire.Buf out = new Wire.Buf(256);
        commandComplete(out, "SELECT 1");
        Wire.errorResponse(out, "ERROR", "22012", "division by zero");
        Wire.readyForQuery(out, 'I');
        int at = out.begin('D'); // a DataRow, skipped by its length
        out.put(new byte[100], 0, 100);
        out.end(at);
        commandComplete(out, "INSERT 0 1");
        at = out.begin('I'); // EmptyQueryResponse
        out.end(at);
        Wire.readyForQuery(out, 'I');
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            counter.watched = db;
            PgEmbedded.addListener(counter);
            ReplyScanner whole = new ReplyScanner();
            whole.scan(db, out.b, 0, out.len);
            assertThat(counter.succeeded).hasValue(3);
            assertThat(counter.failed).containsExactly("22012");
            counter.reset();
            ReplyScanner byteByByte = new ReplyScanner();
            for (int i = 0; i < out.len; i++) {
                byteByByte.scan(db, out.b, i, 1);
            }
            assertThat(counter.succeeded).hasValue(3);
            assertThat(counter.failed).containsExactly("22012");
        }
    }

    private static void commandComplete(Wire.Buf out, String tag) {
        int at = out.begin('C');
        out.cstr(tag);
        out.end(at);
    }
}
