package io.berth.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyscallsTest {
  @TempDir Path dir;

  @Test
  void lutimes_onSymlink_setsLinkTimeNotTarget() throws Exception {
    Path target = Files.createFile(dir.resolve("t"));
    Path link = Files.createSymbolicLink(dir.resolve("l"), target);
    Syscalls.lutimes(link.toString(), 1_000_000_000_000_000_000L, 1_500_000_000_123_456_789L);
    FileTime linkTime = (FileTime) Files.getAttribute(link, "lastModifiedTime", java.nio.file.LinkOption.NOFOLLOW_LINKS);
    assertThat(linkTime.toInstant().getEpochSecond()).isEqualTo(1_500_000_000L);
    assertThat(Files.getLastModifiedTime(target).toInstant().getEpochSecond()).isNotEqualTo(1_500_000_000L);
  }

  @Test
  void xattr_roundTrip_userNamespace() throws Exception {
    Path f = Files.createFile(dir.resolve("x"));
    Syscalls.lsetxattr(f.toString(), "user.berth", "v1".getBytes(StandardCharsets.UTF_8));
    assertThat(Syscalls.lgetxattr(f.toString(), "user.berth")).hasValueSatisfying(v ->
        assertThat(new String(v, StandardCharsets.UTF_8)).isEqualTo("v1"));
    assertThat(Syscalls.llistxattr(f.toString())).contains("user.berth");
    assertThat(Syscalls.lgetxattr(f.toString(), "user.absent")).isEmpty();
  }

  @Test
  void umount2_notMounted_throwsWithErrno() {
    assertThatThrownBy(() -> Syscalls.umount2(dir.toString(), 0))
        .isInstanceOfSatisfying(LinuxException.class, e -> assertThat(e.errno()).isEqualTo(LinuxException.EINVAL));
  }

  @Test
  void makedev_matchesGlibcEncoding() {
    assertThat(Syscalls.makedev(1, 3)).isEqualTo(0x103L);
    assertThat(Syscalls.makedev(259, 65536)).isEqualTo(0x10010300L);
  }
}
