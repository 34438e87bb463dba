package dev.pgembed.benchmarks;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PGlite, run by {@code node} on {@code pglite/bridge.mjs}: the harness sends each workload (statements,
 * parameter sets, transaction boundaries) as one JSON line and the script runs and times it inside the
 * PGlite process, so that the pipe between the two processes is not counted per statement.
 */
final class PgliteEngine implements Engine {
    private final Process node;
    private final BufferedWriter in;
    private final BufferedReader out;
    final String version;
    /** How long the last open took inside PGlite's process (open + SELECT 1), in ms. */
    double openMs;

    private PgliteEngine(Process node) throws IOException {
        this.node = node;
        this.in = new BufferedWriter(new OutputStreamWriter(node.getOutputStream(), StandardCharsets.UTF_8), 1 << 16);
        this.out = new BufferedReader(new InputStreamReader(node.getInputStream(), StandardCharsets.UTF_8));
        Map<String, String> v = call("{\"op\":\"version\"}");
        this.version = v.get("version") + " on node " + v.get("node");
    }

    /** Why PGlite cannot run here, or null when it can (installing its npm package if needed). */
    static String unavailable(Path dir) {
        if (!Files.isRegularFile(dir.resolve("bridge.mjs"))) {
            return "no " + dir.resolve("bridge.mjs");
        }
        try {
            Process p = new ProcessBuilder("node", "--version")
                    .redirectErrorStream(true)
                    .start();
            p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return "`node --version` failed";
            }
        } catch (Exception e) {
            return "node is not on PATH";
        }
        if (!Files.isDirectory(dir.resolve("node_modules/@electric-sql/pglite"))) {
            try {
                System.out.println("[bench] npm install in " + dir);
                Process p = new ProcessBuilder("npm", "install", "--no-audit", "--no-fund")
                        .directory(dir.toFile())
                        .redirectErrorStream(true)
                        .start();
                String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    return "`npm install` failed: "
                            + log.strip().lines().reduce((a, b) -> b).orElse("");
                }
            } catch (Exception e) {
                return "npm could not run: " + e.getMessage();
            }
            if (!Files.isDirectory(dir.resolve("node_modules/@electric-sql/pglite"))) {
                return "`npm install` did not install @electric-sql/pglite";
            }
        }
        return null;
    }

    /** Starts node on the bridge script and opens a database ({@code dataDir == null}: in memory). */
    static PgliteEngine start(Path scriptDir, Path dataDir, boolean relaxed) throws IOException {
        Process p = new ProcessBuilder("node", "bridge.mjs")
                .directory(scriptDir.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        PgliteEngine e = new PgliteEngine(p);
        e.openMs = e.open(dataDir, relaxed);
        return e;
    }

    double open(Path dataDir, boolean relaxed) throws IOException {
        return num(
                call("{\"op\":\"open\",\"dir\":" + (dataDir == null ? "null" : Json.str(dataDir.toString()))
                        + ",\"relaxed\":" + relaxed + "}"),
                "ms");
    }

    /** Closes the database but keeps node running. */
    void closeDb() throws IOException {
        call("{\"op\":\"close\"}");
    }

    private synchronized Map<String, String> call(String json) throws IOException {
        in.write(json);
        in.write('\n');
        in.flush();
        String line = out.readLine();
        if (line == null) {
            throw new IOException("PGlite's node process ended");
        }
        Map<String, String> m = Json.flat(line);
        if (m.containsKey("error")) {
            throw new IOException("PGlite: " + m.get("error"));
        }
        return m;
    }

    private static double num(Map<String, String> m, String k) {
        return Double.parseDouble(m.get(k));
    }

    @Override
    public void exec(String sql) throws IOException {
        call("{\"op\":\"exec\",\"sql\":" + Json.str(sql) + "}");
    }

    @Override
    public Stmt prepare(String sql) {
        throw new UnsupportedOperationException("PGlite runs whole workloads in its own process");
    }

    @Override
    public void begin() {
        throw new UnsupportedOperationException();
    }

    @Override
    public void commit() {
        throw new UnsupportedOperationException();
    }

    @Override
    public double run(Workloads.Workload w) throws IOException {
        StringBuilder b = new StringBuilder(1 << 16);
        b.append("{\"op\":\"run\",\"tx\":").append(w.inTransaction()).append(",\"steps\":[");
        List<Workloads.Step> steps = w.steps();
        for (int i = 0; i < steps.size(); i++) {
            Workloads.Step s = steps.get(i);
            if (i > 0) {
                b.append(',');
            }
            b.append("{\"sql\":")
                    .append(Json.str(PgEmbedEngine.dollar(s.sql())))
                    .append(",\"query\":")
                    .append(s.query())
                    .append(",\"params\":");
            if (s.params() == null) {
                b.append("null");
            } else {
                b.append('[');
                for (int j = 0; j < s.params().size(); j++) {
                    if (j > 0) {
                        b.append(',');
                    }
                    Json.array(b, s.params().get(j));
                }
                b.append(']');
            }
            b.append('}');
        }
        b.append("]}");
        return num(call(b.toString()), "ms");
    }

    @Override
    public double[] latency(String sql, int warmup, int samples) throws IOException {
        Map<String, String> m = call("{\"op\":\"latency\",\"sql\":" + Json.str(sql) + ",\"warmup\":" + warmup
                + ",\"samples\":" + samples + "}");
        return new double[] {num(m, "mean"), num(m, "p50"), num(m, "p99")};
    }

    @Override
    public void bulkLoad(int rows) throws IOException {
        call("{\"op\":\"bulk\",\"rows\":" + rows + "}");
    }

    @Override
    public String describe() {
        return "PGlite " + version;
    }

    @Override
    public void close() throws IOException {
        try {
            closeDb();
        } finally {
            in.close();
            try {
                if (!node.waitFor(30, TimeUnit.SECONDS)) {
                    node.destroyForcibly();
                }
            } catch (InterruptedException e) {
                node.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Just enough JSON for the bridge. */
    static final class Json {
        private static final Pattern PAIR =
                Pattern.compile("\"([^\"]+)\"\\s*:\\s*(\"((?:[^\"\\\\]|\\\\.)*)\"|[-0-9.eE+]+|true|false|null)");

        static String str(String s) {
            StringBuilder b = new StringBuilder(s.length() + 2).append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\t' -> b.append("\\t");
                    case '\r' -> b.append("\\r");
                    default -> {
                        if (c < 0x20) {
                            b.append(String.format("\\u%04x", (int) c));
                        } else {
                            b.append(c);
                        }
                    }
                }
            }
            return b.append('"').toString();
        }

        static void array(StringBuilder b, Object[] values) {
            b.append('[');
            for (int i = 0; i < values.length; i++) {
                if (i > 0) {
                    b.append(',');
                }
                Object v = values[i];
                if (v == null) {
                    b.append("null");
                } else if (v instanceof Number) {
                    b.append(v);
                } else {
                    b.append(str(v.toString()));
                }
            }
            b.append(']');
        }

        /** The top-level string and number members of a flat JSON object. */
        static Map<String, String> flat(String json) {
            Map<String, String> m = new java.util.LinkedHashMap<>();
            Matcher mt = PAIR.matcher(json);
            while (mt.find()) {
                m.put(
                        mt.group(1),
                        mt.group(3) != null
                                ? mt.group(3)
                                        .replace("\\n", "\n")
                                        .replace("\\\"", "\"")
                                        .replace("\\\\", "\\")
                                : mt.group(2));
            }
            return m;
        }
    }
}
