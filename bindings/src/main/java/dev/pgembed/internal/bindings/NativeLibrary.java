package dev.pgembed.internal.bindings;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.Objects;
import java.util.Optional;

/**
 * <b>Internal, not API</b>: where {@link PgEmbeddedH} finds libpgembed.so's symbols. Written by hand (the
 * {@code -Pjextract} profile keeps this file and points the generated {@code SYMBOL_LOOKUP} here).
 *
 * <p>jextract's default, {@code SymbolLookup.loaderLookup()}, sees only libraries that {@code System.load} loaded
 * in the same class loader, and the JDK refuses to load one library file in two class loaders ("already loaded
 * in another classloader"): a second class loader of one JVM with pgembed (two build plugins, an application
 * server's web applications) could not load it. {@code dev.pgembed.internal.NativeLoader} therefore opens the
 * library with {@link SymbolLookup#libraryLookup(java.nio.file.Path, java.lang.foreign.Arena)} and installs that
 * lookup here; the dynamic loader hands every class loader the same copy of the library (one front per
 * process, whose state is per engine).
 */
public final class NativeLibrary {
    private static volatile SymbolLookup library;

    /** The lookup the generated bindings use: libpgembed.so's symbols, once {@link #use} installed them. */
    static final SymbolLookup LOOKUP = NativeLibrary::find;

    private NativeLibrary() {}

    /**
     * Installs the lookup of the loaded libpgembed.so (once per class loader; later calls replace it).
     *
     * @param lookup the library's symbols
     */
    public static void use(SymbolLookup lookup) {
        library = Objects.requireNonNull(lookup, "lookup");
    }

    private static Optional<MemorySegment> find(String name) {
        SymbolLookup l = library;
        return l != null ? l.find(name) : Optional.empty();
    }
}
