package dev.pgembed.internal.bindings;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Fails when pgembedded.h and the committed jextract output disagree, so that a header change
 * without regenerated bindings (mvn -Pjextract generate-sources -pl bindings) cannot land.
 */
class BindingsMatchHeaderTest {

    private static final Pattern FUNCTION =
            Pattern.compile("^[A-Za-z_][\\w\\s\\*]*?\\b(pgembed_\\w+)\\s*\\(", Pattern.MULTILINE);
    private static final Pattern STRUCT =
            Pattern.compile("typedef\\s+struct\\s+(pgembed_\\w+)\\s*\\{", Pattern.MULTILINE);
    private static final Pattern CONSTANT = Pattern.compile("^#define\\s+(PGEMBED_\\w+)\\s", Pattern.MULTILINE);
    private static final Pattern ENUM_CONSTANT = Pattern.compile("^\\s+(PGEMBED_\\w+)\\s*=", Pattern.MULTILINE);

    private static String header() throws IOException {
        String path = System.getProperty("pgembed.header", "../postgres-build/src/main/c/pgembedded.h");
        String text = Files.readString(Path.of(path));
        // comments may mention names; only declarations count
        return text.replaceAll("(?s)/\\*.*?\\*/", "");
    }

    private static Set<String> matches(Pattern p, String text) {
        Set<String> names = new TreeSet<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    private static Set<String> generatedMethods() {
        return Arrays.stream(PgEmbeddedH.class.getMethods())
                .filter(m -> Modifier.isStatic(m.getModifiers()))
                .map(Method::getName)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void everyHeaderFunctionHasABinding() throws IOException {
        Set<String> functions = matches(FUNCTION, header());
        functions.removeIf(name -> name.equals("PGEMBEDDED_H"));
        assertThat(functions).isNotEmpty();
        assertThat(generatedMethods()).containsAll(functions);
    }

    @Test
    void noBindingOutlivesItsFunction() throws IOException {
        Set<String> functions = matches(FUNCTION, header());
        Set<String> bound = generatedMethods().stream()
                .filter(n -> n.startsWith("pgembed_"))
                .filter(n -> !n.endsWith("$handle") && !n.endsWith("$descriptor") && !n.endsWith("$address"))
                .collect(Collectors.toCollection(TreeSet::new));
        assertThat(functions).containsAll(bound);
    }

    @Test
    void everyHeaderStructHasAClass() throws IOException, ClassNotFoundException {
        for (String struct : matches(STRUCT, header())) {
            assertThat(Class.forName("dev.pgembed.internal.bindings." + struct)).isNotNull();
        }
    }

    @Test
    void everyHeaderConstantHasABinding() throws IOException {
        String text = header();
        Set<String> constants = matches(CONSTANT, text);
        constants.addAll(matches(ENUM_CONSTANT, text));
        constants.remove("PGEMBED_EXPORT");
        assertThat(generatedMethods()).containsAll(constants);
    }
}
