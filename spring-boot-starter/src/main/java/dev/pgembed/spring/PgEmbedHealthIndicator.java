package dev.pgembed.spring;

import dev.pgembed.PgEmbedded;
import dev.pgembed.jdbc.PgEmbedServer;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * Health of the starter's database: up while its engine runs, down once it ended (a FATAL or PANIC error, or
 * closed). It runs no query: a query would wait for a JDBC connection's open transaction (up to the transaction
 * wait timeout), and Boot's {@code db} indicator already runs one through the pool.
 */
public final class PgEmbedHealthIndicator extends AbstractHealthIndicator {
    private final PgEmbedDatabase database;

    /**
     * An indicator for the starter's database.
     *
     * @param database the starter's database
     */
    public PgEmbedHealthIndicator(PgEmbedDatabase database) {
        super("pgembed health check failed");
        this.database = database;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        PgEmbedded db = database.database();
        builder.status(db.isOpen() ? "UP" : "DOWN")
                .withDetail("directory", db.directory().toString())
                .withDetail("inMemory", database.isInMemory());
        db.sessionRole().ifPresent(r -> builder.withDetail("sessionRole", r));
        int i = 0;
        for (PgEmbedServer s : database.servers()) {
            builder.withDetail("serve." + i++, s.address().toString());
        }
    }
}
