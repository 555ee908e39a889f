package io.berth.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Memory of a runtime with 0 and with {@code pods} running pods: RSS and PSS (smaps_rollup) summed over the daemon and
 * every per-pod process it runs (containerd: shims and pause; Berth: conmon and catatonit), excluding the containers'
 * own workload ({@code sleep}). A runtime's processes are the daemon plus every process whose command line names the
 * runtime's private dir (shims carry the socket path, conmon the bundle path), with all their descendants.
 *
 * <p>Each state is sampled three times a second apart after a settle pause; the per-pod figure of sample i is
 * (with_i - without_i) / pods. Five pods are started and removed first, so lazy initialisation is not charged per pod.
 */
final class MemoryBench {

    private static final int SAMPLES = 3;

    private final List<RuntimeUnderTest> runtimes;
    private final String image;
    private final Path logRoot;
    private final int pods;
    private final int parallel;
    private final Report report;

    MemoryBench(List<RuntimeUnderTest> runtimes, String image, Path logRoot, int pods, int parallel, Report report) {
        this.runtimes = runtimes;
        this.image = image;
        this.logRoot = logRoot;
        this.pods = pods;
        this.parallel = parallel;
        this.report = report;
    }

    /** Memory of a runtime's processes at one instant, with how many processes of each name were counted. */
    record Sample(ProcessTable.Memory total, ProcessTable.Memory daemon, Map<String, Integer> processes) {}

    void run() {
        Map<String, List<Double>> pssPerPod = new LinkedHashMap<>();
        Map<String, List<Double>> rssPerPod = new LinkedHashMap<>();
        Map<String, List<Double>> pss0 = new LinkedHashMap<>();
        Map<String, List<Double>> pssN = new LinkedHashMap<>();
        Map<String, List<Double>> rss0 = new LinkedHashMap<>();
        Map<String, List<Double>> rssN = new LinkedHashMap<>();
        for (RuntimeUnderTest rt : runtimes) {
            PodRunner runner = new PodRunner(rt, image, logRoot.resolve(rt.name()));
            List<PodRunner.PodStart> warm = runner.startMany("memwarm", 5, 1);
            runner.removeAll(warm.stream().map(PodRunner.PodStart::podId).toList(), parallel);
            LocalRegistry.sleep(3000);
            List<Sample> without = sample(rt);
            List<PodRunner.PodStart> started = runner.startMany("mem", pods, parallel);
            LocalRegistry.sleep(5000);
            List<Sample> with = sample(rt);
            runner.removeAll(started.stream().map(PodRunner.PodStart::podId).toList(), parallel);
            List<Double> pss = new ArrayList<>();
            List<Double> rss = new ArrayList<>();
            for (int i = 0; i < SAMPLES; i++) {
                pss.add(mib(with.get(i).total().pssKib() - without.get(i).total().pssKib()) / pods);
                rss.add(mib(with.get(i).total().rssKib() - without.get(i).total().rssKib()) / pods);
            }
            pssPerPod.put(rt.name(), pss);
            rssPerPod.put(rt.name(), rss);
            pss0.put(rt.name(), without.stream().map(s -> mib(s.total().pssKib())).toList());
            pssN.put(rt.name(), with.stream().map(s -> mib(s.total().pssKib())).toList());
            rss0.put(rt.name(), without.stream().map(s -> mib(s.total().rssKib())).toList());
            rssN.put(rt.name(), with.stream().map(s -> mib(s.total().rssKib())).toList());
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("processes_with_0", without.getLast().processes());
            d.put("processes_with_" + pods, with.getLast().processes());
            d.put("daemon_pss_mib_with_0", mib(without.getLast().daemon().pssKib()));
            d.put("daemon_pss_mib_with_" + pods, mib(with.getLast().daemon().pssKib()));
            d.put("daemon_rss_mib_with_0", mib(without.getLast().daemon().rssKib()));
            d.put("daemon_rss_mib_with_" + pods, mib(with.getLast().daemon().rssKib()));
            report.detail("memory " + rt.name(), d);
            System.out.printf("[memory] %s: with 0 pods %.1f MiB PSS / %.1f MiB RSS %s; with %d pods %.1f MiB PSS / %.1f MiB RSS %s%n",
                    rt.name(), mib(without.getLast().total().pssKib()), mib(without.getLast().total().rssKib()),
                    without.getLast().processes(), pods, mib(with.getLast().total().pssKib()),
                    mib(with.getLast().total().rssKib()), with.getLast().processes());
        }
        report.add(new Metric("memory", "PSS added per pod", "MiB", pssPerPod));
        report.add(new Metric("memory", "RSS added per pod", "MiB", rssPerPod));
        report.add(new Metric("memory", "PSS with 0 pods", "MiB", pss0));
        report.add(new Metric("memory", "PSS with " + pods + " pods", "MiB", pssN));
        report.add(new Metric("memory", "RSS with 0 pods", "MiB", rss0));
        report.add(new Metric("memory", "RSS with " + pods + " pods", "MiB", rssN));
        report.note("memory: daemon + per-pod processes (shims/monitors, pause/infra), workloads excluded; per pod = "
                + "(with " + pods + " - with 0) / " + pods + "; PSS counts shared pages once across processes.");
    }

    private List<Sample> sample(RuntimeUnderTest rt) {
        List<Sample> out = new ArrayList<>();
        for (int i = 0; i < SAMPLES; i++) {
            if (i > 0) {
                LocalRegistry.sleep(1000);
            }
            out.add(measure(rt));
        }
        return out;
    }

    static Sample measure(RuntimeUnderTest rt) {
        ProcessTable table = ProcessTable.read();
        String marker = rt.privateDir().toString();
        long self = ProcessHandle.current().pid();
        Set<Integer> roots = new HashSet<>();
        roots.add((int) rt.daemonPid());
        for (ProcessTable.Proc p : table.all()) {
            if (p.pid() != self && p.cmdline().contains(marker)) {
                roots.add(p.pid());
            }
        }
        Set<ProcessTable.Proc> procs = table.treesOf(roots, p -> p.comm().equals("sleep"));
        ProcessTable.Memory total = ProcessTable.Memory.ZERO;
        Map<String, Integer> names = new TreeMap<>();
        for (ProcessTable.Proc p : procs) {
            total = total.plus(ProcessTable.memory(p.pid()));
            names.merge(p.comm(), 1, Integer::sum);
        }
        return new Sample(total, ProcessTable.memory((int) rt.daemonPid()), names);
    }

    private static double mib(long kib) {
        return kib / 1024.0;
    }
}
