package dev.pgembed;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * Rows of a query fetched in batches of {@code fetchSize}: only one batch is in memory at a time. A
 * {@link Row} is valid until the cursor fetches the next batch (read its values in the loop); reading it
 * later throws {@link IllegalStateException}.
 *
 * <p>While open, the cursor holds the database session: other threads wait (see {@link PgEmbedded}), and
 * its own thread can run no other statement until it is exhausted or closed. Use it from the thread that
 * opened it.
 */
public final class RowCursor implements AutoCloseable, Iterator<Row> {
    private final SqlSession db;
    final int fetchSize;
    private final Thread thread;
    final boolean viaHelper;
    private Result batch;
    private int next;
    private boolean more;
    private boolean closed;

    RowCursor(SqlSession db, Thread thread, int fetchSize, Result first, boolean more) {
        this.db = db;
        this.fetchSize = fetchSize;
        this.thread = thread;
        this.viaHelper = thread.isVirtual();
        this.batch = first;
        this.more = more;
    }

    private void checkThread() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException(
                    "this cursor belongs to thread \"" + thread.getName() + "\": use it from that thread");
        }
    }

    /** True when another row follows (fetches the next batch when needed). */
    @Override
    public boolean hasNext() {
        if (closed) {
            return false;
        }
        while (next >= batch.rowCount()) {
            if (!more) {
                batch.close();
                closed = true;
                return false;
            }
            checkThread();
            batch.close();
            boolean[] m = new boolean[1];
            try {
                batch = db.cursorFetch(this, m);
            } catch (RuntimeException e) {
                closed = true;
                more = false;
                throw e;
            }
            more = m[0];
            next = 0;
        }
        return true;
    }

    /** The next row, valid until the next batch is fetched. */
    @Override
    public Row next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return batch.row(next++);
    }

    /** {@return the remaining rows as a sequential stream; closing the stream closes the cursor} */
    public Stream<Row> stream() {
        return StreamSupport.stream(
                        Spliterators.spliteratorUnknownSize(this, Spliterator.ORDERED | Spliterator.NONNULL), false)
                .onClose(this::close);
    }

    /* the owning thread died: forget the cursor's state */
    void abandon() {
        closed = true;
        more = false;
    }

    /** Closes the cursor (the rest of the rows is discarded) and frees the current batch. Idempotent. */
    @Override
    public void close() {
        if (closed && !more) {
            if (batch != null) {
                batch.close();
            }
            return;
        }
        closed = true;
        try {
            if (more) {
                more = false;
                checkThread();
                db.cursorClose(this);
            }
        } finally {
            batch.close();
        }
    }
}
