package io.berth.runtime;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Checks a runtime handler at start: binary, version, features, and host conditions it cannot run under. */
final class HandlerProbe {
  private static final Duration TIMEOUT = Duration.ofSeconds(15);

  private HandlerProbe() {}

  static HandlerStatus probe(RuntimeHandler h, Path conmon, Path cgroupRoot) {
    String conmonProblem = binaryProblem(conmon, "conmon");
    if (conmonProblem != null) {
      return new HandlerStatus(h.name(), false, conmonProblem, "", false, false);
    }
    String problem = binaryProblem(h.binary(), h.name());
    if (problem != null) {
      return new HandlerStatus(h.name(), false, problem, "", false, false);
    }
    RuntimeCommand.Result v;
    try {
      v = RuntimeCommand.run(List.of(h.binary().toString(), "--version"), null, TIMEOUT);
    } catch (RuntimeException e) {
      return new HandlerStatus(h.name(), false, h.binary() + " --version failed: " + e.getMessage(), "", false, false);
    }
    if (!v.ok()) {
      return new HandlerStatus(h.name(), false, h.binary() + " --version failed: " + v.message(), "", false, false);
    }
    String version = v.stdout().strip().lines().findFirst().orElse("");
    boolean rro = false;
    try {
      RuntimeCommand.Result f = RuntimeCommand.run(List.of(h.binary().toString(), "features"), null, TIMEOUT);
      rro = f.ok() && f.stdout().contains("\"rro\"");
    } catch (RuntimeException e) {
      // no features command
    }
    if (isCrun(h, version)) {
      String hybrid = crunHybridProblem(cgroupRoot);
      if (hybrid != null) {
        return new HandlerStatus(h.name(), false, hybrid, version, rro, false);
      }
    }
    return new HandlerStatus(h.name(), true, "", version, rro, isGvisor(version));
  }

  /** runsc prints "runsc version 0.0~20221219.0" (Debian) or "runsc version release-20240807.0". */
  static boolean isGvisor(String version) {
    return version.startsWith("runsc ");
  }

  static boolean isCrun(RuntimeHandler h, String version) {
    return version.startsWith("crun") || h.binary().getFileName().toString().contains("crun");
  }

  /**
   * crun (1.8) refuses hybrid cgroups (v1 hierarchies on a tmpfs plus a cgroup2 at {@code unified}) as soon as the
   * cgroup2 hierarchy has any controller: "cgroups in hybrid mode not supported, drop all controllers from
   * cgroupv2".
   */
  static String crunHybridProblem(Path cgroupRoot) {
    try {
      if (Files.exists(cgroupRoot.resolve("cgroup.controllers"))) {
        return null; // unified mode
      }
      FileStore fs = Files.getFileStore(cgroupRoot);
      Path controllers = cgroupRoot.resolve("unified/cgroup.controllers");
      if (!"tmpfs".equals(fs.type()) || !Files.exists(controllers)) {
        return null;
      }
      String list = Files.readString(controllers).strip();
      if (list.isEmpty()) {
        return null;
      }
      return "crun does not support hybrid cgroups while the cgroup2 hierarchy at " + cgroupRoot.resolve("unified")
          + " has controllers (" + list + "); mount them as cgroup v1 hierarchies (for example "
          + "'mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb') or boot with the unified hierarchy";
    } catch (IOException e) {
      return null;
    }
  }

  private static String binaryProblem(Path binary, String what) {
    if (binary == null || !Files.isRegularFile(binary)) {
      return what + " binary " + binary + " not found";
    }
    if (!Files.isExecutable(binary)) {
      return what + " binary " + binary + " is not executable";
    }
    return null;
  }
}
