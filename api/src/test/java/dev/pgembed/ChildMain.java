package dev.pgembed;

import java.nio.file.Path;
import java.util.List;

/** Run in a child JVM by {@link ProcessTest} and the reliability tests. */
public final class ChildMain {
    private ChildMain() {}

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "open" -> {
                PgEmbedded.open(Path.of(args[1])).close();
                System.out.println("opened");
            }
            case "exit-while-busy" -> {
                PgEmbedded db = openWithARow(args[1]);
                Thread busy = sleeper(db);
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
            case "memory-databases-forever" -> {
                // in-memory databases under args[1], open until the process is killed
                for (int i = 0; i < Integer.parseInt(args[2]); i++) {
                    PgEmbedded db = PgEmbedded.inMemory()
                            .memoryDirectory(Path.of(args[1]))
                            .open();
                    db.execute("CREATE TABLE t AS SELECT generate_series(1, 1000) AS x");
                    try (Result r = db.query("SHOW dynamic_shared_memory_type")) {
                        System.out.println(
                                "dir " + db.directory() + " " + r.row(0).getString(0));
                    }
                }
                System.out.println("ready");
                System.out.flush();
                Thread.sleep(Long.MAX_VALUE);
            }
            case "disk-database-forever" -> {
                // a disk database on args[1] with args[2] backends, open until the process is killed
                PgEmbedded db = PgEmbedded.builder(Path.of(args[1]))
                        .backends(Integer.parseInt(args[2]))
                        .open();
                try (Result r = db.query("SHOW dynamic_shared_memory_type")) {
                    System.out.println("dsm " + r.row(0).getString(0));
                }
                System.out.println("ready");
                System.out.flush();
                Thread.sleep(Long.MAX_VALUE);
            }
            case "exit-idle" -> {
                PgEmbedded db = openWithARow(args[1]);
                System.out.println("exiting");
                System.exit(0);
            }
            case "close-other-thread" -> {
                PgEmbedded db = openWithARow(args[1]);
                Thread t = new Thread(db::close);
                t.start();
                t.join();
                System.out.println("closed");
                System.exit(0);
            }
            case "cancel-then-close" -> {
                PgEmbedded db = openWithARow(args[1]);
                Thread busy = sleeper(db);
                busy.start();
                Thread.sleep(500);
                db.cancel();
                busy.join();
                System.out.println("closing");
                db.close();
                System.out.println("closed");
            }
            case "sql-other-thread" -> {
                PgEmbedded db = PgEmbedded.builder(Path.of(args[1]))
                        .durability(Durability.NONE)
                        .open();
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
            case "acked-inserts" -> ackedInserts(Path.of(args[1]), Durability.valueOf(args[2]));
            case "cluster-writers" ->
                clusterWriters(Path.of(args[1]), Durability.valueOf(args[2]), Integer.parseInt(args[3]));
            case "open-until-refused" -> openUntilRefused(Integer.parseInt(args[1]));
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    /**
     * Opens up to {@code max} in-memory databases at once until an open is refused; prints
     * "opened N" and then "refused SQLSTATE message", or "refused none". See EngineBudgetTest.
     */
    private static void openUntilRefused(int max) {
        java.util.List<PgEmbedded> open = new java.util.ArrayList<>();
        String refusal = "none";
        try {
            for (int i = 0; i < max; i++) {
                open.add(PgEmbedded.inMemory().durability(Durability.NONE).open());
            }
        } catch (PgException e) {
            refusal = e.sqlState() + " " + e.getMessage();
        } finally {
            System.out.println("opened " + open.size());
            System.out.println("refused " + refusal);
            open.forEach(PgEmbedded::close);
        }
    }

    /**
     * Commits transactions until the process is killed, each inserting one row and counting it in a tally
     * row, and prints "ack id" only after its commit returned. See ReliabilityKillTest.
     */
    private static void ackedInserts(Path dir, Durability durability) {
        PgEmbedded db = PgEmbedded.builder(dir).durability(durability).open();
        db.execute("CREATE TABLE IF NOT EXISTS acked (id bigint PRIMARY KEY, k int NOT NULL, pad text NOT NULL);"
                + " CREATE INDEX IF NOT EXISTS acked_k ON acked (k);"
                + " CREATE TABLE IF NOT EXISTS tally (k int PRIMARY KEY, n bigint NOT NULL);"
                + " INSERT INTO tally SELECT g, 0 FROM generate_series(0, 9) g ON CONFLICT DO NOTHING");
        long id;
        try (Result r = db.query("SELECT coalesce(max(id), 0) + 1 FROM acked")) {
            id = r.row(0).getLong(0);
        }
        System.out.println("ready " + id);
        System.out.flush();
        java.util.SplittableRandom random = new java.util.SplittableRandom(id);
        try (PreparedStatement insert = db.prepare("INSERT INTO acked VALUES ($1, $2, $3)");
                PreparedStatement count = db.prepare("UPDATE tally SET n = n + 1 WHERE k = $1")) {
            for (; ; id++) {
                long current = id;
                int k = (int) (current % 10);
                // sizes from a few bytes to past the TOAST threshold, so that TOAST is exercised too
                StringBuilder pad = new StringBuilder();
                for (int n = 1 + random.nextInt(random.nextInt(8) == 0 ? 600 : 20); n > 0; n--) {
                    pad.append(Long.toHexString(random.nextLong()));
                }
                db.transaction(tx -> {
                    insert.execute(current, k, pad.toString());
                    count.execute(k);
                });
                System.out.println("ack " + current);
                System.out.flush();
            }
        }
    }

    /**
     * Opens the database with a backend for each of {@code writers} sessions (and its own), then runs one
     * thread per session, each committing numbered rows {@code (writer, seq)} and counting them in its tally
     * row, and printing "ack writer seq" only after the commit returned; until the process is killed. Prints
     * "ready N" first, N the sessions that got a backend of their own. See ReliabilityClusterKillTest.
     */
    private static void clusterWriters(Path dir, Durability durability, int writers) throws InterruptedException {
        PgEmbedded db = PgEmbedded.builder(dir)
                .durability(durability)
                .backends(writers + 1)
                .open();
        db.execute("CREATE TABLE IF NOT EXISTS written (writer int, seq bigint, k int NOT NULL, pad text NOT NULL,"
                + " PRIMARY KEY (writer, seq));"
                + " CREATE INDEX IF NOT EXISTS written_k ON written (k);"
                + " CREATE TABLE IF NOT EXISTS tally (writer int PRIMARY KEY, n bigint NOT NULL);"
                + " INSERT INTO tally SELECT g, 0 FROM generate_series(0, " + (writers - 1)
                + ") g ON CONFLICT DO NOTHING");
        long[] next = new long[writers];
        java.util.Arrays.fill(next, 1);
        try (Result r = db.query("SELECT writer, max(seq) + 1 FROM written GROUP BY writer")) {
            r.forEach(row -> next[row.getInt(0)] = row.getLong(1));
        }
        List<PgSession> sessions = new java.util.ArrayList<>();
        for (int w = 0; w < writers; w++) {
            sessions.add(db.session());
        }
        System.out.println(
                "ready " + sessions.stream().filter(PgSession::hasOwnBackend).count());
        System.out.flush();
        List<Thread> threads = new java.util.ArrayList<>();
        for (int w = 0; w < writers; w++) {
            int writer = w;
            PgSession s = sessions.get(w);
            threads.add(Thread.ofPlatform().name("writer-" + w).start(() -> writeUntilKilled(s, writer, next[writer])));
        }
        for (Thread t : threads) {
            t.join();
        }
    }

    /* one writer of clusterWriters: its rows from seq on, one transaction each */
    private static void writeUntilKilled(PgSession s, int writer, long seq) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(writer * 1_000_003L + seq);
        try (PreparedStatement insert = s.prepare("INSERT INTO written VALUES ($1, $2, $3, $4)");
                PreparedStatement count = s.prepare("UPDATE tally SET n = n + 1 WHERE writer = $1")) {
            for (; ; seq++) {
                long current = seq;
                // a few bytes to past the TOAST threshold, so that TOAST is exercised too
                StringBuilder pad = new StringBuilder();
                for (int n = 1 + random.nextInt(random.nextInt(8) == 0 ? 600 : 20); n > 0; n--) {
                    pad.append(Long.toHexString(random.nextLong()));
                }
                s.transaction(tx -> {
                    insert.execute(writer, current, random.nextInt(1000), pad.toString());
                    count.execute(writer);
                });
                System.out.println("ack " + writer + " " + current);
            }
        } catch (RuntimeException e) {
            System.out.println("writer " + writer + " failed: " + e);
            throw e;
        }
    }

    /** A database (no durability: the tests kill or exit, they do not measure) holding t = {1}. */
    private static PgEmbedded openWithARow(String dir) {
        PgEmbedded db =
                PgEmbedded.builder(Path.of(dir)).durability(Durability.NONE).open();
        db.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
        return db;
    }

    /** An unstarted thread that sleeps a minute in a statement and prints how the statement ended. */
    private static Thread sleeper(PgEmbedded db) {
        return new Thread(() -> {
            try {
                db.query("SELECT pg_sleep(60)");
            } catch (RuntimeException e) {
                System.out.println("busy thread: " + e.getMessage());
            }
        });
    }
}
