package dev.pgembed.internal;

import java.util.List;
import java.util.Locale;

/**
 * The platforms pgembed's native payload can be built for. Each platform's payload is an artifact of its own,
 * {@code dev.pgembed:pgembed-postgres} with the platform's name as its classifier, and its resources lie under a
 * folder of that name ({@code linux-x86_64/pgembed.manifest}, ...), so that payloads of several platforms can
 * share a class path and the loader takes the running platform's.
 *
 * <p>Not public API: used by {@link NativeLoader}.
 */
public final class Platforms {
    /** Every platform name the build may produce (build-native.sh: {@code linux-$(uname -m)}). */
    public static final List<String> KNOWN = List.of("linux-x86_64", "linux-aarch64");

    private Platforms() {}

    /**
     * The platform this JVM runs on.
     *
     * @return its name, for example {@code linux-x86_64}
     * @throws IllegalStateException on an operating system or processor no payload is built for
     */
    public static String current() {
        String os = System.getProperty("os.name", "");
        String arch = System.getProperty("os.arch", "");
        String p = of(os, arch);
        if (p == null) {
            throw new IllegalStateException("pgembed's native payload is built for " + String.join(" and ", KNOWN)
                    + ", this JVM runs on " + os + " " + arch + ": run it on such a host (or container)");
        }
        return p;
    }

    /**
     * The platform of an {@code os.name} and {@code os.arch}.
     *
     * @param osName the JVM's {@code os.name}
     * @param osArch the JVM's {@code os.arch}
     * @return its name, or null when pgembed is not built for it
     */
    public static String of(String osName, String osArch) {
        if (!osName.toLowerCase(Locale.ROOT).startsWith("linux")) {
            return null;
        }
        return switch (osArch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64" -> "linux-x86_64";
            case "aarch64", "arm64" -> "linux-aarch64";
            default -> null;
        };
    }
}
