package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.cri.api.ContainerAttributes;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStats;
import io.berth.cri.api.ContainerStatsFilter;
import io.berth.cri.api.ContainerStatsRequest;
import io.berth.cri.api.ContainerStatsResponse;
import io.berth.cri.api.CpuUsage;
import io.berth.cri.api.FilesystemIdentifier;
import io.berth.cri.api.FilesystemUsage;
import io.berth.cri.api.LinuxPodSandboxStats;
import io.berth.cri.api.ListContainerStatsRequest;
import io.berth.cri.api.ListContainerStatsResponse;
import io.berth.cri.api.ListPodSandboxStatsRequest;
import io.berth.cri.api.ListPodSandboxStatsResponse;
import io.berth.cri.api.MemoryUsage;
import io.berth.cri.api.NetworkInterfaceUsage;
import io.berth.cri.api.NetworkUsage;
import io.berth.cri.api.PodSandboxAttributes;
import io.berth.cri.api.PodSandboxStats;
import io.berth.cri.api.PodSandboxStatsFilter;
import io.berth.cri.api.PodSandboxStatsRequest;
import io.berth.cri.api.PodSandboxStatsResponse;
import io.berth.cri.api.UInt64Value;
import io.berth.cri.api.ext.ContainerRecord;
import io.berth.network.PodNetwork.InterfaceStats;
import io.berth.oci.SpecGenerator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Container and pod stats from the kernel's cgroup files: read directly per call (a few small files per container,
 * no fan-out to runtimes or monitors), CPU rate (nano-cores) from the previous reading of the same cgroup, and
 * writable-layer usage cached for {@link #LAYER_TTL_NANOS} because measuring it walks the layer. A pod's network is
 * the counters of the interfaces in its network namespace ({@link PodNetworkCounters}: read in one batch for a
 * List call, kept for a second).
 */
final class Stats {
  static final long LAYER_TTL_NANOS = 10_000_000_000L;

  private record Sample(long atNanos, long cpuNanos) {}

  private record LayerUsage(long atNanos, long bytes) {}

  private final RuntimeState st;
  private final String cgroupDriver;
  private final CgroupStats cgroups;
  private final PodNetworkCounters network;
  private final Map<String, Sample> lastCpu = new ConcurrentHashMap<>();
  private final Map<String, LayerUsage> layers = new ConcurrentHashMap<>();

  Stats(RuntimeState st, String cgroupDriver, CgroupStats cgroups, PodNetworkCounters network) {
    this.st = st;
    this.cgroupDriver = cgroupDriver;
    this.cgroups = cgroups;
    this.network = network;
  }

  ContainerStatsResponse containerStats(ContainerStatsRequest req) {
    if (req.getContainerId().isEmpty()) {
      throw BerthException.invalidArgument("container id is empty");
    }
    return ContainerStatsResponse.newBuilder().setStats(stats(st.containers.get(req.getContainerId()))).build();
  }

  ListContainerStatsResponse listContainerStats(ListContainerStatsRequest req) {
    forgetRemoved();
    ContainerStatsFilter f = req.getFilter();
    ListContainerStatsResponse.Builder b = ListContainerStatsResponse.newBuilder();
    for (Container c : st.containers.all()) {
      ContainerRecord r = c.record();
      if (r.getState() != ContainerState.CONTAINER_RUNNING_VALUE
          || !f.getId().isEmpty() && !c.id().startsWith(f.getId())
          || !f.getPodSandboxId().isEmpty() && !c.sandboxId().startsWith(f.getPodSandboxId())
          || !Labels.match(f.getLabelSelectorMap(), r.getConfig().getLabelsMap())) {
        continue;
      }
      b.addStats(stats(c));
    }
    return b.build();
  }

  PodSandboxStatsResponse podSandboxStats(PodSandboxStatsRequest req) {
    if (req.getPodSandboxId().isEmpty()) {
      throw BerthException.invalidArgument("pod sandbox id is empty");
    }
    Sandbox s = st.sandboxes.get(req.getPodSandboxId());
    // a pod that is not ready has had its network torn down (only lo, if the namespace is still there)
    PodNetworkCounters.Reading net = s.ready() ? network.read(s).orElse(null) : null;
    return PodSandboxStatsResponse.newBuilder().setStats(podStats(s, net)).build();
  }

  ListPodSandboxStatsResponse listPodSandboxStats(ListPodSandboxStatsRequest req) {
    forgetRemoved();
    PodSandboxStatsFilter f = req.getFilter();
    List<Sandbox> selected = new ArrayList<>();
    for (Sandbox s : st.sandboxes.all()) {
      if (!s.ready() || !f.getId().isEmpty() && !s.id().startsWith(f.getId())
          || !Labels.match(f.getLabelSelectorMap(), s.record().getConfig().getLabelsMap())) {
        continue;
      }
      selected.add(s);
    }
    Map<String, PodNetworkCounters.Reading> net = network.read(selected);
    ListPodSandboxStatsResponse.Builder b = ListPodSandboxStatsResponse.newBuilder();
    for (Sandbox s : selected) {
      b.addStats(podStats(s, net.get(s.id())));
    }
    return b.build();
  }

  /** {@code net} is null for a host-network pod or a namespace that could not be read: no network figures then. */
  private PodSandboxStats podStats(Sandbox s, PodNetworkCounters.Reading net) {
    var r = s.record();
    LinuxPodSandboxStats.Builder linux = LinuxPodSandboxStats.newBuilder();
    long now = System.currentTimeMillis() * 1_000_000L;
    long cpu = 0;
    long nanoCores = 0;
    long mem = 0;
    long ws = 0;
    for (Container c : st.containersOf(s.id())) {
      if (c.record().getState() != ContainerState.CONTAINER_RUNNING_VALUE) {
        continue;
      }
      ContainerStats cs = stats(c);
      linux.addContainers(cs);
      cpu += cs.getCpu().getUsageCoreNanoSeconds().getValue();
      nanoCores += cs.getCpu().getUsageNanoCores().getValue();
      mem += cs.getMemory().getUsageBytes().getValue();
      ws += cs.getMemory().getWorkingSetBytes().getValue();
    }
    linux.setCpu(CpuUsage.newBuilder().setTimestamp(now).setUsageCoreNanoSeconds(u64(cpu))
        .setUsageNanoCores(u64(nanoCores)));
    linux.setMemory(MemoryUsage.newBuilder().setTimestamp(now).setUsageBytes(u64(mem)).setWorkingSetBytes(u64(ws)));
    if (net != null) {
      linux.setNetwork(networkUsage(net));
    }
    return PodSandboxStats.newBuilder()
        .setAttributes(PodSandboxAttributes.newBuilder().setId(s.id()).setMetadata(r.getConfig().getMetadata())
            .putAllLabels(r.getConfig().getLabelsMap()).putAllAnnotations(r.getConfig().getAnnotationsMap()))
        .setLinux(linux)
        .build();
  }

  /**
   * The CRI form of a pod's counters: every interface but {@code lo}, and CNI's {@code eth0} (else the first) as the
   * default, as containerd reports them.
   */
  static NetworkUsage networkUsage(PodNetworkCounters.Reading net) {
    NetworkUsage.Builder n = NetworkUsage.newBuilder().setTimestamp(net.timestamp());
    for (InterfaceStats i : net.interfaces()) {
      if (!i.name().equals("lo")) {
        n.addInterfaces(interfaceUsage(i));
      }
    }
    net.defaultInterface().ifPresent(i -> n.setDefaultInterface(interfaceUsage(i)));
    return n.build();
  }

  private static NetworkInterfaceUsage interfaceUsage(InterfaceStats i) {
    return NetworkInterfaceUsage.newBuilder().setName(i.name()).setRxBytes(u64(i.rxBytes()))
        .setRxErrors(u64(i.rxErrors())).setTxBytes(u64(i.txBytes())).setTxErrors(u64(i.txErrors())).build();
  }

  /** The container's cgroup, as the spec generator placed it under its pod's cgroup parent. */
  String cgroupPath(Container c) {
    String parent = st.sandboxes.find(c.sandboxId()).map(s -> s.record().getConfig().getLinux().getCgroupParent())
        .orElse("");
    return SpecGenerator.cgroupsPath(parent, c.id(), cgroupDriver);
  }

  ContainerStats stats(Container c) {
    ContainerRecord r = c.record();
    long now = System.nanoTime();
    long wall = System.currentTimeMillis() * 1_000_000L;
    ContainerStats.Builder b = ContainerStats.newBuilder().setAttributes(ContainerAttributes.newBuilder()
        .setId(c.id()).setMetadata(r.getConfig().getMetadata()).putAllLabels(r.getConfig().getLabelsMap())
        .putAllAnnotations(r.getConfig().getAnnotationsMap()));
    // gVisor's containers use the sandbox's cgroup (their own host cgroup stays empty): their usage comes from
    // inside the sandbox, as containerd's runsc shim gets it. Other runtimes report nothing here.
    var sandboxed = r.getState() == ContainerState.CONTAINER_RUNNING_VALUE ? sandboxedStats(r)
        : java.util.Optional.<io.berth.runtime.SandboxedStats>empty();
    sandboxed.ifPresent(x -> {
      b.setCpu(cpu(c.id(), x.cpuUsageNanos(), now, wall));
      b.setMemory(MemoryUsage.newBuilder().setTimestamp(wall).setUsageBytes(u64(x.memoryUsageBytes()))
          .setWorkingSetBytes(u64(x.memoryUsageBytes())));
    });
    cgroups.read(cgroupPath(c)).filter(x -> sandboxed.isEmpty()).ifPresent(x -> {
      b.setCpu(cpu(c.id(), x.cpuUsageNanos(), now, wall));
      MemoryUsage.Builder m = MemoryUsage.newBuilder().setTimestamp(wall).setUsageBytes(u64(x.memoryUsage()))
          .setWorkingSetBytes(u64(x.workingSet()));
      if (x.rss() >= 0) {
        m.setRssBytes(u64(x.rss()));
      }
      if (x.pageFaults() >= 0) {
        m.setPageFaults(u64(x.pageFaults()));
      }
      if (x.majorPageFaults() >= 0) {
        m.setMajorPageFaults(u64(x.majorPageFaults()));
      }
      if (x.limit() > 0 && x.limit() < Long.MAX_VALUE / 2) {
        m.setAvailableBytes(u64(Math.max(0, x.limit() - x.workingSet())));
      }
      b.setMemory(m);
    });
    LayerUsage lu = layers.compute(c.id(), (k, old) -> {
      if (old != null && now - old.atNanos() < LAYER_TTL_NANOS) {
        return old;
      }
      try {
        return new LayerUsage(now, st.snapshotter.activeUsageBytes(c.id()));
      } catch (RuntimeException e) {
        return old;
      }
    });
    if (lu != null) {
      b.setWritableLayer(FilesystemUsage.newBuilder().setTimestamp(wall)
          .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(st.settings.rootDir().resolve("snapshots")
              .toString()))
          .setUsedBytes(u64(lu.bytes())));
    }
    return b.build();
  }

  private java.util.Optional<io.berth.runtime.SandboxedStats> sandboxedStats(ContainerRecord r) {
    try {
      return st.runtimes.handler(r.getRuntimeHandler()).sandboxedStats(r.getId());
    } catch (RuntimeException e) {
      return java.util.Optional.empty(); // a handler removed from the config, say: no stats, not a failed call
    }
  }

  /** Cumulative CPU time, and the rate since the previous reading of the same container (nano-cores). */
  private CpuUsage.Builder cpu(String id, long usageNanos, long now, long wall) {
    CpuUsage.Builder cpu = CpuUsage.newBuilder().setTimestamp(wall).setUsageCoreNanoSeconds(u64(usageNanos));
    Sample prev = lastCpu.put(id, new Sample(now, usageNanos));
    if (prev != null && now > prev.atNanos() && usageNanos >= prev.cpuNanos()) {
      cpu.setUsageNanoCores(u64((usageNanos - prev.cpuNanos()) * 1_000_000_000L / (now - prev.atNanos())));
    }
    return cpu;
  }

  /** Drops the readings of removed containers, so the caches stay as large as the set of containers. */
  private void forgetRemoved() {
    lastCpu.keySet().removeIf(id -> st.containers.find(id).isEmpty());
    layers.keySet().removeIf(id -> st.containers.find(id).isEmpty());
    network.retainOnly(Set.copyOf(st.sandboxes.all().stream().map(Sandbox::id).toList()));
  }

  private static UInt64Value u64(long v) {
    return UInt64Value.newBuilder().setValue(Math.max(0, v)).build();
  }
}
