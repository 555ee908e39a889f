package io.berth.cri;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Reads CPU and memory figures of one cgroup from the kernel's files, on cgroup v1 (cpuacct, memory hierarchies)
 * or v2 (the unified hierarchy), whichever the host has. Working set = usage - inactive file pages, as the kubelet
 * and cAdvisor compute it.
 */
final class CgroupStats {
  /** One reading; absent figures are -1. */
  record Reading(long cpuUsageNanos, long memoryUsage, long workingSet, long rss, long pageFaults,
      long majorPageFaults, long limit) {}

  private final Path root;
  private final boolean v2;

  CgroupStats(Path root) {
    this.root = root;
    this.v2 = Files.exists(root.resolve("cgroup.controllers"));
  }

  static CgroupStats host() {
    return new CgroupStats(Path.of("/sys/fs/cgroup"));
  }

  boolean unified() {
    return v2;
  }

  /** Empty when the cgroup does not exist (the container is not running). */
  Optional<Reading> read(String cgroupPath) {
    String rel = cgroupPath.startsWith("/") ? cgroupPath.substring(1) : cgroupPath;
    try {
      return Optional.of(v2 ? readV2(root.resolve(rel)) : readV1(rel));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private Reading readV1(String rel) throws IOException {
    long cpu = readLong(root.resolve("cpuacct").resolve(rel).resolve("cpuacct.usage"));
    Path mem = root.resolve("memory").resolve(rel);
    long usage = readLong(mem.resolve("memory.usage_in_bytes"));
    Map<String, Long> stat = readStat(mem.resolve("memory.stat"));
    long inactiveFile = stat.getOrDefault("total_inactive_file", stat.getOrDefault("inactive_file", 0L));
    long limit = readLong(mem.resolve("memory.limit_in_bytes"));
    return new Reading(cpu, usage, Math.max(0, usage - inactiveFile),
        stat.getOrDefault("total_rss", stat.getOrDefault("rss", -1L)),
        stat.getOrDefault("total_pgfault", stat.getOrDefault("pgfault", -1L)),
        stat.getOrDefault("total_pgmajfault", stat.getOrDefault("pgmajfault", -1L)), limit);
  }

  private Reading readV2(Path dir) throws IOException {
    Map<String, Long> cpu = readStat(dir.resolve("cpu.stat"));
    long usage = readLong(dir.resolve("memory.current"));
    Map<String, Long> stat = readStat(dir.resolve("memory.stat"));
    String max = Files.readString(dir.resolve("memory.max")).trim();
    long limit = max.equals("max") ? -1 : Long.parseLong(max);
    return new Reading(cpu.getOrDefault("usage_usec", 0L) * 1000, usage,
        Math.max(0, usage - stat.getOrDefault("inactive_file", 0L)), stat.getOrDefault("anon", -1L),
        stat.getOrDefault("pgfault", -1L), stat.getOrDefault("pgmajfault", -1L), limit);
  }

  private static long readLong(Path p) throws IOException {
    return Long.parseLong(Files.readString(p).trim());
  }

  private static Map<String, Long> readStat(Path p) throws IOException {
    Map<String, Long> m = new HashMap<>();
    for (String line : Files.readAllLines(p)) {
      int sp = line.indexOf(' ');
      if (sp > 0) {
        try {
          m.put(line.substring(0, sp), Long.parseLong(line.substring(sp + 1).trim()));
        } catch (NumberFormatException e) {
          // not a counter
        }
      }
    }
    return m;
  }
}
