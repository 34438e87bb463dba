package dev.pgembed.jdbc;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link Socket} whose streams talk to an in-process PostgreSQL backend: bytes written are buffered until
 * {@code flush()}, then sent through {@code pgembed_protocol_exchange}; the backend's replies become
 * readable at once. Socket options are accepted and ignored; nothing touches the network.
 */
class InProcessSocket extends Socket {
    /* a read waiting for a backend's own output holds its turn this long at a time (closing waits for it) */
    private static final long WAIT_SLICE_MS = 100;
    private final WireSession session;
    private final ReentrantLock io = new ReentrantLock();
    private final InputStream input = new In();
    private final OutputStream output = new Out();
    private volatile boolean closed;
    /* close() from another thread is waiting for the socket: a read that waits for output gives way */
    private volatile boolean closing;
    private int soTimeout;
    private boolean tcpNoDelay;
    private boolean keepAlive;

    /**
     * A socket to the database registered under a key; it connects on {@link #connect}.
     *
     * @param key the registry key of the database (see {@link InProcessSocketFactory})
     */
    InProcessSocket(String key) {
        this.session = new WireSession(Objects.requireNonNull(key, "key"));
    }

    /* nothing to connect: the socket is connected from the start (isConnected), its backend is the key's */
    @Override
    public void connect(SocketAddress endpoint) {}

    @Override
    public void connect(SocketAddress endpoint, int timeout) {}

    @Override
    public void bind(SocketAddress bindpoint) {}

    @Override
    public InetAddress getInetAddress() {
        return InetAddress.getLoopbackAddress();
    }

    @Override
    public InetAddress getLocalAddress() {
        return InetAddress.getLoopbackAddress();
    }

    @Override
    public int getPort() {
        return 5432;
    }

    @Override
    public int getLocalPort() {
        return -1;
    }

    @Override
    public SocketAddress getRemoteSocketAddress() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), 5432);
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return null;
    }

    @Override
    public InputStream getInputStream() throws IOException {
        if (closed) {
            throw new SocketException("Socket is closed");
        }
        return input;
    }

    @Override
    public OutputStream getOutputStream() throws IOException {
        if (closed) {
            throw new SocketException("Socket is closed");
        }
        return output;
    }

    @Override
    public void setTcpNoDelay(boolean on) {
        tcpNoDelay = on;
    }

    @Override
    public boolean getTcpNoDelay() {
        return tcpNoDelay;
    }

    @Override
    public void setSoLinger(boolean on, int linger) {}

    @Override
    public int getSoLinger() {
        return -1;
    }

    @Override
    public void sendUrgentData(int data) throws IOException {
        throw new SocketException("urgent data is not supported");
    }

    @Override
    public void setOOBInline(boolean on) {}

    @Override
    public boolean getOOBInline() {
        return false;
    }

    @Override
    public void setSoTimeout(int timeout) {
        soTimeout = timeout;
    }

    @Override
    public int getSoTimeout() {
        return soTimeout;
    }

    @Override
    public void setSendBufferSize(int size) {}

    @Override
    public int getSendBufferSize() {
        return 64 * 1024;
    }

    @Override
    public void setReceiveBufferSize(int size) {}

    @Override
    public int getReceiveBufferSize() {
        return 64 * 1024;
    }

    @Override
    public void setKeepAlive(boolean on) {
        keepAlive = on;
    }

    @Override
    public boolean getKeepAlive() {
        return keepAlive;
    }

    @Override
    public void setTrafficClass(int tc) {}

    @Override
    public int getTrafficClass() {
        return 0;
    }

    @Override
    public void setReuseAddress(boolean on) {}

    @Override
    public boolean getReuseAddress() {
        return false;
    }

    @Override
    public void shutdownInput() {}

    @Override
    public void shutdownOutput() {}

    @Override
    public boolean isConnected() {
        return true;
    }

    @Override
    public boolean isBound() {
        return true;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public boolean isInputShutdown() {
        return closed;
    }

    @Override
    public boolean isOutputShutdown() {
        return closed;
    }

    /** Ends the connection: a transaction it left open is rolled back. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (!io.tryLock()) {
            closing = true;
            // closed from another thread while a statement runs or waits for its turn (Connection.abort, a pool's
            // shutdown): the statement is cancelled, the wait ends at once
            session.abortFromAnotherThread();
            io.lock();
        }
        try {
            if (closed) {
                return;
            }
            closed = true;
            session.end();
        } finally {
            io.unlock();
        }
    }

    @Override
    public String toString() {
        return "InProcessSocket[" + session + (closed ? ", closed" : "") + "]";
    }

    private final class In extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (len == 0) {
                return 0;
            }
            io.lock();
            try {
                while (true) {
                    int n = session.read(b, off, len);
                    if (n > 0) {
                        return n;
                    }
                    if (session.eof()) {
                        return -1;
                    }
                    if (closed) {
                        throw new SocketException("Socket closed");
                    }
                    if (session.morePending()) {
                        session.continueOutput();
                        continue;
                    }
                    if (session.canAwaitOutput()) {
                        // a backend of its own writes by itself (NOTIFY, its FATAL): wait as on a real socket
                        awaitOutput();
                        continue;
                    }
                    if (session.deliverNotifications()) {
                        continue;
                    }
                    // no request: the client waits for a notification (pgjdbc's getNotifications), as long as a
                    // socket's read would: soTimeout, or until one arrives when the connection listens
                    if (soTimeout > 0 || session.listens()) {
                        if (session.awaitNotification(soTimeout)) {
                            continue;
                        }
                        if (closed || session.aborted()) {
                            throw new SocketException("Socket closed");
                        }
                        throw new SocketTimeoutException("Read timed out");
                    }
                    throw new SocketException("pgembed-jdbc: the client waits for a reply but sent no request");
                }
            } finally {
                io.unlock();
            }
        }

        /* waits for output of the connection's own backend, up to the socket's timeout (0: for ever) */
        private void awaitOutput() throws IOException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(soTimeout);
            while (true) {
                if (closing || closed) {
                    throw new SocketException("Socket closed");
                }
                long left = soTimeout > 0 ? TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()) : WAIT_SLICE_MS;
                if (soTimeout > 0 && left <= 0) {
                    throw new SocketTimeoutException("Read timed out");
                }
                if (session.awaitOutput((int) Math.max(1, Math.min(WAIT_SLICE_MS, left)))) {
                    return;
                }
            }
        }

        @Override
        public int available() {
            io.lock();
            try {
                int n = session.available();
                return n > 0 ? n : session.notificationBytes();
            } finally {
                io.unlock();
            }
        }

        @Override
        public void close() {
            InProcessSocket.this.close();
        }
    }

    private final class Out extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            io.lock();
            try {
                checkOpen();
                session.w.put(b);
                session.written();
            } finally {
                io.unlock();
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            io.lock();
            try {
                checkOpen();
                session.w.put(b, off, len);
                session.written();
            } finally {
                io.unlock();
            }
        }

        @Override
        public void flush() throws IOException {
            io.lock();
            try {
                checkOpen();
                session.flush();
            } finally {
                io.unlock();
            }
        }

        private void checkOpen() throws SocketException {
            if (closed) {
                throw new SocketException("Socket closed");
            }
        }

        @Override
        public void close() {
            InProcessSocket.this.close();
        }
    }
}
