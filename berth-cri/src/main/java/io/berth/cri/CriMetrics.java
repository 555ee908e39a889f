package io.berth.cri;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * Metrics of the CRI surface: call latency by method and status, pull bytes and durations, and pod start-up broken
 * into phases. Registered in the given registry; the daemon decides whether anything exports it.
 */
public final class CriMetrics {
  private final Histogram calls;
  private final Histogram podStartPhases;
  private final Histogram pullSeconds;
  private final Counter pullBytes;
  private final Counter startQueueAdmissions;

  public CriMetrics(PrometheusRegistry registry) {
    calls = Histogram.builder()
        .name("berth_cri_call_seconds")
        .help("Latency of CRI calls by method and gRPC status code")
        .labelNames("method", "code")
        .register(registry);
    podStartPhases = Histogram.builder()
        .name("berth_pod_start_phase_seconds")
        .help("Pod start-up latency by phase: image, netns, cni, infra_start, container_create, container_start")
        .labelNames("phase")
        .register(registry);
    pullSeconds = Histogram.builder()
        .name("berth_image_pull_seconds")
        .help("Duration of image pulls")
        .register(registry);
    pullBytes = Counter.builder()
        .name("berth_image_pull_bytes")
        .help("Bytes of image content pulled from registries")
        .register(registry);
    startQueueAdmissions = Counter.builder()
        .name("berth_start_queue_steps")
        .help("Pod start steps let go by the start queue, by why: free_slot, idle_cpu or outside_load (the queue "
            + "stepped aside for other work)")
        .labelNames("why")
        .register(registry);
  }

  void observe(String method, String code, long nanos) {
    calls.labelValues(method, code).observe(nanos / 1e9);
  }

  void phase(String phase, long nanos) {
    podStartPhases.labelValues(phase).observe(nanos / 1e9);
  }

  /** A step the pod start queue let go: why, and its wait as the start_queue phase. */
  void startQueueAdmission(StartQueue.Admission how, long waitedNanos) {
    startQueueAdmissions.labelValues(how.label()).inc();
    phase("start_queue", waitedNanos);
  }

  void pull(long nanos, long bytes) {
    pullSeconds.observe(nanos / 1e9);
    pullBytes.inc(bytes);
  }
}
