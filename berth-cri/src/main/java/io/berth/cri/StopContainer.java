package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.cri.api.ContainerEventType;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.StopContainerRequest;
import io.berth.cri.api.StopContainerResponse;
import io.berth.cri.api.ext.ContainerRecord;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * StopContainer: the stop signal (the CRI's, else the image's, else SIGTERM), then SIGKILL after the timeout.
 * Idempotent; an unknown id succeeds, as api.proto asks of stop calls.
 */
final class StopContainer {
  private static final Logger log = LoggerFactory.getLogger(StopContainer.class);

  private final RuntimeState st;
  private final StatusViews views;

  StopContainer(RuntimeState st, StatusViews views) {
    this.st = st;
    this.views = views;
  }

  StopContainerResponse stop(StopContainerRequest req) {
    if (req.getContainerId().isEmpty()) {
      throw BerthException.invalidArgument("container id is empty");
    }
    Optional<Container> c = st.containers.find(req.getContainerId());
    c.ifPresent(container -> stop(container, Duration.ofSeconds(Math.max(0, req.getTimeout()))));
    return StopContainerResponse.getDefaultInstance();
  }

  void stop(Container c, Duration timeout) {
    views.refresh(c);
    boolean stopped = false;
    try (var held = st.locks.lock(c.id())) {
      ContainerRecord r = c.record();
      if (r.getState() == ContainerState.CONTAINER_EXITED_VALUE) {
        return;
      }
      OciRuntimes.Handler handler = st.runtimes.handler(r.getRuntimeHandler());
      if (r.getState() == ContainerState.CONTAINER_RUNNING_VALUE) {
        int signal = timeout.isZero() ? Signals.SIGKILL
            : Signals.parse(r.getStopSignal().isEmpty() ? "SIGTERM" : r.getStopSignal());
        handler.stop(c.id(), signal, timeout);
        OciRuntimes.State s = handler.state(c.id());
        st.save(c, StatusViews.exited(r, s));
      } else {
        // Created but never started: there is no process; record it as exited like containerd does.
        long now = System.currentTimeMillis() * 1_000_000L;
        st.save(c, r.toBuilder().setState(ContainerState.CONTAINER_EXITED_VALUE).setFinishedAt(now)
            .setExitCode(0).setReason("Completed").build());
      }
      st.publish(c, ContainerEventType.CONTAINER_STOPPED_EVENT, views);
      stopped = true;
    }
    if (stopped) {
      log.info("container {} stopped", c.id());
    }
  }
}
