package io.berth.cri;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Reads CPU, memory and task figures of one cgroup from the kernel's files, on cgroup v1 (cpuacct, cpu, memory and
 * pids hierarchies) or v2 (the unified hierarchy), whichever the host has. Working set = usage - inactive file pages,
 * as the kubelet and cAdvisor compute it. {@link #read} is the few files the stats calls need; {@link #readDetail}
 * everything the cAdvisor metrics need (about twenty small files).
 */
final class CgroupStats {
  /** One reading; absent figures are -1. */
  record Reading(long cpuUsageNanos, long memoryUsage, long workingSet, long rss, long pageFaults,
      long majorPageFaults, long limit) {}

  /** Everything {@link #readDetail} reads; absent figures (file missing on this kernel or hierarchy) are -1. */
  record Detail(Cpu cpu, Memory memory, Tasks tasks, Limits limits) {}

  /** Cumulative CPU time and CFS bandwidth throttling. */
  record Cpu(long usageNanos, long userNanos, long systemNanos, long periods, long throttledPeriods,
      long throttledNanos) {}

  /**
   * Memory figures in bytes, except {@code failcnt} (times usage hit the limit), the page fault counters and
   * {@code oomKills} (processes the OOM killer killed in this cgroup).
   */
  record Memory(long usage, long maxUsage, long failcnt, long workingSet, long rss, long cache, long mappedFile,
      long kernel, long swap, long activeFile, long inactiveFile, long pageFaults, long majorPageFaults,
      long oomKills) {}

  /** Processes (thread-group leaders), threads (tasks, what pids.current counts) and the pids limit (0: none). */
  record Tasks(long processes, long threads, long threadsMax) {}

  /**
   * The limits the cgroup enforces: CFS period and quota in microseconds (quota 0: none), CPU shares (on v2 from
   * cpu.weight, converted back as cAdvisor does), and memory, reservation and swap limits in bytes (0: none).
   */
  record Limits(long cpuPeriod, long cpuQuota, long cpuShares, long memoryLimit, long memoryReservation,
      long memorySwapLimit) {}

  /** cgroup v1 cpuacct.stat counts in USER_HZ, which is 100 on every Linux ABI. */
  private static final long NANOS_PER_USER_HZ_TICK = 10_000_000L;
  /** Limits above this are "unlimited" (the kernel rounds the v1 maximum down to a page), reported as 0 (cAdvisor). */
  private static final long UNLIMITED = 1L << 62;

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
    String rel = relative(cgroupPath);
    try {
      return Optional.of(v2 ? readV2(root.resolve(rel)) : readV1(rel));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** Empty when the cgroup does not exist (the container is not running). */
  Optional<Detail> readDetail(String cgroupPath) {
    String rel = relative(cgroupPath);
    try {
      return Optional.of(v2 ? detailV2(root.resolve(rel)) : detailV1(rel));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static String relative(String cgroupPath) {
    return cgroupPath.startsWith("/") ? cgroupPath.substring(1) : cgroupPath;
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

  /** The v1 files, per hierarchy (https://docs.kernel.org/admin-guide/cgroup-v1/memory.html and cpuacct.html). */
  private Detail detailV1(String rel) throws IOException {
    Path cpuacct = root.resolve("cpuacct").resolve(rel);
    Path cpuDir = root.resolve("cpu").resolve(rel);
    Path mem = root.resolve("memory").resolve(rel);
    Path pids = root.resolve("pids").resolve(rel);

    long usageNanos = readLong(cpuacct.resolve("cpuacct.usage")); // the one file that must exist
    long user = optLong(cpuacct.resolve("cpuacct.usage_user"));
    long system = optLong(cpuacct.resolve("cpuacct.usage_sys"));
    if (user < 0 || system < 0) { // kernels before 4.7
      Map<String, Long> ticks = optStat(cpuacct.resolve("cpuacct.stat"));
      user = ticks.containsKey("user") ? ticks.get("user") * NANOS_PER_USER_HZ_TICK : -1;
      system = ticks.containsKey("system") ? ticks.get("system") * NANOS_PER_USER_HZ_TICK : -1;
    }
    Map<String, Long> cfs = optStat(cpuDir.resolve("cpu.stat"));
    Cpu cpu = new Cpu(usageNanos, user, system, cfs.getOrDefault("nr_periods", -1L),
        cfs.getOrDefault("nr_throttled", -1L), cfs.getOrDefault("throttled_time", -1L));

    long usage = readLong(mem.resolve("memory.usage_in_bytes"));
    Map<String, Long> stat = readStat(mem.resolve("memory.stat"));
    long inactiveFile = total(stat, "inactive_file");
    long swap = total(stat, "swap");
    if (swap < 0) {
      long memsw = optLong(mem.resolve("memory.memsw.usage_in_bytes"));
      swap = memsw < 0 ? -1 : Math.max(0, memsw - usage);
    }
    Memory memory = new Memory(usage, optLong(mem.resolve("memory.max_usage_in_bytes")),
        optLong(mem.resolve("memory.failcnt")), Math.max(0, usage - Math.max(0, inactiveFile)), total(stat, "rss"),
        total(stat, "cache"), total(stat, "mapped_file"), optLong(mem.resolve("memory.kmem.usage_in_bytes")), swap,
        total(stat, "active_file"), inactiveFile, total(stat, "pgfault"), total(stat, "pgmajfault"),
        optStat(mem.resolve("memory.oom_control")).getOrDefault("oom_kill", -1L));

    Tasks tasks = new Tasks(countLines(Files.isDirectory(pids) ? pids.resolve("cgroup.procs")
        : mem.resolve("cgroup.procs")), optLong(pids.resolve("pids.current")), maxOrZero(pids.resolve("pids.max")));

    long quota = optLong(cpuDir.resolve("cpu.cfs_quota_us"));
    Limits limits = new Limits(optLong(cpuDir.resolve("cpu.cfs_period_us")), quota < 0 ? 0 : quota,
        optLong(cpuDir.resolve("cpu.shares")), limit(optLong(mem.resolve("memory.limit_in_bytes"))),
        limit(optLong(mem.resolve("memory.soft_limit_in_bytes"))),
        limit(optLong(mem.resolve("memory.memsw.limit_in_bytes"))));
    return new Detail(cpu, memory, tasks, limits);
  }

  /** The v2 files (https://docs.kernel.org/admin-guide/cgroup-v2.html). */
  private Detail detailV2(Path dir) throws IOException {
    Map<String, Long> cs = readStat(dir.resolve("cpu.stat")); // the one file that must exist
    Cpu cpu = new Cpu(micros(cs, "usage_usec"), micros(cs, "user_usec"), micros(cs, "system_usec"),
        cs.getOrDefault("nr_periods", -1L), cs.getOrDefault("nr_throttled", -1L), micros(cs, "throttled_usec"));

    long usage = optLong(dir.resolve("memory.current"));
    Map<String, Long> stat = optStat(dir.resolve("memory.stat"));
    Map<String, Long> events = optStat(dir.resolve("memory.events"));
    long inactiveFile = stat.getOrDefault("inactive_file", -1L);
    Memory memory = new Memory(usage, optLong(dir.resolve("memory.peak")),
        // "max": times usage was about to go over memory.max, what v1 counts in memory.failcnt
        events.getOrDefault("max", -1L),
        usage < 0 ? -1 : Math.max(0, usage - Math.max(0, inactiveFile)), stat.getOrDefault("anon", -1L),
        stat.getOrDefault("file", -1L), stat.getOrDefault("file_mapped", -1L), stat.getOrDefault("kernel", -1L),
        optLong(dir.resolve("memory.swap.current")), stat.getOrDefault("active_file", -1L), inactiveFile,
        stat.getOrDefault("pgfault", -1L), stat.getOrDefault("pgmajfault", -1L), events.getOrDefault("oom_kill", -1L));

    Tasks tasks = new Tasks(countLines(dir.resolve("cgroup.procs")), optLong(dir.resolve("pids.current")),
        maxOrZero(dir.resolve("pids.max")));

    long period = -1;
    long quota = -1;
    String cpuMax = optString(dir.resolve("cpu.max"));
    if (cpuMax != null) {
      String[] f = cpuMax.split("\\s+");
      quota = f[0].equals("max") ? 0 : Long.parseLong(f[0]);
      period = f.length > 1 ? Long.parseLong(f[1]) : -1;
    }
    long weight = optLong(dir.resolve("cpu.weight"));
    // cAdvisor's inverse of the shares -> weight mapping runc and crun apply (weight 1..10000, shares 2..262144)
    long shares = weight < 0 ? -1 : 2 + (weight - 1) * 262142 / 9999;
    Limits limits = new Limits(period, quota, shares, limit(maxOrZero(dir.resolve("memory.max"))),
        limit(optLong(dir.resolve("memory.min"))), limit(maxOrZero(dir.resolve("memory.swap.max"))));
    return new Detail(cpu, memory, tasks, limits);
  }

  /** v1 memory.stat: the hierarchical {@code total_} figure, else the cgroup's own, else -1. */
  private static long total(Map<String, Long> stat, String key) {
    return stat.getOrDefault("total_" + key, stat.getOrDefault(key, -1L));
  }

  private static long micros(Map<String, Long> stat, String key) {
    Long v = stat.get(key);
    return v == null ? -1 : v * 1000;
  }

  private static long limit(long v) {
    return v < 0 ? v : v >= UNLIMITED ? 0 : v;
  }

  private static long readLong(Path p) throws IOException {
    return Long.parseLong(Files.readString(p).trim());
  }

  /** -1 when the file does not exist on this kernel. */
  private static long optLong(Path p) throws IOException {
    String s = optString(p);
    return s == null ? -1 : Long.parseLong(s);
  }

  /** A "max"-or-number file: "max" is 0 (no limit), a missing file -1. */
  private static long maxOrZero(Path p) throws IOException {
    String s = optString(p);
    return s == null ? -1 : s.equals("max") ? 0 : Long.parseLong(s);
  }

  private static String optString(Path p) throws IOException {
    try {
      return Files.readString(p).trim();
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  private static long countLines(Path p) throws IOException {
    String s = optString(p);
    return s == null ? -1 : s.isEmpty() ? 0 : s.lines().count();
  }

  private static Map<String, Long> optStat(Path p) throws IOException {
    try {
      return readStat(p);
    } catch (NoSuchFileException e) {
      return Map.of();
    }
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
