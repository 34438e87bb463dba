package dev.pgembed;

import dev.pgembed.internal.TemporaryDirectories;
import dev.pgembed.internal.bindings.PgEmbeddedH;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.stream.Stream;

/**
 * The next throw-away database's cluster, made ahead of time: creating one (a copy of the template, ~300 files)
 * is half of a fresh in-memory database's open, so after such an open a daemon thread makes the next one's
 * cluster in the same directory, and the next open takes it instead of creating its own. Only for durability
 * {@link Durability#NONE} (nothing of a spare is flushed, as nothing of such a database is), and only in the
 * shared temporary directories (/dev/shm, java.io.tmpdir), where nobody deletes the directory a spare lies in
 * while it is being made (a test's own temporary directory, chosen with {@code memoryDirectory} or {@code
 * pgembed.memory.dir}, would fail to be deleted):
 * the temporary directories of {@link PgEmbedded#inMemory()} (a spare {@code pgembed-mem-*} in their base is the
 * database's directory as it is), and absent or empty directories given to {@link PgEmbedded#builder(Path)} in
 * such a place (a spare {@code .pgembed-spare-*} beside them is renamed onto them: the test kit's databases). One
 * spare per directory; it costs no engine (namespace), only its files (~9 MB).
 *
 * <p>Durable databases ({@link Durability#DURABLE}, {@link Durability#RELAXED}) created in a directory get one
 * too, once the process created two such databases on the same file system itself (test kits, multi-tenant
 * applications; {@link #takeDurable(Path, Durability)}): a creation on a disk is a copy of ~300 files, whose
 * inode allocations cost 25-100 ms of CPU on ext4, and a syncfs, which waits for whatever else the file system
 * has to write. The spare is made and flushed (one syncfs) in the background, in pgembed's own directory
 * ("spares" beside the extracted library, which no application deletes and no user directory counts), and
 * renamed onto the new database's directory when that is on the same file system, both directories' entries
 * flushed before the open returns. {@code -Dpgembed.spare.durable=false} turns these off alone.
 *
 * <p>In-memory databases go further: after an open, the next one's engine is started on a spare in the
 * background ({@link Started}), and an in-memory open with the same settings takes the running engine, so that
 * it costs a few Java objects. Such an engine holds one of the process's link-map namespaces: it is started only
 * while at most three databases are open and none runs a cluster, an open refused for want of a namespace
 * (53300) gets it back and retries, a cluster's start gets it back first (its processes take namespaces where
 * no retry reaches), and none is started after either.
 *
 * <p>A spare is protected as a live database is against the {@link Leftovers} sweep of other processes: this
 * process holds the flock on its {@code pgembed.lock} until the open that takes it locks the directory itself.
 * Spares are deleted when the JVM exits; those of a killed process are swept as its in-memory databases are
 * (the first spare a JVM makes in a directory sweeps that directory first). {@code -Dpgembed.spare=false}
 * turns them off.
 */
final class SpareClusters {
    private SpareClusters() {}

    private static final System.Logger LOG = System.getLogger("dev.pgembed");
    private static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("pgembed.spare", "true"));
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;
    private static final int LOCK_EX = 2;
    private static final int LOCK_NB = 4;

    /* a made spare and the descriptor of its pgembed.lock, whose flock this process holds */
    private record Spare(Path dir, int lockFd) {}

    /*
     * where a spare is made, its name and how it is flushed: in-memory databases' own, one to rename beside a
     * given directory (NONE), or a durable one in pgembed's own directory, renamed onto a directory on its file
     * system (DURABLE: on disk before it is ready)
     */
    private record Place(Path base, String prefix, Durability flush) {
        Place(Path base, String prefix) {
            this(base, prefix, Durability.NONE);
        }
    }

    private static final String MEMORY = "pgembed-mem-";
    private static final String BESIDE = ".pgembed-spare-";
    private static final String DURABLE = "pgembed-durable-";
    /* the directory of durable spares, beside the extracted library (null: not known yet) */
    private static volatile Path durableBase;
    private static final Map<Place, Spare> READY = new ConcurrentHashMap<>();
    /* the threads making a spare, by place */
    private static final Map<Place, Thread> MAKING = new ConcurrentHashMap<>();
    private static boolean hookInstalled;
    /* the JVM is exiting: a spare made now is deleted at once */
    private static volatile boolean exiting;

    /**
     * The spare cluster of an in-memory database in base, now its directory (the flock let go, for the engine
     * to take), or null when there is none; either way the next one is made in the background.
     */
    static Path take(Path base, Durability durability) {
        if (!ENABLED || durability != Durability.NONE || !shared(base)) {
            return null;
        }
        return takeAt(new Place(base, MEMORY));
    }

    /**
     * Makes the absent or empty directory d (absolute, normalised) a new cluster by renaming the spare beside
     * it onto it; false when there is none (or d is something else: a symbolic link, a mount point, not empty),
     * then the caller creates it as usual. Either way the next spare beside it is made in the background.
     */
    static boolean takeInto(Path d, Durability durability) {
        Path parent = d.getParent();
        if (!ENABLED
                || durability != Durability.NONE
                || parent == null
                || !shared(parent)
                || !Files.isDirectory(parent)
                || Files.isSymbolicLink(d)
                || !absentOrEmpty(d)) {
            return false;
        }
        Path spare = takeAt(new Place(parent, BESIDE));
        if (spare == null) {
            return false;
        }
        try {
            // rename(2) replaces an empty directory and refuses a full one or another file system
            Files.move(spare, d, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (IOException | RuntimeException e) {
            TemporaryDirectories.deleteRecursively(spare);
            return false;
        }
    }

    /**
     * Makes the absent or empty directory d (absolute, normalised) a new durable cluster by renaming a spare onto
     * it: a cluster created ahead, flushed to disk (one syncfs) before it was ready, in pgembed's own directory
     * beside the extracted library (see {@link #durableBase(Path)}), which no application deletes. There is one
     * only once this process created two durable databases on that file system itself ({@link #created(Path,
     * Durability)}): a process that creates one database pays nothing for spares. The rename's flush (an fsync of
     * each parent, a journal commit that may wait for whatever else the file system has to write) runs on a
     * thread of its own, so that the engine starts meanwhile: the open waits for it ({@link Flush#await()})
     * before it returns, so that the new cluster is on disk as a created one is. Null when there is no spare (or
     * d is something else, or on another file system, or {@code pgembed.spare.durable=false}): the caller
     * creates it as usual. A spare taken, the next one is made in the background.
     */
    static Flush takeDurable(Path d, Durability durability) {
        Path parent = d.getParent();
        Path base = durableBase;
        if (!durableEnabled()
                || durability == Durability.NONE
                || base == null
                || parent == null
                || !Files.isDirectory(parent)
                || Files.isSymbolicLink(d)
                || !sameFileSystem(parent, base)
                || !absentOrEmpty(d)) {
            return null;
        }
        Place place = new Place(base, DURABLE, Durability.DURABLE);
        if (!READY.containsKey(place) && !MAKING.containsKey(place)) {
            return null;
        }
        // the next one is made once this open is done (Flush.await): its copy and syncfs would compete with the
        // engine's start and the rename's flush
        Path spare = takeAt(place, false);
        if (spare == null) {
            makeNext(place);
            return null;
        }
        try {
            // rename(2) replaces an empty directory and refuses a full one or another mount
            Files.move(spare, d, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            TemporaryDirectories.deleteRecursively(spare);
            makeNext(place);
            return null;
        }
        return new Flush(d, parent, place);
    }

    /*
     * durable creations this process made itself (no spare), by file system (st_dev): the second one on the
     * file system of pgembed's directory starts the spares there
     */
    private static final Map<Object, Integer> DURABLE_CREATIONS = new ConcurrentHashMap<>();

    /**
     * The open of d created its durable cluster itself (no spare was ready) and started its engine: after the
     * second such creation on the file system of pgembed's directory, the next cluster is made ahead there.
     */
    static void created(Path d, Durability durability) {
        Path parent = d.getParent();
        Path base = durableBase;
        if (!durableEnabled() || durability == Durability.NONE || base == null || parent == null) {
            return;
        }
        try {
            Object dev = Files.getAttribute(parent, "unix:dev");
            if (dev.equals(Files.getAttribute(base, "unix:dev"))
                    && DURABLE_CREATIONS.merge(dev, 1, Integer::sum) >= 2) {
                makeNext(new Place(base, DURABLE, Durability.DURABLE));
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "no durable spare for " + d + ": " + e);
        }
    }

    /* durable spares: unless -Dpgembed.spare=false or -Dpgembed.spare.durable=false (read at each creation) */
    private static boolean durableEnabled() {
        return ENABLED && !"false".equalsIgnoreCase(System.getProperty("pgembed.spare.durable", "true"));
    }

    /**
     * The flush of a durable spare's rename onto a new database's directory: both parents' entries, on a thread of
     * its own from the rename on. Should a power loss come first, the cluster is still the spare (swept at the
     * next start), the directory absent or empty as before the open.
     */
    static final class Flush {
        private final Path d;
        private final Place place;
        private final FutureTask<Void> task;

        private Flush(Path d, Path parent, Place place) {
            this.d = d;
            this.place = place;
            this.task = new FutureTask<>(() -> {
                fsyncDirectory(parent);
                fsyncDirectory(place.base());
                return null;
            });
            Thread t = new Thread(task, "pgembed-spare-flush");
            t.setDaemon(true);
            t.start();
        }

        /**
         * Waits for the flush, then has the next spare made; a failure is the open's (58030), whose database the
         * caller closes.
         */
        void await() {
            boolean interrupted = false;
            try {
                while (true) {
                    try {
                        task.get();
                        return;
                    } catch (InterruptedException e) {
                        interrupted = true; // the flush must be known to be done before the open returns
                    }
                }
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                throw new PgException("58030", "could not flush the new cluster " + d + ": " + c.getMessage(), c);
            } finally {
                makeNext(place);
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /*
     * Where durable spares are made: "spares" beside the installation root (the extracted library's directory),
     * created when absent; null when it cannot be (a read-only cache), then there are none.
     */
    static void durableBase(Path root) {
        if (durableBase != null || !ENABLED || root == null || root.getParent() == null) {
            return;
        }
        Path base = root.getParent().resolve("spares").toAbsolutePath().normalize();
        try {
            Files.createDirectories(base);
            durableBase = base;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "no durable spare clusters in " + base + ": " + e);
        }
    }

    private static boolean sameFileSystem(Path a, Path b) {
        try {
            return Files.getAttribute(a, "unix:dev").equals(Files.getAttribute(b, "unix:dev"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /* a directory's entries reach the disk (fsync of the directory) */
    private static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel c = FileChannel.open(dir, StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    /*
     * is dir (absolute, normalised) one of the shared temporary directories? Not one chosen for in-memory
     * databases (memoryDirectory, pgembed.memory.dir): a test's own temporary directory often is one
     */
    private static boolean shared(Path dir) {
        return dir.equals(Path.of("/dev/shm"))
                || dir.equals(Path.of(System.getProperty("java.io.tmpdir"))
                        .toAbsolutePath()
                        .normalize());
    }

    private static boolean absentOrEmpty(Path d) {
        if (!Files.exists(d)) {
            return true;
        }
        if (!Files.isDirectory(d)) {
            return false;
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    private static Path takeAt(Place place) {
        return takeAt(place, true);
    }

    /* next: make the next spare now (else the caller does, when its open is done) */
    private static Path takeAt(Place place, boolean next) {
        Thread making = MAKING.get(place);
        if (making != null && making != Thread.currentThread()) {
            join(making, 10_000); // nearer to done than a creation of this open's own
        }
        Spare s = READY.remove(place);
        if (next) {
            makeNext(place);
        }
        if (s == null) {
            return null;
        }
        // as a closing engine does: the lock file goes first, then the flock, so that no sweep can take the
        // flock of a directory in use (one without the file is one being made, which sweeps leave alone)
        unlinkLock(s.dir());
        close(s.lockFd());
        if (!NativeEngines.isCluster(s.dir())) {
            TemporaryDirectories.deleteRecursively(s.dir()); // removed behind our back: make this one as usual
            return null;
        }
        return s.dir();
    }

    private static synchronized void makeNext(Place place) {
        if (exiting || READY.containsKey(place) || MAKING.containsKey(place)) {
            return;
        }
        installHook();
        Thread t = new Thread(
                () -> {
                    try {
                        make(place);
                    } finally {
                        MAKING.remove(place);
                    }
                },
                "pgembed-spare-cluster");
        t.setDaemon(true);
        MAKING.put(place, t);
        t.start();
    }

    private static void make(Place place) {
        Path d = null;
        int fd = -1;
        try {
            Leftovers.sweepOnce(place.base(), place.prefix() + "*");
            d = Files.createTempDirectory(place.base(), place.prefix());
            NativeEngines.createCluster(d, place.flush());
            fd = lock(d);
            if (fd >= 0 && !exiting && READY.putIfAbsent(place, new Spare(d, fd)) == null) {
                return;
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "no spare cluster in " + place.base() + ": " + e);
        }
        if (fd >= 0) {
            close(fd);
        }
        if (d != null) {
            TemporaryDirectories.deleteRecursively(d);
        }
    }

    /* the flock on d's pgembed.lock, which a live engine holds too; returns its descriptor, or -1 */
    private static int lock(Path d) {
        Path lock = d.resolve("pgembed.lock");
        try (Arena arena = Arena.ofConfined()) {
            Files.createFile(lock, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            int fd = (int) Leftovers.Libc.OPEN.invokeExact(arena.allocateFrom(lock.toString()), O_RDWR | O_CLOEXEC);
            if (fd >= 0 && (int) Leftovers.Libc.FLOCK.invokeExact(fd, LOCK_EX | LOCK_NB) != 0) {
                close(fd);
                return -1;
            }
            return fd;
        } catch (Throwable t) {
            return -1;
        }
    }

    private static void join(Thread t, long millis) {
        try {
            t.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void unlinkLock(Path d) {
        try {
            Files.deleteIfExists(d.resolve("pgembed.lock"));
        } catch (IOException ignored) {
            // the engine's open makes it anew
        }
    }

    private static void close(int fd) {
        try {
            int ignored = (int) Leftovers.Libc.CLOSE.invokeExact(fd);
        } catch (Throwable ignored) {
            // nothing to do
        }
    }

    private static synchronized void installHook() {
        if (!hookInstalled) {
            hookInstalled = true;
            Runtime.getRuntime().addShutdownHook(new Thread(SpareClusters::deleteAll, "pgembed-spare-cleanup"));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Engines started ahead: the next in-memory database's whole open
    // ---------------------------------------------------------------------------------------------

    /**
     * An engine started on a spare cluster of an in-memory base with these settings, for the next in-memory
     * open with the same settings (durability NONE, the default database and role, one backend).
     */
    record Started(Path dir, MemorySegment engine, Map<String, String> settings) {}

    /*
     * A started spare holds one of the process's link-map namespaces (15 at most): only while few databases are
     * open and none runs a cluster (whose processes take namespaces of their own), and never again once an open
     * needed it back.
     */
    private static final int STARTED_MAX_OPEN = 3;

    private static final Map<Path, Started> STARTED = new ConcurrentHashMap<>();
    private static final Map<Path, Thread> STARTING = new ConcurrentHashMap<>();
    /* the settings of the engines being started, by base */
    private static final Map<Path, Map<String, String>> STARTING_WITH = new ConcurrentHashMap<>();
    private static volatile boolean gaveBack;

    /**
     * The engine started ahead on base with exactly these settings, now the caller's; or null. One started
     * with other settings is closed (in the background): the next one is started with the caller's.
     */
    static Started takeEngine(Path base, Map<String, String> settings) {
        // one being started with these settings is nearer to ready than one this open would start
        Thread t = STARTING.get(base);
        if (t != null && settings.equals(STARTING_WITH.get(base))) {
            join(t, 10_000);
        }
        Started s = STARTED.get(base);
        if (s == null || !STARTED.remove(base, s)) {
            return null;
        }
        if (s.settings().equals(settings)) {
            return s;
        }
        Thread closer = new Thread(
                () -> {
                    closeEngine(s.engine());
                    TemporaryDirectories.deleteRecursively(s.dir());
                },
                "pgembed-spare-engine-close");
        closer.setDaemon(false); // its directory must not outlive the JVM
        closer.start();
        return null;
    }

    /**
     * After an in-memory open in base with these settings (which succeeded, so the engine's process-wide
     * machinery is up): the next one's engine is started in the background, where the budget allows.
     */
    static void startNext(Path base, Map<String, String> settings) {
        if (!ENABLED
                || gaveBack
                || !shared(base)
                || Instances.anyCluster()
                || Instances.openCount() > STARTED_MAX_OPEN) {
            return;
        }
        Map<String, String> copy = new LinkedHashMap<>(settings);
        synchronized (SpareClusters.class) {
            if (exiting || STARTED.containsKey(base) || STARTING.containsKey(base)) {
                return;
            }
            installHook();
            Thread t = new Thread(
                    () -> {
                        try {
                            start(base, copy);
                        } finally {
                            STARTING_WITH.remove(base);
                            STARTING.remove(base);
                        }
                    },
                    "pgembed-spare-engine");
            t.setDaemon(true);
            STARTING_WITH.put(base, copy);
            STARTING.put(base, t);
            t.start();
        }
    }

    private static void start(Path base, Map<String, String> settings) {
        Path d = take(base, Durability.NONE);
        MemorySegment e = null;
        try {
            if (d == null) {
                d = Opening.createTempDir(base);
                NativeEngines.createCluster(d, Durability.NONE);
            }
            e = NativeEngines.openOnce(d, null, null, settings);
            // its own callback, as an open database's: the default one is NULL (standard error) once the
            // databases are closed at exit, which is when a spare engine is closed
            PgEmbeddedH.pgembed_set_log_callback(e, Instances.logStub(), MemorySegment.NULL);
            synchronized (SpareClusters.class) {
                if (!exiting && !gaveBack && STARTED.putIfAbsent(base, new Started(d, e, settings)) == null) {
                    return;
                }
            }
        } catch (RuntimeException ex) {
            LOG.log(System.Logger.Level.DEBUG, "no engine started ahead in " + base + ": " + ex);
        }
        if (e != null) {
            closeEngine(e);
        }
        if (d != null) {
            TemporaryDirectories.deleteRecursively(d);
        }
    }

    /**
     * An open found the namespace budget spent: the engines started ahead are closed (those being started
     * are waited for), and no more are started. True when one was closed (a retry may succeed).
     */
    static boolean giveBackEngines() {
        List<Thread> starting;
        synchronized (SpareClusters.class) {
            gaveBack = true;
            starting = List.copyOf(STARTING.values());
        }
        for (Thread t : starting) {
            if (t != Thread.currentThread()) {
                try {
                    t.join(10_000);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        boolean any = false;
        for (Path base : Set.copyOf(STARTED.keySet())) {
            Started s = STARTED.remove(base);
            if (s != null) {
                closeEngine(s.engine());
                TemporaryDirectories.deleteRecursively(s.dir());
                any = true;
            }
        }
        return any;
    }

    private static void closeEngine(MemorySegment e) {
        PgEmbeddedH.pgembed_close(e, MemorySegment.NULL);
    }

    /* for tests: waits until no spare is being made */
    static void awaitMade() throws InterruptedException {
        for (Thread t : STARTING.values()) {
            t.join();
        }
        for (Thread t : MAKING.values()) {
            t.join();
        }
    }

    /* for tests: the engine started ahead in base, or null */
    static Path started(Path base) {
        Started s = STARTED.get(base);
        return s == null ? null : s.dir();
    }

    /* for tests: the durable spare ready, or null */
    static Path readyDurable() {
        Path base = durableBase;
        Spare s = base == null ? null : READY.get(new Place(base, DURABLE, Durability.DURABLE));
        return s == null ? null : s.dir();
    }

    /* for tests: the spare ready in base, in-memory (else beside a given directory), or null */
    static Path ready(Path base, boolean memory) {
        Spare s = READY.get(new Place(base, memory ? MEMORY : BESIDE));
        return s == null ? null : s.dir();
    }

    /* at exit: what is being made is waited for (a creation takes milliseconds), then every spare deleted */
    private static void deleteAll() {
        synchronized (SpareClusters.class) {
            exiting = true;
        }
        for (Thread t : List.copyOf(STARTING.values())) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (Thread t : MAKING.values()) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (Path base : Set.copyOf(STARTED.keySet())) {
            Started s = STARTED.remove(base);
            if (s != null) {
                closeEngine(s.engine());
                TemporaryDirectories.deleteRecursively(s.dir());
            }
        }
        for (Place place : Set.copyOf(READY.keySet())) {
            Spare s = READY.remove(place);
            if (s != null) {
                TemporaryDirectories.deleteRecursively(s.dir());
                close(s.lockFd());
            }
        }
    }
}
