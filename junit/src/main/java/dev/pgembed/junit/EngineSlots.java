package dev.pgembed.junit;

import dev.pgembed.PgEmbedded;
import dev.pgembed.PgException;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * How many test databases may be open at once in this JVM. A process holds at most 15 pgembed engines (glibc's
 * link-map namespaces; 11 with glibc's default tunables), so tests that run in parallel wait here for a free
 * one instead of failing. {@code -Dpgembed.junit.maxOpen=N} changes the number (default 8, leaving room for
 * databases the code under test opens itself). The wait is bounded: {@code -Dpgembed.junit.engineWait} (seconds,
 * default 600) for a slot, and for an engine when an open is refused with 53300 because the code under test holds
 * the rest of the budget; after that the test fails with the reason.
 */
final class EngineSlots {
    private static final Semaphore SLOTS = new Semaphore(Integer.getInteger("pgembed.junit.maxOpen", 8), true);
    private static final Object FIRST_OPEN = new Object();
    private static volatile boolean opened;

    private EngineSlots() {}

    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(Long.getLong("pgembed.junit.engineWait", 600));

    /** Waits for a free slot, at most {@code pgembed.junit.engineWait}. */
    static void acquire() {
        try {
            if (!SLOTS.tryAcquire(WAIT_NANOS, TimeUnit.NANOSECONDS)) {
                throw new IllegalStateException(
                        "waited " + Duration.ofNanos(WAIT_NANOS).toSeconds() + " s for one of"
                                + " the " + Integer.getInteger("pgembed.junit.maxOpen", 8) + " test database slots"
                                + " (-Dpgembed.junit.maxOpen) to become free: tests that keep databases open that long, or"
                                + " raise -Dpgembed.junit.engineWait");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a free pgembed engine", e);
        }
    }

    static void release() {
        SLOTS.release();
    }

    /**
     * Opens a database; the first opens of the process one at a time. The engine starts its timer thread at the
     * first open without a lock, and two threads doing that at once leave the process hung (two timer threads,
     * one condition variable initialised twice); once one open has succeeded, opens run in parallel.
     */
    static PgEmbedded open(PgEmbedded.Builder builder) {
        long deadline = System.nanoTime() + WAIT_NANOS;
        long pauseMillis = 10;
        while (true) {
            try {
                return openOnce(builder);
            } catch (PgException e) {
                // 53300: the process's engine budget is spent (by databases the code under test opened): wait
                if (!"53300".equals(e.sqlState()) || System.nanoTime() - deadline >= 0) {
                    throw e;
                }
            }
            try {
                Thread.sleep(pauseMillis);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a free pgembed engine", ie);
            }
            pauseMillis = Math.min(pauseMillis * 2, 200);
        }
    }

    private static PgEmbedded openOnce(PgEmbedded.Builder builder) {
        if (opened) {
            return builder.open();
        }
        synchronized (FIRST_OPEN) {
            PgEmbedded db = builder.open();
            opened = true;
            return db;
        }
    }
}
