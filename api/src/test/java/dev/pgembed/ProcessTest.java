package dev.pgembed;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Behaviour that needs a JVM of its own: the shutdown hook and the native access check. */
class ProcessTest {

    private static Process child(boolean nativeAccess, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        if (nativeAccess) {
            cmd.add("--enable-native-access=ALL-UNNAMED");
        }
        cmd.add("-XX:ErrorFile=" + System.getProperty("java.io.tmpdir") + "/pgembed-hs_err_%p.log");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        String nativeDir = System.getProperty("pgembed.native.dir");
        if (nativeDir != null) {
            cmd.add("-Dpgembed.native.dir=" + nativeDir);
        }
        cmd.add(ChildMain.class.getName());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    @Test
    void statementsFromAnotherThreadThanTheOpenerWork(@TempDir Path tmp) throws Exception {
        Process p = child(true, "sql-other-thread", tmp.resolve("db").toString(), "SELECT 1.5::float8::text");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("other thread: Row[1.5]").contains("closed");
        Process q = child(true, "close-other-thread", tmp.resolve("db2").toString());
        assertThat(q.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(q.exitValue()).as(new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
    }

    @Test
    void theShutdownHookClosesOpenDatabasesCleanly(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("db");
        Process p = child(true, "exit-while-busy", dir.toString());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("exiting");
        assertThat(dir.resolve("postmaster.pid")).doesNotExist();
        try (PgEmbedded db = PgEmbedded.open(dir); Result r = db.query("SELECT x FROM t")) {
            assertThat(r.row(0).getInt(0)).isEqualTo(1);
        }
    }

    @Test
    void withoutNativeAccessTheErrorSaysWhatToDo(@TempDir Path tmp) throws Exception {
        Process p = child(false, "open", tmp.resolve("db").toString());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).isNotZero();
        assertThat(out).contains("IllegalStateException").contains("--enable-native-access=ALL-UNNAMED");
        assertThat(Files.exists(tmp.resolve("db"))).isFalse();
    }
}
