package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * After any refused or failed call, every later call behaves as on a fresh session: its statement runs,
 * its rows are written, its result is returned; and a refused statement has no effect.
 */
class RefusedCallsTest {
    static PgEmbedded db;

    @BeforeAll
    static void open() {
        db = PgEmbedded.inMemory().open();
        db.execute("CREATE TABLE t (x int)");
    }

    @AfterAll
    static void close() {
        db.close();
    }

    @BeforeEach
    void empty() {
        db.execute("TRUNCATE t");
    }

    private static long count() {
        try (Result r = db.query("SELECT count(*) FROM t")) {
            return r.row(0).getLong(0);
        }
    }

    /* what a fresh session does: the row comes back and is there */
    private static void behavesAsFresh(int x) {
        try (Result r = db.query("INSERT INTO t VALUES ($1) RETURNING x", x)) {
            assertThat(r.commandTag()).isEqualTo("INSERT 0 1");
            assertThat(r.rowCount()).isEqualTo(1);
            assertThat(r.row(0).getInt(0)).isEqualTo(x);
        }
        assertThat(db.execute("INSERT INTO t VALUES ($1)", x + 1000)).isEqualTo(1);
        try (Result r = db.query("SELECT count(*) FROM t WHERE x IN ($1, $2)", x, x + 1000)) {
            assertThat(r.row(0).getLong(0)).isEqualTo(2);
        }
        assertThat(db.transactionStatus()).isEqualTo(TransactionStatus.IDLE);
    }

    private static void refused(Runnable call) {
        assertThatThrownBy(call::run)
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.sqlState()).isEqualTo("0A000"));
    }

    /* the sequence: the INSERT after the refused COPY returned an empty result and wrote nothing */
    @Test
    void theStatementAfterARefusedCopyFromStdinRuns() {
        refused(() -> db.query("COPY t FROM STDIN").close());
        try (Result r = db.query("INSERT INTO t VALUES ($1) RETURNING x", 2)) {
            assertThat(r.commandTag()).isEqualTo("INSERT 0 1");
            assertThat(r.row(0).getInt(0)).isEqualTo(2);
        }
        assertThat(db.execute("INSERT INTO t VALUES (3)")).isEqualTo(1);
        assertThat(count()).isEqualTo(2);
    }

    @Test
    void everyStatementMethodRefusesCopyFromStdinAndGoesOn() {
        refused(() -> db.execute("COPY t FROM STDIN"));
        behavesAsFresh(1);
        refused(() -> db.cursor("COPY t FROM STDIN", 10).close());
        behavesAsFresh(3);
        try (PreparedStatement p = db.prepare("COPY t FROM STDIN")) {
            refused(() -> p.execute());
            behavesAsFresh(4);
            refused(() -> p.query().close());
            behavesAsFresh(5);
            refused(() -> p.executeBatch(List.of(new Object[0], new Object[0])));
            behavesAsFresh(6);
        }
    }

    /* a refused COPY TO STDOUT of a data-modifying query used to run to its end (drained) */
    @Test
    void aRefusedCopyToStdoutHasNoEffect() {
        String copy = "COPY (INSERT INTO t VALUES (99) RETURNING x) TO STDOUT";
        refused(() -> db.execute(copy));
        refused(() -> db.query(copy).close());
        refused(() -> db.cursor(copy, 10).close());
        try (PreparedStatement p = db.prepare(copy)) {
            refused(() -> p.execute());
            refused(() -> p.query().close());
            refused(() -> p.executeBatch(List.<Object[]>of(new Object[0])));
        }
        assertThatThrownBy(() -> db.copyIn(copy, new ByteArrayInputStream(new byte[0])))
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.sqlState()).isEqualTo("42601"));
        assertThat(count()).isZero();
        behavesAsFresh(7);
    }

    /* a sink that fails stops the COPY: a COPY of a data-modifying query does no more, and is rolled back */
    @Test
    void aFailingSinkAbortsTheCopy() {
        OutputStream failing = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("disk full");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                throw new IOException("disk full");
            }
        };
        assertThatThrownBy(() -> db.copyOut(
                        "COPY (INSERT INTO t SELECT generate_series(1, 200000) RETURNING x)" + " TO STDOUT", failing))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("disk full");
        assertThat(count()).isZero();
        behavesAsFresh(8);
    }

    /* in a transaction block a refusal fails the transaction, as any failed statement does */
    @Test
    void aRefusalInsideATransactionFailsItAndTheNextOneIsFresh() {
        Transaction tx = db.begin();
        tx.execute("INSERT INTO t VALUES (50)");
        refused(() -> tx.query("COPY t FROM STDIN").close());
        assertThat(db.transactionStatus()).isEqualTo(TransactionStatus.FAILED);
        assertThatThrownBy(tx::commit)
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.sqlState()).isEqualTo("25P02"));
        assertThat(count()).isZero();
        behavesAsFresh(9);
    }
}
