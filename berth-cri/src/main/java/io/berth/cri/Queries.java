package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.cri.api.ContainerFilter;
import io.berth.cri.api.ContainerStatusRequest;
import io.berth.cri.api.ContainerStatusResponse;
import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.ListContainersRequest;
import io.berth.cri.api.ListContainersResponse;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.ListPodSandboxResponse;
import io.berth.cri.api.PodSandbox;
import io.berth.cri.api.PodSandboxFilter;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.PodSandboxStatusRequest;
import io.berth.cri.api.PodSandboxStatusResponse;
import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.SandboxRecord;
import java.util.Comparator;

/** The read-only calls the kubelet polls: status and list of sandboxes and containers, with every CRI filter. */
final class Queries {
  private final RuntimeState st;
  private final StatusViews views;

  Queries(RuntimeState st, StatusViews views) {
    this.st = st;
    this.views = views;
  }

  PodSandboxStatusResponse podSandboxStatus(PodSandboxStatusRequest req) {
    if (req.getPodSandboxId().isEmpty()) {
      throw BerthException.invalidArgument("pod sandbox id is empty");
    }
    Sandbox s = st.sandboxes.get(req.getPodSandboxId());
    PodSandboxStatusResponse.Builder b = PodSandboxStatusResponse.newBuilder()
        .setStatus(views.sandboxStatus(s))
        .setTimestamp(System.currentTimeMillis() * 1_000_000L);
    for (Container c : st.containersOf(s.id())) {
      b.addContainersStatuses(views.containerStatus(c));
    }
    if (req.getVerbose()) {
      SandboxRecord r = s.record();
      int pid = 0;
      try {
        pid = r.getInfraLess() ? 0 : st.runtimes.handler(r.getRuntimeHandler()).state(s.id()).pid();
      } catch (RuntimeException e) {
        // reported as 0
      }
      b.putInfo("info", "{\"pid\":" + pid + ",\"netnsPath\":\"" + r.getNetnsPath() + "\",\"runtimeHandler\":\""
          + r.getRuntimeHandler() + "\",\"stateDir\":\"" + r.getStateDir() + "\",\"usernsPath\":\""
          + r.getUsernsPath() + "\",\"config\":"
          + RuntimeState.toJson(r.getConfig()) + ",\"timings\":" + timings(r) + "}");
    }
    return b.build();
  }

  private static String timings(SandboxRecord r) {
    StringBuilder sb = new StringBuilder("{");
    r.getTimingsList().forEach(p -> sb.append(sb.length() > 1 ? "," : "").append('"').append(p.getName())
        .append("\":").append(p.getNanos()));
    return sb.append('}').toString();
  }

  ListPodSandboxResponse listPodSandbox(ListPodSandboxRequest req) {
    PodSandboxFilter f = req.getFilter();
    ListPodSandboxResponse.Builder b = ListPodSandboxResponse.newBuilder();
    st.sandboxes.all().stream()
        .filter(s -> f.getId().isEmpty() || s.id().startsWith(f.getId()))
        .filter(s -> !f.hasState() || s.record().getState() == f.getState().getStateValue())
        .filter(s -> Labels.match(f.getLabelSelectorMap(), s.record().getConfig().getLabelsMap()))
        .sorted(Comparator.comparingLong((Sandbox s) -> s.record().getCreatedAt()))
        .forEach(s -> {
          SandboxRecord r = s.record();
          b.addItems(PodSandbox.newBuilder().setId(r.getId()).setMetadata(r.getConfig().getMetadata())
              .setState(PodSandboxState.forNumber(r.getState())).setCreatedAt(r.getCreatedAt())
              .putAllLabels(r.getConfig().getLabelsMap()).putAllAnnotations(r.getConfig().getAnnotationsMap())
              .setRuntimeHandler(r.getRuntimeHandler()));
        });
    return b.build();
  }

  ContainerStatusResponse containerStatus(ContainerStatusRequest req) {
    if (req.getContainerId().isEmpty()) {
      throw BerthException.invalidArgument("container id is empty");
    }
    Container c = st.containers.get(req.getContainerId());
    ContainerStatusResponse.Builder b = ContainerStatusResponse.newBuilder().setStatus(views.containerStatus(c));
    if (req.getVerbose()) {
      ContainerRecord r = c.record();
      int pid = 0;
      try {
        pid = st.runtimes.handler(r.getRuntimeHandler()).state(c.id()).pid();
      } catch (RuntimeException e) {
        // reported as 0
      }
      b.putInfo("info", "{\"pid\":" + pid + ",\"sandboxID\":\"" + r.getSandboxId() + "\",\"runtimeHandler\":\""
          + r.getRuntimeHandler() + "\",\"bundle\":\"" + r.getBundle() + "\",\"config\":"
          + RuntimeState.toJson(r.getConfig()) + "}");
    }
    return b.build();
  }

  ListContainersResponse listContainers(ListContainersRequest req) {
    ContainerFilter f = req.getFilter();
    ListContainersResponse.Builder b = ListContainersResponse.newBuilder();
    st.containers.all().stream()
        .peek(views::refresh)
        .filter(c -> f.getId().isEmpty() || c.id().startsWith(f.getId()))
        .filter(c -> f.getPodSandboxId().isEmpty() || c.sandboxId().startsWith(f.getPodSandboxId()))
        .filter(c -> !f.hasState() || c.record().getState() == f.getState().getStateValue())
        .filter(c -> Labels.match(f.getLabelSelectorMap(), c.record().getConfig().getLabelsMap()))
        .sorted(Comparator.comparingLong((Container c) -> c.record().getCreatedAt()))
        .forEach(c -> {
          ContainerRecord r = c.record();
          b.addContainers(io.berth.cri.api.Container.newBuilder().setId(r.getId()).setPodSandboxId(r.getSandboxId())
              .setMetadata(r.getConfig().getMetadata())
              .setImage(ImageSpec.newBuilder().setImage(r.getImageName())
                  .setUserSpecifiedImage(r.getConfig().getImage().getImage()))
              .setImageRef(r.getImageRef()).setImageId(r.getImageId())
              .setState(io.berth.cri.api.ContainerState.forNumber(r.getState()))
              .setCreatedAt(r.getCreatedAt()).putAllLabels(r.getConfig().getLabelsMap())
              .putAllAnnotations(r.getConfig().getAnnotationsMap()));
        });
    return b.build();
  }
}
