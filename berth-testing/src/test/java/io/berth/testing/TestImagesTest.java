package io.berth.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.core.Digest;
import io.berth.core.MediaTypes;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;

class TestImagesTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static List<TarArchiveEntry> entries(byte[] tar) throws IOException {
    List<TarArchiveEntry> out = new ArrayList<>();
    try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(tar))) {
      TarArchiveEntry e;
      while ((e = in.getNextEntry()) != null) {
        out.add(e);
      }
    }
    return out;
  }

  @Test
  void layer_allEntryTypes_writtenAsGiven() throws IOException {
    TestImages.Layer l = TestImages.layer()
        .dir("etc", 0755).file("etc/conf", "x=1\n").xattr("etc/conf", "user.note", "hello")
        .file("bin/tool", new byte[] {1, 2, 3}, 04755, 1000, 1001, TestImages.EPOCH)
        .symlink("etc/link", "conf").hardlink("etc/hard", "etc/conf")
        .charDevice("dev/null", 1, 3, 0666).blockDevice("dev/sda", 8, 0, 0660).fifo("run/fifo", 0600)
        .whiteout("var/old").opaque("opt").uncompressed().build();
    assertThat(l.blob()).isEqualTo(l.tar());
    assertThat(l.diffId()).isEqualTo(Digest.sha256(l.tar()));
    assertThat(l.mediaType()).isEqualTo(MediaTypes.OCI_LAYER);
    List<TarArchiveEntry> es = entries(l.tar());
    assertThat(es).extracting(TarArchiveEntry::getName).containsExactly("etc/", "etc/conf", "bin/tool", "etc/link",
        "etc/hard", "dev/null", "dev/sda", "run/fifo", "var/.wh.old", "opt/.wh..wh..opq");
    assertThat(es.get(1).getExtraPaxHeader("SCHILY.xattr.user.note")).isEqualTo("hello");
    assertThat(es.get(2).getMode() & 07777).isEqualTo(04755);
    assertThat(es.get(2).getLongUserId()).isEqualTo(1000);
    assertThat(es.get(2).getLongGroupId()).isEqualTo(1001);
    assertThat(es.get(3).isSymbolicLink()).isTrue();
    assertThat(es.get(3).getLinkName()).isEqualTo("conf");
    assertThat(es.get(4).isLink()).isTrue();
    assertThat(es.get(5).isCharacterDevice()).isTrue();
    assertThat(es.get(5).getDevMajor()).isEqualTo(1);
    assertThat(es.get(5).getDevMinor()).isEqualTo(3);
    assertThat(es.get(6).isBlockDevice()).isTrue();
    assertThat(es.get(7).isFIFO()).isTrue();
  }

  @Test
  void layer_hostileNames_keptVerbatim() throws IOException {
    TestImages.Layer l = TestImages.layer().file("../escape", "x").file("/abs/file", "y")
        .symlink("root", "/").file("root/etc/evil", "z").hardlink("hl", "../outside").uncompressed().build();
    assertThat(entries(l.tar())).extracting(TarArchiveEntry::getName)
        .containsExactly("../escape", "/abs/file", "root", "root/etc/evil", "hl");
    assertThat(entries(l.tar()).get(4).getLinkName()).isEqualTo("../outside");
  }

  @Test
  void busybox_gzipLayerWithAppletLinks() throws IOException {
    TestImages.Layer l = TestImages.busybox();
    assertThat(l.mediaType()).isEqualTo(MediaTypes.OCI_LAYER_GZIP);
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(l.blob()))) {
      assertThat(in.readAllBytes()).isEqualTo(l.tar());
    }
    List<TarArchiveEntry> es = entries(l.tar());
    assertThat(es).extracting(TarArchiveEntry::getName).contains("bin/busybox", "bin/sh", "bin/id");
    assertThat(es.get(1).getSize()).isEqualTo(Files.size(TestImages.BUSYBOX));
  }

  @Test
  void image_configAndManifestConsistent() throws IOException {
    TestImages.Layer a = TestImages.busybox();
    TestImages.Layer b = TestImages.layer().file("f", "z").zstd().build();
    TestImages.Image image = TestImages.image().layer(a).layer(b).entrypoint("/bin/sh").cmd("-c", "id")
        .env("A=1").user("1000:1000").workingDir("/tmp").build();
    JsonNode config = JSON.readTree(image.config());
    assertThat(config.path("rootfs").path("diff_ids").get(1).asText()).isEqualTo(b.diffId().toString());
    assertThat(config.path("config").path("User").asText()).isEqualTo("1000:1000");
    JsonNode m = JSON.readTree(image.manifest());
    assertThat(m.path("config").path("digest").asText()).isEqualTo(image.configDigest().toString());
    assertThat(m.path("layers").get(1).path("mediaType").asText()).isEqualTo(MediaTypes.OCI_LAYER_ZSTD);
    assertThat(image.digest()).isEqualTo(Digest.sha256(image.manifest()));
  }

  @Test
  void image_lyingSize_onlyManifestChanges() throws IOException {
    TestImages.Layer a = TestImages.layer().file("f", "z").build();
    TestImages.Image image = TestImages.image().layer(a).layerSize(0, 1).build();
    assertThat(JSON.readTree(image.manifest()).path("layers").get(0).path("size").asLong()).isEqualTo(1);
    assertThat(image.layers().getFirst().blob()).isEqualTo(a.blob());
  }

  @Test
  void dockerImage_usesDockerMediaTypes() throws IOException {
    TestImages.Image image = TestImages.image().docker().layer(TestImages.busybox()).build();
    JsonNode m = JSON.readTree(image.manifest());
    assertThat(m.path("mediaType").asText()).isEqualTo(MediaTypes.DOCKER_MANIFEST);
    assertThat(m.path("config").path("mediaType").asText()).isEqualTo(MediaTypes.DOCKER_CONFIG);
    assertThat(m.path("layers").get(0).path("mediaType").asText()).isEqualTo(MediaTypes.DOCKER_LAYER_GZIP);
  }
}
