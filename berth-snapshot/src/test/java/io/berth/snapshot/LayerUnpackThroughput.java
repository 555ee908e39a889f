package io.berth.snapshot;

import io.berth.core.Digest;
import io.berth.core.MediaTypes.Compression;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * Unpack speed of a ~100 MB layer, by hand (not a test; no timing assertions anywhere). Mixed content: a few large
 * files plus many small ones, half compressible. Run:
 * <pre>
 * mvn -q -pl berth-snapshot test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java --enable-native-access=ALL-UNNAMED -cp berth-snapshot/target/classes:berth-snapshot/target/test-classes:$(cat berth-snapshot/target/cp.txt) \
 *   io.berth.snapshot.LayerUnpackThroughput [gzip|zstd|none] [runs]
 * </pre>
 */
public final class LayerUnpackThroughput {
  private LayerUnpackThroughput() {}

  public static void main(String[] args) throws Exception {
    Compression c = Compression.valueOf((args.length > 0 ? args[0] : "gzip").toUpperCase());
    int runs = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Random r = new Random(1);
    TestLayer layer = new TestLayer();
    long total = 0;
    for (int i = 0; i < 4; i++) { // 4 x 15 MB
      byte[] b = content(r, 15 << 20);
      layer.file("big/" + i + ".bin", b, 0644, null);
      total += b.length;
    }
    for (int d = 0; d < 40; d++) { // 4000 x ~10 KB
      layer.dir("small/" + d);
      for (int f = 0; f < 100; f++) {
        byte[] b = content(r, 2048 + r.nextInt(16384));
        layer.file("small/" + d + "/" + f, b, 0644, null);
        total += b.length;
      }
    }
    byte[] blob = layer.blob(c);
    Digest diffId = layer.diffId();
    Digest chainId = layer.chainId();
    System.out.printf("layer: %d files, %.1f MB content, %.1f MB tar, %.1f MB %s blob%n", 4 + 4000,
        total / 1e6, layer.tar().length / 1e6, blob.length / 1e6, c);
    if (System.getProperty("dump") != null) {
      Files.write(Path.of(System.getProperty("dump")), layer.tar());
    }
    for (int run = 0; run < runs; run++) {
      Path root = Files.createTempDirectory(Path.of("/tmp"), "berth-unpack-bench-");
      try {
        Snapshotter s = Snapshotter.overlay(root);
        long t0 = System.nanoTime();
        s.applyLayer(chainId, new ByteArrayInputStream(blob), c, diffId);
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("run %d: %.3f s, %.0f MB/s of tar%n", run, secs, layer.tar().length / 1e6 / secs);
      } finally {
        OverlaySnapshotter.deleteTree(root);
      }
    }
  }

  /** Half random (incompressible), half repeated text. */
  private static byte[] content(Random r, int size) {
    byte[] b = new byte[size];
    r.nextBytes(b);
    byte[] text = "the quick brown fox jumps over the lazy dog\n".getBytes();
    for (int i = size / 2; i < size; i++) {
      b[i] = text[i % text.length];
    }
    return b;
  }
}
