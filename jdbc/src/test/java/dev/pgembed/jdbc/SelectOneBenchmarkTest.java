package dev.pgembed.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import org.junit.jupiter.api.Test;

/** Prints the mean round trip of a prepared JDBC {@code SELECT 1} (server-side statement, binary). */
class SelectOneBenchmarkTest {
    @Test
    void selectOneRoundTrip() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:pgembed:memory:bench?prepareThreshold=1");
                PreparedStatement ps = c.prepareStatement("SELECT 1")) {
            long sum = 0;
            for (int i = 0; i < 30_000; i++) {
                sum += run(ps);
            }
            int n = 100_000;
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                sum += run(ps);
            }
            double us = (System.nanoTime() - t0) / 1000.0 / n;
            System.out.printf("JDBC prepared SELECT 1 round trip: %.2f us mean over %d calls%n", us, n);
            assertThat(sum).isEqualTo(130_000);
        }
    }

    private static int run(PreparedStatement ps) throws Exception {
        try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
