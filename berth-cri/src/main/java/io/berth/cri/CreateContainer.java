package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.core.Undo;
import io.berth.cri.api.ContainerConfig;
import io.berth.cri.api.ContainerEventType;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.CreateContainerRequest;
import io.berth.cri.api.CreateContainerResponse;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.Signal;
import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.Phase;
import io.berth.cri.api.ext.SandboxRecord;
import io.berth.image.Image;
import io.berth.linux.IdmappedMounts;
import io.berth.linux.LinuxException;
import io.berth.linux.Syscalls;
import io.berth.oci.ContainerRequest;
import io.berth.oci.ImageConfigView;
import io.berth.oci.PodUserNamespace;
import io.berth.oci.RuntimeSpec;
import io.berth.oci.SandboxInfo;
import io.berth.oci.UserFiles;
import io.berth.snapshot.Snapshotter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CreateContainer: reserve the name, prepare and mount the rootfs snapshot over the image's layers, write the OCI
 * spec, create the container under its monitor, record. A failure at any step undoes the earlier ones.
 */
final class CreateContainer {
  private static final Logger log = LoggerFactory.getLogger(CreateContainer.class);

  /** Most images a node runs stay far below this; past it the kept user files start over. */
  private static final int MAX_KEPT_USER_FILES = 512;

  private final RuntimeState st;
  private final StatusViews views;
  /** Each image's /etc/passwd and /etc/group, by image id (a digest: its files never change). */
  private final Map<String, UserFiles> userFiles = new ConcurrentHashMap<>();

  CreateContainer(RuntimeState st, StatusViews views) {
    this.st = st;
    this.views = views;
  }

  CreateContainerResponse create(CreateContainerRequest req) {
    ContainerConfig config = req.getConfig();
    if (config.getMetadata().getName().isEmpty()) {
      throw BerthException.invalidArgument("container metadata needs a name");
    }
    if (config.getImage().getImage().isEmpty()) {
      throw BerthException.invalidArgument("container %s has no image", config.getMetadata().getName());
    }
    Sandbox sandbox = st.sandboxes.get(req.getPodSandboxId());
    if (!sandbox.ready()) {
      throw BerthException.failedPrecondition("sandbox %s is not ready", sandbox.id());
    }
    SandboxRecord pod = sandbox.record();
    PodSandboxConfig podConfig = pod.getConfig();
    Image image = st.images.find(config.getImage().getImage()).orElseThrow(() ->
        BerthException.notFound("image %s not found: pull it first", config.getImage().getImage()));
    OciRuntimes.Handler handler = st.runtimes.handler(pod.getRuntimeHandler());
    Optional<PodUserNamespace> userns = PodUserNamespace.of(
        podConfig.getLinux().getSecurityContext().getNamespaceOptions());
    PodUserNamespace.checkContainer(podConfig.getLinux().getSecurityContext().getNamespaceOptions(),
        config.getLinux().getSecurityContext().getNamespaceOptions());
    String name = Container.reservationName(config.getMetadata(), podConfig.getMetadata());
    long start = System.nanoTime();
    // A rootfs made ahead for this image, when one is ready (not for idmapped ones): its id becomes the container's.
    Optional<RootfsSpares.Spare> spare = userns.isEmpty() ? st.spares.take(image.chainIds()) : Optional.empty();
    String id = spare.map(RootfsSpares.Spare::id).orElseGet(Ids::newId);

    try {
      st.containers.reserveName(name, id);
    } catch (RuntimeException e) {
      spare.ifPresent(st.spares::discard);
      throw e;
    }
    try (var held = st.locks.lock(id); Undo undo = new Undo()) {
      undo.push("release container name", () -> st.containers.releaseName(name, id));
      spare.ifPresent(s -> undo.push("discard the spare rootfs", () -> st.spares.discard(s)));
      // Recorded before anything exists; all of it (dir, snapshot, monitor, runtime state) is named after the id, so
      // after a crash Recovery forgets this record and sweeps what it left.
      st.records.put(ContainerRecord.newBuilder().setId(id).setSandboxId(sandbox.id()).setConfig(config)
          .setRuntimeHandler(pod.getRuntimeHandler()).setCreating(true).build());
      undo.push("delete container record", () -> st.records.deleteContainer(id));
      PausePoint.reach("createcontainer.after-record");
      Path dir = st.containerDir(id);
      Path bundle = dir.resolve("bundle");
      Path rootfs = bundle.resolve("rootfs");
      boolean madeAhead = spare.isPresent() && st.spares.moveInto(spare.get(), dir);
      if (!madeAhead) {
        Files.createDirectories(dir);
      }
      undo.push("remove container dir", () -> Dirs.deleteRecursively(dir));
      CompletableFuture<Void> rootfsMade = madeAhead ? CompletableFuture.completedFuture(null)
          : makeRootfs(id, dir, rootfs, image, userns, pod);
      undo.push("unmount rootfs and remove snapshot", () -> removeRootfsOnceDone(rootfsMade, id, rootfs));

      Path logPath = logPath(podConfig, config);
      if (logPath != null) {
        Files.createDirectories(logPath.getParent());
      }
      int infraPid = pod.getInfraLess() ? 0 : handler.state(sandbox.id()).pid();
      Path sandboxDir = Path.of(pod.getStateDir());
      SandboxInfo info = new SandboxInfo(sandbox.id(), podConfig, infraPid,
          pod.getNetnsPath().isEmpty() ? null : Path.of(pod.getNetnsPath()), sandboxDir.resolve("hostname"),
          sandboxDir.resolve("hosts"), sandboxDir.resolve("resolv.conf"),
          pod.getShmPath().isEmpty() ? null : Path.of(pod.getShmPath()),
          pod.getIpcPath().isEmpty() ? null : Path.of(pod.getIpcPath()),
          pod.getUtsPath().isEmpty() ? null : Path.of(pod.getUtsPath()),
          pod.getUsernsPath().isEmpty() ? null : Path.of(pod.getUsernsPath()));
      Map<String, Path> idmapped = stageMounts(config, userns, dir,
          pod.getUsernsPath().isEmpty() ? null : Path.of(pod.getUsernsPath()),
          !handler.options().recursiveReadOnlyMounts(), undo);
      int targetPid = targetPid(config);
      ImageConfigView view = new ImageConfigView(image.user().orElse(""), image.env(), image.entrypoint(),
          image.cmd(), image.workingDir().orElse(""), image.volumes(), image.stopSignal().orElse(""),
          image.labels());
      String imageName = image.repoTags().isEmpty() ? image.id().toString() : image.repoTags().getFirst();
      String imageId = image.id().toString();
      UserFiles files = userFiles.get(imageId);
      RuntimeSpec spec = null;
      if (files != null) {
        spec = st.specs.containerSpec(new ContainerRequest(id, config, info, view, imageName, rootfs,
            handler.options(), targetPid, idmapped, files));
        spec.writeTo(bundle);
      }
      Beside.join(rootfsMade, "make the rootfs of %s", id);
      PausePoint.reach("createcontainer.after-rootfs");
      if (spec == null) {
        files = UserFiles.read(rootfs);
        keepUserFiles(imageId, files);
        spec = st.specs.containerSpec(new ContainerRequest(id, config, info, view, imageName, rootfs,
            handler.options(), targetPid, idmapped, files));
        spec.writeTo(bundle);
      }
      long prepared = System.nanoTime();
      long queued;
      try (var slot = st.startQueue.enter(pod.getCreatedAt())) {
        queued = slot.waitedNanos();
        handler.create(id, bundle, logPath == null ? dir.resolve("container.log") : logPath, config.getTty(),
            config.getStdin(), config.getStdinOnce());
      }
      undo.push("delete from runtime", () -> handler.delete(id));
      long runtimeDone = System.nanoTime();
      // The runtime has bound them into the container's own mount namespace: the staging mounts can go now.
      unmountStaged(dir);
      PausePoint.reach("createcontainer.after-runtime-create");

      String stopSignal = config.getStopSignal() != Signal.RUNTIME_DEFAULT ? Signals.name(config.getStopSignal())
          : image.stopSignal().orElse("SIGTERM");
      ContainerRecord.Builder made = ContainerRecord.newBuilder()
          .setId(id)
          .setSandboxId(sandbox.id())
          .setConfig(config)
          .setImageId(image.id().toString())
          .setImageName(imageName)
          .setImageRef(image.repoDigests().isEmpty() ? image.id().toString() : image.repoDigests().getFirst())
          .setCreatedAt(System.currentTimeMillis() * 1_000_000L)
          .setState(ContainerState.CONTAINER_CREATED_VALUE)
          .setLogPath(logPath == null ? "" : logPath.toString())
          .setBundle(bundle.toString())
          .setRuntimeHandler(pod.getRuntimeHandler())
          .setStopSignal(stopSignal);
      if (st.startQueue.on()) {
        made.addTimings(Phase.newBuilder().setName("start_queue").setContainerId(id).setNanos(queued));
      }
      // Phases add up to the pod's time: this one without the wait.
      ContainerRecord record = made.addTimings(Phase.newBuilder().setName("container_create").setContainerId(id)
          .setNanos(System.nanoTime() - start - queued)).build();
      Container container = new Container(record);
      container.user(StatusViews.user(spec.process().user())); // as written, not read back from the bundle
      st.save(container, record);
      st.containers.put(id, container);
      undo.commit();
      if (userns.isEmpty()) {
        st.spares.replenish(image.chainIds()); // for the next container of this image
      }
      st.metrics.phase("container_create", System.nanoTime() - start - queued);
      st.publish(container, ContainerEventType.CONTAINER_CREATED_EVENT, views);
      long end = System.nanoTime();
      log.info("container {} ({}) created in sandbox {} in {} ms (rootfs{} and spec {}, {} create {}, record {})", id,
          name, sandbox.id(), millis(end - start), madeAhead ? " made ahead" : "", millis(prepared - start),
          handler.name(), millis(runtimeDone - prepared), millis(end - runtimeDone));
      return CreateContainerResponse.newBuilder().setContainerId(id).build();
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot create container %s", name);
    }
  }

  private void keepUserFiles(String imageId, UserFiles files) {
    if (userFiles.size() >= MAX_KEPT_USER_FILES) {
      userFiles.clear();
    }
    userFiles.put(imageId, files);
  }

  /**
   * Starts making the rootfs (snapshot and overlay mount: most of this call's own time where new inodes are slow)
   * beside the rest of the spec. The spec needs the rootfs only for the image's user files, kept by image id after
   * its first container, so from then on it is written before the mount is done.
   */
  private CompletableFuture<Void> makeRootfs(String id, Path dir, Path rootfs, Image image,
      Optional<PodUserNamespace> userns, SandboxRecord pod) throws IOException {
    Dirs.restrict(dir, userns.map(PodUserNamespace::rootGid).orElse(0L));
    Files.createDirectories(rootfs);
    return Beside.start("rootfs-" + id, () -> {
      st.snapshotter.prepare(id, image.chainIds());
      if (userns.isPresent()) {
        // The image's files show with the pod's ids (root's as its root's), and its root can write its layer.
        st.snapshotter.mount(id, rootfs, new Snapshotter.Idmap(Path.of(pod.getUsernsPath()),
            userns.get().rootUid(), userns.get().rootGid()));
      } else {
        st.snapshotter.mount(id, rootfs);
      }
      return null;
    });
  }

  /** Undo of the rootfs: once its making finished, however it ended, unmounts it and removes the snapshot. */
  private void removeRootfsOnceDone(CompletableFuture<Void> rootfsMade, String id, Path rootfs) {
    Beside.settled(rootfsMade); // what a failed making left goes too: unmount and remove accept what is not there
    st.snapshotter.unmount(rootfs);
    st.snapshotter.remove(id);
  }

  private static String millis(long nanos) {
    return String.format("%.1f", nanos / 1e6);
  }

  /**
   * Bind mounts berthd makes itself under {@code <container dir>/idmapped/N}, for the runtime to bind like any
   * source: idmapped ones for CRI mounts that carry uid/gid mappings (the kubelet sets the pod's own on its volumes;
   * runc 1.1 cannot make them) and, when {@code stageRecursiveReadOnly} (the runtime has no {@code rro}), recursively
   * read-only ones.
   */
  private static Map<String, Path> stageMounts(ContainerConfig config, Optional<PodUserNamespace> userns,
      Path dir, Path usernsPin, boolean stageRecursiveReadOnly, Undo undo) throws IOException {
    Map<String, Path> staged = new HashMap<>();
    for (io.berth.cri.api.Mount m : config.getMountsList()) {
      boolean idmap = PodUserNamespace.idmapped(userns, m);
      boolean rro = stageRecursiveReadOnly && m.getReadonly() && m.getRecursiveReadOnly()
          && m.getPropagation() == io.berth.cri.api.MountPropagation.PROPAGATION_PRIVATE;
      if (!idmap && !rro) {
        continue;
      }
      Path source = Path.of(m.getHostPath());
      if (!source.isAbsolute() || !Files.exists(source)) {
        throw BerthException.invalidArgument("mount source %s does not exist", source);
      }
      Path target = Files.createDirectories(dir.resolve(IDMAPPED)).resolve(Integer.toString(staged.size()));
      if (Files.isDirectory(source)) {
        Files.createDirectory(target);
      } else {
        Files.createFile(target);
      }
      IdmappedMounts.bind(source.toRealPath(), target, idmap ? usernsPin : null, rro);
      undo.push("unmount staged " + target, () -> unmountQuietly(target));
      staged.put(m.getContainerPath(), target);
    }
    return staged;
  }

  static final String IDMAPPED = "idmapped";

  /** Unmounts what {@link #stageMounts} left under a container dir; idempotent (also after a crash). */
  static void unmountStaged(Path containerDir) throws IOException {
    Path staging = containerDir.resolve(IDMAPPED);
    if (!Files.isDirectory(staging)) {
      return;
    }
    try (var entries = Files.newDirectoryStream(staging)) {
      for (Path p : entries) {
        unmountQuietly(p);
      }
    }
  }

  private static void unmountQuietly(Path p) {
    try {
      Syscalls.umount2(p.toString(), Syscalls.MNT_DETACH);
    } catch (LinuxException e) {
      if (e.errno() != LinuxException.EINVAL && e.errno() != LinuxException.ENOENT) {
        throw e;
      }
    }
  }

  /** The kubelet's log path: the pod's log directory joined with the container's relative path. */
  static Path logPath(PodSandboxConfig pod, ContainerConfig c) {
    if (c.getLogPath().isEmpty()) {
      return null;
    }
    Path rel = Path.of(c.getLogPath());
    Path base = pod.getLogDirectory().isEmpty() ? null : Path.of(pod.getLogDirectory());
    Path p = base == null ? rel : base.resolve(rel);
    if (!p.isAbsolute() || !p.normalize().equals(p)) {
      throw BerthException.invalidArgument("log path %s must be absolute and clean", p);
    }
    return p;
  }

  private int targetPid(ContainerConfig config) {
    var nsOpts = config.getLinux().getSecurityContext().getNamespaceOptions();
    if (nsOpts.getPid() != NamespaceMode.TARGET) {
      return 0;
    }
    Container target = st.containers.get(nsOpts.getTargetId());
    OciRuntimes.State s = st.runtimes.handler(target.record().getRuntimeHandler()).state(target.id());
    if (s.status() != OciRuntimes.State.Status.RUNNING) {
      throw BerthException.failedPrecondition("target container %s is not running", target.id());
    }
    return s.pid();
  }
}
