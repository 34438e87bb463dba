package dev.pgembed.internal;

import dev.pgembed.internal.bindings.NativeLibrary;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.URL;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * Extracts the native payload of {@code pgembed-postgres} for the running platform (libpgembed.so, PostgreSQL's
 * modules and share files, the template cluster; see {@link Platforms}) into a cache directory and loads the
 * library.
 *
 * <p>Add-on artifacts (such as {@code pgembed-postgis}) each carry a {@code <platform>/pgembed-addon.manifest}
 * in the same format: their files are extracted into the same tree (an extension's module into
 * {@code lib/postgresql}, its scripts into {@code share/postgresql/extension}), and the directory's name
 * covers them, so adding or removing one gives a tree of its own.
 *
 * <p>Not public API: used by {@code dev.pgembed.PgEmbedded}.
 */
public final class NativeLoader {

    private static final String MANIFEST = "pgembed.manifest";
    private static final String ADDON_MANIFEST = "pgembed-addon.manifest";
    private static final String COMPLETE = ".complete";

    private static volatile Path loadedRoot;

    private NativeLoader() {}

    /** One line {@code file <sha256> <size> <path>} of the manifest. */
    public record Entry(String sha256, long size, String path) {}

    /**
     * The parsed manifest of one platform's payload (its resources lie under {@code platform/}); {@code dirs} are
     * the directories that must exist even when empty.
     */
    public record Manifest(
            String platform, byte[] bytes, String hash, String minGlibc, List<Entry> files, List<String> dirs) {}

    /**
     * Extracts (when needed) and loads libpgembed.so, once per JVM.
     *
     * @param baseDir the cache base directory, or null for the default
     *                ({@code pgembed.native.dir}, else {@code $XDG_CACHE_HOME/pgembed/native}, else
     *                {@code ~/.cache/pgembed/native}); ignored once the library is loaded
     * @return the installation root (holding lib/ and share/)
     */
    public static Path load(@Nullable Path baseDir) {
        Path root = loadedRoot;
        if (root != null) {
            return root;
        }
        synchronized (NativeLoader.class) {
            if (loadedRoot != null) {
                return loadedRoot;
            }
            Manifest manifest = readManifest();
            NativeAccess.check();
            checkLibc(manifest.minGlibc());
            Path dir = extract(baseDir != null ? baseDir : defaultBaseDir(), manifest);
            Path lib = dir.resolve("lib/libpgembed.so");
            try {
                // not System.load: the JDK refuses a library loaded in another class loader (see NativeLibrary)
                NativeLibrary.use(SymbolLookup.libraryLookup(lib.toAbsolutePath(), Arena.global()));
            } catch (IllegalCallerException e) {
                throw NativeAccess.denied(e);
            } catch (IllegalArgumentException e) {
                // libraryLookup's dlopen failure (System.load threw UnsatisfiedLinkError)
                UnsatisfiedLinkError error =
                        new UnsatisfiedLinkError("could not load " + lib + ": " + e.getMessage() + ": " + remedy(dir));
                error.initCause(e);
                throw error;
            }
            loadedRoot = dir;
            return dir;
        }
    }

    /** The default cache base directory. */
    public static Path defaultBaseDir() {
        String prop = System.getProperty("pgembed.native.dir");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "pgembed", "native");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "pgembed", "native");
    }

    private static void checkLibc(String minGlibc) {
        try (Stream<Path> s = Files.list(Path.of("/lib"))) {
            if (s.anyMatch(p -> p.getFileName().toString().startsWith("ld-musl-"))) {
                throw new IllegalStateException("pgembed needs glibc, but this system uses musl libc (for example"
                        + " Alpine Linux): use a glibc-based distribution or image (Debian, Ubuntu, RHEL, ...)");
            }
        } catch (IOException ignored) {
            // no /lib: decide with the symbol below
        }
        Linker linker = Linker.nativeLinker();
        MemorySegment fn = linker.defaultLookup()
                .find("gnu_get_libc_version")
                .orElseThrow(() -> new IllegalStateException(
                        "pgembed needs glibc " + minGlibc + " or newer, but this system's C library"
                                + " is not glibc (no gnu_get_libc_version): use a glibc-based Linux distribution"));
        String version;
        try {
            MethodHandle h = linker.downcallHandle(fn, FunctionDescriptor.of(ValueLayout.ADDRESS));
            MemorySegment p = (MemorySegment) h.invokeExact();
            version = p.reinterpret(64).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("could not determine the glibc version", t);
        }
        if (minGlibc != null && compareVersions(version, minGlibc) < 0) {
            throw new IllegalStateException("pgembed needs glibc " + minGlibc + " or newer, this system has glibc "
                    + version + ": upgrade the operating system (or use a newer base image)");
        }
    }

    static int compareVersions(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int u = i < x.length ? leadingInt(x[i]) : 0;
            int v = i < y.length ? leadingInt(y[i]) : 0;
            if (u != v) {
                return Integer.compare(u, v);
            }
        }
        return 0;
    }

    private static int leadingInt(String s) {
        int n = 0;
        for (int i = 0; i < s.length() && Character.isDigit(s.charAt(i)); i++) {
            n = n * 10 + (s.charAt(i) - '0');
        }
        return n;
    }

    /** Reads and parses the running platform's {@code <platform>/pgembed.manifest} from the class path. */
    public static Manifest readManifest() {
        return readManifest(Platforms.current());
    }

    /**
     * Reads and parses a platform's {@code <platform>/pgembed.manifest} from the class path.
     *
     * @param platform one of {@link Platforms#KNOWN}
     * @return the manifest
     * @throws IllegalStateException when that platform's payload is not on the class path
     */
    public static Manifest readManifest(String platform) {
        String name = platform + "/" + MANIFEST;
        byte[] bytes;
        try (InputStream in = resource(name)) {
            if (in == null) {
                throw missingPayload(platform);
            }
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + name, e);
        }
        List<Entry> files = new ArrayList<>();
        List<String> dirs = new ArrayList<>();
        String minGlibc = parse(bytes, files, dirs);
        if (files.isEmpty()) {
            throw new IllegalStateException(name + " lists no files");
        }
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(bytes);
        for (byte[] addon : addonManifests(platform)) {
            String needs = parse(addon, files, dirs);
            if (needs != null && (minGlibc == null || compareVersions(needs, minGlibc) > 0)) {
                minGlibc = needs;
            }
            all.writeBytes(addon);
        }
        byte[] combined = all.toByteArray();
        return new Manifest(
                platform,
                combined,
                HexFormat.of().formatHex(sha256().digest(combined)),
                minGlibc,
                List.copyOf(files),
                List.copyOf(dirs));
    }

    /* Adds the file and dir lines of one manifest to the lists; returns its min-glibc line's version. */
    private static @Nullable String parse(byte[] bytes, List<Entry> files, List<String> dirs) {
        String minGlibc = null;
        for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
            if (line.startsWith("min-glibc ")) {
                minGlibc = line.substring(10).trim();
            } else if (line.startsWith("file ")) {
                String[] f = line.split(" ", 4);
                if (f.length != 4 || f[3].contains("..") || f[3].startsWith("/")) {
                    throw new IllegalStateException("malformed manifest line: " + line);
                }
                files.add(new Entry(f[1], Long.parseLong(f[2]), f[3]));
            } else if (line.startsWith("dir ")) {
                String d = line.substring(4).trim();
                if (d.contains("..") || d.startsWith("/")) {
                    throw new IllegalStateException("malformed manifest line: " + line);
                }
                dirs.add(d);
            }
        }
        return minGlibc;
    }

    /* A platform's add-on manifests on the class path, in an order that does not depend on the class path's. */
    private static List<byte[]> addonManifests(String platform) {
        ClassLoader cl = NativeLoader.class.getClassLoader();
        if (cl == null) {
            cl = Thread.currentThread().getContextClassLoader();
        }
        List<byte[]> found = new ArrayList<>();
        if (cl == null) {
            return found;
        }
        String name = platform + "/" + ADDON_MANIFEST;
        try {
            for (URL url : Collections.list(cl.getResources(name))) {
                try (InputStream in = url.openStream()) {
                    found.add(in.readAllBytes());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + name, e);
        }
        found.sort(Comparator.comparing(b -> HexFormat.of().formatHex(sha256().digest(b))));
        return found;
    }

    /* no payload for this platform: which artifact to add, and which payloads are there instead */
    private static IllegalStateException missingPayload(String platform) {
        List<String> present = new ArrayList<>();
        for (String p : Platforms.KNOWN) {
            try (InputStream in = resource(p + "/" + MANIFEST)) {
                if (in != null) {
                    present.add(p);
                }
            } catch (IOException ignored) {
                // counts as absent
            }
        }
        return new IllegalStateException("pgembed's native payload for " + platform + " is not on the class path"
                + (present.isEmpty() ? "" : " (only the one for " + String.join(", ", present) + " is)")
                + ": add the dependency dev.pgembed:pgembed-postgres with <classifier>" + platform + "</classifier>"
                + " (same version as pgembed-api)");
    }

    private static InputStream resource(String name) {
        ClassLoader cl = NativeLoader.class.getClassLoader();
        InputStream in = cl != null ? cl.getResourceAsStream(name) : null;
        if (in == null) {
            ClassLoader ctx = Thread.currentThread().getContextClassLoader();
            if (ctx != null) {
                in = ctx.getResourceAsStream(name);
            }
        }
        return in;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Makes sure the payload is extracted and intact under {@code baseDir/<first 16 hex digits of the
     * manifest's hash>}, and returns that directory. Safe against concurrent JVMs.
     */
    public static Path extract(Path baseDir, Manifest manifest) {
        Path base = baseDir.toAbsolutePath();
        Path target = base.resolve(manifest.hash().substring(0, 16));
        try {
            Files.createDirectories(base);
            if (verify(target, manifest)) {
                return target;
            }
            try (FileChannel ch = FileChannel.open(
                            base.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock ignored = ch.lock()) {
                if (verify(target, manifest)) {
                    return target; // another JVM extracted it meanwhile
                }
                if (Files.exists(target)) {
                    Path damaged = base.resolve(target.getFileName() + ".damaged-" + suffix());
                    Files.move(target, damaged, StandardCopyOption.ATOMIC_MOVE);
                    TemporaryDirectories.deleteRecursively(damaged);
                }
                Path tmp = base.resolve(target.getFileName() + ".tmp-" + suffix());
                try {
                    writePayload(tmp, manifest);
                    try {
                        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                    } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                        if (!verify(target, manifest)) {
                            throw e;
                        }
                    } catch (AtomicMoveNotSupportedException e) {
                        throw new IOException("cannot rename within " + base, e);
                    }
                } finally {
                    TemporaryDirectories.deleteRecursively(tmp);
                }
            }
            if (!verify(target, manifest)) {
                throw new IOException("the extracted payload in " + target + " does not verify");
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "could not extract pgembed's native files into " + target + " (" + e + "): " + remedy(base), e);
        }
    }

    /*
     * What to do about a directory the native files cannot be extracted into or loaded from. A writable
     * directory on a file system mounted noexec (a hardened /tmp or home) fails too: the library cannot be
     * mapped from it, and the extracted programs do not verify as executable.
     */
    static String remedy(Path dir) {
        String choose = " with -Dpgembed.native.dir=<dir> or PgEmbedded.builder(...).nativeDirectory(<dir>)";
        Optional<Path> noexec = Mounts.noexecMountPoint(dir);
        if (noexec.isPresent()) {
            return dir + " is on a file system mounted noexec (at " + noexec.get() + "), from which native code"
                    + " cannot be loaded: choose a directory on another file system" + choose;
        }
        Path p = dir;
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        if (p != null && !Files.isWritable(p)) {
            return p + " is not writable: make it writable or choose another directory" + choose;
        }
        return "choose another directory" + choose;
    }

    private static String suffix() {
        return ProcessHandle.current().pid() + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong());
    }

    /** Cheap check: the marker and every file with the right size. */
    static boolean verify(Path dir, Manifest manifest) {
        try {
            Path marker = dir.resolve(COMPLETE);
            if (!Files.isRegularFile(marker) || !Files.readString(marker).trim().equals(manifest.hash())) {
                return false;
            }
            for (Entry e : manifest.files()) {
                Path p = dir.resolve(e.path());
                if (!Files.isRegularFile(p) || Files.size(p) != e.size() || (isProgram(e) && !Files.isExecutable(p))) {
                    return false;
                }
            }
            for (String d : manifest.dirs()) {
                if (!Files.isDirectory(dir.resolve(d))) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /* the client tools (psql, pg_dump, ...) under bin/ are run as programs */
    private static boolean isProgram(Entry e) {
        return e.path().startsWith("bin/");
    }

    private static void writePayload(Path tmp, Manifest manifest) throws IOException {
        Files.createDirectories(tmp);
        HexFormat hex = HexFormat.of();
        for (Entry e : manifest.files()) {
            Path p = tmp.resolve(e.path());
            Files.createDirectories(p.getParent());
            MessageDigest md = sha256();
            long n;
            String name = manifest.platform() + "/" + e.path();
            try (InputStream in = resource(name)) {
                if (in == null) {
                    throw new IOException("resource " + name + " is missing from the class path");
                }
                try (OutputStream out = new DigestOutputStream(Files.newOutputStream(p), md)) {
                    n = in.transferTo(out);
                }
            }
            String sha = hex.formatHex(md.digest());
            if (n != e.size() || !sha.equalsIgnoreCase(e.sha256())) {
                throw new IOException("resource " + e.path() + " is damaged (size " + n + ", sha256 " + sha
                        + "; expected " + e.size() + ", " + e.sha256() + ")");
            }
            if (isProgram(e)) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
        for (String d : manifest.dirs()) {
            Files.createDirectories(tmp.resolve(d));
        }
        Files.write(tmp.resolve("pgembed.manifest"), manifest.bytes());
        Path marker = tmp.resolve(COMPLETE);
        Files.writeString(marker, manifest.hash() + "\n");
        try (FileChannel ch = FileChannel.open(marker, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }
}
