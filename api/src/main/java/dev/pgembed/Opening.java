package dev.pgembed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The steps of opening a database before its engine starts: the settings it starts with (durability, time
 * zone), the temporary directory of an in-memory database, and the data directory made ready (created, or
 * recognised as a cluster, or refused).
 */
final class Opening {
    private Opening() {}

    /*
     * The settings an engine starts with: pgembed's defaults, the durability's, then the builder's (any
     * case). A throw-away database on a tmpfs keeps its dynamic shared memory as files in its own directory
     * (pg_dynshmem) instead of POSIX segments in /dev/shm: a process killed with it open leaves nothing
     * outside that directory, which Leftovers sweeps (the segments of 4 such databases were 124 MB that no
     * later process removed); on a tmpfs both are the same memory.
     */
    static Map<String, String> settings(
            Durability durability, ZoneId timeZone, Map<String, String> settings, boolean throwAwayOnTmpfs) {
        Map<String, String> all = new LinkedHashMap<>();
        if (throwAwayOnTmpfs) {
            all.put("dynamic_shared_memory_type", "mmap");
        }
        all.put("TimeZone", zoneSetting(timeZone != null ? timeZone : ZoneId.systemDefault()));
        all.put("DateStyle", "ISO, MDY");
        all.put("client_encoding", "UTF8");
        if (durability != Durability.DURABLE) {
            all.put("synchronous_commit", "off");
        }
        if (durability == Durability.NONE) {
            all.put("fsync", "off");
            all.put("full_page_writes", "off");
        }
        for (Map.Entry<String, String> s : settings.entrySet()) {
            all.keySet().removeIf(k -> k.equalsIgnoreCase(s.getKey()));
            all.put(s.getKey(), s.getValue());
        }
        return all;
    }

    private static String zoneSetting(ZoneId zone) {
        if (zone instanceof ZoneOffset off) {
            int s = off.getTotalSeconds();
            if (s == 0) {
                return "UTC";
            }
            // POSIX: the offset is west-positive
            int a = Math.abs(s);
            String hm = String.format(Locale.ROOT, "%02d:%02d:%02d", a / 3600, (a / 60) % 60, a % 60);
            return "<" + (s > 0 ? "+" : "-") + hm.replace(":", "") + ">" + (s > 0 ? "-" : "+") + hm;
        }
        return zone.getId();
    }

    /*
     * Free space below which /dev/shm is passed over for an in-memory database: a fresh cluster takes
     * tens of MB there (its files and the first WAL segment), so Docker's default 64 MB /dev/shm failed at the
     * third database with "No space left on device".
     */
    static final long SHM_MIN_FREE = 256L << 20;

    private static final System.Logger LOG = System.getLogger("dev.pgembed");

    /**
     * The base directory of in-memory databases: {@code parent} when given (the builder's
     * {@code memoryDirectory}), else the system property {@code pgembed.memory.dir}, else /dev/shm when it has
     * room, else java.io.tmpdir (said once, with what to do); created, and swept of what dead processes left.
     */
    static Path memoryBase(Path parent) {
        String prop = System.getProperty("pgembed.memory.dir");
        Path base = parent != null
                ? parent
                : prop != null && !prop.isBlank()
                        ? Path.of(prop)
                        : memoryBase(Path.of("/dev/shm"), Path.of(System.getProperty("java.io.tmpdir")));
        base = base.toAbsolutePath().normalize();
        try {
            Files.createDirectories(base);
        } catch (IOException e) {
            throw cannotCreateIn(base, e);
        }
        Leftovers.sweepOnce(base);
        return base;
    }

    /** A new temporary directory for an in-memory database in base (see {@link #memoryBase(Path)}). */
    static Path createTempDir(Path base) {
        try {
            return Files.createTempDirectory(base, "pgembed-mem-");
        } catch (IOException e) {
            throw cannotCreateIn(base, e);
        }
    }

    private static UncheckedIOException cannotCreateIn(Path base, IOException e) {
        return new UncheckedIOException(
                "could not create a temporary directory under " + base
                        + ": choose another with PgEmbedded.inMemory().memoryDirectory(<dir>), -Dpgembed.memory.dir=<dir>"
                        + " or the JDBC URL property memoryDir",
                e);
    }

    private static volatile boolean toldShmTooSmall;

    /* shm when it is a writable directory with SHM_MIN_FREE free, else tmp */
    static Path memoryBase(Path shm, Path tmp) {
        if (!Files.isDirectory(shm) || !Files.isWritable(shm)) {
            return tmp;
        }
        long free;
        try {
            free = store(shm).getUsableSpace();
        } catch (IOException e) {
            return tmp;
        }
        if (free >= SHM_MIN_FREE) {
            return shm;
        }
        if (!toldShmTooSmall) {
            toldShmTooSmall = true;
            LOG.log(
                    System.Logger.Level.WARNING,
                    shm + " has " + (free >> 20) + " MB free (Docker's default"
                            + " /dev/shm is 64 MB), too little for in-memory databases: they go to " + tmp + " instead,"
                            + " with durability NONE as always (nothing is flushed, the files stay in the page cache)."
                            + " Give " + shm + " more room (docker run --shm-size=1g) or choose the directory with"
                            + " -Dpgembed.memory.dir=<dir>, PgEmbedded.inMemory().memoryDirectory(<dir>) or the JDBC URL"
                            + " property memoryDir");
        }
        return tmp;
    }

    /* is d on a tmpfs (memory, not a disk)? */
    static boolean onTmpfs(Path d) {
        try {
            return "tmpfs".equals(store(d).type());
        } catch (IOException e) {
            return false;
        }
    }

    /*
     * The file stores of the directories in-memory databases are made in, found once per process: finding
     * one reads the mount table (/proc/self/mountinfo, 0.3 ms each time), while its free space (statvfs) is
     * read anew at every call.
     */
    private static final Map<Path, FileStore> STORES = new ConcurrentHashMap<>();

    private static FileStore store(Path d) throws IOException {
        FileStore s = STORES.get(d);
        if (s == null) {
            s = Files.getFileStore(d);
            STORES.put(d, s);
        }
        return s;
    }

    /*
     * the directory to open: an existing cluster, or a new one flushed as the durability asks; true when it
     * was created (a copy of the template, which no one else has opened)
     */
    static boolean prepareDirectory(Path d, Durability durability) {
        boolean create;
        if (Files.isDirectory(d)) {
            try (Stream<Path> s = Files.list(d)) {
                create = s.findAny().isEmpty();
            } catch (IOException e) {
                throw new UncheckedIOException("could not read directory " + d, e);
            }
            if (!create) {
                if (!NativeEngines.isCluster(d)) {
                    // what a creation killed midway left is created again (pgembed_create_cluster)
                    create = Files.isRegularFile(d.resolve("pgembed.creating"));
                    if (!create) {
                        throw notCluster(d);
                    }
                }
            }
        } else if (Files.exists(d)) {
            throw notCluster(d);
        } else {
            create = true;
            try {
                if (d.getParent() != null) {
                    Files.createDirectories(d.getParent());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("could not create " + d.getParent(), e);
            }
        }
        if (create) {
            NativeEngines.createCluster(d, durability);
        }
        return create;
    }

    private static PgException notCluster(Path d) {
        return new PgException(
                "55000",
                "\"" + d + "\" is neither empty nor a PostgreSQL database cluster"
                        + " (no PG_VERSION file): give an absent or empty directory to create a database, or the"
                        + " directory of an existing one");
    }
}
