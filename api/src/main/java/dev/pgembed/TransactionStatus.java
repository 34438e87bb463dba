package dev.pgembed;

/** The transaction state of a database session, as PostgreSQL reports it after every statement. */
public enum TransactionStatus {
    /** No transaction is open. */
    IDLE,
    /** A transaction block is open. */
    IN_TRANSACTION,
    /** A transaction block is open but failed: it only accepts ROLLBACK. */
    FAILED,
    /** The database was closed or ended. */
    CLOSED
}
