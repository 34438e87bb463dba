package dev.pgembed;

import dev.pgembed.internal.TemporaryDirectories;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What in-memory databases of a process that died (kill -9, a crash) left in their base directory: their
 * {@code pgembed-mem-*} directories, which nobody would ever delete, ~30 MB each on /dev/shm. They are swept
 * when this JVM first makes an in-memory database in that base, under the lock that protects live ones: a
 * live engine holds the flock on its directory's {@code pgembed.lock} (front_lock_data_directory), which
 * dies with its process; a directory whose flock can be taken, on the file its name still refers to, has
 * no live engine. A directory without the file is one being created or being deleted: left alone unless
 * untouched for {@link #UNLOCKED_GRACE}.
 */
final class Leftovers {
    private Leftovers() {}

    static final Duration UNLOCKED_GRACE = Duration.ofMinutes(10);
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;
    private static final int LOCK_EX = 2;
    private static final int LOCK_NB = 4;
    private static final Set<Path> SWEPT = ConcurrentHashMap.newKeySet();
    private static final System.Logger LOG = System.getLogger("dev.pgembed");

    /* open(2) without a mode, flock(2), close(2); also SpareClusters' */
    static final class Libc {
        static final MethodHandle OPEN;
        static final MethodHandle FLOCK;
        static final MethodHandle CLOSE;

        static {
            Linker linker = Linker.nativeLinker();
            var lookup = linker.defaultLookup();
            OPEN = linker.downcallHandle(
                    lookup.find("open").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            FLOCK = linker.downcallHandle(
                    lookup.find("flock").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            CLOSE = linker.downcallHandle(
                    lookup.find("close").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        }
    }

    /** Sweeps base once per JVM (later databases of this JVM there are its own). */
    static void sweepOnce(Path base) {
        sweepOnce(base, "pgembed-mem-*");
    }

    /** Sweeps the directories named glob in base once per JVM (the spare clusters of {@link SpareClusters}). */
    static void sweepOnce(Path base, String glob) {
        if (SWEPT.add(base.toAbsolutePath().normalize().resolve(glob))) {
            sweep(base, glob);
        }
    }

    /** Deletes the {@code pgembed-mem-*} directories in base that no live engine holds; returns how many. */
    static int sweep(Path base) {
        return sweep(base, "pgembed-mem-*");
    }

    private static int sweep(Path base, String glob) {
        int swept = 0;
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(base, glob)) {
            for (Path d : dirs) {
                if (Files.isDirectory(d) && !Files.isSymbolicLink(d) && sweepIfDead(d)) {
                    swept++;
                }
            }
        } catch (IOException | RuntimeException e) {
            // a sweep is a courtesy: it never stands in the way of opening
            LOG.log(System.Logger.Level.DEBUG, "could not sweep " + base + ": " + e);
        }
        if (swept > 0) {
            LOG.log(
                    System.Logger.Level.INFO,
                    "deleted " + swept + " in-memory database directories in " + base
                            + " that processes which ended without closing them left");
        }
        return swept;
    }

    private static boolean sweepIfDead(Path d) throws IOException {
        Path lock = d.resolve("pgembed.lock");
        if (!Files.exists(lock)) {
            Instant touched = Files.getLastModifiedTime(d).toInstant();
            if (touched.isAfter(Instant.now().minus(UNLOCKED_GRACE))) {
                return false;
            }
            TemporaryDirectories.deleteRecursively(d);
            return true;
        }
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) Libc.OPEN.invokeExact(arena.allocateFrom(lock.toString()), O_RDWR | O_CLOEXEC);
            if (fd < 0) {
                return false;
            }
            try {
                if ((int) Libc.FLOCK.invokeExact(fd, LOCK_EX | LOCK_NB) != 0) {
                    return false; // a live engine holds it
                }
                // the flock counts only on the file the name still refers to (as front_lock_data_directory)
                Object opened = Files.readAttributes(Path.of("/proc/self/fd/" + fd), BasicFileAttributes.class)
                        .fileKey();
                Object named =
                        Files.readAttributes(lock, BasicFileAttributes.class).fileKey();
                if (opened == null || !opened.equals(named)) {
                    return false;
                }
                TemporaryDirectories.deleteRecursively(d);
                return !Files.exists(d);
            } finally {
                int ignored = (int) Libc.CLOSE.invokeExact(fd);
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("sweeping " + d, t);
        }
    }
}
