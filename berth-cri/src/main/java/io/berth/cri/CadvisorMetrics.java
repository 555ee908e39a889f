package io.berth.cri;

import io.berth.cri.api.Metric;
import io.berth.cri.api.MetricDescriptor;
import io.berth.cri.api.MetricType;
import io.berth.cri.api.UInt64Value;
import io.berth.network.PodNetwork.InterfaceStats;
import java.util.ArrayList;
import java.util.List;

/**
 * The cAdvisor metrics Berth serves through ListMetricDescriptors and ListPodSandboxMetrics, which the kubelet
 * re-exports on {@code /metrics/cadvisor} when {@code PodAndContainerStatsFromCRI} is on: names, help texts, label
 * keys and types as containerd 2.x describes them ({@code internal/cri/server/list_metric_descriptors.go}), values
 * from the kernel's cgroup files and the pod's {@code /proc/net/dev}. Two help texts are cAdvisor's instead, where
 * containerd's say something else than Berth sends: {@code container_memory_failcnt} (on cgroup v2 Berth counts the
 * {@code max} events of memory.events, the v2 form of v1's failcnt, where containerd sends 0) and
 * {@code container_memory_rss} (containerd's has a stray bracket).
 *
 * <p>Label keys are {@code pod, namespace, container, id, image} (network metrics add {@code interface}); pod-level
 * metrics carry an empty container and image and the sandbox id, as containerd's do. CPU times are whole seconds,
 * rounded down: the CRI carries metric values as unsigned integers
 * (https://github.com/kubernetes/cri-api/blob/master/pkg/apis/runtime/v1/api.proto, {@code Metric.value}). A figure
 * the kernel does not offer (a file missing on this kernel or cgroup version) is left out rather than sent as 0.
 */
final class CadvisorMetrics {
  private CadvisorMetrics() {}

  private static final List<String> BASE = List.of("pod", "namespace", "container", "id", "image");
  private static final List<String> NETWORK = with(BASE, "interface");
  private static final List<String> FAILURES = with(BASE, "failure_type", "scope");
  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  /** A metric's descriptor and its one type. */
  record Def(MetricDescriptor descriptor, MetricType type) {
    String name() {
      return descriptor.getName();
    }
  }

  private static final List<Def> ALL = new ArrayList<>();

  // CPU
  static final Def CPU_USER = counter("container_cpu_user_seconds_total",
      "Cumulative user CPU time consumed in seconds.", BASE);
  static final Def CPU_SYSTEM = counter("container_cpu_system_seconds_total",
      "Cumulative system CPU time consumed in seconds.", BASE);
  static final Def CPU_USAGE = counter("container_cpu_usage_seconds_total",
      "Cumulative CPU time consumed in seconds.", BASE);
  static final Def CPU_CFS_PERIODS = counter("container_cpu_cfs_periods_total",
      "Number of elapsed enforcement period intervals.", BASE);
  static final Def CPU_CFS_THROTTLED_PERIODS = counter("container_cpu_cfs_throttled_periods_total",
      "Number of CPU throttled period intervals.", BASE);
  static final Def CPU_CFS_THROTTLED_SECONDS = counter("container_cpu_cfs_throttled_seconds_total",
      "Total time duration the container has been throttled.", BASE);

  // memory
  static final Def MEMORY_CACHE = gauge("container_memory_cache",
      "Number of bytes of memory used by the container for caching purposes.", BASE);
  static final Def MEMORY_RSS = gauge("container_memory_rss",
      "Size of RSS in bytes.", BASE);
  static final Def MEMORY_KERNEL = gauge("container_memory_kernel_usage",
      "Size of kernel memory allocated to the container in bytes, includes page tables, socket buffers...", BASE);
  static final Def MEMORY_MAPPED_FILE = gauge("container_memory_mapped_file",
      "Size of container's memory mapped files in bytes.", BASE);
  static final Def MEMORY_SWAP = gauge("container_memory_swap", "Container swap usage in bytes.", BASE);
  static final Def MEMORY_FAILCNT = counter("container_memory_failcnt",
      "Number of memory usage hits limits", BASE);
  static final Def MEMORY_USAGE = gauge("container_memory_usage_bytes",
      "Current memory usage in bytes, including all memory regardless of when it was accessed", BASE);
  static final Def MEMORY_MAX_USAGE = gauge("container_memory_max_usage_bytes",
      "Maximum container memory usage recorded in bytes", BASE);
  static final Def MEMORY_WORKING_SET = gauge("container_memory_working_set_bytes",
      "Amount of memory that is actively used by the container, excluding cached memory.", BASE);
  static final Def MEMORY_ACTIVE_FILE = gauge("container_memory_total_active_file_bytes",
      "Amount of cache memory bytes, in use by the container, in file on disk.", BASE);
  static final Def MEMORY_INACTIVE_FILE = gauge("container_memory_total_inactive_file_bytes",
      "Amount of inactive cache memory bytes, for the container, in file on disk.", BASE);
  static final Def MEMORY_FAILURES = counter("container_memory_failures_total",
      "Cumulative count of container memory allocation failures.", FAILURES);
  static final Def OOM_EVENTS = counter("container_oom_events_total",
      "Count of out of memory events observed for the container", BASE);

  // network (pod level)
  static final Def NET_RX_BYTES = counter("container_network_receive_bytes_total",
      "Cumulative count of bytes received", NETWORK);
  static final Def NET_RX_PACKETS = counter("container_network_receive_packets_total",
      "Cumulative count of packets received", NETWORK);
  static final Def NET_RX_DROPPED = counter("container_network_receive_packets_dropped_total",
      "Cumulative count of packets dropped while receiving", NETWORK);
  static final Def NET_RX_ERRORS = counter("container_network_receive_errors_total",
      "Cumulative count of errors encountered while receiving", NETWORK);
  static final Def NET_TX_BYTES = counter("container_network_transmit_bytes_total",
      "Cumulative count of bytes transmitted", NETWORK);
  static final Def NET_TX_PACKETS = counter("container_network_transmit_packets_total",
      "Cumulative count of packets transmitted", NETWORK);
  static final Def NET_TX_DROPPED = counter("container_network_transmit_packets_dropped_total",
      "Cumulative count of packets dropped while transmitting", NETWORK);
  static final Def NET_TX_ERRORS = counter("container_network_transmit_errors_total",
      "Cumulative count of errors encountered while transmitting", NETWORK);

  // processes
  static final Def PROCESSES = gauge("container_processes",
      "Number of processes running inside the container.", BASE);
  static final Def THREADS_MAX = gauge("container_threads_max",
      "Maximum number of threads allowed inside the container, infinity if value is zero", BASE);
  static final Def THREADS = gauge("container_threads", "Number of threads running inside the container", BASE);

  // miscellaneous
  static final Def LAST_SEEN = gauge("container_last_seen", "Last time a container was seen by the exporter", BASE);
  static final Def START_TIME = gauge("container_start_time_seconds",
      "Start time of the container since unix epoch in seconds", BASE);

  // container spec
  static final Def SPEC_CPU_PERIOD = gauge("container_spec_cpu_period", "CPU period of the container", BASE);
  static final Def SPEC_CPU_SHARES = gauge("container_spec_cpu_shares", "CPU share of the container", BASE);
  static final Def SPEC_MEMORY_LIMIT = gauge("container_spec_memory_limit_bytes", "Memory limit for the container",
      BASE);
  static final Def SPEC_MEMORY_RESERVATION = gauge("container_spec_memory_reservation_limit_bytes",
      "Memory reservation limit for the container", BASE);
  static final Def SPEC_MEMORY_SWAP_LIMIT = gauge("container_spec_memory_swap_limit_bytes",
      "Memory swap limit for the container", BASE);

  /** Every descriptor, in a fixed order; the same list for the daemon's lifetime, as the CRI requires. */
  static List<MetricDescriptor> descriptors() {
    return ALL.stream().map(Def::descriptor).toList();
  }

  static List<Def> all() {
    return List.copyOf(ALL);
  }

  /** Label values of a container's metrics, in {@link #BASE} order. */
  static List<String> containerLabels(String podName, String podNamespace, String containerName, String containerId,
      String image) {
    return List.of(podName, podNamespace, containerName, containerId, image);
  }

  /** Label values of pod-level metrics: no container and no image, the sandbox id as {@code id} (containerd). */
  static List<String> podLabels(String podName, String podNamespace, String sandboxId) {
    return List.of(podName, podNamespace, "", sandboxId, "");
  }

  /**
   * A running container's metrics from one cgroup reading. {@code timestamp} is 0 for a live reading (the CRI asks
   * for 0 unless the figures were cached); {@code startedAtNanos} and {@code nowSeconds} are wall-clock times.
   */
  static List<Metric> container(List<String> labels, CgroupStats.Detail d, long startedAtNanos, long nowSeconds,
      long timestamp) {
    Out out = new Out(labels, timestamp);
    out.add(LAST_SEEN, nowSeconds);
    out.add(START_TIME, startedAtNanos > 0 ? startedAtNanos / NANOS_PER_SECOND : -1);

    CgroupStats.Cpu c = d.cpu();
    out.add(CPU_USAGE, seconds(c.usageNanos()));
    out.add(CPU_USER, seconds(c.userNanos()));
    out.add(CPU_SYSTEM, seconds(c.systemNanos()));
    out.add(CPU_CFS_PERIODS, c.periods());
    out.add(CPU_CFS_THROTTLED_PERIODS, c.throttledPeriods());
    out.add(CPU_CFS_THROTTLED_SECONDS, seconds(c.throttledNanos()));

    CgroupStats.Memory m = d.memory();
    out.add(MEMORY_USAGE, m.usage());
    out.add(MEMORY_WORKING_SET, m.workingSet());
    out.add(MEMORY_MAX_USAGE, m.maxUsage());
    out.add(MEMORY_RSS, m.rss());
    out.add(MEMORY_CACHE, m.cache());
    out.add(MEMORY_KERNEL, m.kernel());
    out.add(MEMORY_MAPPED_FILE, m.mappedFile());
    out.add(MEMORY_SWAP, m.swap());
    out.add(MEMORY_FAILCNT, m.failcnt());
    out.add(MEMORY_ACTIVE_FILE, m.activeFile());
    out.add(MEMORY_INACTIVE_FILE, m.inactiveFile());
    out.add(MEMORY_FAILURES, m.pageFaults(), "pgfault", "container");
    out.add(MEMORY_FAILURES, m.majorPageFaults(), "pgmajfault", "container");
    out.add(OOM_EVENTS, m.oomKills());

    CgroupStats.Tasks t = d.tasks();
    out.add(PROCESSES, t.processes());
    out.add(THREADS, t.threads());
    out.add(THREADS_MAX, t.threadsMax());

    CgroupStats.Limits l = d.limits();
    out.add(SPEC_CPU_PERIOD, l.cpuPeriod());
    out.add(SPEC_CPU_SHARES, l.cpuShares());
    out.add(SPEC_MEMORY_LIMIT, l.memoryLimit());
    out.add(SPEC_MEMORY_RESERVATION, l.memoryReservation());
    out.add(SPEC_MEMORY_SWAP_LIMIT, l.memorySwapLimit());
    return out.metrics;
  }

  /**
   * A pod's network metrics, one set per interface except {@code lo} (which cAdvisor ignores too); {@code
   * timestamp} is when the counters were read.
   */
  static List<Metric> pod(List<String> labels, List<InterfaceStats> interfaces, long timestamp) {
    List<Metric> metrics = new ArrayList<>();
    for (InterfaceStats i : interfaces) {
      if (i.name().equals("lo")) {
        continue;
      }
      Out out = new Out(with(labels, i.name()), timestamp);
      out.add(NET_RX_BYTES, i.rxBytes());
      out.add(NET_RX_PACKETS, i.rxPackets());
      out.add(NET_RX_DROPPED, i.rxDropped());
      out.add(NET_RX_ERRORS, i.rxErrors());
      out.add(NET_TX_BYTES, i.txBytes());
      out.add(NET_TX_PACKETS, i.txPackets());
      out.add(NET_TX_DROPPED, i.txDropped());
      out.add(NET_TX_ERRORS, i.txErrors());
      metrics.addAll(out.metrics);
    }
    return metrics;
  }

  private static long seconds(long nanos) {
    return nanos < 0 ? -1 : nanos / NANOS_PER_SECOND;
  }

  /** Collects metrics with shared label values and timestamp, skipping absent (negative) figures. */
  private static final class Out {
    final List<String> labels;
    final long timestamp;
    final List<Metric> metrics = new ArrayList<>();

    Out(List<String> labels, long timestamp) {
      this.labels = labels;
      this.timestamp = timestamp;
    }

    void add(Def def, long value, String... extraLabels) {
      if (value < 0) {
        return;
      }
      metrics.add(Metric.newBuilder().setName(def.name()).setTimestamp(timestamp).setMetricType(def.type())
          .addAllLabelValues(labels).addAllLabelValues(List.of(extraLabels))
          .setValue(UInt64Value.newBuilder().setValue(value)).build());
    }
  }

  private static Def counter(String name, String help, List<String> keys) {
    return def(name, help, keys, MetricType.COUNTER);
  }

  private static Def gauge(String name, String help, List<String> keys) {
    return def(name, help, keys, MetricType.GAUGE);
  }

  private static Def def(String name, String help, List<String> keys, MetricType type) {
    Def d = new Def(MetricDescriptor.newBuilder().setName(name).setHelp(help).addAllLabelKeys(keys).build(), type);
    ALL.add(d);
    return d;
  }

  private static List<String> with(List<String> base, String... more) {
    List<String> l = new ArrayList<>(base);
    l.addAll(List.of(more));
    return List.copyOf(l);
  }
}
