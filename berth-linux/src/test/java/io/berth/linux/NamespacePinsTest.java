package io.berth.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Needs root (CI runs as root): real namespaces and bind mounts. */
class NamespacePinsTest {
  private final Path dir = Path.of("/tmp/berth-nspins-" + ProcessHandle.current().pid());

  @AfterEach
  void cleanUp() throws Exception {
    try {
      Syscalls.umount2(dir.toString(), Syscalls.MNT_DETACH);
    } catch (LinuxException e) {
      // not mounted
    }
    try (var s = Files.list(dir)) {
      for (Path p : s.toList()) {
        Files.deleteIfExists(p);
      }
    }
    Files.deleteIfExists(dir);
  }

  @Test
  void pin_ipcAndUts_newNamespacesWithHostnameAndThreadRestored() throws Exception {
    String hostIpc = Files.readSymbolicLink(Path.of("/proc/self/ns/ipc")).toString();
    String hostUts = Files.readSymbolicLink(Path.of("/proc/self/ns/uts")).toString();
    NamespacePins.Pins pins = new NamespacePins(dir).pin("pod1", true, true, "pod-host");
    try {
      Process p = new ProcessBuilder("nsenter", "--uts=" + pins.uts(), "--ipc=" + pins.ipc(), "sh", "-c",
          "hostname; readlink /proc/self/ns/ipc /proc/self/ns/uts").start();
      String out = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor()).isZero();
      assertThat(out.lines().toList().getFirst()).isEqualTo("pod-host");
      assertThat(out).doesNotContain(hostIpc).doesNotContain(hostUts);
      // The JVM's own threads stay in the host's namespaces.
      assertThat(Files.readSymbolicLink(Path.of("/proc/self/ns/uts")).toString()).isEqualTo(hostUts);
    } finally {
      NamespacePins.unpin(pins);
    }
    assertThat(Files.exists(pins.ipc())).isFalse();
    assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(pins.uts().toString());
  }
}
