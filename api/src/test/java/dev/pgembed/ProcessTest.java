package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Behaviour that needs a JVM of its own: the shutdown hook and the native access check. */
class ProcessTest {

    private static Process child(boolean nativeAccess, String... args) throws Exception {
        return child(false, nativeAccess, args);
    }

    /** ownGroup: start the JVM with setsid, as its own process-group leader, so that a stray
     * kill(0) or kill(-pid) from the backend would reach it rather than be absorbed by a runner. */
    private static Process child(boolean ownGroup, boolean nativeAccess, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        if (ownGroup) {
            cmd.add("setsid");
        }
        cmd.addAll(ChildJvm.command(nativeAccess, List.of(), args));
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
        assertThat(q.exitValue())
                .as(new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                .isZero();
    }

    /**
     * SIGTERM in the middle of a durable workload: the JVM's own shutdown runs (PostgreSQL took no
     * signal), the hook closes the database with a shutdown checkpoint, and the next open needs no
     * crash recovery. Before that, jcmd can still talk to the JVM (its attach mechanism uses
     * SIGQUIT, which PostgreSQL must not have taken).
     */
    @Test
    void sigtermMidWorkloadClosesCleanlyAndJcmdWorks(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("db");
        Process p = child(true, true, "workload-forever", dir.toString());
        var reader =
                new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        long pid = -1;
        while ((line = reader.readLine()) != null && !line.equals("ready")) {
            if (line.startsWith("pid ")) {
                pid = Long.parseLong(line.substring(4));
            }
        }
        assertThat(line).isEqualTo("ready");
        Thread.sleep(500); // inserts are running

        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process dump = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "Thread.print")
                .redirectErrorStream(true)
                .start();
        String threads = new String(dump.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(dump.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(threads).contains("Full thread dump");
        assertThat(p.isAlive()).isTrue();

        p.destroy(); // SIGTERM
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(143); // the JVM's own answer to SIGTERM
        assertThat(dir.resolve("postmaster.pid")).doesNotExist();

        // pg_control says "shut down": the next open runs no crash recovery
        String tree = Files.readString(Path.of(
                        System.getProperty("pgembed.pg.tree.file", "../postgres-build/target/native/pg-tree.path")))
                .trim();
        Process control = new ProcessBuilder(
                        Path.of(tree, "stage", "bin", "pg_controldata").toString(), dir.toString())
                .redirectErrorStream(true)
                .start();
        String state = new String(control.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        control.waitFor(60, TimeUnit.SECONDS);
        assertThat(state).contains("Database cluster state:               shut down");
        try (PgEmbedded db = PgEmbedded.open(dir);
                Result r = db.query("SELECT count(*) > 0 FROM w")) {
            assertThat(r.row(0).getBoolean(0)).isTrue();
        }
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
        try (PgEmbedded db = PgEmbedded.open(dir);
                Result r = db.query("SELECT x FROM t")) {
            assertThat(r.row(0).getInt(0)).isEqualTo(1);
        }
    }

    /** Without native access, JDK 22 to 25 only warn: pgembed opens the database and warns too, with the flag. */
    @Test
    void withoutNativeAccessPgembedWarnsAsTheJdkDoesAndNamesTheFlag(@TempDir Path tmp) throws Exception {
        Process p = child(false, "open", tmp.resolve("db").toString());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out)
                .contains("opened")
                .contains("native access is not enabled for the class path")
                .contains("--enable-native-access=ALL-UNNAMED")
                .contains("Enable-Native-Access: ALL-UNNAMED");
        assertThat(out.split("native access is not enabled", -1))
                .as("warned once")
                .hasSize(2);
    }

    /** Where the JDK refuses native access, its IllegalCallerException says what to add; nothing is created. */
    @Test
    void whereTheJdkDeniesNativeAccessTheErrorSaysWhatToDo(@TempDir Path tmp) throws Exception {
        assumeTrue(Runtime.version().feature() >= 24, "--illegal-native-access exists since JDK 24");
        List<String> cmd = ChildJvm.command(
                false,
                List.of("--illegal-native-access=deny"),
                "open",
                tmp.resolve("db").toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isNotZero();
        assertThat(out)
                .contains("IllegalCallerException: the JVM refused pgembed native access")
                .contains("--enable-native-access=ALL-UNNAMED");
        assertThat(Files.exists(tmp.resolve("db"))).isFalse();
    }
}
