package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pgvector through JDBC: the extension, its types as pgjdbc sees them, and both index types in the planner. */
class VectorJdbcTest {

    /* a connection to a fresh database with the extension created (the test skips when the build has none) */
    private static Connection withVector(Path dir) throws Exception {
        Connection c = DriverManager.getConnection("jdbc:pgembed:" + dir.resolve("db"));
        try (Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")) {
                rs.next();
                assumeTrue(rs.getInt(1) == 1, "pgvector is not in this build");
            }
            st.execute("CREATE EXTENSION vector");
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
        return c;
    }

    /* the first column of every row of a query, as text */
    private static List<String> column(Statement st, String sql) throws Exception {
        List<String> values = new ArrayList<>();
        try (ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                values.add(rs.getString(1));
            }
        }
        return values;
    }

    private static List<String> plan(Statement st, String sql) throws Exception {
        return column(st, "EXPLAIN (COSTS OFF) " + sql).stream()
                .map(String::strip)
                .toList();
    }

    private static List<Integer> ids(Statement st, String sql) throws Exception {
        return column(st, sql).stream().map(Integer::valueOf).toList();
    }

    @Test
    void createExtensionInsertAndSearchWithBothIndexes(@TempDir Path dir) throws Exception {
        try (Connection c = withVector(dir);
                Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT extversion FROM pg_extension WHERE extname = 'vector'")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).matches("\\d+\\.\\d+\\.\\d+");
            }
            st.execute("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))");
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO items VALUES (?, ?)")) {
                // a vector as its text form (Types.OTHER: the server types the parameter from the column)
                ins.setInt(1, 1);
                ins.setObject(2, "[1,0,0]", Types.OTHER);
                ins.executeUpdate();
                // a float4 array, converted by pgvector's cast from real[]
                ins.setInt(1, 2);
                ins.setArray(2, c.createArrayOf("float4", new Float[] {0f, 1f, 0f}));
                ins.executeUpdate();
            }
            st.execute(
                    "INSERT INTO items SELECT i, ARRAY[sin(i), cos(i), i % 7]::vector FROM generate_series(3, 1000) i");

            String knn = "SELECT id FROM items ORDER BY embedding <-> '[0.9,0.1,0]' LIMIT 3";
            try (ResultSet rs =
                    st.executeQuery("SELECT embedding, embedding <-> '[0.9,0.1,0]' FROM items WHERE id = 1")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("[1,0,0]");
                assertThat(rs.getDouble(2)).isCloseTo(Math.sqrt(0.02), org.assertj.core.data.Offset.offset(1e-6));
            }
            List<Integer> exact = ids(st, knn);
            assertThat(exact).hasSize(3).doesNotHaveDuplicates();

            st.execute("CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_l2_ops)");
            st.execute("SET enable_seqscan = off");
            assertThat(plan(st, knn)).contains("->  Index Scan using items_hnsw on items");
            st.execute("SET hnsw.ef_search = 200"); // wide enough that the approximate search finds the exact three
            assertThat(ids(st, knn)).isEqualTo(exact);

            st.execute("DROP INDEX items_hnsw");
            st.execute("CREATE INDEX items_ivfflat ON items USING ivfflat (embedding vector_l2_ops) WITH (lists = 10)");
            st.execute("SET ivfflat.probes = 10");
            assertThat(plan(st, knn)).contains("->  Index Scan using items_ivfflat on items");
            assertThat(ids(st, knn)).isEqualTo(exact);
        }
    }

    @Test
    void halfvecSparsevecAndBitReadAsText(@TempDir Path dir) throws Exception {
        try (Connection c = withVector(dir);
                Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT '[1.5,2,3]'::halfvec, '{1:1.5,3:2}/5'::sparsevec, B'1011',"
                    + " B'1011' <~> B'0001', '[1,2]'::halfvec <-> '[2,2]'")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("[1.5,2,3]");
                assertThat(rs.getString(2)).isEqualTo("{1:1.5,3:2}/5");
                assertThat(rs.getString(3)).isEqualTo("1011");
                assertThat(rs.getDouble(4)).isEqualTo(2.0);
                assertThat(rs.getDouble(5)).isEqualTo(1.0);
            }
        }
    }
}
