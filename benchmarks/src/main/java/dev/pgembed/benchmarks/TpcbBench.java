package dev.pgembed.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * A TPC-B-like benchmark: pgbench's tables and its default transaction (update an account, read it back,
 * update a teller and a branch, insert a history row), with 1, 2, 4 and 8 client threads, each with a JDBC
 * connection of its own, on pgembed DURABLE and RELAXED (a database with several backends: each connection a
 * real backend of its own), the stock PostgreSQL server of the same build over its Unix socket, and SQLite in
 * WAL mode ({@code synchronous=FULL}, {@code BEGIN IMMEDIATE}). The scale (branches) is
 * {@code PGEMBED_TPCB_SCALE} (default 8, so that 8 clients need not queue on one branch row), each cell runs
 * {@code PGEMBED_TPCB_SECONDS} (default 5) after a one-second warm-up; the figure is committed transactions per
 * second. Serialization failures and deadlocks (none expected: every transaction touches its rows in the same
 * order) are retried and counted.
 *
 * <p>The server is the staged EXEC_BACKEND build (fork+exec per connection): the clients connect once, before
 * the timed part, so its connection cost is not in the figures, and a backend's work per transaction is the
 * same code as a normal build's.
 *
 * <pre>GLIBC_TUNABLES=glibc.rtld.nns=16 mvn -q -B -pl benchmarks validate exec:exec -Dbench.main=dev.pgembed.benchmarks.TpcbBench</pre>
 * (after {@code mvn -q -B install -DskipTests}; without the tunable the process has 11 namespaces and the
 * 8-thread pgembed cell falls back to shared backends for some connections).
 */
public final class TpcbBench {
    private static final int[] THREADS = {1, 2, 4, 8};
    private static final int ACCOUNTS_PER_BRANCH = 100_000;
    private static final int TELLERS_PER_BRANCH = 10;

    private TpcbBench() {}

    /** One database under test: its URL for each client, and how it begins a transaction. */
    private record Side(String name, String url, String begin) {}

    /**
     * Runs the table and prints it as Markdown.
     *
     * @param args none
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        int scale = Integer.parseInt(System.getenv().getOrDefault("PGEMBED_TPCB_SCALE", "8"));
        int seconds = Integer.parseInt(System.getenv().getOrDefault("PGEMBED_TPCB_SECONDS", "5"));
        String only = System.getenv().getOrDefault("PGEMBED_TPCB_SIDES", "durable,relaxed,server,sqlite");
        // readable by all: the server runs as nobody when we are root
        Path work = Files.createTempDirectory(
                "pgembed-tpcb-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        // a backend per client thread, the loading connection kept open, and the database's own
        int backends = THREADS[THREADS.length - 1] + 2;
        List<String> rows = new ArrayList<>();
        PgServer server = null;
        try {
            List<Side> sides = new ArrayList<>();
            if (only.contains("durable")) {
                sides.add(new Side(
                        "pgembed DURABLE",
                        "jdbc:pgembed:" + work.resolve("durable") + "?backends=" + backends + "&durability=durable",
                        null));
            }
            if (only.contains("relaxed")) {
                sides.add(new Side(
                        "pgembed RELAXED",
                        "jdbc:pgembed:" + work.resolve("relaxed") + "?backends=" + backends + "&durability=relaxed",
                        null));
            }
            if (only.contains("server")) {
                server = PgServer.start(PgServer.findTree(), work);
                sides.add(new Side("server (Unix socket)", server.unixUrl("postgres") + "&user=postgres", null));
            }
            if (only.contains("sqlite")) {
                sides.add(new Side("SQLite WAL", "jdbc:sqlite:" + work.resolve("tpcb.sqlite"), "BEGIN IMMEDIATE"));
            }
            for (Side s : sides) {
                StringBuilder row = new StringBuilder("| " + s.name() + " |");
                try (Connection keep = DriverManager.getConnection(s.url())) {
                    load(keep, scale, s.begin() != null);
                    double first = 0;
                    double last = 0;
                    for (int t : THREADS) {
                        last = run(s, t, scale, seconds);
                        if (t == 1) {
                            first = last;
                        }
                        row.append(String.format(Locale.ROOT, " %.0f |", last));
                    }
                    row.append(String.format(Locale.ROOT, " %.2f |", last / first));
                }
                rows.add(row.toString());
                System.err.println(row);
            }
        } finally {
            if (server != null) {
                server.close();
            }
            Benchmarks.deleteTree(work);
        }
        System.out.println("TPC-B-like (pgbench's transaction), scale " + scale + ", " + seconds
                + " s per cell, transactions/s; " + Runtime.getRuntime().availableProcessors() + " CPUs");
        System.out.println();
        System.out.println("| database | 1 thread | 2 threads | 4 threads | 8 threads | 8 / 1 |");
        System.out.println("|---|---:|---:|---:|---:|---:|");
        rows.forEach(System.out::println);
    }

    /* pgbench's tables (-i), filled by the database itself */
    private static void load(Connection c, int scale, boolean sqlite) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS pgbench_history");
            s.execute("DROP TABLE IF EXISTS pgbench_tellers");
            s.execute("DROP TABLE IF EXISTS pgbench_accounts");
            s.execute("DROP TABLE IF EXISTS pgbench_branches");
            s.execute("CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))");
            s.execute("CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84))");
            s.execute("CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))");
            s.execute("CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp,"
                    + " filler char(22))");
            if (sqlite) {
                s.execute("PRAGMA journal_mode=WAL");
                s.execute("PRAGMA synchronous=FULL");
                s.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + scale + ")"
                        + " INSERT INTO pgbench_branches SELECT i, 0, '' FROM n");
                s.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
                        + scale * TELLERS_PER_BRANCH + ") INSERT INTO pgbench_tellers SELECT i, (i - 1) / "
                        + TELLERS_PER_BRANCH + " + 1, 0, '' FROM n");
                s.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
                        + scale * ACCOUNTS_PER_BRANCH + ") INSERT INTO pgbench_accounts SELECT i, (i - 1) / "
                        + ACCOUNTS_PER_BRANCH + " + 1, 0, '' FROM n");
            } else {
                s.execute("INSERT INTO pgbench_branches SELECT i, 0, '' FROM generate_series(1, " + scale + ") i");
                s.execute("INSERT INTO pgbench_tellers SELECT i, (i - 1) / " + TELLERS_PER_BRANCH + " + 1, 0, ''"
                        + " FROM generate_series(1, " + scale * TELLERS_PER_BRANCH + ") i");
                s.execute("INSERT INTO pgbench_accounts SELECT i, (i - 1) / " + ACCOUNTS_PER_BRANCH + " + 1, 0, ''"
                        + " FROM generate_series(1, " + scale * ACCOUNTS_PER_BRANCH + ") i");
                s.execute("VACUUM ANALYZE");
                s.execute("CHECKPOINT");
            }
        }
    }

    /* committed transactions per second of threads clients, each on a connection of its own */
    private static double run(Side side, int threads, int scale, int seconds) throws Exception {
        AtomicBoolean timing = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        LongAdder committed = new LongAdder();
        LongAdder retried = new LongAdder();
        CountDownLatch ready = new CountDownLatch(threads);
        List<Thread> clients = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(
                    () -> {
                        try (Connection c = DriverManager.getConnection(side.url())) {
                            Client client = new Client(c, side.begin());
                            ready.countDown();
                            ThreadLocalRandom rnd = ThreadLocalRandom.current();
                            while (!stop.get()) {
                                int bid = rnd.nextInt(scale) + 1;
                                int tid = (bid - 1) * TELLERS_PER_BRANCH + rnd.nextInt(TELLERS_PER_BRANCH) + 1;
                                int aid = rnd.nextInt(scale * ACCOUNTS_PER_BRANCH) + 1;
                                int delta = rnd.nextInt(-5000, 5001);
                                if (client.transaction(aid, bid, tid, delta)) {
                                    if (timing.get()) {
                                        committed.increment();
                                    }
                                } else {
                                    retried.increment();
                                }
                            }
                            client.close();
                        } catch (Throwable e) {
                            ready.countDown();
                            synchronized (failures) {
                                failures.add(e);
                            }
                        }
                    },
                    "tpcb-" + i);
            clients.add(t);
            t.start();
        }
        ready.await();
        Thread.sleep(1000);
        timing.set(true);
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        timing.set(false);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        stop.set(true);
        for (Thread t : clients) {
            t.join();
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException(side.name() + ", " + threads + " threads failed", failures.get(0));
        }
        if (retried.sum() > 0) {
            System.err.println(side.name() + ", " + threads + " threads: " + retried.sum() + " retried");
        }
        return committed.sum() / elapsed;
    }

    /** One client's prepared statements. */
    private static final class Client {
        private final Connection c;
        private final String begin;
        private final PreparedStatement account;
        private final PreparedStatement read;
        private final PreparedStatement teller;
        private final PreparedStatement branch;
        private final PreparedStatement history;
        private final Statement plain;

        Client(Connection c, String begin) throws SQLException {
            this.c = c;
            this.begin = begin;
            plain = c.createStatement();
            if (begin == null) {
                c.setAutoCommit(false);
            } else {
                plain.execute("PRAGMA busy_timeout=10000");
            }
            account = c.prepareStatement("UPDATE pgbench_accounts SET abalance = abalance + ? WHERE aid = ?");
            read = c.prepareStatement("SELECT abalance FROM pgbench_accounts WHERE aid = ?");
            teller = c.prepareStatement("UPDATE pgbench_tellers SET tbalance = tbalance + ? WHERE tid = ?");
            branch = c.prepareStatement("UPDATE pgbench_branches SET bbalance = bbalance + ? WHERE bid = ?");
            history = c.prepareStatement("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime)"
                    + " VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)");
        }

        /* true when committed; false when it must be retried (a serialization failure, a deadlock, busy) */
        boolean transaction(int aid, int bid, int tid, int delta) throws SQLException {
            try {
                if (begin != null) {
                    plain.execute(begin);
                }
                account.setInt(1, delta);
                account.setInt(2, aid);
                account.executeUpdate();
                read.setInt(1, aid);
                try (ResultSet rs = read.executeQuery()) {
                    rs.next();
                }
                teller.setInt(1, delta);
                teller.setInt(2, tid);
                teller.executeUpdate();
                branch.setInt(1, delta);
                branch.setInt(2, bid);
                branch.executeUpdate();
                history.setInt(1, tid);
                history.setInt(2, bid);
                history.setInt(3, aid);
                history.setInt(4, delta);
                history.executeUpdate();
                if (begin != null) {
                    plain.execute("COMMIT");
                } else {
                    c.commit();
                }
                return true;
            } catch (SQLException e) {
                String state = e.getSQLState();
                boolean retry = "40001".equals(state)
                        || "40P01".equals(state)
                        || (begin != null
                                && e.getMessage() != null
                                && e.getMessage().contains("SQLITE_BUSY"));
                if (begin != null) {
                    try {
                        plain.execute("ROLLBACK");
                    } catch (SQLException ignored) {
                        // no transaction left to roll back
                    }
                } else {
                    c.rollback();
                }
                if (!retry) {
                    throw e;
                }
                return false;
            }
        }

        void close() throws SQLException {
            if (begin == null) {
                c.rollback();
            }
            c.close();
        }
    }
}
