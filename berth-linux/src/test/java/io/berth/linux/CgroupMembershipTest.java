package io.berth.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CgroupMembershipTest {
  @TempDir
  Path dir;

  @Test
  void read_parsesV1HierarchiesNamedOnesAndTheV2Line() throws IOException {
    Path f = dir.resolve("cgroup");
    Files.writeString(f, """
        12:cpu,cpuacct:/system.slice/berthd.service
        9:name=systemd:/
        0::/system.slice/berthd.service
        not a line
        """);
    List<CgroupMembership> m = CgroupMembership.read(f);
    assertThat(m).hasSize(3);
    assertThat(m.get(0).controllers()).containsExactly("cpu", "cpuacct");
    assertThat(m.get(0).relativePath()).isEqualTo("system.slice/berthd.service");
    assertThat(m.get(0).unified()).isFalse();
    assertThat(m.get(1).controllers()).containsExactly("name=systemd");
    assertThat(m.get(1).relativePath()).isEmpty();
    assertThat(m.get(2).unified()).isTrue();
    assertThat(m.get(2).path()).isEqualTo("/system.slice/berthd.service");
  }

  @Test
  void read_ofAMissingFile_isEmpty_andOfThisProcess_isNot() {
    assertThat(CgroupMembership.read(dir.resolve("missing"))).isEmpty();
    assertThat(CgroupMembership.read(Path.of("/proc/self/cgroup"))).isNotEmpty();
  }
}
