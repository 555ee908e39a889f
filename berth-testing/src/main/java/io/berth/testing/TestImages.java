package io.berth.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.luben.zstd.ZstdOutputStream;
import io.berth.core.Descriptor;
import io.berth.core.Digest;
import io.berth.core.MediaTypes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Builds OCI and Docker images in memory for tests, and pushes them to a registry over HTTP.
 *
 * <pre>
 * Layer base = TestImages.busybox();
 * Layer app = TestImages.layer().dir("app", 0755).file("app/hello.txt", "hi\n").whiteout("etc/motd").zstd().build();
 * Image image = TestImages.image().layer(base).layer(app).cmd("/bin/sh", "-c", "cat /app/hello.txt").build();
 * Pushed pushed = TestImages.push(registry.url(), "test/hello", "v1", image, Optional.empty());
 * </pre>
 * Layers keep their uncompressed tar and entries, so tests can check an unpacked rootfs byte for byte. Hostile layers
 * (paths with {@code ..}, absolute paths, escapes through symlinks or hard links) are written exactly as given, and
 * {@link ImageBuilder#layerSize} and {@link ImageBuilder#diffId} make a manifest or config that lies.
 */
public final class TestImages {
  static final ObjectMapper JSON = new ObjectMapper();
  /** Modification time of entries unless set: fixed, so builds are reproducible. */
  public static final Instant EPOCH = Instant.parse("2024-01-01T00:00:00Z");
  public static final Path BUSYBOX = Path.of("/bin/busybox");
  public static final List<String> BUSYBOX_APPLETS = List.of("sh", "echo", "sleep", "cat", "ls", "id");

  private TestImages() {}

  /** A new layer. */
  public static LayerBuilder layer() {
    return new LayerBuilder();
  }

  /** A new image (OCI by default, linux/amd64). */
  public static ImageBuilder image() {
    return new ImageBuilder();
  }

  /** A new multi-platform index (OCI by default). */
  public static IndexBuilder index() {
    return new IndexBuilder();
  }

  /**
   * A gzip layer with {@code bin/busybox} from Debian's busybox-static (mode 0755) and symlinks {@code bin/sh},
   * {@code bin/echo}, ... to it.
   */
  public static Layer busybox() {
    return busyboxLayer().build();
  }

  /** {@link #busybox()} as a builder, to add entries or choose the compression. */
  public static LayerBuilder busyboxLayer() {
    byte[] bin;
    try {
      bin = Files.readAllBytes(BUSYBOX);
    } catch (IOException e) {
      throw new UncheckedIOException(BUSYBOX + " missing: install busybox-static", e);
    }
    LayerBuilder b = layer().dir("bin", 0755).file("bin/busybox", bin, 0755, 0, 0, EPOCH);
    for (String applet : BUSYBOX_APPLETS) {
      b.symlink("bin/" + applet, "busybox");
    }
    return b.gzip();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Layers

  /** Kinds of tar entries. */
  public enum EntryType { FILE, DIR, SYMLINK, HARDLINK, CHAR_DEVICE, BLOCK_DEVICE, FIFO }

  /**
   * One tar entry, written exactly as given. {@code mode} holds permission bits (incl. setuid/setgid/sticky);
   * {@code link} is the target of a symlink or hard link; {@code xattrs} become PAX {@code SCHILY.xattr.*} records.
   */
  public record Entry(EntryType type, String path, byte[] content, int mode, int uid, int gid, Instant mtime,
      String link, int devMajor, int devMinor, Map<String, String> xattrs) {
    public Entry {
      xattrs = Map.copyOf(xattrs);
    }

    Entry withXattr(String name, String value) {
      Map<String, String> x = new LinkedHashMap<>(xattrs);
      x.put(name, value);
      return new Entry(type, path, content, mode, uid, gid, mtime, link, devMajor, devMinor, x);
    }
  }

  /**
   * A built layer: the blob as pushed ({@code blob}, {@code digest}, {@code mediaType}), the uncompressed tar and
   * its digest ({@code diffId}), and the entries it was made from.
   */
  public record Layer(byte[] blob, Digest digest, String mediaType, byte[] tar, Digest diffId, List<Entry> entries,
      MediaTypes.Compression compression) {
    public Descriptor descriptor() {
      return new Descriptor(mediaType, digest, blob.length);
    }

    /** The same content with a Docker schema2 media type (when put into a Docker manifest). */
    Layer asDocker() {
      String mt = switch (compression) {
        case GZIP -> MediaTypes.DOCKER_LAYER_GZIP;
        case ZSTD -> MediaTypes.DOCKER_LAYER_ZSTD;
        case NONE -> MediaTypes.OCI_LAYER;
      };
      return new Layer(blob, digest, mt, tar, diffId, entries, compression);
    }
  }

  /** Fluent builder of a layer's entries, in order. */
  public static final class LayerBuilder {
    private final List<Entry> entries = new ArrayList<>();
    private MediaTypes.Compression compression = MediaTypes.Compression.GZIP;

    private LayerBuilder add(Entry e) {
      entries.add(e);
      return this;
    }

    public LayerBuilder file(String path, String content) {
      return file(path, content.getBytes(StandardCharsets.UTF_8), 0644, 0, 0, EPOCH);
    }

    public LayerBuilder file(String path, byte[] content) {
      return file(path, content, 0644, 0, 0, EPOCH);
    }

    public LayerBuilder file(String path, byte[] content, int mode, int uid, int gid, Instant mtime) {
      return add(new Entry(EntryType.FILE, path, content, mode, uid, gid, mtime, null, 0, 0, Map.of()));
    }

    public LayerBuilder dir(String path, int mode) {
      return dir(path, mode, 0, 0, EPOCH);
    }

    public LayerBuilder dir(String path, int mode, int uid, int gid, Instant mtime) {
      return add(new Entry(EntryType.DIR, path, new byte[0], mode, uid, gid, mtime, null, 0, 0, Map.of()));
    }

    public LayerBuilder symlink(String path, String target) {
      return symlink(path, target, 0, 0, EPOCH);
    }

    public LayerBuilder symlink(String path, String target, int uid, int gid, Instant mtime) {
      return add(new Entry(EntryType.SYMLINK, path, new byte[0], 0777, uid, gid, mtime, target, 0, 0, Map.of()));
    }

    /** A hard link at {@code path} to {@code target}, a path in the layer (as tar writes it: from the root). */
    public LayerBuilder hardlink(String path, String target) {
      return add(new Entry(EntryType.HARDLINK, path, new byte[0], 0644, 0, 0, EPOCH, target, 0, 0, Map.of()));
    }

    public LayerBuilder charDevice(String path, int major, int minor, int mode) {
      return add(new Entry(EntryType.CHAR_DEVICE, path, new byte[0], mode, 0, 0, EPOCH, null, major, minor,
          Map.of()));
    }

    public LayerBuilder blockDevice(String path, int major, int minor, int mode) {
      return add(new Entry(EntryType.BLOCK_DEVICE, path, new byte[0], mode, 0, 0, EPOCH, null, major, minor,
          Map.of()));
    }

    public LayerBuilder fifo(String path, int mode) {
      return add(new Entry(EntryType.FIFO, path, new byte[0], mode, 0, 0, EPOCH, null, 0, 0, Map.of()));
    }

    /** Adds an extended attribute (e.g. {@code user.note}, {@code security.capability}) to the entry at path. */
    public LayerBuilder xattr(String path, String name, String value) {
      for (int i = entries.size() - 1; i >= 0; i--) {
        if (entries.get(i).path().equals(path)) {
          entries.set(i, entries.get(i).withXattr(name, value));
          return this;
        }
      }
      throw new IllegalArgumentException("no entry " + path + " to add xattr " + name + " to");
    }

    /** A whiteout deleting {@code path} of lower layers: an empty {@code dir/.wh.name}. */
    public LayerBuilder whiteout(String path) {
      int slash = path.lastIndexOf('/');
      String wh = slash < 0 ? ".wh." + path : path.substring(0, slash + 1) + ".wh." + path.substring(slash + 1);
      return file(wh, new byte[0]);
    }

    /** An opaque-directory marker: {@code dir/.wh..wh..opq} hides everything lower layers had in {@code dir}. */
    public LayerBuilder opaque(String dir) {
      return file(dir + "/.wh..wh..opq", new byte[0]);
    }

    public LayerBuilder gzip() {
      compression = MediaTypes.Compression.GZIP;
      return this;
    }

    public LayerBuilder zstd() {
      compression = MediaTypes.Compression.ZSTD;
      return this;
    }

    public LayerBuilder uncompressed() {
      compression = MediaTypes.Compression.NONE;
      return this;
    }

    public Layer build() {
      byte[] tar = tar(entries);
      byte[] blob = compress(tar, compression);
      String mt = switch (compression) {
        case GZIP -> MediaTypes.OCI_LAYER_GZIP;
        case ZSTD -> MediaTypes.OCI_LAYER_ZSTD;
        case NONE -> MediaTypes.OCI_LAYER;
      };
      return new Layer(blob, Digest.sha256(blob), mt, tar, Digest.sha256(tar), List.copyOf(entries), compression);
    }
  }

  static byte[] tar(List<Entry> entries) {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (TarArchiveOutputStream out = new TarArchiveOutputStream(bos)) {
      out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      out.setAddPaxHeadersForNonAsciiNames(true);
      for (Entry e : entries) {
        TarArchiveEntry t = switch (e.type()) {
          case FILE -> new TarArchiveEntry(e.path(), true);
          case DIR -> new TarArchiveEntry(e.path().endsWith("/") ? e.path() : e.path() + "/", true);
          case SYMLINK -> withLink(new TarArchiveEntry(e.path(), TarConstants.LF_SYMLINK, true), e.link());
          case HARDLINK -> withLink(new TarArchiveEntry(e.path(), TarConstants.LF_LINK, true), e.link());
          case CHAR_DEVICE -> new TarArchiveEntry(e.path(), TarConstants.LF_CHR, true);
          case BLOCK_DEVICE -> new TarArchiveEntry(e.path(), TarConstants.LF_BLK, true);
          case FIFO -> new TarArchiveEntry(e.path(), TarConstants.LF_FIFO, true);
        };
        t.setMode(e.mode());
        t.setUserId(e.uid());
        t.setGroupId(e.gid());
        t.setUserName("");
        t.setGroupName("");
        t.setModTime(FileTime.from(e.mtime()));
        if (e.type() == EntryType.CHAR_DEVICE || e.type() == EntryType.BLOCK_DEVICE) {
          t.setDevMajor(e.devMajor());
          t.setDevMinor(e.devMinor());
        }
        if (e.type() == EntryType.FILE) {
          t.setSize(e.content().length);
        }
        e.xattrs().forEach((k, v) -> t.addPaxHeader("SCHILY.xattr." + k, v));
        out.putArchiveEntry(t);
        if (e.type() == EntryType.FILE) {
          out.write(e.content());
        }
        out.closeArchiveEntry();
      }
      out.finish();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bos.toByteArray();
  }

  private static TarArchiveEntry withLink(TarArchiveEntry t, String link) {
    t.setLinkName(link);
    return t;
  }

  static byte[] compress(byte[] tar, MediaTypes.Compression c) {
    if (c == MediaTypes.Compression.NONE) {
      return tar;
    }
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (OutputStream out = c == MediaTypes.Compression.GZIP ? new GZIPOutputStream(bos) : new ZstdOutputStream(bos)) {
      out.write(tar);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bos.toByteArray();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Images

  /** An OS/architecture/variant triple, as in an index's {@code platform}. */
  public record Platform(String os, String architecture, Optional<String> variant) {
    public static final Platform LINUX_AMD64 = new Platform("linux", "amd64", Optional.empty());
    public static final Platform LINUX_ARM64 = new Platform("linux", "arm64", Optional.of("v8"));
    public static final Platform LINUX_ARM_V7 = new Platform("linux", "arm", Optional.of("v7"));
    public static final Platform LINUX_ARM_V6 = new Platform("linux", "arm", Optional.of("v6"));
    public static final Platform LINUX_386 = new Platform("linux", "386", Optional.empty());
    public static final Platform LINUX_S390X = new Platform("linux", "s390x", Optional.empty());
  }

  /**
   * A built image: manifest and config bytes and digests, the layers, the platform the config names. {@code ref}
   * digests refer to {@code manifest}.
   */
  public record Image(byte[] manifest, Digest digest, String mediaType, byte[] config, Digest configDigest,
      String configMediaType, List<Layer> layers, Platform platform) {
    public Descriptor descriptor() {
      return new Descriptor(mediaType, digest, manifest.length);
    }
  }

  /** Fluent builder of an image's config and manifest. */
  public static final class ImageBuilder {
    private final List<Layer> layers = new ArrayList<>();
    private boolean docker;
    private Platform platform = Platform.LINUX_AMD64;
    private List<String> entrypoint;
    private List<String> cmd;
    private final List<String> env = new ArrayList<>(List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
        + "/usr/bin:/sbin:/bin"));
    private String user;
    private String workingDir;
    private final Map<String, String> labels = new LinkedHashMap<>();
    private final Map<Integer, Long> sizeOverrides = new LinkedHashMap<>();
    private final Map<Integer, Digest> diffIdOverrides = new LinkedHashMap<>();
    private final Map<Integer, Digest> digestOverrides = new LinkedHashMap<>();

    public ImageBuilder layer(Layer l) {
      layers.add(l);
      return this;
    }

    public ImageBuilder layers(List<Layer> ls) {
      layers.addAll(ls);
      return this;
    }

    /** Docker schema2 manifest and config media types instead of OCI. */
    public ImageBuilder docker() {
      docker = true;
      return this;
    }

    public ImageBuilder oci() {
      docker = false;
      return this;
    }

    public ImageBuilder platform(Platform p) {
      platform = p;
      return this;
    }

    public ImageBuilder entrypoint(String... args) {
      entrypoint = List.of(args);
      return this;
    }

    public ImageBuilder cmd(String... args) {
      cmd = List.of(args);
      return this;
    }

    public ImageBuilder env(String keyEqualsValue) {
      env.add(keyEqualsValue);
      return this;
    }

    public ImageBuilder user(String u) {
      user = u;
      return this;
    }

    public ImageBuilder workingDir(String d) {
      workingDir = d;
      return this;
    }

    public ImageBuilder label(String k, String v) {
      labels.put(k, v);
      return this;
    }

    /** Hostile: the manifest claims this size for layer {@code index} (the blob is unchanged). */
    public ImageBuilder layerSize(int index, long claimedSize) {
      sizeOverrides.put(index, claimedSize);
      return this;
    }

    /** Hostile: the config claims this diff ID for layer {@code index}. */
    public ImageBuilder diffId(int index, Digest claimed) {
      diffIdOverrides.put(index, claimed);
      return this;
    }

    /** Hostile: the manifest names this digest for layer {@code index} (push then uploads nothing under it). */
    public ImageBuilder layerDigest(int index, Digest claimed) {
      digestOverrides.put(index, claimed);
      return this;
    }

    public Image build() {
      List<Layer> ls = docker ? layers.stream().map(Layer::asDocker).toList() : List.copyOf(layers);
      ObjectNode config = JSON.createObjectNode();
      config.put("created", EPOCH.toString());
      config.put("architecture", platform.architecture());
      config.put("os", platform.os());
      platform.variant().ifPresent(v -> config.put("variant", v));
      ObjectNode c = config.putObject("config");
      ArrayNode envNode = c.putArray("Env");
      env.forEach(envNode::add);
      if (entrypoint != null) {
        ArrayNode a = c.putArray("Entrypoint");
        entrypoint.forEach(a::add);
      }
      if (cmd != null) {
        ArrayNode a = c.putArray("Cmd");
        cmd.forEach(a::add);
      }
      if (user != null) {
        c.put("User", user);
      }
      if (workingDir != null) {
        c.put("WorkingDir", workingDir);
      }
      if (!labels.isEmpty()) {
        ObjectNode l = c.putObject("Labels");
        labels.forEach(l::put);
      }
      ObjectNode rootfs = config.putObject("rootfs");
      rootfs.put("type", "layers");
      ArrayNode diffIds = rootfs.putArray("diff_ids");
      ArrayNode history = config.putArray("history");
      for (int i = 0; i < ls.size(); i++) {
        diffIds.add(diffIdOverrides.getOrDefault(i, ls.get(i).diffId()).toString());
        history.addObject().put("created", EPOCH.toString()).put("created_by", "berth TestImages layer " + i);
      }
      byte[] configBytes = bytes(config);
      Digest configDigest = Digest.sha256(configBytes);
      String configType = docker ? MediaTypes.DOCKER_CONFIG : MediaTypes.OCI_CONFIG;
      String manifestType = docker ? MediaTypes.DOCKER_MANIFEST : MediaTypes.OCI_MANIFEST;
      ObjectNode m = JSON.createObjectNode();
      m.put("schemaVersion", 2);
      m.put("mediaType", manifestType);
      m.putObject("config").put("mediaType", configType).put("digest", configDigest.toString())
          .put("size", configBytes.length);
      ArrayNode layerNodes = m.putArray("layers");
      for (int i = 0; i < ls.size(); i++) {
        Layer l = ls.get(i);
        layerNodes.addObject().put("mediaType", l.mediaType())
            .put("digest", digestOverrides.getOrDefault(i, l.digest()).toString())
            .put("size", sizeOverrides.getOrDefault(i, (long) l.blob().length));
      }
      byte[] manifest = bytes(m);
      return new Image(manifest, Digest.sha256(manifest), manifestType, configBytes, configDigest, configType, ls,
          platform);
    }
  }

  /** A built index: its bytes, digest and media type, and the images it lists. */
  public record Index(byte[] index, Digest digest, String mediaType, List<Image> images) {}

  /** Fluent builder of a multi-platform index (OCI image index or Docker manifest list). */
  public static final class IndexBuilder {
    private final List<Image> images = new ArrayList<>();
    private boolean docker;

    /** Adds an image; its platform is the one it was built for. */
    public IndexBuilder image(Image i) {
      images.add(i);
      return this;
    }

    public IndexBuilder docker() {
      docker = true;
      return this;
    }

    public Index build() {
      String type = docker ? MediaTypes.DOCKER_MANIFEST_LIST : MediaTypes.OCI_INDEX;
      ObjectNode idx = JSON.createObjectNode();
      idx.put("schemaVersion", 2);
      idx.put("mediaType", type);
      ArrayNode ms = idx.putArray("manifests");
      for (Image i : images) {
        ObjectNode d = ms.addObject().put("mediaType", i.mediaType()).put("digest", i.digest().toString())
            .put("size", i.manifest().length);
        ObjectNode p = d.putObject("platform").put("architecture", i.platform().architecture())
            .put("os", i.platform().os());
        i.platform().variant().ifPresent(v -> p.put("variant", v));
      }
      byte[] b = bytes(idx);
      return new Index(b, Digest.sha256(b), type, List.copyOf(images));
    }
  }

  static byte[] bytes(ObjectNode n) {
    try {
      return JSON.writeValueAsBytes(n);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Pushing

  /** What was pushed: {@code reference} is {@code host/repository:tag}, {@code digest} the manifest's or index's. */
  public record Pushed(String reference, String host, String repository, String tag, Digest digest) {
    /** {@code host/repository@digest}. */
    public String byDigest() {
      return host + "/" + repository + "@" + digest;
    }
  }

  /** Basic credentials for pushing to a registry that requires them. */
  public record Auth(String username, String password) {}

  /**
   * Pushes an image's layers, config and manifest to {@code registryUrl} (e.g. {@link LocalRegistry#url()}) and
   * tags it. Handles Basic and Bearer-token registries when {@code auth} is given.
   */
  public static Pushed push(String registryUrl, String repository, String tag, Image image, Optional<Auth> auth) {
    ImagePusher p = new ImagePusher(registryUrl, repository, auth);
    p.pushImage(image);
    p.putManifest(tag, image.mediaType(), image.manifest());
    return pushed(registryUrl, repository, tag, image.digest());
  }

  /** Pushes every image of an index by digest, then the index under {@code tag}. */
  public static Pushed push(String registryUrl, String repository, String tag, Index index, Optional<Auth> auth) {
    ImagePusher p = new ImagePusher(registryUrl, repository, auth);
    for (Image i : index.images()) {
      p.pushImage(i);
      p.putManifest(i.digest().toString(), i.mediaType(), i.manifest());
    }
    p.putManifest(tag, index.mediaType(), index.index());
    return pushed(registryUrl, repository, tag, index.digest());
  }

  /** Pushes to a {@link LocalRegistry}, using its Basic credentials if it has some. */
  public static Pushed push(LocalRegistry registry, String repository, String tag, Image image) {
    return push(registry.url(), repository, tag, image,
        registry.basicCredentials().map(c -> new Auth(c[0], c[1])));
  }

  /** Pushes an index to a {@link LocalRegistry}, using its Basic credentials if it has some. */
  public static Pushed push(LocalRegistry registry, String repository, String tag, Index index) {
    return push(registry.url(), repository, tag, index,
        registry.basicCredentials().map(c -> new Auth(c[0], c[1])));
  }

  /** Uploads one blob (e.g. a layer a hostile manifest refers to under another name). */
  public static void pushBlob(String registryUrl, String repository, byte[] blob, Optional<Auth> auth) {
    new ImagePusher(registryUrl, repository, auth).pushBlob(blob, Digest.sha256(blob));
  }

  private static Pushed pushed(String registryUrl, String repository, String tag, Digest digest) {
    String host = java.net.URI.create(registryUrl).getRawAuthority();
    return new Pushed(host + "/" + repository + ":" + tag, host, repository, tag, digest);
  }
}
