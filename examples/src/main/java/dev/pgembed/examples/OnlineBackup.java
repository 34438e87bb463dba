package dev.pgembed.examples;

import dev.pgembed.PgEmbedded;
import dev.pgembed.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/** An online backup: one thread keeps writing while another copies the open database, then the copy opens. */
public final class OnlineBackup {

    private OnlineBackup() {}

    /**
     * Runs the example in a temporary directory.
     *
     * @param args unused
     * @throws Exception when the example fails
     */
    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory("pgembed-backup-example");
        Path live = work.resolve("live");
        Path copy = work.resolve("backup");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger written = new AtomicInteger();
        try {
            try (PgEmbedded db = PgEmbedded.open(live)) {
                db.execute("CREATE TABLE events (id int PRIMARY KEY, at timestamptz DEFAULT now())");
                Thread writer = Thread.ofPlatform().name("writer").start(() -> {
                    for (int id = 1; !stop.get(); id++) {
                        db.execute("INSERT INTO events (id) VALUES ($1)", id);
                        written.set(id);
                    }
                });
                while (written.get() < 200) {
                    Thread.sleep(1);
                }
                int before = written.get();
                long t0 = System.nanoTime();
                db.backup(copy); // the writer goes on meanwhile
                long ms = (System.nanoTime() - t0) / 1_000_000;
                int during = written.get() - before;
                stop.set(true);
                writer.join();
                System.out.printf("Backed up in %d ms while the writer committed %d more rows%n", ms, during);
                System.out.printf("Rows committed before the backup started: %d%n", before);
            }
            try (PgEmbedded restored = PgEmbedded.open(copy); // replays the WAL written during the copy
                    Result r = restored.query("SELECT count(*), max(id) FROM events")) {
                System.out.printf(
                        "The backup holds %d rows (ids up to %d)%n",
                        r.row(0).getLong(0), r.row(0).getInt(1));
            }
        } finally {
            deleteTree(work);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
