package io.berth.oci;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Facts about the runtime handler and the host that change the spec.
 *
 * @param handler runtime handler name (runc, crun, runsc)
 * @param cgroupDriver {@code cgroupfs} or {@code systemd}
 * @param recursiveReadOnlyMounts the handler understands the {@code rro} mount option
 * @param idmappedMounts the handler makes idmapped mounts itself (not consulted: berthd makes them, see
 *     {@link PodUserNamespace#idmapped})
 * @param cgroupV2 the host runs the unified hierarchy (then containers get a cgroup namespace)
 * @param hugetlbController the hugetlb controller is usable for the handler (else hugepage limits are skipped)
 * @param swapController memory+swap accounting exists (memory.memsw.* on v1, memory.swap.max on v2)
 * @param minOomScoreAdj berthd's own {@code oom_score_adj}: lower values are raised to it, since lowering needs
 *     CAP_SYS_RESOURCE
 * @param gvisor the handler is gVisor's runsc: a pod's containers run in one sandbox kernel, whose PID namespaces
 *     runsc matches by the path in the spec (see {@link SpecGenerator#gvisorPidNamespace})
 */
public record RuntimeOptions(
    String handler,
    String cgroupDriver,
    boolean recursiveReadOnlyMounts,
    boolean idmappedMounts,
    boolean cgroupV2,
    boolean hugetlbController,
    boolean swapController,
    int minOomScoreAdj,
    boolean gvisor) {

  public static final String CGROUPFS = "cgroupfs";
  public static final String SYSTEMD = "systemd";

  public RuntimeOptions {
    if (!CGROUPFS.equals(cgroupDriver) && !SYSTEMD.equals(cgroupDriver)) {
      throw new IllegalArgumentException("cgroup driver must be cgroupfs or systemd: " + cgroupDriver);
    }
  }

  /** Options for a handler that is not gVisor on this host, reading /proc and /sys. */
  public static RuntimeOptions detect(String handler, String cgroupDriver, boolean recursiveReadOnlyMounts) {
    return detect(handler, cgroupDriver, recursiveReadOnlyMounts, false);
  }

  /** Options for a handler on this host, reading /proc and /sys. */
  public static RuntimeOptions detect(String handler, String cgroupDriver, boolean recursiveReadOnlyMounts,
      boolean gvisor) {
    Path cg = Path.of("/sys/fs/cgroup");
    boolean v2 = Files.exists(cg.resolve("cgroup.controllers"));
    boolean hugetlb = v2 ? controllers(cg.resolve("cgroup.controllers")).contains("hugetlb")
        : Files.isDirectory(cg.resolve("hugetlb"));
    boolean swap = v2 ? true : Files.exists(cg.resolve("memory/memory.memsw.limit_in_bytes"));
    return new RuntimeOptions(handler, cgroupDriver, recursiveReadOnlyMounts, false, v2, hugetlb, swap,
        selfOomScoreAdj(), gvisor);
  }

  /** This process's {@code oom_score_adj}. */
  public static int selfOomScoreAdj() {
    try {
      return Integer.parseInt(Files.readString(Path.of("/proc/self/oom_score_adj")).trim());
    } catch (IOException | NumberFormatException e) {
      return 0;
    }
  }

  private static String controllers(Path file) {
    try {
      return " " + Files.readString(file).trim() + " ";
    } catch (IOException e) {
      return "";
    }
  }

  /** Defaults for unit tests and documentation: cgroupfs v1, everything available, oom_score_adj 0. */
  public static RuntimeOptions defaults(String handler) {
    return new RuntimeOptions(handler, CGROUPFS, true, false, false, true, true, 0, false);
  }
}
