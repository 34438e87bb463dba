package dev.pgembed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The steps of opening a database before its engine starts: the settings it starts with (durability, time
 * zone), the temporary directory of an in-memory database, and the data directory made ready (created, or
 * recognised as a cluster, or refused).
 */
final class Opening {
    private Opening() {
    }

    /* the settings an engine starts with: pgembed's defaults, the durability's, then the builder's (any case) */
    static Map<String, String> settings(Durability durability, ZoneId timeZone, Map<String, String> settings) {
        Map<String, String> all = new LinkedHashMap<>();
        all.put("TimeZone", zoneSetting(timeZone != null ? timeZone : ZoneId.systemDefault()));
        all.put("DateStyle", "ISO, MDY");
        all.put("client_encoding", "UTF8");
        if (durability != Durability.DURABLE) {
            all.put("synchronous_commit", "off");
        }
        if (durability == Durability.NONE) {
            all.put("fsync", "off");
            all.put("full_page_writes", "off");
        }
        for (Map.Entry<String, String> s : settings.entrySet()) {
            all.keySet().removeIf(k -> k.equalsIgnoreCase(s.getKey()));
            all.put(s.getKey(), s.getValue());
        }
        return all;
    }

    private static String zoneSetting(ZoneId zone) {
        if (zone instanceof ZoneOffset off) {
            int s = off.getTotalSeconds();
            if (s == 0) {
                return "UTC";
            }
            // POSIX: the offset is west-positive
            int a = Math.abs(s);
            String hm = String.format(Locale.ROOT, "%02d:%02d:%02d", a / 3600, (a / 60) % 60, a % 60);
            return "<" + (s > 0 ? "+" : "-") + hm.replace(":", "") + ">" + (s > 0 ? "-" : "+") + hm;
        }
        return zone.getId();
    }

    static Path createTempDir() {
        Path shm = Path.of("/dev/shm");
        Path base = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        try {
            return Files.createTempDirectory(base, "pgembed-mem-");
        } catch (IOException e) {
            throw new UncheckedIOException("could not create a temporary directory under " + base, e);
        }
    }

    /* the directory to open: an existing cluster, or a new one flushed as the durability asks */
    static void prepareDirectory(Path d, Durability durability) {
        boolean create;
        if (Files.isDirectory(d)) {
            try (Stream<Path> s = Files.list(d)) {
                create = s.findAny().isEmpty();
            } catch (IOException e) {
                throw new UncheckedIOException("could not read directory " + d, e);
            }
            if (!create) {
                if (!NativeSession.isCluster(d)) {
                    // what a creation killed midway left is created again (pgembed_create_cluster)
                    create = Files.isRegularFile(d.resolve("pgembed.creating"));
                    if (!create) {
                        throw notCluster(d);
                    }
                }
            }
        } else if (Files.exists(d)) {
            throw notCluster(d);
        } else {
            create = true;
            try {
                if (d.getParent() != null) {
                    Files.createDirectories(d.getParent());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("could not create " + d.getParent(), e);
            }
        }
        if (create) {
            NativeSession.createCluster(d, durability);
        }
    }

    private static PgException notCluster(Path d) {
        return new PgException("55000", "\"" + d + "\" is neither empty nor a PostgreSQL database cluster"
                + " (no PG_VERSION file): give an absent or empty directory to create a database, or the"
                + " directory of an existing one");
    }
}
