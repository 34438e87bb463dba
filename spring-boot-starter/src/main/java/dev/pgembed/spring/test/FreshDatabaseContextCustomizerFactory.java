package dev.pgembed.spring.test;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;
import org.springframework.test.context.ContextConfigurationAttributes;
import org.springframework.test.context.ContextCustomizer;
import org.springframework.test.context.ContextCustomizerFactory;
import org.springframework.test.context.MergedContextConfiguration;
import org.springframework.test.context.TestContextAnnotationUtils;

/**
 * For a test class with {@link FreshPgEmbedDatabase}: a property naming the class, which makes the starter open a
 * fresh in-memory database and makes the context the class's own (the property is part of the context's cache
 * key). Registered in {@code META-INF/spring.factories}.
 */
public final class FreshDatabaseContextCustomizerFactory implements ContextCustomizerFactory {
    private static final String PROPERTY = dev.pgembed.spring.PgEmbedDatabase.FRESH_FOR_TEST_PROPERTY;

    /** Created by Spring's test framework. */
    public FreshDatabaseContextCustomizerFactory() {}

    @Override
    public ContextCustomizer createContextCustomizer(
            Class<?> testClass, List<ContextConfigurationAttributes> configAttributes) {
        if (TestContextAnnotationUtils.findMergedAnnotation(testClass, FreshPgEmbedDatabase.class) == null) {
            return null;
        }
        return new Customizer(testClass.getName());
    }

    private static final class Customizer implements ContextCustomizer {
        private final String testClass;

        Customizer(String testClass) {
            this.testClass = testClass;
        }

        @Override
        public void customizeContext(ConfigurableApplicationContext context, MergedContextConfiguration config) {
            context.getEnvironment()
                    .getPropertySources()
                    .addFirst(new MapPropertySource("pgembed fresh test database", Map.of(PROPERTY, testClass)));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Customizer c && c.testClass.equals(testClass);
        }

        @Override
        public int hashCode() {
            return Objects.hash(Customizer.class, testClass);
        }
    }
}
