package dev.pgembed.internal;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * pgembed and the JDK's restriction of native access (JEP 454, JEP 472): it behaves as the JDK does. Where the
 * JDK only warns (JDK 22 to 25 by default, when a module without native access calls a restricted method),
 * pgembed warns too, through {@code System.Logger} {@code dev.pgembed}, once per JVM, with the exact flag to
 * add, and goes on. Where the JDK refuses ({@code --illegal-native-access=deny}; JDK 22 and 23 when
 * {@code --enable-native-access} names other modules only; later JDKs by default), the JDK's
 * {@link IllegalCallerException} reaches the caller with the same advice in its message.
 *
 * <p>Not public API: used by {@link NativeLoader}.
 */
public final class NativeAccess {
    private static final System.Logger LOG = System.getLogger("dev.pgembed");
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    /*
     * The classes whose modules call restricted methods: the loader and the API (System.load, downcall
     * handles, MemorySegment.reinterpret), the generated bindings, and pgembed-jdbc when it is present. Looked
     * up by name (never initialised): the API does not depend on the JDBC module.
     */
    private static final List<String> CALLERS = List.of(
            "dev.pgembed.internal.NativeLoader",
            "dev.pgembed.internal.bindings.PgEmbeddedH",
            "dev.pgembed.jdbc.PgEmbedDriver");

    private NativeAccess() {}

    /**
     * Before the first native call: when a module of pgembed has no native access, asks the JDK whether it
     * refuses (a restricted call that does nothing) and throws its exception then; else logs the warning (once
     * per JVM).
     *
     * @throws IllegalCallerException when the JDK refuses native access to pgembed
     */
    static void check() {
        List<Module> missing = withoutAccess();
        if (missing.isEmpty()) {
            return;
        }
        try {
            MemorySegment.NULL.reinterpret(0); // restricted: the JDK warns (once per module) or refuses
        } catch (IllegalCallerException e) {
            throw denied(e);
        }
        if (WARNED.compareAndSet(false, true)) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "native access is not enabled for " + describe(missing)
                            + ": this JDK lets pgembed go on with a warning, later JDKs will refuse. "
                            + advice(missing));
        }
    }

    /** The JDK refused a restricted call: its exception, with what to add to the java command. */
    static IllegalCallerException denied(IllegalCallerException e) {
        List<Module> missing = withoutAccess();
        if (missing.isEmpty()) {
            missing = List.of(NativeAccess.class.getModule());
        }
        return new IllegalCallerException(
                "the JVM refused pgembed native access (" + e.getMessage() + ") for " + describe(missing) + ". "
                        + advice(missing),
                e);
    }

    /**
     * The option that grants pgembed native access in this JVM: {@code --enable-native-access=ALL-UNNAMED}
     * on the class path, {@code --enable-native-access=<modules>} on the module path.
     *
     * @return the option, as the java command takes it
     */
    public static String flag() {
        List<Module> missing = withoutAccess();
        return flag(missing.isEmpty() ? modules() : missing);
    }

    private static String flag(List<Module> modules) {
        Set<String> names = new LinkedHashSet<>();
        for (Module m : modules) {
            names.add(m.isNamed() ? m.getName() : "ALL-UNNAMED");
        }
        return "--enable-native-access=" + String.join(",", names);
    }

    /* what to do, for each way a JVM is started */
    private static String advice(List<Module> missing) {
        String flag = flag(missing);
        String advice = "Start the JVM with " + flag + " (Maven: surefire's <argLine>, the <jvmArguments> of"
                + " spring-boot:run; Gradle: jvmArgs; or in JDK_JAVA_OPTIONS)";
        if (missing.stream().noneMatch(Module::isNamed)) {
            advice += ", or, for an executable jar, put Enable-Native-Access: ALL-UNNAMED in the manifest of the"
                    + " jar that java -jar launches (the JDK reads no other jar's manifest; a Spring Boot fat jar"
                    + " needs it in its own manifest too)";
        }
        return advice + ".";
    }

    private static String describe(List<Module> modules) {
        List<String> names = new ArrayList<>();
        for (Module m : modules) {
            names.add(m.isNamed() ? "module " + m.getName() : "the class path (the unnamed module)");
        }
        return String.join(", ", names);
    }

    private static List<Module> withoutAccess() {
        List<Module> missing = new ArrayList<>();
        for (Module m : modules()) {
            if (!m.isNativeAccessEnabled()) {
                missing.add(m);
            }
        }
        return missing;
    }

    /* the distinct modules of the callers present */
    private static List<Module> modules() {
        Set<Module> modules = new LinkedHashSet<>();
        ClassLoader loader = NativeAccess.class.getClassLoader();
        for (String name : CALLERS) {
            try {
                modules.add(Class.forName(name, false, loader).getModule());
            } catch (ClassNotFoundException | LinkageError absent) {
                // that part of pgembed is not in use
            }
        }
        modules.add(NativeAccess.class.getModule());
        return List.copyOf(modules);
    }
}
