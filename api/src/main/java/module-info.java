/**
 * pgembed: PostgreSQL inside the JVM. The API is {@link dev.pgembed}; start at {@link dev.pgembed.PgEmbedded}.
 *
 * <p>On the class path (most applications, Spring Boot's executable jars too) nothing of this module
 * declaration applies; the JVM needs {@code --enable-native-access=ALL-UNNAMED} (or
 * {@code Enable-Native-Access: ALL-UNNAMED} in an executable jar's manifest). On the module path, native access
 * is enabled per module:
 * {@snippet :
 * java --module-path ... --enable-native-access=dev.pgembed,dev.pgembed.bindings ...
 * }
 * (with JDBC, {@code dev.pgembed.jdbc} as well). The native payload ({@code pgembed-postgres}) holds only
 * resources: leave it on the class path, where the loader finds it.
 *
 * <p>{@code dev.pgembed.internal} is exported to pgembed's JDBC, JUnit and Spring Boot modules only: it is not API.
 */
@SuppressWarnings(
        "module") // dev.pgembed.jdbc, .junit and .spring are compiled after this module: javac cannot see them yet
module dev.pgembed {
    requires dev.pgembed.bindings;
    requires static transitive org.jspecify;

    exports dev.pgembed;
    exports dev.pgembed.internal to
            dev.pgembed.jdbc,
            dev.pgembed.junit,
            dev.pgembed.spring;
}
