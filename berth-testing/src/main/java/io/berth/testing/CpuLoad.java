package io.berth.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Busy loops ({@code sh}) in a cgroup of their own, as a node's running pods load it: in the cgroup v1 {@code cpu}
 * hierarchy (weight 2048, what the kubelet gives its pods on 2 CPUs) and {@code cpuacct}, and in the v2 hierarchy
 * (the whole tree, or a hybrid's {@code unified} mount), wherever they are mounted. Closing stops the loops and
 * removes the cgroups.
 */
public final class CpuLoad implements AutoCloseable {
  private static final Path FS = Path.of("/sys/fs/cgroup");
  private static final AtomicInteger SEQ = new AtomicInteger();

  private final List<Process> loops = new ArrayList<>();
  private final List<Path> cgroups;

  private CpuLoad(List<Path> cgroups) {
    this.cgroups = cgroups;
  }

  /** {@code loops} busy loops, each in every hierarchy's cgroup made for them. */
  public static CpuLoad start(int loops) throws IOException {
    String name = "berth-test-load-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
    Set<Path> hierarchies = new LinkedHashSet<>(); // cpu and cpuacct may be one hierarchy under two names
    List<Path> candidates = new ArrayList<>(List.of(FS.resolve("cpu"), FS.resolve("cpuacct")));
    if (v2Hierarchy() != null) {
      candidates.add(v2Hierarchy());
    }
    for (Path h : candidates) {
      if (Files.exists(h.resolve("cgroup.procs"))) {
        hierarchies.add(h.toRealPath());
      }
    }
    CpuLoad load = new CpuLoad(new ArrayList<>());
    try {
      for (Path h : hierarchies) {
        Path c = Files.createDirectories(h.resolve(name));
        load.cgroups.add(c);
        if (Files.exists(c.resolve("cpu.shares"))) {
          Files.writeString(c.resolve("cpu.shares"), "2048");
        }
      }
      for (int i = 0; i < loops; i++) {
        Process p = new ProcessBuilder("sh", "-c", "while :; do :; done").start();
        load.loops.add(p);
        for (Path c : load.cgroups) {
          Files.writeString(c.resolve("cgroup.procs"), Long.toString(p.pid()));
        }
      }
    } catch (IOException | RuntimeException e) {
      load.close();
      throw e;
    }
    return load;
  }

  /** The v1 {@code cpuacct} hierarchy, if mounted. */
  public static Path v1CpuAccounting() {
    Path h = FS.resolve("cpuacct");
    return Files.exists(h.resolve("cpuacct.usage")) ? h : null;
  }

  /** The v2 hierarchy (the whole tree, or a hybrid's {@code unified} mount), if mounted. */
  public static Path v2Hierarchy() {
    for (Path h : List.of(FS, FS.resolve("unified"))) {
      if (Files.exists(h.resolve("cgroup.controllers"))) {
        return h;
      }
    }
    return null;
  }

  /** The cgroups made, one per hierarchy. */
  public List<Path> cgroups() {
    return List.copyOf(cgroups);
  }

  @Override
  public void close() {
    for (Process p : loops) {
      p.destroyForcibly();
    }
    for (Process p : loops) {
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (Path c : cgroups) {
      for (int i = 0; i < 50 && Files.exists(c); i++) {
        try {
          Files.delete(c); // rmdir: refused while the kernel still counts an exiting loop in it
        } catch (IOException e) {
          try {
            Thread.sleep(100);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            return;
          }
        }
      }
    }
  }
}
