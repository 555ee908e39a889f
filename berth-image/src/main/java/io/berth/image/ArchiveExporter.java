package io.berth.image;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.content.ContentStore;
import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.ImageRef;
import io.berth.core.MediaTypes;
import io.berth.metadata.ImageRecord;
import io.berth.metadata.LayerRecord;
import io.berth.metadata.MetadataStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Writes images as an OCI image layout archive ({@code oci-layout}, {@code index.json}, {@code blobs/<alg>/<hex>}),
 * plus Docker's {@code manifest.json} for the Docker format, as {@code docker save} does since Docker 25. Each index
 * entry carries containerd's {@code io.containerd.image.name} (the full reference) and the OCI
 * {@code org.opencontainers.image.ref.name} (its tag), as {@code ctr images export} writes them. Blobs stream from the
 * content store; entries have fixed times so one image always exports to the same bytes.
 */
final class ArchiveExporter {
  private final ContentStore content;
  private final MetadataStore metadata;

  ArchiveExporter(ContentStore content, MetadataStore metadata) {
    this.content = content;
    this.metadata = metadata;
  }

  private record Entry(ImageRecord image, Optional<String> name, byte[] manifest, String manifestType) {}

  void export(List<String> refs, OutputStream out, ArchiveFormat format) {
    if (refs.isEmpty()) {
      throw BerthException.invalidArgument("no image to export");
    }
    List<Entry> entries = new ArrayList<>();
    Set<Digest> blobs = new LinkedHashSet<>();
    for (String ref : refs) {
      Digest id = ImageLookup.find(metadata, ref).orElseThrow(() -> BerthException.notFound("image %s not found", ref));
      ImageRecord img = metadata.image(id).orElseThrow(() -> BerthException.notFound("image %s not found", ref));
      Optional<String> name = nameFor(ref, img);
      requireBlob(img.manifestDigest(), img);
      byte[] manifest = content.readAll(img.manifestDigest(), ImageConfig.DEFAULT_MAX_MANIFEST_BYTES * 4);
      String type = Manifests.mediaType(manifest, "", "manifest " + img.manifestDigest() + " of image " + id);
      entries.add(new Entry(img, name, manifest, type));
      blobs.add(img.manifestDigest());
      blobs.add(img.id());
      for (LayerRecord l : img.layers()) {
        blobs.add(l.blobDigest());
      }
    }
    for (Entry e : entries) {
      requireBlob(e.image.id(), e.image);
      e.image.layers().forEach(l -> requireBlob(l.blobDigest(), e.image));
    }
    try {
      TarArchiveOutputStream tar = new TarArchiveOutputStream(new NonClosing(out));
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      putFile(tar, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes());
      putDir(tar, "blobs/");
      Set<String> algs = new LinkedHashSet<>();
      for (Digest d : blobs) {
        if (algs.add(d.algorithm())) {
          putDir(tar, "blobs/" + d.algorithm() + "/");
        }
        TarArchiveEntry te = new TarArchiveEntry("blobs/" + d.algorithm() + "/" + d.hex());
        te.setSize(content.size(d));
        te.setMode(0100644);
        te.setModTime(0);
        tar.putArchiveEntry(te);
        try (InputStream in = content.open(d)) {
          in.transferTo(tar);
        }
        tar.closeArchiveEntry();
      }
      putFile(tar, "index.json", Json.write(index(entries)));
      if (format == ArchiveFormat.DOCKER) {
        putFile(tar, "manifest.json", Json.write(dockerManifest(entries)));
      }
      tar.finish();
      tar.flush();
    } catch (IOException e) {
      throw BerthException.internal(e, "write image archive");
    }
  }

  private void requireBlob(Digest d, ImageRecord img) {
    if (!content.contains(d)) {
      throw BerthException.notFound("blob %s of image %s is not in the content store; pull the image again", d,
          img.id());
    }
  }

  /** The reference the user asked by, if it was a name; else the image's first tag. */
  private static Optional<String> nameFor(String ref, ImageRecord img) {
    Optional<String> asked = ArchiveImporter.fullName(ref).filter(img.names()::contains);
    if (asked.isPresent()) {
      return asked;
    }
    return img.names().stream().filter(n -> !n.contains("@")).findFirst();
  }

  private static ObjectNode index(List<Entry> entries) {
    ObjectNode idx = Json.MAPPER.createObjectNode();
    idx.put("schemaVersion", 2);
    idx.put("mediaType", MediaTypes.OCI_INDEX);
    ArrayNode ms = idx.putArray("manifests");
    for (Entry e : entries) {
      ObjectNode m = ms.addObject();
      m.put("mediaType", e.manifestType);
      m.put("digest", e.image.manifestDigest().toString());
      m.put("size", e.manifest.length);
      if (e.name.isPresent()) {
        ObjectNode a = m.putObject("annotations");
        a.put(ArchiveImporter.CONTAINERD_NAME, e.name.get());
        ImageRef r = ImageRef.parse(e.name.get());
        r.tag().ifPresent(t -> a.put(ArchiveImporter.OCI_REF_NAME, t));
      }
    }
    return idx;
  }

  private static ArrayNode dockerManifest(List<Entry> entries) {
    ArrayNode arr = Json.MAPPER.createArrayNode();
    for (Entry e : entries) {
      ObjectNode m = arr.addObject();
      m.put("Config", "blobs/" + e.image.id().algorithm() + "/" + e.image.id().hex());
      ArrayNode tags = m.putArray("RepoTags");
      e.name.filter(n -> !n.contains("@")).map(ArchiveExporter::familiar).ifPresent(tags::add);
      ArrayNode layers = m.putArray("Layers");
      for (LayerRecord l : e.image.layers()) {
        layers.add("blobs/" + l.blobDigest().algorithm() + "/" + l.blobDigest().hex());
      }
    }
    return arr;
  }

  /** Docker's short form of a name: {@code docker.io/library/busybox:latest} is {@code busybox:latest}. */
  static String familiar(String name) {
    if (name.startsWith("docker.io/library/") && name.indexOf('/', "docker.io/library/".length()) < 0) {
      return name.substring("docker.io/library/".length());
    }
    if (name.startsWith("docker.io/")) {
      return name.substring("docker.io/".length());
    }
    return name;
  }

  private static void putFile(TarArchiveOutputStream tar, String name, byte[] data) throws IOException {
    TarArchiveEntry te = new TarArchiveEntry(name);
    te.setSize(data.length);
    te.setMode(0100644);
    te.setModTime(0);
    tar.putArchiveEntry(te);
    tar.write(data);
    tar.closeArchiveEntry();
  }

  private static void putDir(TarArchiveOutputStream tar, String name) throws IOException {
    TarArchiveEntry te = new TarArchiveEntry(name);
    te.setMode(040755);
    te.setModTime(0);
    tar.putArchiveEntry(te);
    tar.closeArchiveEntry();
  }

  /** The caller owns the output stream; finishing the tar must not close it. */
  private static final class NonClosing extends java.io.FilterOutputStream {
    NonClosing(OutputStream out) {
      super(out);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }
}
