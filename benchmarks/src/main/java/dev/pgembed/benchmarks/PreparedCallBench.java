package dev.pgembed.benchmarks;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PreparedStatement;
import dev.pgembed.Result;
import dev.pgembed.Row;
import dev.pgembed.Transaction;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * What the Java API costs per execution of a prepared statement, with JMH's allocation profiler: {@code
 * gc.alloc.rate.norm} (bytes allocated per operation) does not depend on the machine's load, the times do.
 * Operations: {@code SELECT 1} read and closed; a point {@code SELECT k, v} by primary key; speed test 7's
 * {@code count(*), avg(b)} over a range (an index on b, about 25 rows a range); an {@code UPDATE} by key
 * through {@code execute}. All in one transaction of an in-memory database, rolled back at the end.
 *
 * <pre>mvn -q -B install -DskipTests &amp;&amp; mvn -q -B -pl benchmarks validate exec:exec -Dbench.main=dev.pgembed.benchmarks.PreparedCallBench</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class PreparedCallBench {
    private PgEmbedded db;
    private Transaction tx;
    private PreparedStatement select1;
    private PreparedStatement point;
    private PreparedStatement test7;
    private PreparedStatement update;
    private int i;

    /** Creates the benchmark's state (JMH calls it). */
    public PreparedCallBench() {}

    /** Opens the database, fills its tables and prepares the statements. */
    @Setup(Level.Trial)
    public void setUp() {
        db = PgEmbedded.inMemory().open();
        db.execute("CREATE TABLE kv (k int PRIMARY KEY, v text)");
        db.execute("INSERT INTO kv SELECT g, 'value ' || g FROM generate_series(1, 10000) g");
        db.execute("CREATE TABLE t2 (a int, b int, c varchar(100))");
        db.execute("INSERT INTO t2 SELECT g, (g * 7919) % 100000, 'x' || g FROM generate_series(1, 25000) g");
        db.execute("CREATE INDEX i2b ON t2 (b)");
        select1 = db.prepare("SELECT 1");
        point = db.prepare("SELECT k, v FROM kv WHERE k = $1");
        test7 = db.prepare("SELECT count(*), avg(b) FROM t2 WHERE b >= $1 AND b < $2");
        update = db.prepare("UPDATE kv SET v = $2 WHERE k = $1");
        tx = db.begin();
    }

    /** {@return SELECT 1's value} */
    @Benchmark
    public int select1() {
        try (Result r = select1.query()) {
            return r.row(0).getInt(0);
        }
    }

    /** {@return the row's key plus the length of its text} */
    @Benchmark
    public int pointSelect() {
        i = i == 10000 ? 1 : i + 1;
        try (Result r = point.query(i)) {
            Row row = r.row(0);
            return row.getInt(0) + row.getString(1).length();
        }
    }

    /** {@return the range's count plus its average's scale} */
    @Benchmark
    public long test7() {
        i = i >= 1250 ? 0 : i + 1;
        int lo = i * 80;
        try (Result r = test7.query(lo, lo + 100)) {
            Row row = r.row(0);
            return row.getLong(0) + (row.isNull(1) ? 0 : row.getBigDecimal(1).scale());
        }
    }

    /** {@return the rows updated} */
    @Benchmark
    public long executeUpdate() {
        i = i == 10000 ? 1 : i + 1;
        return update.execute(i, "v");
    }

    /** Rolls back and closes the database. */
    @TearDown(Level.Trial)
    public void tearDown() {
        tx.rollback();
        db.close();
    }

    /**
     * Runs the four operations with the allocation profiler, not forked.
     *
     * @param args none
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        new Runner(new OptionsBuilder()
                        .include(PreparedCallBench.class.getName())
                        .forks(0)
                        .threads(1)
                        .warmupIterations(2)
                        .warmupTime(TimeValue.seconds(1))
                        .measurementIterations(3)
                        .measurementTime(TimeValue.seconds(1))
                        .addProfiler(GCProfiler.class)
                        .build())
                .run();
    }
}
