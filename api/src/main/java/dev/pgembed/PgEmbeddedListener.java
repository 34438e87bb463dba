package dev.pgembed;

/**
 * Receives what happens in this process's pgembed databases, for metrics: engines opening and closing,
 * callers waiting for their turn on a database's session, statements and their errors. Every method has an
 * empty default; implement the ones you need. {@code dev.pgembed:pgembed-micrometer} turns them into Micrometer
 * meters.
 *
 * <p>Listeners are process-wide: {@link PgEmbedded#addListener(PgEmbeddedListener)} registers one for every
 * database, whoever opens it (the application, the JDBC driver, the test kit, the Spring Boot starter).
 *
 * <p>Methods are called synchronously, on the thread the event happens on, often with the database's session
 * lock held: they must be quick, must not block, and must not call the database. An exception a method throws
 * is logged and otherwise ignored.
 *
 * <p>What counts as a statement: through the direct API, each call that runs SQL (a multi-statement string
 * counts once, a batch once per parameter set, a cursor once, a COPY once, and the {@code BEGIN}/{@code COMMIT}
 * of {@link PgEmbedded#transaction(TransactionConsumer)} too); preparing a statement counts only when it fails.
 * Through JDBC and serve mode, each statement the backend completes or rejects (each {@code CommandComplete},
 * {@code EmptyQueryResponse} and {@code ErrorResponse} it sends the client). The statements pgembed runs for
 * itself behind a JDBC connection (passing the session from one connection to another) do not count.
 */
public interface PgEmbeddedListener {

    /**
     * A database's engine started: {@code db} is open. When the listener is added, this is called for every
     * database open at that moment.
     *
     * @param db the database
     */
    default void engineOpened(PgEmbedded db) {}

    /**
     * A database's engine ended: closed, or ended by a FATAL error. Called once for each
     * {@link #engineOpened(PgEmbedded)}.
     *
     * @param db the database
     */
    default void engineClosed(PgEmbedded db) {}

    /**
     * A caller (a thread of the direct API, or a JDBC connection) began to wait for its turn on {@code db}'s
     * session: another call is running, or another thread or connection holds the session (an open
     * transaction or cursor). Not called when the turn is free at once. {@link #turnWaitEnded} follows.
     *
     * @param db the database
     */
    default void turnWaitStarted(PgEmbedded db) {}

    /**
     * The wait that {@link #turnWaitStarted(PgEmbedded)} announced is over.
     *
     * @param db      the database
     * @param nanos   how long the caller waited, in nanoseconds
     * @param gotTurn true when the caller has its turn now; false when it gave up (the transaction wait
     *                timeout, SQLSTATE 55P03; an interrupt; the database closed)
     */
    default void turnWaitEnded(PgEmbedded db, long nanos, boolean gotTurn) {}

    /**
     * Statements completed without error.
     *
     * @param db    the database
     * @param count how many (at least 1; more for a batch, or a JDBC exchange that ran several)
     */
    default void statementsSucceeded(PgEmbedded db, int count) {}

    /**
     * A statement failed.
     *
     * @param db       the database
     * @param sqlState the error's SQLSTATE (five characters, for example {@code 23505})
     */
    default void statementFailed(PgEmbedded db, String sqlState) {}
}
