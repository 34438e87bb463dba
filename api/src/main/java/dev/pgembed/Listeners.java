package dev.pgembed;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The process-wide {@link PgEmbeddedListener}s and the calls to them. Each call is guarded: a listener that
 * throws is logged (at WARNING the first time, at DEBUG after that) and the others still run. With no listener
 * registered, an event costs one volatile read.
 */
final class Listeners {
    private static final System.Logger LOG = System.getLogger("dev.pgembed");

    /** A registered listener, and whether its failure was logged at WARNING already. */
    private record Entry(PgEmbeddedListener listener, boolean[] warned) {}

    /* copy on write, under the class's lock; read without it */
    private static volatile Entry[] entries = new Entry[0];
    /* the databases whose engineOpened was sent and engineClosed not yet (under the class's lock) */
    private static final Set<PgEmbedded> OPEN = Collections.newSetFromMap(new IdentityHashMap<>());

    private Listeners() {}

    /*
     * Engine events and registration hold the class's lock, so that a listener added while databases open and
     * close sees each database's engineOpened once, before its engineClosed.
     */
    static synchronized void add(PgEmbeddedListener l) {
        for (Entry e : entries) {
            if (e.listener() == l) {
                return;
            }
        }
        Entry entry = new Entry(l, new boolean[1]);
        List<Entry> next = new ArrayList<>(List.of(entries));
        next.add(entry);
        entries = next.toArray(new Entry[0]);
        for (PgEmbedded db : OPEN) {
            guarded(entry, "engineOpened", () -> l.engineOpened(db));
        }
    }

    static synchronized boolean remove(PgEmbeddedListener l) {
        List<Entry> next = new ArrayList<>(List.of(entries));
        boolean removed = next.removeIf(e -> e.listener() == l);
        entries = next.toArray(new Entry[0]);
        return removed;
    }

    static boolean none() {
        return entries.length == 0;
    }

    static synchronized void engineOpened(PgEmbedded db) {
        if (!OPEN.add(db)) {
            return;
        }
        for (Entry e : entries) {
            guarded(e, "engineOpened", () -> e.listener().engineOpened(db));
        }
    }

    static synchronized void engineClosed(PgEmbedded db) {
        if (!OPEN.remove(db)) {
            return;
        }
        for (Entry e : entries) {
            guarded(e, "engineClosed", () -> e.listener().engineClosed(db));
        }
    }

    static void turnWaitStarted(PgEmbedded db) {
        for (Entry e : entries) {
            guarded(e, "turnWaitStarted", () -> e.listener().turnWaitStarted(db));
        }
    }

    static void turnWaitEnded(PgEmbedded db, long nanos, boolean gotTurn) {
        for (Entry e : entries) {
            guarded(e, "turnWaitEnded", () -> e.listener().turnWaitEnded(db, nanos, gotTurn));
        }
    }

    static void statementsSucceeded(PgEmbedded db, int count) {
        for (Entry e : entries) {
            guarded(e, "statementsSucceeded", () -> e.listener().statementsSucceeded(db, count));
        }
    }

    static void statementFailed(PgEmbedded db, String sqlState) {
        for (Entry e : entries) {
            guarded(e, "statementFailed", () -> e.listener().statementFailed(db, sqlState));
        }
    }

    private static void guarded(Entry e, String event, Runnable call) {
        try {
            call.run();
        } catch (RuntimeException | LinkageError t) {
            boolean first = !e.warned()[0];
            e.warned()[0] = true;
            LOG.log(
                    first ? System.Logger.Level.WARNING : System.Logger.Level.DEBUG,
                    "pgembed listener " + e.listener() + " failed in " + event
                            + (first ? " (later failures are logged at DEBUG)" : ""),
                    t);
        }
    }
}
