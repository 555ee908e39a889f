package io.berth.cri;

import io.berth.cri.api.ContainerState;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.SandboxRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds berthd's view after a restart (or a crash) from the durable records and the runtimes: running
 * containers keep running and are adopted; ones that exited meanwhile get the exit code their monitor wrote. A
 * record that cannot be recovered is reported and set aside; it never stops berthd from starting.
 *
 * <p>Calls that a crash cut short are settled first, from what their records say:
 * <ul>
 *   <li>RunPodSandbox (record still {@code creating}): rolled back. Like containerd, which keeps a sandbox whose
 *       start it lost in its store as NOT_READY, the record is kept NOT_READY, so the kubelet sees the failed attempt
 *       and removes it; it holds nothing, not even the pod's name, so a new sandbox of the same pod can start.</li>
 *   <li>CreateContainer (record still {@code creating}): forgotten, as the kubelet never learned the id (containerd
 *       has no container object until the end of CreateContainer either).</li>
 *   <li>RemovePodSandbox and RemoveContainer (record {@code removing}): finished, as the retry the kubelet makes
 *       would do (removal is idempotent); a pod's containers go with it.</li>
 * </ul>
 * Whatever such calls, or anything else, left in berthd's own dirs and runtime roots under an id that no remaining
 * record claims is then released by {@link OrphanSweep}.
 */
final class Recovery {
  private static final Logger log = LoggerFactory.getLogger(Recovery.class);

  private Recovery() {}

  static void recover(RuntimeState st, StatusViews views) {
    List<SandboxRecord> stored = st.records.sandboxes();
    Set<String> removedPods = new HashSet<>();
    stored.stream().filter(SandboxRecord::getRemoving).forEach(r -> removedPods.add(r.getId()));
    // containers first: a crash in here must not leave containers of a pod whose record is gone
    List<ContainerRecord> containers = settleContainers(st, st.records.containers(), removedPods);
    List<SandboxRecord> sandboxes = settleSandboxes(st, stored);
    int pods = 0;
    for (SandboxRecord r : sandboxes) {
      try {
        Sandbox s = new Sandbox(r);
        if (!r.getStartLost()) {
          st.sandboxes.reserveName(Sandbox.reservationName(r.getConfig().getMetadata()), r.getId());
        }
        st.sandboxes.put(r.getId(), s);
        if (r.getState() == PodSandboxState.SANDBOX_READY_VALUE && !infraAlive(st, r)) {
          st.save(s, r.toBuilder().setState(PodSandboxState.SANDBOX_NOTREADY_VALUE).build());
          log.warn("sandbox {}: infra process is gone; marked not ready", r.getId());
        }
        pods++;
      } catch (RuntimeException e) {
        log.error("sandbox record {} cannot be recovered and is set aside: {}", r.getId(), e.toString());
      }
    }
    int adopted = 0;
    for (ContainerRecord r : containers) {
      try {
        Container c = new Container(r);
        Sandbox s = st.sandboxes.get(r.getSandboxId());
        st.containers.reserveName(Container.reservationName(r.getConfig().getMetadata(),
            s.record().getConfig().getMetadata()), r.getId());
        st.containers.put(r.getId(), c);
        if (r.getState() == ContainerState.CONTAINER_RUNNING_VALUE) {
          views.refreshFromRuntime(c);
        }
        adopted++;
      } catch (RuntimeException e) {
        log.error("container record {} cannot be recovered and is set aside: {}", r.getId(), e.toString());
      }
    }
    log.info("recovered {} sandboxes and {} containers", pods, adopted);
    sweep(st, sandboxes);
  }

  /**
   * Removals are finished (the record deleted) and lost starts rolled back (the record marked); returns the records
   * to adopt.
   */
  private static List<SandboxRecord> settleSandboxes(RuntimeState st, List<SandboxRecord> records) {
    List<SandboxRecord> keep = new ArrayList<>();
    for (SandboxRecord r : records) {
      try {
        if (r.getRemoving()) {
          st.records.deleteSandbox(r.getId());
          log.warn("sandbox {}: RemovePodSandbox was cut short; finishing it", r.getId());
        } else if (r.getCreating()) {
          SandboxRecord lost = lostStart(r);
          st.records.put(lost);
          log.warn("sandbox {} ({}): RunPodSandbox was cut short; rolling it back and keeping the sandbox NOT_READY "
              + "without its name", r.getId(), Sandbox.reservationName(r.getConfig().getMetadata()));
          keep.add(lost);
        } else {
          keep.add(r);
        }
      } catch (RuntimeException e) {
        log.error("sandbox record {} cannot be settled and is set aside: {}", r.getId(), e.toString());
      }
    }
    return keep;
  }

  /** What is left of a record whose start was cut short: the pod's config, NOT_READY, holding nothing. */
  static SandboxRecord lostStart(SandboxRecord r) {
    return r.toBuilder()
        .setCreating(false)
        .setStartLost(true)
        .setState(PodSandboxState.SANDBOX_NOTREADY_VALUE)
        .clearNetnsPath()
        .clearIp()
        .clearAdditionalIps()
        .clearShmPath()
        .clearIpcPath()
        .clearUtsPath()
        .build();
  }

  private static List<ContainerRecord> settleContainers(RuntimeState st, List<ContainerRecord> records,
      Set<String> removedPods) {
    List<ContainerRecord> keep = new ArrayList<>();
    for (ContainerRecord r : records) {
      try {
        boolean podRemoved = removedPods.contains(r.getSandboxId());
        if (r.getCreating() || r.getRemoving() || podRemoved) {
          st.records.deleteContainer(r.getId());
          log.warn("container {}: {}", r.getId(), r.getCreating() ? "CreateContainer was cut short; forgetting it"
              : r.getRemoving() ? "RemoveContainer was cut short; finishing it"
              : "its pod's removal was cut short; removing it with the pod");
        } else {
          keep.add(r);
        }
      } catch (RuntimeException e) {
        log.error("container record {} cannot be settled and is set aside: {}", r.getId(), e.toString());
      }
    }
    return keep;
  }

  /** Every stored record claims what is named after its id, except a lost start, which holds nothing. */
  private static void sweep(RuntimeState st, List<SandboxRecord> sandboxes) {
    try {
      Set<String> claimed = new HashSet<>(st.records.storedIds());
      sandboxes.stream().filter(SandboxRecord::getStartLost).forEach(r -> claimed.remove(r.getId()));
      OrphanSweep.sweep(st, claimed);
    } catch (RuntimeException e) {
      log.error("the sweep of leftovers at start failed; it runs again at the next start: {}", e.toString());
    }
  }

  private static boolean infraAlive(RuntimeState st, SandboxRecord r) {
    try {
      boolean netnsOk = r.getNetnsPath().isEmpty() || Files.exists(Path.of(r.getNetnsPath()));
      if (!r.getUsernsPath().isEmpty() && !Files.exists(Path.of(r.getUsernsPath()))) {
        return false; // the pod's user namespace is gone: no container of it can be created
      }
      if (r.getInfraLess()) {
        return netnsOk && (r.getUtsPath().isEmpty() || Files.exists(Path.of(r.getUtsPath())));
      }
      OciRuntimes.State s = st.runtimes.handler(r.getRuntimeHandler()).state(r.getId());
      return s.status() == OciRuntimes.State.Status.RUNNING && netnsOk;
    } catch (RuntimeException e) {
      return false;
    }
  }
}
