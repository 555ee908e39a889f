package io.berth.oci;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * An image's {@code /etc/passwd} and {@code /etc/group} as a container's rootfs shows them when it is created (its
 * writable layer still empty), for resolving users and groups. Read once from a mounted rootfs; the same for every
 * container of that image, so a caller may keep them by image id and generate later specs before their rootfs is
 * mounted.
 */
public record UserFiles(Optional<String> passwd, Optional<String> group) {
  public UserFiles {
    Objects.requireNonNull(passwd, "passwd");
    Objects.requireNonNull(group, "group");
  }

  /** Reads both files inside {@code rootfs}, resolving symlinks within it (see {@link RootfsFiles}). */
  public static UserFiles read(Path rootfs) {
    return new UserFiles(RootfsFiles.read(rootfs, "/etc/passwd"), RootfsFiles.read(rootfs, "/etc/group"));
  }
}
