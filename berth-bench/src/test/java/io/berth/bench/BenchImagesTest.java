package io.berth.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchImagesTest {

    @TempDir
    Path cache;

    @Test
    void busybox_built_blobNamesAndDiffIdsMatchContent() throws Exception {
        BenchImages.BuiltImage img = new BenchImages(cache).busybox();
        assertThat(img.layers()).hasSize(1);
        LayerWriter.Layer layer = img.layers().getFirst();
        Path blob = img.blobDir().resolve(BenchImages.hex(layer.digest()));
        assertThat(sha256(Files.readAllBytes(blob))).isEqualTo(layer.digest());
        assertThat(Files.size(blob)).isEqualTo(layer.size());

        MessageDigest diff = LayerWriter.sha256();
        try (InputStream in = new DigestInputStream(new GZIPInputStream(Files.newInputStream(blob)), diff)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        List<String> names = new ArrayList<>();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(Files.newInputStream(blob)))) {
            for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
                names.add(e.getName() + (e.isSymbolicLink() ? " -> " + e.getLinkName() : ""));
            }
        }
        assertThat(names).contains("bin/busybox", "bin/sh -> busybox", "bin/sleep -> busybox");
        assertThat("sha256:" + HexFormat.of().formatHex(diff.digest())).isEqualTo(layer.diffId());
        assertThat(img.manifestDigest()).isEqualTo(sha256(img.manifest()));
    }

    @Test
    void pause_builtTwice_reusesCache() throws Exception {
        BenchImages images = new BenchImages(cache);
        BenchImages.BuiltImage first = images.pause();
        BenchImages.BuiltImage second = images.pause();
        assertThat(second.manifestDigest()).isEqualTo(first.manifestDigest());
        assertThat(new String(Files.readAllBytes(cache.resolve("blobs").resolve(BenchImages.hex(first.configDigest())))))
                .contains("\"Entrypoint\":[\"/pause\",\"-P\"]");
    }

    private static String sha256(byte[] bytes) {
        return "sha256:" + HexFormat.of().formatHex(LayerWriter.sha256().digest(bytes));
    }
}
