/**
 * pgembed's JDBC driver: {@code jdbc:pgembed:} URLs, {@link dev.pgembed.jdbc.PgEmbedDataSource} and serve mode
 * ({@link dev.pgembed.jdbc.PgEmbedServer}), with pgjdbc's connections over an in-process wire.
 *
 * <p>On the module path it needs native access too:
 * {@code --enable-native-access=dev.pgembed,dev.pgembed.bindings,dev.pgembed.jdbc}.
 */
module dev.pgembed.jdbc {
    requires transitive dev.pgembed;
    requires transitive java.sql;
    requires dev.pgembed.bindings;
    requires org.postgresql.jdbc;
    requires com.ongres.scram.common;
    requires static transitive org.jspecify;

    exports dev.pgembed.jdbc;

    provides java.sql.Driver with
            dev.pgembed.jdbc.PgEmbedDriver;
}
