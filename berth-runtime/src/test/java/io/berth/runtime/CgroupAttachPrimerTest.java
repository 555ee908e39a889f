package io.berth.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CgroupAttachPrimerTest {
  @TempDir Path dir;

  private Path selfCgroup(String content) throws IOException {
    return Files.writeString(dir.resolve("self-cgroup"), content);
  }

  private Path procs(String first, String... more) throws IOException {
    Path d = dir.resolve("fs").resolve(first, more);
    Files.createDirectories(d);
    return Files.writeString(d.resolve("cgroup.procs"), "");
  }

  @Test
  void pureV2_usesTheUnifiedPath() throws IOException {
    Files.createDirectories(dir.resolve("fs"));
    Files.writeString(dir.resolve("fs").resolve("cgroup.controllers"), "cpu memory pids");
    Path want = procs("system.slice", "berth.service");
    assertThat(CgroupAttachPrimer.ownProcsFile(dir.resolve("fs"), selfCgroup("0::/system.slice/berth.service\n")))
        .contains(want);
  }

  @Test
  void hybrid_prefersTheUnifiedMount() throws IOException {
    procs("memory", "job");
    Path unified = procs("unified");
    Files.writeString(dir.resolve("fs/unified/cgroup.controllers"), "");
    assertThat(CgroupAttachPrimer.ownProcsFile(dir.resolve("fs"),
        selfCgroup("4:memory:/job\n1:name=systemd:/\n0::/\n"))).contains(unified);
  }

  @Test
  void v1Only_usesTheFirstHierarchyFound_namedOnesIncluded() throws IOException {
    Path systemd = procs("systemd", "user.slice");
    assertThat(CgroupAttachPrimer.ownProcsFile(dir.resolve("fs"),
        selfCgroup("9:pids:/gone\n1:name=systemd:/user.slice\n"))).contains(systemd);
  }

  @Test
  void nothingUsable_isOff() throws IOException {
    procs("memory");
    assertThat(CgroupAttachPrimer.ownProcsFile(dir.resolve("fs"), selfCgroup("4:memory:/../../etc\n"))).isEmpty();
    assertThat(CgroupAttachPrimer.ownProcsFile(dir.resolve("fs"), dir.resolve("no-such-file"))).isEmpty();
    CgroupAttachPrimer off = CgroupAttachPrimer.open(true, dir.resolve("fs"), selfCgroup("0::/\n"));
    assertThat(off.procsFile()).isEmpty();
    off.prime();
    assertThat(off.busy()).isFalse();
  }

  @Test
  void disabled_writesNothing() throws IOException {
    Path file = procs("unified");
    Files.writeString(dir.resolve("fs/unified/cgroup.controllers"), "");
    CgroupAttachPrimer p = CgroupAttachPrimer.open(false, dir.resolve("fs"), selfCgroup("0::/\n"));
    p.prime();
    assertThat(p.procsFile()).isEmpty();
    assertThat(Files.readString(file)).isEmpty();
  }

  @Test
  void writesToTheCgroupBerthdIsInNow_neverMovesItBack() throws Exception {
    Files.createDirectories(dir.resolve("fs/unified"));
    Files.writeString(dir.resolve("fs/unified/cgroup.controllers"), "");
    Path before = procs("unified", "a");
    Path now = procs("unified", "b");
    Path self = selfCgroup("0::/a\n");
    CgroupAttachPrimer p = CgroupAttachPrimer.open(true, dir.resolve("fs"), self);
    Files.writeString(self, "0::/b\n"); // moved by someone else after berthd started
    p.prime();
    awaitIdle(p);
    assertThat(Files.readString(now)).isEqualTo(Long.toString(ProcessHandle.current().pid()));
    assertThat(Files.readString(before)).isEmpty();
    assertThat(p.broken()).isFalse();
  }

  @Test
  void aFailedWrite_turnsPrimingOff() throws Exception {
    // A cgroup.procs that is a directory: the write fails as a kernel refusal would.
    Files.createDirectories(dir.resolve("fs/unified/cgroup.procs"));
    Files.writeString(dir.resolve("fs/unified/cgroup.controllers"), "");
    CgroupAttachPrimer p = CgroupAttachPrimer.open(true, dir.resolve("fs"), selfCgroup("0::/\n"));
    assertThat(p.procsFile()).isPresent();
    p.prime();
    awaitIdle(p);
    assertThat(p.broken()).isTrue();
  }

  /** On this host, as root: the write is a move to where berthd already is, so nothing about its cgroups changes. */
  @Test
  void onTheHost_primingLeavesTheProcessWhereItIs() throws Exception {
    Path self = Path.of("/proc/self/cgroup");
    String before = Files.readString(self);
    CgroupAttachPrimer p = CgroupAttachPrimer.open(true, Cgroups.ROOT, self);
    assertThat(p.procsFile()).as("own cgroup found on this host").isPresent();
    for (int i = 0; i < 3; i++) {
      p.prime();
      p.prime(); // coalesced with the one in flight
      awaitIdle(p);
    }
    assertThat(p.broken()).isFalse();
    assertThat(Files.readString(self)).isEqualTo(before);
  }

  private static void awaitIdle(CgroupAttachPrimer p) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (p.busy() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(p.busy()).as("priming write finished").isFalse();
  }
}
