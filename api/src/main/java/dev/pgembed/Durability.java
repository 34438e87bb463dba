package dev.pgembed;

/** How hard PostgreSQL works to keep committed data across a crash of the process or the machine. */
public enum Durability {
    /** Every commit is flushed to disk before it returns (PostgreSQL's default). */
    DURABLE,
    /**
     * Commits return before their WAL is flushed ({@code synchronous_commit=off}): a crash may lose the
     * last fraction of a second of commits, but never corrupts the database.
     */
    RELAXED,
    /**
     * Nothing is flushed ({@code fsync=off}, {@code synchronous_commit=off}, {@code full_page_writes=off}):
     * fastest, for tests and throw-away data; a crash of the machine may corrupt the database.
     */
    NONE
}
