package io.berth.snapshot;

import com.github.luben.zstd.ZstdInputStream;
import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.MediaTypes;
import io.berth.linux.LinuxException;
import io.berth.linux.Syscalls;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Unpacks one layer tar stream into an empty directory, converting OCI whiteouts to overlayfs form.
 *
 * <p>See https://github.com/opencontainers/image-spec/blob/main/layer.md. Rules:
 * <ul>
 *   <li>{@code dir/.wh.name} becomes a 0/0 character device {@code dir/name}; {@code dir/.wh..wh..opq} becomes the xattr
 *       {@code trusted.overlay.opaque=y} on {@code dir}; other {@code .wh..wh.*} names are ignored.</li>
 *   <li>No entry may land outside the root: absolute names, {@code ..} components and parents that are symlinks are
 *       refused (symlinks are never followed while writing), as are hard links whose target is outside the root or
 *       reached through a symlink. The directory is private to this applier while it runs, so checking each parent
 *       with lstat once is sound.</li>
 *   <li>Owners, modes (with setuid, setgid, sticky; chmod after chown, which clears setuid), mtimes (nanoseconds;
 *       directories' after everything is written), symlinks, hard links, devices, fifos and PAX {@code SCHILY.xattr.*}
 *       records are preserved.</li>
 *   <li>Xattrs: {@code trusted.overlay.*} from the archive are dropped (only the applier may steer overlayfs);
 *       {@code security.*} ones the file system refuses (EOPNOTSUPP, EPERM) are skipped with a warning; any other
 *       failure fails the layer. Values are restored byte for byte, binary ones (security.capability) included: the
 *       raw PAX records are kept by {@link PaxXattrTap}, since Commons Compress decodes them as UTF-8 text.</li>
 * </ul>
 * Not thread-safe: one instance per layer.
 */
final class LayerApplier {
  private static final Logger log = LoggerFactory.getLogger(LayerApplier.class);
  private static final int BUFFER = 1 << 20;
  private static final String WHITEOUT_PREFIX = ".wh.";
  private static final String OPAQUE = ".wh..wh..opq";
  private static final String XATTR_PREFIX = "SCHILY.xattr.";
  private static final int EOPNOTSUPP = 95;
  /** O_CREAT|O_EXCL|O_NOFOLLOW: never writes through an existing file or symlink. */
  private static final Set<OpenOption> CREATE_FILE =
      Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);

  private final Path root;
  private final String layerName;
  private final String digestAlgorithm;
  private final Set<String> knownDirs = new HashSet<>();
  /** Directory times to set once everything is written, by path relative to the root. */
  private final Map<String, DirTimes> dirTimes = new HashMap<>();
  private final byte[] buffer = new byte[BUFFER];

  private record DirTimes(Path dir, long atimeNanos, long mtimeNanos) {}

  /** Result of one unpack: the diff id actually read and the uncompressed size. */
  record Result(Digest diffId, long tarBytes) {}

  /** Error messages name the layer by its expected diff id, whose algorithm is also the one computed. */
  LayerApplier(Path root, Digest expectedDiffId) {
    this.root = root;
    this.layerName = expectedDiffId.toString();
    this.digestAlgorithm = expectedDiffId.algorithm();
  }

  /** Opens the uncompressed tar stream of a blob; the returned stream owns {@code blob}. */
  static InputStream decompress(InputStream blob, MediaTypes.Compression compression) throws IOException {
    return switch (compression) {
      case NONE -> blob;
      case GZIP -> new GZIPInputStream(blob, 1 << 16);
      case ZSTD -> new ZstdInputStream(new BufferedInputStream(blob, 1 << 16));
    };
  }

  /** Raw xattr values of the entry being applied, from {@link PaxXattrTap}. */
  private Map<String, byte[]> rawXattrs = Map.of();

  /**
   * Reads the whole tar stream, unpacks it into the root, and returns the sha256 of every byte of the stream (the
   * tar's trailing padding included). The caller compares it with the expected diff id.
   */
  Result apply(InputStream uncompressed) {
    DigestingStream digesting = new DigestingStream(uncompressed, Digest.newMessageDigest(digestAlgorithm));
    PaxXattrTap tap = new PaxXattrTap(new BufferedInputStream(digesting, BUFFER));
    TarArchiveInputStream tar = new TarArchiveInputStream(tap);
    String current = null;
    try {
      TarArchiveEntry entry;
      for (int index = 0; (entry = nextEntry(tar)) != null; index++) {
        current = entry.getName();
        rawXattrs = tap.take(index);
        applyEntry(tar, entry);
      }
      current = null;
      // The tar reader stops at the end-of-archive blocks; the diff id covers the stream to its end.
      while (digesting.read(buffer) >= 0) {
        // drain
      }
      for (DirTimes t : dirTimes.values()) {
        Syscalls.lutimes(t.dir.toString(), t.atimeNanos, t.mtimeNanos);
      }
      return new Result(new Digest(digestAlgorithm, java.util.HexFormat.of().formatHex(digesting.digest.digest())),
          digesting.count);
    } catch (CorruptStreamException e) {
      throw new BerthException(io.berth.core.ErrorKind.INVALID_ARGUMENT,
          String.format("layer %s: corrupt layer stream%s: %s", layerName, at(current), e.getCause().getMessage()), e);
    } catch (FileSystemException e) {
      if (e.getMessage() != null && e.getMessage().contains("No space left")) {
        throw BerthException.resourceExhausted("layer %s: no space left on device%s", layerName, at(current));
      }
      throw BerthException.internal(e, "layer %s%s", layerName, at(current));
    } catch (LinuxException e) {
      throw BerthException.wrap(e, "layer %s%s", layerName, at(current));
    } catch (IOException e) {
      throw BerthException.internal(e, "layer %s%s", layerName, at(current));
    }
  }

  private static String at(String entry) {
    return entry == null ? "" : ": entry " + entry;
  }

  private TarArchiveEntry nextEntry(TarArchiveInputStream tar) throws CorruptStreamException {
    try {
      return tar.getNextEntry();
    } catch (CorruptStreamException e) {
      throw e;
    } catch (IOException | IllegalArgumentException e) {
      throw new CorruptStreamException(e);
    }
  }

  private void applyEntry(TarArchiveInputStream tar, TarArchiveEntry e) throws IOException {
    String name = e.getName();
    List<String> parts = components(name);
    if (parts.isEmpty()) { // "./": the layer root itself
      if (e.isDirectory()) {
        applyMetadata(root, e, true);
      }
      return;
    }
    String base = parts.getLast();
    Path parent = ensureParents(name, parts);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (base.equals(OPAQUE)) {
        Syscalls.lsetxattr(parent.toString(), "trusted.overlay.opaque", new byte[] {'y'});
      } else if (!base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
        String hidden = base.substring(WHITEOUT_PREFIX.length());
        if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) {
          throw escapes(name);
        }
        Path target = parent.resolve(hidden);
        removeExisting(target, false);
        Syscalls.mknod(target.toString(), Syscalls.S_IFCHR, 0, 0);
        // A whiteout carries the whiteout entry's owner and time, as containerd does; mode 0 is what overlayfs makes.
        Syscalls.lchown(target.toString(), (int) e.getLongUserId(), (int) e.getLongGroupId());
        setTimes(target, e);
      }
      return;
    }

    Path target = parent.resolve(base);
    if (e.isDirectory()) {
      removeExisting(target, true);
      if (!knownDirs.contains(relative(parts))) {
        Files.createDirectory(target);
        knownDirs.add(relative(parts));
      }
      applyMetadata(target, e, true);
      return;
    }
    removeExisting(target, false);
    if (e.isSymbolicLink()) {
      Files.createSymbolicLink(target, Path.of(e.getLinkName()));
      Syscalls.lchown(target.toString(), (int) e.getLongUserId(), (int) e.getLongGroupId());
      applyXattrs(target, e);
      setTimes(target, e);
    } else if (e.isLink()) {
      Path existing = hardLinkTarget(name, e.getLinkName());
      Files.createLink(target, existing);
    } else if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
      int type = e.isCharacterDevice() ? Syscalls.S_IFCHR : e.isBlockDevice() ? Syscalls.S_IFBLK : Syscalls.S_IFIFO;
      Syscalls.mknod(target.toString(), type | 0600, e.getDevMajor(), e.getDevMinor());
      applyMetadata(target, e, false);
    } else if (e.isFile()) {
      writeFile(tar, target);
      applyMetadata(target, e, false);
    } else {
      throw BerthException.invalidArgument("layer %s: entry %s has an unsupported tar entry type", layerName, name);
    }
  }

  private void writeFile(TarArchiveInputStream tar, Path target) throws IOException {
    try (FileChannel ch = FileChannel.open(target, CREATE_FILE)) {
      ByteBuffer bb = ByteBuffer.wrap(buffer);
      while (true) {
        int n;
        try {
          n = tar.read(buffer, 0, buffer.length);
        } catch (CorruptStreamException x) {
          throw x;
        } catch (IOException x) {
          throw new CorruptStreamException(x);
        }
        if (n < 0) {
          break;
        }
        bb.clear().limit(n);
        while (bb.hasRemaining()) {
          ch.write(bb);
        }
      }
    }
  }

  /** Owner, then mode (chown clears setuid), xattrs and, for non-directories, times now; directories' times later. */
  private void applyMetadata(Path p, TarArchiveEntry e, boolean directory) throws IOException {
    String s = p.toString();
    Syscalls.lchown(s, (int) e.getLongUserId(), (int) e.getLongGroupId());
    // chmod(2) by path: the JDK's no-follow variant opens the file, which blocks on a fifo and fails on a device.
    // Following is safe: p was just created by this applier (never a symlink) under parents checked with lstat.
    Files.setAttribute(p, "unix:mode", e.getMode() & 07777);
    applyXattrs(p, e);
    if (directory) {
      long m = nanos(e.getLastModifiedTime());
      dirTimes.put(root.relativize(p).toString(), new DirTimes(p, atime(e, m), m));
    } else {
      setTimes(p, e);
    }
  }

  private void setTimes(Path p, TarArchiveEntry e) {
    long m = nanos(e.getLastModifiedTime());
    Syscalls.lutimes(p.toString(), atime(e, m), m);
  }

  private static long atime(TarArchiveEntry e, long mtime) {
    FileTime a = e.getLastAccessTime();
    return a == null ? mtime : nanos(a);
  }

  private static long nanos(FileTime t) {
    return t == null ? 0 : t.to(TimeUnit.NANOSECONDS);
  }

  private void applyXattrs(Path p, TarArchiveEntry e) {
    Map<String, String> pax = e.getExtraPaxHeaders();
    if (pax.isEmpty()) {
      return;
    }
    for (Map.Entry<String, String> x : pax.entrySet()) {
      if (!x.getKey().startsWith(XATTR_PREFIX)) {
        continue;
      }
      String name = x.getKey().substring(XATTR_PREFIX.length());
      if (name.startsWith("trusted.overlay.")) {
        log.warn("layer {}: entry {}: dropping xattr {} (only the snapshotter sets overlayfs xattrs)",
            layerName, e.getName(), name);
        continue;
      }
      // The raw bytes from the archive: Commons Compress's text form loses binary values (security.capability).
      byte[] value = rawXattrs.get(name);
      if (value == null) {
        if (x.getValue().indexOf('\uFFFD') >= 0) {
          log.warn("layer {}: entry {}: skipping xattr {}: binary value cannot be restored", layerName, e.getName(),
              name);
          continue;
        }
        value = x.getValue().getBytes(StandardCharsets.UTF_8);
      }
      try {
        Syscalls.lsetxattr(p.toString(), name, value);
      } catch (LinuxException le) {
        if (name.startsWith("security.") && (le.errno() == EOPNOTSUPP || le.errno() == LinuxException.EPERM)) {
          log.warn("layer {}: entry {}: file system refuses xattr {}: {}", layerName, e.getName(), name,
              le.getMessage());
          continue;
        }
        throw le;
      }
    }
  }

  /** Splits a tar name into clean components; refuses absolute names and {@code ..}. */
  private List<String> components(String name) {
    if (name.startsWith("/")) {
      throw escapes(name);
    }
    List<String> parts = new ArrayList<>();
    for (String c : name.split("/")) {
      if (c.isEmpty() || c.equals(".")) {
        continue;
      }
      if (c.equals("..") || c.indexOf('\0') >= 0) {
        throw escapes(name);
      }
      parts.add(c);
    }
    return parts;
  }

  private static String relative(List<String> parts) {
    return String.join("/", parts);
  }

  /**
   * Makes sure every parent of the entry is a real directory inside the root, creating missing ones (0755, root-owned,
   * as containerd does), and refusing symlinks. Returns the parent path.
   */
  private Path ensureParents(String name, List<String> parts) throws IOException {
    Path dir = root;
    StringBuilder rel = new StringBuilder();
    for (int i = 0; i < parts.size() - 1; i++) {
      if (i > 0) {
        rel.append('/');
      }
      rel.append(parts.get(i));
      dir = dir.resolve(parts.get(i));
      String key = rel.toString();
      if (knownDirs.contains(key)) {
        continue;
      }
      BasicFileAttributes a = lstat(dir);
      if (a == null) {
        Files.createDirectory(dir);
        Files.setAttribute(dir, "unix:mode", 0755);
      } else if (a.isSymbolicLink()) {
        throw escapes(name);
      } else if (!a.isDirectory()) {
        throw BerthException.invalidArgument("layer %s: entry %s: parent %s is not a directory", layerName, name, key);
      }
      knownDirs.add(key);
    }
    return dir;
  }

  /** Resolves a hard link target: inside the root, through real directories only, and existing. */
  private Path hardLinkTarget(String name, String linkName) throws IOException {
    List<String> parts;
    try {
      parts = components(linkName);
    } catch (BerthException x) {
      throw escapes(name);
    }
    if (parts.isEmpty()) {
      throw escapes(name);
    }
    Path p = root;
    for (int i = 0; i < parts.size(); i++) {
      p = p.resolve(parts.get(i));
      BasicFileAttributes a = lstat(p);
      boolean last = i == parts.size() - 1;
      if (a == null) {
        throw BerthException.invalidArgument("layer %s: entry %s: hard link target %s does not exist", layerName, name,
            linkName);
      }
      if (!last && !a.isDirectory()) { // a symlink (or file) as a parent: refuse, never follow
        throw escapes(name);
      }
      if (last && a.isDirectory()) {
        throw BerthException.invalidArgument("layer %s: entry %s: hard link to a directory %s", layerName, name,
            linkName);
      }
    }
    return p;
  }

  /** Removes what a later entry replaces: anything but a directory that stays a directory. */
  private void removeExisting(Path target, boolean keepDirectory) throws IOException {
    BasicFileAttributes a = lstat(target);
    if (a == null) {
      return;
    }
    if (a.isDirectory()) {
      if (keepDirectory) {
        return;
      }
      OverlaySnapshotter.deleteTree(target);
      String rel = root.relativize(target).toString();
      knownDirs.removeIf(k -> k.equals(rel) || k.startsWith(rel + "/"));
      dirTimes.keySet().removeIf(k -> k.equals(rel) || k.startsWith(rel + "/"));
    } else {
      Files.delete(target);
    }
  }

  private static BasicFileAttributes lstat(Path p) throws IOException {
    try {
      return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  private BerthException escapes(String name) {
    return BerthException.invalidArgument("layer %s: entry %s escapes the layer root", layerName, name);
  }

  /** A read failure of the layer stream itself (decompression, truncation, tar format). */
  static final class CorruptStreamException extends IOException {
    CorruptStreamException(Throwable cause) {
      super(cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage(), cause);
    }
  }

  /** Digests and counts every byte read; read errors are marked as corrupt-stream errors. */
  private static final class DigestingStream extends FilterInputStream {
    final MessageDigest digest;
    long count;

    DigestingStream(InputStream in, MessageDigest digest) {
      super(in);
      this.digest = digest;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n;
      try {
        n = in.read(b, off, len);
      } catch (BerthException e) {
        throw e;
      } catch (IOException | RuntimeException e) {
        throw new CorruptStreamException(e);
      }
      if (n > 0) {
        digest.update(b, off, n);
        count += n;
      }
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      // Skipped bytes must still be digested.
      long total = 0;
      byte[] buf = new byte[8192];
      while (total < n) {
        int r = read(buf, 0, (int) Math.min(buf.length, n - total));
        if (r < 0) {
          break;
        }
        total += r;
      }
      return total;
    }

    @Override
    public boolean markSupported() {
      return false;
    }
  }
}
