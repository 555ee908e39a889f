package io.berth.cri;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.cri.api.Metric;
import io.berth.cri.api.MetricDescriptor;
import io.berth.cri.api.MetricType;
import io.berth.network.PodNetwork.InterfaceStats;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Metrics built from cgroup v1 and v2 layouts (faked as the kernel lays them out) and from /proc/net/dev figures. */
class CadvisorMetricsTest {
  @TempDir Path root;

  static final List<String> LABELS = CadvisorMetrics.containerLabels("web", "default", "nginx", "c0ffee",
      "docker.io/library/nginx:1.27");
  static final long STARTED = 1_700_000_000_123_456_789L;

  @Test
  void descriptors_namesUniqueAndEveryMetricMatchesItsDescriptorsLabelKeys() throws Exception {
    List<MetricDescriptor> ds = CadvisorMetrics.descriptors();
    assertThat(ds).extracting(MetricDescriptor::getName).doesNotHaveDuplicates()
        .contains("container_cpu_usage_seconds_total", "container_cpu_user_seconds_total",
            "container_cpu_system_seconds_total", "container_memory_usage_bytes",
            "container_memory_working_set_bytes", "container_memory_rss", "container_memory_cache",
            "container_memory_failcnt", "container_spec_memory_limit_bytes", "container_oom_events_total",
            "container_network_receive_bytes_total", "container_network_transmit_bytes_total",
            "container_network_receive_errors_total", "container_network_transmit_errors_total",
            "container_last_seen", "container_start_time_seconds", "container_processes", "container_threads");
    assertThat(ds).allSatisfy(d -> assertThat(d.getHelp()).isNotBlank());
    Map<String, MetricDescriptor> byName = ds.stream()
        .collect(Collectors.toMap(MetricDescriptor::getName, d -> d));

    CgroupStatsTest.fakeV2(root);
    List<Metric> metrics = new java.util.ArrayList<>(CadvisorMetrics.container(LABELS,
        new CgroupStats(root).readDetail("/kubepods/berth-abc").orElseThrow(), STARTED, 1_700_000_100L, 0));
    metrics.addAll(CadvisorMetrics.pod(CadvisorMetrics.podLabels("web", "default", "5a4db0x"),
        List.of(new InterfaceStats("eth0", 1, 2, 3, 4, 5, 6, 7, 8)), 42));
    assertThat(metrics).extracting(Metric::getName).containsAll(byName.keySet());
    assertThat(metrics).allSatisfy(m -> assertThat(m.getLabelValuesCount()).as(m.getName())
        .isEqualTo(byName.get(m.getName()).getLabelKeysCount()));
    assertThat(metrics).filteredOn(m -> m.getName().endsWith("_total") || m.getName().equals("container_memory_failcnt"))
        .allSatisfy(m -> assertThat(m.getMetricType()).as(m.getName()).isEqualTo(MetricType.COUNTER));
    assertThat(metrics).filteredOn(m -> m.getName().endsWith("_bytes") && !m.getName().endsWith("_total"))
        .allSatisfy(m -> assertThat(m.getMetricType()).as(m.getName()).isEqualTo(MetricType.GAUGE));
  }

  @Test
  void container_cgroupV2_valuesFromTheKernelFiles() throws Exception {
    CgroupStatsTest.fakeV2(root);
    Map<String, Long> v = values(CadvisorMetrics.container(LABELS,
        new CgroupStats(root).readDetail("/kubepods/berth-abc").orElseThrow(), STARTED, 1_700_000_100L, 0));
    assertThat(v).containsEntry("container_cpu_usage_seconds_total", 7L) // 7.5 s: whole seconds, rounded down
        .containsEntry("container_cpu_user_seconds_total", 5L)
        .containsEntry("container_cpu_system_seconds_total", 2L)
        .containsEntry("container_cpu_cfs_periods_total", 40L)
        .containsEntry("container_cpu_cfs_throttled_periods_total", 3L)
        .containsEntry("container_cpu_cfs_throttled_seconds_total", 2L)
        .containsEntry("container_memory_usage_bytes", 104_857_600L)
        .containsEntry("container_memory_working_set_bytes", 104_857_600L - 20_971_520L)
        .containsEntry("container_memory_max_usage_bytes", 125_829_120L)
        .containsEntry("container_memory_rss", 52_428_800L)
        .containsEntry("container_memory_cache", 41_943_040L)
        .containsEntry("container_memory_kernel_usage", 1_048_576L)
        .containsEntry("container_memory_mapped_file", 8_388_608L)
        .containsEntry("container_memory_swap", 4096L)
        .containsEntry("container_memory_failcnt", 7L)
        .containsEntry("container_memory_total_inactive_file_bytes", 20_971_520L)
        .containsEntry("container_oom_events_total", 1L)
        .containsEntry("container_processes", 2L)
        .containsEntry("container_threads", 9L)
        .containsEntry("container_threads_max", 0L)
        .containsEntry("container_spec_cpu_period", 100_000L)
        .containsEntry("container_spec_memory_limit_bytes", 209_715_200L)
        .containsEntry("container_spec_memory_swap_limit_bytes", 0L)
        .containsEntry("container_start_time_seconds", 1_700_000_000L)
        .containsEntry("container_last_seen", 1_700_000_100L);
  }

  @Test
  void container_cgroupV1_valuesFromTheKernelFiles() throws Exception {
    CgroupStatsTest.fakeV1(root);
    List<Metric> metrics = CadvisorMetrics.container(LABELS,
        new CgroupStats(root).readDetail("/berth/berth-abc").orElseThrow(), STARTED, 1_700_000_100L, 0);
    Map<String, Long> v = values(metrics);
    assertThat(v).containsEntry("container_cpu_usage_seconds_total", 3L)
        .containsEntry("container_cpu_user_seconds_total", 3L)
        .containsEntry("container_cpu_system_seconds_total", 0L)
        .containsEntry("container_cpu_cfs_throttled_seconds_total", 1L)
        .containsEntry("container_memory_usage_bytes", 73_400_320L)
        .containsEntry("container_memory_working_set_bytes", 73_400_320L - 4_194_304L)
        .containsEntry("container_memory_rss", 67_108_864L)
        .containsEntry("container_memory_cache", 6_291_456L)
        .containsEntry("container_memory_swap", 8192L)
        .containsEntry("container_memory_failcnt", 3L)
        .containsEntry("container_oom_events_total", 4L)
        .containsEntry("container_threads_max", 1024L)
        .containsEntry("container_spec_cpu_shares", 1024L)
        .containsEntry("container_spec_memory_limit_bytes", 0L)
        .containsEntry("container_spec_memory_swap_limit_bytes", 268_435_456L);
    assertThat(metrics).filteredOn(m -> m.getName().equals("container_memory_failures_total"))
        .extracting(m -> m.getLabelValuesList().subList(5, 7) + "=" + m.getValue().getValue())
        .containsExactly("[pgfault, container]=77", "[pgmajfault, container]=1");
    assertThat(metrics).allSatisfy(m -> {
      assertThat(m.getTimestamp()).as("read live: timestamp 0 (api.proto)").isZero();
      assertThat(m.getLabelValuesList().subList(0, 5)).isEqualTo(LABELS);
    });
  }

  @Test
  void container_figureTheKernelLacks_isLeftOutNotZero() throws Exception {
    CgroupStatsTest.fakeV2(root);
    java.nio.file.Files.delete(root.resolve("kubepods/berth-abc/memory.peak"));
    Map<String, Long> v = values(CadvisorMetrics.container(LABELS,
        new CgroupStats(root).readDetail("/kubepods/berth-abc").orElseThrow(), 0, 1_700_000_100L, 0));
    assertThat(v).doesNotContainKeys("container_memory_max_usage_bytes", "container_start_time_seconds")
        .containsKey("container_memory_usage_bytes");
  }

  @Test
  void pod_interfaces_eightCountersPerInterfaceExceptLoWithInterfaceLabel() {
    List<Metric> metrics = CadvisorMetrics.pod(CadvisorMetrics.podLabels("web", "default", "5a4db0x"), List.of(
        new InterfaceStats("lo", 9, 9, 9, 9, 9, 9, 9, 9),
        new InterfaceStats("eth0", 1000, 10, 1, 2, 2000, 20, 3, 4),
        new InterfaceStats("net1", 5, 6, 7, 8, 9, 10, 11, 12)), 1_700_000_000_000_000_000L);
    assertThat(metrics).hasSize(16);
    assertThat(metrics).allSatisfy(m -> {
      assertThat(m.getMetricType()).isEqualTo(MetricType.COUNTER);
      assertThat(m.getTimestamp()).isEqualTo(1_700_000_000_000_000_000L);
      assertThat(m.getLabelValuesList().subList(0, 5)).containsExactly("web", "default", "", "5a4db0x", "");
    });
    Map<String, Long> eth0 = metrics.stream().filter(m -> m.getLabelValues(5).equals("eth0"))
        .collect(Collectors.toMap(Metric::getName, m -> m.getValue().getValue()));
    assertThat(eth0).containsExactlyInAnyOrderEntriesOf(Map.of(
        "container_network_receive_bytes_total", 1000L, "container_network_receive_packets_total", 10L,
        "container_network_receive_errors_total", 1L, "container_network_receive_packets_dropped_total", 2L,
        "container_network_transmit_bytes_total", 2000L, "container_network_transmit_packets_total", 20L,
        "container_network_transmit_errors_total", 3L, "container_network_transmit_packets_dropped_total", 4L));
  }

  private static Map<String, Long> values(List<Metric> metrics) {
    return metrics.stream().filter(m -> !m.getName().equals("container_memory_failures_total"))
        .collect(Collectors.toMap(Metric::getName, m -> m.getValue().getValue()));
  }
}
