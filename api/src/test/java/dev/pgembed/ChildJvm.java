package dev.pgembed;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts {@link ChildMain} in a JVM of its own: same java binary, class path and native directory. */
final class ChildJvm {
    private ChildJvm() {}

    static Process start(String... args) throws Exception {
        // a child is killed, not measured: skip the JIT tiers that only pay off in long runs
        return new ProcessBuilder(command(true, List.of("-XX:TieredStopAtLevel=1"), args))
                .redirectErrorStream(true)
                .start();
    }

    /** The command line of a child JVM running {@link ChildMain} with {@code args}. */
    static List<String> command(boolean nativeAccess, List<String> jvmOptions, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        if (nativeAccess) {
            cmd.add("--enable-native-access=ALL-UNNAMED");
        }
        cmd.add("-XX:ErrorFile=" + System.getProperty("java.io.tmpdir") + "/pgembed-hs_err_%p.log");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        String nativeDir = System.getProperty("pgembed.native.dir");
        if (nativeDir != null) {
            cmd.add("-Dpgembed.native.dir=" + nativeDir);
        }
        cmd.add(ChildMain.class.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }
}
