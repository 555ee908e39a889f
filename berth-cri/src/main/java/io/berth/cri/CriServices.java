package io.berth.cri;

import io.berth.image.ImageService;
import io.berth.network.PodNetwork;
import io.grpc.BindableService;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.List;
import java.util.Set;

/** The gRPC services berthd serves on its socket: CRI v1 RuntimeService and ImageService, plus Berth's own. */
public final class CriServices implements AutoCloseable {
  private final List<BindableService> services;

  private CriServices(List<BindableService> services) {
    this.services = services;
  }

  /** What the CRI layer is built on. */
  public record Dependencies(String version, ImageService images, PodNetwork network, String defaultHandler,
      boolean systemdCgroups, PrometheusRegistry metricsRegistry) {}

  public static CriServices create(Dependencies d) {
    CriMetrics metrics = new CriMetrics(d.metricsRegistry());
    Rpc rpc = new Rpc(metrics);
    ImageHandlers imageHandlers = new ImageHandlers(d.images(), metrics);
    RuntimeInfo info = new RuntimeInfo(d.version(), d.network(), List::of, d.defaultHandler(), d.systemdCgroups(),
        () -> false);
    return new CriServices(List.of(
        new CriRuntimeService(rpc, info),
        new CriImageService(rpc, imageHandlers),
        new BerthImagesService(imageHandlers, d.images(), Set::of)));
  }

  public List<BindableService> services() {
    return services;
  }

  @Override
  public void close() {}
}
