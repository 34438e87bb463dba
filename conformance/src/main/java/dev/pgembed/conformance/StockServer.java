package dev.pgembed.conformance;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The stock PostgreSQL server of the same build: a copy of the staging tree in a world-readable temporary
 * directory, a cluster made by initdb with the options of pgembed's cluster template, started with pg_ctl
 * on a free TCP port of 127.0.0.1. When running as root, everything runs as {@code nobody}.
 */
final class StockServer implements AutoCloseable {
    final Path base;
    final Path stage;
    final Path data;
    final int port;
    private final boolean root;
    private boolean started;

    private StockServer(Path base, Path stage, Path data, int port, boolean root) {
        this.base = base;
        this.stage = stage;
        this.data = data;
        this.port = port;
        this.root = root;
    }

    /**
     * Copies the stage, runs initdb and starts the server.
     *
     * @param stageSrc the staging tree ({@code <tree>/stage})
     * @param base     a fresh directory, made world-readable
     * @param settings server settings (-c name=value)
     */
    static StockServer start(Path stageSrc, Path base, Map<String, String> settings)
            throws IOException, InterruptedException {
        boolean root = "root".equals(System.getProperty("user.name"));
        Files.createDirectories(base);
        chmod(base, "755");
        Path stage = base.resolve("stage");
        run(List.of("cp", "-a", stageSrc.toString(), stage.toString()), null, 120);
        run(List.of("chmod", "-R", "a+rX", stage.toString()), null, 60);
        Path data = base.resolve("data");
        Files.createDirectories(data);
        Path sock = base.resolve("sock");
        Files.createDirectories(sock);
        if (root) {
            run(List.of("chown", "nobody:nogroup", data.toString(), sock.toString()), null, 30);
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        StockServer server = new StockServer(base, stage, data, port, root);
        // the options of pgembed's cluster template (postgres-build/scripts/make-template.sh)
        server.runAs(
                List.of(
                        stage.resolve("bin/initdb").toString(),
                        "-D",
                        data.toString(),
                        "-U",
                        "postgres",
                        "-E",
                        "UTF8",
                        "--locale-provider=builtin",
                        "--builtin-locale=C.UTF-8",
                        "--locale=C",
                        "--data-checksums",
                        "--wal-segsize=16",
                        "--auth=trust",
                        "--no-sync"),
                300);
        StringBuilder conf = new StringBuilder();
        for (Map.Entry<String, String> e : settings.entrySet()) {
            conf.append(e.getKey())
                    .append(" = '")
                    .append(e.getValue().replace("'", "''"))
                    .append("'\n");
        }
        conf.append("listen_addresses = '127.0.0.1'\n");
        conf.append("port = ").append(port).append('\n');
        conf.append("unix_socket_directories = '").append(sock).append("'\n");
        Path auto = data.resolve("postgresql.auto.conf");
        if (root) {
            // written through a temp file by root, then given to nobody
            Files.writeString(auto, Files.readString(auto) + conf);
        } else {
            Files.writeString(auto, Files.readString(auto) + conf);
        }
        server.runAs(
                List.of(
                        stage.resolve("bin/pg_ctl").toString(),
                        "-D",
                        data.toString(),
                        "-w",
                        "-t",
                        "120",
                        "-l",
                        data.resolve("server.log").toString(),
                        "start"),
                180);
        server.started = true;
        return server;
    }

    Path log() {
        return data.resolve("server.log");
    }

    private void runAs(List<String> cmd, int timeoutSeconds) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        if (root) {
            full.addAll(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"));
        }
        full.addAll(cmd);
        run(full, base, timeoutSeconds);
    }

    static void chmod(Path p, String mode) throws IOException, InterruptedException {
        run(List.of("chmod", mode, p.toString()), null, 30);
    }

    static String run(List<String> cmd, Path dir, int timeoutSeconds) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        pb.environment().put("LC_ALL", "C");
        pb.environment().remove("PGDATA");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + cmd);
        }
        String s = new String(out);
        if (p.exitValue() != 0) {
            throw new IOException("failed (" + p.exitValue() + "): " + String.join(" ", cmd) + "\n" + s);
        }
        return s;
    }

    @Override
    public void close() {
        if (!started) {
            return;
        }
        started = false;
        try {
            runAs(
                    List.of(
                            stage.resolve("bin/pg_ctl").toString(),
                            "-D",
                            data.toString(),
                            "-w",
                            "-t",
                            "60",
                            "-m",
                            "immediate",
                            "stop"),
                    90);
        } catch (IOException | InterruptedException e) {
            System.err.println("conformance: could not stop the stock server: " + e.getMessage());
        }
    }
}
