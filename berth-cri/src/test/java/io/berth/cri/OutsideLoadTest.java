package io.berth.cri;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.berth.testing.CpuLoad;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The load of the node's other cgroups, from a hierarchy the test writes (cgroup v1 cpuacct and v2 layouts) and a
 * clock it moves; and from this machine's real cgroups, with a busy loop the test puts in one of its own.
 */
class OutsideLoadTest {
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

  @TempDir
  Path root;

  private final AtomicLong clock = new AtomicLong(1_000 * MS);

  @Test
  void v1_countsEveryTopLevelCgroupButBerthds_overTheLastWindow() throws IOException {
    Path acct = root.resolve("cpuacct");
    usage(acct, "kubepods", 0);
    usage(acct, "system.slice", 0);
    usage(acct, "burn", 0);
    Path self = selfCgroup("12:cpuacct:/system.slice/berthd.service\n11:cpu:/system.slice/berthd.service\n0::/x\n");
    OutsideLoad load = OutsideLoad.find(root, self, clock::get).orElseThrow();

    // 100 ms: kubepods used 50 ms of CPU, burn 100 ms; berthd's own system.slice 200 ms, which does not count
    clock.addAndGet(100 * MS);
    usage(acct, "kubepods", 50 * MS);
    usage(acct, "burn", 100 * MS);
    usage(acct, "system.slice", 200 * MS);
    assertThat(load.cpus()).isCloseTo(1.5, within(1e-9));

    // in between samples (under 50 ms) nothing is read again
    clock.addAndGet(10 * MS);
    usage(acct, "burn", 10_000 * MS);
    assertThat(load.cpus()).isCloseTo(1.5, within(1e-9));
  }

  @Test
  void window_slides_soALoadThatStopped_fadesWithinAFewHundredMilliseconds() throws IOException {
    Path acct = root.resolve("cpuacct");
    usage(acct, "burn", 0);
    OutsideLoad load = OutsideLoad.find(root, selfCgroup("3:cpuacct:/\n"), clock::get).orElseThrow();
    long used = 0;
    for (int i = 0; i < 10; i++) { // two CPUs busy for half a second, sampled every 50 ms
      clock.addAndGet(50 * MS);
      used += 100 * MS;
      usage(acct, "burn", used);
      assertThat(load.cpus()).isCloseTo(2.0, within(1e-9));
    }
    for (int i = 0; i < 6; i++) { // then quiet
      clock.addAndGet(50 * MS);
      load.cpus();
    }
    assertThat(load.cpus()).isZero();
  }

  @Test
  void cgroupMadeMeanwhile_countsFromItsFirstSample_notItsWholePast() throws IOException {
    Path acct = root.resolve("cpuacct");
    usage(acct, "a", 0);
    OutsideLoad load = OutsideLoad.find(root, selfCgroup("3:cpuacct:/\n"), clock::get).orElseThrow();
    clock.addAndGet(100 * MS);
    usage(acct, "new", 3_600_000 * MS); // an hour of CPU from before it was seen
    assertThat(load.cpus()).isZero();
  }

  @Test
  void v2_readsUsageUsecOfCpuStat() throws IOException {
    Files.writeString(root.resolve("cgroup.controllers"), "cpu memory pids\n");
    cpuStat("kubepods.slice", 0);
    cpuStat("system.slice", 0);
    OutsideLoad load = OutsideLoad.find(root, selfCgroup("0::/system.slice/berthd.service\n"), clock::get)
        .orElseThrow();
    clock.addAndGet(200 * MS);
    cpuStat("kubepods.slice", 100_000); // 100 ms in µs
    cpuStat("system.slice", 400_000);
    assertThat(load.cpus()).isCloseTo(0.5, within(1e-9));
  }

  @Test
  void noHierarchy_isUnknown() throws IOException {
    assertThat(OutsideLoad.find(root, selfCgroup("1:name=systemd:/\n"), clock::get)).isEmpty();
    assertThat(OutsideLoad.find(root, root.resolve("missing"), clock::get)).isEmpty();
  }

  @Test
  void ofThisNode_isFoundAndReadable() throws InterruptedException {
    OutsideLoad load = OutsideLoad.forNode().orElseThrow(); // every machine here has cgroups
    Thread.sleep(60);
    assertThat(load.cpus()).isBetween(0.0, (double) Runtime.getRuntime().availableProcessors() + 0.5);
  }

  /** The real hierarchies of this machine (v1 cpuacct, v2 where mounted): busy loops in a cgroup of their own. */
  @Test
  void realHierarchies_seeABusyLoopInACgroupOfItsOwn() throws Exception {
    Path v1 = CpuLoad.v1CpuAccounting();
    Path v2 = CpuLoad.v2Hierarchy();
    Assumptions.assumeTrue(v1 != null || v2 != null, "no cgroup hierarchy with CPU counters");
    try (CpuLoad load = CpuLoad.start(1)) {
      // this JVM's own cgroup is left out of the count, as berthd's is: here the hierarchies' roots
      OutsideLoad inV1 = v1 == null ? null : new OutsideLoad(v1, "", false, System::nanoTime);
      OutsideLoad inV2 = v2 == null ? null : new OutsideLoad(v2, "", true, System::nanoTime);
      Thread.sleep(300);
      if (inV1 != null) {
        assertThat(inV1.cpus()).as("%s", v1).isGreaterThan(0.5);
      }
      if (inV2 != null) {
        assertThat(inV2.cpus()).as("%s", v2).isGreaterThan(0.5);
      }
    }
  }

  private Path selfCgroup(String content) throws IOException {
    Path p = root.resolve("self-cgroup");
    Files.writeString(p, content);
    return p;
  }

  /** A top-level cgroup's counter, and the hierarchy's own (the root's) if not there yet. */
  private static void usage(Path hierarchy, String cgroup, long nanos) throws IOException {
    Files.createDirectories(hierarchy.resolve(cgroup));
    if (!Files.exists(hierarchy.resolve("cpuacct.usage"))) {
      Files.writeString(hierarchy.resolve("cpuacct.usage"), "0\n");
    }
    Files.writeString(hierarchy.resolve(cgroup).resolve("cpuacct.usage"), nanos + "\n");
  }

  private void cpuStat(String cgroup, long usec) throws IOException {
    Files.createDirectories(root.resolve(cgroup));
    Files.writeString(root.resolve(cgroup).resolve("cpu.stat"),
        "usage_usec " + usec + "\nuser_usec " + usec / 2 + "\nsystem_usec " + usec / 2 + "\n");
  }
}
