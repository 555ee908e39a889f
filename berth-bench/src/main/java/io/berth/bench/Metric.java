package io.berth.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One measured quantity (e.g. "cold pull", "pod start, sequential") with its samples per runtime. The ratio is
 * Berth's median over containerd's, present when both ran.
 */
record Metric(String bench, String name, String unit, Map<String, List<Double>> samples) {

    Map<String, Summary> summaries() {
        Map<String, Summary> m = new LinkedHashMap<>();
        samples.forEach((rt, s) -> {
            if (!s.isEmpty()) {
                m.put(rt, Summary.of(s));
            }
        });
        return m;
    }

    Optional<Double> ratio() {
        Map<String, Summary> s = summaries();
        if (s.containsKey("berth") && s.containsKey("containerd") && s.get("containerd").median() != 0) {
            return Optional.of(s.get("berth").median() / s.get("containerd").median());
        }
        return Optional.empty();
    }
}
