package dev.pgembed.benchmarks;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The stock PostgreSQL server of our own build, started for the comparison: the compiled tree's
 * {@code stage/} is copied to a directory everyone can read (the cache lives under /root), a cluster is
 * made with initdb (as {@code nobody} when we are root, since the server refuses to run as root), and it
 * listens on a Unix socket and on 127.0.0.1. Stopped by {@link #close()} and by a shutdown hook.
 */
final class PgServer implements AutoCloseable {
    final Path base;
    final Path data;
    final Path socketDir;
    final int port;
    private final Path bin;
    private final boolean asNobody;
    private final Thread hook;
    private volatile boolean stopped;

    private PgServer(Path base, Path bin, boolean asNobody, int port) {
        this.base = base;
        this.bin = bin;
        this.asNobody = asNobody;
        this.port = port;
        this.data = base.resolve("data");
        this.socketDir = base.resolve("run");
        this.hook = new Thread(this::stopQuietly, "pg-server-stop");
    }

    /** Finds the compiled tree: {@code PGEMBED_PG_TREE}, else postgres-build/target/native/pg-tree.path. */
    static Path findTree() throws IOException {
        String env = System.getenv("PGEMBED_PG_TREE");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        for (String p :
                List.of("../postgres-build/target/native/pg-tree.path", "postgres-build/target/native/pg-tree.path")) {
            Path f = Path.of(p);
            if (Files.isRegularFile(f)) {
                return Path.of(Files.readString(f).trim());
            }
        }
        throw new IOException("no postgres-build/target/native/pg-tree.path (build the postgres-build module first)");
    }

    static PgServer start(Path tree, Path workRoot) throws Exception {
        Path stage = tree.resolve("stage");
        if (!Files.isExecutable(stage.resolve("bin/postgres"))) {
            throw new IOException("no server binary in " + stage.resolve("bin"));
        }
        boolean root = "root".equals(System.getProperty("user.name")) || isUid0();
        Path base = Files.createTempDirectory(workRoot, "pg-server-");
        run(List.of("cp", "-a", stage.toString(), base.resolve("stage").toString()), false);
        run(List.of("chmod", "-R", "a+rX", base.toString()), false);
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        PgServer srv = new PgServer(base, base.resolve("stage/bin"), root, port);
        Files.createDirectories(srv.data);
        Files.createDirectories(srv.socketDir);
        if (root) {
            run(List.of("chown", "nobody:nogroup", srv.data.toString(), srv.socketDir.toString()), false);
        }
        Runtime.getRuntime().addShutdownHook(srv.hook);
        try {
            srv.pg(List.of(
                    srv.bin.resolve("initdb").toString(),
                    "-D",
                    srv.data.toString(),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C"));
            srv.pg(List.of(
                    srv.bin.resolve("pg_ctl").toString(),
                    "-D",
                    srv.data.toString(),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    srv.socketDir.resolve("server.log").toString(),
                    "start",
                    "-o",
                    "-k " + srv.socketDir + " -p " + port + " -c listen_addresses=127.0.0.1"
                            + " -c fsync=on -c synchronous_commit=on"));
        } catch (Exception e) {
            srv.close();
            throw e;
        }
        return srv;
    }

    private static boolean isUid0() {
        try {
            return "0".equals(run(List.of("id", "-u"), false).trim());
        } catch (Exception e) {
            return false;
        }
    }

    /** The Unix socket file. */
    Path socket() {
        return socketDir.resolve(".s.PGSQL." + port);
    }

    String unixUrl(String db) {
        return "jdbc:postgresql://localhost:" + port + "/" + db
                + "?socketFactory=org.newsclub.net.unix.AFUNIXSocketFactory$FactoryArg"
                + "&socketFactoryArg=" + socket() + "&sslmode=disable";
    }

    String tcpUrl(String db) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + db + "?sslmode=disable";
    }

    private String pg(List<String> cmd) throws Exception {
        List<String> c = new ArrayList<>();
        if (asNobody) {
            c.addAll(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"));
        }
        c.addAll(cmd);
        return run(c, true);
    }

    private static String run(List<String> cmd, boolean inTmp) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (inTmp) {
            pb.directory(Path.of("/tmp").toFile());
        }
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", cmd));
        }
        String s = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException("failed (" + p.exitValue() + "): " + String.join(" ", cmd) + "\n" + s);
        }
        return s;
    }

    private void stopQuietly() {
        if (stopped) {
            return;
        }
        stopped = true;
        try {
            if (Files.exists(data.resolve("postmaster.pid"))) {
                pg(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-w", "-m", "fast", "stop"));
            }
        } catch (Exception e) {
            System.err.println("could not stop the PostgreSQL server: " + e.getMessage());
        }
        try {
            run(List.of("rm", "-rf", base.toString()), false);
        } catch (Exception ignored) {
            // best effort
        }
    }

    @Override
    public void close() {
        stopQuietly();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // already shutting down
        }
    }
}
