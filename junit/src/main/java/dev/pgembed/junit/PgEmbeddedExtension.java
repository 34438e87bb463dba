package dev.pgembed.junit;

import dev.pgembed.PgEmbedded;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests fresh, independent pgembed databases.
 *
 * <pre>{@code
 * @ExtendWith(PgEmbeddedExtension.class)
 * class OrderRepositoryTest {
 *     @FreshDatabase PgEmbedded db;               // a new database for every test method
 *
 *     @Test
 *     void storesOrders() {
 *         db.execute("CREATE TABLE orders(id int PRIMARY KEY)");
 *         ...
 *     }
 *
 *     @Test
 *     void alsoAsParameter(PgEmbedded other) {     // injected, also fresh
 *         ...
 *     }
 * }
 * }</pre>
 *
 * <p>Instance fields annotated with {@link FreshDatabase} get a database per test method, static
 * ones a database per test class; parameters of type {@link PgEmbedded} (annotated or not) get one
 * per invocation. Every database is closed and deleted when its scope ends, also when the test
 * fails. Databases are in memory and use {@link dev.pgembed.Durability#NONE} unless the annotation
 * says otherwise.
 */
public final class PgEmbeddedExtension
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, ParameterResolver {

    private static final Namespace NAMESPACE = Namespace.create(PgEmbeddedExtension.class);

    /** Creates the extension; JUnit does this through {@code @ExtendWith}. */
    public PgEmbeddedExtension() {
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IllegalAccessException {
        for (Field field : annotatedFields(context.getRequiredTestClass())) {
            if (Modifier.isStatic(field.getModifiers())) {
                field.set(null, open(context, field.getAnnotation(FreshDatabase.class), field.getName()));
            }
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws IllegalAccessException {
        for (Field field : annotatedFields(context.getRequiredTestClass())) {
            if (Modifier.isStatic(field.getModifiers())) {
                field.set(null, null);
            }
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) throws IllegalAccessException {
        for (Object instance : context.getRequiredTestInstances().getAllInstances()) {
            for (Field field : annotatedFields(instance.getClass())) {
                if (!Modifier.isStatic(field.getModifiers())) {
                    field.set(instance, open(context, field.getAnnotation(FreshDatabase.class), field.getName()));
                }
            }
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == PgEmbedded.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Parameter parameter = parameterContext.getParameter();
        return open(extensionContext, parameter.getAnnotation(FreshDatabase.class), parameter.getName());
    }

    private static PgEmbedded open(ExtensionContext context, FreshDatabase spec, String name) {
        PgEmbedded.Builder builder = PgEmbedded.inMemory();
        if (spec != null) {
            builder.durability(spec.durability());
            for (String setting : spec.settings()) {
                int eq = setting.indexOf('=');
                if (eq <= 0) {
                    throw new ParameterResolutionException(
                            "setting \"" + setting + "\" of " + name + " is not of the form name=value");
                }
                builder.setting(setting.substring(0, eq).trim(), setting.substring(eq + 1).trim());
            }
        } else {
            builder.durability(dev.pgembed.Durability.NONE);
        }
        PgEmbedded db = builder.open();
        // closed when the context (test method or class) ends, pass or fail
        context.getStore(NAMESPACE).put(new Object(), (ExtensionContext.Store.CloseableResource) db::close);
        return db;
    }

    private static java.util.List<Field> annotatedFields(Class<?> type) {
        java.util.List<Field> fields = new java.util.ArrayList<>();
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field field : c.getDeclaredFields()) {
                if (field.isAnnotationPresent(FreshDatabase.class)) {
                    if (field.getType() != PgEmbedded.class) {
                        throw new ExtensionConfigurationException(
                                "@FreshDatabase field " + field.getName() + " must be of type PgEmbedded");
                    }
                    if (Modifier.isFinal(field.getModifiers())) {
                        throw new ExtensionConfigurationException(
                                "@FreshDatabase field " + field.getName() + " must not be final");
                    }
                    field.setAccessible(true);
                    fields.add(field);
                }
            }
        }
        return fields;
    }
}
