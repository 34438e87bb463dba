package dev.pgembed;

import dev.pgembed.internal.TemporaryDirectories;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * An online backup of an open database with PostgreSQL's own low-level backup protocol
 * (pg_backup_start / copy / pg_backup_stop), so the instance keeps serving other threads while the
 * files are copied. Torn pages in the copy are repaired by the full-page images that backup mode
 * forces into the WAL; opening the copy replays the WAL from the backup's start checkpoint to its end
 * record. A physical replication slot holds the WAL from the start of the backup until it is copied,
 * because checkpoints triggered by concurrent writers would otherwise recycle the segments the copy
 * needs.
 */
final class Backup {

    /** Slots of interrupted backups carry this prefix; they are dropped by the next backup or open. */
    static final String SLOT_PREFIX = "pgembed_backup_";

    /** Directories whose contents a backup must not carry (PostgreSQL's documented list). */
    private static final Set<String> EMPTIED = Set.of(
            "pg_wal",
            "pg_replslot",
            "pg_dynshmem",
            "pg_notify",
            "pg_serial",
            "pg_snapshots",
            "pg_stat_tmp",
            "pg_subtrans");
    /** Top-level files that belong to the running instance, not to the cluster. */
    private static final Set<String> SKIPPED = Set.of(
            "postmaster.pid",
            "postmaster.opts",
            "pgembed.lock",
            "backup_label",
            "backup_label.old",
            "tablespace_map",
            "tablespace_map.old",
            "recovery.signal",
            "standby.signal");

    private static final Pattern WAL_FILE = Pattern.compile("[0-9A-F]{24}(\\.partial)?|[0-9A-F]{8}\\.history");

    private Backup() {}

    static void run(PgEmbedded db, Path source, Path target) {
        Path dst = target.toAbsolutePath().normalize();
        if (dst.startsWith(source)) {
            throw new PgException("22023", "backup target " + dst + " lies inside the data directory " + source);
        }
        if (hasEntries(source.resolve("pg_tblspc"))) {
            throw new PgException(
                    "0A000",
                    "backup of a database with tablespaces is not supported; "
                            + "use pg_basebackup through serve mode");
        }
        boolean created = prepareTarget(dst);
        boolean done = false;
        try {
            dropStaleSlots(db, source);
            String slot = SLOT_PREFIX + ProcessHandle.current().pid() + "_" + System.nanoTime();
            db.execute("SELECT pg_create_physical_replication_slot($1, true, false)", slot);
            try {
                copyUnderBackupMode(db, source, dst);
            } finally {
                if (db.isOpen()) {
                    db.execute("SELECT pg_drop_replication_slot($1)", slot);
                }
            }
            done = true;
        } catch (IOException e) {
            throw new PgException("58030", "backup to " + dst + " failed: " + e.getMessage(), e);
        } finally {
            if (!done) {
                discard(dst, created);
            }
        }
    }

    private static void copyUnderBackupMode(PgEmbedded db, Path source, Path dst) throws IOException {
        db.execute("SELECT pg_backup_start($1, true)", "pgembed backup to " + dst);
        boolean stopped = false;
        try {
            copyTree(source, dst, true);
            String label;
            String spcmap;
            try (Result r = db.query("SELECT labelfile, spcmapfile FROM pg_backup_stop(false)")) {
                Row row = r.iterator().next();
                label = row.getString(0);
                spcmap = row.getString(1);
            }
            stopped = true;
            copyWal(source.resolve("pg_wal"), dst.resolve("pg_wal"));
            write(dst.resolve("backup_label"), label);
            if (spcmap != null && !spcmap.isEmpty()) {
                write(dst.resolve("tablespace_map"), spcmap);
            }
            syncTree(dst);
        } finally {
            if (!stopped && db.isOpen()) {
                try {
                    db.execute("SELECT pg_backup_stop(false)");
                } catch (PgException ignored) {
                    // the copy failed already; its error is the one to report
                }
            }
        }
    }

    /** Removes a failed copy: the directory too when this backup created it, else only what it wrote. */
    private static void discard(Path dst, boolean created) {
        if (created) {
            TemporaryDirectories.deleteRecursively(dst);
            return;
        }
        try (Stream<Path> s = Files.list(dst)) {
            s.forEach(TemporaryDirectories::deleteRecursively);
        } catch (IOException ignored) {
            // best effort: the error of the backup is the one to report
        }
    }

    /** Drops the slots a backup interrupted by a crash left behind: they would hold WAL forever. */
    static void dropStaleSlots(PgEmbedded db, Path source) {
        if (!hasEntries(source.resolve("pg_replslot"))) {
            return;
        }
        db.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots " + "WHERE slot_name LIKE '"
                + SLOT_PREFIX + "%' AND NOT active");
    }

    /** Makes {@code dst} an empty private directory; true when it did not exist before. */
    private static boolean prepareTarget(Path dst) {
        try {
            if (Files.isDirectory(dst, LinkOption.NOFOLLOW_LINKS)) {
                if (hasEntries(dst)) {
                    throw new PgException("58P02", "backup target " + dst + " is not empty");
                }
                Files.setPosixFilePermissions(dst, PosixFilePermissions.fromString("rwx------"));
                return false;
            }
            Files.createDirectories(dst.getParent());
            Files.createDirectory(
                    dst, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            return true;
        } catch (FileAlreadyExistsException e) {
            throw new PgException("58P02", "backup target " + dst + " exists and is not a directory");
        } catch (IOException e) {
            throw new PgException("58030", "could not create backup target " + dst + ": " + e.getMessage(), e);
        }
    }

    private static boolean hasEntries(Path dir) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isPresent();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void copyTree(Path from, Path to, boolean top) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(from)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                Path dst = to.resolve(name);
                if (top && SKIPPED.contains(name) || name.startsWith("pgsql_tmp") || name.equals("pg_internal.init")) {
                    continue;
                }
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectory(
                            dst, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                    if (!(top && EMPTIED.contains(name))) {
                        copyTree(p, dst, false);
                    }
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    copyFile(p, dst);
                }
            }
        }
    }

    private static void copyWal(Path from, Path to) throws IOException {
        Files.createDirectories(to.resolve("archive_status"));
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(from)) {
            for (Path p : entries) {
                if (WAL_FILE.matcher(p.getFileName().toString()).matches()) {
                    copyFile(p, to.resolve(p.getFileName()));
                }
            }
        }
    }

    /** Copies a file the instance may be writing or removing meanwhile: a vanished file is skipped. */
    private static void copyFile(Path from, Path to) throws IOException {
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
                FileChannel out = FileChannel.open(
                        to,
                        Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            long size = in.size();
            long pos = 0;
            while (pos < size) {
                long n = in.transferTo(pos, size - pos, out);
                if (n <= 0) {
                    break;
                }
                pos += n;
            }
        } catch (NoSuchFileException e) {
            // dropped by the instance during the copy; WAL replay recreates whatever still matters
            Files.deleteIfExists(to);
        }
    }

    private static void write(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }

    /** A backup is only a backup once it is on disk: every file's data and every directory's entries. */
    private static void syncTree(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                boolean file = Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS);
                if (file || Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    try (FileChannel c =
                            FileChannel.open(p, file ? StandardOpenOption.WRITE : StandardOpenOption.READ)) {
                        c.force(true);
                    }
                }
            }
        }
    }
}
