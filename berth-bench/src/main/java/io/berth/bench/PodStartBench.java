package io.berth.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pod start latency with the image present: per pod RunPodSandbox + CreateContainer + StartContainer, then
 * ContainerStatus polled until RUNNING. One phase of {@code pods} pods one after another, one with {@code parallel}
 * in flight; all pods of a phase are stopped and removed before the next. Five untimed pods per runtime warm up
 * first (containerd pulls its pause image then).
 */
final class PodStartBench {

    private final List<RuntimeUnderTest> runtimes;
    private final String image;
    private final Path logRoot;
    private final int pods;
    private final int parallel;
    private final Report report;

    PodStartBench(List<RuntimeUnderTest> runtimes, String image, Path logRoot, int pods, int parallel, Report report) {
        this.runtimes = runtimes;
        this.image = image;
        this.logRoot = logRoot;
        this.pods = pods;
        this.parallel = parallel;
        this.report = report;
    }

    void run() {
        for (RuntimeUnderTest rt : runtimes) {
            PodRunner runner = new PodRunner(rt, image, logRoot.resolve(rt.name()));
            List<PodRunner.PodStart> warm = runner.startMany("warmup", 5, 1);
            runner.removeAll(warm.stream().map(PodRunner.PodStart::podId).toList(), parallel);
            System.out.printf("[podstart] %s warm-up: %s ms%n", rt.name(),
                    warm.stream().map(p -> String.format("%.0f", p.totalMs())).toList());
        }
        phase("sequential", 1);
        phase(parallel + " at once", parallel);
        report.note("podstart: latency = RunPodSandbox + CreateContainer + StartContainer + ContainerStatus until RUNNING, "
                + "client side; p99 is nearest-rank (of " + pods + " samples, the slowest " + Math.max(1, pods / 100) + ").");
    }

    private void phase(String label, int inFlight) {
        Map<String, List<Double>> total = new LinkedHashMap<>();
        Map<String, List<Double>> run = new LinkedHashMap<>();
        Map<String, List<Double>> create = new LinkedHashMap<>();
        Map<String, List<Double>> start = new LinkedHashMap<>();
        for (RuntimeUnderTest rt : runtimes) {
            PodRunner runner = new PodRunner(rt, image, logRoot.resolve(rt.name()));
            long t0 = System.nanoTime();
            List<PodRunner.PodStart> starts = runner.startMany(inFlight == 1 ? "seq" : "par", pods, inFlight);
            double wall = (System.nanoTime() - t0) / 1e6;
            long t1 = System.nanoTime();
            runner.removeAll(starts.stream().map(PodRunner.PodStart::podId).toList(), Math.max(inFlight, 10));
            double removal = (System.nanoTime() - t1) / 1e6;
            total.put(rt.name(), new ArrayList<>(starts.stream().map(PodRunner.PodStart::totalMs).toList()));
            run.put(rt.name(), new ArrayList<>(starts.stream().map(PodRunner.PodStart::runMs).toList()));
            create.put(rt.name(), new ArrayList<>(starts.stream().map(PodRunner.PodStart::createMs).toList()));
            start.put(rt.name(), new ArrayList<>(starts.stream().map(PodRunner.PodStart::startMs).toList()));
            System.out.printf("[podstart] %s %s: %d pods in %.0f ms (median %.1f ms); removed in %.0f ms%n", rt.name(), label,
                    pods, wall, Summary.of(total.get(rt.name())).median(), removal);
            report.detail("podstart " + label + " " + rt.name(), Map.of("wall_ms", wall, "removal_ms", removal, "pods", pods));
        }
        report.add(new Metric("podstart", label + ", pod start", "ms", total));
        report.add(new Metric("podstart", label + ", RunPodSandbox", "ms", run));
        report.add(new Metric("podstart", label + ", CreateContainer", "ms", create));
        report.add(new Metric("podstart", label + ", StartContainer", "ms", start));
    }
}
