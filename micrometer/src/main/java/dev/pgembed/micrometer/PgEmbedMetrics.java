package dev.pgembed.micrometer;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PgEmbeddedListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Micrometer meters for every pgembed database of the process (a {@link PgEmbeddedListener}):
 *
 * <table>
 * <caption>Meters</caption>
 * <tr><th>name</th><th>type</th><th>tags</th><th>what</th></tr>
 * <tr><td>{@value #ENGINES_OPEN}</td><td>gauge</td><td></td><td>databases (engines) open now</td></tr>
 * <tr><td>{@value #SESSIONS_WAITING}</td><td>gauge</td><td></td><td>callers (threads of the direct API, JDBC
 * connections) waiting now for their turn on a database's session</td></tr>
 * <tr><td>{@value #SESSION_WAIT}</td><td>timer</td><td>{@code outcome}: {@code acquired}, {@code failed}</td>
 * <td>how long callers waited for their turn; {@code failed}: they gave up (the transaction wait timeout,
 * SQLSTATE 55P03; an interrupt; the database closed). Callers whose turn was free at once are not timed.</td></tr>
 * <tr><td>{@value #STATEMENTS}</td><td>counter</td><td>{@code outcome}: {@code success}, {@code error}</td>
 * <td>statements run (what counts: {@link PgEmbeddedListener})</td></tr>
 * <tr><td>{@value #ERRORS}</td><td>counter</td><td>{@code sqlstate}</td><td>failed statements by SQLSTATE</td></tr>
 * </table>
 *
 * <p>The meters carry no tag per database, so that test suites opening a database per test do not add a time
 * series per test; the tags given to the constructor go on every meter.
 *
 * <pre>{@code
 * PgEmbedMetrics metrics = new PgEmbedMetrics();
 * metrics.bindTo(registry);        // counts from now on, for databases open already and opened later
 * ...
 * metrics.close();                 // stops counting
 * }</pre>
 *
 * <p>With the Spring Boot starter and Spring Boot's actuator, a bean of this class is there by itself.
 */
public final class PgEmbedMetrics implements MeterBinder, AutoCloseable {
    /** Gauge: databases open now. */
    public static final String ENGINES_OPEN = "pgembed.engines.open";
    /** Gauge: callers waiting now for their turn. */
    public static final String SESSIONS_WAITING = "pgembed.sessions.waiting";
    /** Timer: the waits for a turn. */
    public static final String SESSION_WAIT = "pgembed.session.wait";
    /** Counter: statements. */
    public static final String STATEMENTS = "pgembed.statements";
    /** Counter: failed statements, by SQLSTATE. */
    public static final String ERRORS = "pgembed.errors";

    private final Tags tags;
    private final Set<PgEmbedded> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger waiting = new AtomicInteger();
    private final List<Meters> bound = new CopyOnWriteArrayList<>();
    private final Listener listener = new Listener();
    private final AtomicBoolean listening = new AtomicBoolean();

    /** Meters without tags of their own. */
    public PgEmbedMetrics() {
        this(Tags.empty());
    }

    /**
     * Meters with these tags.
     *
     * @param tags tags for every meter
     */
    public PgEmbedMetrics(Iterable<Tag> tags) {
        this.tags = Tags.of(tags);
    }

    /** The meters of one registry. */
    private record Meters(MeterRegistry registry, Counter succeeded, Counter failed, Timer acquired, Timer gaveUp) {}

    /**
     * Registers the meters in a registry (several registries may be bound) and starts counting.
     *
     * @param registry the registry
     */
    @Override
    public void bindTo(MeterRegistry registry) {
        if (bound.stream().noneMatch(m -> m.registry() == registry)) {
            Gauge.builder(ENGINES_OPEN, open, Set::size)
                    .tags(tags)
                    .description("pgembed databases open")
                    .register(registry);
            Gauge.builder(SESSIONS_WAITING, waiting, AtomicInteger::get)
                    .tags(tags)
                    .description("callers waiting for their turn on a pgembed database's session")
                    .register(registry);
            bound.add(new Meters(
                    registry,
                    statements(registry, "success"),
                    statements(registry, "error"),
                    waits(registry, "acquired"),
                    waits(registry, "failed")));
        }
        if (listening.compareAndSet(false, true)) {
            PgEmbedded.addListener(listener);
        }
    }

    private Counter statements(MeterRegistry registry, String outcome) {
        return Counter.builder(STATEMENTS)
                .tags(tags)
                .tag("outcome", outcome)
                .description("pgembed statements")
                .register(registry);
    }

    private Timer waits(MeterRegistry registry, String outcome) {
        return Timer.builder(SESSION_WAIT)
                .tags(tags)
                .tag("outcome", outcome)
                .description("waits for a turn on a pgembed database's session")
                .register(registry);
    }

    /** Stops counting (the meters stay in their registries; the gauges read 0). */
    @Override
    public void close() {
        if (listening.compareAndSet(true, false)) {
            PgEmbedded.removeListener(listener);
            open.clear();
            waiting.set(0);
        }
    }

    /* the events, turned into meter updates */
    private final class Listener implements PgEmbeddedListener {
        @Override
        public void engineOpened(PgEmbedded db) {
            open.add(db);
        }

        @Override
        public void engineClosed(PgEmbedded db) {
            open.remove(db);
        }

        @Override
        public void turnWaitStarted(PgEmbedded db) {
            waiting.incrementAndGet();
        }

        @Override
        public void turnWaitEnded(PgEmbedded db, long nanos, boolean gotTurn) {
            waiting.updateAndGet(n -> Math.max(0, n - 1)); // a wait begun before a close() ends after it
            for (Meters m : bound) {
                (gotTurn ? m.acquired() : m.gaveUp()).record(nanos, TimeUnit.NANOSECONDS);
            }
        }

        @Override
        public void statementsSucceeded(PgEmbedded db, int count) {
            for (Meters m : bound) {
                m.succeeded().increment(count);
            }
        }

        @Override
        public void statementFailed(PgEmbedded db, String sqlState) {
            for (Meters m : bound) {
                m.failed().increment();
                Counter.builder(ERRORS)
                        .tags(tags)
                        .tag("sqlstate", sqlState)
                        .description("failed pgembed statements by SQLSTATE")
                        .register(m.registry())
                        .increment();
            }
        }

        @Override
        public String toString() {
            return "PgEmbedMetrics";
        }
    }
}
