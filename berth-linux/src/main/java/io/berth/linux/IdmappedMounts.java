package io.berth.linux;

import io.berth.core.BerthException;
import java.nio.file.Path;

/**
 * Idmapped and recursively read-only bind mounts made by berthd itself (open_tree(2), mount_setattr(2),
 * move_mount(2)), for OCI runtimes that cannot make them (idmapped: runc before 1.2; {@code rro}: crun before 1.9):
 * the runtime then bind-mounts the result like any other source, and a bind copies each mount's read-only flag.
 */
public final class IdmappedMounts {
  private IdmappedMounts() {}

  /**
   * Attaches at {@code target} (an existing file or directory, matching the source's type) a recursive bind mount of
   * {@code source} whose files show through the id mappings of the user namespace {@code userns} (an nsfs file). On
   * failure nothing is mounted.
   *
   * @throws BerthException INVALID_ARGUMENT when the source (or a mount below it) cannot be idmapped
   */
  public static void bind(Path source, Path target, Path userns) {
    bind(source, target, userns, false);
  }

  /**
   * Attaches at {@code target} a recursive bind mount of {@code source}, idmapped through {@code userns} unless it is
   * null, and read-only all the way down when {@code recursiveReadOnly}. On failure nothing is mounted.
   */
  public static void bind(Path source, Path target, Path userns, boolean recursiveReadOnly) {
    int usernsFd = userns == null ? -1 : Syscalls.openReadOnly(userns.toString());
    int tree = -1;
    try {
      tree = Syscalls.openTree(source.toString(), true);
      if (usernsFd >= 0) {
        try {
          Syscalls.mountSetattrIdmap(tree, usernsFd, true);
        } catch (LinuxException e) {
          throw BerthException.invalidArgument("cannot make an idmapped mount of %s (its file system, or one "
              + "mounted below it, does not support idmapped mounts): %s", source, e.getMessage());
        }
      }
      if (recursiveReadOnly) {
        Syscalls.mountSetattrReadOnly(tree, true);
      }
      Syscalls.moveMount(tree, target.toString());
    } finally {
      if (tree >= 0) {
        Syscalls.close(tree);
      }
      if (usernsFd >= 0) {
        Syscalls.close(usernsFd);
      }
    }
  }
}
