package io.berth.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Order statistics of one series of samples. Percentiles use the nearest-rank method (p99 of 50 samples is the
 * largest one); the median of an even count is the mean of the two middle samples.
 */
record Summary(int n, double median, double min, double max, double p10, double p90, double p99, double mean) {

    static Summary of(List<Double> samples) {
        if (samples.isEmpty()) {
            throw new IllegalArgumentException("no samples");
        }
        List<Double> s = new ArrayList<>(samples);
        Collections.sort(s);
        int n = s.size();
        double median = n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
        double mean = s.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        return new Summary(n, median, s.getFirst(), s.getLast(), rank(s, 10), rank(s, 90), rank(s, 99), mean);
    }

    /** Nearest rank: the smallest sample with at least p% of the samples at or below it. */
    static double rank(List<Double> sorted, double p) {
        int idx = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, idx)));
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n", n);
        m.put("median", median);
        m.put("min", min);
        m.put("max", max);
        m.put("p10", p10);
        m.put("p90", p90);
        m.put("p99", p99);
        m.put("mean", mean);
        return m;
    }
}
