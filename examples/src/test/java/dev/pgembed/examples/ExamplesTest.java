package dev.pgembed.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs every example, so that none of them rots. */
class ExamplesTest {

    private static String run(Runnable main) {
        PrintStream original = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            main.run();
        } finally {
            System.setOut(original);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        original.print(text);
        return text;
    }

    @Test
    void quickStartTwice(@TempDir Path dir) {
        String db = dir.resolve("quickstart-db").toString();
        String first = run(() -> QuickStart.main(new String[] {db}));
        assertThat(first)
                .contains("PostgreSQL 18.6")
                .contains("run #1")
                .contains("SQL Performance Explained")
                .contains("SQLSTATE 22012")
                .contains("SQLSTATE 23505");
        assertThat(run(() -> QuickStart.main(new String[] {db}))).contains("run #2");
    }

    @Test
    void batchInsert() {
        assertThat(run(() -> BatchInsert.main(new String[0]))).contains("Inserted 100,000 rows");
    }

    @Test
    void jsonb() {
        assertThat(run(() -> JsonbExample.main(new String[0])))
                .contains("pglite")
                .contains("More than 5000 stars");
    }

    @Test
    void trigramSearch() {
        assertThat(run(() -> TrigramSearch.main(new String[0]))).contains("postgres");
    }

    @Test
    void vectorSearch() {
        // a small data set: the example's own default is 100 000 rows of 384 dimensions
        String out = run(() -> VectorSearch.main(new String[] {"2000", "32", "20"}));
        assertThat(out).contains("Stored 2,000 random 32-dimension embeddings", "Index Scan using items_embedding_idx");
        double recall = Double.parseDouble(out.replaceAll("(?s).*ef_search 200: .*recall@10 ([0-9.]+).*", "$1"));
        assertThat(recall).isGreaterThan(0.9);
    }

    @Test
    void transactions() {
        assertThat(run(() -> Transactions.main(new String[0])))
                .contains("Transfer refused")
                .contains("Inner part rolled back")
                .contains("carol  20");
    }

    @Test
    void onlineBackup() throws Exception {
        String out = run(() -> {
            try {
                OnlineBackup.main(new String[0]);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        int before = Integer.parseInt(out.replaceAll("(?s).*Rows committed before the backup started: (\\d+).*", "$1"));
        long held = Long.parseLong(out.replaceAll("(?s).*The backup holds (\\d+) rows.*", "$1"));
        assertThat(held).isGreaterThanOrEqualTo(before);
    }
}
