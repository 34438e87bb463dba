package dev.pgembed.junit;

import dev.pgembed.PgEmbedded;

import java.util.concurrent.Semaphore;

/**
 * How many test databases may be open at once in this JVM. A process holds at most 15 pgembed engines (glibc's
 * link-map namespaces; 11 with glibc's default tunables), so tests that run in parallel wait here for a free
 * one instead of failing. {@code -Dpgembed.junit.maxOpen=N} changes the number (default 8, leaving room for
 * databases the code under test opens itself).
 */
final class EngineSlots {
    private static final Semaphore SLOTS = new Semaphore(Integer.getInteger("pgembed.junit.maxOpen", 8), true);
    private static final Object FIRST_OPEN = new Object();
    private static volatile boolean opened;

    private EngineSlots() {
    }

    /** Waits for a free slot. */
    static void acquire() {
        try {
            SLOTS.acquire();
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
