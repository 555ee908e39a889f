package io.berth.it;

import static io.berth.it.Cri.await;
import static io.berth.it.Cri.container;
import static io.berth.it.Cri.createAndStart;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.cri.api.ContainerMetrics;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStats;
import io.berth.cri.api.ContainerStatsFilter;
import io.berth.cri.api.ContainerStatsRequest;
import io.berth.cri.api.ListContainerStatsRequest;
import io.berth.cri.api.LinuxContainerConfig;
import io.berth.cri.api.LinuxContainerResources;
import io.berth.cri.api.LinuxSandboxSecurityContext;
import io.berth.cri.api.ListMetricDescriptorsRequest;
import io.berth.cri.api.ListPodSandboxMetricsRequest;
import io.berth.cri.api.ListPodSandboxStatsRequest;
import io.berth.cri.api.Metric;
import io.berth.cri.api.MetricDescriptor;
import io.berth.cri.api.MetricType;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.NamespaceOption;
import io.berth.cri.api.NetworkInterfaceUsage;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxMetrics;
import io.berth.cri.api.PodSandboxStats;
import io.berth.cri.api.PodSandboxStatsFilter;
import io.berth.cri.api.PodSandboxStatsRequest;
import io.berth.cri.api.PodSandboxStatusRequest;
import io.berth.cri.api.PodSandboxStatusResponse;
import io.berth.cri.api.StopContainerRequest;
import io.berth.cri.api.StopPodSandboxRequest;
import io.berth.cri.api.StreamPodSandboxMetricsRequest;
import io.berth.cri.api.StreamPodSandboxMetricsResponse;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Pod network stats and the cAdvisor metrics over the real socket, checked against what the kernel itself shows:
 * the pod's /proc/net/dev (read with nsenter into its pinned netns) and the containers' cgroup files. Traffic goes
 * only between the test and pods on the test daemon's own bridge.
 */
class PodMetricsIT {
  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @RegisterExtension
  @Order(2)
  static final BerthdProcess berthd = BerthdProcess.builder().build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  static final Path CGROUP = Path.of("/sys/fs/cgroup");
  static final int UPLOAD = 512 * 1024;
  static final int DOWNLOAD = 1024 * 1024;
  static final long HELD = 64L * 1024 * 1024;
  static final long LIMIT = 256L * 1024 * 1024;

  static String image;

  @BeforeAll
  static void pullImage() {
    image = Cri.pushAndPull(berthd, registry, "it/metrics");
  }

  // -- network ------------------------------------------------------------------------------------------------------

  @Test
  void podSandboxStats_trafficBothWays_networkMovedByAtLeastThatAndMatchesTheKernel() throws Exception {
    PodSandboxConfig.Builder pod = pod(berthd, "net");
    String podId = runPod(berthd, pod, "");
    createAndStart(berthd, podId, pod, container("web", image, "sh", "-c",
        "dd if=/dev/zero of=/www/blob bs=1024 count=1024 2>/dev/null && exec httpd -f -p 8080 -h /www"));
    createAndStart(berthd, podId, pod, container("sink", image, "sh", "-c", "nc -l -p 9000 > /dev/null"));
    PodSandboxStatusResponse status = berthd.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
        .setPodSandboxId(podId).setVerbose(true).build());
    String ip = status.getStatus().getNetwork().getIp();
    Matcher m = Pattern.compile("\"netnsPath\":\"([^\"]+)\"").matcher(status.getInfoOrThrow("info"));
    assertThat(m.find()).isTrue();
    Path netns = Path.of(m.group(1));

    NetworkInterfaceUsage before = podStats(podId).getLinux().getNetwork().getDefaultInterface();
    assertThat(before.getName()).isEqualTo("eth0");

    send(ip, 9000, UPLOAD);
    assertThat(download(ip, 8080, "/blob")).isEqualTo(DOWNLOAD);

    NetworkInterfaceUsage after = awaitValue(() -> {
      NetworkInterfaceUsage n = podStats(podId).getLinux().getNetwork().getDefaultInterface();
      return n.getRxBytes().getValue() - before.getRxBytes().getValue() >= UPLOAD
          && n.getTxBytes().getValue() - before.getTxBytes().getValue() >= DOWNLOAD ? Optional.of(n) : Optional.empty();
    }, "eth0 counters moved by the traffic");
    assertThat(after.getRxBytes().getValue() - before.getRxBytes().getValue()).isGreaterThanOrEqualTo(UPLOAD);
    assertThat(after.getTxBytes().getValue() - before.getTxBytes().getValue()).isGreaterThanOrEqualTo(DOWNLOAD);

    // Exactly the kernel's figures: read the kernel's table, then Berth's (its 1 s cache expired), then the
    // kernel's again; when nothing moved in between (stray IPv6 chatter may), Berth's must be those very figures.
    awaitValue(() -> {
      Cri.sleep(1100);
      long[] k1 = kernelCounters(netns, "eth0");
      PodSandboxStats s = podStats(podId);
      List<Metric> podMetrics = podMetrics(podId).orElseThrow().getMetricsList();
      long[] k2 = kernelCounters(netns, "eth0");
      if (!java.util.Arrays.equals(k1, k2)) {
        return Optional.empty();
      }
      NetworkInterfaceUsage eth0 = s.getLinux().getNetwork().getDefaultInterface();
      assertThat(new long[] {eth0.getRxBytes().getValue(), eth0.getRxErrors().getValue(),
          eth0.getTxBytes().getValue(), eth0.getTxErrors().getValue()})
          .containsExactly(k1[0], k1[2], k1[8], k1[10]);
      assertThat(s.getLinux().getNetwork().getInterfacesList()).extracting(NetworkInterfaceUsage::getName)
          .containsExactly("eth0");
      assertThat(value(podMetrics, "container_network_receive_bytes_total", "eth0")).isEqualTo(k1[0]);
      assertThat(value(podMetrics, "container_network_receive_packets_total", "eth0")).isEqualTo(k1[1]);
      assertThat(value(podMetrics, "container_network_receive_errors_total", "eth0")).isEqualTo(k1[2]);
      assertThat(value(podMetrics, "container_network_transmit_bytes_total", "eth0")).isEqualTo(k1[8]);
      assertThat(value(podMetrics, "container_network_transmit_packets_total", "eth0")).isEqualTo(k1[9]);
      assertThat(value(podMetrics, "container_network_transmit_errors_total", "eth0")).isEqualTo(k1[10]);
      return Optional.of(true);
    }, "a quiet moment on eth0 to compare with the kernel");

    // ListPodSandboxStats (filtered to the pod) reports the same network
    List<PodSandboxStats> listed = berthd.runtime().listPodSandboxStats(ListPodSandboxStatsRequest.newBuilder()
        .setFilter(PodSandboxStatsFilter.newBuilder().setId(podId)).build()).getStatsList();
    assertThat(listed).hasSize(1);
    assertThat(listed.getFirst().getLinux().getNetwork().getDefaultInterface().getTxBytes().getValue())
        .isGreaterThanOrEqualTo(after.getTxBytes().getValue());
  }

  @Test
  void podSandboxStats_hostNetworkPod_noNetworkFiguresAsContainerd() {
    PodSandboxConfig.Builder pod = pod(berthd, "hostnet");
    pod.getLinuxBuilder().setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(
        NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE)));
    String podId = runPod(berthd, pod, "");
    String c = createAndStart(berthd, podId, pod, container("sleep", image, "sleep", "3600"));
    await(berthd, c, s -> s.getState() == ContainerState.CONTAINER_RUNNING);

    PodSandboxStats s = podStats(podId);
    assertThat(s.getLinux().hasNetwork()).isFalse();
    assertThat(s.getLinux().getContainersList()).hasSize(1);
    PodSandboxMetrics pm = podMetrics(podId).orElseThrow();
    assertThat(pm.getMetricsList()).as("no pod-level (network) metrics").isEmpty();
    assertThat(pm.getContainerMetricsList()).extracting(ContainerMetrics::getContainerId).containsExactly(c);
  }

  @Test
  void podSandboxStats_unknownId_notFound() {
    assertThatThrownBy(() -> berthd.runtime().podSandboxStats(PodSandboxStatsRequest.newBuilder()
        .setPodSandboxId("0123456789abcdef-no-such-pod").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  // -- container stats ----------------------------------------------------------------------------------------------

  @Test
  void containerStats_memoryHoldingAndBusyContainers_agreeWithTheCgroupFiles() {
    PodSandboxConfig.Builder pod = pod(berthd, "cstats");
    String podId = runPod(berthd, pod, "");
    String mem = createAndStart(berthd, podId, pod, container("mem", image, "sh", "-c",
        "dd if=/dev/zero of=/dev/shm/fill bs=1048576 count=64 2>/dev/null && exec sleep 3600"));
    String busy = createAndStart(berthd, podId, pod, container("busy", image, "sh", "-c", "while :; do :; done"));

    // memory: once the 64 MiB are written the figures hold still and must equal the kernel's
    awaitValue(() -> {
      long[] f1 = memoryFiles(mem);
      ContainerStats cs = berthd.runtime().containerStats(ContainerStatsRequest.newBuilder().setContainerId(mem)
          .build()).getStats();
      long[] f2 = memoryFiles(mem);
      if (!java.util.Arrays.equals(f1, f2) || f1[0] < HELD) {
        return Optional.empty();
      }
      assertThat(cs.getMemory().getUsageBytes().getValue()).isEqualTo(f1[0]);
      assertThat(cs.getMemory().getWorkingSetBytes().getValue()).isEqualTo(f1[1]).isGreaterThanOrEqualTo(HELD);
      assertThat(cs.getAttributes().getId()).isEqualTo(mem);
      assertThat(cs.getAttributes().getMetadata().getName()).isEqualTo("mem");
      return Optional.of(true);
    }, "64 MiB held and the memory figures holding still");

    // CPU: cumulative nanoseconds between two readings of the cgroup's own counter, and nano-cores near one core
    awaitValue(() -> Optional.of(cpuNanosFile(busy)).filter(n -> n >= 2_000_000_000L), "2 s of CPU burnt");
    long before = cpuNanosFile(busy);
    ContainerStats first = berthd.runtime().containerStats(ContainerStatsRequest.newBuilder().setContainerId(busy)
        .build()).getStats();
    long after = cpuNanosFile(busy);
    assertThat(first.getCpu().getUsageCoreNanoSeconds().getValue()).isBetween(before, after);
    Cri.sleep(1500);
    ContainerStats second = berthd.runtime().listContainerStats(ListContainerStatsRequest.newBuilder()
        .setFilter(ContainerStatsFilter.newBuilder().setPodSandboxId(podId)).build()).getStatsList().stream()
        .filter(x -> x.getAttributes().getId().equals(busy)).findFirst().orElseThrow();
    assertThat(second.getCpu().getUsageCoreNanoSeconds().getValue())
        .isGreaterThan(first.getCpu().getUsageCoreNanoSeconds().getValue());
    // A busy loop on a 2-core machine shared with other work: somewhere between a tenth of a core and two.
    assertThat(second.getCpu().getUsageNanoCores().getValue()).isBetween(100_000_000L, 2_000_000_000L);
    assertThat(berthd.runtime().listContainerStats(ListContainerStatsRequest.newBuilder()
        .setFilter(ContainerStatsFilter.newBuilder().setPodSandboxId(podId)).build()).getStatsList())
        .extracting(x -> x.getAttributes().getId()).containsExactlyInAnyOrder(mem, busy);
  }

  /** Nanoseconds of CPU the container's cgroup has used. */
  static long cpuNanosFile(String containerId) {
    if (Files.exists(CGROUP.resolve("cgroup.controllers"))) {
      for (String line : read(containerCgroup("", containerId).resolve("cpu.stat")).split("\n")) {
        if (line.startsWith("usage_usec ")) {
          return Long.parseLong(line.substring("usage_usec ".length())) * 1_000L;
        }
      }
      throw new AssertionError("no usage_usec");
    }
    return Long.parseLong(read(containerCgroup("cpuacct", containerId).resolve("cpuacct.usage")));
  }

  // -- metrics ------------------------------------------------------------------------------------------------------

  @Test
  void listPodSandboxMetrics_memoryHoldingAndBusyContainers_figuresAgreeWithTheCgroupFiles() {
    PodSandboxConfig.Builder pod = pod(berthd, "metrics");
    String podId = runPod(berthd, pod, "");
    String mem = createAndStart(berthd, podId, pod, container("mem", image, "sh", "-c",
        "dd if=/dev/zero of=/dev/shm/fill bs=1048576 count=64 2>/dev/null && exec sleep 3600")
        .setLinux(LinuxContainerConfig.newBuilder().setResources(LinuxContainerResources.newBuilder()
            .setMemoryLimitInBytes(LIMIT))));
    String busy = createAndStart(berthd, podId, pod, container("busy", image, "sh", "-c", "while :; do :; done"));

    // descriptors: every metric sent is described, with as many label values as keys
    Map<String, MetricDescriptor> descriptors = new HashMap<>();
    berthd.runtime().listMetricDescriptors(ListMetricDescriptorsRequest.getDefaultInstance()).getDescriptorsList()
        .forEach(d -> descriptors.put(d.getName(), d));
    assertThat(descriptors).containsKeys("container_cpu_usage_seconds_total", "container_cpu_user_seconds_total",
        "container_cpu_system_seconds_total", "container_memory_usage_bytes", "container_memory_working_set_bytes",
        "container_memory_rss", "container_memory_cache", "container_spec_memory_limit_bytes",
        "container_network_receive_bytes_total", "container_network_transmit_bytes_total");
    assertThat(descriptors.get("container_memory_usage_bytes").getLabelKeysList())
        .containsExactly("pod", "namespace", "container", "id", "image");

    // memory: the container holds 64 MiB of tmpfs pages and then sleeps, so its figures hold still
    awaitValue(() -> metric(podId, mem, "container_memory_usage_bytes").filter(v -> v >= HELD),
        "64 MiB written to /dev/shm");
    awaitValue(() -> {
      long[] f1 = memoryFiles(mem);
      PodSandboxMetrics pm = podMetrics(podId).orElseThrow();
      long[] f2 = memoryFiles(mem);
      if (!java.util.Arrays.equals(f1, f2)) {
        return Optional.empty();
      }
      List<Metric> ms = containerMetrics(pm, mem);
      assertThat(value(ms, "container_memory_usage_bytes")).isEqualTo(f1[0]).isGreaterThanOrEqualTo(HELD);
      assertThat(value(ms, "container_memory_working_set_bytes")).isEqualTo(f1[1]).isGreaterThanOrEqualTo(HELD);
      return Optional.of(true);
    }, "memory figures holding still");
    List<Metric> memMetrics = containerMetrics(podMetrics(podId).orElseThrow(), mem);
    assertThat(value(memMetrics, "container_spec_memory_limit_bytes")).isEqualTo(LIMIT);
    assertThat(value(memMetrics, "container_start_time_seconds"))
        .isEqualTo(Cri.status(berthd, mem).getStartedAt() / 1_000_000_000L);
    assertThat(value(memMetrics, "container_processes")).as("sh exec'd sleep").isEqualTo(1);
    assertThat(memMetrics).allSatisfy(x -> {
      assertThat(descriptors).containsKey(x.getName());
      assertThat(x.getLabelValuesCount()).as(x.getName())
          .isEqualTo(descriptors.get(x.getName()).getLabelKeysCount());
      assertThat(x.getTimestamp()).as("gathered live").isZero();
    });
    assertThat(memMetrics.getFirst().getLabelValuesList().subList(0, 4))
        .containsExactly("metrics", "berth-it", "mem", mem);
    assertThat(memMetrics.getFirst().getLabelValues(4)).isNotEmpty();
    assertThat(memMetrics).filteredOn(x -> x.getName().equals("container_cpu_usage_seconds_total"))
        .extracting(Metric::getMetricType).containsExactly(MetricType.COUNTER);

    // CPU: the busy loop's counter climbs past 2 s and agrees with the cgroup's own, read before and after
    long first = awaitValue(() -> metric(podId, busy, "container_cpu_usage_seconds_total").filter(v -> v >= 2),
        "2 s of CPU burnt");
    long before = cpuSecondsFile(busy);
    long reported = metric(podId, busy, "container_cpu_usage_seconds_total").orElseThrow();
    long afterFile = cpuSecondsFile(busy);
    assertThat(reported).isBetween(before, afterFile);
    awaitValue(() -> metric(podId, busy, "container_cpu_usage_seconds_total").filter(v -> v > reported),
        "the CPU counter increasing");
    List<Metric> busyMetrics = containerMetrics(podMetrics(podId).orElseThrow(), busy);
    long user = value(busyMetrics, "container_cpu_user_seconds_total");
    long system = value(busyMetrics, "container_cpu_system_seconds_total");
    long usage = value(busyMetrics, "container_cpu_usage_seconds_total");
    assertThat(user + system).as("user + system ~ usage (each rounded down)").isBetween(usage - 2, usage + 2);
    assertThat(first).isGreaterThanOrEqualTo(2);

    // the pod's own metrics are its network
    assertThat(podMetrics(podId).orElseThrow().getMetricsList()).extracting(Metric::getName)
        .contains("container_network_receive_bytes_total", "container_network_transmit_bytes_total");

    // StreamPodSandboxMetrics carries the same pods and containers
    List<PodSandboxMetrics> streamed = new ArrayList<>();
    Iterator<StreamPodSandboxMetricsResponse> it = berthd.runtime().streamPodSandboxMetrics(
        StreamPodSandboxMetricsRequest.getDefaultInstance());
    it.forEachRemaining(r -> streamed.addAll(r.getPodSandboxMetricsList()));
    assertThat(streamed).filteredOn(p -> p.getPodSandboxId().equals(podId)).singleElement()
        .satisfies(p -> assertThat(p.getContainerMetricsList()).extracting(ContainerMetrics::getContainerId)
            .containsExactlyInAnyOrder(mem, busy));
  }

  @Test
  void listPodSandboxMetrics_stoppedContainerAndStoppedPod_leftOutAsContainerdDoes() {
    PodSandboxConfig.Builder pod = pod(berthd, "stopping");
    String podId = runPod(berthd, pod, "");
    String a = createAndStart(berthd, podId, pod, container("a", image, "sleep", "3600"));
    String b = createAndStart(berthd, podId, pod, container("b", image, "sleep", "3600"));
    await(berthd, b, s -> s.getState() == ContainerState.CONTAINER_RUNNING);
    assertThat(podMetrics(podId).orElseThrow().getContainerMetricsList()).extracting(ContainerMetrics::getContainerId)
        .containsExactlyInAnyOrder(a, b);

    berthd.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(a).setTimeout(0).build());
    assertThat(podMetrics(podId).orElseThrow().getContainerMetricsList()).extracting(ContainerMetrics::getContainerId)
        .containsExactly(b);

    assertThat(podStats(podId).getLinux().hasNetwork()).isTrue();
    berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    assertThat(podMetrics(podId)).isEmpty();
    assertThat(podStats(podId).getLinux().hasNetwork()).as("network torn down").isFalse();
    assertThat(berthd.runtime().listPodSandboxStats(ListPodSandboxStatsRequest.getDefaultInstance())
        .getStatsList()).extracting(s -> s.getAttributes().getId()).doesNotContain(podId);
  }

  // -- helpers ------------------------------------------------------------------------------------------------------

  static PodSandboxStats podStats(String podId) {
    return berthd.runtime().podSandboxStats(PodSandboxStatsRequest.newBuilder().setPodSandboxId(podId).build())
        .getStats();
  }

  static Optional<PodSandboxMetrics> podMetrics(String podId) {
    return berthd.runtime().listPodSandboxMetrics(ListPodSandboxMetricsRequest.getDefaultInstance())
        .getPodMetricsList().stream().filter(p -> p.getPodSandboxId().equals(podId)).findFirst();
  }

  static List<Metric> containerMetrics(PodSandboxMetrics pm, String containerId) {
    return pm.getContainerMetricsList().stream().filter(c -> c.getContainerId().equals(containerId)).findFirst()
        .map(ContainerMetrics::getMetricsList).orElseThrow(() -> new AssertionError("no metrics for " + containerId
            + " in " + pm.getContainerMetricsList().stream().map(ContainerMetrics::getContainerId).toList()));
  }

  static Optional<Long> metric(String podId, String containerId, String name) {
    return podMetrics(podId).flatMap(pm -> pm.getContainerMetricsList().stream()
        .filter(c -> c.getContainerId().equals(containerId)).findFirst())
        .flatMap(c -> c.getMetricsList().stream().filter(m -> m.getName().equals(name)).findFirst())
        .map(m -> m.getValue().getValue());
  }

  /** The value of the one metric of that name (and, for network metrics, that interface). */
  static long value(List<Metric> metrics, String name, String... lastLabel) {
    List<Metric> found = metrics.stream().filter(m -> m.getName().equals(name))
        .filter(m -> lastLabel.length == 0
            || m.getLabelValues(m.getLabelValuesCount() - 1).equals(lastLabel[0])).toList();
    assertThat(found).as(name).hasSize(1);
    return found.getFirst().getValue().getValue();
  }

  static <T> T awaitValue(Supplier<Optional<T>> probe, String what) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (true) {
      Optional<T> v = probe.get();
      if (v.isPresent()) {
        return v.get();
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("gave up waiting for " + what + "\nberthd log:\n" + berthd.logTail(30));
      }
      Cri.sleep(200);
    }
  }

  /** The 16 counters of /proc/net/dev for one interface, as a process inside the pod's netns sees them. */
  static long[] kernelCounters(Path netns, String iface) {
    String table = run("nsenter", "--net=" + netns, "cat", "/proc/net/dev");
    for (String line : table.split("\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equals(iface)) {
        String[] f = line.substring(colon + 1).trim().split("\\s+");
        long[] out = new long[16];
        for (int i = 0; i < 16; i++) {
          out[i] = Long.parseLong(f[i]);
        }
        return out;
      }
    }
    throw new AssertionError(iface + " not in\n" + table);
  }

  /** Usage and working set (usage - inactive file pages) from the container's memory cgroup files. */
  static long[] memoryFiles(String containerId) {
    boolean v2 = Files.exists(CGROUP.resolve("cgroup.controllers"));
    Path dir = containerCgroup(v2 ? "" : "memory", containerId);
    long usage = Long.parseLong(read(dir.resolve(v2 ? "memory.current" : "memory.usage_in_bytes")));
    long inactive = 0;
    for (String line : read(dir.resolve("memory.stat")).split("\n")) {
      String[] kv = line.split(" ");
      if (kv[0].equals(v2 ? "inactive_file" : "total_inactive_file")) {
        inactive = Long.parseLong(kv[1]);
      }
    }
    return new long[] {usage, Math.max(0, usage - inactive)};
  }

  /** Whole seconds of CPU the container's cgroup has used. */
  static long cpuSecondsFile(String containerId) {
    if (Files.exists(CGROUP.resolve("cgroup.controllers"))) {
      for (String line : read(containerCgroup("", containerId).resolve("cpu.stat")).split("\n")) {
        if (line.startsWith("usage_usec ")) {
          return Long.parseLong(line.substring("usage_usec ".length())) / 1_000_000L;
        }
      }
      throw new AssertionError("no usage_usec");
    }
    return Long.parseLong(read(containerCgroup("cpuacct", containerId).resolve("cpuacct.usage"))) / 1_000_000_000L;
  }

  static Path containerCgroup(String hierarchy, String containerId) {
    Path base = hierarchy.isEmpty() ? CGROUP : CGROUP.resolve(hierarchy);
    return base.resolve(berthd.cgroupParent().substring(1)).resolve("berth-" + containerId);
  }

  static String read(Path p) {
    try {
      return Files.readString(p).trim();
    } catch (IOException e) {
      throw new AssertionError("read " + p, e);
    }
  }

  static String run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as("%s: %s", List.of(cmd), out).isZero();
      return out;
    } catch (IOException e) {
      throw new AssertionError(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Sends {@code n} bytes to a listener in the pod, retrying the connect until it listens. */
  static void send(String ip, int port, int n) throws Exception {
    IOException last = null;
    for (int i = 0; i < 300; i++) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(ip, port), 2000);
        OutputStream out = s.getOutputStream();
        out.write(new byte[n]);
        out.flush();
        s.shutdownOutput();
        s.setSoTimeout(10_000);
        s.getInputStream().read(); // nc closes once it has read everything
        return;
      } catch (IOException e) {
        last = e;
        Cri.sleep(100);
      }
    }
    throw new AssertionError("could not send to " + ip + ":" + port, last);
  }

  /** GETs a file from busybox httpd in the pod; returns the body's length. */
  static long download(String ip, int port, String path) {
    byte[] all = Cri.httpGet(ip, port, path);
    String head = new String(all, 0, Math.min(all.length, 512), StandardCharsets.ISO_8859_1);
    int end = head.indexOf("\r\n\r\n");
    assertThat(head).as("response head").contains(" 200 ");
    assertThat(end).as("end of the response head").isPositive();
    return all.length - end - 4;
  }
}
