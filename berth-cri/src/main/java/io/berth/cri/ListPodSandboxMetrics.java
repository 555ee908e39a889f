package io.berth.cri;

import io.berth.cri.api.ContainerMetrics;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ListMetricDescriptorsResponse;
import io.berth.cri.api.ListPodSandboxMetricsResponse;
import io.berth.cri.api.PodSandboxMetadata;
import io.berth.cri.api.PodSandboxMetrics;
import io.berth.cri.api.StreamPodSandboxMetricsResponse;
import io.berth.cri.api.ext.ContainerRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * ListMetricDescriptors, ListPodSandboxMetrics and StreamPodSandboxMetrics: the cAdvisor metrics of
 * {@link CadvisorMetrics} for every ready pod (its network) and its running containers (their cgroups), as
 * containerd's {@code list_pod_sandbox_metrics_linux.go} selects them. Figures are read when asked (a container's
 * cgroup files, and its pod's namespace counters through {@link PodNetworkCounters}); metrics therefore carry
 * timestamp 0, except network metrics taken from the counters' one-second cache, which carry the time they were
 * read, as api.proto asks ("Timestamp should be 0 if the metric was gathered live. If it was cached, the Timestamp
 * should reflect the time in nanoseconds it was collected").
 */
final class ListPodSandboxMetrics {
  /** Pods per StreamPodSandboxMetrics message; each pod is in exactly one message. */
  static final int STREAM_CHUNK = 32;

  private final RuntimeState st;
  private final Stats stats;
  private final CgroupStats cgroups;
  private final PodNetworkCounters network;

  ListPodSandboxMetrics(RuntimeState st, Stats stats, CgroupStats cgroups, PodNetworkCounters network) {
    this.st = st;
    this.stats = stats;
    this.cgroups = cgroups;
    this.network = network;
  }

  ListMetricDescriptorsResponse descriptors() {
    return ListMetricDescriptorsResponse.newBuilder().addAllDescriptors(CadvisorMetrics.descriptors()).build();
  }

  ListPodSandboxMetricsResponse list() {
    return ListPodSandboxMetricsResponse.newBuilder().addAllPodMetrics(collect()).build();
  }

  /** The same pods as {@link #list}, {@link #STREAM_CHUNK} per message. */
  void stream(Consumer<StreamPodSandboxMetricsResponse> out) {
    List<PodSandboxMetrics> all = collect();
    for (int i = 0; i < all.size(); i += STREAM_CHUNK) {
      out.accept(StreamPodSandboxMetricsResponse.newBuilder()
          .addAllPodSandboxMetrics(all.subList(i, Math.min(all.size(), i + STREAM_CHUNK))).build());
    }
  }

  private List<PodSandboxMetrics> collect() {
    List<Sandbox> ready = st.sandboxes.all().stream().filter(Sandbox::ready).toList();
    Map<String, PodNetworkCounters.Reading> net = network.read(ready);
    long nowSeconds = System.currentTimeMillis() / 1000;
    List<PodSandboxMetrics> out = new ArrayList<>();
    for (Sandbox s : ready) {
      PodSandboxMetadata meta = s.record().getConfig().getMetadata();
      PodSandboxMetrics.Builder pod = PodSandboxMetrics.newBuilder().setPodSandboxId(s.id());
      PodNetworkCounters.Reading r = net.get(s.id());
      if (r != null) {
        pod.addAllMetrics(CadvisorMetrics.pod(CadvisorMetrics.podLabels(meta.getName(), meta.getNamespace(), s.id()),
            r.interfaces(), r.live() ? 0 : r.timestamp()));
      }
      for (Container c : st.containersOf(s.id())) {
        ContainerRecord cr = c.record();
        if (cr.getState() != ContainerState.CONTAINER_RUNNING_VALUE) {
          continue;
        }
        // a container that stopped meanwhile has no cgroup left: skipped, as containerd skips a missing task
        cgroups.readDetail(stats.cgroupPath(c)).ifPresent(d -> pod.addContainerMetrics(ContainerMetrics.newBuilder()
            .setContainerId(c.id())
            .addAllMetrics(CadvisorMetrics.container(CadvisorMetrics.containerLabels(meta.getName(),
                meta.getNamespace(), cr.getConfig().getMetadata().getName(), c.id(), image(cr)), d,
                cr.getStartedAt(), nowSeconds, 0))));
      }
      out.add(pod.build());
    }
    return out;
  }

  /** The image as the user wrote it (containerd's label), else the name Berth resolved it to. */
  private static String image(ContainerRecord r) {
    String user = r.getConfig().getImage().getUserSpecifiedImage();
    if (!user.isEmpty()) {
      return user;
    }
    return r.getImageName().isEmpty() ? r.getConfig().getImage().getImage() : r.getImageName();
  }
}
