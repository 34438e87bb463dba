package dev.pgembed.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * What the kernel says about the file system a path is on ({@code /proc/self/mountinfo}), to explain a
 * failure: a directory can be writable and still unusable for native code, when it is mounted noexec
 * (mapping a library from it fails, and access(2) reports no file there executable).
 */
final class Mounts {
    private Mounts() {}

    /**
     * The mount point of the file system that holds {@code path} (or its nearest existing ancestor), if
     * that file system is mounted noexec.
     */
    static Optional<Path> noexecMountPoint(Path path) {
        Path p = path.toAbsolutePath().normalize();
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        List<String> lines;
        try {
            p = p == null ? Path.of("/") : p.toRealPath();
            lines = Files.readAllLines(Path.of("/proc/self/mountinfo"));
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
        // "36 35 98:0 /root /mnt rw,noatime,noexec master:1 - ext3 /dev/root rw": the last matching line
        // with the longest mount point is the file system in effect (later mounts hide earlier ones)
        Path best = null;
        boolean noexec = false;
        for (String line : lines) {
            String[] f = line.split(" ");
            if (f.length < 6) {
                continue;
            }
            Path mountPoint = Path.of(unescape(f[4]));
            if (p.startsWith(mountPoint) && (best == null || mountPoint.getNameCount() >= best.getNameCount())) {
                best = mountPoint;
                noexec = Arrays.asList(f[5].split(",")).contains("noexec");
            }
        }
        return noexec ? Optional.of(best) : Optional.empty();
    }

    /* mountinfo writes space, tab, newline and backslash as \ooo */
    private static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
