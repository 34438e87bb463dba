package dev.pgembed;

import dev.pgembed.internal.NativeLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;

import static org.assertj.core.api.Assertions.assertThat;

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
        assertThat(dir.resolve("share/postgresql/pgembed-template/pg_notify")).isDirectory();

        // the second extraction reuses the directory: nothing is rewritten
        FileTime before = Files.getLastModifiedTime(lib);
        Files.setLastModifiedTime(lib, FileTime.fromMillis(before.toMillis() - 60_000));
        FileTime marked = Files.getLastModifiedTime(lib);
        assertThat(NativeLoader.extract(base, manifest)).isEqualTo(dir);
        assertThat(Files.getLastModifiedTime(lib)).isEqualTo(marked);

        // a damaged file (truncated) is detected and the directory replaced (the template has empty
        // relation files: the victim is the first from the middle on that truncating changes)
        Path victim = dir.resolve(manifest.files().stream().skip(manifest.files().size() / 2)
                .filter(e -> e.size() > 1).findFirst().orElseThrow().path());
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
        assertThat(dev.pgembed.internal.bindings.PgEmbeddedH.pgembed_pg_version().getString(0)).startsWith("18.");
    }
}
