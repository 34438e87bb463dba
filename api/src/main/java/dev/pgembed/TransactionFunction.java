package dev.pgembed;

/**
 * The body of a transaction that returns a value: see {@link PgEmbedded#transactionResult(TransactionFunction)}.
 *
 * @param <T> the type of the value
 */
@FunctionalInterface
public interface TransactionFunction<T> {
    /**
     * Runs the work of the transaction.
     *
     * @param tx the transaction, to run statements in
     * @return the value that {@code transaction(...)} returns after the commit
     */
    T apply(Transaction tx);
}
