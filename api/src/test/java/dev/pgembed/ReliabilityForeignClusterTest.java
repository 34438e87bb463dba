package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Directories pgembed cannot use are refused with a PgException that says why, the JVM goes on, and the
 * directory is left exactly as it was: a cluster of another PostgreSQL major version and damaged
 * control files.
 */
class ReliabilityForeignClusterTest {

    /**
     * A real cluster of another major version, made by that version's own initdb when one is installed
     * (Debian's postgresql-NN packages put it in /usr/lib/postgresql/NN/bin; -Dpgembed.foreignInitdb names
     * another). Without one, a copy of our own cluster whose PG_VERSION says 17 stands in: PostgreSQL
     * decides compatibility on that file before reading anything else.
     */
    @Test
    void aClusterOfAnotherMajorVersionIsRefused(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("foreign");
        Optional<Path> initdb = foreignInitdb();
        String made;
        if (initdb.isPresent()) {
            initForeign(initdb.get(), tmp, dir);
            made = "made by " + initdb.get();
        } else {
            PgEmbedded.builder(dir).durability(Durability.NONE).open().close();
            Files.writeString(dir.resolve("PG_VERSION"), "17\n");
            made = "stand-in: our cluster with PG_VERSION 17";
        }
        String version = Files.readString(dir.resolve("PG_VERSION")).trim();
        PgException e = refused(dir);
        assertThat(e.getMessage()).contains("database files are incompatible with server");
        assertThat(e.detail())
                .contains("initialized by PostgreSQL version " + version + ",")
                .contains("not compatible with this version 18.");
        System.out.printf(
                "cluster of PostgreSQL %s (%s): %s %s: %s / %s%n",
                version, made, e.severity(), e.sqlState(), e.getMessage(), e.detail());
    }

    @Test
    void aTruncatedControlFileIsRefused(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("db");
        try (PgEmbedded db = PgEmbedded.builder(dir).durability(Durability.NONE).open()) {
            db.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (1)");
        }
        Path control = dir.resolve("global/pg_control");
        byte[] original = Files.readAllBytes(control);
        Files.write(control, java.util.Arrays.copyOf(original, 100));
        PgException e = refused(dir);
        assertThat(e.getMessage()).contains("pg_control");
        System.out.printf("truncated pg_control: %s %s: %s%n", e.severity(), e.sqlState(), e.getMessage());

        // a control file of the right size whose contents do not match their checksum
        byte[] damaged = original.clone();
        damaged[40] ^= 0x5a;
        Files.write(control, damaged);
        e = refused(dir);
        assertThat(e.getMessage()).contains("incorrect checksum in control file");

        // repaired, the database opens with its data
        Files.write(control, original);
        try (PgEmbedded db = PgEmbedded.open(dir);
                Result r = db.query("SELECT n FROM kept")) {
            assertThat(r.row(0).getInt(0)).isEqualTo(1);
        }
    }

    /** Opens dir, expecting a refusal; checks that nothing in dir changed and that the JVM goes on. */
    private static PgException refused(Path dir) throws Exception {
        Map<String, String> before = snapshot(dir);
        PgException e = catchThrowableOfType(
                PgException.class, () -> PgEmbedded.open(dir).close());
        assertThat(e).as("opening %s", dir).isNotNull();
        assertThat(e.sqlState()).matches("[0-9A-Z]{5}").isNotEqualTo("00000");
        Map<String, String> after = snapshot(dir);
        List<String> changes = new java.util.ArrayList<>();
        for (String k : before.keySet()) {
            if (!after.containsKey(k)) {
                changes.add("removed " + k);
            } else if (!after.get(k).equals(before.get(k))) {
                changes.add("changed " + k + ": " + before.get(k) + " -> " + after.get(k));
            }
        }
        after.keySet().stream().filter(k -> !before.containsKey(k)).forEach(k -> changes.add("created " + k));
        assertThat(changes).as("the directory after the refused open").isEmpty();
        // the host is fine and opens other databases
        try (PgEmbedded other =
                        PgEmbedded.inMemory().durability(Durability.NONE).open();
                Result r = other.query("SELECT 6 * 7")) {
            assertThat(r.row(0).getInt(0)).isEqualTo(42);
        }
        return e;
    }

    /** Every entry of the tree: its mode, and a file's size, modification time and a digest of its content. */
    private static Map<String, String> snapshot(Path root) throws Exception {
        Map<String, String> entries = new TreeMap<>();
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String mode =
                        PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
                String what = mode;
                // a directory's own time changes with the lock files an open creates and removes again;
                // its entries are compared one by one
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    what += " "
                            + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS)
                                    .toMillis() + " " + Files.size(p) + " "
                            + HexFormat.of().formatHex(sha.digest(Files.readAllBytes(p)));
                }
                entries.put(root.relativize(p).toString(), what);
            }
        }
        return entries;
    }

    private static Optional<Path> foreignInitdb() throws IOException {
        String given = System.getProperty("pgembed.foreignInitdb");
        if (given != null) {
            return Optional.of(Path.of(given));
        }
        Path versions = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(versions)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(versions)) {
            return s.filter(v -> !v.getFileName().toString().equals("18"))
                    .map(v -> v.resolve("bin/initdb"))
                    .filter(Files::isExecutable)
                    .findFirst();
        }
    }

    /** Runs another version's initdb (as nobody when we are root: initdb refuses root). */
    private static void initForeign(Path initdb, Path tmp, Path dir) throws Exception {
        Files.createDirectory(dir);
        boolean root = "root".equals(ProcessHandle.current().info().user().orElse(""));
        List<String> cmd = new java.util.ArrayList<>();
        if (root) {
            // nobody must reach and own the directory
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
            run(List.of("chown", "nobody:nogroup", dir.toString()));
            cmd.addAll(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"));
        }
        cmd.addAll(List.of(initdb.toString(), "--no-sync", "-A", "trust", "-U", "postgres", "-D", dir.toString()));
        run(cmd);
        if (root) {
            // a user's own cluster: owned by the user who opens it
            run(List.of("chown", "-R", "root:root", dir.toString()));
        }
    }

    private static void run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(String.join(" ", cmd)).isTrue();
        assertThat(p.exitValue()).as("%s: %s", String.join(" ", cmd), out).isZero();
    }
}
