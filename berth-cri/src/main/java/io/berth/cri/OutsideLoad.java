package io.berth.cri;

import io.berth.linux.CgroupMembership;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * How many CPUs the node's other work is using: CPU time spent in the top-level cgroups that do not hold berthd,
 * per second, over the last ~200 ms.
 *
 * <p>The {@link StartQueue} orders pod starts by holding some of their steps back, which pays on a node where pod
 * starts compete only with each other. Where other work wants the CPUs too, holding steps back only hands that work
 * a bigger share (each runnable task of berthd's weighs against it), so the queue steps aside. Pods' containers
 * count as other work (they run in the kubelet's pod cgroups); so does the OCI runtime's init of a container being
 * started, once it has joined the container's cgroup, a few milliseconds of CPU a pod: the threshold sits above it.
 * Where berthd itself runs in the root cgroup (no systemd), everything at the root level is its own: its children,
 * conmon, the runtime and CNI plugins, and also other root-level daemons, which this does not see.
 *
 * <p>Read from the cgroup v1 {@code cpuacct} hierarchy where there is one, else from cgroup v2's {@code cpu.stat};
 * with neither, the load is unknown and the queue behaves as if the node had no other work.
 */
final class OutsideLoad {
  /** Samples are taken at most this often, when asked for. */
  private static final long SAMPLE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
  /**
   * The load is the rate between the newest sample and the newest one at least this much older; after a quiet spell
   * with no sample, the average since the last one.
   */
  private static final long WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  private final Path hierarchy;
  /** berthd's cgroup in that hierarchy, relative ("" for the root). */
  private final String own;
  private final boolean v2;
  private final LongSupplier clock;

  /** Oldest first; the first is the newest sample at least a window older than the last. */
  private final ArrayDeque<Sample> samples = new ArrayDeque<>();

  /** Usage in ns of each top-level cgroup other than berthd's, at {@code at}. */
  private record Sample(long at, Map<String, Long> usage) {}

  OutsideLoad(Path hierarchy, String own, boolean v2, LongSupplier clock) {
    this.hierarchy = hierarchy;
    this.own = own;
    this.v2 = v2;
    this.clock = clock;
    samples.add(sample(clock.getAsLong()));
  }

  /** For berthd: from /proc/self/cgroup and the hierarchies under /sys/fs/cgroup; empty when there are none. */
  static Optional<OutsideLoad> forNode() {
    return find(Path.of("/sys/fs/cgroup"), Path.of("/proc/self/cgroup"), System::nanoTime);
  }

  static Optional<OutsideLoad> find(Path cgroupRoot, Path selfCgroup, LongSupplier clock) {
    List<CgroupMembership> memberships = CgroupMembership.read(selfCgroup);
    for (CgroupMembership m : memberships) {
      if (m.controllers().contains("cpuacct")) {
        for (String mount : List.of(String.join(",", m.controllers()), "cpuacct", "cpu,cpuacct")) {
          Path h = cgroupRoot.resolve(mount);
          if (Files.exists(h.resolve("cpuacct.usage"))) {
            return Optional.of(new OutsideLoad(h, m.relativePath(), false, clock));
          }
        }
      }
    }
    for (CgroupMembership m : memberships) {
      if (m.unified() && Files.exists(cgroupRoot.resolve("cgroup.controllers"))) {
        return Optional.of(new OutsideLoad(cgroupRoot, m.relativePath(), true, clock));
      }
    }
    return Optional.empty();
  }

  /**
   * CPUs' worth of other work: over the last window, or since the sample before a quiet spell. -1 while unknown (the
   * samples are less than a millisecond apart). Takes a sample at most every 50 ms; cheap in between.
   */
  synchronized double cpus() {
    long now = clock.getAsLong();
    if (now - samples.getLast().at() >= SAMPLE_NANOS) {
      samples.addLast(sample(now));
      while (samples.size() > 2) {
        Iterator<Sample> it = samples.iterator();
        it.next();
        if (now - it.next().at() < WINDOW_NANOS) {
          break;
        }
        samples.removeFirst(); // the second is old enough to start the window
      }
    }
    Sample older = samples.getFirst();
    Sample newer = samples.getLast();
    long span = newer.at() - older.at();
    if (span < TimeUnit.MILLISECONDS.toNanos(1)) {
      return -1;
    }
    long used = 0;
    for (Map.Entry<String, Long> e : newer.usage().entrySet()) {
      Long before = older.usage().get(e.getKey());
      if (before != null && e.getValue() > before) {
        used += e.getValue() - before; // a cgroup made or remade meanwhile has no start to count from
      }
    }
    return (double) used / span;
  }

  private Sample sample(long at) {
    Map<String, Long> usage = new HashMap<>();
    String ownTop = own.isEmpty() ? null : own.split("/", 2)[0];
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(hierarchy, Files::isDirectory)) {
      for (Path dir : ds) {
        String name = dir.getFileName().toString();
        if (name.equals(ownTop)) {
          continue;
        }
        long ns = usageNanos(dir);
        if (ns >= 0) {
          usage.put(name, ns);
        }
      }
    } catch (IOException e) {
      // the hierarchy went away: nothing to count
    }
    return new Sample(at, usage);
  }

  private long usageNanos(Path dir) {
    try {
      if (!v2) {
        return Long.parseLong(Files.readString(dir.resolve("cpuacct.usage")).trim());
      }
      for (String line : Files.readAllLines(dir.resolve("cpu.stat"))) {
        if (line.startsWith("usage_usec ")) {
          return Long.parseLong(line.substring("usage_usec ".length()).trim()) * 1000;
        }
      }
    } catch (IOException | RuntimeException e) {
      // removed meanwhile, or not a cgroup this kernel accounts
    }
    return -1;
  }
}
