package dev.pgembed.junit;

import dev.pgembed.PgEmbedded;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.sql.DataSource;
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
 *     @FreshDatabase PgEmbedded db;                   // a new database for every test method
 *     @FreshDatabase(initializer = FlywayMigrations.class)
 *     DataSource migrated;                             // a copy of the database Flyway migrated once
 *
 *     @Test
 *     void storesOrders() {
 *         db.execute("CREATE TABLE orders(id int PRIMARY KEY)");
 *         ...
 *     }
 *
 *     @Test
 *     void alsoAsParameter(PgEmbedded other, TestDatabase all) {   // injected, also fresh
 *         all.dataSource(); all.jdbcUrl(); all.serve().getJdbcUrl(); ...
 *     }
 * }
 * }</pre>
 *
 * <p>Fields annotated with {@link FreshDatabase} get a database per test method (instance fields) or per test
 * class (static fields). Parameters of type {@link PgEmbedded}, {@link TestDatabase} or {@link ServedDatabase}
 * (annotated or not), and {@code DataSource}, {@code Connection} or {@code String} (the JDBC URL) annotated with
 * {@link FreshDatabase}, get one per invocation. Every database is closed and deleted when its scope ends, also
 * when the test fails; connections injected are closed first. Databases are in memory and use
 * {@link dev.pgembed.Durability#NONE} unless the annotation says otherwise.
 *
 * <p>Tests may run in parallel (JUnit's {@code junit.jupiter.execution.parallel.enabled}): a process holds at most
 * 15 pgembed engines, so the extension keeps a bounded number of test databases open and makes the others wait
 * for a free engine ({@code -Dpgembed.junit.maxOpen}, default 8).
 */
public final class PgEmbeddedExtension
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, ParameterResolver {

    private static final Namespace NAMESPACE = Namespace.create(PgEmbeddedExtension.class);
    /** Types injected without the annotation (pgembed's own). */
    private static final Set<Class<?>> OWN = Set.of(PgEmbedded.class, TestDatabase.class, ServedDatabase.class);
    /** Types injected with the annotation. */
    private static final Set<Class<?>> VIEWS = Set.of(
            PgEmbedded.class,
            TestDatabase.class,
            ServedDatabase.class,
            DataSource.class,
            Connection.class,
            String.class);

    /** Creates the extension; JUnit does this through {@code @ExtendWith}. */
    public PgEmbeddedExtension() {}

    @Override
    public void beforeAll(ExtensionContext context) throws IllegalAccessException {
        for (Field field : annotatedFields(context.getRequiredTestClass())) {
            if (Modifier.isStatic(field.getModifiers())) {
                field.set(null, inject(context, field.getType(), field.getAnnotation(FreshDatabase.class)));
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
                    field.set(instance, inject(context, field.getType(), field.getAnnotation(FreshDatabase.class)));
                }
            }
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Class<?> type = parameterContext.getParameter().getType();
        return OWN.contains(type) || (VIEWS.contains(type) && parameterContext.isAnnotated(FreshDatabase.class));
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Parameter parameter = parameterContext.getParameter();
        return inject(extensionContext, parameter.getType(), parameter.getAnnotation(FreshDatabase.class));
    }

    /** Opens a database, registers it to close with the context, and returns the view the type asks for. */
    private static Object inject(ExtensionContext context, Class<?> type, FreshDatabase spec) {
        TestDatabase.Options options;
        try {
            options = TestDatabase.Options.of(spec);
            options.parsedSettings();
        } catch (IllegalArgumentException e) {
            throw new ParameterResolutionException(e.getMessage(), e);
        }
        TestDatabase db = TestDatabase.open(options);
        // closed when the context (test method or class) ends, pass or fail
        context.getStore(NAMESPACE).put(new Object(), (ExtensionContext.Store.CloseableResource) db::close);
        if (type == PgEmbedded.class) {
            return db.pgEmbedded();
        } else if (type == TestDatabase.class) {
            return db;
        } else if (type == ServedDatabase.class) {
            return db.serve();
        } else if (type == DataSource.class) {
            return db.dataSource();
        } else if (type == Connection.class) {
            try {
                return db.connection();
            } catch (SQLException e) {
                throw new ParameterResolutionException("could not connect to " + db, e);
            }
        } else {
            return db.jdbcUrl();
        }
    }

    private static List<Field> annotatedFields(Class<?> type) {
        List<Field> fields = new ArrayList<>();
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field field : c.getDeclaredFields()) {
                if (field.isAnnotationPresent(FreshDatabase.class)) {
                    if (!VIEWS.contains(field.getType())) {
                        throw new ExtensionConfigurationException("@FreshDatabase field " + field.getName()
                                + " must be of type PgEmbedded, TestDatabase, ServedDatabase, DataSource, Connection"
                                + " or String");
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
