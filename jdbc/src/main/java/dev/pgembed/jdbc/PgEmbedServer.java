package dev.pgembed.jdbc;

import dev.pgembed.PgEmbedded;
import dev.pgembed.internal.NativeLoader;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Serve mode: the backend of an open {@link PgEmbedded} made reachable by PostgreSQL's own client tools
 * ({@code psql}, {@code pg_dump}, {@code pg_restore}) and by any PostgreSQL driver, while the application
 * goes on using it. Opt-in, and closed with {@link #close()}.
 *
 * <pre>{@code
 * try (PgEmbedded db = PgEmbedded.open(Path.of("app-db"));
 *      PgEmbedServer server = PgEmbedServer.unixSocket(db, Path.of("/tmp/app-db-socket"))) {
 *     // meanwhile, from a shell:  psql -h /tmp/app-db-socket -U postgres
 *     //                           pg_dump -h /tmp/app-db-socket -U postgres postgres > app.sql
 * }
 * }</pre>
 *
 * <h2>Listeners</h2>
 * <ul>
 *   <li>{@link #unixSocket(PgEmbedded, Path, int)}: a Unix-domain socket {@code .s.PGSQL.<port>} (the name
 *       libpq looks for: {@code psql -h <directory> -p <port>}) in a directory only its owner may enter
 *       (mode 0700, created so when absent, refused when it exists with wider permissions or another owner).
 *       Whoever can reach the socket is let in without a password, like PostgreSQL's {@code peer}/{@code trust}
 *       on local sockets: the directory's permissions are the access control.</li>
 *   <li>{@link #tcp(PgEmbedded, InetAddress, int, String)}: TCP, only when asked, bound to the given address
 *       (loopback unless said otherwise), and always with a password, verified with SCRAM-SHA-256 (the
 *       password never crosses the wire). There is no TLS: SSL requests are declined, so the session
 *       traffic itself is not encrypted; keep TCP on trusted networks or tunnel it.</li>
 * </ul>
 *
 * <h2>Sessions</h2>
 * Every client connection behaves like a JDBC connection of {@link PgEmbedDriver}: it is a session of its
 * own (settings, prepared statements), and all of them, the application's JDBC connections and its direct
 * API calls take turns on the database's one backend at transaction boundaries. A transaction (a
 * {@code pg_dump} run is one) holds the backend until it ends; everybody else waits, at most the instance's
 * transaction wait timeout, and never sees its uncommitted work. Clients must name the instance's database
 * ({@code postgres} unless opened with another); any user name is accepted, and every client is the
 * database's superuser. Temporary tables and SQL-level {@code PREPARE}s of a client last while it holds the
 * backend: they are dropped when another session takes it. Cancel requests ({@code Ctrl+C} in psql)
 * cancel the statement of the matching connection.
 *
 * <h2>Replication connections</h2>
 * A client that asks for replication ({@code replication=database}: a server's {@code CREATE SUBSCRIPTION}, or
 * pgjdbc's replication API) is authenticated as any other, then relayed byte for byte to a WAL sender, PostgreSQL's
 * own, of a database opened with {@code PgEmbedded.Builder.backends(n > 1)} and {@code logicalReplication(n)};
 * other databases refuse it (0A000). It logs in as the user it names.
 *
 * <p>A client that disconnects only ends its own session (an open transaction rolls back). Closing the
 * server stops listening, cancels what its clients run, rolls back their transactions, disconnects them
 * and removes the socket file; the database stays open for the application. Close the server before the
 * database.
 */
public final class PgEmbedServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("dev.pgembed.jdbc");
    private static final AtomicLong THREADS = new AtomicLong();
    /** The port of PostgreSQL's default socket name, {@code .s.PGSQL.5432}. */
    public static final int DEFAULT_PORT = 5432;

    private static final Set<String> TOOLS = Set.of("psql", "pg_dump", "pg_restore");
    /* PostgreSQL's max_connections and authentication_timeout defaults */
    private static final int MAX_CLIENTS = 100;
    private static final long STARTUP_TIMEOUT_MS = 60_000;

    private final Backend backend;
    private final ServerSocketChannel listener;
    private final ScramAuthentication.Secret secret;
    private final SocketAddress address;
    private final int port;
    private final Path socketFile;
    private final Path createdDirectory;
    private final Set<Client> clients = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;

    private PgEmbedServer(
            Backend backend,
            ServerSocketChannel listener,
            ScramAuthentication.Secret secret,
            int port,
            Path socketFile,
            Path createdDirectory)
            throws IOException {
        this.backend = backend;
        this.listener = listener;
        this.secret = secret;
        this.address = listener.getLocalAddress();
        this.port = port;
        this.socketFile = socketFile;
        this.createdDirectory = createdDirectory;
        this.acceptor =
                Thread.ofPlatform().daemon().name("pgembed-serve-" + describe()).unstarted(this::accept);
        acceptor.start();
    }

    /**
     * Serves db on {@code <directory>/.s.PGSQL.5432}: {@code psql -h <directory> -U postgres}.
     *
     * @param db        the database to serve
     * @param directory the socket's directory
     * @return the running server
     * @throws IOException when the socket cannot be bound
     * @see #unixSocket(PgEmbedded, Path, int)
     */
    public static PgEmbedServer unixSocket(PgEmbedded db, Path directory) throws IOException {
        return unixSocket(db, directory, DEFAULT_PORT);
    }

    /**
     * Serves db on the Unix-domain socket {@code <directory>/.s.PGSQL.<port>}. The directory is created with
     * mode 0700 when absent (its parent must exist; {@link #close()} removes it again); an existing one must
     * be a directory owned by this process's user that neither group nor others may access. A socket file left
     * by a process that died is replaced; one that answers is not.
     *
     * @param db        the open database to serve
     * @param directory the socket directory (a short path: socket paths are limited to 107 bytes)
     * @param port      the number in the socket's name ({@code psql -p}), 1-65535
     * @return the running server
     * @throws IOException              when the directory is not private, the socket is in use, or binding fails
     * @throws IllegalStateException    when db is closed
     * @throws IllegalArgumentException for a port out of range
     */
    public static PgEmbedServer unixSocket(PgEmbedded db, Path directory, int port) throws IOException {
        Objects.requireNonNull(db, "db");
        Objects.requireNonNull(directory, "directory");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be 1-65535, not " + port);
        }
        Path dir = directory.toAbsolutePath().normalize();
        Path created = privateDirectory(dir);
        Path file = dir.resolve(".s.PGSQL." + port);
        ServerSocketChannel ch = null;
        boolean bound = false;
        Backend b = null;
        try {
            removeStaleSocket(file);
            ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            ch.bind(UnixDomainSocketAddress.of(file));
            bound = true;
            b = Backend.forInstance(db);
            return new PgEmbedServer(b, ch, null, port, file, created);
        } catch (IOException | RuntimeException e) {
            if (b != null) {
                b.release();
            }
            if (ch != null) {
                ch.close();
            }
            if (bound) {
                Files.deleteIfExists(file); // ours; a socket another server bound meanwhile is not
            }
            if (created != null) {
                Files.deleteIfExists(created);
            }
            throw e;
        }
    }

    /**
     * Serves db over TCP on the loopback interface.
     *
     * @param db       the database to serve
     * @param port     the TCP port (0: any free port)
     * @param password the password clients authenticate with (SCRAM-SHA-256)
     * @return the running server
     * @throws IOException when the port cannot be bound
     * @see #tcp(PgEmbedded, InetAddress, int, String)
     */
    public static PgEmbedServer tcp(PgEmbedded db, int port, String password) throws IOException {
        return tcp(db, InetAddress.getLoopbackAddress(), port, password);
    }

    /**
     * Serves db over TCP. Clients must authenticate with SCRAM-SHA-256 and this password (libpq and pgjdbc
     * do so by themselves); the server keeps only a salted verifier of it. Connections are not encrypted.
     *
     * @param db       the open database to serve
     * @param host     the address to bind (an address of all interfaces only when that is what is meant)
     * @param port     the TCP port, 0 for any free one (see {@link #port()})
     * @param password the password every client must give, not empty
     * @return the running server
     * @throws IOException              when binding fails
     * @throws IllegalStateException    when db is closed
     * @throws IllegalArgumentException for an empty password or a port out of range
     */
    public static PgEmbedServer tcp(PgEmbedded db, InetAddress host, int port, String password) throws IOException {
        Objects.requireNonNull(db, "db");
        Objects.requireNonNull(host, "host");
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("serve mode over TCP requires a password");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0-65535, not " + port);
        }
        ScramAuthentication.Secret secret = ScramAuthentication.Secret.of(password);
        ServerSocketChannel ch = ServerSocketChannel.open();
        Backend b = null;
        try {
            ch.bind(new InetSocketAddress(host, port));
            b = Backend.forInstance(db);
            int bound = ((InetSocketAddress) ch.getLocalAddress()).getPort();
            return new PgEmbedServer(b, ch, secret, bound, null, null);
        } catch (IOException | RuntimeException e) {
            if (b != null) {
                b.release();
            }
            ch.close();
            throw e;
        }
    }

    /**
     * A stock PostgreSQL client program of pgembed's own build, the same PostgreSQL version as the engine:
     * {@code psql}, {@code pg_dump} or {@code pg_restore}. They ship in the native
     * payload with the libpq they use (they need nothing but glibc) and are extracted with it, into the
     * directory instances load their native code from.
     *
     * @param name the program
     * @return its path, ready to run
     * @throws IllegalArgumentException for any other name
     */
    public static Path clientTool(String name) {
        if (!TOOLS.contains(name)) {
            throw new IllegalArgumentException("not one of the bundled client tools " + TOOLS + ": " + name);
        }
        Path p = NativeLoader.load(null).resolve("bin").resolve(name);
        if (!Files.isExecutable(p)) {
            throw new IllegalStateException(p + " is missing or not executable");
        }
        return p;
    }

    /** {@return the port: the TCP port, or the number in the Unix socket's name} */
    public int port() {
        return port;
    }

    /**
     * {@return where clients connect: a {@link UnixDomainSocketAddress} (the socket file) or an
     * {@link InetSocketAddress}}
     */
    public SocketAddress address() {
        return address;
    }

    /** {@return true until {@link #close()}} */
    public boolean isOpen() {
        return !closed;
    }

    /**
     * Stops serving: no new connections; the statements clients run are cancelled, their transactions rolled
     * back, and they are disconnected (with a FATAL 57P01 message when they can still read one). The socket
     * file is removed. The database stays open.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            listener.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing the listener of " + this, e);
        }
        join(acceptor, 5_000);
        for (Client c : clients) {
            c.evict();
        }
        for (Client c : clients) {
            // a client waiting for the backend (another session's transaction) is woken by the interrupt
            if (!join(c.thread, 2_000)) {
                c.thread.interrupt();
                c.closeChannel();
                if (!join(c.thread, 5_000)) {
                    LOG.log(System.Logger.Level.WARNING, this + ": " + c.thread.getName() + " did not end");
                }
            }
        }
        if (socketFile != null) {
            try {
                Files.deleteIfExists(socketFile);
                if (createdDirectory != null) {
                    Files.deleteIfExists(createdDirectory);
                }
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "removing " + socketFile, e);
            }
        }
        backend.release();
    }

    @Override
    public String toString() {
        return "PgEmbedServer[" + describe() + (closed ? ", closed" : "") + ", " + backend.db + "]";
    }

    private String describe() {
        return socketFile != null ? socketFile.toString() : address.toString();
    }

    private static boolean join(Thread t, long millis) {
        if (t == Thread.currentThread()) {
            return false;
        }
        try {
            t.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !t.isAlive();
    }

    // =============================================================================================
    // Unix socket directory
    // =============================================================================================

    /* makes sure dir is private to this user; returns dir when this call created it, else null */
    private static Path privateDirectory(Path dir) throws IOException {
        Set<PosixFilePermission> owner = PosixFilePermissions.fromString("rwx------");
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(owner));
            Files.setPosixFilePermissions(dir, owner); // the umask may have taken bits away
            return dir;
        } catch (FileAlreadyExistsException exists) {
            // checked below
        }
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isDirectory()) {
            throw new IOException(dir + " is not a directory (symbolic links are not followed)");
        }
        UserPrincipal me = Files.getOwner(Path.of("/proc/self"));
        if (!a.owner().getName().equals(me.getName())) {
            throw new IOException(
                    "the socket directory " + dir + " belongs to " + a.owner().getName() + ", not to " + me.getName());
        }
        Set<PosixFilePermission> wider = EnumSet.copyOf(a.permissions());
        wider.removeAll(EnumSet.of(
                PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE));
        if (!wider.isEmpty()) {
            throw new IOException("the socket directory " + dir + " is not private (mode "
                    + PosixFilePermissions.toString(a.permissions()) + "): whoever can enter it could use the"
                    + " database without a password; use a directory with mode 0700 (rwx------)");
        }
        return null;
    }

    /* a socket file whose server died stays behind; one that accepts connections is in use */
    private static void removeStaleSocket(Path file) throws IOException {
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(file));
            throw new IOException("the socket " + file + " is in use by another server");
        } catch (ConnectException stale) {
            Files.delete(file);
        }
    }

    // =============================================================================================
    // Connections
    // =============================================================================================

    private void accept() {
        while (!closed) {
            SocketChannel ch;
            try {
                ch = listener.accept();
            } catch (ClosedChannelException e) {
                break;
            } catch (IOException e) {
                if (closed) {
                    break;
                }
                LOG.log(System.Logger.Level.WARNING, this + ": accept failed", e);
                try {
                    Thread.sleep(100); // out of descriptors, say: do not spin
                } catch (InterruptedException ie) {
                    break;
                }
                continue;
            }
            if (closed) {
                closeQuietly(ch);
                break;
            }
            try {
                if (clients.size() >= MAX_CLIENTS) {
                    Wire.Buf no = new Wire.Buf(64);
                    Wire.errorResponse(no, "FATAL", "53300", "sorry, too many clients already");
                    ch.write(ByteBuffer.wrap(no.b, 0, no.len));
                    closeQuietly(ch);
                    continue;
                }
                if (socketFile == null) {
                    ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                }
                WireSession session = new WireSession(
                                backend.key, secret == null ? null : new ScramAuthentication(secret))
                        .checkingDatabase();
                Client c = new Client(ch, session);
                c.thread = Thread.ofPlatform()
                        .daemon()
                        .name("pgembed-serve-client-" + THREADS.incrementAndGet())
                        .unstarted(c);
                clients.add(c);
                c.thread.start();
            } catch (IOException | RuntimeException | OutOfMemoryError e) {
                LOG.log(System.Logger.Level.WARNING, this + ": could not start a client session", e);
                closeQuietly(ch);
            }
        }
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing left to do
        }
    }

    /** One accepted connection, served by its own thread through a {@link WireSession}. */
    private final class Client implements Runnable {
        private final SocketChannel ch;
        private final WireSession session;
        private final byte[] out = new byte[64 * 1024];
        Thread thread;
        private volatile boolean evicted;

        Client(SocketChannel ch, WireSession session) {
            this.ch = ch;
            this.session = session;
        }

        @Override
        public void run() {
            ByteBuffer in = ByteBuffer.allocate(64 * 1024);
            // a client that does not finish its start-up (authentication) in time is dropped
            Thread watchdog = Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(STARTUP_TIMEOUT_MS);
                } catch (InterruptedException e) {
                    return;
                }
                if (!session.startedOrEnded()) {
                    LOG.log(System.Logger.Level.DEBUG, PgEmbedServer.this + ": start-up timeout");
                    closeChannel();
                }
            });
            try {
                while (true) {
                    in.clear();
                    int n = ch.read(in);
                    if (n < 0 || evicted) {
                        break;
                    }
                    session.w.put(in.array(), 0, n);
                    session.flush();
                    drain();
                    WireSession.Relay relay = session.relay();
                    if (relay != null) {
                        watchdog.interrupt();
                        relay(relay);
                        break;
                    }
                    if (session.eof()) {
                        break;
                    }
                }
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, PgEmbedServer.this + ": " + session + " ended", e);
            } catch (RuntimeException | Error e) {
                LOG.log(System.Logger.Level.WARNING, PgEmbedServer.this + ": " + session + " failed", e);
            } finally {
                Thread.interrupted(); // the rollback below must not be cut short by close()'s interrupt
                try {
                    session.end();
                    if (evicted && ch.isOpen()) {
                        Wire.Buf bye = new Wire.Buf(128);
                        Wire.errorResponse(
                                bye, "FATAL", "57P01", "terminating connection: the pgembed server" + " is closing");
                        write(bye.b, bye.len);
                    }
                } catch (IOException | RuntimeException e) {
                    LOG.log(System.Logger.Level.DEBUG, PgEmbedServer.this + ": ending " + session, e);
                } finally {
                    watchdog.interrupt();
                    closeChannel();
                    clients.remove(this);
                }
            }
        }

        /*
         * A replication connection: its bytes go to the database postmaster's socket and back as they are, to
         * and from the WAL sender PostgreSQL starts for it, until either side ends. The client's end (or the
         * server's close) ends the WAL sender; the WAL sender's end (the database closing) ends the client's
         * connection, which a subscriber retries by itself.
         */
        private void relay(WireSession.Relay to) throws IOException {
            try (SocketChannel up = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                try {
                    up.connect(UnixDomainSocketAddress.of(to.socket()));
                } catch (IOException e) {
                    Wire.Buf no = new Wire.Buf(256);
                    Wire.errorResponse(
                            no,
                            "FATAL",
                            "08006",
                            "the database's replication socket does not answer: " + e.getMessage());
                    write(no.b, no.len);
                    return;
                }
                ByteBuffer first = ByteBuffer.wrap(to.startup());
                while (first.hasRemaining()) {
                    up.write(first);
                }
                Thread back = Thread.ofPlatform()
                        .daemon()
                        .name(thread.getName() + "-relay")
                        .start(() -> {
                            try {
                                copy(up, ch);
                            } catch (IOException e) {
                                LOG.log(
                                        System.Logger.Level.DEBUG,
                                        PgEmbedServer.this + ": relay to the client ended",
                                        e);
                            } finally {
                                closeChannel(); // the WAL sender ended: so does the connection
                            }
                        });
                try {
                    copy(ch, up);
                } finally {
                    up.close(); // the WAL sender reads EOF and ends
                    join(back, 5_000);
                }
            }
        }

        /* copies from one channel to the other until from ends */
        private static void copy(SocketChannel from, SocketChannel to) throws IOException {
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            while (from.read(buf) >= 0) {
                buf.flip();
                while (buf.hasRemaining()) {
                    to.write(buf);
                }
                buf.clear();
            }
        }

        /* writes what the backend answered, continuing output it paused */
        private void drain() throws IOException {
            while (true) {
                int n = session.read(out, 0, out.length);
                if (n > 0) {
                    write(out, n);
                } else if (session.morePending()) {
                    session.continueOutput();
                } else {
                    return;
                }
            }
        }

        private void write(byte[] b, int len) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(b, 0, len);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }

        /* from close(): ends the read the thread waits in, and the statement it runs */
        void evict() {
            evicted = true;
            try {
                ch.shutdownInput();
            } catch (IOException e) {
                closeChannel();
            }
            session.abortFromAnotherThread();
        }

        void closeChannel() {
            closeQuietly(ch);
        }
    }
}
