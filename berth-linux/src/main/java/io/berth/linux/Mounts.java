package io.berth.linux;

import io.berth.core.BerthException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The mount table of berthd's mount namespace, from {@code /proc/self/mountinfo} (proc(5)), for cleaning up
 * berthd's own directories: what is mounted under one, and unmounting it all before it is deleted.
 */
public final class Mounts {
  private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

  private Mounts() {}

  /** Mount points at or under {@code dir}, deepest first (so they can be unmounted in that order). */
  public static List<Path> under(Path dir) {
    return under(dir, read());
  }

  /** True if {@code path} is a mount point. */
  public static boolean isMountPoint(Path path) {
    Path p = path.toAbsolutePath().normalize();
    return mountPoints(read()).contains(p);
  }

  /**
   * Unmounts (lazily, MNT_DETACH) every mount at or under {@code dir}, deepest first, and returns what it unmounted
   * (a mount point twice if mounts were stacked on it). A mount that vanished meanwhile is fine.
   */
  public static List<Path> unmountAllUnder(Path dir) {
    List<Path> done = new ArrayList<>();
    // a few passes: a mount point may have mounts stacked on it
    for (int pass = 0; pass < 4; pass++) {
      List<Path> left = under(dir);
      if (left.isEmpty()) {
        break;
      }
      for (Path m : left) {
        try {
          Syscalls.umount2(m.toString(), Syscalls.MNT_DETACH);
          done.add(m);
        } catch (LinuxException e) {
          if (e.errno() != LinuxException.EINVAL && e.errno() != LinuxException.ENOENT) {
            throw e;
          }
        }
      }
    }
    return done;
  }

  static List<Path> under(Path dir, List<String> mountinfo) {
    Path d = dir.toAbsolutePath().normalize();
    return mountPoints(mountinfo).stream()
        .filter(m -> m.startsWith(d))
        .distinct()
        .sorted(Comparator.comparingInt(Path::getNameCount).reversed())
        .toList();
  }

  /** The mount point field (the fifth) of every line, octal escapes decoded, in table order. */
  static List<Path> mountPoints(List<String> mountinfo) {
    List<Path> out = new ArrayList<>();
    for (String line : mountinfo) {
      String[] f = line.split(" ");
      if (f.length > 4) {
        out.add(Path.of(unescape(f[4])));
      }
    }
    return out;
  }

  private static List<String> read() {
    try {
      return Files.readAllLines(MOUNTINFO);
    } catch (IOException e) {
      throw BerthException.internal(e, "read %s", MOUNTINFO);
    }
  }

  /** The kernel writes space, tab, newline and backslash in paths as three-digit octal escapes. */
  public static String unescape(String s) {
    if (s.indexOf('\\') < 0) {
      return s;
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
