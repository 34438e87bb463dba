package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pgvector through the Java API: the extension, both index types in the planner, float[] parameters sent as
 * vectors in binary, vector columns read as float[] from their binary form, halfvec, sparsevec and bit.
 */
class VectorTest {
    static PgEmbedded db;

    @BeforeAll
    static void open() {
        db = PgEmbedded.inMemory().open();
        try (Result r = db.query("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")) {
            assumeTrue(r.row(0).getLong(0) == 1, "pgvector is not in this build");
        }
        db.execute("CREATE EXTENSION vector");
    }

    @AfterAll
    static void close() {
        if (db != null) {
            db.close();
        }
    }

    private static List<String> plan(String sql, Object... params) {
        List<String> lines = new ArrayList<>();
        try (Result r = db.query("EXPLAIN (COSTS OFF) " + sql, params)) {
            r.forEach(row -> lines.add(row.getString(0).strip()));
        }
        return lines;
    }

    private static List<Integer> ids(PreparedStatement ps, Object... params) {
        List<Integer> ids = new ArrayList<>();
        try (Result r = ps.query(params)) {
            r.forEach(row -> ids.add(row.getInt(0)));
        }
        return ids;
    }

    @Test
    void floatArraysGoInAndComeOutAsVectorsInBinary() {
        db.execute("CREATE TABLE v1 (id int PRIMARY KEY, embedding vector(3), half halfvec(3))");
        float[] a = {1.5f, -2f, 3.25e-5f};
        float[] b = {Float.MAX_VALUE, -Float.MIN_NORMAL, 0f};
        try (PreparedStatement ins = db.prepare("INSERT INTO v1 VALUES ($1, $2, $3)")) {
            ins.execute(1, a, a);
            ins.executeBatch(List.of(
                    new Object[] {2, b, new float[] {1f, 65504f, -0.5f}}, new Object[] {3, null, null}));
        }
        try (Result r = db.query("SELECT embedding, half, embedding::text, half::text FROM v1 ORDER BY id")) {
            // no text round trip: the columns came in binary
            assertThat(r.columns().get(0).format()).isEqualTo(1);
            assertThat(r.columns().get(1).format()).isEqualTo(1);
            assertThat(r.row(0).getObject(0)).isInstanceOf(float[].class).isEqualTo(a);
            assertThat(r.row(0).getFloatArray("embedding")).isEqualTo(a);
            assertThat(r.row(1).getFloatArray(0)).isEqualTo(b);
            // halfvec holds IEEE half floats: the values read back as what a half can hold
            assertThat(r.row(0).getFloatArray(1))
                    .containsExactly(1.5f, -2f, Float.float16ToFloat(Float.floatToFloat16(3.25e-5f)));
            assertThat(r.row(1).getFloatArray(1)).containsExactly(1f, 65504f, -0.5f);
            // getString of a binary vector gives what the server's output function gives
            for (int i = 0; i < 2; i++) {
                assertThat(r.row(i).getString(0)).isEqualTo(r.row(i).getString(2));
                assertThat(r.row(i).getString(1)).isEqualTo(r.row(i).getString(3));
            }
            assertThat(r.row(2).getObject(0)).isNull();
            assertThat(r.row(2).getFloatArray(1)).isNull();
        }
        // a wrong dimension count is the server's error
        assertThatThrownBy(() -> {
                    try (PreparedStatement ins = db.prepare("INSERT INTO v1 VALUES ($1, $2)")) {
                        ins.execute(4, new float[] {1f, 2f});
                    }
                })
                .isInstanceOf(PgException.class)
                .hasMessageContaining("expected 3 dimensions, not 2")
                .extracting(e -> ((PgException) e).sqlState())
                .isEqualTo("22000");
    }

    @Test
    void manyRandomVectorsSurviveExactly() {
        db.execute("CREATE TABLE v2 (id int PRIMARY KEY, embedding vector(384))");
        Random random = new Random(7);
        List<Object[]> rows = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            float[] v = new float[384];
            for (int j = 0; j < v.length; j++) {
                v[j] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(20) - 10));
            }
            rows.add(new Object[] {i, v});
        }
        try (PreparedStatement ins = db.prepare("INSERT INTO v2 VALUES ($1, $2)")) {
            ins.executeBatch(rows);
        }
        try (Result r = db.query("SELECT id, embedding FROM v2 ORDER BY id")) {
            for (Row row : r) {
                assertThat(row.getFloatArray(1)).isEqualTo((float[]) rows.get(row.getInt(0))[1]);
            }
        }
    }

    @Test
    void hnswAndIvfflatIndexesAreUsedWithAFloatArrayParameter() {
        db.execute("CREATE TABLE v3 (id int PRIMARY KEY, embedding vector(3))");
        db.execute(
                "INSERT INTO v3 SELECT i, ARRAY[sin(i), cos(i), (i % 97) / 10.0]::vector FROM generate_series(1, 2000) i");
        float[] q = {0.3f, -0.8f, 4.2f};
        String knn = "SELECT id FROM v3 ORDER BY embedding <-> $1 LIMIT 5";
        List<Integer> exact;
        try (PreparedStatement ps = db.prepare(knn)) {
            exact = ids(ps, (Object) q);
        }
        assertThat(exact).hasSize(5);
        try (Transaction tx = db.begin()) {
            tx.execute("SET LOCAL enable_seqscan = off");
            tx.execute("CREATE INDEX v3_hnsw ON v3 USING hnsw (embedding vector_l2_ops)");
            tx.execute("SET LOCAL hnsw.ef_search = 200");
            // ad hoc, a float[] is a real[]: pgvector's cast makes it a vector
            assertThat(plan("SELECT id FROM v3 ORDER BY embedding <-> $1::vector LIMIT 5", (Object) q))
                    .contains("->  Index Scan using v3_hnsw on v3");
            try (PreparedStatement ps = db.prepare(knn)) {
                assertThat(ids(ps, (Object) q)).isEqualTo(exact);
            }
            tx.execute("DROP INDEX v3_hnsw");
            tx.execute("CREATE INDEX v3_ivf ON v3 USING ivfflat (embedding vector_l2_ops) WITH (lists = 20)");
            tx.execute("SET LOCAL ivfflat.probes = 20");
            assertThat(plan("SELECT id FROM v3 ORDER BY embedding <-> '[0.3,-0.8,4.2]' LIMIT 5"))
                    .contains("->  Index Scan using v3_ivf on v3");
            try (PreparedStatement ps = db.prepare(knn)) {
                assertThat(ids(ps, (Object) q)).isEqualTo(exact);
            }
            tx.rollback();
        }
    }

    @Test
    void sparsevecAndBitAreReadable() {
        db.execute("CREATE TABLE v4 (id int, s sparsevec(5), b bit(4), vb varbit)");
        SparseVector s = new SparseVector(5, new int[] {0, 2}, new float[] {1.5f, 2f});
        db.execute("INSERT INTO v4 VALUES (1, $1, '1011', B'101')", s);
        try (PreparedStatement ins = db.prepare("INSERT INTO v4 (id, s) VALUES ($1, $2)")) {
            ins.execute(2, new float[] {0f, 0f, 0f, -1f, 0f}); // a float[] for a sparsevec parameter: made sparse
        }
        try (Result r = db.query("SELECT s, s::text, b, vb, b <~> B'0001', s <-> $1 FROM v4 ORDER BY id", s)) {
            assertThat(r.columns().get(0).format()).isEqualTo(1);
            assertThat(r.row(0).getObject(0)).isEqualTo(s);
            assertThat(r.row(0).getString(0))
                    .isEqualTo("{1:1.5,3:2}/5")
                    .isEqualTo(r.row(0).getString(1));
            assertThat(r.row(0).getFloatArray(0)).containsExactly(1.5f, 0f, 2f, 0f, 0f);
            assertThat(r.row(0).getObject(2)).isEqualTo("1011");
            assertThat(r.row(0).getString(3)).isEqualTo("101");
            assertThat(r.row(0).getDouble(4)).isEqualTo(2.0);
            assertThat(r.row(0).getDouble(5)).isZero();
            assertThat(r.row(1).getSparseVector("s")).isEqualTo(new SparseVector(5, new int[] {3}, new float[] {-1f}));
        }
    }

    @Test
    void typesCreatedLaterOrAgainAreFound() {
        try (PgEmbedded other = PgEmbedded.inMemory().open()) {
            // before the extension exists, a SparseVector cannot be sent
            assertThatThrownBy(() -> other.query("SELECT $1", new SparseVector(2, new int[] {0}, new float[] {1f})))
                    .isInstanceOf(PgException.class)
                    .hasMessageContaining("CREATE EXTENSION vector")
                    .extracting(e -> ((PgException) e).sqlState())
                    .isEqualTo("42704");
            // created inside a transaction block: read from the text form there, in binary after it
            other.transaction(tx -> {
                tx.execute("CREATE EXTENSION vector");
                try (Result r = tx.query("SELECT '[1,2]'::vector")) {
                    assertThat(r.row(0).getFloatArray(0)).containsExactly(1f, 2f);
                }
            });
            try (Result r = other.query("SELECT '[1,2]'::vector")) {
                assertThat(r.columns().get(0).format()).isEqualTo(1);
                assertThat(r.row(0).getObject(0)).isEqualTo(new float[] {1f, 2f});
            }
            // dropped and created again: new OIDs, found again
            other.execute("DROP EXTENSION vector");
            other.execute("CREATE EXTENSION vector");
            try (Result r = other.query(
                    "SELECT '[3]'::vector, $1::sparsevec", new SparseVector(2, new int[] {1}, new float[] {4f}))) {
                assertThat(r.columns().get(0).format()).isEqualTo(1);
                assertThat(r.row(0).getObject(0)).isEqualTo(new float[] {3f});
                assertThat(r.row(0).getObject(1)).isEqualTo(new SparseVector(2, new int[] {1}, new float[] {4f}));
            }
        }
    }

    @Test
    void anExistingDatabaseFindsItsTypesAtItsFirstStatement(@TempDir Path tmp) {
        Path with = tmp.resolve("with");
        Path without = tmp.resolve("without");
        try (PgEmbedded a = PgEmbedded.builder(with).durability(Durability.NONE).open();
                PgEmbedded b =
                        PgEmbedded.builder(without).durability(Durability.NONE).open()) {
            a.execute("CREATE EXTENSION vector");
            a.execute("CREATE TABLE v (x vector(2))");
            a.execute("INSERT INTO v VALUES ('[1,2]')");
            // a type named as one of the extension's, but not the extension's
            b.execute("CREATE TYPE vector AS (x int)");
        }
        // opened again: the lookup (its pg_extension probe first) runs before the first statement
        try (PgEmbedded a = PgEmbedded.builder(with).durability(Durability.NONE).open();
                Result r = a.query("SELECT x FROM v")) {
            assertThat(r.columns().get(0).format()).isEqualTo(1);
            assertThat(r.row(0).getObject(0)).isEqualTo(new float[] {1f, 2f});
        }
        try (PgEmbedded b =
                        PgEmbedded.builder(without).durability(Durability.NONE).open();
                Result r = b.query("SELECT ROW(7)::vector")) {
            assertThat(r.columns().get(0).format()).isZero();
            assertThat(r.row(0).getString(0)).isEqualTo("(7)");
        }
    }

    @Test
    void aFloatArrayStaysARealArrayWhereTheStatementSaysSo() {
        db.execute("CREATE TABLE v5 (r real[])");
        try (PreparedStatement ins = db.prepare("INSERT INTO v5 VALUES ($1)")) {
            ins.execute((Object) new float[] {1f, 2.5f});
        }
        try (Result r = db.query("SELECT r, $1 FROM v5", (Object) new float[] {3f})) {
            assertThat(r.row(0).getObject(0)).isEqualTo(new Float[] {1f, 2.5f});
            assertThat(r.row(0).getFloatArray(0)).containsExactly(1f, 2.5f);
            assertThat(r.row(0).getFloatArray(1)).containsExactly(3f);
        }
    }
}
