package io.berth.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Parsing of {@code /proc/self/mountinfo} lines; no mounts are made. */
class MountsTest {
  private static final List<String> TABLE = List.of(
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
      "90 22 0:50 / /var/lib/berth/state/netns rw shared:40 - tmpfs tmpfs rw",
      "91 90 0:4 net:[4026532281] /var/lib/berth/state/netns/berth-0123456789abcdef-01020304 rw - nsfs nsfs rw",
      "92 22 0:51 / /var/lib/berth/state/sandboxes/abc/shm rw - tmpfs shm rw,size=65536k",
      "93 22 0:52 / /var/lib/berth/state/containers/def/bundle/rootfs rw - overlay overlay rw,lowerdir=/l",
      "94 22 0:53 / /var/lib/berth/state/sandboxes/with\\040space/shm rw - tmpfs shm rw",
      "95 22 0:54 / /var/lib/berth/state-other/x rw - tmpfs tmpfs rw");

  @Test
  void under_nestedMounts_deepestFirstAndOnlyUnderTheDir() {
    assertThat(Mounts.under(Path.of("/var/lib/berth/state"), TABLE)).containsExactly(
        Path.of("/var/lib/berth/state/containers/def/bundle/rootfs"),
        Path.of("/var/lib/berth/state/sandboxes/abc/shm"),
        Path.of("/var/lib/berth/state/sandboxes/with space/shm"),
        Path.of("/var/lib/berth/state/netns/berth-0123456789abcdef-01020304"),
        Path.of("/var/lib/berth/state/netns"));
  }

  @Test
  void under_mountPointItself_included() {
    assertThat(Mounts.under(Path.of("/var/lib/berth/state/sandboxes/abc/shm"), TABLE))
        .containsExactly(Path.of("/var/lib/berth/state/sandboxes/abc/shm"));
  }

  @Test
  void under_siblingWithCommonPrefix_excluded() {
    assertThat(Mounts.under(Path.of("/var/lib/berth/state-other"), TABLE))
        .containsExactly(Path.of("/var/lib/berth/state-other/x"));
    assertThat(Mounts.under(Path.of("/var/lib/berth/state/sandboxes/ab"), TABLE)).isEmpty();
  }

  @Test
  void unescape_octalEscapes_decodedAndLoneBackslashKept() {
    assertThat(Mounts.unescape("a\\040b\\011c\\134d")).isEqualTo("a b\tc\\d");
    assertThat(Mounts.unescape("trailing\\04")).isEqualTo("trailing\\04");
  }
}
