package io.berth.bench;

import io.berth.cri.api.ListContainersRequest;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.VersionRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pod start latency with the image present: per pod RunPodSandbox + CreateContainer + StartContainer, then
 * ContainerStatus polled until RUNNING. One phase of {@code pods} pods one after another, one in rounds of
 * {@code parallel} started at once; all pods of a phase are stopped and removed before the next.
 *
 * <p>The runtimes take turns within a phase (blocks of {@value #BLOCK} sequential pods, or one round each), so a
 * machine whose speed drifts during the run (these VMs are shared) slows both alike instead of whichever ran second.
 * Before timing anything the client is warmed up: ten untimed pods per runtime, and {@value #WARM_CALLS} cheap calls
 * that make the JIT compile the client's own gRPC path. Without them the JVM client adds 3-4 ms of interpreted
 * client code to every call (measured against both runtimes alike), which is the harness's cost and not the
 * runtime's, and which a kubelet does not pay. What the client still costs is reported as "client round trip": the
 * median of a {@code Version} call paced like the pod calls.
 */
final class PodStartBench {

    private static final int BLOCK = 5;
    private static final int WARM_CALLS = 3000;
    private static final int WARM_PODS = 10;

    private final List<RuntimeUnderTest> runtimes;
    private final String image;
    private final Path logRoot;
    private final int pods;
    private final int parallel;
    private final int repeats;
    private final Report report;
    /** Samples of every repeat, by metric name then runtime, in the order the metrics are first seen. */
    private final Map<String, Map<String, List<Double>>> pooled = new LinkedHashMap<>();
    /** Each repeat's median pod start, by phase label then runtime. */
    private final Map<String, Map<String, List<Double>>> repeatMedians = new LinkedHashMap<>();

    PodStartBench(List<RuntimeUnderTest> runtimes, String image, Path logRoot, int pods, int parallel, int repeats,
            Report report) {
        this.runtimes = runtimes;
        this.image = image;
        this.logRoot = logRoot;
        this.pods = pods;
        this.parallel = parallel;
        this.repeats = repeats;
        this.report = report;
    }

    void run() {
        for (RuntimeUnderTest rt : runtimes) {
            warmClient(rt);
            PodRunner runner = runner(rt);
            List<PodRunner.PodStart> warm = runner.startMany("warmup", WARM_PODS, 1);
            runner.removeAll(warm.stream().map(PodRunner.PodStart::podId).toList(), parallel);
            System.out.printf("[podstart] %s warm-up: %s ms%n", rt.name(),
                    warm.stream().map(p -> String.format("%.0f", p.totalMs())).toList());
        }
        clientRoundTrip();
        for (int r = 1; r <= repeats; r++) {
            phase("sequential", 1, r);
            phase(parallel + " at once", parallel, r);
        }
        pooled.forEach((name, samples) -> report.add(new Metric("podstart", name, "ms", samples)));
        if (repeats > 1) {
            repeatMedians.forEach((label, medians) -> {
                report.add(new Metric("podstart", label + ", median of each repeat", "ms", medians));
                List<Double> b = medians.get("berth");
                List<Double> c = medians.get("containerd");
                if (b != null && c != null) {
                    List<String> ratios = new ArrayList<>();
                    for (int i = 0; i < b.size(); i++) {
                        ratios.add(String.format("%.3f", b.get(i) / c.get(i)));
                    }
                    report.note("podstart: " + label + ", ratio of medians in each repeat: " + String.join(" ", ratios));
                }
            });
        }
        report.note("podstart: latency = RunPodSandbox + CreateContainer + StartContainer + ContainerStatus until RUNNING, "
                + "client side; p99 is nearest-rank (of " + pods * repeats + " samples, the slowest "
                + Math.max(1, pods * repeats / 100)
                + "). Runtimes take turns (blocks of " + BLOCK + " sequential pods, one round of " + parallel
                + " at a time); the client is warmed up first, its own round trip is the 'client round trip' line. "
                + (repeats > 1 ? "Both phases ran " + repeats + " times (pods removed in between); the rows pool "
                        + "every repeat's samples. " : "")
                + "Machine CPU per pod: CPU time all tasks on the machine used during a runtime's turn (its daemon and "
                + "per-pod processes, the OCI runtime, CNI plugins, kernel threads, the client), over the turn's pods; "
                + "one sample per turn.");
    }

    private PodRunner runner(RuntimeUnderTest rt) {
        return new PodRunner(rt, image, logRoot.resolve(rt.name()));
    }

    /** Cheap calls through the same stubs and channel the pods use, until the client's gRPC path is compiled. */
    private static void warmClient(RuntimeUnderTest rt) {
        CriClient cri = rt.cri();
        for (int i = 0; i < WARM_CALLS; i++) {
            cri.runtime().version(VersionRequest.getDefaultInstance());
            cri.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance());
            cri.runtime().listContainers(ListContainersRequest.getDefaultInstance());
        }
    }

    /** A Version call every 20 ms, as the pod calls are spaced: the client's and the transport's floor per call. */
    private void clientRoundTrip() {
        Map<String, List<Double>> rtt = new LinkedHashMap<>();
        for (RuntimeUnderTest rt : runtimes) {
            rtt.put(rt.name(), new ArrayList<>());
        }
        for (int i = 0; i < 50; i++) {
            for (RuntimeUnderTest rt : runtimes) {
                long t0 = System.nanoTime();
                rt.cri().runtime().version(VersionRequest.getDefaultInstance());
                rtt.get(rt.name()).add((System.nanoTime() - t0) / 1e6);
                LocalRegistry.sleep(20);
            }
        }
        report.add(new Metric("podstart", "client round trip (Version)", "ms", rtt));
    }

    private void phase(String label, int inFlight, int repeat) {
        Map<String, List<PodRunner.PodStart>> starts = new LinkedHashMap<>();
        Map<String, Double> wall = new LinkedHashMap<>();
        Map<String, List<Double>> cpuPerPod = new LinkedHashMap<>();
        for (RuntimeUnderTest rt : runtimes) {
            starts.put(rt.name(), new ArrayList<>());
            wall.put(rt.name(), 0.0);
            cpuPerPod.put(rt.name(), new ArrayList<>());
        }
        int step = inFlight == 1 ? BLOCK : inFlight;
        String prefix = (inFlight == 1 ? "seq" : "par") + (repeats > 1 ? repeat + "-" : "");
        for (int done = 0; done < pods; done += step) {
            int n = Math.min(step, pods - done);
            for (RuntimeUnderTest rt : runtimes) {
                long cpu0 = MachineCpu.nanos();
                long t0 = System.nanoTime();
                starts.get(rt.name()).addAll(runner(rt).startMany(prefix + done, n, inFlight));
                wall.merge(rt.name(), (System.nanoTime() - t0) / 1e6, Double::sum);
                cpuPerPod.get(rt.name()).add((MachineCpu.nanos() - cpu0) / 1e6 / n);
            }
        }
        Map<String, List<Double>> total = new LinkedHashMap<>();
        Map<String, List<Double>> run = new LinkedHashMap<>();
        Map<String, List<Double>> create = new LinkedHashMap<>();
        Map<String, List<Double>> start = new LinkedHashMap<>();
        for (RuntimeUnderTest rt : runtimes) {
            List<PodRunner.PodStart> mine = starts.get(rt.name());
            long t1 = System.nanoTime();
            runner(rt).removeAll(mine.stream().map(PodRunner.PodStart::podId).toList(), Math.max(inFlight, 10));
            double removal = (System.nanoTime() - t1) / 1e6;
            total.put(rt.name(), new ArrayList<>(mine.stream().map(PodRunner.PodStart::totalMs).toList()));
            run.put(rt.name(), new ArrayList<>(mine.stream().map(PodRunner.PodStart::runMs).toList()));
            create.put(rt.name(), new ArrayList<>(mine.stream().map(PodRunner.PodStart::createMs).toList()));
            start.put(rt.name(), new ArrayList<>(mine.stream().map(PodRunner.PodStart::startMs).toList()));
            double median = Summary.of(total.get(rt.name())).median();
            String which = repeats > 1 ? " (repeat " + repeat + ")" : "";
            System.out.printf("[podstart] %s %s%s: %d pods in %.0f ms of starting (median %.1f ms); removed in %.0f ms%n",
                    rt.name(), label, which, pods, wall.get(rt.name()), median, removal);
            report.detail("podstart " + label + which + " " + rt.name(),
                    Map.of("wall_ms", wall.get(rt.name()), "removal_ms", removal, "pods", pods, "median_ms", median));
            repeatMedians.computeIfAbsent(label, k -> new LinkedHashMap<>())
                    .computeIfAbsent(rt.name(), k -> new ArrayList<>()).add(median);
        }
        pool(label + ", pod start", total);
        pool(label + ", RunPodSandbox", run);
        pool(label + ", CreateContainer", create);
        pool(label + ", StartContainer", start);
        pool(label + ", machine CPU per pod (per turn)", cpuPerPod);
    }

    private void pool(String name, Map<String, List<Double>> samples) {
        Map<String, List<Double>> all = pooled.computeIfAbsent(name, k -> new LinkedHashMap<>());
        samples.forEach((rt, xs) -> all.computeIfAbsent(rt, k -> new ArrayList<>()).addAll(xs));
    }
}
