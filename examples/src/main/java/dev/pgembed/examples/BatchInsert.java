package dev.pgembed.examples;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.PreparedStatement;
import dev.pgembed.Result;
import java.util.ArrayList;
import java.util.List;

/** A prepared batch insert of 100 000 rows in one transaction, with the time it took. */
public final class BatchInsert {

    private BatchInsert() {}

    /**
     * Runs the example in an in-memory database.
     *
     * @param args unused
     */
    public static void main(String[] args) {
        try (PgEmbedded db =
                PgEmbedded.inMemory().durability(Durability.DURABLE).open()) {
            db.execute("CREATE TABLE events (id bigint PRIMARY KEY, kind text, amount double precision)");
            List<Object[]> rows = new ArrayList<>(100_000);
            for (long i = 0; i < 100_000; i++) {
                rows.add(new Object[] {i, i % 3 == 0 ? "click" : "view", i * 0.5});
            }
            long start = System.nanoTime();
            long inserted = db.transactionResult(tx -> {
                try (PreparedStatement insert = tx.prepare("INSERT INTO events VALUES ($1, $2, $3)")) {
                    return insert.executeBatch(rows);
                }
            });
            System.out.printf("Inserted %,d rows in %d ms%n", inserted, (System.nanoTime() - start) / 1_000_000);
            try (Result r = db.query("SELECT kind, count(*), sum(amount) FROM events GROUP BY kind ORDER BY kind")) {
                r.forEach(row -> System.out.printf(
                        "  %-5s %,7d rows, amount %,.1f%n", row.getString(0), row.getLong(1), row.getDouble(2)));
            }
        }
    }
}
