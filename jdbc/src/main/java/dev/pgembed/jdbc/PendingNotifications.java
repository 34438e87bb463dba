package dev.pgembed.jdbc;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/*
 * The notifications for one connection that arrived in other connections' exchanges on the shared backend (see
 * Backend.route), waiting until its reader is at a message boundary. Filled from any thread; a reader that has
 * nothing else to read waits here, and Connection.abort from another thread ends that wait.
 */
final class PendingNotifications {
    private final ConcurrentLinkedQueue<byte[]> messages = new ConcurrentLinkedQueue<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private volatile boolean aborted;

    /* a NotificationResponse message for this connection; any thread */
    void add(byte[] message) {
        messages.add(message);
        wakeAll();
    }

    boolean isEmpty() {
        return messages.isEmpty();
    }

    /* the size of the notifications waiting to be read */
    int bytes() {
        int n = 0;
        for (byte[] m : messages) {
            n += m.length;
        }
        return n;
    }

    /* appends the waiting notifications to out; true when any */
    boolean drainTo(Wire.Buf out) {
        byte[] m;
        boolean any = false;
        while ((m = messages.poll()) != null) {
            out.put(m, 0, m.length);
            any = true;
        }
        return any;
    }

    /* waits at most millis (0: until one arrives or abort()) for a notification; true when one is waiting */
    boolean await(int millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        lock.lock();
        try {
            while (messages.isEmpty() && !aborted) {
                if (millis <= 0) {
                    arrived.await();
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    arrived.awaitNanos(left);
                }
            }
            return !messages.isEmpty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !messages.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /* the connection was closed from another thread: ends every wait, now and later */
    void abort() {
        aborted = true;
        wakeAll();
    }

    boolean aborted() {
        return aborted;
    }

    private void wakeAll() {
        lock.lock();
        try {
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
