package io.berth.cri;

import io.berth.cri.api.CgroupDriver;
import io.berth.cri.api.LinuxRuntimeConfiguration;
import io.berth.cri.api.RuntimeCondition;
import io.berth.cri.api.RuntimeConfigResponse;
import io.berth.cri.api.RuntimeFeatures;
import io.berth.cri.api.RuntimeHandler;
import io.berth.cri.api.RuntimeHandlerFeatures;
import io.berth.cri.api.RuntimeStatus;
import io.berth.cri.api.StatusRequest;
import io.berth.cri.api.StatusResponse;
import io.berth.cri.api.UpdateRuntimeConfigRequest;
import io.berth.cri.api.UpdateRuntimeConfigResponse;
import io.berth.cri.api.VersionRequest;
import io.berth.cri.api.VersionResponse;
import io.berth.network.PodNetwork;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Version, Status and RuntimeConfig: what berthd says about itself, truthfully. */
final class RuntimeInfo {
  private static final Logger log = LoggerFactory.getLogger(RuntimeInfo.class);
  static final String RUNTIME_NAME = "berth";
  static final String CRI_VERSION = "v1";

  /** What the runtime side reports about one handler: usable or not (and why), and its CRI features. */
  record HandlerInfo(String name, boolean usable, String reason, boolean recursiveReadOnlyMounts,
      boolean userNamespaces) {
    HandlerInfo withUserNamespaces(boolean supported) {
      return new HandlerInfo(name, usable, reason, recursiveReadOnlyMounts, supported);
    }
  }

  private final String version;
  private final PodNetwork network;
  private final Supplier<List<HandlerInfo>> handlers;
  private final String defaultHandler;
  private final boolean systemdCgroups;
  private final Supplier<Boolean> supplementalGroupsPolicy;
  private final Path rootDir;
  private final Path stateDir;
  private final Supplier<String> userNamespacesProblem;
  private final Supplier<StartQueue.State> startQueue;

  RuntimeInfo(String version, PodNetwork network, Supplier<List<HandlerInfo>> handlers, String defaultHandler,
      boolean systemdCgroups, Supplier<Boolean> supplementalGroupsPolicy, Path rootDir, Path stateDir,
      Supplier<String> userNamespacesProblem, Supplier<StartQueue.State> startQueue) {
    this.version = version;
    this.network = network;
    this.handlers = handlers;
    this.defaultHandler = defaultHandler;
    this.systemdCgroups = systemdCgroups;
    this.supplementalGroupsPolicy = supplementalGroupsPolicy;
    this.rootDir = rootDir;
    this.stateDir = stateDir;
    this.userNamespacesProblem = userNamespacesProblem;
    this.startQueue = startQueue;
  }

  VersionResponse version(VersionRequest req) {
    return VersionResponse.newBuilder()
        .setVersion("0.1.0")
        .setRuntimeName(RUNTIME_NAME)
        .setRuntimeVersion(version)
        .setRuntimeApiVersion(CRI_VERSION)
        .build();
  }

  StatusResponse status(StatusRequest req) {
    List<HandlerInfo> hs = handlers.get();
    HandlerInfo def = hs.stream().filter(h -> h.name().equals(defaultHandler)).findFirst().orElse(null);
    RuntimeCondition.Builder runtimeReady = RuntimeCondition.newBuilder().setType("RuntimeReady");
    if (def != null && def.usable()) {
      runtimeReady.setStatus(true);
    } else {
      runtimeReady.setStatus(false).setReason("DefaultHandlerUnusable")
          .setMessage(def == null ? "no default runtime handler " + defaultHandler : def.reason());
    }
    PodNetwork.Status net = network.status();
    RuntimeCondition.Builder networkReady = RuntimeCondition.newBuilder().setType("NetworkReady")
        .setStatus(net.ready());
    if (!net.ready()) {
      networkReady.setReason(net.reason()).setMessage(net.message());
    }
    StatusResponse.Builder b = StatusResponse.newBuilder()
        .setStatus(RuntimeStatus.newBuilder().addConditions(runtimeReady).addConditions(networkReady))
        .setFeatures(RuntimeFeatures.newBuilder().setSupplementalGroupsPolicy(supplementalGroupsPolicy.get()));
    for (HandlerInfo h : hs) {
      if (!h.usable()) {
        continue;
      }
      RuntimeHandlerFeatures f = RuntimeHandlerFeatures.newBuilder()
          .setRecursiveReadOnlyMounts(h.recursiveReadOnlyMounts())
          .setUserNamespaces(h.userNamespaces())
          .build();
      b.addRuntimeHandlers(RuntimeHandler.newBuilder().setName(h.name()).setFeatures(f));
      if (h.name().equals(defaultHandler)) {
        // The kubelet reads the default handler under the empty name.
        b.addRuntimeHandlers(RuntimeHandler.newBuilder().setName("").setFeatures(f));
      }
    }
    if (req.getVerbose()) {
      StringBuilder json = new StringBuilder("{\"defaultHandler\":\"").append(defaultHandler).append("\",\"handlers\":[");
      for (int i = 0; i < hs.size(); i++) {
        HandlerInfo h = hs.get(i);
        json.append(i == 0 ? "" : ",").append("{\"name\":\"").append(h.name()).append("\",\"usable\":")
            .append(h.usable()).append(",\"reason\":").append(quote(h.reason())).append('}');
      }
      // rootDir and stateDir as containerd names them: critest probes idmapped mounts on stateDir's file system.
      String usernsProblem = userNamespacesProblem.get();
      json.append("],\"network\":{\"ready\":").append(net.ready()).append(",\"message\":")
          .append(quote(net.message())).append("},\"rootDir\":").append(quote(rootDir.toString()))
          .append(",\"stateDir\":").append(quote(stateDir.toString()))
          .append(",\"userNamespaces\":{\"supported\":").append(usernsProblem.isEmpty())
          .append(",\"reason\":").append(quote(usernsProblem)).append('}');
      // What the pod start queue is doing, and the other work it sees (docs/config.md, "Pod start queue").
      StartQueue.State q = startQueue.get();
      json.append(",\"startQueue\":{\"slots\":").append(q.slots()).append(",\"running\":").append(q.running())
          .append(",\"waiting\":").append(q.waiting()).append(",\"outsideCpus\":")
          .append(q.outsideCpus() < 0 ? "null" : String.format(Locale.ROOT, "%.2f", q.outsideCpus())).append("}}");
      b.putInfo("config", json.toString());
    }
    return b.build();
  }

  RuntimeConfigResponse runtimeConfig() {
    return RuntimeConfigResponse.newBuilder()
        .setLinux(LinuxRuntimeConfiguration.newBuilder()
            .setCgroupDriver(systemdCgroups ? CgroupDriver.SYSTEMD : CgroupDriver.CGROUPFS))
        .build();
  }

  UpdateRuntimeConfigResponse updateRuntimeConfig(UpdateRuntimeConfigRequest req) {
    // The pod CIDR belongs to the CNI config Berth reads from disk; like containerd without a template, note it only.
    log.info("kubelet reports pod CIDR {}", req.getRuntimeConfig().getNetworkConfig().getPodCidr());
    return UpdateRuntimeConfigResponse.getDefaultInstance();
  }

  private static String quote(String s) {
    return "\"" + (s == null ? "" : s.replace("\\", "\\\\").replace("\"", "\\\"")) + "\"";
  }
}
