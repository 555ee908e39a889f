package io.berth.content;

import io.berth.linux.DiskUsage;
import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.KeyedLock;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The file-system content store: {@code blobs/<alg>/<hex>} plus {@code ingest/}. */
final class FileContentStore implements ContentStore {
  private static final Logger log = LoggerFactory.getLogger(FileContentStore.class);
  static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
  private static final List<String> ALGORITHMS = List.of("sha256", "sha512");

  private final Path root;
  private final Path blobs;
  private final Path ingestDir;
  private final KeyedLock<Digest> locks = new KeyedLock<>();

  private FileContentStore(Path root) {
    this.root = root;
    this.blobs = root.resolve("blobs");
    this.ingestDir = root.resolve("ingest");
  }

  static FileContentStore open(Path root) {
    FileContentStore store = new FileContentStore(root.toAbsolutePath().normalize());
    try {
      privateDir(store.root);
      privateDir(store.blobs);
      for (String alg : ALGORITHMS) {
        privateDir(store.blobs.resolve(alg));
      }
      privateDir(store.ingestDir);
      store.sweepIngest();
    } catch (IOException e) {
      throw BerthException.internal(e, "open content store %s", root);
    }
    return store;
  }

  /** Creates a directory mode 0700, or tightens an existing one to 0700. */
  static void privateDir(Path dir) throws IOException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(dir);
    }
    Files.setPosixFilePermissions(dir, DIR_MODE);
  }

  private void sweepIngest() throws IOException {
    int swept = 0;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(ingestDir)) {
      for (Path p : ds) {
        Files.deleteIfExists(p);
        swept++;
      }
    }
    if (swept > 0) {
      log.info("content store {}: removed {} unfinished ingest(s) left by an earlier run", root, swept);
    }
  }

  private Path pathOf(Digest digest) {
    return blobs.resolve(digest.algorithm()).resolve(digest.hex());
  }

  @Override
  public Path root() {
    return root;
  }

  @Override
  public boolean contains(Digest digest) {
    return Files.isRegularFile(pathOf(digest), LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public Path blobPath(Digest digest) {
    Path p = pathOf(digest);
    if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
      throw BerthException.notFound("blob %s not found in content store", digest);
    }
    return p;
  }

  @Override
  public long size(Digest digest) {
    try {
      return Files.size(pathOf(digest));
    } catch (NoSuchFileException e) {
      throw BerthException.notFound("blob %s not found in content store", digest);
    } catch (IOException e) {
      throw BerthException.internal(e, "size of blob %s", digest);
    }
  }

  @Override
  public InputStream open(Digest digest) {
    try {
      return Files.newInputStream(pathOf(digest), LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw BerthException.notFound("blob %s not found in content store", digest);
    } catch (IOException e) {
      throw BerthException.internal(e, "open blob %s", digest);
    }
  }

  @Override
  public byte[] readAll(Digest digest, long maxBytes) {
    long size = size(digest);
    if (size > maxBytes) {
      throw BerthException.resourceExhausted("blob %s is %d bytes, more than the %d allowed", digest, size, maxBytes);
    }
    try (InputStream in = open(digest)) {
      // Bounded even if the file grew after size(): never read more than maxBytes + 1.
      byte[] data = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
      if (data.length > maxBytes) {
        throw BerthException.resourceExhausted("blob %s is larger than the %d bytes allowed", digest, maxBytes);
      }
      return data;
    } catch (IOException e) {
      throw BerthException.internal(e, "read blob %s", digest);
    }
  }

  @Override
  public Digest put(byte[] data) {
    Digest d = Digest.sha256(data);
    put(d, data);
    return d;
  }

  @Override
  public void put(Digest expected, byte[] data) {
    if (contains(expected)) {
      // Still verify, so a caller cannot believe wrong data was stored.
      Digest actual = Digest.of(expected.algorithm(), data);
      if (!actual.equals(expected)) {
        throw BerthException.invalidArgument("blob digest mismatch: expected %s, got %s", expected, actual);
      }
      return;
    }
    try (Ingest in = ingest(expected, data.length)) {
      in.stream().write(data);
      in.commit();
    } catch (IOException e) {
      throw ioError(e, "write blob " + expected);
    }
  }

  @Override
  public Ingest ingest(Digest expected, long expectedSize) {
    try {
      Path tmp = Files.createTempFile(ingestDir, expected.algorithm() + "-" + expected.hex().substring(0, 16) + "-",
          ".part");
      return new FileIngest(tmp, pathOf(expected), expected, expectedSize);
    } catch (IOException e) {
      throw ioError(e, "start ingest of blob " + expected);
    }
  }

  @Override
  public Path ensure(Digest digest, long expectedSize, Fetcher fetcher) {
    Path target = pathOf(digest);
    if (contains(digest)) {
      return target;
    }
    try (KeyedLock.Held held = locks.lock(digest)) {
      if (contains(digest)) {
        return target;
      }
      try (Ingest in = ingest(digest, expectedSize)) {
        fetcher.fetch(in);
        return in.commit();
      } catch (IOException e) {
        throw ioError(e, "fetch blob " + digest);
      } catch (UncheckedIOException e) {
        throw ioError(e.getCause(), "fetch blob " + digest);
      }
    }
  }

  @Override
  public void delete(Digest digest) {
    try {
      Files.deleteIfExists(pathOf(digest));
    } catch (IOException e) {
      throw BerthException.internal(e, "delete blob %s", digest);
    }
  }

  @Override
  public List<Digest> list() {
    List<Digest> out = new ArrayList<>();
    for (String alg : ALGORITHMS) {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(blobs.resolve(alg))) {
        for (Path p : ds) {
          String name = p.getFileName().toString();
          if (Digest.isDigest(alg + ":" + name) && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            out.add(new Digest(alg, name));
          }
        }
      } catch (NoSuchFileException e) {
        // an algorithm directory removed by hand: nothing there
      } catch (IOException e) {
        throw BerthException.internal(e, "list blobs in %s", blobs);
      }
    }
    out.sort(null);
    return out;
  }

  @Override
  public long usageBytes() {
    return DiskUsage.of(root);
  }

  /** ENOSPC becomes RESOURCE_EXHAUSTED; other I/O errors INTERNAL. */
  static BerthException ioError(IOException e, String action) {
    String msg = e.getMessage() == null ? "" : e.getMessage();
    if (msg.contains("No space left on device")
        || (e instanceof FileSystemException fse && String.valueOf(fse.getReason()).contains("No space left"))) {
      return new BerthException(io.berth.core.ErrorKind.RESOURCE_EXHAUSTED, action + ": no space left on device", e);
    }
    return BerthException.internal(e, "%s", action);
  }
}
