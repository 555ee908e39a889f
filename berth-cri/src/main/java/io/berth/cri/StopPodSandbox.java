package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.StopPodSandboxRequest;
import io.berth.cri.api.StopPodSandboxResponse;
import io.berth.cri.api.ext.SandboxRecord;
import io.berth.network.PodNetwork;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * StopPodSandbox: stops every container of the pod, the infra process, and releases the pod network (CNI DEL, then
 * the netns). Idempotent, and an unknown id succeeds, as api.proto asks of stop calls
 * (https://github.com/kubernetes/cri-api/blob/master/pkg/apis/runtime/v1/api.proto).
 */
final class StopPodSandbox {
  private static final Logger log = LoggerFactory.getLogger(StopPodSandbox.class);

  private final RuntimeState st;
  private final StopContainer stopContainer;

  StopPodSandbox(RuntimeState st, StopContainer stopContainer) {
    this.st = st;
    this.stopContainer = stopContainer;
  }

  StopPodSandboxResponse stop(StopPodSandboxRequest req) {
    if (req.getPodSandboxId().isEmpty()) {
      throw BerthException.invalidArgument("pod sandbox id is empty");
    }
    Optional<Sandbox> found = st.sandboxes.find(req.getPodSandboxId());
    if (found.isEmpty()) {
      return StopPodSandboxResponse.getDefaultInstance();
    }
    stop(found.get());
    return StopPodSandboxResponse.getDefaultInstance();
  }

  void stop(Sandbox s) {
    for (Container c : st.containersOf(s.id())) {
      stopContainer.stop(c, Duration.ZERO);
    }
    try (var held = st.locks.lock(s.id())) {
      SandboxRecord r = s.record();
      if (!r.getInfraLess()) {
        OciRuntimes.Handler handler = st.runtimes.handler(r.getRuntimeHandler());
        OciRuntimes.State state = handler.state(s.id());
        if (state.status() == OciRuntimes.State.Status.RUNNING
            || state.status() == OciRuntimes.State.Status.CREATED) {
          handler.stop(s.id(), 9, Duration.ZERO);
        }
      }
      if (!r.getNetnsPath().isEmpty()) {
        Optional<PodNetwork.NetNs> netns = Optional.of(new PodNetwork.NetNs(s.id(), Path.of(r.getNetnsPath())));
        st.network.tearDown(RunPodSandbox.networkRequest(s.id(), r.getConfig(), netns));
        st.network.removeNetns(netns.get());
      }
      if (r.getState() != PodSandboxState.SANDBOX_NOTREADY_VALUE) {
        st.save(s, r.toBuilder().setState(PodSandboxState.SANDBOX_NOTREADY_VALUE).build());
        log.info("sandbox {} stopped", s.id());
      }
    }
  }
}
