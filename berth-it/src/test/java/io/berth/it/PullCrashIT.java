package io.berth.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.ImageStatusRequest;
import io.berth.cri.api.ListImagesRequest;
import io.berth.cri.api.PullImageRequest;
import io.berth.testing.BerthdProcess;
import io.berth.testing.FaultyRegistryProxy;
import io.berth.testing.LocalRegistry;
import io.berth.testing.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** SIGKILL in the middle of a pull of a large image, then a restart on the same root: consistent store, pull works. */
class PullCrashIT {
  @RegisterExtension
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @Test
  void pullImage_sigkillMidPull_restartedStoreConsistentAndPullSucceeds() throws Exception {
    // three 20 MiB layers of random (incompressible) bytes; the proxy stalls the first blob after 8 MiB, so the
    // kill lands while that blob is being written, whatever the other layers are doing
    Random random = new Random(42);
    TestImages.ImageBuilder b = TestImages.image().layer(Cri.busyboxImage().layers().getFirst());
    for (int i = 0; i < 3; i++) {
      byte[] data = new byte[20 << 20];
      random.nextBytes(data);
      b.layer(TestImages.layer().dir("big", 0755).file("big/blob" + i, data).gzip().build());
    }
    TestImages.Image image = b.cmd("/bin/sh").build();
    TestImages.push(registry.url(), "it/large", "v1", image, Optional.empty());

    try (FaultyRegistryProxy proxy = FaultyRegistryProxy.stalling(registry.url(), 8L << 20);
        BerthdProcess berthd = BerthdProcess.builder().start()) {
      String ref = proxy.host() + "/it/large:v1";
      CompletableFuture<Void> pull = CompletableFuture.runAsync(() -> berthd.images().pullImage(
          PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref)).build()));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (proxy.faultsInjected() == 0 || ingestBytes(berthd) < (8L << 20)) {
        assertThat(System.nanoTime()).as("the pull reaches the stalled blob").isLessThan(deadline);
        assertThat(pull).isNotDone();
        Cri.sleep(50);
      }
      berthd.kill();
      assertThat(pull).failsWithin(30, TimeUnit.SECONDS);

      berthd.start();
      // the half-pulled image does not exist, and nothing half-written is left in the store
      assertThat(berthd.images().imageStatus(ImageStatusRequest.newBuilder()
          .setImage(ImageSpec.newBuilder().setImage(ref)).build()).hasImage()).isFalse();
      assertThat(berthd.images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList()).isEmpty();
      assertThat(files(berthd.root().resolve("content/ingest"))).isEmpty();
      assertThat(files(berthd.root().resolve("snapshots/tmp"))).isEmpty();
      for (Path blob : files(berthd.root().resolve("content/blobs/sha256"))) {
        assertThat(sha256(blob)).as("complete blob %s", blob).isEqualTo(blob.getFileName().toString());
      }

      String imageRef = berthd.images().pullImage(PullImageRequest.newBuilder()
          .setImage(ImageSpec.newBuilder().setImage(ref)).build()).getImageRef();
      assertThat(imageRef).isEqualTo(image.configDigest().toString());
      assertThat(berthd.images().imageStatus(ImageStatusRequest.newBuilder()
          .setImage(ImageSpec.newBuilder().setImage(ref)).build()).getImage().getId()).isEqualTo(imageRef);
      // the unpacked layers are whole: the last big file has its full size in a running container
      var pod = Cri.pod(berthd, "after-crash");
      String podId = Cri.runPod(berthd, pod, "");
      String c = Cri.createAndStart(berthd, podId, pod, Cri.container("c", ref, "sleep", "3600"));
      assertThat(Cri.exec(berthd, c, "sh", "-c", "wc -c < /big/blob2").getStdout().toStringUtf8().strip())
          .isEqualTo(String.valueOf(20 << 20));
    }
  }

  private static long ingestBytes(BerthdProcess berthd) {
    long total = 0;
    for (Path p : files(berthd.root().resolve("content/ingest"))) {
      try {
        total = Math.max(total, Files.size(p));
      } catch (java.io.IOException e) {
        // renamed into place meanwhile
      }
    }
    return total;
  }

  private static List<Path> files(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).toList();
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      return List.of();
    }
  }

  private static String sha256(Path f) throws Exception {
    java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
    try (var in = Files.newInputStream(f)) {
      in.transferTo(new java.security.DigestOutputStream(java.io.OutputStream.nullOutputStream(), md));
    }
    return java.util.HexFormat.of().formatHex(md.digest());
  }
}
