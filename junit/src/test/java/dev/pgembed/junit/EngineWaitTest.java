package dev.pgembed.junit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.Durability;
import dev.pgembed.PgEmbedded;
import dev.pgembed.PgException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A test database waits for a free engine when the code under test holds the rest of the process's engine budget
 * (an open refused with 53300), instead of failing (issue #18, item 2).
 */
class EngineWaitTest {

    @Test
    void aTestDatabaseWaitsForAnEngineTheCodeUnderTestHolds() throws Exception {
        List<PgEmbedded> held = new ArrayList<>();
        try {
            try {
                for (int i = 0; i < 20; i++) {
                    held.add(PgEmbedded.inMemory().durability(Durability.NONE).open());
                }
                throw new AssertionError("20 engines opened: no budget to spend");
            } catch (PgException e) {
                assertThat(e.sqlState()).isEqualTo("53300");
            }
            CompletableFuture<TestDatabase> waiting = CompletableFuture.supplyAsync(
                    () -> TestDatabase.open(TestDatabase.Options.DEFAULT),
                    r -> Thread.ofPlatform().daemon().start(r));
            Thread.sleep(500);
            assertThat(waiting).isNotDone();
            held.remove(held.size() - 1).close();
            try (TestDatabase db = waiting.get(120, TimeUnit.SECONDS)) {
                assertThat(db.pgEmbedded().isOpen()).isTrue();
            }
        } finally {
            held.forEach(PgEmbedded::close);
        }
    }
}
