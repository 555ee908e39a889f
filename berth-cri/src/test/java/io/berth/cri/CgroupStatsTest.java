package io.berth.cri;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Both hierarchies, laid out as the kernel lays them out (this host has v1; most nodes today have v2). */
class CgroupStatsTest {
  @TempDir Path root;

  @Test
  void read_cgroupV2_usesUnifiedFilesAndSubtractsInactiveFile() throws Exception {
    Files.writeString(root.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
    Path c = Files.createDirectories(root.resolve("kubepods/berth-abc"));
    Files.writeString(c.resolve("cpu.stat"), "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n");
    Files.writeString(c.resolve("memory.current"), "104857600\n");
    Files.writeString(c.resolve("memory.max"), "209715200\n");
    Files.writeString(c.resolve("memory.stat"), "anon 52428800\nfile 52428800\ninactive_file 20971520\n"
        + "pgfault 1234\npgmajfault 5\n");
    CgroupStats s = new CgroupStats(root);
    assertThat(s.unified()).isTrue();
    CgroupStats.Reading r = s.read("/kubepods/berth-abc").orElseThrow();
    assertThat(r.cpuUsageNanos()).isEqualTo(2_500_000_000L);
    assertThat(r.memoryUsage()).isEqualTo(104_857_600L);
    assertThat(r.workingSet()).isEqualTo(104_857_600L - 20_971_520L);
    assertThat(r.rss()).isEqualTo(52_428_800L);
    assertThat(r.pageFaults()).isEqualTo(1234);
    assertThat(r.majorPageFaults()).isEqualTo(5);
    assertThat(r.limit()).isEqualTo(209_715_200L);
  }

  @Test
  void read_cgroupV1_usesCpuacctAndMemoryHierarchies() throws Exception {
    Path cpu = Files.createDirectories(root.resolve("cpuacct/berth/berth-abc"));
    Path mem = Files.createDirectories(root.resolve("memory/berth/berth-abc"));
    Files.writeString(cpu.resolve("cpuacct.usage"), "123456789\n");
    Files.writeString(mem.resolve("memory.usage_in_bytes"), "1048576\n");
    Files.writeString(mem.resolve("memory.limit_in_bytes"), "9223372036854771712\n");
    Files.writeString(mem.resolve("memory.stat"), "cache 0\nrss 4096\ntotal_rss 524288\ntotal_inactive_file 4096\n"
        + "total_pgfault 77\ntotal_pgmajfault 1\n");
    CgroupStats.Reading r = new CgroupStats(root).read("/berth/berth-abc").orElseThrow();
    assertThat(r.cpuUsageNanos()).isEqualTo(123_456_789L);
    assertThat(r.workingSet()).isEqualTo(1_048_576L - 4096);
    assertThat(r.rss()).isEqualTo(524_288L);
    assertThat(r.pageFaults()).isEqualTo(77);
  }

  @Test
  void read_missingCgroup_isEmpty() {
    assertThat(new CgroupStats(root).read("/berth/gone")).isEmpty();
  }

  /** A v2 container cgroup as kernel 6.x lays it out (memory.peak since 5.19, "kernel" in memory.stat since 5.18). */
  static Path fakeV2(Path root) throws Exception {
    Files.writeString(root.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
    Path c = Files.createDirectories(root.resolve("kubepods/berth-abc"));
    Files.writeString(c.resolve("cpu.stat"), "usage_usec 7500000\nuser_usec 5000000\nsystem_usec 2500000\n"
        + "core_sched.force_idle_usec 0\nnr_periods 40\nnr_throttled 3\nthrottled_usec 2100000\n"
        + "nr_bursts 0\nburst_usec 0\n");
    Files.writeString(c.resolve("cpu.max"), "50000 100000\n");
    Files.writeString(c.resolve("cpu.weight"), "39\n");
    Files.writeString(c.resolve("memory.current"), "104857600\n");
    Files.writeString(c.resolve("memory.peak"), "125829120\n");
    Files.writeString(c.resolve("memory.max"), "209715200\n");
    Files.writeString(c.resolve("memory.min"), "0\n");
    Files.writeString(c.resolve("memory.swap.current"), "4096\n");
    Files.writeString(c.resolve("memory.swap.max"), "max\n");
    Files.writeString(c.resolve("memory.events"), "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n");
    Files.writeString(c.resolve("memory.stat"), "anon 52428800\nfile 41943040\nkernel 1048576\n"
        + "kernel_stack 32768\nfile_mapped 8388608\nactive_file 20971520\ninactive_file 20971520\n"
        + "pgfault 1234\npgmajfault 5\n");
    Files.writeString(c.resolve("pids.current"), "9\n");
    Files.writeString(c.resolve("pids.max"), "max\n");
    Files.writeString(c.resolve("cgroup.procs"), "101\n102\n");
    return c;
  }

  /** A v1 container cgroup spread over the cpuacct, cpu, memory and pids hierarchies (kernel 6.x, swap accounting). */
  static void fakeV1(Path root) throws Exception {
    Path cpuacct = Files.createDirectories(root.resolve("cpuacct/berth/berth-abc"));
    Path cpu = Files.createDirectories(root.resolve("cpu/berth/berth-abc"));
    Path mem = Files.createDirectories(root.resolve("memory/berth/berth-abc"));
    Path pids = Files.createDirectories(root.resolve("pids/berth/berth-abc"));
    Files.writeString(cpuacct.resolve("cpuacct.usage"), "3999999999\n");
    Files.writeString(cpuacct.resolve("cpuacct.usage_user"), "3000000000\n");
    Files.writeString(cpuacct.resolve("cpuacct.usage_sys"), "999999999\n");
    Files.writeString(cpu.resolve("cpu.stat"), "nr_periods 12\nnr_throttled 2\nthrottled_time 1500000000\n");
    Files.writeString(cpu.resolve("cpu.cfs_period_us"), "100000\n");
    Files.writeString(cpu.resolve("cpu.cfs_quota_us"), "-1\n");
    Files.writeString(cpu.resolve("cpu.shares"), "1024\n");
    Files.writeString(mem.resolve("memory.usage_in_bytes"), "73400320\n");
    Files.writeString(mem.resolve("memory.max_usage_in_bytes"), "80000000\n");
    Files.writeString(mem.resolve("memory.failcnt"), "3\n");
    Files.writeString(mem.resolve("memory.limit_in_bytes"), "9223372036854771712\n");
    Files.writeString(mem.resolve("memory.soft_limit_in_bytes"), "9223372036854771712\n");
    Files.writeString(mem.resolve("memory.memsw.limit_in_bytes"), "268435456\n");
    Files.writeString(mem.resolve("memory.memsw.usage_in_bytes"), "73408512\n");
    Files.writeString(mem.resolve("memory.kmem.usage_in_bytes"), "524288\n");
    Files.writeString(mem.resolve("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n");
    Files.writeString(mem.resolve("memory.stat"), "cache 100\nrss 200\nmapped_file 300\n"
        + "total_cache 6291456\ntotal_rss 67108864\ntotal_mapped_file 2097152\ntotal_swap 8192\n"
        + "total_pgfault 77\ntotal_pgmajfault 1\ntotal_inactive_file 4194304\ntotal_active_file 2097152\n");
    Files.writeString(pids.resolve("pids.current"), "3\n");
    Files.writeString(pids.resolve("pids.max"), "1024\n");
    Files.writeString(pids.resolve("cgroup.procs"), "201\n");
  }

  @Test
  void readDetail_cgroupV2_everyFigureFromTheUnifiedFiles() throws Exception {
    fakeV2(root);
    CgroupStats.Detail d = new CgroupStats(root).readDetail("/kubepods/berth-abc").orElseThrow();
    assertThat(d.cpu()).isEqualTo(new CgroupStats.Cpu(7_500_000_000L, 5_000_000_000L, 2_500_000_000L, 40, 3,
        2_100_000_000L));
    assertThat(d.memory()).isEqualTo(new CgroupStats.Memory(104_857_600L, 125_829_120L, 7,
        104_857_600L - 20_971_520L, 52_428_800L, 41_943_040L, 8_388_608L, 1_048_576L, 4096, 20_971_520L,
        20_971_520L, 1234, 5, 1));
    assertThat(d.tasks()).isEqualTo(new CgroupStats.Tasks(2, 9, 0));
    // weight 39 is what runc writes for 1024 shares; cAdvisor's inverse of that mapping is lossy: 998
    assertThat(d.limits()).isEqualTo(new CgroupStats.Limits(100_000, 50_000, 998, 209_715_200L, 0, 0));
  }

  @Test
  void readDetail_cgroupV1_everyFigureFromItsHierarchy() throws Exception {
    fakeV1(root);
    CgroupStats.Detail d = new CgroupStats(root).readDetail("/berth/berth-abc").orElseThrow();
    assertThat(d.cpu()).isEqualTo(new CgroupStats.Cpu(3_999_999_999L, 3_000_000_000L, 999_999_999L, 12, 2,
        1_500_000_000L));
    assertThat(d.memory()).isEqualTo(new CgroupStats.Memory(73_400_320L, 80_000_000L, 3, 73_400_320L - 4_194_304L,
        67_108_864L, 6_291_456L, 2_097_152L, 524_288L, 8192, 2_097_152L, 4_194_304L, 77, 1, 4));
    assertThat(d.tasks()).isEqualTo(new CgroupStats.Tasks(1, 3, 1024));
    assertThat(d.limits()).as("no quota, unlimited memory and reservation reported as 0")
        .isEqualTo(new CgroupStats.Limits(100_000, 0, 1024, 0, 0, 268_435_456L));
  }

  @Test
  void readDetail_cgroupV1OldKernel_cpuTimesFromTicksAndMissingFilesAbsent() throws Exception {
    Path cpuacct = Files.createDirectories(root.resolve("cpuacct/berth/berth-old"));
    Path mem = Files.createDirectories(root.resolve("memory/berth/berth-old"));
    Files.writeString(cpuacct.resolve("cpuacct.usage"), "5000000000\n");
    Files.writeString(cpuacct.resolve("cpuacct.stat"), "user 420\nsystem 80\n");
    Files.writeString(mem.resolve("memory.usage_in_bytes"), "1048576\n");
    Files.writeString(mem.resolve("memory.stat"), "rss 4096\ninactive_file 0\n");
    Files.writeString(mem.resolve("cgroup.procs"), "");
    CgroupStats.Detail d = new CgroupStats(root).readDetail("/berth/berth-old").orElseThrow();
    assertThat(d.cpu()).isEqualTo(new CgroupStats.Cpu(5_000_000_000L, 4_200_000_000L, 800_000_000L, -1, -1, -1));
    assertThat(d.memory().rss()).as("own figure when there is no total_").isEqualTo(4096);
    assertThat(d.memory().swap()).isEqualTo(-1);
    assertThat(d.memory().oomKills()).isEqualTo(-1);
    assertThat(d.tasks()).isEqualTo(new CgroupStats.Tasks(0, -1, -1));
  }

  @Test
  void readDetail_missingCgroup_isEmpty() throws Exception {
    assertThat(new CgroupStats(root).readDetail("/berth/gone")).isEmpty();
    Files.writeString(root.resolve("cgroup.controllers"), "cpu memory\n");
    assertThat(new CgroupStats(root).readDetail("/berth/gone")).isEmpty();
  }
}
