package dev.pgembed;

import dev.pgembed.internal.bindings.PgEmbeddedH;
import dev.pgembed.internal.bindings.pgembed_log_fn;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;

/*
 * The native calls that make and end engines and clusters, and the log callbacks of the process: the other door
 * to the generated bindings, as private to its role as NativeSession is to calls on one open engine (which it
 * hands to a NativeSession). Each call's native error, returned through an out-parameter, becomes a PgException.
 */
final class NativeEngines {
    private static final System.Logger LOG = System.getLogger("dev.pgembed");
    /* the server log levels a log callback receives that Instances tells apart (PGEMBED_LOG_*) */
    static final int LOG_DEBUG5 = PgEmbeddedH.PGEMBED_LOG_DEBUG5();
    static final int LOG_DEBUG2 = PgEmbeddedH.PGEMBED_LOG_DEBUG2();
    static final int LOG_FATAL = PgEmbeddedH.PGEMBED_LOG_FATAL();
    static final int LOG_PANIC = PgEmbeddedH.PGEMBED_LOG_PANIC();

    private NativeEngines() {}

    /*
     * starts an engine on d (a cluster) with settings "name=value"; returns it, or throws its error. An open
     * that finds the namespace budget spent (53300) while a spare engine holds a namespace gets it back first.
     */
    static MemorySegment open(Path d, String database, String role, Map<String, String> settings) {
        try {
            return openOnce(d, database, role, settings);
        } catch (PgException e) {
            if (!NO_NAMESPACE.equals(e.sqlState()) || !SpareClusters.giveBackEngines()) {
                throw e;
            }
            return openOnce(d, database, role, settings);
        }
    }

    private static final String NO_NAMESPACE = "53300";

    /* open() without giving back a spare engine: the spare's own start */
    static MemorySegment openOnce(Path d, String database, String role, Map<String, String> settings) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment arr = settingStrings(arena, settings);
            MemorySegment errOut = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment e = PgEmbeddedH.pgembed_open_as(
                    arena.allocateFrom(d.toString()),
                    database == null ? MemorySegment.NULL : arena.allocateFrom(database),
                    role == null ? MemorySegment.NULL : arena.allocateFrom(role),
                    settings.size(),
                    arr,
                    errOut);
            if (e.address() == 0) {
                throw nativeError(errOut.get(ValueLayout.ADDRESS, 0), "could not open " + d);
            }
            return e;
        }
    }

    /* native "name=value" strings of settings, in arena */
    private static MemorySegment settingStrings(Arena arena, Map<String, String> settings) {
        MemorySegment arr = arena.allocate(ValueLayout.ADDRESS, Math.max(1, settings.size()));
        int i = 0;
        for (Map.Entry<String, String> s : settings.entrySet()) {
            arr.setAtIndex(ValueLayout.ADDRESS, i++, arena.allocateFrom(s.getKey() + "=" + s.getValue()));
        }
        return arr;
    }

    /* starts the postmaster of the cluster in d with settings; returns it, or throws its error (53300: no namespace) */
    static MemorySegment clusterOpen(Path d, Map<String, String> settings) {
        try {
            return clusterOpenOnce(d, settings);
        } catch (PgException e) {
            if (!NO_NAMESPACE.equals(e.sqlState()) || !SpareClusters.giveBackEngines()) {
                throw e;
            }
            return clusterOpenOnce(d, settings);
        }
    }

    private static MemorySegment clusterOpenOnce(Path d, Map<String, String> settings) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errOut = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment c = PgEmbeddedH.pgembed_cluster_open(
                    arena.allocateFrom(d.toString()), settings.size(), settingStrings(arena, settings), errOut);
            if (c.address() == 0) {
                throw nativeError(errOut.get(ValueLayout.ADDRESS, 0), "could not start the cluster of " + d);
            }
            return c;
        }
    }

    /*
     * a new backend of a cluster, for database (null: postgres) as user (null: postgres), with session settings;
     * returns its engine, or throws its error (53300: no namespace left for it; 57P03: the cluster is not
     * accepting connections, during recovery)
     */
    static MemorySegment connect(MemorySegment cluster, String database, String user, Map<String, String> settings) {
        try {
            return connectOnce(cluster, database, user, settings);
        } catch (PgException e) {
            if (!NO_NAMESPACE.equals(e.sqlState()) || !SpareClusters.giveBackEngines()) {
                throw e;
            }
            return connectOnce(cluster, database, user, settings);
        }
    }

    private static MemorySegment connectOnce(
            MemorySegment cluster, String database, String user, Map<String, String> settings) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errOut = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment e = PgEmbeddedH.pgembed_connect(
                    cluster,
                    database == null ? MemorySegment.NULL : arena.allocateFrom(database),
                    user == null ? MemorySegment.NULL : arena.allocateFrom(user),
                    settings.size(),
                    settingStrings(arena, settings),
                    errOut);
            if (e.address() == 0) {
                throw nativeError(errOut.get(ValueLayout.ADDRESS, 0), "could not connect a backend");
            }
            return e;
        }
    }

    /* a fast shutdown of the cluster (its shutdown checkpoint); an error is logged, not thrown */
    static void clusterClose(MemorySegment cluster, String label) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errOut = arena.allocate(ValueLayout.ADDRESS);
            if (PgEmbeddedH.pgembed_cluster_close(cluster, errOut) != 0) {
                MemorySegment err = errOut.get(ValueLayout.ADDRESS, 0);
                String msg = err.address() == 0 ? "unknown error" : PgException.field(err, 'M');
                if (err.address() != 0) {
                    PgEmbeddedH.pgembed_error_free(err);
                }
                LOG.log(System.Logger.Level.WARNING, label + ": the shutdown reported an error: " + msg);
            }
        }
    }

    /* the cluster's processes log through callback, with context as its first argument */
    static void setClusterLogCallback(MemorySegment cluster, MemorySegment callback, long context) {
        PgEmbeddedH.pgembed_cluster_set_log_callback(cluster, callback, MemorySegment.ofAddress(context));
    }

    static boolean isCluster(Path d) {
        try (Arena arena = Arena.ofConfined()) {
            return PgEmbeddedH.pgembed_is_cluster(arena.allocateFrom(d.toString())) != 0;
        }
    }

    /*
     * A new cluster, on disk before this returns (DURABLE), flushed by a thread of its own right after
     * (RELAXED: as its commits, a power loss in those milliseconds may cost it), or left to the kernel (NONE)
     */
    static void createCluster(Path d, Durability durability) {
        int flush = switch (durability) {
            case DURABLE -> PgEmbeddedH.PGEMBED_FLUSH_NOW();
            case RELAXED -> PgEmbeddedH.PGEMBED_FLUSH_SOON();
            case NONE -> PgEmbeddedH.PGEMBED_FLUSH_NEVER();
        };
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errOut = arena.allocate(ValueLayout.ADDRESS);
            if (PgEmbeddedH.pgembed_create_cluster_flush(arena.allocateFrom(d.toString()), flush, errOut) != 0) {
                throw nativeError(errOut.get(ValueLayout.ADDRESS, 0), "could not create a cluster in " + d);
            }
        }
    }

    /* an error returned through an out-parameter: copied, then freed */
    private static PgException nativeError(MemorySegment err, String fallback) {
        if (err.address() == 0) {
            return new PgException("58000", fallback);
        }
        try {
            return PgException.fromNative(err, false);
        } finally {
            PgEmbeddedH.pgembed_error_free(err);
        }
    }

    /** Receives an engine's log line; must not throw (it runs as an upcall from native code). */
    @FunctionalInterface
    interface LogLine {
        void log(MemorySegment context, int elevel, MemorySegment line);
    }

    /* a native function pointer that calls f, alive as long as the JVM */
    static MemorySegment logCallback(LogLine f) {
        return pgembed_log_fn.allocate(f::log, Arena.global());
    }

    /* the callback of engines without one of their own (those still starting); NULL for none */
    static void setDefaultLogCallback(MemorySegment callback) {
        PgEmbeddedH.pgembed_set_default_log_callback(callback, MemorySegment.NULL);
    }
}
