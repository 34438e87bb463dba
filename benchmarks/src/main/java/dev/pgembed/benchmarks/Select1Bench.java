package dev.pgembed.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * {@code SELECT 1} through a prepared statement of an in-process engine, in JMH's SampleTime mode. Run
 * without forking (the harness passes the targets through {@link #TARGETS}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class Select1Bench {
    /** Targets by id, filled by the harness before JMH runs. */
    static final Map<String, Target> TARGETS = new ConcurrentHashMap<>();

    static volatile Path workDir;

    @Param({"pgembed-durable"})
    public String target;

    private Engine engine;
    private Engine.Stmt stmt;
    private Path dir;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Target t = TARGETS.get(target);
        if (t == null) {
            throw new IllegalStateException("unknown target " + target);
        }
        dir = Files.createTempDirectory(workDir, "jmh-" + target + "-");
        engine = t.opener().open(dir).engine();
        stmt = engine.prepare("SELECT 1");
    }

    @Benchmark
    public int select1() throws Exception {
        return stmt.query();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        stmt.close();
        engine.close();
        Benchmarks.deleteTree(dir);
    }
}
