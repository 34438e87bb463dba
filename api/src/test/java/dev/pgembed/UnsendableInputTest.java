package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Input that the protocol cannot carry as given is refused with a clear error, before anything is sent,
 * instead of reaching the database changed: too many parameters (the protocol counts them in 16 bits) and
 * text with an unpaired UTF-16 surrogate (the JDK's encoder would write '?'). The session goes on as before.
 */
class UnsendableInputTest {
    static PgEmbedded db;

    @BeforeAll
    static void open() {
        db = PgEmbedded.inMemory().open();
        db.execute("CREATE TABLE t (s text)");
    }

    @AfterAll
    static void close() {
        db.close();
    }

    private static Object[] ints(int n) {
        return IntStream.rangeClosed(1, n).boxed().toArray();
    }

    private static void refusedWith(Runnable call, String sqlState, String message) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(PgException.class, e -> {
            assertThat(e.sqlState()).isEqualTo(sqlState);
            assertThat(e.getMessage()).contains(message);
        });
    }

    @Test
    void theLastParameterTheProtocolCanCountIsUsed() {
        try (Result r = db.query("SELECT $65535::int", ints(65535))) {
            assertThat(r.row(0).getInt(0)).isEqualTo(65535);
        }
    }

    /* 65 536 parameters wrapped to 0 in the message and came back as 08P01 "invalid message format" */
    @Test
    void oneParameterMoreIsRefusedNamingTheLimit() {
        Object[] params = ints(65536);
        refusedWith(() -> db.query("SELECT $65536::int", params).close(), "54000", "at most 65535");
        refusedWith(() -> db.execute("SELECT $65536::int", params), "54000", "at most 65535");
        refusedWith(() -> db.cursor("SELECT $65536::int", 10, params).close(), "54000", "at most 65535");
        String many =
                IntStream.rangeClosed(1, 65536).mapToObj(i -> "$" + i + "::int").collect(Collectors.joining(","));
        try (PreparedStatement p = db.prepare("SELECT $1::int")) {
            refusedWith(() -> p.query(params).close(), "54000", "at most 65535");
            refusedWith(() -> p.executeBatch(List.<Object[]>of(params)), "54000", "at most 65535");
        }
        try (Transaction tx = db.begin()) {
            tx.execute("INSERT INTO t VALUES ('kept')");
            refusedWith(() -> tx.execute("SELECT ARRAY[" + many + "]", params), "54000", "at most 65535");
            assertThat(db.transactionStatus())
                    .as("nothing was sent: the transaction goes on")
                    .isEqualTo(TransactionStatus.IN_TRANSACTION);
            tx.rollback();
        }
        try (Result r = db.query("SELECT $1::int + 1", 41)) {
            assertThat(r.row(0).getInt(0)).isEqualTo(42);
        }
    }

    /* "a\uD800b" was stored as "a?b" */
    @Test
    void aParameterWithAnUnpairedSurrogateIsRefused() {
        refusedWith(() -> db.execute("INSERT INTO t VALUES ($1)", "a\uD800b"), "22021", "parameter $1");
        refusedWith(() -> db.execute("INSERT INTO t VALUES ($1)", "end\uD83D"), "22021", "unpaired");
        refusedWith(() -> db.execute("INSERT INTO t VALUES ($2 || $1)", "x", "\uDE00"), "22021", "parameter $2");
        refusedWith(
                () -> db.execute("INSERT INTO t SELECT unnest($1::text[])", (Object) new String[] {"ok", "\uDC00"}),
                "22021",
                "parameter $1");
        try (PreparedStatement p = db.prepare("INSERT INTO t VALUES ($1)")) {
            refusedWith(
                    () -> p.executeBatch(Arrays.asList(new Object[] {"fine"}, new Object[] {"\uD800"})),
                    "22021",
                    "parameter $1");
        }
        try (Result r = db.query("SELECT count(*) FROM t")) {
            assertThat(r.row(0).getLong(0)).as("nothing written").isZero();
        }
        String pair = "emoji \uD83D\uDE00";
        db.execute("INSERT INTO t VALUES ($1)", pair);
        try (Result r = db.query("SELECT s, length(s) FROM t")) {
            assertThat(r.row(0).getString(0))
                    .as("a whole pair is one character")
                    .isEqualTo(pair);
            assertThat(r.row(0).getInt(1)).isEqualTo(7);
        }
        db.execute("TRUNCATE t");
    }

    /* the same encoder served the SQL text and COPY data from a Reader: '?' there too */
    @Test
    void sqlTextAndCopyDataWithAnUnpairedSurrogateAreRefused() {
        refusedWith(() -> db.execute("INSERT INTO t VALUES ('\uD800')"), "22021", "the SQL text");
        refusedWith(() -> db.query("SELECT '\uDFFF'").close(), "22021", "the SQL text");
        refusedWith(
                () -> db.copyIn("COPY t FROM STDIN", new StringReader("fine\nbad \uD800 row\n")),
                "22021",
                "the COPY data");
        refusedWith(
                () -> db.copyIn("COPY t FROM STDIN", new StringReader("ends in a high half \uD83D")),
                "22021",
                "the COPY data");
        try (Result r = db.query("SELECT count(*) FROM t")) {
            assertThat(r.row(0).getLong(0)).as("the COPY was aborted: no row").isZero();
        }
    }

    /* a NUL ended the C string: the rest of the statement was dropped without a word */
    @Test
    void sqlTextWithANulIsRefused() {
        refusedWith(
                () -> db.execute("INSERT INTO t VALUES ('a');\0INSERT INTO t VALUES ('b')"), "22021", "NUL character");
        try (Result r = db.query("SELECT count(*) FROM t")) {
            assertThat(r.row(0).getLong(0)).isZero();
        }
    }
}
