package dev.pgembed;

/**
 * Sizes of the reliability tests: short in the normal build, long with {@code -Dpgembed.long=true}
 * (see README.md, "Long reliability runs").
 */
final class LongRuns {
    private LongRuns() {}

    static final boolean LONG = Boolean.getBoolean("pgembed.long");

    /** kill -9 iterations per durability mode */
    static int killIterations() {
        return Integer.getInteger("pgembed.killIterations", LONG ? 50 : 3);
    }

    /** kill -9 iterations per durability mode of the 8-writer test on a database with several backends */
    static int clusterKillIterations() {
        return Integer.getInteger("pgembed.clusterKills", LONG ? 50 : 3);
    }

    /** WAL the bounded-WAL test generates, in MB */
    static long walMegabytes() {
        return Long.getLong("pgembed.walMegabytes", LONG ? 2048 : 96);
    }

    /** rows of the table the vacuum test updates (the 100 000 in the long run) */
    static int churnRows() {
        return Integer.getInteger("pgembed.churnRows", LONG ? 100_000 : 20_000);
    }

    /** update rounds of the vacuum test (the 20 in the long run) */
    static int churnRounds() {
        return Integer.getInteger("pgembed.churnRounds", LONG ? 20 : 4);
    }
}
