package dev.pgembed;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What pgembed keeps per process rather than per database: the open instances, the names their engines' log
 * lines carry, the one log callback stub shared by every engine, and the shutdown hook that closes what is
 * still open when the JVM exits.
 */
final class Instances {
    private static final System.Logger LOG = System.getLogger("dev.pgembed");
    private static final Set<PgEmbedded> OPEN = ConcurrentHashMap.newKeySet();
    private static final Map<Long, String> NAMES = new ConcurrentHashMap<>();
    private static final AtomicLong IDS = new AtomicLong();
    private static volatile MemorySegment logStub;
    private static boolean hookInstalled;

    private Instances() {}

    static long nextId() {
        return IDS.incrementAndGet();
    }

    /* the log callback stub (ensureLogStub ran) */
    static MemorySegment logStub() {
        return logStub;
    }

    static synchronized void ensureLogStub() {
        if (logStub == null) {
            logStub = NativeEngines.logCallback(Instances::onLog);
            // also for engines that are still starting (their messages come before open returns)
            NativeEngines.setDefaultLogCallback(logStub);
        }
    }

    private static void onLog(MemorySegment context, int elevel, MemorySegment line) {
        try {
            System.Logger.Level level = serverLogLevel(elevel);
            if (LOG.isLoggable(level)) {
                String name = NAMES.getOrDefault(context.address(), "?");
                LOG.log(level, "[" + name + "] " + line.getString(0));
            }
        } catch (Throwable ignored) {
            // an exception must not unwind into native code
        }
    }

    /*
     * A server log line's level in System.Logger's terms, chosen by the PGEMBED_LOG_* name:
     * - FATAL and PANIC: ERROR. The engine (or a process of a cluster) ended; when that happens outside a
     *   call (maintenance from the timer thread, a cluster's background process) nothing else reports it.
     * - ERROR, WARNING, NOTICE, INFO: DEBUG. They are the statement's own messages, which already reach its
     *   caller as the PgException or as notices (logged at INFO/WARNING when no listener takes them): the
     *   server log's copy at the same level would report every failing statement twice.
     * - LOG: DEBUG. A server's operational lines (checkpoint starting/complete, start-up): routine work that
     *   pgembed does on the application's behalf, at INFO one line per checkpoint in the host's log.
     * - DEBUG1: DEBUG; DEBUG2 to DEBUG5: TRACE (only there when log_min_messages was lowered).
     */
    static System.Logger.Level serverLogLevel(int elevel) {
        if (elevel == NativeEngines.LOG_FATAL || elevel == NativeEngines.LOG_PANIC) {
            return System.Logger.Level.ERROR;
        }
        if (elevel >= NativeEngines.LOG_DEBUG5 && elevel <= NativeEngines.LOG_DEBUG2) {
            return System.Logger.Level.TRACE;
        }
        return System.Logger.Level.DEBUG;
    }

    /* a database just opened on d: its log lines carry d's name, and the shutdown hook closes it */
    static void register(PgEmbedded db, Path d) {
        NAMES.put(
                db.id, d.getFileName() == null ? d.toString() : d.getFileName().toString());
        db.session.natives().setLogCallback(logStub, db.id);
        OPEN.add(db);
        installHook();
    }

    /* how many databases are open, and whether one of them runs a cluster (several backends) */
    static int openCount() {
        return OPEN.size();
    }

    static boolean anyCluster() {
        for (PgEmbedded db : OPEN) {
            if (db.cluster != null) {
                return true;
            }
        }
        return false;
    }

    static void unregister(PgEmbedded db) {
        OPEN.remove(db);
        NAMES.remove(db.id);
    }

    /* the open instance on a directory (absolute, normalised) that a JDBC URL may share, or null */
    static PgEmbedded findOpen(Path d) {
        Path n = d.toAbsolutePath().normalize();
        for (PgEmbedded db : OPEN) {
            if (db.isOpen() && !db.deleteOnClose && db.dir.equals(n)) {
                return db;
            }
        }
        return null;
    }

    private static synchronized void installHook() {
        if (!hookInstalled) {
            hookInstalled = true;
            Runtime.getRuntime().addShutdownHook(new Thread(Instances::closeAllAtExit, "pgembed-shutdown"));
        }
    }

    private static void closeAllAtExit() {
        for (PgEmbedded db : List.copyOf(OPEN)) {
            try {
                db.cancel();
                if (db.cluster != null) {
                    db.cluster.cancelAll();
                }
                if (!db.closeWithin(Duration.ofSeconds(5)) && db.isOpen()) {
                    LOG.log(
                            System.Logger.Level.WARNING,
                            db.label + ": a statement did not end within 5 s"
                                    + " of its cancellation; not closed cleanly at exit");
                }
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.WARNING, db.label + ": closing at exit failed", t);
            }
        }
        if (OPEN.isEmpty() && logStub != null) {
            // no log line may call back into a JVM that is going away
            NativeEngines.setDefaultLogCallback(MemorySegment.NULL);
        }
    }
}
