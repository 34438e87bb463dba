package dev.pgembed;

/** The body of a transaction that returns nothing: see {@link PgEmbedded#transaction(TransactionConsumer)}. */
@FunctionalInterface
public interface TransactionConsumer {
    /**
     * Runs the work of the transaction.
     *
     * @param tx the transaction, to run statements in
     */
    void accept(Transaction tx);
}
