package dev.pgembed.junit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgembed.Result;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * 32 tests' worth of databases asked for at the same moment on 32 threads, each held for 3 s: more than a process
 * can hold engines (11 with glibc's default tunables: the 12th fails with "cannot allocate memory in static TLS
 * block", as this test does with the limit raised to 64), so it passes only because test databases wait for a
 * free engine.
 */
class ParallelTest {

    @Test
    void moreDatabasesThanEnginesAtOnceAllGetOne() throws Exception {
        int threads = 32;
        AtomicInteger open = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Long>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int n = i;
                results.add(pool.submit(() -> {
                    start.await();
                    try (TestDatabase db = TestDatabase.fresh()) {
                        most.accumulateAndGet(open.incrementAndGet(), Math::max);
                        try {
                            db.pgEmbedded().execute("CREATE TABLE mine (x int)");
                            db.pgEmbedded().execute("INSERT INTO mine VALUES ($1)", n);
                            Thread.sleep(3000); // hold the engine while the others try to open theirs
                            try (Result r = db.pgEmbedded().query("SELECT sum(x) FROM mine")) {
                                return r.row(0).getLong(0);
                            }
                        } finally {
                            open.decrementAndGet();
                        }
                    }
                }));
            }
            start.countDown();
            for (int i = 0; i < threads; i++) {
                assertThat(results.get(i).get(5, TimeUnit.MINUTES)).isEqualTo(i);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(most.get()).isBetween(2, Integer.getInteger("pgembed.junit.maxOpen", 8));
    }
}
