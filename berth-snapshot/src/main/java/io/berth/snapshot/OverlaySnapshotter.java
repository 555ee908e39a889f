package io.berth.snapshot;

import io.berth.linux.DiskUsage;
import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.KeyedLock;
import io.berth.core.MediaTypes;
import io.berth.linux.LinuxException;
import io.berth.linux.NamespaceHolder;
import io.berth.linux.Syscalls;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link Snapshotter} on overlayfs: one directory per layer, an upper and a work dir per active snapshot. */
final class OverlaySnapshotter implements Snapshotter {
  private static final Logger log = LoggerFactory.getLogger(OverlaySnapshotter.class);
  private static final Pattern KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  /** mount(2) copies at most one page of data, NUL included. */
  static final int MAX_MOUNT_DATA = 4095;
  private static final String INFO = "info";
  private static final String LOWERS = "lowers";

  private final Path root;
  private final Path layersDir;
  private final Path activeDir;
  private final Path tmpDir;
  private final boolean indexOff;
  private final KeyedLock<Digest> layerLocks = new KeyedLock<>();
  private final KeyedLock<String> keyLocks = new KeyedLock<>();
  private Boolean idmappedLayers;

  private OverlaySnapshotter(Path root) {
    this.root = root.toAbsolutePath().normalize();
    this.layersDir = this.root.resolve("layers");
    this.activeDir = this.root.resolve("active");
    this.tmpDir = this.root.resolve("tmp");
    // Layers are shared lower dirs of many mounts; the inodes index would tie a lower dir to one upper dir.
    this.indexOff = Files.exists(Path.of("/sys/module/overlay/parameters/index"));
  }

  static OverlaySnapshotter open(Path root) {
    OverlaySnapshotter s;
    try {
      Files.createDirectories(root);
      // The real path: the kernel reports overlay dirs resolved in /proc/self/mountinfo, which remove() matches.
      s = new OverlaySnapshotter(root.toRealPath());
      for (Path d : List.of(s.root, s.layersDir, s.activeDir, s.tmpDir)) {
        Files.createDirectories(d);
        Files.setAttribute(d, "unix:mode", 0700);
      }
      try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(s.tmpDir)) {
        for (Path p : leftovers) {
          log.info("removing leftover {} of an interrupted snapshot operation", p);
          deleteTree(p);
        }
      }
    } catch (IOException e) {
      throw BerthException.internal(e, "open snapshotter at %s", root);
    }
    return s;
  }

  // ---------------------------------------------------------------- layers

  private Path layerHome(Digest chainId) {
    return layersDir.resolve(chainId.hex());
  }

  @Override
  public boolean hasLayer(Digest chainId) {
    return Files.isDirectory(layerHome(chainId).resolve("fs"), LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public LayerInfo applyLayer(Digest chainId, InputStream blob, MediaTypes.Compression compression,
      Digest expectedDiffId) {
    try (var held = layerLocks.lock(chainId)) {
      if (hasLayer(chainId)) {
        closeQuietly(blob);
        return readInfo(chainId);
      }
      Path tmp = tmpDir.resolve("layer-" + UUID.randomUUID());
      boolean done = false;
      try (InputStream in = openDecompressed(blob, compression, expectedDiffId)) {
        Files.createDirectory(tmp);
        Path fs = tmp.resolve("fs");
        Files.createDirectory(fs);
        Files.setAttribute(fs, "unix:mode", 0755);
        long start = System.nanoTime();
        LayerApplier.Result r = new LayerApplier(fs, expectedDiffId).apply(in);
        if (!r.diffId().equals(expectedDiffId)) {
          throw BerthException.invalidArgument("layer %s: diff id mismatch: uncompressed content is %s",
              expectedDiffId, r.diffId());
        }
        LayerInfo info = new LayerInfo(chainId, r.diffId(), r.tarBytes());
        writeInfo(tmp, info);
        Files.move(tmp, layerHome(chainId), StandardCopyOption.ATOMIC_MOVE);
        done = true;
        log.debug("unpacked layer {} ({} bytes) in {} ms", chainId, r.tarBytes(),
            (System.nanoTime() - start) / 1_000_000);
        return info;
      } catch (IOException e) {
        throw BerthException.internal(e, "unpack layer %s", expectedDiffId);
      } finally {
        if (!done) {
          deleteQuietly(tmp);
        }
      }
    }
  }

  private static InputStream openDecompressed(InputStream blob, MediaTypes.Compression compression, Digest diffId) {
    try {
      return LayerApplier.decompress(blob, compression);
    } catch (IOException e) {
      closeQuietly(blob);
      throw new BerthException(io.berth.core.ErrorKind.INVALID_ARGUMENT,
          String.format("layer %s: corrupt %s stream: %s", diffId, compression, e.getMessage()), e);
    }
  }

  private static void writeInfo(Path dir, LayerInfo info) throws IOException {
    String text = "diff_id=" + info.diffId() + "\nunpacked_bytes=" + info.unpackedBytes() + "\n";
    Files.writeString(dir.resolve(INFO), text);
  }

  private LayerInfo readInfo(Digest chainId) {
    Properties p = new Properties();
    try (var r = Files.newBufferedReader(layerHome(chainId).resolve(INFO))) {
      p.load(r);
    } catch (IOException e) {
      throw BerthException.internal(e, "read layer %s", chainId);
    }
    return new LayerInfo(chainId, Digest.parse(p.getProperty("diff_id")),
        Long.parseLong(p.getProperty("unpacked_bytes")));
  }

  @Override
  public Path layerDir(Digest chainId) {
    if (!hasLayer(chainId)) {
      throw BerthException.notFound("layer %s", chainId);
    }
    return layerHome(chainId).resolve("fs");
  }

  @Override
  public void removeLayer(Digest chainId) {
    try (var held = layerLocks.lock(chainId)) {
      Path home = layerHome(chainId);
      if (!Files.exists(home, LinkOption.NOFOLLOW_LINKS)) {
        return;
      }
      for (String key : active()) {
        if (lowers(key).contains(chainId)) {
          throw BerthException.failedPrecondition("layer %s is in use by snapshot %s", chainId, key);
        }
      }
      moveAsideAndDelete(home);
    }
  }

  @Override
  public List<Digest> layers() {
    List<Digest> out = new ArrayList<>();
    for (String name : list(layersDir)) {
      String algorithm = switch (name.length()) {
        case 64 -> "sha256";
        case 128 -> "sha512";
        default -> null;
      };
      if (algorithm != null) {
        Digest d = new Digest(algorithm, name);
        if (hasLayer(d)) {
          out.add(d);
        }
      }
    }
    Collections.sort(out);
    return out;
  }

  // ---------------------------------------------------------------- active snapshots

  private Path activeHome(String key) {
    if (key == null || !KEY.matcher(key).matches()) {
      throw BerthException.invalidArgument("invalid snapshot key %s", key);
    }
    return activeDir.resolve(key);
  }

  @Override
  public Mount prepare(String key, List<Digest> chainIdsBottomFirst) {
    Path home = activeHome(key);
    try (var held = keyLocks.lock(key)) {
      if (Files.exists(home, LinkOption.NOFOLLOW_LINKS)) {
        throw BerthException.alreadyExists("snapshot %s", key);
      }
      for (Digest d : chainIdsBottomFirst) {
        if (!hasLayer(d)) {
          throw BerthException.notFound("layer %s of snapshot %s", d, key);
        }
      }
      Path tmp = tmpDir.resolve("active-" + UUID.randomUUID());
      boolean done = false;
      try {
        Files.createDirectory(tmp);
        // No "merged" dir: the caller mounts the snapshot where it wants it (a container's bundle).
        for (String d : List.of("upper", "work")) {
          Files.createDirectory(tmp.resolve(d));
          Files.setAttribute(tmp.resolve(d), "unix:mode", d.equals("work") ? 0700 : 0755);
        }
        StringBuilder sb = new StringBuilder();
        for (Digest d : chainIdsBottomFirst) {
          sb.append(d).append('\n');
        }
        Files.writeString(tmp.resolve(LOWERS), sb.toString());
        Files.move(tmp, home, StandardCopyOption.ATOMIC_MOVE);
        done = true;
      } catch (IOException e) {
        throw BerthException.internal(e, "prepare snapshot %s", key);
      } finally {
        if (!done) {
          deleteQuietly(tmp);
        }
      }
      return mountOf(key, chainIdsBottomFirst);
    }
  }

  private List<Digest> lowers(String key) {
    try {
      List<Digest> out = new ArrayList<>();
      for (String line : Files.readAllLines(activeHome(key).resolve(LOWERS))) {
        if (!line.isBlank()) {
          out.add(Digest.parse(line.strip()));
        }
      }
      return out;
    } catch (NoSuchFileException e) {
      throw BerthException.notFound("snapshot %s", key);
    } catch (IOException e) {
      throw BerthException.internal(e, "read snapshot %s", key);
    }
  }

  private Mount mountOf(String key, List<Digest> bottomFirst) {
    Path home = activeHome(key);
    if (bottomFirst.isEmpty()) {
      return new Mount("bind", home.resolve("upper").toString(), List.of("rbind", "rw"));
    }
    List<String> lowersTopFirst = new ArrayList<>();
    for (int i = bottomFirst.size() - 1; i >= 0; i--) {
      lowersTopFirst.add(layerHome(bottomFirst.get(i)).resolve("fs").toString());
    }
    return overlayMount(home, lowersTopFirst);
  }

  private Mount overlayMount(Path home, List<String> lowersTopFirst) {
    List<String> options = new ArrayList<>();
    if (indexOff) {
      options.add("index=off");
    }
    options.add("lowerdir=" + String.join(":", lowersTopFirst));
    options.add("upperdir=" + home.resolve("upper"));
    options.add("workdir=" + home.resolve("work"));
    return new Mount("overlay", "overlay", options);
  }

  @Override
  public void mount(String key, Path target) {
    Path home = activeHome(key);
    try (var held = keyLocks.lock(key)) {
      List<Digest> bottomFirst = lowers(key);
      String where = target.toAbsolutePath().toString();
      if (bottomFirst.isEmpty()) {
        Syscalls.mount(home.resolve("upper").toString(), where, null, Syscalls.MS_BIND, null);
        return;
      }
      Mount m = mountOf(key, bottomFirst);
      String data = String.join(",", m.options());
      if (data.length() <= MAX_MOUNT_DATA) {
        Syscalls.mount("overlay", where, "overlay", 0, data);
        return;
      }
      // Too long for one page: name each lower dir by an open fd. /proc/self/fd/N is short, needs no chdir (which
      // would affect every thread of the JVM), and the kernel resolves it to the directory at mount time.
      List<Integer> fds = new ArrayList<>();
      try {
        List<String> shortLowers = new ArrayList<>();
        for (int i = bottomFirst.size() - 1; i >= 0; i--) {
          int fd = Syscalls.openReadOnly(layerHome(bottomFirst.get(i)).resolve("fs").toString());
          fds.add(fd);
          shortLowers.add("/proc/self/fd/" + fd);
        }
        String shortData = String.join(",", overlayMount(home, shortLowers).options());
        if (shortData.length() > MAX_MOUNT_DATA) {
          throw BerthException.invalidArgument("snapshot %s: %d layers do not fit in one overlay mount", key,
              bottomFirst.size());
        }
        Syscalls.mount("overlay", where, "overlay", 0, shortData);
      } finally {
        for (int fd : fds) {
          Syscalls.close(fd);
        }
      }
    }
  }

  @Override
  public void mount(String key, Path target, Idmap idmap) {
    Path home = activeHome(key);
    try (var held = keyLocks.lock(key)) {
      List<Digest> bottomFirst = lowers(key);
      Path upper = home.resolve("upper");
      // The pod's root must own the root of its writable layer; below it, files keep the ids they are created with.
      Syscalls.lchown(upper.toString(), (int) idmap.rootUid(), (int) idmap.rootGid());
      String where = target.toAbsolutePath().toString();
      if (bottomFirst.isEmpty()) {
        Syscalls.mount(upper.toString(), where, null, Syscalls.MS_BIND, null);
        return;
      }
      List<Path> lowersTopFirst = new ArrayList<>();
      for (int i = bottomFirst.size() - 1; i >= 0; i--) {
        lowersTopFirst.add(layerHome(bottomFirst.get(i)).resolve("fs"));
      }
      mountIdmappedOverlay(home, lowersTopFirst, where, idmap.userns(), key);
    }
  }

  /**
   * Overlay over idmapped lower dirs: each lower is a detached idmapped clone of the layer dir, named by its fd
   * ({@code /proc/self/fd/N}); overlayfs keeps its own private clone of each layer, so the fds are closed at once.
   */
  private void mountIdmappedOverlay(Path home, List<Path> lowersTopFirst, String where, Path userns, String what) {
    List<Integer> fds = new ArrayList<>();
    int usernsFd = Syscalls.openReadOnly(userns.toString());
    try {
      List<String> shortLowers = new ArrayList<>();
      for (Path lower : lowersTopFirst) {
        int fd = Syscalls.openTree(lower.toString(), false);
        fds.add(fd);
        Syscalls.mountSetattrIdmap(fd, usernsFd, false);
        shortLowers.add("/proc/self/fd/" + fd);
      }
      String data = String.join(",", overlayMount(home, shortLowers).options());
      if (data.length() > MAX_MOUNT_DATA) {
        throw BerthException.invalidArgument("snapshot %s: %d layers do not fit in one overlay mount", what,
            lowersTopFirst.size());
      }
      Syscalls.mount("overlay", where, "overlay", 0, data);
    } finally {
      for (int fd : fds) {
        Syscalls.close(fd);
      }
      Syscalls.close(usernsFd);
    }
  }

  @Override
  public synchronized boolean supportsIdmappedLayers() {
    if (idmappedLayers == null) {
      idmappedLayers = probeIdmappedLayers();
    }
    return idmappedLayers;
  }

  /** A file owned by 0 in a lower dir must show as owned by the mapped id through an idmapped overlay. */
  private boolean probeIdmappedLayers() {
    Path probe = tmpDir.resolve("idmap-probe-" + UUID.randomUUID());
    Path merged = probe.resolve("merged");
    boolean mounted = false;
    long mapped = 65536;
    NamespaceHolder.IdMap map = new NamespaceHolder.IdMap(0, mapped, 65536);
    try (NamespaceHolder holder = NamespaceHolder.start(map, map, java.util.Set.of())) {
      for (String d : List.of("lower", "upper", "work", "merged")) {
        Files.createDirectories(probe.resolve(d));
      }
      Files.writeString(probe.resolve("lower/file"), "probe");
      mountIdmappedOverlay(probe, List.of(probe.resolve("lower")), merged.toString(), holder.userNsFile(),
          "idmap probe");
      mounted = true;
      Object uid = Files.getAttribute(merged.resolve("file"), "unix:uid", LinkOption.NOFOLLOW_LINKS);
      if (!Integer.valueOf((int) mapped).equals(uid)) {
        log.warn("idmapped overlay layers show a file of uid 0 as uid {}, not {}: user namespaces disabled", uid,
            mapped);
        return false;
      }
      return true;
    } catch (IOException | RuntimeException e) {
      log.warn("idmapped overlay layers do not work under {}: user namespaces disabled ({})", root, e.toString());
      return false;
    } finally {
      if (mounted) {
        unmount(merged);
      }
      deleteQuietly(probe);
    }
  }

  @Override
  public void unmount(Path target) {
    try {
      Syscalls.umount2(target.toAbsolutePath().toString(), Syscalls.MNT_DETACH);
    } catch (LinuxException e) {
      if (e.errno() != LinuxException.EINVAL && e.errno() != LinuxException.ENOENT) {
        throw e;
      }
    }
  }

  @Override
  public void remove(String key) {
    Path home = activeHome(key);
    try (var held = keyLocks.lock(key)) {
      if (!Files.exists(home, LinkOption.NOFOLLOW_LINKS)) {
        return;
      }
      for (String mountPoint : MountInfo.mountsOf(home.resolve("upper"))) {
        unmount(Path.of(mountPoint));
      }
      moveAsideAndDelete(home);
    }
  }

  @Override
  public List<String> active() {
    List<String> out = list(activeDir);
    Collections.sort(out);
    return out;
  }

  @Override
  public long usageBytes() {
    return DiskUsage.of(root);
  }

  @Override
  public long activeUsageBytes(String key) {
    Path upper = activeHome(key).resolve("upper");
    if (!Files.isDirectory(upper, LinkOption.NOFOLLOW_LINKS)) {
      throw BerthException.notFound("snapshot %s", key);
    }
    return DiskUsage.of(upper);
  }

  // ---------------------------------------------------------------- files

  private static List<String> list(Path dir) {
    List<String> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        out.add(p.getFileName().toString());
      }
    } catch (IOException e) {
      throw BerthException.internal(e, "list %s", dir);
    }
    return out;
  }

  /** Renames into tmp first, so a crash mid-delete leaves only tmp, which the next open sweeps. */
  private void moveAsideAndDelete(Path p) {
    Path aside = tmpDir.resolve("removed-" + UUID.randomUUID());
    try {
      Files.move(p, aside, StandardCopyOption.ATOMIC_MOVE);
      deleteTree(aside);
    } catch (IOException e) {
      throw BerthException.internal(e, "remove %s", p);
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      deleteTree(p);
    } catch (IOException | UncheckedIOException e) {
      log.warn("cannot remove {}: {}", p, e.toString());
    }
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException e) {
      log.debug("closing layer stream: {}", e.toString());
    }
  }

  /** Deletes a tree without following symlinks; a missing path is fine. */
  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(p, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
        if (exc != null) {
          throw exc;
        }
        Files.delete(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
