package io.berth.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.ErrorKind;
import io.berth.core.MediaTypes.Compression;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Layer and snapshot bookkeeping of the overlay snapshotter, without mounting. */
class OverlaySnapshotterTest {
  private Path root;
  private Snapshotter snapshotter;

  @BeforeEach
  void setUp() throws IOException {
    root = Files.createTempDirectory(Path.of("/tmp"), "berth-snapshot-test-");
    snapshotter = Snapshotter.overlay(root.resolve("snapshots"));
  }

  @AfterEach
  void tearDown() throws IOException {
    OverlaySnapshotter.deleteTree(root);
  }

  private Path snapRoot() {
    return root.resolve("snapshots");
  }

  private Snapshotter.LayerInfo apply(TestLayer l) {
    return snapshotter.applyLayer(l.chainId(), l.stream(Compression.GZIP), Compression.GZIP, l.diffId());
  }

  @Test
  void open_newRoot_dirsArePrivate() throws IOException {
    for (String d : List.of("", "layers", "active", "tmp")) {
      assertThat(Files.getAttribute(snapRoot().resolve(d), "unix:mode")).as(d).isEqualTo(040700);
    }
  }

  @Test
  void open_leftoversInTmp_swept() throws IOException {
    Path leftover = snapRoot().resolve("tmp/layer-crashed/fs/usr");
    Files.createDirectories(leftover);
    Files.writeString(leftover.resolve("f"), "x");
    Snapshotter.overlay(snapRoot());
    assertThat(snapRoot().resolve("tmp")).isEmptyDirectory();
  }

  @Test
  void applyLayer_existingLayer_returnsItWithoutReading() {
    TestLayer l = new TestLayer().file("a", "1");
    Snapshotter.LayerInfo first = apply(l);
    AtomicInteger reads = new AtomicInteger();
    InputStream counting = new FilterInputStream(l.stream(Compression.GZIP)) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        reads.incrementAndGet();
        return super.read(b, off, len);
      }
    };
    assertThat(snapshotter.applyLayer(l.chainId(), counting, Compression.GZIP, l.diffId())).isEqualTo(first);
    assertThat(reads).hasValue(0);
    assertThat(snapshotter.layers()).containsExactly(l.chainId());
    // Still there after a restart.
    assertThat(Snapshotter.overlay(snapRoot()).applyLayer(l.chainId(), l.stream(Compression.GZIP), Compression.GZIP,
        l.diffId())).isEqualTo(first);
  }

  @Test
  void applyLayer_concurrentSameChainId_unpacksOnce() throws Exception {
    TestLayer l = new TestLayer().file("big", new byte[4 << 20], 0644, null);
    int threads = 8;
    AtomicInteger opened = new AtomicInteger();
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Snapshotter.LayerInfo>> results = new ArrayList<>();
    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < threads; i++) {
        results.add(pool.submit(() -> {
          start.await();
          InputStream in = new FilterInputStream(l.stream(Compression.GZIP)) {
            boolean counted;

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
              if (!counted) {
                counted = true;
                opened.incrementAndGet();
              }
              return super.read(b, off, len);
            }
          };
          return snapshotter.applyLayer(l.chainId(), in, Compression.GZIP, l.diffId());
        }));
      }
      start.countDown();
      for (Future<Snapshotter.LayerInfo> f : results) {
        assertThat(f.get().diffId()).isEqualTo(l.diffId());
      }
    }
    assertThat(opened).hasValue(1);
    assertThat(snapshotter.layers()).containsExactly(l.chainId());
    assertThat(snapRoot().resolve("tmp")).isEmptyDirectory();
  }

  @Test
  void layerDir_absent_notFound() {
    Digest d = new TestLayer().file("x", "y").chainId();
    assertThatThrownBy(() -> snapshotter.layerDir(d))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.NOT_FOUND));
  }

  @Test
  void removeLayer_twice_idempotent() {
    TestLayer l = new TestLayer().file("a", "1");
    apply(l);
    snapshotter.removeLayer(l.chainId());
    snapshotter.removeLayer(l.chainId());
    assertThat(snapshotter.hasLayer(l.chainId())).isFalse();
    assertThat(snapshotter.layers()).isEmpty();
    assertThat(snapRoot().resolve("tmp")).isEmptyDirectory();
  }

  @Test
  void removeLayer_usedBySnapshot_failedPrecondition() {
    TestLayer l = new TestLayer().file("a", "1");
    apply(l);
    snapshotter.prepare("c1", List.of(l.chainId()));
    assertThatThrownBy(() -> snapshotter.removeLayer(l.chainId()))
        .isInstanceOfSatisfying(BerthException.class,
            e -> assertThat(e.kind()).isEqualTo(ErrorKind.FAILED_PRECONDITION));
    snapshotter.remove("c1");
    snapshotter.removeLayer(l.chainId());
    assertThat(snapshotter.layers()).isEmpty();
  }

  @Test
  void prepare_threeLayers_overlayOptionsTopFirst() {
    TestLayer a = new TestLayer().file("a", "1");
    TestLayer b = new TestLayer().file("b", "2");
    TestLayer c = new TestLayer().file("c", "3");
    List.of(a, b, c).forEach(this::apply);
    Snapshotter.Mount m = snapshotter.prepare("c1", List.of(a.chainId(), b.chainId(), c.chainId()));
    Path home = snapRoot().toAbsolutePath().resolve("active/c1");
    assertThat(m.type()).isEqualTo("overlay");
    assertThat(m.source()).isEqualTo("overlay");
    assertThat(m.options()).contains(
        "lowerdir=" + snapshotter.layerDir(c.chainId()) + ":" + snapshotter.layerDir(b.chainId()) + ":"
            + snapshotter.layerDir(a.chainId()),
        "upperdir=" + home.resolve("upper"),
        "workdir=" + home.resolve("work"));
    assertThat(home.resolve("upper")).isEmptyDirectory();
    assertThat(home.resolve("work")).isEmptyDirectory();
    assertThat(snapshotter.active()).containsExactly("c1");
  }

  @Test
  void prepare_existingKey_alreadyExists() {
    TestLayer a = new TestLayer().file("a", "1");
    apply(a);
    snapshotter.prepare("c1", List.of(a.chainId()));
    assertThatThrownBy(() -> snapshotter.prepare("c1", List.of(a.chainId())))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.ALREADY_EXISTS));
  }

  @Test
  void prepare_missingLayer_notFoundAndNothingCreated() {
    Digest missing = new TestLayer().file("x", "y").chainId();
    assertThatThrownBy(() -> snapshotter.prepare("c1", List.of(missing)))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.NOT_FOUND));
    assertThat(snapshotter.active()).isEmpty();
    assertThat(snapRoot().resolve("tmp")).isEmptyDirectory();
  }

  @Test
  void prepare_keyWithSlash_invalidArgument() {
    for (String key : List.of("../x", "a/b", "", ".hidden")) {
      assertThatThrownBy(() -> snapshotter.prepare(key, List.of()))
          .as(key)
          .isInstanceOfSatisfying(BerthException.class,
              e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
    }
  }

  @Test
  void prepare_noLayers_bindOfUpper() {
    Snapshotter.Mount m = snapshotter.prepare("scratch", List.of());
    assertThat(m.type()).isEqualTo("bind");
    assertThat(m.source()).endsWith("/active/scratch/upper");
  }

  @Test
  void remove_unmountedSnapshot_deletesEverythingIdempotently() throws IOException {
    TestLayer a = new TestLayer().file("a", "1");
    apply(a);
    snapshotter.prepare("c1", List.of(a.chainId()));
    Files.writeString(snapRoot().resolve("active/c1/upper/written"), "x");
    snapshotter.remove("c1");
    snapshotter.remove("c1");
    assertThat(snapshotter.active()).isEmpty();
    assertThat(snapRoot().resolve("active")).isEmptyDirectory();
    assertThat(snapRoot().resolve("tmp")).isEmptyDirectory();
    assertThat(snapshotter.hasLayer(a.chainId())).isTrue();
  }

  @Test
  void usage_afterWrites_countsAllocatedBytes() throws IOException {
    TestLayer a = new TestLayer().file("a", new byte[1 << 20], 0644, null);
    apply(a);
    long before = snapshotter.usageBytes();
    assertThat(before).isGreaterThanOrEqualTo(1 << 20);
    snapshotter.prepare("c1", List.of(a.chainId()));
    assertThat(snapshotter.activeUsageBytes("c1")).isLessThan(64 << 10);
    Files.write(snapRoot().resolve("active/c1/upper/w"), new byte[2 << 20]);
    assertThat(snapshotter.activeUsageBytes("c1")).isGreaterThanOrEqualTo(2 << 20);
    assertThat(snapshotter.usageBytes()).isGreaterThanOrEqualTo(before + (2 << 20));
  }
}
