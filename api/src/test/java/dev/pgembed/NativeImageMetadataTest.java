package dev.pgembed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.internal.NativeLoader;
import dev.pgembed.internal.bindings.PgEmbeddedH;
import dev.pgembed.internal.bindings.pgembed_log_fn;
import java.io.InputStream;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * GraalVM native-image metadata (META-INF/native-image/dev.pgembed/pgembed-api/reachability-metadata.json) lists
 * every foreign call shape the bindings use and the native payload's resources; this test rebuilds the list from
 * the bindings' own function descriptors and fails, printing the file it expects, when the committed one differs.
 * Whether native-image builds and runs with it is untested: no GraalVM can be installed here.
 */
class NativeImageMetadataTest {
    static final String RESOURCE = "/META-INF/native-image/dev.pgembed/pgembed-api/reachability-metadata.json";

    @Test
    void metadataListsEveryForeignCallOfTheBindings() throws Exception {
        NativeLoader.load(null); // the binding classes look their symbols up when they initialise
        TreeSet<String> downcalls = new TreeSet<>();
        for (Class<?> c : PgEmbeddedH.class.getDeclaredClasses()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) && f.getType() == FunctionDescriptor.class) {
                    f.setAccessible(true);
                    downcalls.add(shape((FunctionDescriptor) f.get(null)));
                }
            }
        }
        // NativeLoader's glibc version check
        downcalls.add(shape(FunctionDescriptor.of(ValueLayout.ADDRESS)));
        Field up = pgembed_log_fn.class.getDeclaredField("$DESC");
        up.setAccessible(true);
        String upcall = shape((FunctionDescriptor) up.get(null));
        String expected = render(downcalls, List.of(upcall));
        String committed;
        try (InputStream in = NativeImageMetadataTest.class.getResourceAsStream(RESOURCE)) {
            committed = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(committed)
                .as("api/src/main/resources" + RESOURCE + " should be:%n%s", expected)
                .isEqualTo(expected);
    }

    private static final Map<MemoryLayout, String> TYPES = Map.of(
            ValueLayout.JAVA_BOOLEAN,
            "jboolean",
            ValueLayout.JAVA_BYTE,
            "jbyte",
            ValueLayout.JAVA_SHORT,
            "jshort",
            ValueLayout.JAVA_CHAR,
            "jchar",
            ValueLayout.JAVA_INT,
            "jint",
            ValueLayout.JAVA_LONG,
            "jlong",
            ValueLayout.JAVA_FLOAT,
            "jfloat",
            ValueLayout.JAVA_DOUBLE,
            "jdouble");

    private static String type(MemoryLayout l) {
        if (l instanceof java.lang.foreign.AddressLayout) {
            return "void*";
        }
        String t = TYPES.get(l.withoutName());
        if (t == null) {
            throw new AssertionError("no native-image type for " + l);
        }
        return t;
    }

    private static String shape(FunctionDescriptor d) {
        List<String> params = new ArrayList<>();
        for (MemoryLayout l : d.argumentLayouts()) {
            params.add("\"" + type(l) + "\"");
        }
        return "{\"returnType\": \""
                + d.returnLayout().map(NativeImageMetadataTest::type).orElse("void") + "\", \"parameterTypes\": ["
                + String.join(", ", params) + "]}";
    }

    private static String render(TreeSet<String> downcalls, List<String> upcalls) {
        return "{\n"
                + "  \"comment\": \"pgembed's foreign calls and native payload; checked against the bindings by"
                + " NativeImageMetadataTest; untested with native-image\",\n"
                + "  \"resources\": [\n"
                + "    {\"glob\": \"linux-x86_64/**\"}\n"
                + "  ],\n"
                + "  \"foreign\": {\n"
                + "    \"downcalls\": [\n      " + String.join(",\n      ", downcalls) + "\n    ],\n"
                + "    \"upcalls\": [\n      " + String.join(",\n      ", upcalls) + "\n    ]\n"
                + "  }\n"
                + "}\n";
    }
}
