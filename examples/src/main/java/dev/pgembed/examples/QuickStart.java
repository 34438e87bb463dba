package dev.pgembed.examples;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PgException;
import dev.pgembed.Result;
import dev.pgembed.Row;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.LocalDate;

/**
 * The first program to run: a real PostgreSQL database inside this JVM.
 *
 * <p>Opens (or creates) a database in {@code quickstart-db/}, creates a table, inserts with
 * parameters, queries and prints a table, then shows a rolled-back transaction and a caught error
 * with its SQLSTATE.
 */
public final class QuickStart {

    private QuickStart() {}

    /**
     * Runs the quick start.
     *
     * @param args an optional directory for the database (default {@code quickstart-db})
     */
    public static void main(String[] args) {
        Path dir = Path.of(args.length > 0 ? args[0] : "quickstart-db");
        long start = System.nanoTime();
        try (PgEmbedded db = PgEmbedded.builder(dir)
                .noticeListener(n -> System.out.printf("  (%s: %s)%n", n.severity(), n.message()))
                .open()) {
            System.out.printf(
                    "Opened %s in %d ms: %s%n",
                    dir.toAbsolutePath(), (System.nanoTime() - start) / 1_000_000, firstValue(db, "SELECT version()"));

            // what is committed stays: this counter survives every run
            db.execute("CREATE TABLE IF NOT EXISTS runs (at timestamptz NOT NULL DEFAULT now())");
            db.execute("INSERT INTO runs DEFAULT VALUES");
            System.out.printf(
                    "This is run #%s of the quick start on this database.%n%n",
                    firstValue(db, "SELECT count(*) FROM runs"));

            db.execute("DROP TABLE IF EXISTS books");
            db.execute("""
                    CREATE TABLE books (
                        id        int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        title     text NOT NULL UNIQUE,
                        published date,
                        price     numeric(6,2)
                    )""");
            String insert = "INSERT INTO books (title, published, price) VALUES ($1, $2, $3)";
            db.execute(insert, "The Art of PostgreSQL", LocalDate.of(2019, 6, 1), new BigDecimal("39.90"));
            db.execute(insert, "SQL Performance Explained", LocalDate.of(2012, 1, 1), new BigDecimal("29.95"));
            db.execute(insert, "Designing Data-Intensive Applications", LocalDate.of(2017, 3, 16), null);

            try (Result books = db.query("SELECT id, title, published, price FROM books ORDER BY published")) {
                printTable(books);
            }

            // a transaction that fails is rolled back as a whole
            try {
                db.transaction(tx -> {
                    tx.execute(insert, "Learning SQL", LocalDate.of(2020, 4, 1), new BigDecimal("45.00"));
                    tx.execute("UPDATE books SET price = price / 0");
                });
            } catch (PgException e) {
                System.out.printf(
                        "%nRolled back: %s (SQLSTATE %s); still %s books%n",
                        e.getMessage(), e.sqlState(), firstValue(db, "SELECT count(*) FROM books"));
            }

            // errors carry everything PostgreSQL reports
            try {
                db.execute(insert, "The Art of PostgreSQL", null, null);
            } catch (PgException e) {
                System.out.printf(
                        "Caught: %s%n  SQLSTATE %s, constraint %s, detail: %s%n",
                        e.getMessage(), e.sqlState(), e.constraint(), e.detail());
            }
        }
        System.out.println("\nClosed. Run it again: the run counter goes on, it is a real database on disk.");
    }

    private static String firstValue(PgEmbedded db, String sql) {
        try (Result r = db.query(sql)) {
            return r.row(0).getString(0);
        }
    }

    private static void printTable(Result result) {
        int n = result.columnCount();
        int[] widths = new int[n];
        String[][] cells = new String[result.rowCount()][n];
        for (int c = 0; c < n; c++) {
            widths[c] = result.columns().get(c).name().length();
        }
        for (Row row : result) {
            for (int c = 0; c < n; c++) {
                String v = row.isNull(c) ? "NULL" : row.getString(c);
                cells[row.index()][c] = v;
                widths[c] = Math.max(widths[c], v.length());
            }
        }
        StringBuilder line = new StringBuilder("+");
        for (int w : widths) {
            line.append("-".repeat(w + 2)).append('+');
        }
        System.out.println(line);
        StringBuilder header = new StringBuilder("|");
        for (int c = 0; c < n; c++) {
            header.append(' ')
                    .append(pad(result.columns().get(c).name(), widths[c]))
                    .append(" |");
        }
        System.out.println(header);
        System.out.println(line);
        for (String[] row : cells) {
            StringBuilder b = new StringBuilder("|");
            for (int c = 0; c < n; c++) {
                b.append(' ').append(pad(row[c], widths[c])).append(" |");
            }
            System.out.println(b);
        }
        System.out.println(line);
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(width - s.length());
    }
}
