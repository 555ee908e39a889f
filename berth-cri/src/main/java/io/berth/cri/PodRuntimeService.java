package io.berth.cri;

import io.berth.cri.Rpc.Level;
import io.berth.cri.api.*;
import io.berth.streaming.StreamingServer;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.TimeUnit;

/** The full RuntimeService: pods and containers on top of Version, Status and RuntimeConfig. */
final class PodRuntimeService extends CriRuntimeService {
  private final RuntimeState st;
  private final RunPodSandbox runPod;
  private final StopPodSandbox stopPod;
  private final RemovePodSandbox removePod;
  private final CreateContainer createContainer;
  private final StartContainer startContainer;
  private final StopContainer stopContainer;
  private final RemoveContainer removeContainer;
  private final Queries queries;
  private final ContainerOps ops;
  private final Streams streams;
  private final Stats stats;
  private final ListPodSandboxMetrics metrics;

  PodRuntimeService(Rpc rpc, RuntimeInfo info, RuntimeState st, StreamingServer streaming, String cgroupDriver) {
    super(rpc, info);
    this.st = st;
    StatusViews views = new StatusViews(st);
    this.runPod = new RunPodSandbox(st);
    this.stopContainer = new StopContainer(st, views);
    this.stopPod = new StopPodSandbox(st, stopContainer);
    this.removeContainer = new RemoveContainer(st, stopContainer, views);
    this.removePod = new RemovePodSandbox(st, stopPod, removeContainer);
    this.createContainer = new CreateContainer(st, views);
    this.startContainer = new StartContainer(st, views);
    this.queries = new Queries(st, views);
    this.ops = new ContainerOps(st, views);
    this.streams = new Streams(st, views, streaming);
    CgroupStats cgroups = CgroupStats.host();
    PodNetworkCounters network = new PodNetworkCounters(st.network);
    this.stats = new Stats(st, cgroupDriver, cgroups, network);
    this.metrics = new ListPodSandboxMetrics(st, stats, cgroups, network);
  }

  @Override
  public void containerStats(ContainerStatsRequest req, StreamObserver<ContainerStatsResponse> out) {
    rpc.unary("ContainerStats", Level.TRACE, req, out, ContainerStatsRequest::getContainerId,
        () -> stats.containerStats(req));
  }

  @Override
  public void listContainerStats(ListContainerStatsRequest req, StreamObserver<ListContainerStatsResponse> out) {
    rpc.unary("ListContainerStats", Level.TRACE, req, out, null, () -> stats.listContainerStats(req));
  }

  @Override
  public void podSandboxStats(PodSandboxStatsRequest req, StreamObserver<PodSandboxStatsResponse> out) {
    rpc.unary("PodSandboxStats", Level.TRACE, req, out, PodSandboxStatsRequest::getPodSandboxId,
        () -> stats.podSandboxStats(req));
  }

  @Override
  public void listPodSandboxStats(ListPodSandboxStatsRequest req, StreamObserver<ListPodSandboxStatsResponse> out) {
    rpc.unary("ListPodSandboxStats", Level.TRACE, req, out, null, () -> stats.listPodSandboxStats(req));
  }

  @Override
  public void listMetricDescriptors(ListMetricDescriptorsRequest req,
      StreamObserver<ListMetricDescriptorsResponse> out) {
    rpc.unary("ListMetricDescriptors", Level.TRACE, req, out, null, metrics::descriptors);
  }

  @Override
  public void listPodSandboxMetrics(ListPodSandboxMetricsRequest req,
      StreamObserver<ListPodSandboxMetricsResponse> out) {
    rpc.unary("ListPodSandboxMetrics", Level.TRACE, req, out, null, metrics::list);
  }

  @Override
  public void streamPodSandboxMetrics(StreamPodSandboxMetricsRequest req,
      StreamObserver<StreamPodSandboxMetricsResponse> out) {
    rpc.stream("StreamPodSandboxMetrics", req, out, metrics::stream);
  }

  Streams streams() {
    return streams;
  }

  @Override
  public void runPodSandbox(RunPodSandboxRequest req, StreamObserver<RunPodSandboxResponse> out) {
    rpc.unary("RunPodSandbox", Level.INFO, req, out, r -> r.getConfig().getMetadata().getNamespace() + "/"
        + r.getConfig().getMetadata().getName() + " handler=" + r.getRuntimeHandler(), () -> runPod.run(req));
  }

  @Override
  public void stopPodSandbox(StopPodSandboxRequest req, StreamObserver<StopPodSandboxResponse> out) {
    rpc.unary("StopPodSandbox", Level.INFO, req, out, StopPodSandboxRequest::getPodSandboxId, () -> stopPod.stop(req));
  }

  @Override
  public void removePodSandbox(RemovePodSandboxRequest req, StreamObserver<RemovePodSandboxResponse> out) {
    rpc.unary("RemovePodSandbox", Level.INFO, req, out, RemovePodSandboxRequest::getPodSandboxId,
        () -> removePod.remove(req));
  }

  @Override
  public void podSandboxStatus(PodSandboxStatusRequest req, StreamObserver<PodSandboxStatusResponse> out) {
    rpc.unary("PodSandboxStatus", Level.TRACE, req, out, PodSandboxStatusRequest::getPodSandboxId,
        () -> queries.podSandboxStatus(req));
  }

  @Override
  public void listPodSandbox(ListPodSandboxRequest req, StreamObserver<ListPodSandboxResponse> out) {
    rpc.unary("ListPodSandbox", Level.TRACE, req, out, null, () -> queries.listPodSandbox(req));
  }

  @Override
  public void createContainer(CreateContainerRequest req, StreamObserver<CreateContainerResponse> out) {
    rpc.unary("CreateContainer", Level.INFO, req, out, r -> r.getPodSandboxId() + " "
        + r.getConfig().getMetadata().getName() + " image=" + r.getConfig().getImage().getImage(),
        () -> createContainer.create(req));
  }

  @Override
  public void startContainer(StartContainerRequest req, StreamObserver<StartContainerResponse> out) {
    rpc.unary("StartContainer", Level.INFO, req, out, StartContainerRequest::getContainerId,
        () -> startContainer.start(req));
  }

  @Override
  public void stopContainer(StopContainerRequest req, StreamObserver<StopContainerResponse> out) {
    rpc.unary("StopContainer", Level.INFO, req, out, r -> r.getContainerId() + " timeout=" + r.getTimeout(),
        () -> stopContainer.stop(req));
  }

  @Override
  public void removeContainer(RemoveContainerRequest req, StreamObserver<RemoveContainerResponse> out) {
    rpc.unary("RemoveContainer", Level.INFO, req, out, RemoveContainerRequest::getContainerId,
        () -> removeContainer.remove(req));
  }

  @Override
  public void listContainers(ListContainersRequest req, StreamObserver<ListContainersResponse> out) {
    rpc.unary("ListContainers", Level.TRACE, req, out, null, () -> queries.listContainers(req));
  }

  @Override
  public void containerStatus(ContainerStatusRequest req, StreamObserver<ContainerStatusResponse> out) {
    rpc.unary("ContainerStatus", Level.TRACE, req, out, ContainerStatusRequest::getContainerId,
        () -> queries.containerStatus(req));
  }

  @Override
  public void updateContainerResources(UpdateContainerResourcesRequest req,
      StreamObserver<UpdateContainerResourcesResponse> out) {
    rpc.unary("UpdateContainerResources", Level.INFO, req, out, UpdateContainerResourcesRequest::getContainerId,
        () -> ops.update(req));
  }

  @Override
  public void reopenContainerLog(ReopenContainerLogRequest req, StreamObserver<ReopenContainerLogResponse> out) {
    rpc.unary("ReopenContainerLog", Level.INFO, req, out, ReopenContainerLogRequest::getContainerId,
        () -> ops.reopenLog(req));
  }

  @Override
  public void execSync(ExecSyncRequest req, StreamObserver<ExecSyncResponse> out) {
    rpc.unary("ExecSync", Level.TRACE, req, out, r -> r.getContainerId() + " " + r.getCmdList(),
        () -> ops.execSync(req));
  }

  @Override
  public void exec(ExecRequest req, StreamObserver<ExecResponse> out) {
    rpc.unary("Exec", Level.INFO, req, out, r -> r.getContainerId() + " " + r.getCmdList(), () -> streams.exec(req));
  }

  @Override
  public void attach(AttachRequest req, StreamObserver<AttachResponse> out) {
    rpc.unary("Attach", Level.INFO, req, out, AttachRequest::getContainerId, () -> streams.attach(req));
  }

  @Override
  public void portForward(PortForwardRequest req, StreamObserver<PortForwardResponse> out) {
    rpc.unary("PortForward", Level.INFO, req, out, r -> r.getPodSandboxId() + " " + r.getPortList(),
        () -> streams.portForward(req));
  }

  @Override
  public void getContainerEvents(GetEventsRequest req, StreamObserver<ContainerEventResponse> out) {
    var call = (ServerCallStreamObserver<ContainerEventResponse>) out;
    try (ContainerEvents.Subscription sub = st.events.subscribe()) {
      while (!call.isCancelled() && !sub.overflowed()) {
        ContainerEventResponse e = sub.queue.poll(1, TimeUnit.SECONDS);
        if (e != null) {
          out.onNext(e);
        }
      }
      if (sub.overflowed() && !call.isCancelled()) {
        out.onError(io.grpc.Status.RESOURCE_EXHAUSTED
            .withDescription("event subscriber fell too far behind; subscribe again").asRuntimeException());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      // client went away
    }
  }
}
