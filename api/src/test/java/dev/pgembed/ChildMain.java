package dev.pgembed;

import java.nio.file.Path;

/** Run in a child JVM by {@link ProcessTest}. */
public final class ChildMain {
    private ChildMain() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "open" -> {
                PgEmbedded.open(Path.of(args[1])).close();
                System.out.println("opened");
            }
            case "exit-while-busy" -> {
                PgEmbedded db = PgEmbedded.builder(Path.of(args[1])).durability(Durability.NONE).open();
                db.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
                Thread busy = new Thread(() -> {
                    try {
                        db.query("SELECT pg_sleep(60)");
                    } catch (RuntimeException e) {
                        System.out.println("busy thread: " + e.getMessage());
                    }
                });
                busy.setDaemon(true);
                busy.start();
                Thread.sleep(500);
                System.out.println("exiting");
                System.exit(0); // no close(): the shutdown hook closes it
            }
            case "workload-forever" -> {
                // a durable workload that runs until the process is signalled
                PgEmbedded db = PgEmbedded.open(Path.of(args[1]));
                db.execute("CREATE TABLE IF NOT EXISTS w (id bigserial PRIMARY KEY, v text)");
                System.out.println("pid " + ProcessHandle.current().pid());
                System.out.println("ready");
                System.out.flush();
                for (long i = 0; ; i++) {
                    db.execute("INSERT INTO w (v) VALUES ($1)", "row " + i);
                }
            }
            case "exit-idle" -> {
                PgEmbedded db = PgEmbedded.builder(Path.of(args[1])).durability(Durability.NONE).open();
                db.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
                System.out.println("exiting");
                System.exit(0);
            }
            case "close-other-thread" -> {
                PgEmbedded db = PgEmbedded.builder(Path.of(args[1])).durability(Durability.NONE).open();
                db.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
                Thread t = new Thread(db::close);
                t.start();
                t.join();
                System.out.println("closed");
                System.exit(0);
            }
            case "cancel-then-close" -> {
                PgEmbedded db = PgEmbedded.builder(Path.of(args[1])).durability(Durability.NONE).open();
                db.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
                Thread busy = new Thread(() -> {
                    try {
                        db.query("SELECT pg_sleep(60)");
                    } catch (RuntimeException e) {
                        System.out.println("busy thread: " + e.getMessage());
                    }
                });
                busy.start();
                Thread.sleep(500);
                db.cancel();
                busy.join();
                System.out.println("closing");
                db.close();
                System.out.println("closed");
            }
            case "sql-other-thread" -> {
                PgEmbedded db = PgEmbedded.builder(Path.of(args[1])).durability(Durability.NONE).open();
                Thread t = new Thread(() -> {
                    try (Result r = db.query(args[2])) {
                        System.out.println("other thread: " + r.row(0));
                    }
                });
                t.start();
                t.join();
                db.close();
                System.out.println("closed");
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
    }
}
