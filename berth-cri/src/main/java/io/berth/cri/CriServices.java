package io.berth.cri;

import io.berth.image.Image;
import io.berth.image.ImageService;
import io.berth.metadata.MetadataStore;
import io.berth.network.PodNetwork;
import io.berth.runtime.RuntimeHandler;
import io.berth.runtime.Runtimes;
import io.berth.snapshot.Snapshotter;
import io.berth.streaming.StreamingConfig;
import io.berth.streaming.StreamingServer;
import io.grpc.BindableService;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The gRPC services berthd serves on its socket: CRI v1 RuntimeService and ImageService, plus Berth's own image
 * and pod extensions. Creating it recovers the sandboxes and containers of an earlier run.
 */
public final class CriServices implements AutoCloseable {
  private final List<BindableService> services;
  private final StreamingServer streaming;
  private final RootfsSpares spares;

  private CriServices(RootfsSpares spares, List<BindableService> services, StreamingServer streaming) {
    this.spares = spares;
    this.services = services;
    this.streaming = streaming;
  }

  /** What the CRI layer is built on. */
  public record Dependencies(
      String version,
      ImageService images,
      Snapshotter snapshotter,
      PodNetwork network,
      Runtimes runtimes,
      Map<String, RuntimeHandler> handlers,
      String cgroupDriver,
      MetadataStore metadata,
      StreamingConfig streaming,
      Path rootDir,
      Path stateDir,
      Path catatonit,
      String pauseImage,
      Duration podStopTimeout,
      int spareRootfsImages,
      int startSlots,
      PrometheusRegistry metricsRegistry) {}

  public static CriServices create(Dependencies d) {
    CriMetrics metrics = new CriMetrics(d.metricsRegistry());
    Rpc rpc = new Rpc(metrics);
    OciRuntimes runtimes = new ConmonRuntimes(d.runtimes(), d.handlers(), d.cgroupDriver());
    RuntimeState.Settings settings = new RuntimeState.Settings(d.rootDir(), d.stateDir(), d.catatonit(),
        d.pauseImage(), d.runtimes().defaultHandler(), d.podStopTimeout(), d.spareRootfsImages(), d.startSlots());
    RuntimeState st = new RuntimeState(settings, new MetadataRecords(d.metadata()), d.images(), d.snapshotter(),
        d.network(), runtimes, metrics);
    StatusViews views = new StatusViews(st);
    Recovery.recover(st, views);
    // Image GC must keep the layers that containers' rootfs snapshots stand on.
    d.images().setLayersInUse(() -> st.containers.all().stream()
        .flatMap(c -> d.images().find(c.record().getImageId()).stream())
        .flatMap(i -> i.chainIds().stream())
        .collect(Collectors.toSet()));
    // Spare rootfs snapshots hold layers too: those of images that are gone go before each collection.
    d.images().setBeforeCollect(() -> st.spares.retainOnly(d.images().list().stream()
        .map(Image::chainIds).collect(Collectors.toSet())));
    Streams[] backend = new Streams[1];
    StreamingServer streaming = StreamingServer.start(d.streaming(), new DelegatingBackend(() -> backend[0]));
    // A handler claims user namespaces only where they really work: see UserNamespaceSupport.
    Supplier<List<RuntimeInfo.HandlerInfo>> handlerInfos = () -> runtimes.handlers().stream()
        .map(h -> h.usable() ? h.withUserNamespaces(st.userns.supports(runtimes.handler(h.name()))) : h)
        .toList();
    RuntimeInfo info = new RuntimeInfo(d.version(), d.network(), handlerInfos, d.runtimes().defaultHandler(),
        // SpecGenerator applies the Merge and Strict policies itself; status reports the resulting identity
        "systemd".equals(d.cgroupDriver()), () -> true, d.rootDir(), d.stateDir(), st.userns::problem,
        st.startQueue::state);
    PodRuntimeService runtimeService = new PodRuntimeService(rpc, info, st, streaming, d.cgroupDriver());
    backend[0] = runtimeService.streams();
    ImageHandlers imageHandlers = new ImageHandlers(d.images(), metrics);
    return new CriServices(st.spares, List.of(
        runtimeService,
        new CriImageService(rpc, imageHandlers),
        new BerthImagesService(imageHandlers, d.images(), () -> st.containers.all().stream()
            .map(c -> c.record().getImageId()).collect(Collectors.toSet())),
        new BerthPodsService(st)), streaming);
  }

  public List<BindableService> services() {
    return services;
  }

  @Override
  public void close() {
    streaming.close();
    spares.close();
  }
}
