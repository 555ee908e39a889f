package io.berth.snapshot;

import com.github.luben.zstd.ZstdOutputStream;
import io.berth.core.Digest;
import io.berth.core.MediaTypes;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** Builds layer tars in memory for tests, in the PAX format the image builders write. */
final class TestLayer {
  /** Commons Compress writes PAX times to 100 ns; its reader keeps nanoseconds. */
  static final Instant T0 = Instant.parse("2021-03-04T05:06:07.1234567Z");

  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes);
  private byte[] finished;

  TestLayer() {
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    tar.setAddPaxHeadersForNonAsciiNames(true);
  }

  private static TarArchiveEntry entry(String name, byte type) {
    TarArchiveEntry e = new TarArchiveEntry(name, type, true);
    e.setLastModifiedTime(FileTime.from(T0));
    e.setUserId(0);
    e.setGroupId(0);
    return e;
  }

  private TestLayer put(TarArchiveEntry e, byte[] content, Consumer<TarArchiveEntry> tweak) {
    if (tweak != null) {
      tweak.accept(e);
    }
    try {
      tar.putArchiveEntry(e);
      if (content != null) {
        tar.write(content);
      }
      tar.closeArchiveEntry();
    } catch (IOException x) {
      throw new UncheckedIOException(x);
    }
    return this;
  }

  TestLayer dir(String name) {
    return dir(name, 0755, null);
  }

  TestLayer dir(String name, int mode, Consumer<TarArchiveEntry> tweak) {
    TarArchiveEntry e = entry(name.endsWith("/") ? name : name + "/", TarConstants.LF_DIR);
    e.setMode(mode);
    return put(e, null, tweak);
  }

  TestLayer file(String name, String content) {
    return file(name, content.getBytes(StandardCharsets.UTF_8), 0644, null);
  }

  TestLayer file(String name, byte[] content, int mode, Consumer<TarArchiveEntry> tweak) {
    TarArchiveEntry e = entry(name, TarConstants.LF_NORMAL);
    e.setMode(mode);
    e.setSize(content.length);
    return put(e, content, tweak);
  }

  TestLayer symlink(String name, String target) {
    TarArchiveEntry e = entry(name, TarConstants.LF_SYMLINK);
    e.setLinkName(target);
    e.setMode(0777);
    return put(e, null, null);
  }

  TestLayer hardlink(String name, String target) {
    TarArchiveEntry e = entry(name, TarConstants.LF_LINK);
    e.setLinkName(target);
    return put(e, null, null);
  }

  TestLayer device(String name, byte type, int major, int minor, int mode) {
    TarArchiveEntry e = entry(name, type);
    e.setMode(mode);
    e.setDevMajor(major);
    e.setDevMinor(minor);
    return put(e, null, null);
  }

  TestLayer whiteout(String dir, String name) {
    return file((dir.isEmpty() ? "" : dir + "/") + ".wh." + name, new byte[0], 0, null);
  }

  TestLayer opaque(String dir) {
    return file(dir + "/.wh..wh..opq", new byte[0], 0, null);
  }

  static Consumer<TarArchiveEntry> xattrs(Map<String, String> xattrs) {
    return e -> xattrs.forEach((k, v) -> e.addPaxHeader("SCHILY.xattr." + k, v));
  }

  static Consumer<TarArchiveEntry> owner(int uid, int gid) {
    return e -> {
      e.setUserId(uid);
      e.setGroupId(gid);
    };
  }

  static Map<String, String> map(String... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  /** The uncompressed tar. */
  synchronized byte[] tar() {
    if (finished == null) {
      try {
        tar.finish();
        tar.close();
      } catch (IOException x) {
        throw new UncheckedIOException(x);
      }
      finished = bytes.toByteArray();
    }
    return finished;
  }

  Digest diffId() {
    return Digest.sha256(tar());
  }

  byte[] blob(MediaTypes.Compression c) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      switch (c) {
        case NONE -> out.write(tar());
        case GZIP -> {
          try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(tar());
          }
        }
        case ZSTD -> {
          try (ZstdOutputStream z = new ZstdOutputStream(out)) {
            z.write(tar());
          }
        }
      }
      return out.toByteArray();
    } catch (IOException x) {
      throw new UncheckedIOException(x);
    }
  }

  InputStream stream(MediaTypes.Compression c) {
    return new ByteArrayInputStream(blob(c));
  }

  /** A chain id for tests: any digest unique per layer will do. */
  Digest chainId() {
    return Digest.sha256(("chain:" + diffId()).getBytes(StandardCharsets.UTF_8));
  }
}
