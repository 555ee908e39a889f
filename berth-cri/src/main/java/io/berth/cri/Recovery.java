package io.berth.cri;

import io.berth.cri.api.ContainerState;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.SandboxRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds berthd's view after a restart (or a crash) from the durable records and the runtimes: running
 * containers keep running and are adopted; ones that exited meanwhile get the exit code their monitor wrote. A
 * record that cannot be recovered is reported and set aside; it never stops berthd from starting.
 */
final class Recovery {
  private static final Logger log = LoggerFactory.getLogger(Recovery.class);

  private Recovery() {}

  static void recover(RuntimeState st, StatusViews views) {
    int pods = 0;
    int containers = 0;
    for (SandboxRecord r : st.records.sandboxes()) {
      try {
        Sandbox s = new Sandbox(r);
        st.sandboxes.reserveName(Sandbox.reservationName(r.getConfig().getMetadata()), r.getId());
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
    for (ContainerRecord r : st.records.containers()) {
      try {
        Container c = new Container(r);
        Sandbox s = st.sandboxes.get(r.getSandboxId());
        st.containers.reserveName(Container.reservationName(r.getConfig().getMetadata(),
            s.record().getConfig().getMetadata()), r.getId());
        st.containers.put(r.getId(), c);
        if (r.getState() == ContainerState.CONTAINER_RUNNING_VALUE) {
          views.refreshFromRuntime(c);
        }
        containers++;
      } catch (RuntimeException e) {
        log.error("container record {} cannot be recovered and is set aside: {}", r.getId(), e.toString());
      }
    }
    log.info("recovered {} sandboxes and {} containers", pods, containers);
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
