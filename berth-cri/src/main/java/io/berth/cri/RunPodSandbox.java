package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.core.Undo;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.NamespaceOption;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxMetadata;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.RunPodSandboxRequest;
import io.berth.cri.api.RunPodSandboxResponse;
import io.berth.cri.api.ext.Phase;
import io.berth.cri.api.ext.SandboxRecord;
import io.berth.linux.NamespaceHolder;
import io.berth.linux.NamespacePins;
import io.berth.linux.Syscalls;
import io.berth.network.PodNetwork;
import io.berth.network.PodNetwork.NetNs;
import io.berth.oci.InfraRequest;
import io.berth.oci.PodUserNamespace;
import io.berth.oci.SandboxInfo;
import io.berth.oci.SpecGenerator;
import io.berth.snapshot.Snapshotter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RunPodSandbox, read top to bottom as the pod start walk: reserve the name, write the pod's files, create and
 * wire the network namespace, start the infra process, record. Every step pushes its undo, so a failure at any
 * point leaves nothing behind (no netns, CNI allocation, mount, monitor or directory).
 */
final class RunPodSandbox {
  private static final Logger log = LoggerFactory.getLogger(RunPodSandbox.class);

  private final RuntimeState st;

  RunPodSandbox(RuntimeState st) {
    this.st = st;
  }

  RunPodSandboxResponse run(RunPodSandboxRequest req) {
    PodSandboxConfig config = req.getConfig();
    PodSandboxMetadata meta = config.getMetadata();
    if (meta.getName().isEmpty() || meta.getNamespace().isEmpty() || meta.getUid().isEmpty()) {
      throw BerthException.invalidArgument("sandbox metadata needs name, namespace and uid, got %s",
          RuntimeState.toJson(meta));
    }
    String handlerName = req.getRuntimeHandler().isEmpty() ? st.settings.defaultHandler() : req.getRuntimeHandler();
    OciRuntimes.Handler handler = st.runtimes.handler(handlerName);
    String id = Ids.newId();
    String name = Sandbox.reservationName(meta);
    NamespaceOption ns = config.getLinux().getSecurityContext().getNamespaceOptions();
    boolean hostNetwork = ns.getNetwork() == NamespaceMode.NODE;
    // Checked before anything is reserved or created: a refused pod leaves nothing behind.
    Optional<PodUserNamespace> userns = PodUserNamespace.of(ns);
    if (userns.isPresent()) {
      st.userns.require(handler);
    }
    long rootGid = userns.map(PodUserNamespace::rootGid).orElse(0L);
    List<Phase> phases = new ArrayList<>();
    long start = System.nanoTime();
    // When the pod arrived (ns since the epoch, to the microsecond): its created_at, and the place of all its start
    // steps in the StartQueue, so it must tell apart pods that come within a millisecond of each other.
    Instant arrival = Instant.now();
    long createdAt = arrival.getEpochSecond() * 1_000_000_000L + arrival.getNano();

    st.sandboxes.reserveName(name, id);
    boolean[] kept = {false};
    try (var held = st.locks.lock(id); Undo undo = new Undo()) {
      undo.push("release sandbox name", () -> {
        if (!kept[0]) {
          st.sandboxes.releaseName(name, id);
        }
      });
      Path dir = st.sandboxDir(id);
      // Recorded before anything outside berthd exists. Everything made below is named after the id, so after a
      // crash this record is all Recovery needs to release it.
      SandboxRecord creating = SandboxRecord.newBuilder().setId(id).setConfig(config).setRuntimeHandler(handlerName)
          .setCreatedAt(createdAt).setState(PodSandboxState.SANDBOX_NOTREADY_VALUE)
          .setStateDir(dir.toString()).setInfraLess(true).setCreating(true).build();
      st.records.put(creating);
      // What exists so far, should a failure's undo not release all of it (see keepIfUndoFailed).
      SandboxRecord.Builder made = creating.toBuilder();
      undo.push("delete sandbox record", () -> kept[0] = keepIfUndoFailed(undo, made, hostNetwork, name));
      PausePoint.reach("runpod.after-record");
      // The network namespace needs none of the pod's files: it is made while they are written.
      CompletableFuture<NetNs> netnsCreation = null;
      if (userns.isEmpty() && !hostNetwork) {
        netnsCreation = Beside.start("netns-" + id, () -> st.network.createNetns(id));
        CompletableFuture<NetNs> creation = netnsCreation;
        undo.push("remove netns", () -> removeNetnsOnceDone(creation, made));
      }
      Files.createDirectories(dir);
      undo.push("remove sandbox dir", () -> Dirs.deleteRecursively(dir));
      Dirs.restrict(dir, rootGid);
      SandboxFiles.Paths files = SandboxFiles.write(dir, config, hostNetwork);
      if (userns.isPresent()) {
        // Shown as root's files inside the pod, as they are outside it.
        for (Path f : List.of(files.hostname(), files.hosts(), files.resolvConf())) {
          Syscalls.lchown(f.toString(), (int) userns.get().rootUid(), (int) rootGid);
        }
      }

      Path shm = null;
      if (ns.getIpc() != NamespaceMode.NODE) {
        shm = Files.createDirectories(dir.resolve("shm"));
        Syscalls.mount("shm", shm.toString(), "tmpfs", Syscalls.MS_NOSUID | Syscalls.MS_NODEV | Syscalls.MS_NOEXEC,
            "mode=1777,size=65536k");
        Path shmPath = shm;
        made.setShmPath(shm.toString());
        undo.push("unmount shm", () -> Syscalls.umount2(shmPath.toString(), Syscalls.MNT_DETACH));
      }

      long t = System.nanoTime();
      Optional<NetNs> netns = Optional.empty();
      NamespacePins.Pins pins = new NamespacePins.Pins(null, null);
      if (userns.isPresent()) {
        // The pod's user namespace, and its network, IPC and UTS namespaces owned by it (see NamespaceHolder).
        PodUserNamespace u = userns.get();
        String hostname = Files.readString(files.hostname()).trim();
        try (NamespaceHolder holder = NamespaceHolder.start(
            new NamespaceHolder.IdMap(0, u.uids().hostId(), u.uids().length()),
            new NamespaceHolder.IdMap(0, u.gids().hostId(), u.gids().length()),
            EnumSet.of(NamespaceHolder.Kind.NET, NamespaceHolder.Kind.IPC, NamespaceHolder.Kind.UTS))) {
          NetNs adopted = st.network.adoptNetns(id, holder.nsFile(NamespaceHolder.Kind.NET));
          netns = Optional.of(adopted);
          made.setNetnsPath(adopted.path().toString());
          undo.push("remove netns", () -> st.network.removeNetns(adopted));
          pins = st.nsPins.pin(id, holder, hostname);
          NamespacePins.Pins pinned = pins;
          madePins(made, pinned);
          undo.push("unpin namespaces", () -> NamespacePins.unpin(pinned));
        }
        t = phase(phases, "userns", t);
      } else if (!hostNetwork) {
        NetNs created = Beside.join(netnsCreation, "create the network namespace of %s", id);
        netns = Optional.of(created);
        made.setNetnsPath(created.path().toString());
      }
      t = phase(phases, "netns", t);
      PausePoint.reach("runpod.after-netns");

      // Like CRI-O without an infra container: when containers only share the network, IPC and UTS namespaces,
      // pinned files hold them and the pod needs no process of its own. A shared PID namespace, pod sysctls or a
      // sandboxed runtime still get a catatonit infra process.
      boolean infraLess = !handler.needsInfra() && ns.getPid() != NamespaceMode.POD
          && config.getLinux().getSysctlsCount() == 0;
      // The IPC and UTS namespaces are pinned while the CNI plugins run: neither needs the other, and CNI is most
      // of a pod's start.
      CompletableFuture<NamespacePins.Pins> pinning = null;
      if (infraLess && userns.isEmpty()) {
        String hostname = Files.readString(files.hostname()).trim();
        boolean pinIpc = ns.getIpc() != NamespaceMode.NODE;
        pinning = Beside.start("ns-pins-" + id, () -> st.nsPins.pin(id, pinIpc, !hostNetwork, hostname));
        CompletableFuture<NamespacePins.Pins> pinned = pinning;
        undo.push("unpin namespaces", () -> unpinOnceDone(pinned, made));
      }

      PodNetwork.PodNetworkStatus net = null;
      if (!hostNetwork) {
        PodNetwork.PodNetworkRequest netReq = networkRequest(id, config, netns);
        try (var slot = st.startQueue.enter(createdAt)) {
          t = queued(phases, slot, t);
          net = st.network.setUp(netReq);
        }
        undo.push("CNI DEL", () -> st.network.tearDown(netReq));
      }
      t = phase(phases, "cni", t);
      PausePoint.reach("runpod.after-cni");

      String infraRootfs = "";
      if (infraLess && userns.isPresent()) {
        t = phase(phases, "namespaces", t); // pinned with the user namespace above
      } else if (infraLess) {
        pins = Beside.join(pinning, "pin namespaces of %s", id);
        madePins(made, pins);
        t = phase(phases, "namespaces", t); // only what was left after CNI
      } else {
        Path bundle = Files.createDirectories(dir.resolve("bundle"));
        SandboxInfo info = new SandboxInfo(id, config, 0, netns.map(NetNs::path).orElse(null), files.hostname(),
            files.hosts(), files.resolvConf(), shm, pins.ipc(), pins.uts(), pins.user());
        InfraRequest infra;
        if (st.settings.pauseImage() == null) {
          Path rootfs = st.settings.stateDir().resolve("infra-rootfs");
          SpecGenerator.prepareInfraRootfs(rootfs);
          infra = InfraRequest.catatonit(info, rootfs, st.settings.catatonit(), handler.options());
        } else {
          Path usernsPin = pins.user();
          Optional<Snapshotter.Idmap> idmap = userns.map(u -> new Snapshotter.Idmap(usernsPin, u.rootUid(),
              u.rootGid()));
          infra = PauseImage.prepare(st, st.settings.pauseImage(), id, bundle, info, handler.options(), idmap, undo);
          infraRootfs = infra.rootfs().toString();
        }
        st.specs.infraSpec(infra).writeTo(bundle);
        try (var slot = st.startQueue.enter(createdAt)) {
          t = queued(phases, slot, t);
          handler.create(id, bundle, dir.resolve("infra.log"), false, false, false);
          made.setInfraLess(false).setInfraRootfs(infraRootfs);
          undo.push("delete infra", () -> {
            handler.delete(id);
            made.setInfraLess(true);
          });
          handler.start(id);
        }
        t = phase(phases, "infra_start", t);
      }

      PausePoint.reach("runpod.after-infra");

      SandboxRecord.Builder record = SandboxRecord.newBuilder()
          .setId(id)
          .setConfig(config)
          .setRuntimeHandler(handlerName)
          .setCreatedAt(createdAt)
          .setState(PodSandboxState.SANDBOX_READY_VALUE)
          .setNetnsPath(netns.map(n -> n.path().toString()).orElse(""))
          .setCgroupParent(config.getLinux().getCgroupParent())
          .setStateDir(dir.toString())
          .setShmPath(shm == null ? "" : shm.toString())
          .setInfraLess(infraLess)
          .setInfraRootfs(infraRootfs)
          .setIpcPath(pins.ipc() == null ? "" : pins.ipc().toString())
          .setUtsPath(pins.uts() == null ? "" : pins.uts().toString())
          .setUsernsPath(pins.user() == null ? "" : pins.user().toString())
          .addAllTimings(phases);
      if (net != null) {
        record.setIp(net.ip()).addAllAdditionalIps(net.additionalIps());
      }
      Sandbox sandbox = new Sandbox(record.build());
      st.save(sandbox, sandbox.record());
      st.sandboxes.put(id, sandbox);
      undo.commit();
      log.info("sandbox {} ({}) ready in {} ms on {}{}{}", id, name, (System.nanoTime() - start) / 1_000_000,
          handlerName, net == null ? " with the host network" : " at " + net.ip(),
          userns.map(u -> " in its own user namespace (root is host uid " + u.rootUid() + ")").orElse(""));
      return RunPodSandboxResponse.newBuilder().setPodSandboxId(id).build();
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot create sandbox %s", name);
    }
  }

  /**
   * The last undo step of a failed start: normally the record goes. When an earlier undo step failed (or CNI left
   * attachments that its rollback could not DEL), the pod is kept NOT_READY with its name and with what was made,
   * as containerd keeps such a sandbox: the kubelet's StopPodSandbox and RemovePodSandbox then release the rest,
   * instead of it waiting for the next start's sweep. Returns whether the pod was kept.
   */
  private boolean keepIfUndoFailed(Undo undo, SandboxRecord.Builder made, boolean hostNetwork, String name) {
    String id = made.getId();
    boolean cniLeft = !hostNetwork && st.network.hasAttachments(id);
    if (!undo.failed() && !cniLeft) {
      st.records.deleteSandbox(id);
      return false;
    }
    SandboxRecord left = made.setCreating(false).setState(PodSandboxState.SANDBOX_NOTREADY_VALUE).build();
    st.records.put(left);
    st.sandboxes.put(id, new Sandbox(left));
    log.warn("sandbox {} ({}): its start failed and could not be fully undone{}; kept NOT_READY so that "
        + "StopPodSandbox and RemovePodSandbox release the rest", id, name, cniLeft ? " (CNI DEL failed)" : "");
    return true;
  }

  /** Undo of the netns creation: waits for it, then removes what it made (a failed creation left nothing). */
  private void removeNetnsOnceDone(CompletableFuture<NetNs> creation, SandboxRecord.Builder made) {
    Beside.settled(creation).ifPresent(created -> {
      made.setNetnsPath(created.path().toString()); // kept in the record should the removal below fail
      st.network.removeNetns(created);
    });
  }

  /** Undo of the pinning: waits for it, then removes what it pinned (a failed pin left nothing). */
  private static void unpinOnceDone(CompletableFuture<NamespacePins.Pins> pinning, SandboxRecord.Builder made) {
    Beside.settled(pinning).ifPresent(pins -> {
      madePins(made, pins); // kept in the record should the unpin below fail
      NamespacePins.unpin(pins);
    });
  }

  private static void madePins(SandboxRecord.Builder made, NamespacePins.Pins pins) {
    if (pins.ipc() != null) {
      made.setIpcPath(pins.ipc().toString());
    }
    if (pins.uts() != null) {
      made.setUtsPath(pins.uts().toString());
    }
    if (pins.user() != null) {
      made.setUsernsPath(pins.user().toString());
    }
  }

  /** The wait for a StartQueue slot as a phase of its own (with the queue on), so the next phase leaves it out. */
  private long queued(List<Phase> phases, StartQueue.Slot slot, long since) {
    if (!st.startQueue.on()) {
      return since;
    }
    phases.add(Phase.newBuilder().setName("start_queue").setNanos(slot.waitedNanos()).build());
    return since + slot.waitedNanos();
  }

  private long phase(List<Phase> phases, String name, long since) {
    long now = System.nanoTime();
    phases.add(Phase.newBuilder().setName(name).setNanos(now - since).build());
    st.metrics.phase(name, now - since);
    return now;
  }

  static PodNetwork.PodNetworkRequest networkRequest(String id, PodSandboxConfig config, Optional<NetNs> netns) {
    List<PodNetwork.PortMapping> ports = config.getPortMappingsList().stream()
        .map(p -> new PodNetwork.PortMapping(p.getProtocol().name().toLowerCase(), p.getContainerPort(),
            p.getHostPort(), p.getHostIp()))
        .toList();
    String cgroupParent = config.getLinux().getCgroupParent();
    return new PodNetwork.PodNetworkRequest(id, config.getMetadata().getName(), config.getMetadata().getNamespace(),
        config.getMetadata().getUid(), netns, ports, config.getAnnotationsMap(),
        cgroupParent.isEmpty() ? Optional.empty() : Optional.of(cgroupParent));
  }
}
