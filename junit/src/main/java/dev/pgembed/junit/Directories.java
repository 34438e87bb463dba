package dev.pgembed.junit;

import dev.pgembed.internal.TemporaryDirectories;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Set;

/** Temporary directories for test databases: where they go, copying a closed cluster, deleting. */
final class Directories {
    /** What a copy of a closed cluster leaves out: the lock file of whoever had it open. */
    private static final Set<String> NOT_COPIED = Set.of("pgembed.lock", "postmaster.pid");

    private Directories() {}

    /**
     * A new empty directory where pgembed puts in-memory databases: /dev/shm when it has room, else
     * java.io.tmpdir, or -Dpgembed.memory.dir (the API's choice, {@link TemporaryDirectories}).
     */
    static Path newTemporary(String prefix) {
        return TemporaryDirectories.create(prefix);
    }

    /** Copies the cluster in from (closed) into the empty directory to, file by file, modes kept. */
    static void copyCluster(Path from, Path to) {
        try {
            Files.walkFileTree(from, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    Path target = to.resolve(from.relativize(dir).toString());
                    if (!Files.isDirectory(target)) {
                        Files.copy(dir, target, StandardCopyOption.COPY_ATTRIBUTES);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    if (!NOT_COPIED.contains(file.getFileName().toString())
                            || !file.getParent().equals(from)) {
                        Files.copy(
                                file, to.resolve(from.relativize(file).toString()), StandardCopyOption.COPY_ATTRIBUTES);
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("could not copy the template database " + from + " to " + to, e);
        }
    }
}
