package dev.pgembed.postgis;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The stock PostgreSQL server of the same build with the same PostGIS: a copy of the tree's stage with PostGIS's
 * {@code make install} output ({@code <tree>/postgis-install}) laid over it, a cluster made by initdb with the
 * options of pgembed's cluster template, started by pg_ctl on a Unix socket only. As root, the server runs as
 * {@code nobody}. PostGIS's libraries here are the system's (the ones the payload bundles copies of).
 */
final class StockPostgis implements AutoCloseable {
    private final Path base;
    private final Path stage;
    private final Path data;
    private final boolean root;
    final Path socketDir;
    final int port = 5432;

    private StockPostgis(Path base, Path stage, Path data, Path socketDir, boolean root) {
        this.base = base;
        this.stage = stage;
        this.data = data;
        this.socketDir = socketDir;
        this.root = root;
    }

    /**
     * Copies the stage and PostGIS, runs initdb and starts the server.
     *
     * @param tree the compiled PostgreSQL tree (stage/ and postgis-install/)
     * @param base a fresh directory (emptied first)
     * @param socketDir a short directory for the socket (107-byte limit)
     * @return the running server
     */
    static StockPostgis start(Path tree, Path base, Path socketDir) throws IOException, InterruptedException {
        boolean root = "root".equals(System.getProperty("user.name"));
        sh(List.of("rm", "-rf", base.toString()));
        Files.createDirectories(base);
        Path stage = base.resolve("stage");
        sh(List.of("cp", "-a", tree.resolve("stage").toString(), stage.toString()));
        // make install wrote under DESTDIR=<tree>/postgis-install with the stage's absolute path
        Path installed = tree.resolve("postgis-install/"
                + tree.resolve("stage").toAbsolutePath().toString().substring(1));
        sh(List.of("cp", "-a", installed + "/.", stage.toString()));
        Path data = base.resolve("data");
        Files.createDirectories(data);
        sh(List.of("chmod", "-R", "a+rX", base.toString()));
        if (root) {
            sh(List.of("chown", "nobody:nogroup", data.toString(), socketDir.toString()));
        }
        StockPostgis server = new StockPostgis(base, stage, data, socketDir, root);
        server.as(List.of(
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
                "--auth=trust",
                "--no-sync"));
        server.as(List.of(
                stage.resolve("bin/pg_ctl").toString(),
                "-D",
                data.toString(),
                "-w",
                "-t",
                "120",
                "-l",
                data.resolve("server.log").toString(),
                "-o",
                "-c listen_addresses='' -c unix_socket_directories='" + socketDir + "' -c fsync=off",
                "start"));
        return server;
    }

    /** The stage psql of the stock side runs from (the same binaries as the tree's). */
    Path stage() {
        return stage;
    }

    private void as(List<String> cmd) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        if (root) {
            full.addAll(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"));
        }
        full.addAll(cmd);
        PostgisRegress.run(full, base, List.of("LD_LIBRARY_PATH=" + stage.resolve("lib")));
    }

    private static void sh(List<String> cmd) throws IOException, InterruptedException {
        PostgisRegress.run(cmd, Path.of("/"), List.of());
    }

    @Override
    public void close() throws IOException, InterruptedException {
        as(List.of(stage.resolve("bin/pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "stop"));
    }
}
