package dev.pgembed.spring;

import dev.pgembed.PgEmbedded;

/**
 * Whether the JVM lets pgembed call native code, and what to add when it does not. JDK 22 to 25 only warn when
 * a module without native access calls a restricted method (once per module, on standard error); with
 * {@code --illegal-native-access=deny}, and in later JDKs by default, the call fails. The starter says so in
 * the application's log, with the flag, before the first native call.
 */
final class NativeAccess {
    private static final System.Logger LOG = System.getLogger(NativeAccess.class.getName());

    private NativeAccess() {
    }

    /** Logs a warning naming the flag when pgembed's module has no native access. */
    static void check() {
        if (!PgEmbedded.class.getModule().isNativeAccessEnabled()) {
            LOG.log(System.Logger.Level.WARNING, message());
        }
    }

    /** {@return what to add, for each way a Boot application is started} */
    static String message() {
        Module m = PgEmbedded.class.getModule();
        String name = m.isNamed() ? m.getName() : "ALL-UNNAMED";
        return "pgembed calls native code, and native access is not enabled for " + (m.isNamed() ? "module " + name
                : "the class path") + ": start the JVM with --enable-native-access=" + name
                + " (mvn spring-boot:run: <jvmArguments>--enable-native-access=" + name + "</jvmArguments>; "
                + "tests: surefire's <argLine>; an executable jar: the manifest entry Enable-Native-Access: " + name
                + ", which java -jar reads from the launched jar only)";
    }
}
