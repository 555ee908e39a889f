package io.berth.content;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.ErrorKind;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContentStoreTest {
  @TempDir
  Path tmp;

  private static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static List<Path> files(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.toList();
    }
  }

  @Test
  void open_newRoot_createsPrivateDirectories() throws IOException {
    Path root = tmp.resolve("content");
    ContentStore.open(root);
    for (Path dir : List.of(root, root.resolve("blobs"), root.resolve("blobs/sha256"), root.resolve("blobs/sha512"),
        root.resolve("ingest"))) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).as(dir.toString())
          .isEqualTo("rwx------");
    }
  }

  @Test
  void open_existingLooseRoot_tightensModes() throws IOException {
    Path root = tmp.resolve("content");
    Files.createDirectories(root.resolve("blobs/sha256"));
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(root.resolve("blobs/sha256"), PosixFilePermissions.fromString("rwx--x--x"));
    ContentStore.open(root);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root))).isEqualTo("rwx------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("blobs/sha256"))))
        .isEqualTo("rwx------");
  }

  @Test
  void put_smallBlob_isReadableByDigest() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);
    Digest d = store.put(data);
    assertThat(d).isEqualTo(Digest.sha256(data));
    assertThat(store.contains(d)).isTrue();
    assertThat(store.size(d)).isEqualTo(data.length);
    assertThat(Files.readAllBytes(store.blobPath(d))).isEqualTo(data);
    assertThat(store.blobPath(d)).isEqualTo(tmp.resolve("blobs/sha256/" + d.hex()));
    try (InputStream in = store.open(d)) {
      assertThat(in.readAllBytes()).isEqualTo(data);
    }
    assertThat(store.list()).containsExactly(d);
    assertThat(files(tmp.resolve("ingest"))).isEmpty();
  }

  @Test
  void put_sameBlobTwice_isIdempotent() {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(1000, 1);
    Digest a = store.put(data);
    Digest b = store.put(data);
    assertThat(a).isEqualTo(b);
    assertThat(store.list()).containsExactly(a);
  }

  @Test
  void put_sha512_isStoredUnderSha512() {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(5000, 2);
    Digest d = Digest.of("sha512", data);
    store.put(d, data);
    assertThat(store.blobPath(d)).isEqualTo(tmp.resolve("blobs/sha512/" + d.hex()));
    assertThat(store.list()).containsExactly(d);
  }

  @Test
  void put_wrongDigest_failsAndStoresNothing() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    Digest claimed = Digest.sha256(bytes(10, 3));
    byte[] other = bytes(10, 4);
    assertThatThrownBy(() -> store.put(claimed, other))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessageContaining(claimed.toString())
        .hasMessageContaining(Digest.sha256(other).toString());
    assertThat(store.contains(claimed)).isFalse();
    assertThat(store.list()).isEmpty();
    assertThat(files(tmp.resolve("ingest"))).isEmpty();
  }

  @Test
  void missingBlob_accessors_throwNotFound() {
    ContentStore store = ContentStore.open(tmp);
    Digest d = Digest.sha256(new byte[] {1});
    for (Runnable r : List.<Runnable>of(() -> store.blobPath(d), () -> store.size(d), () -> store.open(d),
        () -> store.readAll(d, 10))) {
      assertThatThrownBy(r::run).isInstanceOfSatisfying(BerthException.class,
          e -> assertThat(e.kind()).isEqualTo(ErrorKind.NOT_FOUND));
    }
  }

  @Test
  void ingest_commit_verifiesAndMovesIntoPlace() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(300_000, 5);
    Digest d = Digest.sha256(data);
    try (Ingest in = store.ingest(d, data.length)) {
      in.stream().write(data, 0, 1000);
      assertThat(in.offset()).isEqualTo(1000);
      assertThat(files(tmp.resolve("ingest"))).hasSize(1);
      in.stream().write(data, 1000, data.length - 1000);
      Path p = in.commit();
      assertThat(p).isEqualTo(tmp.resolve("blobs/sha256/" + d.hex()));
    }
    assertThat(Files.readAllBytes(store.blobPath(d))).isEqualTo(data);
    assertThat(files(tmp.resolve("ingest"))).isEmpty();
  }

  @Test
  void ingest_reset_restartsDigest() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(4096, 6);
    Digest d = Digest.sha256(data);
    try (Ingest in = store.ingest(d, data.length)) {
      in.stream().write(bytes(2000, 7));
      in.reset();
      assertThat(in.offset()).isZero();
      in.stream().write(data);
      in.commit();
    }
    assertThat(Files.readAllBytes(store.blobPath(d))).isEqualTo(data);
  }

  @Test
  void ingest_digestMismatch_leavesNothing() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(2048, 8);
    Digest d = Digest.sha256(bytes(2048, 9));
    try (Ingest in = store.ingest(d, data.length)) {
      in.stream().write(data);
      assertThatThrownBy(in::commit)
          .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
          .hasMessageContaining("expected " + d)
          .hasMessageContaining("got " + Digest.sha256(data));
    }
    assertThat(store.contains(d)).isFalse();
    assertThat(files(tmp.resolve("ingest"))).isEmpty();
    assertThat(files(tmp.resolve("blobs/sha256"))).isEmpty();
  }

  @Test
  void ingest_shortContent_failsWithSizeMismatch() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(2048, 10);
    Digest d = Digest.sha256(data);
    try (Ingest in = store.ingest(d, data.length)) {
      in.stream().write(data, 0, 1024);
      assertThatThrownBy(in::commit).isInstanceOf(BerthException.class)
          .hasMessageContaining("size mismatch").hasMessageContaining("expected 2048").hasMessageContaining("got 1024");
    }
    assertThat(store.contains(d)).isFalse();
    assertThat(files(tmp.resolve("ingest"))).isEmpty();
  }

  @Test
  void ingest_writePastExpectedSize_failsAtOnce() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(100, 11);
    Digest d = Digest.sha256(data);
    try (Ingest in = store.ingest(d, 50)) {
      in.stream().write(data, 0, 50);
      assertThatThrownBy(() -> in.stream().write(data, 50, 1))
          .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
          .hasMessageContaining("larger than its expected size");
    }
    assertThat(files(tmp.resolve("ingest"))).isEmpty();
  }

  @Test
  void ingest_closedWithoutCommit_deletesTempFile() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(100, 12);
    try (Ingest in = store.ingest(Digest.sha256(data), -1)) {
      in.stream().write(data);
    }
    assertThat(files(tmp.resolve("ingest"))).isEmpty();
    assertThat(store.list()).isEmpty();
  }

  @Test
  void ingest_targetAlreadyPresent_commitSucceeds() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(100, 13);
    Digest d = Digest.sha256(data);
    try (Ingest a = store.ingest(d, -1); Ingest b = store.ingest(d, -1)) {
      a.stream().write(data);
      b.stream().write(data);
      a.commit();
      b.commit();
    }
    assertThat(store.list()).containsExactly(d);
    assertThat(files(tmp.resolve("ingest"))).isEmpty();
  }

  @Test
  void ensure_absent_runsFetcherAndCommits() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(70_000, 14);
    Digest d = Digest.sha256(data);
    Path p = store.ensure(d, data.length, in -> in.stream().write(data));
    assertThat(Files.readAllBytes(p)).isEqualTo(data);
    Path again = store.ensure(d, data.length, in -> {
      throw new AssertionError("fetcher must not run for a present blob");
    });
    assertThat(again).isEqualTo(p);
  }

  @Test
  void ensure_fetcherFails_leavesNothingAndCanRetry() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(10_000, 15);
    Digest d = Digest.sha256(data);
    assertThatThrownBy(() -> store.ensure(d, data.length, in -> {
      in.stream().write(data, 0, 5000);
      throw new IOException("connection reset");
    })).isInstanceOf(BerthException.class).hasMessageContaining("connection reset").hasMessageContaining(d.toString());
    assertThat(store.contains(d)).isFalse();
    assertThat(files(tmp.resolve("ingest"))).isEmpty();
    store.ensure(d, data.length, in -> in.stream().write(data));
    assertThat(store.contains(d)).isTrue();
  }

  @Test
  void ensure_wrongContent_failsAndLeavesNothing() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    Digest d = Digest.sha256(bytes(100, 16));
    assertThatThrownBy(() -> store.ensure(d, 100, in -> in.stream().write(bytes(100, 17))))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessageContaining("digest mismatch");
    assertThat(store.list()).isEmpty();
    assertThat(files(tmp.resolve("ingest"))).isEmpty();
  }

  @Test
  void ensure_concurrentCallersOneDigest_fetchOnce() throws Exception {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(1 << 20, 18);
    Digest d = Digest.sha256(data);
    AtomicInteger calls = new AtomicInteger();
    CountDownLatch start = new CountDownLatch(1);
    int callers = 16;
    List<Future<Path>> results = new ArrayList<>();
    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < callers; i++) {
        results.add(pool.submit(() -> {
          start.await();
          return store.ensure(d, data.length, in -> {
            calls.incrementAndGet();
            for (int off = 0; off < data.length; off += 8192) {
              in.stream().write(data, off, Math.min(8192, data.length - off));
              Thread.yield();
            }
          });
        }));
      }
      start.countDown();
      for (Future<Path> f : results) {
        assertThat(Files.readAllBytes(f.get())).isEqualTo(data);
      }
    }
    assertThat(calls).hasValue(1);
    assertThat(files(tmp.resolve("ingest"))).isEmpty();
  }

  @Test
  void ensure_concurrentDifferentDigests_allCommitted() throws Exception {
    ContentStore store = ContentStore.open(tmp);
    List<byte[]> blobs = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      blobs.add(bytes(20_000 + i, 100 + i));
    }
    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<Path>> fs = new ArrayList<>();
      for (byte[] b : blobs) {
        fs.add(pool.submit(() -> store.ensure(Digest.sha256(b), b.length, in -> in.stream().write(b))));
      }
      for (Future<Path> f : fs) {
        f.get();
      }
    }
    assertThat(store.list()).hasSize(8);
  }

  @Test
  void open_leftoverIngest_isSwept() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(1000, 19);
    Ingest abandoned = store.ingest(Digest.sha256(data), data.length);
    abandoned.stream().write(data, 0, 500);
    Files.writeString(tmp.resolve("ingest/stray"), "junk");
    assertThat(files(tmp.resolve("ingest"))).hasSize(2);
    // A new process opens the same root after a crash: the ingest was never committed nor closed.
    ContentStore reopened = ContentStore.open(tmp);
    assertThat(files(tmp.resolve("ingest"))).isEmpty();
    assertThat(reopened.list()).isEmpty();
    abandoned.close();
  }

  @Test
  void open_committedBlobs_survive() {
    ContentStore store = ContentStore.open(tmp);
    Digest d = store.put(bytes(100, 20));
    assertThat(ContentStore.open(tmp).list()).containsExactly(d);
  }

  @Test
  void readAll_overBound_refusesWithoutReading() {
    ContentStore store = ContentStore.open(tmp);
    byte[] data = bytes(4097, 21);
    Digest d = store.put(data);
    assertThatThrownBy(() -> store.readAll(d, 4096))
        .isInstanceOfSatisfying(BerthException.class,
            e -> assertThat(e.kind()).isEqualTo(ErrorKind.RESOURCE_EXHAUSTED))
        .hasMessageContaining("4097").hasMessageContaining("4096");
    assertThat(store.readAll(d, 4097)).isEqualTo(data);
  }

  @Test
  void delete_isIdempotent() {
    ContentStore store = ContentStore.open(tmp);
    Digest d = store.put(bytes(10, 22));
    store.delete(d);
    store.delete(d);
    assertThat(store.contains(d)).isFalse();
    assertThat(store.list()).isEmpty();
  }

  @Test
  void list_ignoresForeignFiles() throws IOException {
    ContentStore store = ContentStore.open(tmp);
    Digest d = store.put(bytes(10, 23));
    Files.writeString(tmp.resolve("blobs/sha256/not-a-digest"), "x");
    assertThat(store.list()).containsExactly(d);
  }

  @Test
  void usageBytes_countsAllocatedBlocks() {
    ContentStore store = ContentStore.open(tmp);
    long empty = store.usageBytes();
    store.put(bytes(1, 24));
    long oneByte = store.usageBytes();
    // A one-byte blob occupies at least one block, more than its claimed size.
    assertThat(oneByte - empty).isGreaterThan(1);
    store.put(bytes(1 << 20, 25));
    assertThat(store.usageBytes() - oneByte).isGreaterThanOrEqualTo(1 << 20);
  }
}
