package dev.pgembed.conformance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The differences a mode expects (the expected-differences file), keyed by "file index hash" (the
 * statement's index among the file's compared statements and a hash of its text), and which of them
 * occurred in this run: a listed difference is not a failure, a listed one that did not occur is stale.
 */
final class ExpectedDifferences {
    private final Map<String, String> entries;
    /** The expected entries that occurred in this run. */
    private final Set<String> occurred = new HashSet<>();

    ExpectedDifferences(Path file, Conformance.Mode mode, boolean cluster) throws IOException {
        this.entries = readExpected(file, mode, cluster);
    }

    /** The reason the file gives for the difference of a key, or null when it does not list it; a listed one occurred. */
    String occurred(String key) {
        String reason = entries.get(key);
        if (reason != null) {
            occurred.add(key);
        }
        return reason;
    }

    /** The entries of this mode for files that ran to their end, which did not occur. */
    List<String> stale(List<Conformance.FileResult> results) {
        Set<String> ran = new HashSet<>();
        for (Conformance.FileResult r : results) {
            if (r.error() == null) {
                ran.add(r.file());
            }
        }
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : entries.entrySet()) {
            if (ran.contains(e.getKey().substring(0, e.getKey().indexOf(' ')))
                    && !occurred.contains(e.getKey())
                    && !e.getValue().startsWith(SOMETIMES)) {
                out.add(e.getKey() + " " + e.getValue());
            }
        }
        out.sort(null);
        return out;
    }

    static String hash(String sql) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256")
                    .digest(sql.strip().replaceAll("\\s+", " ").getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The tag of an entry that may or may not occur (counters that the two sides reach by chance). */
    static final String SOMETIMES = "[sometimes]";

    /**
     * The expected-differences file: lines "[mode] [topology] [sometimes] file index hash reason", where the
     * mode tag ({@code [api]} or {@code [jdbc]}) is optional (without it the entry holds in both modes), so is
     * the topology tag ({@code [single]}: only on a database with one backend, {@code [cluster]}: only on a
     * cluster; without it the entry holds on both), and {@code [sometimes]} marks an entry that is never
     * reported as stale; # starts a comment.
     */
    static Map<String, String> readExpected(Path file, Conformance.Mode mode, boolean cluster) throws IOException {
        Map<String, String> m = new HashMap<>();
        if (file == null || !Files.isRegularFile(file)) {
            return m;
        }
        for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String t = l.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            boolean otherMode = false;
            boolean sometimes = false;
            while (t.startsWith("[")) {
                String tag = t.substring(0, t.indexOf(']') + 1);
                if (tag.equals(SOMETIMES)) {
                    sometimes = true;
                } else if (tag.equals(Conformance.SINGLE) || tag.equals(Conformance.CLUSTER)) {
                    otherMode |= !tag.equals(cluster ? Conformance.CLUSTER : Conformance.SINGLE);
                } else if (Arrays.stream(Conformance.Mode.values())
                        .noneMatch(x -> x.tag().equals(tag))) {
                    throw new IllegalArgumentException("bad tag in " + file + ": " + l);
                } else {
                    otherMode |= !tag.equals(mode.tag());
                }
                t = t.substring(tag.length()).strip();
            }
            if (otherMode) {
                continue;
            }
            String[] p = t.split("\\s+", 4);
            if (p.length < 4) {
                throw new IllegalArgumentException("bad line in " + file + ": " + l);
            }
            String key = p[0] + " " + p[1] + " " + p[2];
            m.put(key, sometimes ? SOMETIMES + " " + p[3] : p[3]);
        }
        return m;
    }
}
