package io.berth.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Collects metrics and notes, prints the table, writes the JSON file. */
final class Report {

    private final Instant started = Instant.now();
    private final List<Metric> metrics = new ArrayList<>();
    private final Map<String, Object> environment = new LinkedHashMap<>();
    private final Map<String, Object> details = new LinkedHashMap<>();
    private final List<String> notes = new ArrayList<>();

    void environment(String key, Object value) {
        environment.put(key, value);
    }

    void detail(String key, Object value) {
        details.put(key, value);
    }

    void note(String line) {
        notes.add(line);
    }

    void add(Metric m) {
        metrics.add(m);
    }

    List<Metric> metrics() {
        return metrics;
    }

    void print(PrintStream out) {
        out.println();
        out.println("== berth-bench results (" + started + ") ==");
        environment.forEach((k, v) -> out.println("  " + k + ": " + v));
        out.println();
        String fmt = "%-46s %-11s %4s %10s %10s %10s %10s %10s %10s  %s%n";
        out.printf(Locale.ROOT, fmt, "metric", "runtime", "n", "median", "p10", "p90", "p99", "min", "max", "berth/containerd");
        out.println("-".repeat(144));
        for (Metric m : metrics) {
            String label = m.bench() + ": " + m.name() + " (" + m.unit() + ")";
            boolean first = true;
            for (var e : m.summaries().entrySet()) {
                Summary s = e.getValue();
                String ratio = first ? m.ratio().map(r -> String.format(Locale.ROOT, "%.3f", r)).orElse("-") : "";
                out.printf(Locale.ROOT, fmt, first ? label : "", e.getKey(), s.n(), num(s.median()), num(s.p10()), num(s.p90()),
                        num(s.p99()), num(s.min()), num(s.max()), ratio);
                first = false;
            }
        }
        if (!notes.isEmpty()) {
            out.println();
            notes.forEach(n -> out.println("  * " + n));
        }
        out.println();
    }

    private static String num(double v) {
        return Math.abs(v) >= 100 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    Path writeJson(Path dir) throws IOException {
        Files.createDirectories(dir);
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).format(started);
        Path file = dir.resolve("bench-" + stamp + ".json");
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("started", started.toString());
        root.put("finished", Instant.now().toString());
        root.put("environment", environment);
        List<Object> ms = new ArrayList<>();
        for (Metric m : metrics) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("bench", m.bench());
            j.put("metric", m.name());
            j.put("unit", m.unit());
            Map<String, Object> byRt = new LinkedHashMap<>();
            m.summaries().forEach((rt, s) -> {
                Map<String, Object> x = new LinkedHashMap<>(s.toJson());
                x.put("samples", m.samples().get(rt));
                byRt.put(rt, x);
            });
            j.put("runtimes", byRt);
            j.put("ratio_berth_over_containerd", m.ratio().orElse(null));
            ms.add(j);
        }
        root.put("metrics", ms);
        root.put("details", details);
        root.put("notes", notes);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), root);
        Files.copy(file, dir.resolve("latest.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return file;
    }
}
