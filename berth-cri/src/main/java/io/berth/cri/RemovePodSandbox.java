package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.cri.api.RemovePodSandboxRequest;
import io.berth.cri.api.RemovePodSandboxResponse;
import io.berth.cri.api.ext.SandboxRecord;
import io.berth.linux.LinuxException;
import io.berth.linux.NamespacePins;
import io.berth.linux.Syscalls;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RemovePodSandbox: stops the pod if needed (as the kubelet may remove without stopping), removes its containers,
 * the infra process from its runtime, the shm mount, the pod's files and its record, and frees its name.
 * Idempotent; an unknown id succeeds.
 */
final class RemovePodSandbox {
  private static final Logger log = LoggerFactory.getLogger(RemovePodSandbox.class);

  private final RuntimeState st;
  private final StopPodSandbox stopPod;
  private final RemoveContainer removeContainer;

  RemovePodSandbox(RuntimeState st, StopPodSandbox stopPod, RemoveContainer removeContainer) {
    this.st = st;
    this.stopPod = stopPod;
    this.removeContainer = removeContainer;
  }

  RemovePodSandboxResponse remove(RemovePodSandboxRequest req) {
    if (req.getPodSandboxId().isEmpty()) {
      throw BerthException.invalidArgument("pod sandbox id is empty");
    }
    Optional<Sandbox> found = st.sandboxes.find(req.getPodSandboxId());
    if (found.isEmpty()) {
      return RemovePodSandboxResponse.getDefaultInstance();
    }
    Sandbox s = found.get();
    try (var held = st.locks.lock(s.id())) {
      if (st.sandboxes.find(s.id()).isEmpty()) {
        return RemovePodSandboxResponse.getDefaultInstance(); // removed meanwhile
      }
      // From here on a crash leaves a record that says so: the removal is finished at the next start.
      st.save(s, s.record().toBuilder().setRemoving(true).build());
    }
    stopPod.stop(s);
    for (Container c : st.containersOf(s.id())) {
      removeContainer.remove(c);
    }
    PausePoint.reach("removepod.after-containers");
    try (var held = st.locks.lock(s.id())) {
      SandboxRecord r = s.record();
      if (!r.getInfraLess()) {
        st.runtimes.handler(r.getRuntimeHandler()).delete(s.id());
        PauseImage.release(st, s.id(), r.getInfraRootfs());
      }
      NamespacePins.unpin(new NamespacePins.Pins(pin(r.getIpcPath()), pin(r.getUtsPath()), pin(r.getUsernsPath())));
      if (!r.getShmPath().isEmpty()) {
        try {
          Syscalls.umount2(r.getShmPath(), Syscalls.MNT_DETACH);
        } catch (LinuxException e) {
          if (e.errno() != LinuxException.EINVAL && e.errno() != LinuxException.ENOENT) {
            throw e;
          }
        }
      }
      Dirs.deleteRecursively(Path.of(r.getStateDir().isEmpty() ? st.sandboxDir(s.id()).toString()
          : r.getStateDir()));
      st.records.deleteSandbox(s.id());
      st.sandboxes.remove(s.id());
      st.sandboxes.releaseName(Sandbox.reservationName(r.getConfig().getMetadata()), s.id());
      log.info("sandbox {} removed", s.id());
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot remove the files of sandbox %s", s.id());
    }
    return RemovePodSandboxResponse.getDefaultInstance();
  }

  private static Path pin(String p) {
    return p.isEmpty() ? null : Path.of(p);
  }
}
