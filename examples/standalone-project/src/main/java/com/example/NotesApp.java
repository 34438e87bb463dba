package com.example;

import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;
import java.time.Instant;

/** An application of its own that keeps its notes in an embedded PostgreSQL database. */
public final class NotesApp {

    private NotesApp() {
    }

    public static void main(String[] args) {
        try (PgEmbedded db = PgEmbedded.open(java.nio.file.Path.of("target", "notes-db"))) {
            db.execute("CREATE TABLE IF NOT EXISTS notes (id bigserial PRIMARY KEY, at timestamptz, text text)");
            db.execute("INSERT INTO notes (at, text) VALUES ($1, $2)", Instant.now(),
                    args.length > 0 ? String.join(" ", args) : "hello from my own project");
            try (Result r = db.query("SELECT id, at, text FROM notes ORDER BY id")) {
                r.forEach(row -> System.out.printf("#%d  %s  %s%n", row.getLong(0), row.getInstant(1), row.getString(2)));
            }
        }
    }
}
