package io.berth.metadata;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteJDBCLoader;
import org.sqlite.util.LibraryLoaderUtil;

/**
 * Where sqlite-jdbc's native library is loaded from. Left to itself, sqlite-jdbc copies it into {@code /tmp} under a
 * new random name on every start and deletes it only at a clean JVM exit: each daemon that is killed (a node crash,
 * an OOM kill, a SIGKILL after a stop timeout) leaves a 1 MiB file behind, and a world-writable directory is a poor
 * place to load native code from. Instead it is copied once into berthd's own metadata directory (mode 0700), named
 * after sqlite-jdbc's version, and sqlite-jdbc is pointed at it.
 */
final class SqliteNativeLibrary {
  private static final Logger log = LoggerFactory.getLogger(SqliteNativeLibrary.class);
  private static final String PREFIX = "libsqlitejdbc-";
  private static boolean placed;

  private SqliteNativeLibrary() {}

  /**
   * Copies the library into {@code dir} unless an identical copy is there, removes copies of other versions, and sets
   * the properties sqlite-jdbc reads before its first connection. Does nothing when the operator set
   * {@code org.sqlite.lib.path} or the jar has no library for this platform (sqlite-jdbc then does as it would).
   */
  static synchronized void placeIn(Path dir) {
    if (placed || System.getProperty("org.sqlite.lib.path") != null) {
      return;
    }
    try {
      Optional<Path> lib = copyInto(dir);
      if (lib.isPresent()) {
        System.setProperty("org.sqlite.lib.path", dir.toString());
        System.setProperty("org.sqlite.lib.name", lib.get().getFileName().toString());
        placed = true;
      }
    } catch (IOException e) {
      log.warn("cannot place sqlite's native library in {} ({}); sqlite-jdbc extracts its own copy", dir, e.toString());
    }
  }

  /**
   * The library's copy in {@code dir}, made unless already there; empty when the jar has none for this platform. The
   * copy is named after sqlite-jdbc's version and checked by size against the jar's entry, so a start that finds it
   * reads nothing (reading and hashing the 1 MiB library took 80-100 ms of a cold start).
   */
  static Optional<Path> copyInto(Path dir) throws IOException {
    String resource = LibraryLoaderUtil.getNativeLibResourcePath() + "/" + LibraryLoaderUtil.getNativeLibName();
    URL url = SqliteNativeLibrary.class.getResource(resource);
    if (url == null) {
      return Optional.empty();
    }
    String name = PREFIX + SQLiteJDBCLoader.getVersion().replaceAll("[^0-9A-Za-z._-]", "_") + ".so";
    Path target = dir.resolve(name);
    URLConnection entry = url.openConnection();
    if (!Files.isRegularFile(target) || Files.size(target) != entry.getContentLengthLong()) {
      Path tmp = Files.createTempFile(dir, ".tmp-" + PREFIX, ".so",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      try (InputStream in = entry.getInputStream(); OutputStream out = Files.newOutputStream(tmp)) {
        in.transferTo(out);
        out.close();
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(tmp);
      }
    }
    removeOthers(dir, name);
    return Optional.of(target);
  }

  /** Copies of other versions, and temporary files of a copy that a crash interrupted. */
  private static void removeOthers(Path dir, String keep) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, "{" + PREFIX + ",.tmp-" + PREFIX + "}*")) {
      for (Path p : entries) {
        if (!p.getFileName().toString().equals(keep)) {
          Files.deleteIfExists(p);
        }
      }
    }
  }
}
