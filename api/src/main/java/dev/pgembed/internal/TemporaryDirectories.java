package dev.pgembed.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * <b>Internal, not API</b>: where pgembed puts the directories of databases that live in memory, and how it deletes
 * directory trees; one place for the API's in-memory databases, the JUnit extension's test databases and the
 * Spring Boot starter's in-memory database.
 *
 * <p>The base is the system property {@code pgembed.memory.dir} when set, else /dev/shm when it is a writable
 * directory with at least {@link #SHM_MIN_FREE} free (Docker's default /dev/shm of 64 MB filled up at the third
 * database: "No space left on device"), else {@code java.io.tmpdir} (said once, with what to do).
 */
public final class TemporaryDirectories {
    /**
     * The free space /dev/shm needs for in-memory databases to go there: a fresh cluster takes tens of MB (its
     * files and the first WAL segment), so Docker's default 64 MB /dev/shm failed at the third database.
     */
    public static final long SHM_MIN_FREE = 256L << 20;

    private static final System.Logger LOG = System.getLogger("dev.pgembed");
    private static volatile boolean toldShmTooSmall;

    private TemporaryDirectories() {}

    /** @return the base of in-memory databases' directories (see the class comment) */
    public static Path base() {
        String prop = System.getProperty("pgembed.memory.dir");
        return prop != null && !prop.isBlank()
                ? Path.of(prop)
                : memoryBase(Path.of("/dev/shm"), Path.of(System.getProperty("java.io.tmpdir")));
    }

    /**
     * A new empty directory under {@link #base()}, its name starting with prefix.
     *
     * @param prefix the name's start, for example {@code "pgembed-test-"}
     * @return the new directory
     * @throws UncheckedIOException when it cannot be created (the message says how to choose another base)
     */
    public static Path create(String prefix) {
        return create(base(), prefix);
    }

    /**
     * A new empty directory under base (created when missing), its name starting with prefix.
     *
     * @param base   the parent
     * @param prefix the name's start
     * @return the new directory
     * @throws UncheckedIOException when it cannot be created (the message says how to choose another base)
     */
    public static Path create(Path base, String prefix) {
        try {
            Files.createDirectories(base);
            return Files.createTempDirectory(base, prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "could not create a temporary directory under " + base
                            + ": choose another with PgEmbedded.inMemory().memoryDirectory(<dir>), -Dpgembed.memory.dir=<dir>"
                            + " or the JDBC URL property memoryDir",
                    e);
        }
    }

    /**
     * shm when it is a writable directory with {@link #SHM_MIN_FREE} free, else tmp.
     *
     * @param shm the memory file system's directory (/dev/shm)
     * @param tmp the fallback
     * @return the one to use
     */
    public static Path memoryBase(Path shm, Path tmp) {
        if (!Files.isDirectory(shm) || !Files.isWritable(shm)) {
            return tmp;
        }
        long free;
        try {
            free = Files.getFileStore(shm).getUsableSpace();
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

    /**
     * Deletes a directory tree, best effort: what cannot be deleted stays (one WARNING names the directory).
     *
     * @param dir the tree's root (a missing one is no error)
     */
    public static void deleteRecursively(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: said below
                }
            });
        } catch (IOException | UncheckedIOException ignored) {
            // best effort: said below
        }
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            LOG.log(System.Logger.Level.WARNING, "could not delete all of " + dir);
        }
    }
}
