package dev.pgembed.examples;

import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;
import dev.pgembed.Transaction;
import java.math.BigDecimal;

/** Transactions: commit, rollback on exception, nested savepoints, and explicit begin/commit. */
public final class Transactions {

    private Transactions() {}

    /**
     * Runs the example in an in-memory database.
     *
     * @param args unused
     */
    public static void main(String[] args) {
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            db.execute("CREATE TABLE accounts (name text PRIMARY KEY, balance numeric CHECK (balance >= 0))");
            db.execute("INSERT INTO accounts VALUES ('alice', 100), ('bob', 50)");

            // committed together
            db.transaction(tx -> {
                tx.execute("UPDATE accounts SET balance = balance - $1 WHERE name = 'alice'", new BigDecimal("30"));
                tx.execute("UPDATE accounts SET balance = balance + $1 WHERE name = 'bob'", new BigDecimal("30"));
            });

            // the CHECK constraint fails: nothing of it remains
            try {
                db.transaction(tx -> {
                    tx.execute("UPDATE accounts SET balance = balance + 500 WHERE name = 'bob'");
                    tx.execute("UPDATE accounts SET balance = balance - 500 WHERE name = 'alice'");
                });
            } catch (RuntimeException e) {
                System.out.println("Transfer refused: " + e.getMessage());
            }

            // a nested transaction is a savepoint: its failure leaves the outer one alive
            db.transaction(outer -> {
                outer.execute("INSERT INTO accounts VALUES ('carol', 10)");
                try {
                    db.transaction(inner -> inner.execute("INSERT INTO accounts VALUES ('carol', 20)"));
                } catch (RuntimeException e) {
                    System.out.println("Inner part rolled back: " + e.getMessage());
                }
            });

            // explicit begin/commit
            try (Transaction tx = db.begin()) {
                tx.execute("UPDATE accounts SET balance = balance * 2 WHERE name = 'carol'");
                tx.commit();
            }

            try (Result r = db.query("SELECT name, balance FROM accounts ORDER BY name")) {
                r.forEach(row -> System.out.printf("  %-6s %s%n", row.getString(0), row.getBigDecimal(1)));
            }
        }
    }
}
