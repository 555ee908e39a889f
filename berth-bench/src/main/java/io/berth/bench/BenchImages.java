package io.berth.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The images the benchmarks use, built here from files on the host (no network, no external tool) and cached in a
 * blob directory: a big 8-layer image for cold pulls, busybox for pod starts, and a catatonit pause image for
 * runtimes that need one (containerd's {@code sandbox_image}).
 */
final class BenchImages {

    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

    /** Bump when the generated content changes, so stale caches are not reused. */
    private static final int BIG_IMAGE_VERSION = 1;
    static final int BIG_LAYERS = 8;
    static final long BIG_LAYER_BYTES = 25_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** An image ready to push: manifest bytes plus the blobs (config and layers) in {@code blobDir}. */
    record BuiltImage(String repository, String tag, byte[] manifest, String manifestDigest, String configDigest,
                      List<LayerWriter.Layer> layers, Path blobDir) {
        long compressedBytes() {
            return layers.stream().mapToLong(LayerWriter.Layer::size).sum();
        }

        long uncompressedBytes() {
            return layers.stream().mapToLong(LayerWriter.Layer::uncompressedSize).sum();
        }
    }

    private final Path cacheDir;

    BenchImages(Path cacheDir) {
        this.cacheDir = cacheDir;
    }

    private Path blobs() {
        return cacheDir.resolve("blobs");
    }

    /**
     * 8 gzip layers of 25 MB each (200 MB uncompressed), each a tree of files: about a quarter random bytes (like
     * already-compressed assets and binaries) and the rest word-salad text, so gzip reaches a ratio like real layers.
     */
    BuiltImage big() throws IOException {
        String tag = "v" + BIG_IMAGE_VERSION;
        return cached("bench/big", tag, () -> {
            List<LayerWriter.Layer> layers = new ArrayList<>();
            for (int l = 0; l < BIG_LAYERS; l++) {
                layers.add(bigLayer(l));
            }
            return new Recipe(layers, List.of(), List.of("/bin/sh"));
        });
    }

    /** Debian's static busybox with sh and sleep links. */
    BuiltImage busybox() throws IOException {
        return cached("bench/busybox", "1", () -> {
            try (LayerWriter w = new LayerWriter(blobs())) {
                w.directory("bin");
                w.file("bin/busybox", 0755, Path.of("/bin/busybox"));
                w.symlink("bin/sh", "busybox");
                w.symlink("bin/sleep", "busybox");
                w.directory("etc");
                w.directory("tmp");
                return new Recipe(List.of(w.finish()), List.of(), List.of("sh"));
            }
        });
    }

    /** catatonit as {@code /pause}, run in pause mode: the infra container for containerd. */
    BuiltImage pause() throws IOException {
        return cached("bench/pause", "1", () -> {
            try (LayerWriter w = new LayerWriter(blobs())) {
                w.file("pause", 0755, Path.of("/usr/bin/catatonit"));
                return new Recipe(List.of(w.finish()), List.of("/pause", "-P"), List.of());
            }
        });
    }

    private record Recipe(List<LayerWriter.Layer> layers, List<String> entrypoint, List<String> cmd) {}

    private interface RecipeBuilder {
        Recipe build() throws IOException;
    }

    /** Reuses the cached manifest when it and all its blobs are present; builds otherwise. */
    private BuiltImage cached(String repository, String tag, RecipeBuilder builder) throws IOException {
        Path index = cacheDir.resolve(repository.replace('/', '_') + "_" + tag + ".manifest.json");
        if (Files.exists(index)) {
            BuiltImage img = fromManifest(repository, tag, Files.readAllBytes(index));
            if (img != null) {
                return img;
            }
        }
        Files.createDirectories(blobs());
        Recipe r = builder.build();
        ObjectNode config = JSON.createObjectNode();
        config.put("architecture", "amd64");
        config.put("os", "linux");
        ObjectNode cfg = config.putObject("config");
        cfg.putArray("Env").add("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        if (!r.entrypoint().isEmpty()) {
            ArrayNode ep = cfg.putArray("Entrypoint");
            r.entrypoint().forEach(ep::add);
        }
        if (!r.cmd().isEmpty()) {
            ArrayNode cmd = cfg.putArray("Cmd");
            r.cmd().forEach(cmd::add);
        }
        cfg.put("WorkingDir", "/");
        ObjectNode rootfs = config.putObject("rootfs");
        rootfs.put("type", "layers");
        ArrayNode diffIds = rootfs.putArray("diff_ids");
        r.layers().forEach(l -> diffIds.add(l.diffId()));
        byte[] configBytes = JSON.writeValueAsBytes(config);
        String configDigest = writeBlob(configBytes);

        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", OCI_MANIFEST);
        ObjectNode c = manifest.putObject("config");
        c.put("mediaType", OCI_CONFIG);
        c.put("digest", configDigest);
        c.put("size", configBytes.length);
        ArrayNode layers = manifest.putArray("layers");
        for (LayerWriter.Layer l : r.layers()) {
            ObjectNode ln = layers.addObject();
            ln.put("mediaType", OCI_LAYER_GZIP);
            ln.put("digest", l.digest());
            ln.put("size", l.size());
        }
        byte[] manifestBytes = JSON.writeValueAsBytes(manifest);
        // The uncompressed sizes are not part of the manifest: keep them beside it for the report.
        ObjectNode sidecar = JSON.createObjectNode();
        ArrayNode sizes = sidecar.putArray("uncompressed");
        r.layers().forEach(l -> sizes.add(l.uncompressedSize()));
        Files.write(cacheDir.resolve(index.getFileName() + ".sizes"), JSON.writeValueAsBytes(sidecar));
        Files.write(index, manifestBytes);
        return fromManifest(repository, tag, manifestBytes);
    }

    private BuiltImage fromManifest(String repository, String tag, byte[] manifestBytes) throws IOException {
        var manifest = JSON.readTree(manifestBytes);
        String configDigest = manifest.get("config").get("digest").asText();
        if (!Files.exists(blobs().resolve(hex(configDigest)))) {
            return null;
        }
        var config = JSON.readTree(Files.readAllBytes(blobs().resolve(hex(configDigest))));
        var diffIds = config.get("rootfs").get("diff_ids");
        Path sizesFile = cacheDir.resolve(repository.replace('/', '_') + "_" + tag + ".manifest.json.sizes");
        var sizes = Files.exists(sizesFile) ? JSON.readTree(Files.readAllBytes(sizesFile)).get("uncompressed") : null;
        List<LayerWriter.Layer> layers = new ArrayList<>();
        int i = 0;
        for (var l : manifest.get("layers")) {
            String digest = l.get("digest").asText();
            Path blob = blobs().resolve(hex(digest));
            if (!Files.exists(blob) || Files.size(blob) != l.get("size").asLong()) {
                return null;
            }
            long uncompressed = sizes != null && sizes.size() > i ? sizes.get(i).asLong() : -1;
            layers.add(new LayerWriter.Layer(digest, l.get("size").asLong(), diffIds.get(i).asText(), uncompressed));
            i++;
        }
        String manifestDigest = "sha256:" + HexFormat.of().formatHex(LayerWriter.sha256().digest(manifestBytes));
        return new BuiltImage(repository, tag, manifestBytes, manifestDigest, configDigest, List.copyOf(layers), blobs());
    }

    private String writeBlob(byte[] bytes) throws IOException {
        String hex = HexFormat.of().formatHex(LayerWriter.sha256().digest(bytes));
        Files.write(blobs().resolve(hex), bytes);
        return "sha256:" + hex;
    }

    static String hex(String digest) {
        return digest.substring(digest.indexOf(':') + 1);
    }

    private LayerWriter.Layer bigLayer(int index) throws IOException {
        SplittableRandom rng = new SplittableRandom(0xBE27L * 31 + index);
        String[] words = vocabulary(new SplittableRandom(0x5EEDL + index));
        try (LayerWriter w = new LayerWriter(blobs())) {
            String root = "opt/bench/layer" + index;
            w.directory("opt");
            w.directory("opt/bench");
            w.directory(root);
            long written = 0;
            int dirNo = -1;
            int file = 0;
            while (written < BIG_LAYER_BYTES) {
                if (file % 40 == 0) {
                    dirNo++;
                    w.directory(root + "/d" + dirNo);
                }
                long size = fileSize(rng);
                size = Math.min(size, Math.max(1, BIG_LAYER_BYTES - written));
                boolean random = rng.nextInt(4) == 0;
                long seed = rng.nextLong();
                String name = root + "/d" + dirNo + "/f" + file + (random ? ".bin" : ".txt");
                final long fileSize = size;
                w.file(name, 0644, size, out -> {
                    if (random) {
                        randomBytes(out, fileSize, new SplittableRandom(seed));
                    } else {
                        text(out, fileSize, new SplittableRandom(seed), words);
                    }
                });
                written += size;
                file++;
            }
            return w.finish();
        }
    }

    /** Mostly small files with a tail of big ones, as in real layers (config, sources, libraries, data). */
    private static long fileSize(SplittableRandom rng) {
        int bucket = rng.nextInt(100);
        if (bucket < 70) {
            return 512 + rng.nextInt(16 * 1024);
        } else if (bucket < 95) {
            return 16 * 1024 + rng.nextInt(240 * 1024);
        }
        return 256 * 1024 + rng.nextInt(3 * 1024 * 1024);
    }

    private static String[] vocabulary(SplittableRandom rng) {
        String[] words = new String[4096];
        for (int i = 0; i < words.length; i++) {
            int len = 2 + rng.nextInt(9);
            char[] c = new char[len];
            for (int j = 0; j < len; j++) {
                c[j] = (char) ('a' + rng.nextInt(26));
            }
            words[i] = new String(c);
        }
        return words;
    }

    private static void randomBytes(OutputStream out, long size, SplittableRandom rng) throws IOException {
        byte[] buf = new byte[1 << 16];
        long left = size;
        while (left > 0) {
            int n = (int) Math.min(buf.length, left);
            rng.nextBytes(buf);
            out.write(buf, 0, n);
            left -= n;
        }
    }

    private static void text(OutputStream out, long size, SplittableRandom rng, String[] words) throws IOException {
        byte[] buf = new byte[1 << 16];
        long left = size;
        int col = 0;
        while (left > 0) {
            int n = (int) Math.min(buf.length, left);
            int pos = 0;
            while (pos < n) {
                // Zipf-like: frequent words come from a small head of the vocabulary.
                int idx = rng.nextInt(4) == 0 ? rng.nextInt(words.length) : rng.nextInt(256);
                byte[] word = words[idx].getBytes(StandardCharsets.US_ASCII);
                for (int k = 0; k < word.length && pos < n; k++) {
                    buf[pos++] = word[k];
                }
                col += word.length + 1;
                if (pos < n) {
                    buf[pos++] = (byte) (col > 72 ? '\n' : ' ');
                    if (col > 72) {
                        col = 0;
                    }
                }
            }
            out.write(buf, 0, n);
            left -= n;
        }
    }
}
