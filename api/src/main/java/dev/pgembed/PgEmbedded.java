package dev.pgembed;

import dev.pgembed.internal.EngineBridge;
import dev.pgembed.internal.NativeLoader;
import dev.pgembed.internal.TemporaryDirectories;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A PostgreSQL 18 database running inside this JVM: one backend session on one data directory, no
 * server process.
 *
 * <pre>{@code
 * try (PgEmbedded db = PgEmbedded.open(Path.of("data"))) {
 *     db.execute("CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY, name text)");
 *     db.execute("INSERT INTO t VALUES ($1, $2)", 1, "one");
 *     try (Result r = db.query("SELECT id, name FROM t WHERE id = $1", 1)) {
 *         for (Row row : r) System.out.println(row.getInt("id") + " " + row.getString("name"));
 *     }
 * }
 * }</pre>
 *
 * <h2>Threads</h2>
 * One instance may be shared by any number of threads (platform or virtual). Calls are serialised (one
 * statement runs at a time, on the calling thread). A transaction belongs to the thread that began it
 * ({@link #transactionResult(TransactionFunction)}, {@link #begin()}, or a plain {@code BEGIN}): while it is
 * open, calls from other threads wait until it ends, at most {@link Builder#transactionWaitTimeout(Duration)}
 * (then they fail with SQLSTATE 55P03); they never join it. A {@link RowCursor} belongs to its thread in
 * the same way. Waiting parks a virtual thread without pinning its carrier; the native call itself pins
 * the carrier for its duration (COPY and cursors started on a virtual thread run their native calls on a
 * helper platform thread of the instance, since they span several calls).
 *
 * <h2>Lifecycle</h2>
 * {@link #close()} ends the session with a shutdown checkpoint. Instances still open when the JVM exits
 * are closed by a shutdown hook (the running statement is cancelled first). After a FATAL error (the
 * engine ended, see {@link PgException#isFatal()}) the instance is closed; open the directory again.
 * At most 15 databases can be open at once in one process, and a directory can be open only once.
 */
public final class PgEmbedded extends SqlSession implements AutoCloseable {
    /*
     * The facade. Each method checks its arguments, then runs its native part through session.call: Session
     * takes turns (the lock, the owner of the session, the wait), NativeSession makes the native calls and
     * checks their results. Opening's steps are Opening's, the process-wide registries Instances', and the
     * types of parameters and values PgType's.
     */
    final long id;
    final Path dir;
    final boolean deleteOnClose;
    private final String database;
    private final String sessionRole;
    final String label;
    final Session session;
    /* the cluster of a database with several backends; null: one backend (pgembed_open) */
    final Cluster cluster;
    private final Duration waitTimeout;
    private final Consumer<Notice> noticeListener;
    private final @Nullable Consumer<Notification> notificationListener;

    static {
        EngineBridge.install(new BridgeAccess());
    }

    /*
     * the internal door of pgembed-jdbc: EngineBridge's implementation, installed from here so that it can reach
     * the session without making it public (the JDK's SharedSecrets pattern; see EngineBridge): not API
     */
    private static final class BridgeAccess implements EngineBridge.Access {
        @Override
        public MemorySegment engine(SqlSession s) {
            return s.turns().natives().engineFromAnyThread();
        }

        @Override
        public int run(SqlSession s, EngineBridge.Token token, EngineBridge.Body body) throws IOException {
            return s.turns().runAs(token, body);
        }

        @Override
        public void setDirectHook(PgEmbedded db, EngineBridge.DirectHook hook) {
            db.session.setDirectHook(hook);
        }

        @Override
        public int tryRun(PgEmbedded db, EngineBridge.Token token, EngineBridge.Body body) throws IOException {
            return db.session.tryRunAs(token, body);
        }

        @Override
        public void abort(PgEmbedded db, EngineBridge.Token token) {
            db.session.abortWait(token);
        }

        @Override
        public @Nullable PgEmbedded findOpen(Path d) {
            return Instances.findOpen(d);
        }

        @Override
        public @Nullable PgSession openSession(PgEmbedded db, @Nullable String database, Map<String, String> settings) {
            db.session.requireOpen();
            return db.ownSession(database != null ? database : db.database, db.sessionRole, settings);
        }

        @Override
        public @Nullable Path replicationSocket(PgEmbedded db) {
            db.session.requireOpen();
            return db.cluster == null ? null : db.cluster.replicationSocket();
        }

        @Override
        public void statementsSucceeded(PgEmbedded db, int count) {
            Listeners.statementsSucceeded(db, count);
        }

        @Override
        public void statementFailed(PgEmbedded db, String sqlState) {
            Listeners.statementFailed(db, sqlState);
        }

        @Override
        public void notified(PgEmbedded db, Notification n) {
            db.notified(n);
        }
    }

    /* cluster null: engine is a single-backend engine; else the database's own backend of the cluster */
    private PgEmbedded(
            long id,
            MemorySegment engine,
            Cluster cluster,
            Path dir,
            boolean deleteOnClose,
            String database,
            Duration waitTimeout,
            Consumer<Notice> noticeListener,
            @Nullable Consumer<Notification> notificationListener,
            String sessionRole) {
        this.id = id;
        this.notificationListener = notificationListener;
        this.sessionRole = sessionRole;
        this.database = database;
        this.dir = dir;
        this.deleteOnClose = deleteOnClose;
        this.label = "PgEmbedded[" + dir + "]";
        this.cluster = cluster;
        this.waitTimeout = waitTimeout;
        this.noticeListener = noticeListener;
        this.session = cluster == null
                ? new Session(this, engine, label, waitTimeout, noticeListener, id)
                : new Session(
                        this,
                        engine,
                        label,
                        waitTimeout,
                        noticeListener,
                        id,
                        true,
                        cluster::released,
                        within -> cluster.reconnect(database, sessionRole, within));
    }

    @Override
    Session turns() {
        return session;
    }

    // =============================================================================================
    // Opening
    // =============================================================================================

    /**
     * Opens the database in a directory with the default settings: creates a new cluster when the
     * directory is absent or empty, opens it when it holds one.
     *
     * @param dir the data directory
     * @return the open database
     * @throws PgException when the directory is neither empty nor a cluster, or the engine cannot start
     */
    public static PgEmbedded open(Path dir) {
        return builder(dir).open();
    }

    /**
     * A builder for a database in a directory (created when absent or empty). A database of durability
     * {@link Durability#NONE} created in a directory directly under /dev/shm or java.io.tmpdir (as the test
     * kit's are) is the cluster made ahead after the previous such creation, renamed onto it; the next one is
     * then made in the background, as a hidden {@code .pgembed-spare-*} directory beside it, deleted at exit.
     * Likewise, once a process created two {@link Durability#DURABLE} or {@link Durability#RELAXED} databases
     * on one file system, the next one there is a cluster made ahead and flushed to disk in pgembed's own
     * directory (beside the extracted library), renamed onto it, the rename flushed before the open returns; such
     * a spare holds ~9 MB of disk until it is taken or the JVM exits (a crashed process's is swept by the next).
     * {@code -Dpgembed.spare=false} turns all of it off, {@code -Dpgembed.spare.durable=false} the durable
     * spares alone.
     *
     * @param dir the data directory
     * @return a builder; finish with {@link Builder#open()}
     */
    public static Builder builder(Path dir) {
        return new Builder(Objects.requireNonNull(dir, "dir"));
    }

    /**
     * A builder for a throw-away database in a temporary directory, deleted on {@link #close()}. The
     * directory is made under {@link Builder#memoryDirectory(Path)} when given, else under the system
     * property {@code pgembed.memory.dir}, else under /dev/shm when it exists, is writable and has 256 MB
     * free, else under java.io.tmpdir (with a warning on the {@code dev.pgembed} logger: Docker's default
     * /dev/shm of 64 MB holds two databases). Its durability defaults to {@link Durability#NONE}, wherever
     * it is: nothing is flushed, so on a disk too its files mostly stay in the page cache. In /dev/shm and
     * java.io.tmpdir the next database is made ready in the background after each open (its directory, a
     * {@code pgembed-mem-*} more, and while few databases are open its engine, started with this one's
     * settings), so that the next open costs little; it is deleted at exit, an open that finds the process's
     * engine budget spent gets the engine back, and {@code -Dpgembed.spare=false} turns all of it off.
     *
     * @return a builder; finish with {@link Builder#open()}
     */
    public static Builder inMemory() {
        return new Builder(null).durability(Durability.NONE);
    }

    /** Options for opening a database; obtained from {@link #builder(Path)} or {@link #inMemory()}. */
    public static final class Builder {
        private final Path dir;
        private String database;
        private final Map<String, String> settings = new LinkedHashMap<>();
        private Durability durability = Durability.DURABLE;
        private ZoneId timeZone;
        private Duration transactionWaitTimeout = Duration.ofSeconds(30);
        private Consumer<Notice> noticeListener;
        private @Nullable Consumer<Notification> notificationListener;
        private Path nativeDirectory;
        private Path memoryDirectory;
        private String sessionRole;
        private int backends = 1;
        private int walSenders;

        private Builder(Path dir) {
            this.dir = dir;
        }

        /**
         * The database to connect to (default {@code postgres}); it must exist.
         *
         * @param name the database name
         * @return this builder
         */
        public Builder database(String name) {
            this.database = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * A PostgreSQL setting, applied at start like a command-line option ({@code shared_buffers},
         * {@code work_mem}, {@code statement_timeout}, ...). Overrides the builder's defaults.
         *
         * @param name  the setting's name
         * @param value its value
         * @return this builder
         */
        public Builder setting(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            if (name.isBlank() || name.indexOf('=') >= 0) {
                throw new IllegalArgumentException("invalid setting name: \"" + name + "\"");
            }
            settings.remove(name);
            settings.put(name, value);
            return this;
        }

        /**
         * Opens the session as a role that is not a superuser, instead of the cluster's superuser: for SQL
         * that must not act as the operating-system user. PostgreSQL's privileges then refuse (SQLSTATE 42501)
         * reading or writing server files ({@code pg_read_file}, {@code COPY ... FROM/TO 'file'}), running
         * programs ({@code COPY ... PROGRAM}), loading libraries ({@code LOAD}, {@code LANGUAGE C}), and
         * changing server settings ({@code ALTER SYSTEM}, superuser-only settings). The role is the session's
         * authenticated user, so neither {@code SET ROLE}, {@code SET SESSION AUTHORIZATION} nor
         * {@code RESET} reach a superuser from it. pgembed's own maintenance (checkpoints, vacuum, analyze)
         * still runs as the superuser.
         *
         * <p>The role must exist, have {@code LOGIN} and {@code CONNECT} on the database, and must not be a
         * superuser; opening fails with SQLSTATE 28000 (or 42501 without {@code CONNECT}) otherwise. Create it
         * and grant it what it needs in a session opened without a role, for example
         * {@code CREATE ROLE app LOGIN; CREATE SCHEMA AUTHORIZATION app}.
         *
         * @param role the role's name
         * @return this builder
         */
        public Builder sessionRole(String role) {
            Objects.requireNonNull(role, "role");
            if (role.isEmpty()) {
                throw new IllegalArgumentException("empty role name");
            }
            this.sessionRole = role;
            return this;
        }

        /**
         * How hard commits are made durable (default {@link Durability#DURABLE}).
         *
         * @param durability the durability
         * @return this builder
         */
        public Builder durability(Durability durability) {
            this.durability = Objects.requireNonNull(durability, "durability");
            return this;
        }

        /**
         * The session's time zone (setting {@code TimeZone}); default {@link ZoneId#systemDefault()}.
         *
         * @param zone the time zone
         * @return this builder
         */
        public Builder timeZone(ZoneId zone) {
            this.timeZone = Objects.requireNonNull(zone, "zone");
            return this;
        }

        /**
         * How long a call waits while another thread's transaction is open (default 30 s); then it fails
         * with SQLSTATE 55P03.
         *
         * @param timeout the longest wait
         * @return this builder
         */
        public Builder transactionWaitTimeout(Duration timeout) {
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("negative timeout");
            }
            this.transactionWaitTimeout = timeout;
            return this;
        }

        /**
         * Receives the NOTICE/WARNING/INFO messages of every statement (default: they are logged to
         * {@code System.getLogger("dev.pgembed")}). Called on the thread that ran the statement.
         *
         * @param listener the listener
         * @return this builder
         */
        public Builder noticeListener(Consumer<Notice> listener) {
            this.noticeListener = listener;
            return this;
        }

        /**
         * Receives the notifications of the channels the database's sessions listen on ({@code LISTEN channel}
         * through {@code execute}, then {@code NOTIFY channel, 'payload'} by this session, another
         * {@link PgEmbedded#session()} or a JDBC connection). PostgreSQL delivers a notification when the
         * transaction that sent it commits, at the end of a call: the listener is called on the thread of the call
         * in whose output it arrived, after that call's statements ran (a session's own {@code NOTIFY} therefore
         * at once; another's at this session's next call, or, when a JDBC connection sharing the database's
         * backend sent it, at the end of that connection's statement). Like PostgreSQL's client libraries,
         * pgembed does not wait for notifications on its own: a session that only waits for them runs a cheap
         * statement ({@code SELECT 1}) now and then. Without a listener notifications are dropped. The listener
         * runs while that call still has the session: it should hand work that uses the database to another thread
         * (a statement of its own from a JDBC connection's thread fails with 55P03, as any wait for oneself).
         *
         * @param listener the listener
         * @return this builder
         */
        public Builder notificationListener(Consumer<Notification> listener) {
            this.notificationListener = listener;
            return this;
        }

        /**
         * Where the native library and PostgreSQL's files are extracted (default: system property
         * {@code pgembed.native.dir}, else {@code $XDG_CACHE_HOME/pgembed/native}, else
         * {@code ~/.cache/pgembed/native}). Choose a directory on a filesystem that allows executing code
         * when the default one is mounted noexec. Only the first database opened in a JVM decides.
         *
         * @param directory the base directory of the extracted files
         * @return this builder
         */
        public Builder nativeDirectory(Path directory) {
            this.nativeDirectory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        /**
         * How many PostgreSQL backends the database may run at once (default 1).
         *
         * <p>With 1 the database has one backend, shared by its {@linkplain PgEmbedded#session() sessions},
         * JDBC connections and serve-mode clients, which take turns at transaction boundaries: the cheapest
         * form (one of the process's link-map namespaces, no other thread).
         *
         * <p>With more, the database runs PostgreSQL's own postmaster inside this process, with its
         * checkpointer, and each session, JDBC connection and serve-mode client gets a backend of its own, up
         * to {@code n} at once counting the database's own: they run in parallel, with a server's isolation,
         * row and table locks, deadlock detection, advisory locks, LISTEN/NOTIFY and crash restart. Each
         * backend takes one namespace: a process has 15 when the JVM was started with
         * {@code GLIBC_TUNABLES=glibc.rtld.nns=16} in its environment, 11 without, shared by every database it
         * opens, and the postmaster and checkpointer take two. Beyond {@code n}, or when no namespace is
         * left, further sessions share the database's own backend (they take turns, as with 1); a database
         * whose postmaster cannot start for want of namespaces opens with one backend. Neither is an error.
         *
         * @param n the most backends at once, at least 1
         * @return this builder
         */
        public Builder backends(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("backends must be at least 1, not " + n);
            }
            this.backends = n;
            return this;
        }

        /**
         * Lets PostgreSQL servers subscribe to this database's publications: {@code wal_level=logical} and up to
         * {@code walSenders} WAL senders at once (default 0: none, and the WAL carries no logical decoding
         * information). A server runs {@code CREATE SUBSCRIPTION ... CONNECTION '...' PUBLICATION ...} against
         * the database served by {@code PgEmbedServer} (pgembed-jdbc), which hands each replication connection
         * ({@code replication=database}) to a WAL sender: PostgreSQL's own backend, on a thread of its own that
         * talks to the connection's socket as a server's backend does. A subscription needs one WAL sender for
         * its changes and, while it copies its tables first, one more per table being copied (the server's
         * {@code max_sync_workers_per_subscription}, 2 by default).
         *
         * <p>Requires {@link #backends(int)} above 1: WAL senders are processes of the database's postmaster.
         * Each takes one of the process's link-map namespaces while it runs (see {@link #backends(int)}); when
         * none is left, or {@code walSenders} run already, the connection is refused as a server refuses it
         * (53300 "could not fork", or "number of requested standby connections exceeds max_wal_senders") and
         * the subscriber retries later by itself ({@code wal_retrieve_retry_interval}).
         *
         * @param walSenders the most WAL senders at once, 0 to 10
         * @return this builder
         * @throws IllegalArgumentException for a count out of range
         * @see #open()
         */
        public Builder logicalReplication(int walSenders) {
            if (walSenders < 0 || walSenders > 10) {
                throw new IllegalArgumentException("walSenders must be 0-10, not " + walSenders);
            }
            this.walSenders = walSenders;
            return this;
        }

        /**
         * Where an {@link #inMemory()} database's temporary directory is made (see there for the default).
         *
         * @param parent the directory to make it in (created when absent)
         * @return this builder
         * @throws IllegalStateException for a builder of a given directory ({@link #builder(Path)})
         */
        public Builder memoryDirectory(Path parent) {
            if (dir != null) {
                throw new IllegalStateException(
                        "memoryDirectory is for PgEmbedded.inMemory(); this builder opens " + dir);
            }
            this.memoryDirectory = Objects.requireNonNull(parent, "parent");
            return this;
        }

        /**
         * Opens the database.
         *
         * @return the open database
         * @throws PgException            when the directory is neither empty nor a cluster, or the engine cannot
         *                                start
         * @throws IllegalStateException for {@link #logicalReplication(int)} without {@link #backends(int)} above
         *                                1, or with a {@link #sessionRole(String)}
         */
        public PgEmbedded open() {
            if (walSenders > 0 && backends < 2) {
                throw new IllegalStateException("logicalReplication(" + walSenders + ") needs backends(n) with n > 1:"
                        + " WAL senders are processes of the database's postmaster");
            }
            if (walSenders > 0 && sessionRole != null) {
                // a replication client logs in as the user it names, through serve mode's trust: the superuser
                throw new IllegalStateException("logicalReplication cannot be combined with sessionRole: a WAL"
                        + " sender's client would log in as a superuser, which the session role is there to prevent");
            }
            Path root = NativeLoader.load(nativeDirectory);
            Instances.ensureLogStub();
            Path d;
            boolean temp = dir == null;
            if (!temp && durability != Durability.NONE) {
                SpareClusters.durableBase(root);
            }
            Path spare = null;
            Path base = null;
            if (temp) {
                base = Opening.memoryBase(memoryDirectory);
                SpareClusters.Started started = startedSpare(base);
                if (started != null) {
                    try {
                        return start(started.dir(), true, true, started.engine(), started.settings());
                    } catch (RuntimeException | Error e) {
                        TemporaryDirectories.deleteRecursively(started.dir()); // as for any in-memory open that fails
                        throw e;
                    }
                }
                spare = SpareClusters.take(base, durability);
                d = spare != null ? spare : Opening.createTempDir(base);
            } else {
                d = dir.toAbsolutePath().normalize();
            }
            try {
                SpareClusters.Flush flush = temp ? null : SpareClusters.takeDurable(d, durability);
                boolean created = spare != null
                        || flush != null
                        || (!temp && SpareClusters.takeInto(d, durability))
                        || Opening.prepareDirectory(d, durability);
                Map<String, String> all = Opening.settings(durability, timeZone, settings, temp);
                if (walSenders > 0) {
                    all.put("wal_level", "logical");
                    all.put("max_wal_senders", Integer.toString(walSenders));
                }
                PgEmbedded db = start(d, temp, created, null, all);
                if (created && flush == null && spare == null && !temp) {
                    SpareClusters.created(d, durability);
                }
                if (flush != null) {
                    // the engine started while the rename was being flushed: it is on disk before open returns
                    try {
                        flush.await();
                    } catch (RuntimeException e) {
                        db.close();
                        throw e;
                    }
                }
                if (temp && spareable()) {
                    SpareClusters.startNext(base, all);
                }
                return db;
            } catch (RuntimeException | Error e) {
                if (temp) {
                    TemporaryDirectories.deleteRecursively(d);
                }
                throw e;
            }
        }

        /* can the next such database be an engine started ahead (SpareClusters.Started)? */
        private boolean spareable() {
            return durability == Durability.NONE && database == null && sessionRole == null && backends <= 1;
        }

        /* an engine started ahead for an in-memory database opened as this one, or null */
        private SpareClusters.Started startedSpare(Path base) {
            if (!spareable()) {
                return null;
            }
            Map<String, String> all = Opening.settings(durability, timeZone, settings, true);
            SpareClusters.Started s = SpareClusters.takeEngine(base, all);
            if (s != null) {
                SpareClusters.startNext(base, all);
            }
            return s;
        }

        /* started: an engine already running on d (a spare); null: start one with all */
        private PgEmbedded start(
                Path d, boolean temp, boolean created, MemorySegment started, Map<String, String> all) {
            PgEmbedded db = started == null && backends > 1 ? startCluster(d, temp, all) : null;
            if (db == null) {
                MemorySegment e = started != null ? started : NativeEngines.open(d, database, sessionRole, all);
                db = new PgEmbedded(
                        Instances.nextId(),
                        e,
                        null,
                        d,
                        temp,
                        database,
                        transactionWaitTimeout,
                        noticeListener,
                        notificationListener,
                        sessionRole);
            }
            if (created) {
                db.session.natives().extensionTypes().knownEmpty();
            }
            Instances.register(db, d);
            Listeners.engineOpened(db);
            try {
                Backup.dropStaleSlots(db, d);
            } catch (PgException ignored) {
                // a session role without REPLICATION cannot drop them; the next backup() will
            }
            return db;
        }

        /* the database on a cluster of its own, or null when the process has no namespace left for one */
        private PgEmbedded startCluster(Path d, boolean temp, Map<String, String> all) {
            long id = Instances.nextId();
            Cluster c =
                    Cluster.open(d, all, walSenders > 0, backends, "PgEmbedded[" + d + "]", id, Instances.logStub());
            if (c == null) {
                return null;
            }
            PgEmbedded db = null;
            try {
                MemorySegment e = c.connect(database, sessionRole, Map.of());
                if (e == null) {
                    c.close(null, null);
                    return null;
                }
                db = new PgEmbedded(
                        id,
                        e,
                        c,
                        d,
                        temp,
                        database,
                        transactionWaitTimeout,
                        noticeListener,
                        notificationListener,
                        sessionRole);
                if (sessionRole != null) {
                    refuseSuperuser(db, sessionRole);
                }
                return db;
            } catch (RuntimeException | Error ex) {
                if (db != null) {
                    db.close();
                } else {
                    c.close(null, null);
                }
                throw ex;
            }
        }

        /* a session role confines SQL only when it is not a superuser (pgembed_open_as refuses one the same way) */
        private static void refuseSuperuser(PgEmbedded db, String role) {
            boolean superuser;
            try (Result r = db.query("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user")) {
                superuser = r.rowCount() > 0 && r.row(0).getBoolean(0);
            }
            if (superuser) {
                throw new PgException(
                        "28000",
                        "session role \"" + role + "\" is a superuser: a session role"
                                + " confines SQL only when it is not a superuser; open without one to work as the superuser");
            }
        }
    }

    // =============================================================================================
    // Listeners
    // =============================================================================================

    /**
     * Registers a listener for every database of this process, those open now (it receives
     * {@link PgEmbeddedListener#engineOpened(PgEmbedded)} for each of them at once) and those opened later,
     * however they are opened. Adding a listener that is registered already does nothing.
     *
     * @param listener the listener
     */
    public static void addListener(PgEmbeddedListener listener) {
        Listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /**
     * Unregisters a listener. An event being delivered on another thread at that moment may still reach it.
     *
     * @param listener the listener
     * @return true when it was registered
     */
    public static boolean removeListener(PgEmbeddedListener listener) {
        return Listeners.remove(Objects.requireNonNull(listener, "listener"));
    }

    /** {@return the data directory} */
    public Path directory() {
        return dir;
    }

    /**
     * The role the session was opened as ({@link Builder#sessionRole(String)}).
     *
     * @return the role, or empty when the session belongs to the cluster's superuser
     */
    public Optional<String> sessionRole() {
        return Optional.ofNullable(sessionRole);
    }

    // =============================================================================================
    // Backup
    // =============================================================================================

    /**
     * Writes a consistent copy of this database into {@code target} while it stays open: other threads
     * (and JDBC connections) keep reading and writing during the copy. The copy holds every transaction
     * committed before this call; it is a complete data directory that {@link #open(Path)} opens (it then
     * replays the WAL written during the copy, as PostgreSQL's crash recovery does). Uses PostgreSQL's
     * low-level backup functions ({@code pg_backup_start} / {@code pg_backup_stop}) with a replication slot
     * that keeps the WAL the copy needs; files are created private to the user and flushed to disk. A
     * {@linkplain Builder#sessionRole(String) session role} needs the {@code REPLICATION} attribute and
     * {@code EXECUTE} on {@code pg_backup_start} and {@code pg_backup_stop} (granted by a superuser), else
     * the call fails with 42501.
     *
     * @param target an absent or empty directory, outside the data directory
     * @throws PgException 58P02 when the target is not empty, 25001 when the calling thread holds an open
     *         transaction, 0A000 when the database uses tablespaces, 58030 when the copy fails (the partial
     *         copy is removed), or PostgreSQL's error
     */
    public void backup(Path target) {
        Objects.requireNonNull(target, "target");
        if (session.ownedByCurrentThread()) {
            throw new PgException(
                    "25001",
                    "backup() cannot run inside this thread's open transaction on " + label
                            + ": the copy must not wait for the transaction that waits for it");
        }
        Backup.run(this, dir, target);
    }

    // =============================================================================================
    // Sessions
    // =============================================================================================

    /**
     * A further session of this database: its own transactions, settings, temporary tables, prepared
     * statements and locks, as a connection to a server has. On a database with several backends
     * ({@link Builder#backends(int)}) it runs on a backend of its own, in parallel with the others; when the
     * database has one backend, or its limit or the process's namespaces are spent, it shares the database's
     * own backend and takes turns with it ({@link PgSession#hasOwnBackend()} says which). Close it when done:
     * that ends its backend.
     *
     * <pre>{@code
     * try (PgSession report = db.session()) {
     *     report.transaction(tx -> {          // a long read, while other threads write through db
     *         tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
     *         ...
     *     });
     * }
     * }</pre>
     *
     * @return the session, connected as this database's role to its database
     * @throws IllegalStateException when the database is closed
     * @throws PgException           when a backend could not start for another reason than the budget
     */
    public PgSession session() {
        session.requireOpen();
        PgSession own = ownSession(database, sessionRole, Map.of());
        return own != null ? own : new PgSession(this, null);
    }

    /* a notification for the direct API (its sessions listen on the channel); on the thread whose call got it */
    void notified(Notification n) {
        Consumer<Notification> l = notificationListener;
        if (l != null) {
            l.accept(n);
        }
    }

    /* a session on a backend of its own, or null when the database has none to give (one backend, limit, budget) */
    PgSession ownSession(String db, String user, Map<String, String> settings) {
        if (cluster == null) {
            return null;
        }
        MemorySegment e = cluster.connect(db, user, settings);
        if (e == null) {
            return null;
        }
        String name = label + " session " + Instances.nextId();
        PgSession s = new PgSession(
                this, new Session(this, e, name, waitTimeout, noticeListener, id, false, cluster::released, null));
        cluster.add(s);
        if (!session.isOpen()) {
            s.close(); // the database closed meanwhile
            session.requireOpen();
        }
        return s;
    }

    /** {@return how many PostgreSQL backends the database runs now (1 when it has one backend)} */
    public int backendCount() {
        return cluster == null ? 1 : cluster.backends();
    }

    // =============================================================================================
    // Closing
    // =============================================================================================

    /**
     * Closes the database: ends the session with a shutdown checkpoint (an open transaction is rolled
     * back), waiting for a statement in flight on another thread; on a database with several backends,
     * its {@linkplain #session() sessions} end the same way first, then its postmaster, with the shutdown
     * checkpoint. Deletes the directory of an {@link #inMemory()} database. Idempotent.
     */
    @Override
    public void close() {
        if (cluster != null ? !cluster.close(session, null) : !session.close(null)) {
            return;
        }
        closed();
    }

    /* closes unless a call still runs after wait; false when it did not close (or was closed before) */
    boolean closeWithin(Duration wait) {
        if (cluster != null ? !cluster.close(session, wait) : !session.close(wait)) {
            return false;
        }
        closed();
        return true;
    }

    private void closed() {
        Listeners.engineClosed(this); // once (a cluster's own backend may have ended before, unreported)
        Instances.unregister(this);
        if (deleteOnClose) {
            TemporaryDirectories.deleteRecursively(dir);
        }
    }

    @Override
    public String toString() {
        return label + (session.isOpen() ? "" : " (closed)");
    }
}
