package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pgembed opens no network socket, and what it writes is private to the user: directories 0700, files
 * 0600 (PostgreSQL's rule for a cluster without group access), whatever the host's umask.
 */
class ReliabilitySecurityTest {

    private static final Pattern SOCKET = Pattern.compile("socket:\\[(\\d+)]");

    @Test
    void noNetworkSocketAndPrivateFiles(@TempDir Path tmp) throws Exception {
        Set<String> before = socketInodes();
        Path dir = tmp.resolve("db");
        List<String> loose;
        Set<String> during;
        try (PgEmbedded db = PgEmbedded.open(dir)) {
            try (Result r = db.query("SHOW data_directory_mode")) {
                assertThat(r.row(0).getString(0))
                        .as("the template gives no group access")
                        .isEqualTo("0700");
            }
            workload(db);
            during = socketInodes();
            loose = looseModes(dir);
            // a sort spilling to disk while we look: its temporary files too
            db.execute("SET work_mem = '64kB'");
            try (RowCursor c = db.cursor("SELECT g, md5(g::text) FROM generate_series(1, 200000) g ORDER BY 2", 10)) {
                assertThat(c.next()).isNotNull();
                try (Stream<Path> s = Files.walk(dir)) {
                    assertThat(s.anyMatch(p -> p.toString().contains("pgsql_tmp") && Files.isRegularFile(p)))
                            .as("the sort spilled to a temporary file")
                            .isTrue();
                }
                loose.addAll(looseModes(dir));
            }
        }
        loose.addAll(looseModes(dir));
        assertThat(loose)
                .as("files and directories readable by others than the user")
                .isEmpty();

        Set<String> added = new HashSet<>(during);
        added.removeAll(before);
        assertThat(added)
                .as("the engine's own socketpair is seen (the check sees pgembed's sockets)")
                .isNotEmpty();
        // the protocol runs over an unnamed AF_UNIX socketpair; nothing may be an INET or bound socket
        for (String net : List.of("tcp", "tcp6", "udp", "udp6", "raw", "raw6", "udplite", "udplite6")) {
            Set<String> inet = inodesIn(Path.of("/proc/self/net", net), 9);
            inet.retainAll(added);
            assertThat(inet)
                    .as("sockets of /proc/self/net/%s opened by pgembed", net)
                    .isEmpty();
        }
        for (String line : lines(Path.of("/proc/self/net/unix"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 7 && added.contains(f[6])) {
                assertThat(f.length)
                        .as("an AF_UNIX socket with an address: %s", line)
                        .isEqualTo(7);
            }
        }
        Set<String> after = socketInodes();
        after.removeAll(before);
        assertThat(after).as("sockets left open after close").isEmpty();
    }

    private static void workload(PgEmbedded db) {
        db.execute("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE INDEX ON t (v)");
        db.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
        db.execute("UPDATE t SET v = v || 'x' WHERE id % 3 = 0");
        db.execute("VACUUM (ANALYZE) t");
        db.execute("CREATE MATERIALIZED VIEW m AS SELECT id % 10 AS k, count(*) FROM t GROUP BY 1");
        db.execute("CREATE DATABASE other");
        db.execute("CHECKPOINT");
    }

    /** Entries of the tree whose mode is not 0700 (directories) or 0600 (files). */
    private static List<String> looseModes(Path root) throws IOException {
        List<String> loose = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String mode;
                try {
                    mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
                } catch (java.nio.file.NoSuchFileException gone) {
                    continue; // a temporary file removed meanwhile
                }
                String expected = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "rwx------" : "rw-------";
                if (!mode.equals(expected)) {
                    loose.add(mode + " " + root.relativize(p));
                }
            }
        } catch (java.io.UncheckedIOException e) {
            if (!(e.getCause() instanceof java.nio.file.NoSuchFileException)) {
                throw e;
            }
        }
        return loose;
    }

    private static Set<String> socketInodes() throws IOException {
        Set<String> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    Matcher m = SOCKET.matcher(Files.readSymbolicLink(fd).toString());
                    if (m.matches()) {
                        inodes.add(m.group(1));
                    }
                } catch (IOException closed) {
                    // the descriptor of the listing itself, or one closed meanwhile
                }
            }
        }
        return inodes;
    }

    /** The inode column (0-based index) of a /proc/net table. */
    private static Set<String> inodesIn(Path table, int column) throws IOException {
        Set<String> inodes = new HashSet<>();
        if (!Files.exists(table)) {
            return inodes;
        }
        List<String> rows = lines(table);
        for (String line : rows.subList(Math.min(1, rows.size()), rows.size())) {
            String[] f = line.trim().split("\\s+");
            if (f.length > column) {
                inodes.add(f[column]);
            }
        }
        return inodes;
    }

    private static List<String> lines(Path p) throws IOException {
        return Files.exists(p) ? Files.readAllLines(p) : List.of();
    }
}
