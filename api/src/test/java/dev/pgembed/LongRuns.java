package dev.pgembed;

/**
 * Sizes of the reliability tests: short in the normal build, long with {@code -Dpgembed.long=true}
 * (see README.md, "Long reliability runs").
 */
final class LongRuns {
    private LongRuns() {
    }

    static final boolean LONG = Boolean.getBoolean("pgembed.long");

    /** kill -9 iterations per durability mode */
    static int killIterations() {
        return Integer.getInteger("pgembed.killIterations", LONG ? 50 : 3);
    }

    /** WAL the bounded-WAL test generates, in MB */
    static long walMegabytes() {
        return Long.getLong("pgembed.walMegabytes", LONG ? 2048 : 96);
    }
}
