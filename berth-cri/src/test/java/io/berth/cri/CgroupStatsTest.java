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
}
