package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Every kind of API call in random order against a model of what each must do: statements with and without
 * parameters, prepared statements and batches, cursors, COPY in and out, transactions and savepoints,
 * cancels, failing statements and refused calls. Every step checks the call's own result (the row it
 * returned, the count it reported, the error it raised) and the transaction status, and the table is
 * compared with the model every few steps, so a statement that is silently lost, or runs twice, or a
 * refused one that had an effect, fails the run at the step that did it.
 *
 * <p>The seed is printed; {@code -Dpgembed.seed=N} replays a run, {@code -Dpgembed.steps=N} sets its length.
 */
class CallSequencesPropertyTest {
    private static final int KEYS = 64;

    private final long seed = Long.getLong("pgembed.seed", System.nanoTime());
    private final int steps = Integer.getInteger("pgembed.steps", 4000);
    private final Random rnd = new Random(seed);

    private PgEmbedded db;
    private PreparedStatement update;
    private PreparedStatement upsert;
    /* the table as the session sees it (in an open transaction: with its changes) */
    private TreeMap<Integer, Integer> table = new TreeMap<>();
    /* open transactions, innermost first, each with the state its rollback returns to */
    private final Deque<Open> open = new ArrayDeque<>();
    private boolean failed;
    private int step;
    private String what = "";
    private final Deque<String> history = new ArrayDeque<>();

    private record Open(Transaction tx, TreeMap<Integer, Integer> before) {}

    @Test
    void randomCallSequencesDoWhatTheModelSays() {
        System.out.println("CallSequencesPropertyTest: seed " + seed + " (-Dpgembed.seed=" + seed + " replays it), "
                + steps + " steps");
        try (PgEmbedded d = PgEmbedded.inMemory().open()) {
            db = d;
            db.execute("CREATE TABLE kv (k int PRIMARY KEY, v int NOT NULL)");
            update = db.prepare("UPDATE kv SET v = $2 WHERE k = $1");
            upsert = db.prepare("INSERT INTO kv VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v");
            for (step = 0; step < steps; step++) {
                try {
                    if (failed) {
                        afterFailure();
                    } else {
                        oneCall();
                    }
                } catch (RuntimeException e) {
                    throw new AssertionError(where() + " failed; the steps before it: " + history, e);
                }
                history.addLast(step + ": " + what);
                if (history.size() > 12) {
                    history.removeFirst();
                }
                assertThat(db.transactionStatus())
                        .as(where())
                        .isEqualTo(
                                open.isEmpty()
                                        ? TransactionStatus.IDLE
                                        : failed ? TransactionStatus.FAILED : TransactionStatus.IN_TRANSACTION);
                if (step % 16 == 0 && !failed) {
                    compareTable();
                }
            }
            while (!open.isEmpty()) {
                rollback();
            }
            compareTable();
        }
    }

    private String where() {
        return "seed " + seed + ", step " + step + ": " + what;
    }

    private int key() {
        return rnd.nextInt(KEYS);
    }

    /* in a failed transaction every statement is refused (25P02) until a rollback */
    private void afterFailure() {
        switch (rnd.nextInt(4)) {
            case 0 -> {
                what = "a statement in a failed transaction";
                expectError("25P02", () -> db.execute("SELECT 1"));
            }
            case 1 -> {
                if (open.size() == 1) {
                    what = "COMMIT of a failed transaction";
                    Open o = open.pop();
                    expectError("25P02", () -> {
                        o.tx().commit();
                        return null;
                    });
                    table = o.before();
                    failed = false;
                } else {
                    rollback();
                }
            }
            default -> rollback();
        }
    }

    private void rollback() {
        Open o = open.pop();
        what = open.isEmpty() ? "ROLLBACK" : "ROLLBACK TO SAVEPOINT";
        o.tx().rollback();
        table = o.before();
        failed = false;
    }

    private void oneCall() {
        int op = rnd.nextInt(20);
        what = "call " + op + " (nothing to do)";
        TreeMap<Integer, Integer> m = table;
        switch (op) {
            case 0, 1 -> { // INSERT ... RETURNING, extended protocol
                int k = key();
                int v = rnd.nextInt(1000);
                what = "query INSERT " + k + " RETURNING";
                if (m.containsKey(k)) {
                    expectError("23505", () -> db.query("INSERT INTO kv VALUES ($1, $2) RETURNING k, v", k, v));
                } else {
                    try (Result r = db.query("INSERT INTO kv VALUES ($1, $2) RETURNING k, v", k, v)) {
                        assertThat(r.commandTag()).as(where()).isEqualTo("INSERT 0 1");
                        assertThat(r.rowCount()).as(where()).isEqualTo(1);
                        assertThat(r.row(0).getInt(0)).as(where()).isEqualTo(k);
                        assertThat(r.row(0).getInt(1)).as(where()).isEqualTo(v);
                    }
                    m.put(k, v);
                }
            }
            case 2 -> { // execute with parameters, ON CONFLICT DO NOTHING
                int k = key();
                what = "execute INSERT " + k + " ON CONFLICT DO NOTHING";
                long n = db.execute("INSERT INTO kv VALUES ($1, $2) ON CONFLICT DO NOTHING", k, 7);
                assertThat(n).as(where()).isEqualTo(m.containsKey(k) ? 0 : 1);
                m.putIfAbsent(k, 7);
            }
            case 3 -> { // several statements, simple protocol: the count is the last one's
                int k = key();
                what = "execute two statements for " + k;
                long n = db.execute("DELETE FROM kv WHERE k = " + k + "; INSERT INTO kv VALUES (" + k + ", 5)");
                assertThat(n).as(where()).isEqualTo(1);
                m.put(k, 5);
            }
            case 4, 5 -> { // prepared statement
                int k = key();
                int v = rnd.nextInt(1000);
                what = "prepared UPDATE " + k;
                assertThat(update.execute(k, v)).as(where()).isEqualTo(m.containsKey(k) ? 1 : 0);
                m.computeIfPresent(k, (kk, old) -> v);
            }
            case 6 -> { // batch
                int n = 1 + rnd.nextInt(5);
                List<Object[]> sets = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    int k = key();
                    int v = rnd.nextInt(1000);
                    sets.add(new Object[] {k, v});
                    m.put(k, v);
                }
                what = "batch of " + n + " upserts";
                assertThat(upsert.executeBatch(sets)).as(where()).isEqualTo(n);
            }
            case 7 -> { // DELETE of a range
                int lo = key();
                int hi = lo + rnd.nextInt(6);
                what = "execute DELETE " + lo + ".." + hi;
                Map<Integer, Integer> gone = m.subMap(lo, true, hi, true);
                assertThat(db.execute("DELETE FROM kv WHERE k BETWEEN $1 AND $2", lo, hi))
                        .as(where())
                        .isEqualTo(gone.size());
                gone.clear();
            }
            case 8 -> { // cursor
                int from = key();
                int fetch = 1 + rnd.nextInt(4);
                what = "cursor from " + from + " fetching " + fetch;
                TreeMap<Integer, Integer> seen = new TreeMap<>();
                try (RowCursor c = db.cursor("SELECT k, v FROM kv WHERE k >= $1 ORDER BY k", fetch, from)) {
                    while (c.hasNext()) {
                        Row row = c.next();
                        seen.put(row.getInt(0), row.getInt(1));
                    }
                }
                assertThat(seen).as(where()).isEqualTo(m.tailMap(from, true));
            }
            case 9 -> { // COPY FROM STDIN, sometimes with a duplicate key (the COPY fails whole)
                List<Integer> keys = new ArrayList<>();
                StringBuilder data = new StringBuilder();
                int n = 1 + rnd.nextInt(4);
                boolean duplicate = false;
                for (int i = 0; i < n; i++) {
                    int k = key();
                    duplicate |= m.containsKey(k) || keys.contains(k);
                    keys.add(k);
                    data.append(k).append('\t').append(k * 2).append('\n');
                }
                what = "copyIn " + keys;
                if (duplicate) {
                    expectError("23505", () -> db.copyIn("COPY kv FROM STDIN", new StringReader(data.toString())));
                } else {
                    assertThat(db.copyIn("COPY kv FROM STDIN", new StringReader(data.toString())))
                            .as(where())
                            .isEqualTo(n);
                    keys.forEach(k -> m.put(k, k * 2));
                }
            }
            case 10 -> { // COPY TO STDOUT
                what = "copyOut";
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                long n = db.copyOut("COPY (SELECT k, v FROM kv ORDER BY k) TO STDOUT", out);
                StringBuilder want = new StringBuilder();
                m.forEach((k, v) -> want.append(k).append('\t').append(v).append('\n'));
                assertThat(n).as(where()).isEqualTo(m.size());
                assertThat(out.toString(StandardCharsets.UTF_8)).as(where()).isEqualTo(want.toString());
            }
            case 11 -> { // a failing statement
                what = "a division by zero";
                expectError("22012", () -> db.query("SELECT k / 0 FROM kv UNION ALL SELECT 1 / 0"));
            }
            case 12 -> refusedCall(m);
            case 13 -> { // cancel with nothing running: no later statement is affected
                what = "cancel while idle";
                db.cancel();
            }
            case 14 -> {
                if (rnd.nextInt(8) == 0) {
                    cancelRunning();
                } else {
                    what = "query count";
                    try (Result r = db.query("SELECT count(*), coalesce(sum(v), 0) FROM kv")) {
                        assertThat(r.row(0).getLong(0)).as(where()).isEqualTo(m.size());
                        assertThat(r.row(0).getLong(1))
                                .as(where())
                                .isEqualTo(m.values().stream()
                                        .mapToLong(Integer::longValue)
                                        .sum());
                    }
                }
            }
            case 15, 16 -> { // BEGIN, or a SAVEPOINT inside one
                if (open.size() < 3) {
                    what = open.isEmpty() ? "BEGIN" : "SAVEPOINT";
                    open.push(new Open(db.begin(), new TreeMap<>(m)));
                }
            }
            case 17, 18 -> { // COMMIT, or RELEASE SAVEPOINT
                if (!open.isEmpty()) {
                    what = open.size() == 1 ? "COMMIT" : "RELEASE SAVEPOINT";
                    open.pop().tx().commit();
                }
            }
            default -> {
                if (!open.isEmpty()) {
                    rollback();
                }
            }
        }
    }

    /* a call the API refuses: no effect; those refused by the backend fail an open transaction */
    private void refusedCall(TreeMap<Integer, Integer> m) {
        String copyIn = "COPY kv FROM STDIN";
        String copyOut = "COPY (DELETE FROM kv RETURNING k) TO STDOUT";
        switch (rnd.nextInt(8)) {
            case 0 -> {
                what = "query COPY FROM STDIN";
                expectError("0A000", () -> db.query(copyIn));
            }
            case 1 -> {
                what = "execute COPY TO STDOUT of a DELETE";
                expectError("0A000", () -> db.execute(copyOut));
            }
            case 2 -> {
                what = "cursor over COPY FROM STDIN";
                expectError("0A000", () -> db.cursor(copyIn, 2));
            }
            case 3 -> {
                what = "prepared COPY TO STDOUT of a DELETE";
                try (PreparedStatement p = db.prepare(copyOut)) {
                    expectError("0A000", p::execute);
                }
            }
            case 4 -> {
                what = "copyOut of a COPY FROM STDIN";
                expectError("42601", () -> db.copyOut(copyIn, new ByteArrayOutputStream()));
            }
            case 5 -> {
                what = "copyIn of a COPY TO STDOUT of a DELETE";
                expectError("42601", () -> db.copyIn(copyOut, new StringReader("")));
            }
            case 6 -> { // refused before anything is sent: an open transaction goes on
                what = "a parameter with an unpaired surrogate";
                expectRefusedUnsent("22021", () -> db.execute("INSERT INTO kv VALUES ($1::int, 1)", "\uD800"));
            }
            default -> {
                what = "too many parameters";
                expectRefusedUnsent("54000", () -> db.execute("SELECT 1", new Object[65536]));
            }
        }
    }

    /* a statement cancelled while it runs fails with 57014; nothing after it is cancelled */
    private void cancelRunning() {
        what = "cancel a running pg_sleep";
        AtomicBoolean done = new AtomicBoolean();
        Thread canceller = new Thread(() -> {
            while (!done.get()) {
                db.cancel();
                Thread.onSpinWait();
            }
        });
        canceller.start();
        try {
            expectError("57014", () -> db.query("SELECT pg_sleep(30)"));
        } finally {
            done.set(true);
            try {
                canceller.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void expectError(String sqlState, Supplier<Object> call) {
        PgException e = error(call);
        assertThat(e.sqlState()).as(where() + ": " + e.getMessage()).isEqualTo(sqlState);
        if (!open.isEmpty()) {
            failed = true;
        }
    }

    private void expectRefusedUnsent(String sqlState, Supplier<Object> call) {
        PgException e = error(call);
        assertThat(e.sqlState()).as(where() + ": " + e.getMessage()).isEqualTo(sqlState);
    }

    private PgException error(Supplier<Object> call) {
        Object r;
        try {
            r = call.get();
        } catch (PgException e) {
            return e;
        }
        if (r instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception ignored) {
                // the failure below is the one to report
            }
        }
        return fail(where() + ": no error; returned " + r);
    }

    private void compareTable() {
        what = "compare the table with the model";
        TreeMap<Integer, Integer> actual = new TreeMap<>();
        try (Result r = db.query("SELECT k, v FROM kv")) {
            for (Row row : r) {
                actual.put(row.getInt(0), row.getInt(1));
            }
        }
        assertThat(actual).as(where()).isEqualTo(table);
    }
}
