package io.berth.daemon;

import io.berth.content.ContentStore;
import io.berth.cri.CriServices;
import io.berth.image.ImageConfig;
import io.berth.image.ImageService;
import io.berth.image.Platform;
import io.berth.linux.Syscalls;
import io.berth.metadata.MetadataStore;
import io.berth.network.NetworkConfig;
import io.berth.network.PodNetwork;
import io.berth.registry.Credentials;
import io.berth.registry.HostConfig;
import io.berth.registry.RegistryClient;
import io.berth.registry.RegistryConfig;
import io.berth.runtime.RuntimeConfig;
import io.berth.runtime.RuntimeHandler;
import io.berth.runtime.Runtimes;
import io.berth.snapshot.Snapshotter;
import io.berth.streaming.StreamingConfig;
import io.grpc.BindableService;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root (containerd's builtins.go): creates every component from the config, in dependency order,
 * in one readable place, and closes them in reverse.
 */
final class Components implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Components.class);

  private final MetadataStore metadata;
  private final CriServices cri;
  private final List<Path> pinDirs;
  final PrometheusRegistry metricsRegistry;

  private Components(MetadataStore metadata, CriServices cri, PrometheusRegistry metricsRegistry,
      List<Path> pinDirs) {
    this.metadata = metadata;
    this.cri = cri;
    this.pinDirs = pinDirs;
    this.metricsRegistry = metricsRegistry;
  }

  /** Children of the state dir that hold nothing a pod's root must reach: created 0700 by Berthd. */
  static final List<String> PRIVATE_STATE_DIRS = List.of("netns", "ns", "cni-cache", "runtime",
      "containers-runtime");

  static Components create(BerthdConfig c) throws IOException {
    Path root = Path.of(c.root());
    Path state = Path.of(c.state());
    MetadataStore metadata = MetadataStore.open(privateDir(root.resolve("metadata")).resolve("berth.db"));
    ContentStore content = ContentStore.open(root.resolve("content"));
    Snapshotter snapshotter = Snapshotter.overlay(root.resolve("snapshots"));
    RegistryClient registry = RegistryClient.create(registryConfig(c));
    ImageService images = ImageService.create(
        ImageConfig.defaults(privateDir(root.resolve("images")))
            .withMaxConcurrentDownloads(c.image().maxConcurrentDownloads())
            .withPlatform(Platform.parse(c.image().platform())),
        content, snapshotter, registry, metadata);
    PodNetwork network = PodNetwork.create(NetworkConfig.defaults(state)
        .withConfDirs(c.network().confDirs().stream().map(Path::of).toList())
        .withPluginDirs(c.network().pluginDirs().stream().map(Path::of).toList())
        .withNetworkName(c.network().networkName())
        .withPluginTimeout(Checks.parseDuration(c.network().pluginTimeout())));
    Map<String, RuntimeHandler> handlers = new LinkedHashMap<>();
    c.runtime().handlers().forEach((name, h) -> handlers.put(name, new RuntimeHandler(name, Path.of(h.binary()),
        state.resolve("runtime").resolve(name), h.args())));
    Runtimes runtimes = Runtimes.create(new RuntimeConfig(state.resolve("containers-runtime"),
        Path.of(c.runtime().conmon()), handlers, c.runtime().defaultHandler(), c.runtime().cgroupDriver(), null,
        c.runtime().primeCgroupAttach()));
    PrometheusRegistry metrics = new PrometheusRegistry();
    CriServices cri = CriServices.create(new CriServices.Dependencies(Berthd.VERSION, images, snapshotter, network,
        runtimes, handlers, c.runtime().cgroupDriver(), metadata,
        new StreamingConfig(c.streaming().address(), c.streaming().port(),
            Checks.parseDuration(c.streaming().tokenTtl()), null),
        root, state, Path.of(c.pod().catatonit()),
        "image".equals(c.pod().infra()) ? c.pod().pauseImage() : null, Checks.parseDuration(c.pod().stopTimeout()),
        c.runtime().spareRootfs(), c.runtime().startSlots(), metrics));
    return new Components(metadata, cri, metrics, List.of(state.resolve("netns"), state.resolve("ns")));
  }

  static RegistryConfig registryConfig(BerthdConfig c) {
    Map<String, HostConfig> hosts = new LinkedHashMap<>();
    c.registry().hosts().forEach((host, h) -> {
      Optional<Credentials> creds = h.username() == null ? Optional.empty()
          : Optional.of(Credentials.basic(h.username(), h.password() == null ? "" : h.password()));
      hosts.put(host, new HostConfig(host, h.mirrors(), Optional.ofNullable(h.server()), h.insecure(),
          h.ca().stream().map(Path::of).toList(), creds));
    });
    Path dockerConfig = Path.of(c.registry().dockerConfig());
    return new RegistryConfig(hosts, Files.exists(dockerConfig) ? Optional.of(dockerConfig) : Optional.empty(),
        Checks.parseDuration(c.image().stallTimeout()), c.registry().maxRetries(),
        Checks.parseDuration(c.registry().connectTimeout()));
  }

  /**
   * Namespace pin dirs are bind mounts of themselves (so pins propagate). With no pod left, take them down so a
   * stopped berthd leaves no mount; with pods, leave them: the pins inside hold the pods' namespaces.
   */
  private static void unmountIfEmpty(Path dir) {
    try (var entries = Files.list(dir)) {
      if (entries.findAny().isEmpty()) {
        Syscalls.umount2(dir.toString(), Syscalls.MNT_DETACH);
      }
    } catch (IOException | RuntimeException e) {
      log.debug("leaving {} mounted: {}", dir, e.toString());
    }
  }

  private static Path privateDir(Path dir) throws IOException {
    Berthd.createPrivateDir(dir);
    return dir;
  }

  List<BindableService> services() {
    return cri.services();
  }

  @Override
  public void close() {
    cri.close();
    pinDirs.forEach(Components::unmountIfEmpty);
    try {
      metadata.close();
    } catch (Exception e) {
      log.warn("closing metadata: {}", e.toString());
    }
  }
}
