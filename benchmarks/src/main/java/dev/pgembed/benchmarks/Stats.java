package dev.pgembed.benchmarks;

import java.util.Arrays;

final class Stats {
    private Stats() {}

    /** [mean, p50, p99] in microseconds of nanosecond samples. */
    static double[] meanP50P99(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        double sum = 0;
        for (long v : s) {
            sum += v;
        }
        return new double[] {sum / s.length / 1e3, pct(s, 0.50) / 1e3, pct(s, 0.99) / 1e3};
    }

    /** The median of the values (the mean of the middle two for an even count). */
    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double pct(long[] sorted, double p) {
        int i = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
