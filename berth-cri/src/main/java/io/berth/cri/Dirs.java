package io.berth.cri;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Removal of berthd's own per-pod and per-container directories; never follows symlinks, never crosses mounts. */
final class Dirs {
  private Dirs() {}

  /**
   * Makes a per-pod or per-container directory private (0700), or, for a pod in its own user namespace, 0710 with
   * the group of that namespace's root ({@code rootGid}): the OCI runtime sets the container up as that root (its
   * host ids are unprivileged), so it must be able to walk to the rootfs and the bind-mount sources below, and no one
   * else may. containerd's bundles get the same treatment (prepareBundleDirectoryPermissions).
   */
  static void restrict(Path dir, long rootGid) throws IOException {
    if (rootGid > 0) {
      Files.setAttribute(dir, "unix:gid", (int) rootGid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
      Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x---"));
    } else {
      Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    }
  }

  /**
   * A parent of per-pod or per-container directories: 0711, so a pod's root can pass through it to its own
   * directory but cannot list the others. Directories below that are not a user namespace's (group root) are made
   * private again, in case an older berthd left them readable.
   */
  static void ensureTraversable(Path parent) throws IOException {
    Files.createDirectories(parent);
    Files.setPosixFilePermissions(parent, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
    try (var children = Files.newDirectoryStream(parent)) {
      for (Path c : children) {
        if (Files.isDirectory(c, java.nio.file.LinkOption.NOFOLLOW_LINKS)
            && ((Integer) Files.getAttribute(c, "unix:gid", java.nio.file.LinkOption.NOFOLLOW_LINKS)) == 0) {
          Files.setPosixFilePermissions(c, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        }
      }
    }
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Object rootDev = Files.getAttribute(dir, "unix:dev", java.nio.file.LinkOption.NOFOLLOW_LINKS);
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
        if (!rootDev.equals(Files.getAttribute(d, "unix:dev", java.nio.file.LinkOption.NOFOLLOW_LINKS))) {
          throw new IOException(d + " is a mount point: refusing to delete through it");
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
        Files.deleteIfExists(f);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
        if (e instanceof NoSuchFileException) {
          return FileVisitResult.CONTINUE;
        }
        throw e;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
        Files.deleteIfExists(d);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /**
   * Unmounts every mount under a dir of berthd's own (a pod's shm, a container's rootfs; left by a crash), then
   * deletes it as {@link #deleteRecursively} does.
   */
  static void deleteWithMounts(Path dir) throws IOException {
    io.berth.linux.Mounts.unmountAllUnder(dir);
    deleteRecursively(dir);
  }
}
