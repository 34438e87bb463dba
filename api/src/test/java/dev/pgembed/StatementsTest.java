package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StatementsTest {
    static final List<Notice> NOTICES = new CopyOnWriteArrayList<>();
    static PgEmbedded db;

    @BeforeAll
    static void open() {
        db = PgEmbedded.inMemory()
                .timeZone(ZoneOffset.UTC)
                .noticeListener(NOTICES::add)
                .open();
    }

    @AfterAll
    static void close() {
        db.close();
    }

    @Test
    void executeReturnsRowsAffectedAndAcceptsSeveralStatements() {
        assertThat(db.execute("CREATE TABLE ex1 (x int); INSERT INTO ex1 SELECT generate_series(1, 5)"))
                .isEqualTo(5);
        assertThat(db.execute("UPDATE ex1 SET x = x + $1 WHERE x > $2", 10, 2)).isEqualTo(3);
        assertThat(db.execute("DELETE FROM ex1")).isEqualTo(5);
        assertThat(db.execute("DROP TABLE ex1")).isZero();
        try (Result r = db.query("SELECT 1 AS a, 'x' AS b")) {
            assertThat(r.commandTag()).isEqualTo("SELECT 1");
            assertThat(r.rowsAffected()).isEqualTo(1);
            assertThat(r.columns()).extracting(Column::name).containsExactly("a", "b");
            assertThat(r.columns().get(0).typeOid()).isEqualTo(23);
            assertThat(r.columns().get(0).format()).isEqualTo(1);
            assertThat(r.columns().get(1).format()).isZero();
            assertThat(r.stream().map(row -> row.getString("b")).toList()).containsExactly("x");
        }
    }

    @Test
    void everySupportedParameterTypeRoundTrips() {
        db.execute("""
                CREATE TABLE types (
                  i int4, l int8, s int2, d float8, f float4, n numeric, t text, b bytea, bo bool, u uuid,
                  da date, ti time, ts timestamp, tz timestamptz, tz2 timestamptz,
                  ai int4[], al int8[], at text[], ad float8[], ab bool[], ai2 int4[], nul text)""");
        UUID uuid = UUID.randomUUID();
        LocalDate date = LocalDate.of(2024, 2, 29);
        LocalTime time = LocalTime.of(13, 14, 15, 123456000);
        LocalDateTime ts = LocalDateTime.of(1999, 12, 31, 23, 59, 58, 500000000);
        OffsetDateTime tz = OffsetDateTime.of(2020, 5, 6, 7, 8, 9, 0, ZoneOffset.ofHoursMinutes(5, 30));
        Instant instant = Instant.parse("2021-01-02T03:04:05.678901Z");
        byte[] bytes = {0, 1, 2, (byte) 0xff, 0x5c, 0x27, 0x22};
        String tricky = "it's \"quoted\" \\ back, {braces} 'n' ünïcødé ☃";
        long inserted = db.execute(
                "INSERT INTO types VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,"
                        + "$16,$17,$18,$19,$20,$21,$22)",
                Integer.MIN_VALUE,
                Long.MAX_VALUE,
                (short) -32768,
                Math.PI,
                1.25f,
                new BigDecimal("-12345678901234567890.000123"),
                tricky,
                bytes,
                true,
                uuid,
                date,
                time,
                ts,
                tz,
                instant,
                new int[] {1, -2, 3},
                new long[] {Long.MIN_VALUE, 0},
                new String[] {"a,b", null, "\"q\"", "x\\y", "NULL", ""},
                new double[] {1.5, -0.0, Double.MAX_VALUE},
                new Boolean[] {true, null, false},
                new Integer[] {null, 7},
                null);
        assertThat(inserted).isEqualTo(1);

        try (Result r =
                db.query("SELECT * FROM types WHERE i = $1 AND t = $2 AND u = $3", Integer.MIN_VALUE, tricky, uuid)) {
            assertThat(r.rowCount()).isEqualTo(1);
            Row row = r.row(0);
            assertThat(row.getInt("i")).isEqualTo(Integer.MIN_VALUE);
            assertThat(row.getLong("l")).isEqualTo(Long.MAX_VALUE);
            assertThat(row.getShort("s")).isEqualTo((short) -32768);
            assertThat(row.getDouble("d")).isEqualTo(Math.PI);
            assertThat(row.getFloat("f")).isEqualTo(1.25f);
            assertThat(row.getBigDecimal("n")).isEqualTo(new BigDecimal("-12345678901234567890.000123"));
            assertThat(row.getString("t")).isEqualTo(tricky);
            assertThat(row.getBytes("b")).isEqualTo(bytes);
            assertThat(row.getBoolean("bo")).isTrue();
            assertThat(row.getUuid("u")).isEqualTo(uuid);
            assertThat(row.getLocalDate("da")).isEqualTo(date);
            assertThat(row.getLocalTime("ti")).isEqualTo(time);
            assertThat(row.getLocalDateTime("ts")).isEqualTo(ts);
            assertThat(row.getOffsetDateTime("tz").toInstant()).isEqualTo(tz.toInstant());
            assertThat(row.getOffsetDateTime("tz").getOffset()).isEqualTo(ZoneOffset.UTC);
            assertThat(row.getInstant("tz2")).isEqualTo(instant);
            assertThat(row.getObject("ai")).isEqualTo(new Integer[] {1, -2, 3});
            assertThat(row.getObject("al")).isEqualTo(new Long[] {Long.MIN_VALUE, 0L});
            assertThat(row.getObject("at")).isEqualTo(new String[] {"a,b", null, "\"q\"", "x\\y", "NULL", ""});
            assertThat(row.getObject("ad")).isEqualTo(new Double[] {1.5, -0.0, Double.MAX_VALUE});
            assertThat(row.getObject("ab")).isEqualTo(new Boolean[] {true, null, false});
            assertThat(row.getObject("ai2")).isEqualTo(new Integer[] {null, 7});
            assertThat(row.isNull("nul")).isTrue();
            assertThat(row.getString("nul")).isNull();
            assertThat(row.getObject("nul")).isNull();
            assertThat(row.isNull("i")).isFalse();
            // getObject mapping
            assertThat(row.getObject("i")).isEqualTo(Integer.MIN_VALUE);
            assertThat(row.getObject("l")).isEqualTo(Long.MAX_VALUE);
            assertThat(row.getObject("s")).isEqualTo((short) -32768);
            assertThat(row.getObject("f")).isEqualTo(1.25f);
            assertThat(row.getObject("n")).isEqualTo(new BigDecimal("-12345678901234567890.000123"));
            assertThat(row.getObject("b")).isEqualTo(bytes);
            assertThat(row.getObject("u")).isEqualTo(uuid);
            assertThat(row.getObject("da")).isEqualTo(date);
            assertThat(row.getObject("ts")).isEqualTo(ts);
            // numbers read as strings
            assertThat(row.getString("i")).isEqualTo("-2147483648");
            assertThat(row.getString("bo")).isEqualTo("t");
            // primitive getters refuse NULL, by index as well
            int nul = r.columnIndex("nul");
            assertThatThrownBy(() -> row.getInt(nul))
                    .isInstanceOfSatisfying(
                            PgException.class, e -> assertThat(e.sqlState()).isEqualTo("22004"));
            assertThatThrownBy(() -> row.getInt("l"))
                    .isInstanceOfSatisfying(
                            PgException.class, e -> assertThat(e.sqlState()).isEqualTo("22003"));
            assertThatThrownBy(() -> row.getInt("nope")).isInstanceOf(IllegalArgumentException.class);
        }
        db.execute("DROP TABLE types");
    }

    @Test
    void textFormValuesAndSpecialValuesParse() {
        try (Result r = db.query("SELECT 42::numeric, '17'::text, 'infinity'::date, '-infinity'::timestamp,"
                + " '0044-03-15 BC'::date, 'NaN'::float8, '-Infinity'::float4, 'NaN'::numeric, 24::oid,"
                + " '\\x00ff'::bytea, '2024-01-01 10:00:00+05:45'::timestamptz, 12.5::numeric")) {
            Row row = r.row(0);
            assertThat(row.getInt(0)).isEqualTo(42);
            assertThat(row.getLong(1)).isEqualTo(17);
            assertThat(row.getLocalDate(2)).isEqualTo(LocalDate.MAX);
            assertThat(row.getLocalDateTime(3)).isEqualTo(OffsetDateTime.MIN.toLocalDateTime());
            assertThat(row.getLocalDate(4)).isEqualTo(LocalDate.of(-43, 3, 15));
            assertThat(row.getDouble(5)).isNaN();
            assertThat(row.getFloat(6)).isEqualTo(Float.NEGATIVE_INFINITY);
            assertThat(row.getObject(7)).isEqualTo(Double.NaN);
            assertThat(row.getLong(8)).isEqualTo(24);
            assertThat(row.getBytes(9)).containsExactly(0, 0xff);
            assertThat(row.getInstant(10)).isEqualTo(Instant.parse("2024-01-01T04:15:00Z"));
            assertThatThrownBy(() -> row.getInt(11)).isInstanceOf(PgException.class);
            assertThat(row.getDouble(11)).isEqualTo(12.5);
        }
        // dates and timestamps of BC and far years as parameters
        try (Result r = db.query(
                "SELECT $1::date, $2::timestamp", LocalDate.of(-43, 3, 15), LocalDateTime.of(12345, 1, 2, 3, 4))) {
            assertThat(r.row(0).getLocalDate(0)).isEqualTo(LocalDate.of(-43, 3, 15));
            assertThat(r.row(0).getLocalDateTime(1)).isEqualTo(LocalDateTime.of(12345, 1, 2, 3, 4));
        }
    }

    @Test
    void unsupportedParameterTypesAreRefused() {
        assertThatThrownBy(() -> db.query("SELECT $1", new StringBuilder("x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("java.lang.StringBuilder");
        assertThatThrownBy(() -> db.execute("SELECT $1", List.of(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ImmutableCollections");
    }

    @Test
    void aBatchOfKeyedUpdatesHasTheOutcomeOfRowByRow() {
        db.execute("CREATE TABLE keyed (id int PRIMARY KEY, v int, t text CHECK (length(t) < 10))");
        db.execute("CREATE INDEX ON keyed (v)");
        db.execute("INSERT INTO keyed SELECT g, g, 'r' FROM generate_series(1, 1000) g");
        try (PreparedStatement update = db.prepare("UPDATE keyed SET v = v * 10 + $1, t = $2 WHERE id = $3")) {
            List<Object[]> sets = new ArrayList<>();
            for (int i = 1; i <= 600; i++) {
                sets.add(new Object[] {i % 7, "s" + i, i * 2}); // ids 2..1200: 500 of them exist
            }
            long updated = db.transactionResult(tx -> update.executeBatch(sets));
            assertThat(updated).isEqualTo(500);
            try (Result r = db.query("SELECT count(*), sum(v) FROM keyed WHERE t <> 'r'")) {
                long expected = 0;
                for (int i = 1; i <= 500; i++) {
                    expected += (long) i * 2 * 10 + i % 7;
                }
                assertThat(r.row(0).getLong(0)).isEqualTo(500);
                assertThat(r.row(0).getLong(1)).isEqualTo(expected);
            }
            try (Result r = db.query("SELECT v, t FROM keyed WHERE id = 14")) {
                assertThat(r.row(0).getInt(0)).isEqualTo(140);
                assertThat(r.row(0).getString(1)).isEqualTo("s7");
            }
            // a key twice: the second set sees the first's update, as row by row
            assertThat(update.executeBatch(List.of(new Object[] {1, "a", 1}, new Object[] {2, "b", 1})))
                    .isEqualTo(2);
            try (Result r = db.query("SELECT v, t FROM keyed WHERE id = 1")) {
                assertThat(r.row(0).getInt(0)).isEqualTo(112);
                assertThat(r.row(0).getString(1)).isEqualTo("b");
            }
            // a set that fails the CHECK is named, and the batch leaves nothing behind
            List<Object[]> bad = List.of(new Object[] {0, "ok", 3}, new Object[] {0, "far too long", 5});
            assertThatThrownBy(() -> update.executeBatch(bad)).isInstanceOfSatisfying(PgException.class, e -> {
                assertThat(e.sqlState()).isEqualTo("23514");
                assertThat(e.batchIndex()).as("the failing set").isEqualTo(1);
            });
            try (Result r = db.query("SELECT v, t FROM keyed WHERE id = 3")) {
                assertThat(r.row(0).getInt(0)).isEqualTo(3);
                assertThat(r.row(0).getString(1)).isEqualTo("r");
            }
        }
    }

    @Test
    void preparedStatementsAndBatches() {
        db.execute("CREATE TABLE batch (id int PRIMARY KEY, name text, score float8)");
        try (PreparedStatement insert = db.prepare("INSERT INTO batch VALUES ($1, $2, $3)");
                PreparedStatement select = db.prepare("SELECT name, score FROM batch WHERE id = $1")) {
            assertThat(insert.name()).startsWith("pgembed_s");
            List<Object[]> sets = new ArrayList<>();
            for (int i = 0; i < 25_000; i++) {
                sets.add(new Object[] {i, "name " + i, i * 0.5});
            }
            long n = db.transactionResult(tx -> {
                return insert.executeBatch(sets);
            });
            assertThat(n).isEqualTo(25_000);
            assertThat(insert.execute(25_000, "last", null)).isEqualTo(1);
            try (Result r = select.query(12_345)) {
                assertThat(r.row(0).getString("name")).isEqualTo("name 12345");
                assertThat(r.row(0).getDouble("score")).isEqualTo(6172.5);
            }
            try (Arena arena = Arena.ofConfined()) {
                Result r = select.query(arena, 25_000);
                assertThat(r.row(0).isNull("score")).isTrue();
            }
            // a failing batch outside a transaction leaves nothing behind
            List<Object[]> bad = List.of(new Object[] {30_000, "a", 1.0}, new Object[] {1, "dup", 2.0});
            assertThatThrownBy(() -> insert.executeBatch(bad)).isInstanceOfSatisfying(PgException.class, e -> {
                assertThat(e.isUniqueViolation()).isTrue();
                assertThat(e.batchIndex()).as("the failing set").isEqualTo(1);
            });
            assertThatThrownBy(() -> insert.execute(1, "dup", 2.0))
                    .isInstanceOfSatisfying(
                            PgException.class, e -> assertThat(e.batchIndex()).isEqualTo(-1));
            try (Result r = db.query("SELECT count(*) FROM batch")) {
                assertThat(r.row(0).getLong(0)).isEqualTo(25_001);
            }
            // kept across transactions
            db.transaction(tx -> {
                tx.execute("DELETE FROM batch WHERE id > $1", 100);
            });
            try (Result r = select.query(50)) {
                assertThat(r.row(0).getString(0)).isEqualTo("name 50");
            }
            select.close();
            assertThatThrownBy(() -> select.query(1)).isInstanceOf(IllegalStateException.class);
            try (Result r = db.query("SELECT count(*) FROM pg_prepared_statements WHERE name = $1", select.name())) {
                assertThat(r.row(0).getLong(0)).isZero();
            }
        } finally {
            db.execute("DROP TABLE batch");
        }
    }

    @Test
    void copyInTheWrongDirectionIsRefusedAndLeavesTheEngineIdle() {
        db.execute("CREATE TABLE IF NOT EXISTS copy_dir (n int)");
        assertThatThrownBy(() -> db.copyIn("COPY copy_dir TO STDOUT", new java.io.ByteArrayInputStream(new byte[0])))
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.sqlState()).isEqualTo("42601"));
        assertThatThrownBy(() -> db.copyOut("COPY copy_dir FROM STDIN", new java.io.ByteArrayOutputStream()))
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.sqlState()).isEqualTo("42601"));
        assertThat(db.transactionStatus()).isEqualTo(TransactionStatus.IDLE);
        try (Result r = db.query("SELECT count(*) FROM copy_dir")) {
            assertThat(r.row(0).getLong(0)).isZero();
        }
    }

    @Test
    void copyInAndOutRoundTrip() {
        db.execute("CREATE TABLE copy1 (id int, name text); CREATE TABLE copy2 (id int, name text)");
        try {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 100_000; i++) {
                sb.append(i).append('\t').append("näme ").append(i).append('\n');
            }
            byte[] data = sb.toString().getBytes(StandardCharsets.UTF_8);
            assertThat(db.copyIn("COPY copy1 FROM STDIN", new ByteArrayInputStream(data)))
                    .isEqualTo(100_000);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertThat(db.copyOut("COPY copy1 TO STDOUT", out)).isEqualTo(100_000);
            assertThat(out.toByteArray()).isEqualTo(data);

            StringWriter w = new StringWriter();
            assertThat(db.copyOut("COPY (SELECT * FROM copy1 ORDER BY id) TO STDOUT (FORMAT csv)", w))
                    .isEqualTo(100_000);
            assertThat(db.copyIn("COPY copy2 FROM STDIN (FORMAT csv)", new StringReader(w.toString())))
                    .isEqualTo(100_000);
            try (Result r = db.query("SELECT count(*), sum(id), max(name) FROM copy2")) {
                assertThat(r.row(0).getLong(0)).isEqualTo(100_000);
                assertThat(r.row(0).getLong(1)).isEqualTo(99_999L * 100_000 / 2);
                assertThat(r.row(0).getString(2)).isEqualTo("näme 99999");
            }
            // bad data: a PgException, and the session goes on
            assertThatThrownBy(() -> db.copyIn("COPY copy2 FROM STDIN", new StringReader("x\ty\n")))
                    .isInstanceOfSatisfying(
                            PgException.class, e -> assertThat(e.sqlState()).isEqualTo("22P02"));
            assertThatThrownBy(() -> db.execute("COPY copy2 FROM STDIN"))
                    .isInstanceOf(PgException.class)
                    .hasMessageContaining("copyIn");
            assertThat(db.execute("SELECT 1")).isEqualTo(1);
        } finally {
            db.execute("DROP TABLE copy1; DROP TABLE copy2");
        }
    }

    @Test
    void cursorStreamsManyRowsInBatches() {
        long sum = 0;
        int count = 0;
        try (RowCursor c = db.cursor("SELECT g, 'row ' || g FROM generate_series(1, $1) g", 1000, 100_000)) {
            while (c.hasNext()) {
                Row row = c.next();
                sum += row.getInt(0);
                count++;
                if (count == 5) {
                    assertThat(row.getString(1)).isEqualTo("row 5");
                }
            }
        }
        assertThat(count).isEqualTo(100_000);
        assertThat(sum).isEqualTo(100_000L * 100_001 / 2);
        try (RowCursor c = db.cursor("SELECT g FROM generate_series(1, 10000) g", 100)) {
            assertThat(c.stream().limit(250).mapToLong(r -> r.getLong(0)).sum()).isEqualTo(250L * 251 / 2);
        }
        // the session is free again after a cursor closed early
        try (Result r = db.query("SELECT 7")) {
            assertThat(r.row(0).getInt(0)).isEqualTo(7);
        }
        assertThat(db.transactionStatus()).isEqualTo(TransactionStatus.IDLE);
    }

    @Test
    void uniqueViolationCarriesItsFields() {
        db.execute("CREATE TABLE uq (id int CONSTRAINT uq_pk PRIMARY KEY)");
        try {
            db.execute("INSERT INTO uq VALUES (1)");
            assertThatThrownBy(() -> db.execute("INSERT INTO uq VALUES ($1)", 1))
                    .isInstanceOfSatisfying(PgException.class, e -> {
                        assertThat(e.isUniqueViolation()).isTrue();
                        assertThat(e.sqlState()).isEqualTo("23505");
                        assertThat(e.severity()).isEqualTo("ERROR");
                        assertThat(e.constraint()).isEqualTo("uq_pk");
                        assertThat(e.table()).isEqualTo("uq");
                        assertThat(e.schema()).isEqualTo("public");
                        assertThat(e.detail()).contains("(id)=(1)");
                        assertThat(e.getMessage()).contains("duplicate key");
                        assertThat(e.toString()).contains("23505");
                        assertThat(e.isFatal()).isFalse();
                    });
        } finally {
            db.execute("DROP TABLE uq");
        }
    }

    @Test
    void syntaxErrorCarriesItsPosition() {
        assertThatThrownBy(() -> db.query("SELECT 1 FROMM nowhere")).isInstanceOfSatisfying(PgException.class, e -> {
            assertThat(e.isSyntaxError()).isTrue();
            assertThat(e.position()).isEqualTo(16); // "FROMM" is a column alias
        });
        assertThatThrownBy(() -> db.execute("SELEC 1"))
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.position()).isEqualTo(1));
        assertThatThrownBy(() -> db.query("SELECT 1/0"))
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.sqlState()).isEqualTo("22012"));
        assertThat(db.transactionStatus()).isEqualTo(TransactionStatus.IDLE);
    }

    @Test
    void noticesReachTheListenerAndTheResult() {
        NOTICES.clear();
        try (Result r = db.query("SELECT 1 FROM (SELECT set_config('client_min_messages', 'notice', false)) s,"
                + " LATERAL (SELECT 1) x")) {
            assertThat(r.rowCount()).isEqualTo(1);
        }
        db.execute("DO $$BEGIN RAISE NOTICE 'hello %', 42; RAISE WARNING 'careful'; END$$");
        assertThat(NOTICES).extracting(Notice::message).containsExactly("hello 42", "careful");
        assertThat(NOTICES).extracting(Notice::severity).containsExactly("NOTICE", "WARNING");
        try (Result r = db.query("SELECT f FROM (SELECT 1 AS f) s WHERE pg_notify('x', 'y') IS NULL OR true")) {
            assertThat(r.notices()).isEmpty();
        }
        NOTICES.clear();
        db.execute("CREATE OR REPLACE FUNCTION noisy() RETURNS int LANGUAGE plpgsql AS"
                + " $$BEGIN RAISE NOTICE 'from a function'; RETURN 1; END$$");
        try (Result r = db.query("SELECT noisy()")) {
            assertThat(r.notices()).extracting(Notice::message).containsExactly("from a function");
        }
        assertThat(NOTICES).extracting(Notice::message).containsExactly("from a function");
    }

    @Test
    void readingAfterTheArenaClosedThrows() {
        Row row;
        Result result;
        try (Arena arena = Arena.ofConfined()) {
            result = db.query(arena, "SELECT 1 AS a, 'x' AS b");
            row = result.row(0);
            assertThat(row.getInt(0)).isEqualTo(1);
            result.close(); // no effect: the arena owns it
            assertThat(row.getString(1)).isEqualTo("x");
        }
        assertThat(result.isOpen()).isFalse();
        assertThatThrownBy(() -> row.getInt(0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> row.getString("b")).isInstanceOf(IllegalStateException.class);

        Result own = db.query("SELECT 2");
        Row r2 = own.row(0);
        own.close();
        own.close();
        assertThatThrownBy(() -> r2.getLong(0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> r2.isNull(0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void cancelFromAnotherThreadEndsALongStatement() throws Exception {
        Thread canceller = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                return;
            }
            db.cancel();
        });
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> db.query("SELECT pg_sleep(60)"))
                .isInstanceOfSatisfying(
                        PgException.class, e -> assertThat(e.isQueryCanceled()).isTrue());
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(10_000);
        canceller.join();
        try (Result r = db.query("SELECT 3")) {
            assertThat(r.row(0).getInt(0)).isEqualTo(3);
        }
    }

    @Test
    void statementTimeoutCancels() {
        db.execute("SET statement_timeout = '200ms'");
        try {
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> db.execute("SELECT pg_sleep(30)"))
                    .isInstanceOfSatisfying(
                            PgException.class,
                            e -> assertThat(e.isQueryCanceled()).isTrue());
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(10_000);
        } finally {
            db.execute("RESET statement_timeout");
        }
    }

    /* the Javadoc said exact and case-sensitive while "A" found "a": code and doc now agree, as pgjdbc's findColumn */
    @Test
    void columnsAreFoundExactlyFirstThenIgnoringCase() {
        try (Result r = db.query("SELECT 1 AS a, 2 AS \"A\", 3 AS \"Mixed\"")) {
            assertThat(r.columnIndex("a")).isZero();
            assertThat(r.columnIndex("A")).as("the exact match wins").isEqualTo(1);
            assertThat(r.columnIndex("Mixed")).isEqualTo(2);
            assertThat(r.columnIndex("MIXED"))
                    .as("otherwise the first ignoring case")
                    .isEqualTo(2);
            assertThat(r.row(0).getInt("mixed")).isEqualTo(3);
            assertThatThrownBy(() -> r.columnIndex("b"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("no column named \"b\"");
        }
        try (Result r = db.query("SELECT 1 AS x, 2 AS \"X\"")) {
            assertThat(r.columnIndex("X")).isEqualTo(1);
        }
        try (Result r = db.query("SELECT 1 AS y")) {
            assertThat(r.columnIndex("Y")).isZero();
        }
    }
}
