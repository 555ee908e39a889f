package io.berth.cri;

import io.berth.cri.Rpc.Level;
import io.berth.cri.api.RuntimeConfigRequest;
import io.berth.cri.api.RuntimeConfigResponse;
import io.berth.cri.api.RuntimeServiceGrpc;
import io.berth.cri.api.StatusRequest;
import io.berth.cri.api.StatusResponse;
import io.berth.cri.api.UpdateRuntimeConfigRequest;
import io.berth.cri.api.UpdateRuntimeConfigResponse;
import io.berth.cri.api.VersionRequest;
import io.berth.cri.api.VersionResponse;
import io.grpc.stub.StreamObserver;

/**
 * CRI v1 RuntimeService: each call goes through {@link Rpc} to the handler class named after it. Calls Berth does
 * not implement fall through to the generated base class, which answers UNIMPLEMENTED naming the method.
 */
class CriRuntimeService extends RuntimeServiceGrpc.RuntimeServiceImplBase {
  final Rpc rpc;
  private final RuntimeInfo info;

  CriRuntimeService(Rpc rpc, RuntimeInfo info) {
    this.rpc = rpc;
    this.info = info;
  }

  @Override
  public void version(VersionRequest req, StreamObserver<VersionResponse> out) {
    rpc.unary("Version", Level.TRACE, req, out, null, () -> info.version(req));
  }

  @Override
  public void status(StatusRequest req, StreamObserver<StatusResponse> out) {
    rpc.unary("Status", Level.TRACE, req, out, null, () -> info.status(req));
  }

  @Override
  public void runtimeConfig(RuntimeConfigRequest req, StreamObserver<RuntimeConfigResponse> out) {
    rpc.unary("RuntimeConfig", Level.TRACE, req, out, null, info::runtimeConfig);
  }

  @Override
  public void updateRuntimeConfig(UpdateRuntimeConfigRequest req, StreamObserver<UpdateRuntimeConfigResponse> out) {
    rpc.unary("UpdateRuntimeConfig", Level.INFO, req, out, r -> r.getRuntimeConfig().getNetworkConfig().getPodCidr(),
        () -> info.updateRuntimeConfig(req));
  }
}
