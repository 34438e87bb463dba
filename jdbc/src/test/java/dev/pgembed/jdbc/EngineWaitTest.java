package dev.pgembed.jdbc;

import static dev.pgembed.jdbc.SharingTest.one;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.PgException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Opening a database through the driver when the process's engine budget is spent (53300) waits for a free
 * engine, at most {@code engineWait} (issue #18, item 2), instead of failing at once.
 */
class EngineWaitTest {

    /* opens engines until the budget is spent */
    static List<PgEmbedded> fillTheBudget() {
        List<PgEmbedded> held = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                held.add(PgEmbedded.inMemory().durability(Durability.NONE).open());
            }
        } catch (PgException e) {
            assertThat(e.sqlState()).isEqualTo("53300");
            return held;
        }
        held.forEach(PgEmbedded::close);
        throw new AssertionError("20 engines opened: no budget to spend");
    }

    @Test
    void aConnectionWaitsForAFreeEngine() throws Exception {
        List<PgEmbedded> held = fillTheBudget();
        try {
            assertThatThrownBy(() -> DriverManager.getConnection("jdbc:pgembed:memory:?engineWait=0"))
                    .isInstanceOfSatisfying(
                            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("53300"));
            assertThatThrownBy(() -> DriverManager.getConnection("jdbc:pgembed:memory:?engineWait=300ms"))
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getSQLState()).isEqualTo("53300");
                        assertThat(e.getMessage()).contains("waited 300 ms for a free engine");
                    });
            CompletableFuture<Connection> waiting = CompletableFuture.supplyAsync(
                    () -> {
                        try {
                            return DriverManager.getConnection("jdbc:pgembed:memory:engine-wait?engineWait=120s");
                        } catch (SQLException e) {
                            throw new IllegalStateException(e);
                        }
                    },
                    r -> Thread.ofPlatform().daemon().start(r));
            Thread.sleep(500);
            assertThat(waiting).isNotDone();
            held.remove(held.size() - 1).close();
            try (Connection c = waiting.get(120, TimeUnit.SECONDS)) {
                assertThat(one(c, "SELECT 1")).isEqualTo("1");
            }
        } finally {
            held.forEach(PgEmbedded::close);
        }
    }
}
