package io.berth.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.core.Digest;
import io.berth.core.MediaTypes.Compression;
import io.berth.linux.NamespaceHolder;
import io.berth.linux.NamespacePins;
import io.berth.linux.Syscalls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real overlayfs mounts of prepared snapshots. Needs root. */
class OverlaySnapshotterIT {
  private Path root;
  private Path target;
  private Snapshotter snapshotter;

  @BeforeEach
  void setUp() throws IOException {
    assertThat(Syscalls.geteuid()).as("overlay mounts need root").isZero();
    root = Files.createTempDirectory(Path.of("/tmp"), "berth-it-snapshot-");
    target = Files.createDirectory(root.resolve("rootfs"));
    snapshotter = Snapshotter.overlay(root.resolve("snapshots"));
  }

  @AfterEach
  void tearDown() throws IOException {
    try {
      for (String key : snapshotter.active()) {
        snapshotter.remove(key);
      }
      snapshotter.unmount(target);
    } finally {
      assertThat(mountsUnder(root)).isEmpty();
      OverlaySnapshotter.deleteTree(root);
    }
  }

  private Digest apply(TestLayer l) {
    snapshotter.applyLayer(l.chainId(), l.stream(Compression.GZIP), Compression.GZIP, l.diffId());
    return l.chainId();
  }

  private static List<String> mountsUnder(Path dir) throws IOException {
    String prefix = dir.toAbsolutePath().toString();
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
      if (line.contains(prefix)) {
        out.add(line);
      }
    }
    return out;
  }

  private static Set<String> tree(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      Set<String> out = new TreeSet<>();
      s.filter(p -> !p.equals(dir)).forEach(p -> out.add(dir.relativize(p).toString()));
      return out;
    }
  }

  @Test
  void mount_threeLayersWithWhiteoutAndOpaqueDir_mergedViewIsExact() throws IOException {
    Digest l1 = apply(new TestLayer()
        .dir("bin").file("bin/sh", "shell")
        .dir("etc").file("etc/motd", "hi").file("etc/passwd", "root:x:0:0")
        .dir("var/cache").file("var/cache/old1", "1").file("var/cache/old2", "2"));
    Digest l2 = apply(new TestLayer()
        .dir("etc").whiteout("etc", "motd")
        .dir("var/cache").opaque("var/cache").file("var/cache/new", "n"));
    Digest l3 = apply(new TestLayer()
        .dir("usr/bin").file("usr/bin/tool", "t")
        .file("etc/hostname", "box"));

    Snapshotter.Mount m = snapshotter.prepare("c1", List.of(l1, l2, l3));
    assertThat(m.type()).isEqualTo("overlay");
    snapshotter.mount("c1", target);

    assertThat(tree(target)).containsExactly(
        "bin", "bin/sh", "etc", "etc/hostname", "etc/passwd", "usr", "usr/bin", "usr/bin/tool",
        "var", "var/cache", "var/cache/new");
    assertThat(Files.readString(target.resolve("var/cache/new"))).isEqualTo("n");
    assertThat(Files.readString(target.resolve("etc/hostname"))).isEqualTo("box");

    // Writes land in the upper dir; deletions become whiteouts there; layers stay untouched.
    Path upper = root.resolve("snapshots/active/c1/upper");
    Files.writeString(target.resolve("etc/written"), "w");
    Files.delete(target.resolve("etc/passwd"));
    assertThat(Files.readString(upper.resolve("etc/written"))).isEqualTo("w");
    assertThat(Files.getAttribute(upper.resolve("etc/passwd"), "unix:mode", LinkOption.NOFOLLOW_LINKS))
        .isEqualTo(Syscalls.S_IFCHR);
    assertThat(Files.readString(snapshotter.layerDir(l1).resolve("etc/passwd"))).isEqualTo("root:x:0:0");
    assertThat(snapshotter.activeUsageBytes("c1")).isPositive();

    snapshotter.unmount(target);
    snapshotter.unmount(target); // idempotent
    assertThat(mountsUnder(root)).isEmpty();
    assertThat(target).isEmptyDirectory();
    snapshotter.remove("c1");
    assertThat(root.resolve("snapshots/active")).isEmptyDirectory();
    assertThat(root.resolve("snapshots/tmp")).isEmptyDirectory();
  }

  @Test
  void remove_whileMounted_unmountsAndDeletes() throws IOException {
    Digest l1 = apply(new TestLayer().file("a", "1"));
    snapshotter.prepare("c1", List.of(l1));
    snapshotter.mount("c1", target);
    assertThat(mountsUnder(root)).hasSize(1);

    // A fresh snapshotter (as after a daemon restart) finds the mount from /proc/self/mountinfo.
    Snapshotter.overlay(root.resolve("snapshots")).remove("c1");

    assertThat(mountsUnder(root)).isEmpty();
    assertThat(root.resolve("snapshots/active")).isEmptyDirectory();
  }

  @Test
  void mount_noLayers_bindOfUpper() throws IOException {
    snapshotter.prepare("scratch", List.of());
    snapshotter.mount("scratch", target);
    Files.writeString(target.resolve("f"), "x");
    assertThat(root.resolve("snapshots/active/scratch/upper/f")).hasContent("x");
    snapshotter.remove("scratch");
    assertThat(mountsUnder(root)).isEmpty();
  }

  @Test
  void mount_fortyLayers_optionsLongerThanAPage() throws IOException {
    List<Digest> layers = new ArrayList<>();
    Set<String> expected = new TreeSet<>();
    for (int i = 0; i < 40; i++) {
      layers.add(apply(new TestLayer().file("f" + i, "layer " + i).file("shared", "from " + i)));
      expected.add("f" + i);
    }
    expected.add("shared");
    Snapshotter.Mount m = snapshotter.prepare("c40", layers);
    assertThat(String.join(",", m.options()).length()).isGreaterThan(OverlaySnapshotter.MAX_MOUNT_DATA);

    snapshotter.mount("c40", target);

    assertThat(tree(target)).isEqualTo(expected);
    assertThat(Files.readString(target.resolve("shared"))).isEqualTo("from 39");
    assertThat(Files.readString(target.resolve("f0"))).isEqualTo("layer 0");
    snapshotter.remove("c40");
    assertThat(mountsUnder(root)).isEmpty();
    assertThat(root.resolve("snapshots/active")).isEmptyDirectory();
  }

  @Test
  void mountIdmap_podUserNamespace_layersShowMappedIdsAndWritesLandAsMappedIds() throws IOException {
    assertThat(snapshotter.supportsIdmappedLayers()).as("kernel 5.19+ overlayfs over idmapped layers").isTrue();
    Digest l1 = apply(new TestLayer()
        .dir("etc").file("etc/root-owned", "r")
        .file("etc/user-owned", "u".getBytes(java.nio.charset.StandardCharsets.UTF_8), 0644, TestLayer.owner(1000, 1001)));
    snapshotter.prepare("u1", List.of(l1));
    NamespaceHolder.IdMap map = new NamespaceHolder.IdMap(0, 200000, 65536);
    Path pins = Files.createDirectory(root.resolve("pins"));
    NamespacePins.Pins pinned;
    try (NamespaceHolder holder = NamespaceHolder.start(map, map, Set.of())) {
      pinned = new NamespacePins(pins).pin("pod", holder, "unused");
    }
    try {
      snapshotter.mount("u1", target, new Snapshotter.Idmap(pinned.user(), 200000, 200000));

      // Seen from the host through the idmapped layers: disk id N shows as 200000 + N.
      assertThat(Files.getAttribute(target.resolve("etc/root-owned"), "unix:uid")).isEqualTo(200000);
      assertThat(Files.getAttribute(target.resolve("etc/user-owned"), "unix:uid")).isEqualTo(201000);
      assertThat(Files.getAttribute(target.resolve("etc/user-owned"), "unix:gid")).isEqualTo(201001);
      // The layer on disk is untouched.
      assertThat(Files.getAttribute(snapshotter.layerDir(l1).resolve("etc/root-owned"), "unix:uid")).isEqualTo(0);
      // The upper dir's root belongs to the pod's root; a copied-up dir keeps its mapped owner.
      Path upper = root.resolve("snapshots/active/u1/upper");
      assertThat(Files.getAttribute(upper, "unix:uid")).isEqualTo(200000);
      Files.writeString(target.resolve("etc/new"), "n");
      Syscalls.lchown(target.resolve("etc/new").toString(), 200000, 200000);
      assertThat(Files.getAttribute(upper.resolve("etc"), "unix:uid")).isEqualTo(200000);
      assertThat(Files.getAttribute(upper.resolve("etc/new"), "unix:uid")).isEqualTo(200000);

      // Only the overlay itself is mounted: the idmapped layers were detached clones.
      assertThat(mountsUnder(root.resolve("rootfs"))).hasSize(1);
      snapshotter.remove("u1");
      assertThat(mountsUnder(root.resolve("rootfs"))).isEmpty();
    } finally {
      NamespacePins.unpin(pinned);
      Syscalls.umount2(pins.toString(), Syscalls.MNT_DETACH);
    }
  }
}
