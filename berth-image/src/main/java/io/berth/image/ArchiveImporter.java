package io.berth.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.content.ContentStore;
import io.berth.core.BerthException;
import io.berth.core.Descriptor;
import io.berth.core.Digest;
import io.berth.core.ImageRef;
import io.berth.core.MediaTypes;
import io.berth.metadata.ImageRecord;
import io.berth.metadata.MetadataStore;
import io.berth.snapshot.Snapshotter;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Imports an OCI image layout archive or a {@code docker save} archive in one pass over the tar, with memory bounded
 * whatever the archive claims (CVE-2023-25153 was an import that read an entry of any size into memory): JSON entries
 * larger than the config bound are refused from their header, before a byte is read, and their sum is bounded too;
 * {@code blobs/<alg>/<hex>} entries stream into the content store, which verifies them; other files (legacy
 * {@code <id>/layer.tar}) stream to a temp file while their sha256 is computed. Then each image's layers are unpacked
 * and it is recorded.
 */
final class ArchiveImporter {
  private static final Logger log = LoggerFactory.getLogger(ArchiveImporter.class);
  private static final Pattern BLOB = Pattern.compile("blobs/(sha256|sha512)/([0-9a-f]+)");
  static final String CONTAINERD_NAME = "io.containerd.image.name";
  static final String OCI_REF_NAME = "org.opencontainers.image.ref.name";

  private final ImageConfig config;
  private final ContentStore content;
  private final Snapshotter snapshotter;
  private final MetadataStore metadata;
  private final long maxJson;
  private final long maxJsonTotal;

  /** A non-blob file of the archive, saved to a temp file with its digest. */
  private record TempFile(Path path, Digest digest, long size) {}

  /** What one pass over the archive collected. */
  private final class Collected {
    final Map<String, byte[]> json = new HashMap<>();
    final Map<String, Digest> blobs = new HashMap<>();
    final Map<String, TempFile> files = new HashMap<>();
    final Map<String, String> links = new HashMap<>();
    long jsonBytes;

    /** Follows links (bounded, in case of loops) to the entry a path names. */
    String resolve(String path) {
      String p = normalize(path);
      for (int i = 0; i < 32 && links.containsKey(p); i++) {
        p = links.get(p);
      }
      return p;
    }

    Optional<byte[]> jsonFile(String path, String what) {
      String p = resolve(path);
      if (json.containsKey(p)) {
        return Optional.of(json.get(p));
      }
      Matcher m = BLOB.matcher(p);
      if (m.matches()) {
        Digest d = new Digest(m.group(1), m.group(2));
        if (content.contains(d)) {
          return Optional.of(content.readAll(d, maxJson));
        }
      }
      return Optional.empty();
    }
  }

  ArchiveImporter(ImageConfig config, ContentStore content, Snapshotter snapshotter, MetadataStore metadata) {
    this.config = config;
    this.content = content;
    this.snapshotter = snapshotter;
    this.metadata = metadata;
    this.maxJson = config.maxConfigBytes();
    this.maxJsonTotal = 4 * config.maxConfigBytes();
  }

  List<ImageRecord> importArchive(InputStream raw, Optional<String> tagForUnnamed) {
    Path work;
    try {
      work = Files.createTempDirectory(config.root().resolve("tmp"), "import-");
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot create import directory in %s", config.root());
    }
    try {
      Collected c = read(raw, work);
      List<Found> found;
      if (c.json.containsKey("index.json")) {
        found = fromOciIndex(c);
        addDockerNames(c, found);
      } else if (c.json.containsKey("manifest.json")) {
        found = fromDockerManifest(c);
      } else {
        throw BerthException.invalidArgument(
            "archive is neither an OCI image layout (no index.json) nor a docker save archive (no manifest.json)");
      }
      if (found.isEmpty()) {
        throw BerthException.invalidArgument("archive contains no image");
      }
      List<ImageRecord> out = new ArrayList<>();
      for (Found f : found) {
        out.add(unpackAndRecord(f, tagForUnnamed));
      }
      return out;
    } finally {
      try {
        ImageService.deleteTree(work);
      } catch (IOException e) {
        log.warn("cannot delete import directory {}: {}", work, e.toString());
      }
    }
  }

  // ---------------------------------------------------------------- the pass over the tar

  private Collected read(InputStream raw, Path work) {
    Collected c = new Collected();
    try {
      BufferedInputStream buffered = new BufferedInputStream(raw, 65536);
      buffered.mark(2);
      int b0 = buffered.read();
      int b1 = buffered.read();
      buffered.reset();
      InputStream in = b0 == 0x1f && b1 == 0x8b ? new GZIPInputStream(buffered, 65536) : buffered;
      TarArchiveInputStream tar = new TarArchiveInputStream(in);
      TarArchiveEntry e;
      int n = 0;
      while ((e = tar.getNextEntry()) != null) {
        String name = normalize(e.getName());
        if (name.isEmpty() || e.isDirectory()) {
          continue;
        }
        if (e.isSymbolicLink()) {
          String target = e.getLinkName();
          String base = name.contains("/") ? name.substring(0, name.lastIndexOf('/') + 1) : "";
          c.links.put(name, normalize(target.startsWith("/") ? target : base + target));
          continue;
        }
        if (e.isLink()) {
          c.links.put(name, normalize(e.getLinkName()));
          continue;
        }
        if (!e.isFile()) {
          continue;
        }
        long size = e.getSize();
        Matcher m = BLOB.matcher(name);
        if (m.matches()) {
          Digest d;
          try {
            d = new Digest(m.group(1), m.group(2));
          } catch (BerthException bad) {
            throw BerthException.invalidArgument("archive entry %s: %s", name, bad.getMessage());
          }
          try {
            content.ensure(d, size, ingest -> copy(tar, ingest.stream(), size));
          } catch (BerthException bad) {
            throw BerthException.wrap(bad, "archive blob %s", name);
          }
          c.blobs.put(name, d);
        } else if (isJson(name)) {
          if (size > maxJson) {
            throw BerthException.invalidArgument("archive entry %s is %d bytes, more than the limit of %d for a JSON"
                + " file", name, size, maxJson);
          }
          c.jsonBytes += size;
          if (c.jsonBytes > maxJsonTotal) {
            throw BerthException.invalidArgument("archive JSON files exceed %d bytes in total", maxJsonTotal);
          }
          byte[] data = tar.readNBytes((int) size);
          if (data.length != size) {
            throw BerthException.invalidArgument("archive entry %s is truncated", name);
          }
          c.json.put(name, data);
        } else if (isIgnored(name)) {
          continue;
        } else {
          Path tmp = work.resolve("f" + (n++));
          MessageDigest md = Digest.newMessageDigest("sha256");
          try (OutputStream os = new DigestOutputStream(Files.newOutputStream(tmp), md)) {
            copy(tar, os, size);
          }
          c.files.put(name, new TempFile(tmp, new Digest("sha256", HexFormat.of().formatHex(md.digest())), size));
        }
      }
    } catch (IOException e) {
      throw BerthException.invalidArgument("cannot read image archive: %s", e.getMessage());
    }
    return c;
  }

  private static boolean isJson(String name) {
    return name.endsWith(".json") || name.equals("oci-layout") || name.equals("repositories");
  }

  /** Legacy per-layer metadata docker save still writes, which Berth does not need. */
  private static boolean isIgnored(String name) {
    return name.endsWith("/json") || name.endsWith("/VERSION");
  }

  private static void copy(InputStream in, OutputStream out, long size) throws IOException {
    byte[] buf = new byte[65536];
    long left = size;
    while (left > 0) {
      int r = in.read(buf, 0, (int) Math.min(buf.length, left));
      if (r < 0) {
        throw new IOException("archive entry truncated: " + left + " bytes missing");
      }
      out.write(buf, 0, r);
      left -= r;
    }
  }

  static String normalize(String path) {
    List<String> parts = new ArrayList<>();
    for (String p : path.split("/")) {
      if (p.isEmpty() || p.equals(".")) {
        continue;
      }
      if (p.equals("..")) {
        if (!parts.isEmpty()) {
          parts.removeLast();
        }
        continue;
      }
      parts.add(p);
    }
    return String.join("/", parts);
  }

  // ---------------------------------------------------------------- finding images

  /** One image found in the archive: what its names point at, its manifest, and its names. */
  private record Found(Descriptor target, Digest manifestDigest, byte[] manifest, String manifestType,
      Set<String> names) {}

  private List<Found> fromOciIndex(Collected c) {
    List<Manifests.IndexEntry> entries = Manifests.parseIndex(c.json.get("index.json"), "archive index.json");
    List<Found> out = new ArrayList<>();
    for (Manifests.IndexEntry entry : entries) {
      Descriptor d = entry.descriptor();
      byte[] doc = blob(d.digest(), config.maxManifestBytes(), "manifest");
      String type = Manifests.mediaType(doc, d.mediaType(), "archive manifest " + d.digest());
      String targetType = type;
      Digest manifestDigest = d.digest();
      byte[] manifest = doc;
      if (MediaTypes.isIndex(type)) {
        var chosen = PlatformMatcher.choose(Manifests.parseIndex(doc, "archive index " + d.digest()),
            config.platform());
        if (chosen.isEmpty()) {
          log.info("archive index {} has no manifest for {}; skipped", d.digest(), config.platform());
          continue;
        }
        manifestDigest = chosen.get().descriptor().digest();
        manifest = blob(manifestDigest, config.maxManifestBytes(), "manifest");
        type = Manifests.mediaType(manifest, chosen.get().descriptor().mediaType(), "archive manifest " + manifestDigest);
      }
      if (!MediaTypes.isManifest(type)) {
        log.info("archive index entry {} of type {} is not an image; skipped", d.digest(), type);
        continue;
      }
      Set<String> names = new LinkedHashSet<>();
      Optional.ofNullable(d.annotations().get(CONTAINERD_NAME)).flatMap(ArchiveImporter::fullName).ifPresent(names::add);
      if (names.isEmpty()) {
        String refName = d.annotations().get(OCI_REF_NAME);
        if (refName != null && (refName.contains("/") || refName.contains(":") || refName.contains("@"))) {
          fullName(refName).ifPresent(names::add);
        }
      }
      out.add(new Found(new Descriptor(targetType, d.digest(), d.size()), manifestDigest, manifest, type, names));
    }
    return out;
  }

  /** Docker 25+ writes both index.json and manifest.json; take the RepoTags of the latter too. */
  private void addDockerNames(Collected c, List<Found> found) {
    if (!c.json.containsKey("manifest.json")) {
      return;
    }
    JsonNode arr = Json.parseAny(c.json.get("manifest.json"), "archive manifest.json");
    for (JsonNode m : arr) {
      String cfg = c.resolve(m.path("Config").asText(""));
      Matcher mm = BLOB.matcher(cfg);
      if (!mm.matches()) {
        continue;
      }
      Digest configDigest = new Digest(mm.group(1), mm.group(2));
      for (Found f : found) {
        Manifests.Manifest man = Manifests.parseManifest(f.manifest(), f.manifestType(), "archive manifest");
        if (man.config().digest().equals(configDigest)) {
          for (String tag : Json.strings(m.get("RepoTags"))) {
            fullName(tag).ifPresent(f.names()::add);
          }
        }
      }
    }
  }

  private List<Found> fromDockerManifest(Collected c) {
    JsonNode arr = Json.parseAny(c.json.get("manifest.json"), "archive manifest.json");
    if (!arr.isArray()) {
      throw BerthException.invalidArgument("archive manifest.json is not a JSON array");
    }
    List<Found> out = new ArrayList<>();
    for (JsonNode m : arr) {
      String cfgPath = m.path("Config").asText("");
      byte[] cfg = c.jsonFile(cfgPath, "config").orElseThrow(
          () -> BerthException.invalidArgument("archive lacks config %s named in manifest.json", cfgPath));
      Digest configDigest = content.put(cfg);
      Manifests.Config parsed = Manifests.parseConfig(cfg, "archive config " + cfgPath);
      ObjectNode manifest = Json.MAPPER.createObjectNode();
      manifest.put("schemaVersion", 2);
      manifest.put("mediaType", MediaTypes.OCI_MANIFEST);
      ObjectNode cfgDesc = manifest.putObject("config");
      cfgDesc.put("mediaType", MediaTypes.OCI_CONFIG);
      cfgDesc.put("digest", configDigest.toString());
      cfgDesc.put("size", cfg.length);
      ArrayNode layers = manifest.putArray("layers");
      List<String> layerPaths = Json.strings(m.get("Layers"));
      if (layerPaths.size() != parsed.diffIds().size()) {
        throw BerthException.invalidArgument("archive image %s: manifest.json lists %d layers but config has %d diff"
            + " ids", cfgPath, layerPaths.size(), parsed.diffIds().size());
      }
      for (String lp : layerPaths) {
        Descriptor layer = layerBlob(c, lp);
        ObjectNode l = layers.addObject();
        l.put("mediaType", layer.mediaType());
        l.put("digest", layer.digest().toString());
        l.put("size", layer.size());
      }
      byte[] manifestBytes = Json.write(manifest);
      Digest manifestDigest = content.put(manifestBytes);
      Set<String> names = new LinkedHashSet<>();
      for (String tag : Json.strings(m.get("RepoTags"))) {
        fullName(tag).ifPresent(names::add);
      }
      out.add(new Found(new Descriptor(MediaTypes.OCI_MANIFEST, manifestDigest, manifestBytes.length),
          manifestDigest, manifestBytes, MediaTypes.OCI_MANIFEST, names));
    }
    return out;
  }

  /** A docker save layer: a blob already in the content store, or a temp file moved there now. */
  private Descriptor layerBlob(Collected c, String path) {
    String p = c.resolve(path);
    Digest d;
    if (c.blobs.containsKey(p)) {
      d = c.blobs.get(p);
    } else if (c.files.containsKey(p)) {
      TempFile f = c.files.get(p);
      d = f.digest();
      content.ensure(d, f.size(), ingest -> Files.copy(f.path(), ingest.stream()));
    } else {
      throw BerthException.invalidArgument("archive lacks layer %s named in manifest.json", path);
    }
    return new Descriptor(layerMediaType(d), d, content.size(d));
  }

  /** Docker save does not say how a layer is compressed; its magic number does. */
  private String layerMediaType(Digest d) {
    byte[] head = new byte[4];
    int n;
    try (InputStream in = content.open(d)) {
      n = in.readNBytes(head, 0, 4);
    } catch (IOException e) {
      throw BerthException.internal(e, "read blob %s", d);
    }
    if (n >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
      return MediaTypes.OCI_LAYER_GZIP;
    }
    if (n == 4 && (head[0] & 0xff) == 0x28 && (head[1] & 0xff) == 0xb5 && (head[2] & 0xff) == 0x2f
        && (head[3] & 0xff) == 0xfd) {
      return MediaTypes.OCI_LAYER_ZSTD;
    }
    return MediaTypes.OCI_LAYER;
  }

  private byte[] blob(Digest d, long max, String what) {
    if (!content.contains(d)) {
      throw BerthException.invalidArgument("archive lacks %s blob %s", what, d);
    }
    return content.readAll(d, max);
  }

  static Optional<String> fullName(String ref) {
    try {
      ImageRef r = ImageRef.parse(ref);
      return Optional.of(r.digest().isPresent() && r.tag().isEmpty() ? r.withDigest(r.digest().get())
          : r.tagged().orElseThrow());
    } catch (BerthException e) {
      log.info("archive names an invalid reference {}; ignored", ref);
      return Optional.empty();
    }
  }

  // ---------------------------------------------------------------- unpack and record

  private ImageRecord unpackAndRecord(Found f, Optional<String> tagForUnnamed) {
    String what = "archive manifest " + f.manifestDigest();
    Manifests.Manifest manifest = Manifests.parseManifest(f.manifest(), f.manifestType(), what);
    byte[] cfg = blob(manifest.config().digest(), config.maxConfigBytes(), "config");
    Manifests.Config parsed = Manifests.parseConfig(cfg, "archive config " + manifest.config().digest());
    String image = "image " + manifest.config().digest() + " from archive";
    List<Digest> chainIds = ImagePuller.checkLayers(image, manifest, parsed);
    Semaphore unpacks = new Semaphore(config.maxConcurrentUnpacks());
    List<Callable<Void>> tasks = new ArrayList<>();
    for (int i = 0; i < manifest.layers().size(); i++) {
      Descriptor l = manifest.layers().get(i);
      if (!content.contains(l.digest())) {
        throw BerthException.invalidArgument("%s: archive lacks layer blob %s", image, l.digest());
      }
      tasks.add(new UnpackLayerStep(content, snapshotter, image, i, l.digest(), l.mediaType(), chainIds.get(i),
          parsed.diffIds().get(i), unpacks));
    }
    LayerPipeline.runAll(tasks);
    Set<String> names = new LinkedHashSet<>(f.names());
    if (names.isEmpty() && tagForUnnamed.isPresent()) {
      names.add(fullName(tagForUnnamed.get()).orElseThrow(
          () -> BerthException.invalidArgument("invalid image reference %s", tagForUnnamed.get())));
    }
    ImageRecord rec = RecordImageStep.record(metadata, List.copyOf(names), f.target(), f.manifestDigest(), manifest,
        parsed, chainIds, new String(cfg, StandardCharsets.UTF_8));
    log.info("imported image {} as {}", rec.id(), rec.names());
    return rec;
  }
}
