package dev.pgembed.junit;

import dev.pgembed.internal.TemporaryDirectories;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Templates of test databases: for each initializer and options, a cluster built once in this JVM (opened,
 * initialized, closed) whose directory test databases are copied from. Deleted when the JVM exits.
 */
final class Templates {
    private static final Map<TestDatabase.Options, CompletableFuture<Path>> BUILT = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            for (CompletableFuture<Path> f : BUILT.values()) {
                                Path p = f.getNow(null);
                                if (p != null) {
                                    TemporaryDirectories.deleteRecursively(p);
                                }
                            }
                        },
                        "pgembed-junit-templates"));
    }

    private Templates() {}

    /** The closed template directory for the options, built by the first caller; the others wait for it. */
    static Path prepared(TestDatabase.Options options) {
        CompletableFuture<Path> mine = new CompletableFuture<>();
        CompletableFuture<Path> f = BUILT.putIfAbsent(options, mine);
        if (f == null) {
            try {
                mine.complete(build(options));
            } catch (RuntimeException | Error e) {
                BUILT.remove(options, mine);
                mine.completeExceptionally(e);
                throw e;
            }
            return mine.join();
        }
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw new IllegalStateException(
                    "the template database of " + options.initializer().getName() + " could not be prepared",
                    e.getCause());
        }
    }

    private static Path build(TestDatabase.Options options) {
        DatabaseInitializer init;
        try {
            init = options.initializer().getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException(
                    options.initializer().getName() + " needs a public no-argument constructor", e);
        }
        Path dir = Directories.newTemporary("pgembed-template-");
        EngineSlots.acquire();
        TestDatabase template;
        try {
            template = TestDatabase.openTemplate(options, dir);
        } catch (RuntimeException | Error e) {
            EngineSlots.release();
            TemporaryDirectories.deleteRecursively(dir);
            throw e;
        }
        // closed cleanly before it is copied, so that the copies start without crash recovery
        try (template) {
            init.initialize(template);
        } catch (Exception e) {
            TemporaryDirectories.deleteRecursively(dir);
            throw new IllegalStateException(options.initializer().getName() + " failed on the template database", e);
        }
        return dir;
    }
}
