package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.pgembed.internal.NativeLoader;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeLoaderTest {

    @Test
    void extractsOnceReusesAndReplacesADamagedCache(@TempDir Path base) throws Exception {
        NativeLoader.Manifest manifest = NativeLoader.readManifest();
        assertThat(manifest.files()).isNotEmpty();
        assertThat(manifest.minGlibc()).isNotBlank();

        Path dir = NativeLoader.extract(base, manifest);
        assertThat(dir.getFileName().toString()).isEqualTo(manifest.hash().substring(0, 16));
        Path lib = dir.resolve("lib/libpgembed.so");
        assertThat(lib).isRegularFile();
        assertThat(dir.resolve(".complete")).isRegularFile();
        // the template's empty directories come from the manifest's "dir" lines (a jar keeps none)
        for (String d : new String[] {"pg_notify", "pg_wal/summaries", "pg_logical/mappings", "pg_tblspc"}) {
            assertThat(dir.resolve("share/postgresql/pgembed-template/" + d)).isDirectory();
        }

        // the second extraction reuses the directory: nothing is rewritten
        FileTime before = Files.getLastModifiedTime(lib);
        Files.setLastModifiedTime(lib, FileTime.fromMillis(before.toMillis() - 60_000));
        FileTime marked = Files.getLastModifiedTime(lib);
        assertThat(NativeLoader.extract(base, manifest)).isEqualTo(dir);
        assertThat(Files.getLastModifiedTime(lib)).isEqualTo(marked);

        // a damaged file (truncated) is detected and the directory replaced (the template has empty
        // relation files: the victim is the first from the middle on that truncating changes)
        Path victim = dir.resolve(manifest.files().stream()
                .skip(manifest.files().size() / 2)
                .filter(e -> e.size() > 1)
                .findFirst()
                .orElseThrow()
                .path());
        long size = Files.size(victim);
        try (FileChannel ch = FileChannel.open(victim, StandardOpenOption.WRITE)) {
            ch.truncate(size / 2);
        }
        assertThat(NativeLoader.extract(base, manifest)).isEqualTo(dir);
        assertThat(Files.size(victim)).isEqualTo(size);
        assertThat(Files.getLastModifiedTime(lib)).isNotEqualTo(marked);
        try (var s = Files.list(base)) {
            // no temporary or damaged leftovers
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> !n.equals(".lock")))
                    .containsExactly(dir.getFileName().toString());
        }

        // a missing marker counts as incomplete
        Files.delete(dir.resolve(".complete"));
        assertThat(NativeLoader.extract(base, manifest)).isEqualTo(dir);
        assertThat(dir.resolve(".complete")).isRegularFile();
    }

    @Test
    void loadsOnceAndReportsTheVersion() {
        Path root = NativeLoader.load(null);
        assertThat(NativeLoader.load(null)).isSameAs(root);
        assertThat(root.resolve("lib/libpgembed.so")).isRegularFile();
        assertThat(dev.pgembed.internal.bindings.PgEmbeddedH.pgembed_pg_version()
                        .getString(0))
                .startsWith("18.");
    }

    /*
     * A writable directory on a file system mounted noexec: the error said "make the directory writable".
     * Needs root (to mount a tmpfs): skipped otherwise.
     */
    @Test
    void aNoexecDirectoryIsNamedAsSuch(@TempDir Path tmp) throws Exception {
        Path fs = Files.createDirectory(tmp.resolve("fs"));
        assumeTrue(
                "root".equals(ProcessHandle.current().info().user().orElse("")), "mounting a file system needs root");
        String mount = run("mount", "-t", "tmpfs", "-o", "size=512m,noexec", "pgembed-noexec", fs.toString());
        assumeTrue(mount.startsWith("0"), "mounting a tmpfs is not allowed here: " + mount);
        try {
            Path base = fs.resolve("native");
            assertThatThrownBy(() -> NativeLoader.extract(base, NativeLoader.readManifest()))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("mounted noexec (at " + fs.toRealPath() + ")")
                    .hasMessageContaining("-Dpgembed.native.dir=")
                    .hasMessageNotContaining("writable");
        } finally {
            if (!run("umount", fs.toString()).startsWith("0")) {
                run("umount", "-l", fs.toString());
            }
        }
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", cmd) + " did not finish");
        }
        return p.exitValue() + " " + out.trim();
    }
}
