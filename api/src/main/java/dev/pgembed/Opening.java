package dev.pgembed;

import dev.pgembed.internal.TemporaryDirectories;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
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
     * case). A throw-away database keeps its dynamic shared memory as files in its own directory (pg_dynshmem)
     * instead of POSIX segments in /dev/shm: a process killed with it open leaves nothing outside that directory,
     * which Leftovers sweeps (the segments of 4 such databases were 124 MB that no later process removed). On a
     * tmpfs both are the same memory; in the fallback under java.io.tmpdir (a small /dev/shm) they are page cache
     * like the database's own files, never flushed (durability NONE). A disk database's POSIX segments are swept
     * at its next open instead (pgembed.dsm, see engine_resources.c), which a swept directory never has.
     */
    static Map<String, String> settings(
            Durability durability, ZoneId timeZone, Map<String, String> settings, boolean throwAway) {
        Map<String, String> all = new LinkedHashMap<>();
        if (throwAway) {
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

    private static final System.Logger LOG = System.getLogger("dev.pgembed");

    /**
     * The base directory of in-memory databases: {@code parent} when given (the builder's
     * {@code memoryDirectory}), else {@link TemporaryDirectories#base()} (the system property
     * {@code pgembed.memory.dir}, else /dev/shm when it has room, else java.io.tmpdir), swept once of what
     * dead processes left there.
     */
    static Path memoryBase(Path parent) {
        Path base = (parent != null ? parent : TemporaryDirectories.base())
                .toAbsolutePath()
                .normalize();
        if (Files.isDirectory(base)) {
            Leftovers.sweepOnce(base);
        }
        return base;
    }

    /** The temporary directory of an in-memory database, new in base (see {@link #memoryBase(Path)}). */
    static Path createTempDir(Path base) {
        return TemporaryDirectories.create(base, "pgembed-mem-");
    }

    /* is d on a tmpfs (memory, not a disk)? */
    static boolean onTmpfs(Path d) {
        try {
            return "tmpfs".equals(Files.getFileStore(d).type());
        } catch (IOException e) {
            return false;
        }
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
