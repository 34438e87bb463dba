package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.PgEmbedded;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL's own isolation suite ({@code src/test/isolation} of the compiled tree: pg_isolation_regress and
 * isolationtester, unchanged) against serve mode on a database with several backends, where every
 * isolationtester session is a real backend of its own. Long form, not in CI:
 *
 * <pre>GLIBC_TUNABLES=glibc.rtld.nns=16 mvn -B -pl jdbc test -Dtest=IsolationSuiteTest -Dpgembed.isolation=all</pre>
 * ({@code -Dpgembed.isolation=deadlock-simple,lock-update-delete} for some specs). It prints the driver's
 * summary; the result files stay in {@code target/isolation}. {@code -Dpgembed.isolation.settings=name=value,...}
 * opens the database with those settings (e.g. {@code autovacuum=off}, to see what a setting changes).
 */
class IsolationSuiteTest {
    @TempDir
    Path tmp;

    @Test
    @EnabledIfSystemProperty(named = "pgembed.isolation", matches = ".+")
    void isolationSpecs() throws Exception {
        Path tree = Path.of(Files.readString(Path.of("../postgres-build/target/native/pg-tree.path"))
                .trim());
        Path suite = tree.resolve("src/src/test/isolation");
        Path out = Path.of("target/isolation").toAbsolutePath();
        Files.createDirectories(out);
        String which = System.getProperty("pgembed.isolation");
        List<String> specs = new ArrayList<>();
        if (which.equals("all")) {
            for (String line : Files.readAllLines(suite.resolve("isolation_schedule"))) {
                if (line.startsWith("test:")) {
                    specs.addAll(List.of(line.substring(5).trim().split("\\s+")));
                }
            }
        } else {
            specs.addAll(List.of(which.split(",")));
        }
        Path sock = tmp.resolve("sock");
        PgEmbedded.Builder builder = PgEmbedded.builder(tmp.resolve("db")).backends(12);
        for (String setting :
                System.getProperty("pgembed.isolation.settings", "").split(",")) {
            int eq = setting.indexOf('=');
            if (eq > 0) {
                builder.setting(
                        setting.substring(0, eq).trim(),
                        setting.substring(eq + 1).trim());
            }
        }
        try (PgEmbedded db = builder.open();
                PgEmbedServer server = PgEmbedServer.unixSocket(db, sock, 5433)) {
            List<String> cmd = new ArrayList<>(List.of(
                    suite.resolve("pg_isolation_regress").toString(),
                    "--host=" + sock,
                    "--port=5433",
                    "--user=postgres",
                    "--inputdir=" + suite,
                    "--outputdir=" + out,
                    "--bindir=" + PgEmbedServer.clientTool("psql").getParent(),
                    "--dbname=isolation_regression"));
            cmd.addAll(specs);
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .directory(suite.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(out.resolve("driver.log").toFile());
            pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
            pb.environment().remove("LD_LIBRARY_PATH");
            Process p = pb.start();
            assertThat(p.waitFor(60, TimeUnit.MINUTES)).isTrue();
            String log = Files.readString(out.resolve("driver.log"));
            System.out.println(log);
            assertThat(log).contains("tests");
        }
    }
}
