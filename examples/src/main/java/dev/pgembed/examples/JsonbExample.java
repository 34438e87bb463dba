package dev.pgembed.examples;

import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;

/** jsonb documents: store, index, query with containment and path operators. */
public final class JsonbExample {

    private JsonbExample() {}

    /**
     * Runs the example in an in-memory database.
     *
     * @param args unused
     */
    public static void main(String[] args) {
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            db.execute("CREATE TABLE docs (id serial PRIMARY KEY, body jsonb NOT NULL)");
            db.execute("CREATE INDEX docs_body ON docs USING gin (body jsonb_path_ops)");
            String insert = "INSERT INTO docs (body) VALUES ($1::jsonb)";
            db.execute(insert, "{\"name\": \"pgembed\", \"tags\": [\"postgres\", \"jvm\"], \"stars\": 42}");
            db.execute(insert, "{\"name\": \"sqlite\", \"tags\": [\"c\", \"embedded\"], \"stars\": 9000}");
            db.execute(insert, "{\"name\": \"pglite\", \"tags\": [\"postgres\", \"wasm\"], \"stars\": 10000}");

            System.out.println("Documents tagged postgres:");
            try (Result r = db.query("""
                    SELECT body->>'name', (body->>'stars')::int
                    FROM docs WHERE body @> $1::jsonb ORDER BY 2 DESC""", "{\"tags\": [\"postgres\"]}")) {
                r.forEach(row -> System.out.printf("  %-8s %6d stars%n", row.getString(0), row.getInt(1)));
            }
            try (Result r =
                    db.query("SELECT jsonb_pretty(body) FROM docs WHERE body @? '$.stars ? (@ > 5000)' ORDER BY id")) {
                System.out.println("More than 5000 stars:");
                r.forEach(row -> System.out.println(row.getString(0)));
            }
        }
    }
}
