package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The C tests' module ({@code postgres-build/src/test/module/panic_module.c}: {@code pgembed_test_panic} PANICs,
 * {@code pgembed_test_fatal} FATALs on request), compiled for a test against the PostgreSQL tree the build made
 * ({@code postgres-build/target/native/pg-tree.path} names it) and bound to libpgembed as the bundled modules are.
 * SQL alone cannot PANIC a healthy system; a superuser can create a C function from this file.
 */
final class PanicModule {
    private PanicModule() {}

    /** Compiles the module into dir; skips the calling test when the build's PostgreSQL tree is not there. */
    static Path compile(Path dir) throws Exception {
        Path build = Path.of("..", "postgres-build").toAbsolutePath().normalize();
        Path treeFile = build.resolve("target/native/pg-tree.path");
        assumeTrue(Files.exists(treeFile), "no PostgreSQL tree of this build: " + treeFile);
        Path tree = Path.of(Files.readString(treeFile).trim());
        String include = run(List.of(tree.resolve("stage/bin/pg_config").toString(), "--includedir-server"))
                .trim();
        Path out = dir.resolve("pgembed_test_module.so");
        run(List.of(
                "cc",
                "-O1",
                "-fPIC",
                "-shared",
                "-o",
                out.toString(),
                build.resolve("src/test/module/panic_module.c").toString(),
                "-I" + include,
                "-L" + build.resolve("target/native"),
                "-lpgembed"));
        return out;
    }

    private static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s: %s", cmd, out).isZero();
        return out;
    }
}
