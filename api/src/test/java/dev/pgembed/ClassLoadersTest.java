package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.internal.bindings.PgEmbeddedH;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pgembed in several class loaders of one JVM (issue #18, item 9: the Flyway and jOOQ Maven plugins in one build,
 * web applications of one server): each loader's copy of the API opens databases, beside the test's own.
 */
class ClassLoadersTest {
    @TempDir
    Path tmp;

    /* a loader over pgembed's own classes (the API, the bindings, the payload, JSpecify), not the test's */
    private static URLClassLoader isolatedLoader() throws Exception {
        Set<URL> urls = new LinkedHashSet<>();
        urls.add(PgEmbedded.class.getProtectionDomain().getCodeSource().getLocation());
        urls.add(PgEmbeddedH.class.getProtectionDomain().getCodeSource().getLocation());
        urls.add(org.jspecify.annotations.Nullable.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation());
        for (URL u : java.util.Collections.list(
                ClassLoadersTest.class.getClassLoader().getResources("linux-x86_64/pgembed.manifest"))) {
            String s = u.toString();
            // jar:file:/...jar!/linux-x86_64/pgembed.manifest, or a directory's file:/.../linux-x86_64/...
            String base = s.startsWith("jar:")
                    ? s.substring(4, s.indexOf("!/"))
                    : s.substring(0, s.length() - "linux-x86_64/pgembed.manifest".length());
            urls.add(new URL(base));
        }
        return new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
    }

    /* opens a database on dir through the PgEmbedded class of loader; returns its answer to SELECT 40 + 2 */
    private static Object openAndQuery(ClassLoader loader, Path dir) throws Exception {
        Class<?> pg = loader.loadClass("dev.pgembed.PgEmbedded");
        assertThat(pg).isNotSameAs(PgEmbedded.class);
        Object db = pg.getMethod("open", Path.class).invoke(null, dir);
        try {
            Method query = pg.getMethod("query", String.class, Object[].class);
            try (AutoCloseable result = (AutoCloseable) query.invoke(db, "SELECT 40 + 2 AS answer", new Object[0])) {
                Object row = result.getClass().getMethod("row", int.class).invoke(result, 0);
                return row.getClass().getMethod("getInt", int.class).invoke(row, 0);
            }
        } finally {
            ((AutoCloseable) db).close();
        }
    }

    @Test
    void twoClassLoadersEachOpenADatabaseBesideThisOne() throws Exception {
        List<URLClassLoader> loaders = new ArrayList<>();
        try (PgEmbedded here = PgEmbedded.open(tmp.resolve("here"))) {
            for (int i = 0; i < 2; i++) {
                URLClassLoader l = isolatedLoader();
                loaders.add(l);
                assertThat(openAndQuery(l, tmp.resolve("loader" + i))).isEqualTo(42);
            }
            // and again in the first loader, and the test's own database still answers
            assertThat(openAndQuery(loaders.get(0), tmp.resolve("loader0"))).isEqualTo(42);
            assertThat(here.execute("SELECT 1")).isEqualTo(1);
        } finally {
            for (URLClassLoader l : loaders) {
                l.close();
            }
        }
    }
}
