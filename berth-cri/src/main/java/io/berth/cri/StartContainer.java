package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.cri.api.ContainerEventType;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.StartContainerRequest;
import io.berth.cri.api.StartContainerResponse;
import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.Phase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** StartContainer: only a created container can start; a failed start leaves it exited with the reason. */
final class StartContainer {
  private static final Logger log = LoggerFactory.getLogger(StartContainer.class);

  private final RuntimeState st;
  private final StatusViews views;

  StartContainer(RuntimeState st, StatusViews views) {
    this.st = st;
    this.views = views;
  }

  StartContainerResponse start(StartContainerRequest req) {
    Container c = st.containers.get(req.getContainerId());
    long t = System.nanoTime();
    long queued = 0;
    try (var held = st.locks.lock(c.id())) {
      ContainerRecord r = c.record();
      if (r.getState() != ContainerState.CONTAINER_CREATED_VALUE) {
        throw BerthException.failedPrecondition("container %s is %s, not created", c.id(),
            ContainerState.forNumber(r.getState()));
      }
      Sandbox s = st.sandboxes.get(c.sandboxId());
      if (!s.ready()) {
        throw BerthException.failedPrecondition("sandbox %s of container %s is not ready", s.id(), c.id());
      }
      long startedAt;
      try (var slot = st.startQueue.enter(s.record().getCreatedAt())) {
        queued = slot.waitedNanos();
        // Taken before the runtime call: a short-lived process can exit before start returns (gVisor's start goes
        // through the container's monitor), and its finished_at must not come before started_at.
        startedAt = System.currentTimeMillis() * 1_000_000L;
        st.runtimes.handler(r.getRuntimeHandler()).start(c.id());
      } catch (BerthException e) {
        long now = System.currentTimeMillis() * 1_000_000L;
        st.save(c, r.toBuilder().setState(ContainerState.CONTAINER_EXITED_VALUE).setStartedAt(now)
            .setFinishedAt(now).setExitCode(128).setReason("StartError").setMessage(e.getMessage()).build());
        throw e;
      }
      ContainerRecord.Builder running = r.toBuilder().setState(ContainerState.CONTAINER_RUNNING_VALUE)
          .setStartedAt(startedAt);
      if (st.startQueue.on()) {
        running.addTimings(Phase.newBuilder().setName("start_queue").setContainerId(c.id()).setNanos(queued));
      }
      st.save(c, running.addTimings(Phase.newBuilder().setName("container_start").setContainerId(c.id())
          .setNanos(System.nanoTime() - t - queued)).build());
      // Under the container's lock, so an exit seen by a concurrent status poll is published after this event.
      st.publish(c, ContainerEventType.CONTAINER_STARTED_EVENT, views);
    }
    st.metrics.phase("container_start", System.nanoTime() - t - queued);
    log.info("container {} started", c.id());
    return StartContainerResponse.getDefaultInstance();
  }
}
