package io.berth.bench;

import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.ImageStatusRequest;
import io.berth.cri.api.PullImageRequest;
import io.berth.cri.api.RemoveImageRequest;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Cold pull of the big image through CRI PullImage, timed by the client, runtimes alternating run by run (A B A B)
 * so machine noise spreads over both.
 *
 * <p>"Cold" means the runtime has neither the image nor any of its content: before every run the image is removed
 * with CRI RemoveImage and the harness waits until no file in the runtime's root is named after one of the image's
 * blob digests and the root's size is back to what it was before the first pull (snapshots gone too). containerd
 * 1.6's CRI RemoveImage deletes with a synchronous GC, so this normally holds at once; the wait makes the rule the
 * same for any runtime. The daemons stay up between runs (a node pulls with a warm daemon), and one untimed pull per
 * runtime comes first, so JIT warm-up and the registry's page cache count for neither.
 */
final class PullBench {

    private static final long SIZE_SLACK_BYTES = 32L * 1024 * 1024;

    private final List<RuntimeUnderTest> runtimes;
    private final String reference;
    private final BenchImages.BuiltImage image;
    private final int runs;
    private final Report report;

    PullBench(List<RuntimeUnderTest> runtimes, String reference, BenchImages.BuiltImage image, int runs, Report report) {
        this.runtimes = runtimes;
        this.reference = reference;
        this.image = image;
        this.runs = runs;
        this.report = report;
    }

    void run() {
        Map<String, Long> baseline = new LinkedHashMap<>();
        for (RuntimeUnderTest rt : runtimes) {
            remove(rt);
            baseline.put(rt.name(), HostFiles.diskUsage(rt.contentDir()));
            double warm = pull(rt);
            System.out.printf("[pull] %s warm-up pull: %.0f ms%n", rt.name(), warm);
        }
        Map<String, List<Double>> samples = new LinkedHashMap<>();
        runtimes.forEach(rt -> samples.put(rt.name(), new java.util.ArrayList<>()));
        for (int i = 0; i < runs; i++) {
            for (RuntimeUnderTest rt : runtimes) {
                remove(rt);
                awaitGone(rt, baseline.get(rt.name()));
                double ms = pull(rt);
                samples.get(rt.name()).add(ms);
                System.out.printf("[pull] run %d/%d %s: %.0f ms%n", i + 1, runs, rt.name(), ms);
            }
        }
        for (RuntimeUnderTest rt : runtimes) {
            remove(rt);
        }
        report.add(new Metric("pull", "cold pull " + BenchImages.BIG_LAYERS + "-layer image", "ms", samples));
        report.detail("pull", Map.of(
                "reference", reference,
                "layers", image.layers().size(),
                "compressed_bytes", image.compressedBytes(),
                "uncompressed_bytes", image.uncompressedBytes(),
                "runs", runs));
        report.note("pull: cold = image removed and its blobs and snapshots gone from the runtime's root before each run; "
                + "daemons stay up; one untimed warm-up pull each; runtimes alternate run by run.");
    }

    private double pull(RuntimeUnderTest rt) {
        long t0 = System.nanoTime();
        String ref = rt.cri().imagesForPull().pullImage(PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(reference)).build()).getImageRef();
        double ms = (System.nanoTime() - t0) / 1e6;
        boolean present = rt.cri().images().imageStatus(ImageStatusRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(reference)).build()).hasImage();
        if (!present || ref.isEmpty()) {
            throw new BenchException(rt.name() + ": PullImage returned '" + ref + "' but ImageStatus does not show " + reference);
        }
        return ms;
    }

    private void remove(RuntimeUnderTest rt) {
        rt.cri().images().removeImage(RemoveImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(reference)).build());
    }

    private void awaitGone(RuntimeUnderTest rt, long baselineBytes) {
        Set<String> names = new HashSet<>();
        names.add(BenchImages.hex(image.configDigest()));
        image.layers().forEach(l -> names.add(BenchImages.hex(l.digest())));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            boolean blobs = HostFiles.anyFileNamed(rt.contentDir(), names);
            long size = HostFiles.diskUsage(rt.contentDir());
            if (!blobs && size <= baselineBytes + SIZE_SLACK_BYTES) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new BenchException(rt.name() + ": 120 s after RemoveImage its root still holds the image (blobs present: "
                        + blobs + ", " + size + " bytes vs " + baselineBytes + " before the first pull)");
            }
            LocalRegistry.sleep(100);
        }
    }
}
