package io.berth.cri;

import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStatus;
import io.berth.cri.api.ContainerUser;
import io.berth.cri.api.LinuxContainerUser;
import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.LinuxPodSandboxStatus;
import io.berth.cri.api.Namespace;
import io.berth.cri.api.PodIP;
import io.berth.cri.api.PodSandboxNetworkStatus;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.PodSandboxStatus;
import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.SandboxRecord;
import io.berth.oci.RuntimeSpec;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Builds CRI status messages from records, refreshing a container's state from its runtime first (a container may
 * exit at any time; its monitor records the exit code, and the next status read picks it up).
 */
final class StatusViews {
  private final RuntimeState st;

  StatusViews(RuntimeState st) {
    this.st = st;
  }

  PodSandboxStatus sandboxStatus(Sandbox s) {
    SandboxRecord r = s.record();
    PodSandboxNetworkStatus.Builder net = PodSandboxNetworkStatus.newBuilder().setIp(r.getIp());
    r.getAdditionalIpsList().forEach(ip -> net.addAdditionalIps(PodIP.newBuilder().setIp(ip)));
    return PodSandboxStatus.newBuilder()
        .setId(r.getId())
        .setMetadata(r.getConfig().getMetadata())
        .setState(PodSandboxState.forNumber(r.getState()))
        .setCreatedAt(r.getCreatedAt())
        .setNetwork(net)
        .setLinux(LinuxPodSandboxStatus.newBuilder().setNamespaces(Namespace.newBuilder()
            .setOptions(r.getConfig().getLinux().getSecurityContext().getNamespaceOptions())))
        .putAllLabels(r.getConfig().getLabelsMap())
        .putAllAnnotations(r.getConfig().getAnnotationsMap())
        .setRuntimeHandler(r.getRuntimeHandler())
        .build();
  }

  /** Refreshes the container's record from the runtime when it may have changed, then renders it. */
  ContainerStatus containerStatus(Container c) {
    refresh(c);
    return render(c);
  }

  /** The last recorded status, without asking the runtime (events render this: they must not take other locks). */
  ContainerStatus render(Container c) {
    ContainerRecord r = c.record();
    ContainerStatus.Builder b = ContainerStatus.newBuilder();
    ContainerUser user = user(c);
    if (user != null) {
      b.setUser(user);
    }
    return b
        .setId(r.getId())
        .setMetadata(r.getConfig().getMetadata())
        .setState(ContainerState.forNumber(r.getState()))
        .setCreatedAt(r.getCreatedAt())
        .setStartedAt(r.getStartedAt())
        .setFinishedAt(r.getFinishedAt())
        .setExitCode(r.getExitCode())
        .setImage(ImageSpec.newBuilder().setImage(r.getImageName()).setUserSpecifiedImage(r.getConfig().getImage()
            .getImage()))
        .setImageRef(r.getImageRef())
        .setImageId(r.getImageId())
        .setReason(r.getReason())
        .setMessage(r.getMessage())
        .putAllLabels(r.getConfig().getLabelsMap())
        .putAllAnnotations(r.getConfig().getAnnotationsMap())
        .addAllMounts(r.getConfig().getMountsList())
        .setLogPath(r.getLogPath())
        .build();
  }

  /**
   * The identity the container's process runs with (uid, gid, supplementary groups after the groups policy), from
   * the runtime spec written at create, as containerd reports it; null when the bundle is gone.
   */
  static ContainerUser user(Container c) {
    ContainerUser u = c.user();
    if (u == null && !c.record().getBundle().isEmpty()) {
      try {
        u = user(RuntimeSpec.readFrom(Path.of(c.record().getBundle())).process().user());
        c.user(u);
      } catch (RuntimeException e) {
        return null;
      }
    }
    return u;
  }

  static ContainerUser user(RuntimeSpec.User su) {
    return ContainerUser.newBuilder().setLinux(LinuxContainerUser.newBuilder().setUid(su.uid()).setGid(su.gid())
        .addAllSupplementalGroups(su.additionalGids())).build();
  }

  /**
   * Picks up an exit that happened since the last look; persists it once. Cheap while the container runs: only
   * once its monitor has written the exit file is the runtime asked (the kubelet polls every container).
   */
  void refresh(Container c) {
    ContainerRecord r = c.record();
    if (r.getState() != ContainerState.CONTAINER_RUNNING_VALUE) {
      return;
    }
    try {
      if (!st.runtimes.handler(r.getRuntimeHandler()).exitRecorded(c.id())) {
        return;
      }
    } catch (RuntimeException e) {
      return;
    }
    refreshFromRuntime(c);
  }

  /** Asks the runtime itself: after a restart the monitor may be gone without having written an exit. */
  void refreshFromRuntime(Container c) {
    ContainerRecord r = c.record();
    if (r.getState() != ContainerState.CONTAINER_RUNNING_VALUE) {
      return;
    }
    try (var held = st.locks.lock(c.id())) {
      r = c.record();
      if (r.getState() != ContainerState.CONTAINER_RUNNING_VALUE) {
        return;
      }
      OciRuntimes.State s = st.runtimes.handler(r.getRuntimeHandler()).state(c.id());
      if (s.status() == OciRuntimes.State.Status.STOPPED || s.status() == OciRuntimes.State.Status.UNKNOWN) {
        st.save(c, exited(r, s));
        st.publish(c, io.berth.cri.api.ContainerEventType.CONTAINER_STOPPED_EVENT, this);
      }
    } catch (RuntimeException e) {
      // A runtime that cannot answer leaves the last known state; the next read tries again.
    }
  }

  static ContainerRecord exited(ContainerRecord r, OciRuntimes.State s) {
    long finished = s.finishedAtNanos() > 0 ? s.finishedAtNanos()
        : TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis());
    String reason = s.oomKilled() ? "OOMKilled" : s.exitCode() == 0 ? "Completed" : "Error";
    if (s.status() == OciRuntimes.State.Status.UNKNOWN) {
      return r.toBuilder().setState(ContainerState.CONTAINER_EXITED_VALUE).setFinishedAt(finished)
          .setExitCode(255).setReason("Unknown").setMessage("container is gone from its runtime").build();
    }
    return r.toBuilder().setState(ContainerState.CONTAINER_EXITED_VALUE).setFinishedAt(finished)
        .setExitCode(s.exitCode()).setReason(reason).build();
  }
}
