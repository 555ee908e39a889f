package io.berth.cri;

import io.berth.cri.api.ext.BerthPodsGrpc;
import io.berth.cri.api.ext.Phase;
import io.berth.cri.api.ext.StartupTimingsRequest;
import io.berth.cri.api.ext.StartupTimingsResponse;
import io.grpc.stub.StreamObserver;

/** Where a pod's start-up time went: the phases recorded by RunPodSandbox, CreateContainer and StartContainer. */
final class BerthPodsService extends BerthPodsGrpc.BerthPodsImplBase {
  private final RuntimeState st;

  BerthPodsService(RuntimeState st) {
    this.st = st;
  }

  @Override
  public void startupTimings(StartupTimingsRequest req, StreamObserver<StartupTimingsResponse> out) {
    try {
      Sandbox s = st.sandboxes.get(req.getPodSandboxId());
      StartupTimingsResponse.Builder b = StartupTimingsResponse.newBuilder().addAllPhases(s.record().getTimingsList());
      for (Container c : st.containersOf(s.id())) {
        b.addAllPhases(c.record().getTimingsList());
      }
      b.setTotalNanos(b.getPhasesList().stream().mapToLong(Phase::getNanos).sum());
      out.onNext(b.build());
      out.onCompleted();
    } catch (RuntimeException e) {
      out.onError(Rpc.toStatus(e).asRuntimeException());
    }
  }
}
