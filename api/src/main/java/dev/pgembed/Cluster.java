package dev.pgembed;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The PostgreSQL cluster of a database opened with several backends ({@link PgEmbedded.Builder#backends(int)}):
 * PostgreSQL's own postmaster inside this process ({@code pgembed_cluster_open}), which starts a backend of
 * its own for each session ({@code pgembed_connect}). It keeps the count of the database's backends within
 * the limit the builder set, knows the sessions it must end when the database closes, and tells a connect
 * that found no namespace left (53300: the caller shares a backend instead) from one that failed.
 *
 * <p>Every backend costs one of the process's link-map namespaces (see {@code pgembed_cluster_open}): 15
 * with {@code GLIBC_TUNABLES=glibc.rtld.nns=16} in the JVM's launch environment, 11 without, shared by every
 * database of the process; the postmaster and the checkpointer take two.
 */
final class Cluster {
    private static final System.Logger LOG = System.getLogger("dev.pgembed");
    /* pgembed_connect's "no namespace is left", and a server's "too many clients" */
    static final String NO_BACKEND_LEFT = "53300";
    /* "the database system is starting up / in recovery mode": a crash restart runs */
    private static final String NOT_ACCEPTING = "57P03";

    private final MemorySegment cluster;
    private final String label;
    private final int maxBackends;
    private final Set<PgSession> sessions = ConcurrentHashMap.newKeySet();
    private int backends; // under this
    private volatile boolean closed;

    private Cluster(MemorySegment cluster, String label, int maxBackends) {
        this.cluster = cluster;
        this.label = label;
        this.maxBackends = maxBackends;
    }

    /**
     * Starts the cluster in d, or returns null when the process has no namespace left for it (53300): the
     * caller opens the single-backend engine instead.
     */
    static Cluster open(
            Path d,
            Map<String, String> settings,
            int maxBackends,
            String label,
            long logContext,
            MemorySegment logCallback) {
        MemorySegment c;
        // a cluster's processes take namespaces of their own, beyond the reach of a 53300 retry
        SpareClusters.giveBackEngines();
        try {
            c = NativeEngines.clusterOpen(d, settings);
        } catch (PgException e) {
            if (NO_BACKEND_LEFT.equals(e.sqlState())) {
                LOG.log(
                        System.Logger.Level.INFO,
                        label + ": no namespace left for a cluster (" + e.getMessage()
                                + "); it runs one backend, shared by its sessions");
                return null;
            }
            throw e;
        }
        if (logCallback != null) {
            NativeEngines.setClusterLogCallback(c, logCallback, logContext);
        }
        return new Cluster(c, label, maxBackends);
    }

    /**
     * A new backend for database as user, with session settings, counted against the limit; null when the
     * limit or the process's namespace budget leaves none (the caller shares a backend), or the cluster closed.
     *
     * @throws PgException for any other failure (no such database or role, ...)
     */
    MemorySegment connect(String database, String user, Map<String, String> settings) {
        return connect(database, user, settings, false);
    }

    /* reserved: the database's own session, whose place the limit always keeps */
    private MemorySegment connect(String database, String user, Map<String, String> settings, boolean reserved) {
        synchronized (this) {
            if (closed || (!reserved && backends >= maxBackends)) {
                return null;
            }
            backends++;
        }
        boolean ok = false;
        try {
            MemorySegment e = NativeEngines.connect(cluster, database, user, settings);
            ok = true;
            return e;
        } catch (PgException e) {
            if (NO_BACKEND_LEFT.equals(e.sqlState())) {
                LOG.log(System.Logger.Level.DEBUG, label + ": no backend left (" + e.getMessage() + ")");
                return null;
            }
            throw e;
        } finally {
            if (!ok) {
                released();
            }
        }
    }

    /**
     * A backend for a session whose backend ended while the cluster goes on (a crash restart, a terminated
     * backend): waits, within the given time, while the cluster recovers (57P03).
     */
    MemorySegment reconnect(String database, String user, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        long pause = 10;
        while (true) {
            if (closed) {
                throw new IllegalStateException(label + " is closed");
            }
            try {
                MemorySegment e = connect(database, user, Map.of(), true);
                if (e != null) {
                    return e;
                }
                throw new PgException(NO_BACKEND_LEFT, "no backend is left for " + label + "'s own session");
            } catch (PgException e) {
                if (!NOT_ACCEPTING.equals(e.sqlState()) || System.nanoTime() - deadline > 0) {
                    throw e;
                }
            }
            try {
                TimeUnit.MILLISECONDS.sleep(pause);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new PgException("57014", "interrupted while " + label + " recovered");
            }
            pause = Math.min(200, pause * 2);
        }
    }

    /* a backend of the database ended: its place is free again */
    synchronized void released() {
        backends--;
    }

    /* the number of backends the database runs now */
    synchronized int backends() {
        return backends;
    }

    void add(PgSession s) {
        sessions.add(s);
    }

    void remove(PgSession s) {
        sessions.remove(s);
    }

    /*
     * ends the sessions still open, the database's own (own; null when it never connected), then the cluster
     * (its shutdown checkpoint); true for the call that closed it
     */
    /*
     * closes the sessions, then own (waiting for a call in flight at most wait, null: as long as it runs), then
     * the postmaster; false when closed before, or when own's call still ran after wait (the postmaster stays)
     */
    boolean close(Session own, Duration wait) {
        synchronized (this) {
            if (closed) {
                return false;
            }
            closed = true;
        }
        for (PgSession s : sessions) {
            s.close();
        }
        if (own != null && !own.close(wait) && own.isOpen()) {
            return false;
        }
        NativeEngines.clusterClose(cluster, label);
        return true;
    }

    /* cancels what every session of the database runs (at JVM exit) */
    void cancelAll() {
        for (PgSession s : sessions) {
            s.cancel();
        }
    }
}
