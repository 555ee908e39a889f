package io.berth.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.content.ContentStore;
import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.ErrorKind;
import io.berth.metadata.MetadataStore;
import io.berth.registry.RegistryClient;
import io.berth.registry.RegistryConfig;
import io.berth.snapshot.Snapshotter;
import io.berth.testing.LocalRegistry;
import io.berth.testing.TestImages;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** ImageService against Debian's real docker-registry on 127.0.0.1, real overlayfs and real SQLite; runs as root. */
class ImageServiceIT {
  @RegisterExtension static final LocalRegistry registry = LocalRegistry.builder().build();

  /** One Berth image side in its own root. */
  static final class Stack implements AutoCloseable {
    final Path root;
    final MetadataStore metadata;
    final ContentStore content;
    final Snapshotter snapshotter;
    final ImageService images;

    Stack() throws Exception {
      root = Files.createTempDirectory("berth-it-image-");
      metadata = MetadataStore.open(root.resolve("metadata/meta.db"));
      content = ContentStore.open(root.resolve("content"));
      snapshotter = Snapshotter.overlay(root.resolve("snapshots"));
      images = ImageService.create(ImageConfig.defaults(root.resolve("image")), content, snapshotter,
          RegistryClient.create(RegistryConfig.defaults()), metadata);
    }

    @Override
    public void close() throws Exception {
      images.close();
      try {
        for (String key : snapshotter.active()) {
          snapshotter.remove(key);
        }
      } finally {
        metadata.close();
        ImageService.deleteTree(root);
      }
    }
  }

  Stack stack;

  @BeforeEach
  void setUp() throws Exception {
    stack = new Stack();
  }

  @AfterEach
  void tearDown() throws Exception {
    stack.close();
  }

  static final TestImages.Layer BASE = TestImages.busybox();

  /** Three layers: busybox (gzip); files, a hard link and a dir (zstd); a whiteout and an opaque dir (plain tar). */
  static TestImages.Image multiLayer(String marker) {
    TestImages.Layer files = TestImages.layer()
        .dir("etc", 0755).file("etc/motd", "welcome\n").file("etc/keep", "kept " + marker + "\n")
        .dir("data", 0750).file("data/a", "A").file("data/b", "B")
        .file("big.bin", bytes(300_000, marker)).hardlink("big-link.bin", "big.bin")
        .zstd().build();
    TestImages.Layer changes = TestImages.layer()
        .whiteout("etc/motd").opaque("data").file("data/c", "C").uncompressed().build();
    return TestImages.image().layer(BASE).layer(files).layer(changes).cmd("/bin/sh", "-c", "echo hi")
        .env("MARKER=" + marker).workingDir("/data").user("1000").label("k", marker).build();
  }

  static byte[] bytes(int n, String seed) {
    byte[] b = new byte[n];
    long x = seed.hashCode();
    for (int i = 0; i < n; i++) {
      x = x * 6364136223846793005L + 1442695040888963407L;
      b[i] = (byte) (x >>> 56);
    }
    return b;
  }

  String ref(TestImages.Pushed p) {
    return p.reference();
  }

  @Test
  void pull_multiLayerImage_recordsItAndRootfsMatchesByteForByte() throws Exception {
    TestImages.Image img = multiLayer("m1");
    TestImages.Pushed p = TestImages.push(registry, "test/multi", "v1", img);

    Image pulled = stack.images.pull(ref(p), Optional.empty(), PullListener.NONE);

    assertThat(pulled.id()).isEqualTo(img.configDigest());
    assertThat(pulled.repoTags()).containsExactly(registry.host() + "/test/multi:v1");
    assertThat(pulled.repoDigests()).containsExactly(registry.host() + "/test/multi@" + img.digest());
    long expectedSize = img.config().length + img.layers().stream().mapToLong(l -> l.blob().length).sum();
    assertThat(pulled.size()).isEqualTo(expectedSize);
    assertThat(pulled.cmd()).containsExactly("/bin/sh", "-c", "echo hi");
    assertThat(pulled.env()).contains("MARKER=m1");
    assertThat(pulled.workingDir()).contains("/data");
    assertThat(pulled.user()).contains("1000");
    assertThat(pulled.labels()).containsEntry("k", "m1");
    assertThat(pulled.architecture()).isEqualTo("amd64");
    assertThat(pulled.chainIds()).hasSize(3)
        .isEqualTo(ChainIds.of(img.layers().stream().map(TestImages.Layer::diffId).toList()));
    assertThat(pulled.chainIds()).allMatch(stack.snapshotter::hasLayer);

    Path target = stack.root.resolve("mnt");
    Files.createDirectories(target);
    stack.snapshotter.prepare("rootfs-check", pulled.chainIds());
    stack.snapshotter.mount("rootfs-check", target);
    try {
      assertThat(Files.readAllBytes(target.resolve("bin/busybox"))).isEqualTo(Files.readAllBytes(TestImages.BUSYBOX));
      assertThat(Files.readSymbolicLink(target.resolve("bin/sh"))).isEqualTo(Path.of("busybox"));
      assertThat(target.resolve("etc/motd")).doesNotExist();
      assertThat(target.resolve("etc/keep")).hasContent("kept m1");
      try (var s = Files.list(target.resolve("data"))) {
        assertThat(s.map(x -> x.getFileName().toString())).containsExactly("c");
      }
      assertThat(Files.readAllBytes(target.resolve("big.bin"))).isEqualTo(bytes(300_000, "m1"));
      Object inoA = Files.getAttribute(target.resolve("big.bin"), "unix:ino", LinkOption.NOFOLLOW_LINKS);
      Object inoB = Files.getAttribute(target.resolve("big-link.bin"), "unix:ino", LinkOption.NOFOLLOW_LINKS);
      assertThat(inoA).isEqualTo(inoB);
      assertThat(Files.getAttribute(target.resolve("big.bin"), "unix:nlink")).isEqualTo(2);
    } finally {
      stack.snapshotter.remove("rootfs-check");
    }

    assertThat(stack.images.find(pulled.id().hex().substring(0, 12))).map(Image::id).contains(pulled.id());
    assertThat(stack.images.find(ref(p))).map(Image::id).contains(pulled.id());
    assertThat(stack.images.list()).extracting(Image::id).containsExactly(pulled.id());
    FsUsage usage = stack.images.usage();
    assertThat(usage.contentBytes()).isGreaterThanOrEqualTo(expectedSize);
    assertThat(usage.snapshotBytes()).isGreaterThan(Files.size(TestImages.BUSYBOX));
    assertThat(usage.inodesUsed()).isGreaterThan(10);
  }

  @Test
  void pull_byDigest_recordsDigestNameOnly() {
    TestImages.Pushed p = TestImages.push(registry, "test/bydigest", "v1", multiLayer("d1"));
    Image pulled = stack.images.pull(p.byDigest(), Optional.empty(), PullListener.NONE);
    assertThat(pulled.repoTags()).isEmpty();
    assertThat(pulled.repoDigests()).containsExactly(p.byDigest());
    assertThat(stack.images.find(p.byDigest())).isPresent();
  }

  @Test
  void pull_index_choosesLinuxAmd64() {
    TestImages.Image arm = TestImages.image().layer(BASE).label("arch", "arm64")
        .platform(TestImages.Platform.LINUX_ARM64).build();
    TestImages.Image amd = TestImages.image().layer(BASE).label("arch", "amd64").build();
    TestImages.Image s390 = TestImages.image().layer(BASE).label("arch", "s390x")
        .platform(TestImages.Platform.LINUX_S390X).build();
    TestImages.Index index = TestImages.index().image(arm).image(amd).image(s390).build();
    TestImages.Pushed p = TestImages.push(registry, "test/index", "v1", index);

    Image pulled = stack.images.pull(ref(p), Optional.empty(), PullListener.NONE);

    assertThat(pulled.id()).isEqualTo(amd.configDigest());
    assertThat(pulled.labels()).containsEntry("arch", "amd64");
    assertThat(pulled.manifestDigest()).isEqualTo(amd.digest());
    assertThat(pulled.repoDigests()).containsExactly(registry.host() + "/test/index@" + index.digest());
  }

  @Test
  void pull_indexWithoutHostPlatform_notFound() {
    TestImages.Image arm = TestImages.image().layer(BASE).platform(TestImages.Platform.LINUX_ARM64).build();
    TestImages.Pushed p = TestImages.push(registry, "test/armonly", "v1", TestImages.index().docker().image(arm).build());
    assertThatThrownBy(() -> stack.images.pull(ref(p), Optional.empty(), PullListener.NONE))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.NOT_FOUND))
        .hasMessageContaining("no manifest for linux/amd64 in " + registry.host() + "/test/armonly:v1");
    assertThat(stack.metadata.images()).isEmpty();
  }

  @Test
  void pull_badReference_invalidArgument() {
    assertThatThrownBy(() -> stack.images.pull("UPPER/case::x", Optional.empty(), PullListener.NONE))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
  }

  @Test
  void pull_hostileLayer_failsLeavingNoSnapshotAndNoRow() {
    TestImages.Layer evil = TestImages.layer().file("../../escaped", "x").build();
    TestImages.Image img = TestImages.image().layer(BASE).layer(evil).build();
    TestImages.Pushed p = TestImages.push(registry, "test/evil", "v1", img);
    Digest evilChain = ChainIds.of(List.of(BASE.diffId(), evil.diffId())).get(1);

    assertThatThrownBy(() -> stack.images.pull(ref(p), Optional.empty(), PullListener.NONE))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessageContaining(evil.digest().toString())
        .hasMessageContaining("test/evil");

    assertThat(stack.snapshotter.hasLayer(evilChain)).isFalse();
    assertThat(stack.metadata.images()).isEmpty();
    assertThat(stack.images.find(ref(p))).isEmpty();
  }

  @Test
  void pull_configLyingAboutDiffId_failsLeavingNoRow() {
    TestImages.Layer l = TestImages.layer().file("f", "content").build();
    TestImages.Image img = TestImages.image().layer(BASE).layer(l).diffId(1, Digest.sha256("lie".getBytes())).build();
    TestImages.Pushed p = TestImages.push(registry, "test/liar", "v1", img);
    assertThatThrownBy(() -> stack.images.pull(ref(p), Optional.empty(), PullListener.NONE))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
    assertThat(stack.metadata.images()).isEmpty();
    assertThat(stack.snapshotter.layers()).doesNotContain(ChainIds.of(List.of(BASE.diffId(),
        Digest.sha256("lie".getBytes()))).get(1));
  }

  @Test
  void remove_thenGc_removesBlobsAndSnapshotsButKeepsShared() {
    TestImages.Pushed a = TestImages.push(registry, "test/gc-a", "v1", multiLayer("gcA"));
    TestImages.Image imgB = TestImages.image().layer(BASE).label("b", "b").build();
    TestImages.Pushed b = TestImages.push(registry, "test/gc-b", "v1", imgB);
    Image imageA = stack.images.pull(ref(a), Optional.empty(), PullListener.NONE);
    Image imageB = stack.images.pull(ref(b), Optional.empty(), PullListener.NONE);

    stack.images.remove("test/never-pulled:v9"); // idempotent: unknown is fine
    stack.images.remove(ref(a));
    stack.images.remove(ref(a));
    stack.images.gc();

    assertThat(stack.images.find(imageA.id().toString())).isEmpty();
    assertThat(stack.snapshotter.layers()).containsExactlyInAnyOrderElementsOf(imageB.chainIds());
    Set<Digest> blobs = Set.copyOf(stack.content.list());
    assertThat(blobs).contains(imageB.id(), BASE.digest());
    assertThat(blobs).doesNotContain(imageA.id(), imageA.manifestDigest());

    stack.images.remove(imageB.id().hex().substring(0, 8));
    stack.images.gc();
    assertThat(stack.content.list()).isEmpty();
    assertThat(stack.snapshotter.layers()).isEmpty();
  }

  @Test
  void gc_layersInUseByContainers_areKept() {
    TestImages.Pushed a = TestImages.push(registry, "test/inuse", "v1", multiLayer("use"));
    Image image = stack.images.pull(ref(a), Optional.empty(), PullListener.NONE);
    stack.images.setLayersInUse(() -> Set.copyOf(image.chainIds()));
    stack.images.remove(image.id().toString());
    stack.images.gc();
    assertThat(stack.snapshotter.layers()).containsExactlyInAnyOrderElementsOf(image.chainIds());
    stack.images.setLayersInUse(Set::of);
    stack.images.gc();
    assertThat(stack.snapshotter.layers()).isEmpty();
  }

  @Test
  void pull_sameTagMovesToNewImage_oldKeepsDigestName() {
    TestImages.Image first = TestImages.image().layer(BASE).label("v", "1").build();
    TestImages.Image second = TestImages.image().layer(BASE).label("v", "2").build();
    TestImages.Pushed p1 = TestImages.push(registry, "test/moving", "latest", first);
    Image one = stack.images.pull(ref(p1), Optional.empty(), PullListener.NONE);
    TestImages.Pushed p2 = TestImages.push(registry, "test/moving", "latest", second);
    Image two = stack.images.pull(ref(p2), Optional.empty(), PullListener.NONE);

    assertThat(stack.images.find(ref(p2))).map(Image::id).contains(two.id());
    Image old = stack.images.find(one.id().toString()).orElseThrow();
    assertThat(old.repoTags()).isEmpty();
    assertThat(old.repoDigests()).containsExactly(p1.byDigest());
  }

  @Test
  void importExport_ociRoundTrip_intoFreshStore() throws Exception {
    roundTrip(ArchiveFormat.OCI);
  }

  @Test
  void importExport_dockerRoundTrip_intoFreshStore() throws Exception {
    roundTrip(ArchiveFormat.DOCKER);
  }

  void roundTrip(ArchiveFormat format) throws Exception {
    TestImages.Pushed p = TestImages.push(registry, "test/export-" + format.name().toLowerCase(), "v1",
        multiLayer("x" + format));
    Image pulled = stack.images.pull(ref(p), Optional.empty(), PullListener.NONE);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    stack.images.exportArchive(List.of(ref(p)), out, format);

    Map<String, byte[]> entries = new java.util.HashMap<>();
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
      TarArchiveEntry e;
      while ((e = tar.getNextEntry()) != null) {
        if (e.isFile() && !e.getName().startsWith("blobs/")) {
          entries.put(e.getName(), tar.readAllBytes());
        }
      }
    }
    assertThat(entries).containsKeys("oci-layout", "index.json");
    String index = new String(entries.get("index.json"), StandardCharsets.UTF_8);
    assertThat(index).contains("\"io.containerd.image.name\":\"" + ref(p) + "\"")
        .contains("\"org.opencontainers.image.ref.name\":\"v1\"");
    assertThat(entries.containsKey("manifest.json")).isEqualTo(format == ArchiveFormat.DOCKER);

    try (Stack fresh = new Stack()) {
      List<Image> imported = fresh.images.importArchive(new ByteArrayInputStream(out.toByteArray()), Optional.empty());
      assertThat(imported).singleElement().satisfies(i -> {
        assertThat(i.id()).isEqualTo(pulled.id());
        assertThat(i.repoTags()).containsExactly(ref(p));
        assertThat(i.chainIds()).isEqualTo(pulled.chainIds());
        assertThat(i.size()).isEqualTo(pulled.size());
      });
      assertThat(pulled.chainIds()).allMatch(fresh.snapshotter::hasLayer);
      assertThat(fresh.images.find(ref(p))).isPresent();
    }
  }

  @Test
  void importArchive_legacyDockerSave_withUnnamedTag() throws Exception {
    // docker save before Docker 25: <hex>.json config, <id>/layer.tar uncompressed, one layer linked by symlink.
    TestImages.Layer l0 = TestImages.layer().file("hello", "hello\n").uncompressed().build();
    TestImages.Image img = TestImages.image().layer(l0).layer(l0).build();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (var tar = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(bytes)) {
      put(tar, img.configDigest().hex() + ".json", img.config());
      put(tar, "l0/layer.tar", l0.tar());
      put(tar, "l0/VERSION", "1.0".getBytes());
      TarArchiveEntry link = new TarArchiveEntry("l1/layer.tar", TarArchiveEntry.LF_SYMLINK);
      link.setLinkName("../l0/layer.tar");
      tar.putArchiveEntry(link);
      tar.closeArchiveEntry();
      put(tar, "manifest.json", ("[{\"Config\":\"" + img.configDigest().hex() + ".json\",\"RepoTags\":null,"
          + "\"Layers\":[\"l0/layer.tar\",\"l1/layer.tar\"]}]").getBytes());
    }
    List<Image> imported = stack.images.importArchive(new ByteArrayInputStream(bytes.toByteArray()),
        Optional.of("imported/legacy:1"));
    assertThat(imported).singleElement().satisfies(i -> {
      assertThat(i.id()).isEqualTo(img.configDigest());
      assertThat(i.repoTags()).containsExactly("docker.io/imported/legacy:1");
      assertThat(i.chainIds()).hasSize(2).allMatch(stack.snapshotter::hasLayer);
    });
  }

  static void put(org.apache.commons.compress.archivers.tar.TarArchiveOutputStream tar, String name, byte[] data)
      throws Exception {
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setSize(data.length);
    tar.putArchiveEntry(e);
    tar.write(data);
    tar.closeArchiveEntry();
  }

  @Test
  void push_toSecondRegistry_thenPullBack() throws Exception {
    TestImages.Pushed p = TestImages.push(registry, "test/topush", "v1", multiLayer("push"));
    Image pulled = stack.images.pull(ref(p), Optional.empty(), PullListener.NONE);
    try (LocalRegistry second = LocalRegistry.start(); Stack other = new Stack()) {
      String target = second.host() + "/copied/image:v2";
      stack.images.push(ref(p), target, Optional.empty());
      Image back = other.images.pull(target, Optional.empty(), PullListener.NONE);
      assertThat(back.id()).isEqualTo(pulled.id());
      assertThat(back.manifestDigest()).isEqualTo(pulled.manifestDigest());
      assertThat(back.chainIds()).isEqualTo(pulled.chainIds());
    }
  }

  @Test
  void pull_concurrentPullsOfOneImage_downloadEachBlobOnce() throws Exception {
    TestImages.Image img = multiLayer("conc");
    TestImages.Pushed p = TestImages.push(registry, "test/concurrent", "v1", img);
    Map<Digest, AtomicLong> received = new ConcurrentHashMap<>();
    PullListener counting = new PullListener() {
      @Override
      public void bytes(Digest blob, long delta) {
        received.computeIfAbsent(blob, k -> new AtomicLong()).addAndGet(delta);
      }
    };
    List<Future<Image>> pulls = new ArrayList<>();
    try (var ex = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < 4; i++) {
        pulls.add(ex.submit(() -> stack.images.pull(ref(p), Optional.empty(), counting)));
      }
    }
    for (Future<Image> f : pulls) {
      assertThat(f.get().id()).isEqualTo(img.configDigest());
    }
    for (TestImages.Layer l : img.layers()) {
      assertThat(received.get(l.digest())).as("bytes of %s", l.digest()).hasValue(l.blob().length);
    }
    assertThat(stack.images.list()).hasSize(1);
  }

  @Test
  void pull_listener_seesTotalsAndStates() {
    TestImages.Image img = multiLayer("listen");
    TestImages.Pushed p = TestImages.push(registry, "test/listen", "v1", img);
    AtomicLong total = new AtomicLong();
    Map<Digest, List<PullListener.LayerState>> states = new ConcurrentHashMap<>();
    stack.images.pull(ref(p), Optional.empty(), new PullListener() {
      @Override
      public void resolved(String ref, Digest manifest, List<io.berth.core.Descriptor> layers, long totalBytes) {
        total.set(totalBytes);
      }

      @Override
      public void layer(Digest blob, LayerState state) {
        states.computeIfAbsent(blob, k -> java.util.Collections.synchronizedList(new ArrayList<>())).add(state);
      }
    });
    assertThat(total.get()).isEqualTo(img.config().length + img.layers().stream().mapToLong(l -> l.blob().length).sum());
    for (TestImages.Layer l : img.layers()) {
      assertThat(states.get(l.digest())).first().isEqualTo(PullListener.LayerState.WAITING);
      assertThat(states.get(l.digest())).last().isEqualTo(PullListener.LayerState.DONE);
    }
  }

  @Test
  void prune_removesImagesNotInUseAndNotPinned() {
    Image used = stack.images.pull(ref(TestImages.push(registry, "test/prune-used", "v1",
        TestImages.image().layer(BASE).label("p", "used").build())), Optional.empty(), PullListener.NONE);
    Image pinned = stack.images.pull(ref(TestImages.push(registry, "test/prune-pinned", "v1",
        TestImages.image().layer(BASE).label("p", "pinned").build())), Optional.empty(), PullListener.NONE);
    Image unused = stack.images.pull(ref(TestImages.push(registry, "test/prune-unused", "v1",
        multiLayer("prune"))), Optional.empty(), PullListener.NONE);
    stack.images.pin(pinned.id().toString(), true);

    List<Image> pruned = stack.images.prune(Set.of(used.id().toString()));

    assertThat(pruned).extracting(Image::id).containsExactly(unused.id());
    assertThat(stack.images.list()).extracting(Image::id).containsExactlyInAnyOrder(used.id(), pinned.id());
    assertThat(stack.snapshotter.layers()).doesNotContainAnyElementsOf(unused.chainIds().subList(1, 3));
    assertThat(stack.images.find(pinned.id().toString()).orElseThrow().pinned()).isTrue();
  }
}
