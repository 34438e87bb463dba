package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/*
 * The results of one prepared statement share their column list and command tag while the native ones are
 * the same (ResultShape), and its parameters travel in a buffer the session reuses (ParamBuffer): every
 * result must still show its own columns, tag and values, also after later executions and changes.
 */
class PreparedResultsTest {
    static PgEmbedded db;

    @BeforeAll
    static void open() {
        db = PgEmbedded.inMemory().open();
        db.execute("CREATE TABLE pr (k int PRIMARY KEY, v text)");
        db.execute("INSERT INTO pr SELECT g, 'value ' || g FROM generate_series(1, 10) g");
    }

    @AfterAll
    static void close() {
        db.close();
    }

    @Test
    void aResultKeepsItsValuesAndTagAfterLaterExecutions() {
        try (PreparedStatement ps = db.prepare("SELECT k, v FROM pr WHERE k <= $1 ORDER BY k")) {
            Result three = ps.query(3);
            Result none = ps.query(0);
            Result one = ps.query(1);
            Result three2 = ps.query(3);
            assertThat(three.commandTag()).isEqualTo("SELECT 3");
            assertThat(none.commandTag()).isEqualTo("SELECT 0");
            assertThat(one.commandTag()).isEqualTo("SELECT 1");
            assertThat(three2.commandTag()).isEqualTo("SELECT 3");
            assertThat(three.stream()
                            .map(r -> r.getInt(0) + " " + r.getString(1))
                            .toList())
                    .containsExactly("1 value 1", "2 value 2", "3 value 3");
            assertThat(none.rowCount()).isZero();
            assertThat(one.row(0).getString("v")).isEqualTo("value 1");
            assertThat(three.columns()).extracting(Column::name).containsExactly("k", "v");
            assertThat(three2.columns()).isEqualTo(three.columns());
            three.close();
            assertThat(three2.row(2).getString(1)).isEqualTo("value 3");
            none.close();
            one.close();
            three2.close();
        }
    }

    @Test
    void theColumnsFollowTheCursorAPreparedFetchReads() {
        Transaction tx = db.begin();
        try {
            try (PreparedStatement fetch = db.prepare("FETCH ALL FROM prc")) {
                db.execute("DECLARE prc CURSOR FOR SELECT 1 AS a");
                Result first = fetch.query();
                db.execute("CLOSE prc");
                db.execute("DECLARE prc CURSOR FOR SELECT 'x'::text AS b, 2::bigint AS c");
                Result second = fetch.query();
                db.execute("CLOSE prc");
                db.execute("DECLARE prc CURSOR FOR SELECT 3 AS a");
                Result third = fetch.query();
                db.execute("CLOSE prc");
                db.execute("DECLARE prc CURSOR FOR SELECT 4 AS d");
                Result renamed = fetch.query();
                db.execute("CLOSE prc");
                db.execute("DECLARE prc CURSOR FOR SELECT 5::bigint AS d");
                Result retyped = fetch.query();
                assertThat(renamed.columns()).extracting(Column::name).containsExactly("d");
                assertThat(renamed.columnIndex("d")).isZero();
                assertThat(retyped.columns()).extracting(Column::typeOid).containsExactly(20);
                assertThat(retyped.row(0).getLong("d")).isEqualTo(5);
                renamed.close();
                retyped.close();
                assertThat(first.columns()).extracting(Column::name).containsExactly("a");
                assertThat(second.columns()).extracting(Column::name).containsExactly("b", "c");
                assertThat(second.columns()).extracting(Column::typeOid).containsExactly(25, 20);
                assertThat(third.columns()).extracting(Column::name).containsExactly("a");
                assertThat(first.row(0).getInt(0)).isEqualTo(1);
                assertThat(second.row(0).getString("b")).isEqualTo("x");
                assertThat(second.row(0).getLong(1)).isEqualTo(2);
                assertThat(third.row(0).getInt("a")).isEqualTo(3);
                first.close();
                second.close();
                third.close();
            }
        } finally {
            tx.rollback();
        }
    }

    @Test
    void aColumnRenamedOrRetypedShowsInTheNextResultOrFailsIt() {
        db.execute("CREATE TABLE pr2 (k int, v varchar(10))");
        db.execute("INSERT INTO pr2 VALUES (1, 'one')");
        try (PreparedStatement ps = db.prepare("SELECT * FROM pr2 WHERE k = $1")) {
            Result before = ps.query(1);
            assertThat(before.columns()).extracting(Column::typmod).containsExactly(-1, 14);
            db.execute("ALTER TABLE pr2 ALTER COLUMN v TYPE varchar(20)");
            // a result of the old statement either has the new column or fails as PostgreSQL fails it
            try (Result after = ps.query(1)) {
                assertThat(after.columns()).extracting(Column::typmod).containsExactly(-1, 24);
            } catch (PgException e) {
                assertThat(e.sqlState()).isEqualTo("0A000");
            }
            assertThat(before.columns()).extracting(Column::typmod).containsExactly(-1, 14);
            assertThat(before.row(0).getString(1)).isEqualTo("one");
            before.close();
        }
    }

    @Test
    void parametersOfEveryKindAndSizeArriveIntact() {
        try (PreparedStatement ps = db.prepare("SELECT $1::int, $2::bigint, $3::smallint, $4::text, $5::text")) {
            String big = "é".repeat(5000); // beyond the reused buffer: an arena of its own
            Object[][] sets = {
                {Integer.MIN_VALUE, Long.MIN_VALUE, Short.MIN_VALUE, "", null},
                {0, 0L, (short) 0, "plain", "ünï"},
                {Integer.MAX_VALUE, Long.MAX_VALUE, Short.MAX_VALUE, big, "x"},
                {-7, -1234567890123L, (short) -5, "a", big},
                {42, 9L, (short) 1, null, "tail"},
            };
            for (Object[] set : sets) {
                try (Result r = ps.query(set)) {
                    Row row = r.row(0);
                    assertThat(row.getInt(0)).isEqualTo(set[0]);
                    assertThat(row.getLong(1)).isEqualTo(set[1]);
                    assertThat(row.getObject(2)).isEqualTo(set[2]);
                    assertThat(row.getString(3)).isEqualTo(set[3]);
                    assertThat(row.getString(4)).isEqualTo(set[4]);
                }
            }
            assertThatThrownBy(() -> ps.query(1, 2L, (short) 3, "a\0b", "c"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("NUL");
            assertThatThrownBy(() -> ps.query(1, 2L, (short) 3, "\ud800", "c"))
                    .isInstanceOf(PgException.class)
                    .hasMessageContaining("parameter $4");
        }
    }

    @Test
    void numericTextReadsAsBigDecimalAsItsStringWould() {
        try (PreparedStatement ps = db.prepare("SELECT $1::numeric, $2::text")) {
            for (String v : new String[] {"0", "-12.500", "123456789012345678901234567890.000000001", "1e-7", "NaN"}) {
                try (Result r = ps.query(v, v)) {
                    Row row = r.row(0);
                    if (v.equals("NaN")) {
                        assertThatThrownBy(() -> row.getBigDecimal(0))
                                .isInstanceOf(PgException.class)
                                .extracting(e -> ((PgException) e).sqlState())
                                .isEqualTo("42804");
                    } else {
                        assertThat(row.getBigDecimal(0)).isEqualTo(new BigDecimal(row.getString(0)));
                        assertThat(row.getBigDecimal(1)).isEqualTo(new BigDecimal(v));
                    }
                }
            }
            try (Result r = ps.query("1", "١٢")) { // Arabic-Indic digits: not ASCII, parsed as the String
                assertThat(r.row(0).getBigDecimal(1)).isEqualTo(new BigDecimal("١٢"));
            }
            try (Result r = ps.query("1", "é")) {
                assertThatThrownBy(() -> r.row(0).getBigDecimal(1)).isInstanceOf(PgException.class);
            }
        }
    }

    @Test
    void executeSendsItsParametersEachTime() {
        db.execute("CREATE TABLE pr3 AS SELECT k, v FROM pr");
        try (PreparedStatement up = db.prepare("UPDATE pr3 SET v = $2 WHERE k = $1")) {
            for (int k = 1; k <= 10; k++) {
                assertThat(up.execute(k, "new " + k)).isEqualTo(1);
            }
            assertThat(up.execute(11, "none")).isZero();
        }
        try (Result r = db.query("SELECT string_agg(v, ',' ORDER BY k) FROM pr3")) {
            assertThat(r.row(0).getString(0)).isEqualTo("new 1,new 2,new 3,new 4,new 5,new 6,new 7,new 8,new 9,new 10");
        }
    }
}
