package io.berth.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import io.berth.core.MediaTypes.Compression;
import io.berth.linux.Syscalls;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The layer applier through {@link Snapshotter#applyLayer}: content rules, whiteouts and hostile archives. */
class LayerApplierTest {
  private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
  private Path root;
  private Snapshotter snapshotter;

  @BeforeEach
  void setUp() throws IOException {
    root = Files.createTempDirectory(Path.of("/tmp"), "berth-snapshot-test-");
    snapshotter = Snapshotter.overlay(root);
  }

  @AfterEach
  void tearDown() throws IOException {
    OverlaySnapshotter.deleteTree(root);
  }

  private Path apply(TestLayer layer, Compression c) {
    Snapshotter.LayerInfo info = snapshotter.applyLayer(layer.chainId(), layer.stream(c), c, layer.diffId());
    assertThat(info.diffId()).isEqualTo(layer.diffId());
    assertThat(info.unpackedBytes()).isEqualTo(layer.tar().length);
    return snapshotter.layerDir(layer.chainId());
  }

  private static Object attr(Path p, String name) throws IOException {
    return Files.getAttribute(p, "unix:" + name, NOFOLLOW);
  }

  private static String xattr(Path p, String name) {
    return Syscalls.lgetxattr(p.toString(), name).map(b -> new String(b, StandardCharsets.UTF_8)).orElse(null);
  }

  @ParameterizedTest
  @EnumSource(Compression.class)
  void applyLayer_everyEntryType_preservedExactly(Compression c) throws IOException {
    byte[] big = new byte[3 << 20];
    new Random(42).nextBytes(big);
    TestLayer layer = new TestLayer()
        .dir("./", 0755, null)
        .dir("bin", 0711, TestLayer.owner(0, 0))
        .file("bin/su", "setuid".getBytes(StandardCharsets.UTF_8), 04755, TestLayer.owner(0, 0))
        .file("bin/wall", "setgid".getBytes(StandardCharsets.UTF_8), 02755, TestLayer.owner(0, 5))
        .dir("tmp", 01777, null)
        .dir("home/user", 0700, TestLayer.owner(1000, 1000))
        .file("home/user/big.bin", big, 0600, TestLayer.owner(1000, 1000))
        .file("home/user/x.txt", "hello".getBytes(StandardCharsets.UTF_8), 0640,
            TestLayer.xattrs(TestLayer.map("user.comment", "ünïcode", "trusted.berth", "t")))
        .symlink("bin/sh", "/bin/busybox")
        .symlink("rel", "home/user/x.txt")
        .hardlink("bin/su-again", "bin/su")
        .device("dev/null", TarConstants.LF_CHR, 1, 3, 0666)
        .device("dev/sda", TarConstants.LF_BLK, 8, 0, 0660)
        .device("run/fifo", TarConstants.LF_FIFO, 0, 0, 0620);
    Path fs = apply(layer, c);

    assertThat(attr(fs, "mode")).isEqualTo(040755);
    assertThat(attr(fs.resolve("bin"), "mode")).isEqualTo(040711);
    assertThat(attr(fs.resolve("bin/su"), "mode")).isEqualTo(0104755);
    assertThat(attr(fs.resolve("bin/wall"), "mode")).isEqualTo(0102755);
    assertThat(attr(fs.resolve("bin/wall"), "gid")).isEqualTo(5);
    assertThat(attr(fs.resolve("tmp"), "mode")).isEqualTo(041777);
    assertThat(attr(fs.resolve("home/user"), "uid")).isEqualTo(1000);
    assertThat(attr(fs.resolve("home/user"), "mode")).isEqualTo(040700);
    assertThat(Files.readAllBytes(fs.resolve("home/user/big.bin"))).isEqualTo(big);
    assertThat(attr(fs.resolve("home/user/big.bin"), "uid")).isEqualTo(1000);
    assertThat(attr(fs.resolve("home/user/big.bin"), "gid")).isEqualTo(1000);
    assertThat(Files.readString(fs.resolve("home/user/x.txt"))).isEqualTo("hello");
    assertThat(xattr(fs.resolve("home/user/x.txt"), "user.comment")).isEqualTo("ünïcode");
    assertThat(xattr(fs.resolve("home/user/x.txt"), "trusted.berth")).isEqualTo("t");
    assertThat(Files.readSymbolicLink(fs.resolve("bin/sh"))).isEqualTo(Path.of("/bin/busybox"));
    assertThat(Files.readSymbolicLink(fs.resolve("rel"))).isEqualTo(Path.of("home/user/x.txt"));
    assertThat(attr(fs.resolve("bin/su-again"), "ino")).isEqualTo(attr(fs.resolve("bin/su"), "ino"));
    assertThat(attr(fs.resolve("dev/null"), "mode")).isEqualTo(Syscalls.S_IFCHR | 0666);
    assertThat(attr(fs.resolve("dev/null"), "rdev")).isEqualTo(Syscalls_makedev(1, 3));
    assertThat(attr(fs.resolve("dev/sda"), "mode")).isEqualTo(Syscalls.S_IFBLK | 0660);
    assertThat(attr(fs.resolve("dev/sda"), "rdev")).isEqualTo(Syscalls_makedev(8, 0));
    assertThat(attr(fs.resolve("run/fifo"), "mode")).isEqualTo(Syscalls.S_IFIFO | 0620);
    // Parents the archive does not list are created 0755.
    assertThat(attr(fs.resolve("home"), "mode")).isEqualTo(040755);

    FileTime t0 = FileTime.from(TestLayer.T0);
    try (Stream<Path> all = Files.walk(fs)) {
      for (Path p : all.toList()) {
        if (p.equals(fs.resolve("home")) || p.equals(fs.resolve("dev")) || p.equals(fs.resolve("run"))) {
          continue; // implicit parents have no time in the archive
        }
        assertThat(Files.getLastModifiedTime(p, NOFOLLOW)).as("mtime of %s", p).isEqualTo(t0);
      }
    }
  }

  private static long Syscalls_makedev(int major, int minor) {
    return ((long) major << 8) | minor;
  }

  @Test
  void applyLayer_whiteoutsAndOpaqueDirs_becomeOverlayForm() throws IOException {
    TestLayer layer = new TestLayer()
        .dir("etc")
        .whiteout("etc", "motd")
        .dir("var/cache", 0755, null)
        .opaque("var/cache")
        .file("var/cache/new", "n")
        .opaque("implicit/dir")
        .file("etc/.wh..wh.plnk", "ignored")
        .whiteout("", "toplevel");
    Path fs = apply(layer, Compression.GZIP);

    Path motd = fs.resolve("etc/motd");
    assertThat(attr(motd, "mode")).isEqualTo(Syscalls.S_IFCHR);
    assertThat(attr(motd, "rdev")).isEqualTo(0L);
    assertThat(attr(fs.resolve("toplevel"), "mode")).isEqualTo(Syscalls.S_IFCHR);
    assertThat(xattr(fs.resolve("var/cache"), "trusted.overlay.opaque")).isEqualTo("y");
    assertThat(xattr(fs.resolve("implicit/dir"), "trusted.overlay.opaque")).isEqualTo("y");
    assertThat(xattr(fs.resolve("etc"), "trusted.overlay.opaque")).isNull();
    try (Stream<Path> all = Files.walk(fs)) {
      assertThat(all.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".wh."));
    }
  }

  @Test
  void applyLayer_overlayXattrFromArchive_dropped() throws IOException {
    TestLayer layer = new TestLayer().dir("d", 0755,
        TestLayer.xattrs(TestLayer.map("trusted.overlay.redirect", "/elsewhere", "user.ok", "1")));
    Path fs = apply(layer, Compression.NONE);
    assertThat(xattr(fs.resolve("d"), "trusted.overlay.redirect")).isNull();
    assertThat(xattr(fs.resolve("d"), "user.ok")).isEqualTo("1");
  }

  @Test
  void applyLayer_duplicateEntries_laterWins() throws IOException {
    TestLayer layer = new TestLayer()
        .file("a", "first")
        .file("a", "second")
        .symlink("b", "a")
        .file("b", "now a file")
        .dir("c")
        .file("c/inner", "x")
        .symlink("c", "a")
        .file("d", "file")
        .dir("d")
        .file("d/x", "y")
        .dir("d", 0700, null)
        .dir("e/sub")
        .file("e", "dir replaced by a file");
    Path fs = apply(layer, Compression.NONE);
    assertThat(Files.readString(fs.resolve("e"))).isEqualTo("dir replaced by a file");
    assertThat(Files.readString(fs.resolve("a"))).isEqualTo("second");
    assertThat(Files.isRegularFile(fs.resolve("b"), NOFOLLOW)).isTrue();
    assertThat(Files.readString(fs.resolve("b"))).isEqualTo("now a file");
    assertThat(Files.isSymbolicLink(fs.resolve("c"))).isTrue();
    assertThat(Files.readString(fs.resolve("d/x"))).isEqualTo("y");
    assertThat(attr(fs.resolve("d"), "mode")).isEqualTo(040700);
  }

  @Test
  void applyLayer_diffIdMismatch_failsAndLeavesNothing() {
    TestLayer layer = new TestLayer().file("a", "x");
    TestLayer other = new TestLayer().file("a", "y");
    assertThatThrownBy(() -> snapshotter.applyLayer(layer.chainId(), layer.stream(Compression.GZIP),
        Compression.GZIP, other.diffId()))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessageContaining("diff id mismatch");
    assertNothingLeft(layer);
  }

  @Test
  void applyLayer_truncatedBlob_failsAndLeavesNothing() {
    TestLayer layer = new TestLayer().file("a", new byte[100_000], 0644, null);
    byte[] blob = layer.blob(Compression.GZIP);
    byte[] cut = Arrays.copyOf(blob, blob.length / 2);
    assertThatThrownBy(() -> snapshotter.applyLayer(layer.chainId(), new java.io.ByteArrayInputStream(cut),
        Compression.GZIP, layer.diffId()))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
    assertNothingLeft(layer);
  }

  @Test
  void applyLayer_dotDot_refused() {
    assertEscapes(new TestLayer().file("ok", "1").file("../x", "evil"), "../x");
  }

  @Test
  void applyLayer_dotDotInside_refused() {
    assertEscapes(new TestLayer().dir("a").file("a/../../x", "evil"), "a/../../x");
  }

  @Test
  void applyLayer_absoluteName_refused() {
    assertEscapes(new TestLayer().file("/etc/passwd", "evil"), "/etc/passwd");
  }

  @Test
  void applyLayer_fileThroughAbsoluteSymlink_refused() {
    assertEscapes(new TestLayer().symlink("a", "/").file("a/etc/x", "evil"), "a/etc/x");
  }

  @Test
  void applyLayer_fileThroughRelativeSymlink_refused() {
    assertEscapes(new TestLayer().symlink("a", "..").file("a/x", "evil"), "a/x");
  }

  @Test
  void applyLayer_dirThroughSymlink_refused() {
    assertEscapes(new TestLayer().dir("d").symlink("d/l", "/tmp").dir("d/l/sub"), "d/l/sub/");
  }

  @Test
  void applyLayer_whiteoutThroughSymlink_refused() {
    assertEscapes(new TestLayer().symlink("a", "/etc").whiteout("a", "passwd"), "a/.wh.passwd");
  }

  @Test
  void applyLayer_whiteoutOfDotDot_refused() {
    assertEscapes(new TestLayer().dir("a").file("a/.wh...", ""), "a/.wh...");
  }

  @Test
  void applyLayer_hardLinkOutside_refused() {
    assertEscapes(new TestLayer().hardlink("x", "../outside"), "x");
  }

  @Test
  void applyLayer_hardLinkAbsolute_refused() {
    assertEscapes(new TestLayer().hardlink("x", "/etc/passwd"), "x");
  }

  @Test
  void applyLayer_hardLinkThroughSymlink_refused() {
    assertEscapes(new TestLayer().symlink("etc", "/etc").hardlink("x", "etc/passwd"), "x");
  }

  @Test
  void applyLayer_hardLinkToMissingTarget_refused() {
    TestLayer layer = new TestLayer().hardlink("x", "nothing");
    assertThatThrownBy(() -> snapshotter.applyLayer(layer.chainId(), layer.stream(Compression.NONE),
        Compression.NONE, layer.diffId()))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessageContaining("does not exist");
    assertNothingLeft(layer);
  }

  @Test
  void applyLayer_hardLinkToSymlink_linksTheSymlinkItself() throws IOException {
    TestLayer layer = new TestLayer().symlink("s", "/etc/passwd").hardlink("h", "s");
    Path fs = apply(layer, Compression.NONE);
    assertThat(Files.isSymbolicLink(fs.resolve("h"))).isTrue();
    assertThat(attr(fs.resolve("h"), "ino")).isEqualTo(attr(fs.resolve("s"), "ino"));
  }

  @Test
  void applyLayer_gnuTarOfRealTree_identicalToSource() throws Exception {
    Path src = Files.createDirectory(root.resolve("src"));
    Files.createDirectories(src.resolve("usr/bin"));
    Files.writeString(src.resolve("usr/bin/ping"), "ping");
    Files.setAttribute(src.resolve("usr/bin/ping"), "unix:mode", 04711);
    Syscalls.lsetxattr(src.resolve("usr/bin/ping").toString(), "user.mime", "application/x-elf".getBytes());
    // Binary values, as Go's archive/tar and GNU tar store them raw: a file capability (cap_net_raw+ep, VFS v2)
    // and bytes that are not UTF-8.
    Syscalls.lsetxattr(src.resolve("usr/bin/ping").toString(), "security.capability", CAP_NET_RAW_EP);
    Files.writeString(src.resolve("usr/data"), "data");
    Syscalls.lsetxattr(src.resolve("usr/data").toString(), "user.blob", new byte[] {(byte) 0xff, 0, (byte) 0x80, '\n'});
    Syscalls.lchown(src.resolve("usr/data").toString(), 123, 456);
    Files.setAttribute(src.resolve("usr/data"), "unix:mode", 02640);
    Files.createSymbolicLink(src.resolve("usr/link"), Path.of("../etc/nowhere"));
    Files.createLink(src.resolve("usr/hard"), src.resolve("usr/data"));
    Syscalls.mknod(src.resolve("usr/tty").toString(), Syscalls.S_IFCHR | 0620, 5, 0);
    Syscalls.mknod(src.resolve("usr/pipe").toString(), Syscalls.S_IFIFO | 0644, 0, 0);
    Files.setAttribute(src.resolve("usr"), "unix:mode", 01775);
    long t = 1_600_000_000_123_456_789L;
    try (Stream<Path> all = Files.walk(src)) {
      for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Syscalls.lutimes(p.toString(), t, t);
        t += 1_000_000_007L;
      }
    }
    Path tarFile = root.resolve("layer.tar");
    Process tar = new ProcessBuilder("tar", "--format=posix", "--xattrs", "--xattrs-include=*", "--numeric-owner",
        "-cf", tarFile.toString(), "-C", src.toString(), ".").inheritIO().start();
    assertThat(tar.waitFor()).isZero();
    byte[] bytes = Files.readAllBytes(tarFile);
    io.berth.core.Digest diffId = io.berth.core.Digest.sha256(bytes);

    snapshotter.applyLayer(diffId, new java.io.ByteArrayInputStream(bytes), Compression.NONE, diffId);
    Path fs = snapshotter.layerDir(diffId);

    try (Stream<Path> all = Files.walk(src)) {
      for (Path s : all.toList()) {
        Path d = fs.resolve(src.relativize(s).toString());
        for (String a : java.util.List.of("mode", "uid", "gid", "size", "rdev", "nlink", "lastModifiedTime")) {
          assertThat(attr(d, a)).as("%s of %s", a, d).isEqualTo(attr(s, a));
        }
        if (Files.isRegularFile(s, NOFOLLOW)) {
          assertThat(Files.readAllBytes(d)).isEqualTo(Files.readAllBytes(s));
        }
        if (Files.isSymbolicLink(s)) {
          assertThat(Files.readSymbolicLink(d)).isEqualTo(Files.readSymbolicLink(s));
        } else {
          assertThat(Syscalls.llistxattr(d.toString())).isEqualTo(Syscalls.llistxattr(s.toString()));
        }
      }
    }
    assertThat(xattr(fs.resolve("usr/bin/ping"), "user.mime")).isEqualTo("application/x-elf");
    assertThat(Syscalls.lgetxattr(fs.resolve("usr/bin/ping").toString(), "security.capability"))
        .hasValue(CAP_NET_RAW_EP);
    assertThat(Syscalls.lgetxattr(fs.resolve("usr/data").toString(), "user.blob"))
        .hasValue(new byte[] {(byte) 0xff, 0, (byte) 0x80, '\n'});
  }

  /** vfs_cap_data revision 2, effective: cap_net_raw (13) permitted and effective, nothing inheritable. */
  private static final byte[] CAP_NET_RAW_EP = {
      0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

  private void assertEscapes(TestLayer layer, String entry) {
    assertThatThrownBy(() -> snapshotter.applyLayer(layer.chainId(), layer.stream(Compression.NONE),
        Compression.NONE, layer.diffId()))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessage("layer %s: entry %s escapes the layer root", layer.diffId(), entry);
    assertNothingLeft(layer);
  }

  private void assertNothingLeft(TestLayer layer) {
    assertThat(snapshotter.hasLayer(layer.chainId())).isFalse();
    assertThat(root.resolve("tmp")).isEmptyDirectory();
    assertThat(root.resolve("layers")).isEmptyDirectory();
  }
}
