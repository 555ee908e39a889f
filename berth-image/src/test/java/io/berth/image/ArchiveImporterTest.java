package io.berth.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.content.ContentStore;
import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import io.berth.metadata.MetadataStore;
import io.berth.registry.RegistryClient;
import io.berth.registry.RegistryConfig;
import io.berth.snapshot.Snapshotter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Import bounds: what an archive claims must never decide how much is read into memory (CVE-2023-25153). */
class ArchiveImporterTest {
  @TempDir Path tmp;
  MetadataStore metadata;
  ContentStore content;
  ImageService images;

  @BeforeEach
  void setUp() {
    metadata = MetadataStore.open(tmp.resolve("metadata/meta.db"));
    content = ContentStore.open(tmp.resolve("content"));
    images = ImageService.create(ImageConfig.defaults(tmp.resolve("image")), content,
        Snapshotter.overlay(tmp.resolve("snapshots")), RegistryClient.create(RegistryConfig.defaults()), metadata);
  }

  @AfterEach
  void tearDown() {
    images.close();
    metadata.close();
  }

  /** A tar whose only entry header claims {@code size} bytes, followed by {@code actual} bytes and then EOF. */
  static byte[] tarClaiming(String name, long size, int actual) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setSize(size);
    tar.putArchiveEntry(e);
    tar.write(new byte[actual]);
    tar.flush();
    return bytes.toByteArray(); // never closed: the entry is truncated, as a hostile archive would be
  }

  /** Counts how much the importer read, so the test proves it stopped at the header. */
  static final class CountingStream extends InputStream {
    final InputStream in;
    long read;

    CountingStream(byte[] data) {
      in = new ByteArrayInputStream(data);
    }

    @Override
    public int read() throws IOException {
      int b = in.read();
      read += b >= 0 ? 1 : 0;
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = in.read(b, off, len);
      read += Math.max(n, 0);
      return n;
    }
  }

  @Test
  void importArchive_hugeManifestJson_failsFromHeaderWithoutReadingIt() throws Exception {
    byte[] tar = tarClaiming("manifest.json", 64L << 30, 4096); // claims 64 GiB
    CountingStream in = new CountingStream(tar);
    assertThatThrownBy(() -> images.importArchive(in, Optional.empty()))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessageContaining("manifest.json").hasMessageContaining("limit");
    assertThat(in.read).isLessThan(256 * 1024); // the header and a buffer, not the claimed body
    assertThat(metadata.images()).isEmpty();
  }

  @Test
  void importArchive_hugeIndexJsonInGzip_fails() throws Exception {
    byte[] tar = tarClaiming("index.json", 1L << 40, 0);
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (var out = new java.util.zip.GZIPOutputStream(gz)) {
      out.write(tar);
    }
    assertThatThrownBy(() -> images.importArchive(new ByteArrayInputStream(gz.toByteArray()), Optional.empty()))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessageContaining("index.json");
  }

  @Test
  void importArchive_manyJsonFiles_boundedInTotal() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    long each = ImageConfig.DEFAULT_MAX_CONFIG_BYTES; // each at the per-file limit
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      byte[] body = new byte[(int) each];
      for (int i = 0; i < 6; i++) {
        TarArchiveEntry e = new TarArchiveEntry("x" + i + ".json");
        e.setSize(each);
        tar.putArchiveEntry(e);
        tar.write(body);
        tar.closeArchiveEntry();
      }
    }
    assertThatThrownBy(() -> images.importArchive(new ByteArrayInputStream(bytes.toByteArray()), Optional.empty()))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessageContaining("in total");
  }

  @Test
  void importArchive_blobNotMatchingItsName_invalidAndNothingStored() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      byte[] body = "not what the name says".getBytes(StandardCharsets.UTF_8);
      TarArchiveEntry e = new TarArchiveEntry("blobs/sha256/" + "a".repeat(64));
      e.setSize(body.length);
      tar.putArchiveEntry(e);
      tar.write(body);
      tar.closeArchiveEntry();
    }
    assertThatThrownBy(() -> images.importArchive(new ByteArrayInputStream(bytes.toByteArray()), Optional.empty()))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessageContaining("blobs/sha256/aaaa");
    assertThat(content.list()).isEmpty();
  }

  @Test
  void importArchive_notAnImageArchive_invalidArgument() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      TarArchiveEntry e = new TarArchiveEntry("hello.txt");
      e.setSize(2);
      tar.putArchiveEntry(e);
      tar.write("hi".getBytes());
      tar.closeArchiveEntry();
    }
    assertThatThrownBy(() -> images.importArchive(new ByteArrayInputStream(bytes.toByteArray()), Optional.empty()))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessageContaining("neither");
    try (var s = Files.list(tmp.resolve("image/tmp"))) {
      assertThat(s).isEmpty(); // temp files of the import are gone
    }
  }

  @Test
  void normalize_resolvesDotsWithinArchive() {
    assertThat(ArchiveImporter.normalize("./a/../blobs/sha256/x")).isEqualTo("blobs/sha256/x");
    assertThat(ArchiveImporter.normalize("/../../etc/passwd")).isEqualTo("etc/passwd");
  }

  @Test
  void familiar_shortensDockerHubNames() {
    assertThat(ArchiveExporter.familiar("docker.io/library/busybox:latest")).isEqualTo("busybox:latest");
    assertThat(ArchiveExporter.familiar("docker.io/team/app:1")).isEqualTo("team/app:1");
    assertThat(ArchiveExporter.familiar("127.0.0.1:5000/a/b:1")).isEqualTo("127.0.0.1:5000/a/b:1");
  }
}
