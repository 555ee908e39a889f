package io.berth.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Needs root (CI runs as root) and util-linux: real user namespaces and pins. */
class NamespaceHolderTest {
  private final Path dir = Path.of("/tmp/berth-nsholder-" + ProcessHandle.current().pid());

  @AfterEach
  void cleanUp() throws Exception {
    try {
      Syscalls.umount2(dir.toString(), Syscalls.MNT_DETACH);
    } catch (LinuxException e) {
      // not mounted
    }
    if (Files.isDirectory(dir)) {
      try (var s = Files.list(dir)) {
        for (Path p : s.toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
    Files.deleteIfExists(dir);
  }

  private static String run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as("%s: %s", String.join(" ", cmd), out).isZero();
    return out;
  }

  @Test
  void start_mappingsWrittenAndNamespacesOwnedByTheUserNamespace() throws Exception {
    NamespaceHolder.IdMap uids = new NamespaceHolder.IdMap(0, 300000, 65536);
    NamespaceHolder.IdMap gids = new NamespaceHolder.IdMap(0, 400000, 65536);
    NamespacePins.Pins pins;
    long pid;
    try (NamespaceHolder h = NamespaceHolder.start(uids, gids,
        EnumSet.of(NamespaceHolder.Kind.IPC, NamespaceHolder.Kind.UTS))) {
      pid = h.pid();
      assertThat(Files.readString(Path.of("/proc", Long.toString(pid), "uid_map")).trim().split("\\s+"))
          .containsExactly("0", "300000", "65536");
      assertThat(Files.readString(Path.of("/proc", Long.toString(pid), "gid_map")).trim().split("\\s+"))
          .containsExactly("0", "400000", "65536");
      assertThat(h.has(NamespaceHolder.Kind.NET)).isFalse();
      pins = new NamespacePins(dir).pin("pod1", h, "pod-host");
    }
    // Closing ends the process; the pins keep the namespaces.
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    try {
      assertThat(run("nsenter", "--user=" + pins.user(), "--uts=" + pins.uts(), "hostname").strip())
          .isEqualTo("pod-host");
      // The pod's root may set its hostname: the UTS namespace is owned by its user namespace, not the host's.
      run("nsenter", "--user=" + pins.user(), "--uts=" + pins.uts(), "hostname", "renamed");
      assertThat(run("nsenter", "--user=" + pins.user(), "cat", "/proc/self/uid_map").trim().split("\\s+"))
          .containsExactly("0", "300000", "65536");
    } finally {
      NamespacePins.unpin(pins);
    }
    assertThat(Files.exists(pins.user())).isFalse();
    assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(pins.user().toString());
  }

  @Test
  void idMap_emptyOrOverflowing_invalidArgument() {
    for (long[] m : new long[][] {{0, 1000, 0}, {0, 0xFFFF_0000L, 0x10000L}, {-1, 1000, 10}}) {
      assertThatThrownBy(() -> new NamespaceHolder.IdMap(m[0], m[1], m[2])).isInstanceOf(BerthException.class)
          .satisfies(e -> assertThat(((BerthException) e).kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
    }
  }

  @Test
  void nsFile_kindNotCreated_refused() {
    NamespaceHolder.IdMap m = new NamespaceHolder.IdMap(0, 500000, 10);
    try (NamespaceHolder h = NamespaceHolder.start(m, m, Set.of())) {
      assertThat(h.userNsFile()).exists();
      assertThatThrownBy(() -> h.nsFile(NamespaceHolder.Kind.NET)).isInstanceOf(IllegalArgumentException.class);
    }
  }
}
