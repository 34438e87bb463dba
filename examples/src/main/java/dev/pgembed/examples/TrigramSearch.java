package dev.pgembed.examples;

import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;

/** An extension at work: pg_trgm fuzzy search with a trigram index. */
public final class TrigramSearch {

    private TrigramSearch() {}

    /**
     * Runs the example in an in-memory database.
     *
     * @param args an optional search term (default "postgress")
     */
    public static void main(String[] args) {
        String term = args.length > 0 ? args[0] : "postgress";
        try (PgEmbedded db = PgEmbedded.inMemory().open()) {
            db.execute("CREATE EXTENSION pg_trgm");
            db.execute("CREATE TABLE words (w text)");
            db.execute("""
                    INSERT INTO words SELECT unnest(string_to_array(
                    'postgres postgresql progress posture sqlite pglite embedded database
                     durable transaction vacuum checkpoint index trigram similarity', ' '))""");
            db.execute("CREATE INDEX words_trgm ON words USING gin (w gin_trgm_ops)");
            System.out.printf("Words similar to \"%s\":%n", term);
            try (Result r = db.query("""
                    SELECT w, round(similarity(w, $1)::numeric, 2)
                    FROM words WHERE w % $1 ORDER BY similarity(w, $1) DESC""", term)) {
                r.forEach(row -> System.out.printf("  %-12s %s%n", row.getString(0), row.getString(1)));
            }
        }
    }
}
