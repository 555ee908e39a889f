package io.berth.cri;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.berth.core.BerthException;
import io.berth.core.KeyedLock;
import io.berth.cri.api.ContainerEventResponse;
import io.berth.cri.api.ContainerEventType;
import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.SandboxRecord;
import io.berth.image.ImageService;
import io.berth.linux.NamespacePins;
import io.berth.network.PodNetwork;
import io.berth.oci.SpecGenerator;
import io.berth.snapshot.Snapshotter;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the pod and container handlers share: the stores of sandboxes and containers (in memory, written
 * through to durable records), the per-id locks, the components below, and the event stream.
 */
final class RuntimeState {
  private static final Logger log = LoggerFactory.getLogger(RuntimeState.class);

  /**
   * Settings of the runtime side, from berthd's config. {@code pauseImage}: the image whose process is a pod's infra process, or null for catatonit (no image);
   * {@code spareRootfsImages}: how many images keep a container rootfs made ahead (see {@link RootfsSpares});
   * {@code startSlots}: the heavy steps of pod starts run at a time on a busy node (see {@link StartQueue}; 0: no
   * queue; negative: CPUs + 1).
   */
  record Settings(Path rootDir, Path stateDir, Path catatonit, String pauseImage, String defaultHandler,
      Duration podStopTimeout, int spareRootfsImages, int startSlots) {}

  final Settings settings;
  final IdIndex<Sandbox> sandboxes = new IdIndex<>("sandbox");
  final IdIndex<Container> containers = new IdIndex<>("container");
  final KeyedLock<String> locks = new KeyedLock<>();
  final Records records;
  final ImageService images;
  final Snapshotter snapshotter;
  final PodNetwork network;
  final OciRuntimes runtimes;
  final SpecGenerator specs = SpecGenerator.create();
  final ContainerEvents events = new ContainerEvents();
  final NamespacePins nsPins;
  final CriMetrics metrics;
  final UserNamespaceSupport userns;
  final RootfsSpares spares;
  final StartQueue startQueue;

  RuntimeState(Settings settings, Records records, ImageService images, Snapshotter snapshotter, PodNetwork network,
      OciRuntimes runtimes, CriMetrics metrics) {
    this.settings = settings;
    this.records = records;
    this.images = images;
    this.snapshotter = snapshotter;
    this.network = network;
    this.runtimes = runtimes;
    this.metrics = metrics;
    this.nsPins = new NamespacePins(settings.stateDir().resolve("ns"));
    this.userns = new UserNamespaceSupport(snapshotter, settings.stateDir());
    this.spares = RootfsSpares.open(snapshotter, settings.stateDir().resolve("spares"), settings.spareRootfsImages());
    this.startQueue = StartQueue.forNode(settings.startSlots(), metrics::startQueueAdmission);
    try {
      Dirs.ensureTraversable(settings.stateDir().resolve("sandboxes"));
      Dirs.ensureTraversable(settings.stateDir().resolve("containers"));
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot prepare the state dirs under %s", settings.stateDir());
    }
  }

  Path sandboxDir(String id) {
    return settings.stateDir().resolve("sandboxes").resolve(id);
  }

  Path containerDir(String id) {
    return settings.stateDir().resolve("containers").resolve(id);
  }

  void save(Sandbox s, SandboxRecord r) {
    records.put(r);
    s.set(r);
  }

  void save(Container c, ContainerRecord r) {
    records.put(r);
    c.set(r);
  }

  List<Container> containersOf(String sandboxId) {
    return containers.all().stream().filter(c -> c.sandboxId().equals(sandboxId)).toList();
  }

  void publish(Container c, ContainerEventType type, StatusViews views) {
    try {
      ContainerEventResponse.Builder e = ContainerEventResponse.newBuilder()
          .setContainerId(c.id())
          .setContainerEventType(type)
          .setCreatedAt(System.currentTimeMillis() * 1_000_000L);
      sandboxes.find(c.sandboxId()).ifPresent(s -> {
        e.setPodSandboxStatus(views.sandboxStatus(s));
        for (Container other : containersOf(s.id())) {
          e.addContainersStatuses(views.render(other));
        }
      });
      events.publish(e.build());
    } catch (RuntimeException ex) {
      log.warn("could not publish {} event for container {}: {}", type, c.id(), ex.toString());
    }
  }

  static String toJson(com.google.protobuf.MessageOrBuilder m) {
    try {
      return JsonFormat.printer().omittingInsignificantWhitespace().print(m);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }
}
