package io.berth.linux;

import io.berth.core.BerthException;
import java.nio.file.Path;

/**
 * Idmapped bind mounts made by berthd itself (open_tree(2), mount_setattr(2), move_mount(2)), for OCI runtimes that
 * cannot make them (runc before 1.2, crun before 1.9 on some kernels): the runtime then bind-mounts the result like
 * any other source.
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
    int usernsFd = Syscalls.openReadOnly(userns.toString());
    int tree = -1;
    try {
      tree = Syscalls.openTree(source.toString(), true);
      try {
        Syscalls.mountSetattrIdmap(tree, usernsFd, true);
      } catch (LinuxException e) {
        throw BerthException.invalidArgument("cannot make an idmapped mount of %s (its file system, or one mounted "
            + "below it, does not support idmapped mounts): %s", source, e.getMessage());
      }
      Syscalls.moveMount(tree, target.toString());
    } finally {
      if (tree >= 0) {
        Syscalls.close(tree);
      }
      Syscalls.close(usernsFd);
    }
  }
}
