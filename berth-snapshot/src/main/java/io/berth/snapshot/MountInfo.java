package io.berth.snapshot;

import io.berth.core.BerthException;
import io.berth.linux.Mounts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads /proc/self/mountinfo (proc(5)) to find the mounts of a snapshot, so removal survives a daemon restart. */
final class MountInfo {
  private MountInfo() {}

  /**
   * Mount points, most recent first, of overlay mounts whose upper dir is {@code upper} and of bind mounts of
   * {@code upper} itself (a snapshot over no layers).
   */
  static List<String> mountsOf(Path upper) {
    List<String> lines;
    try {
      lines = Files.readAllLines(Path.of("/proc/self/mountinfo"));
    } catch (IOException e) {
      throw BerthException.internal(e, "read /proc/self/mountinfo");
    }
    String upperStr = upper.toString();
    int n = upper.getNameCount();
    String tail = n >= 3 ? "/" + upper.subpath(n - 3, n) : upperStr;
    // Either kind of line names the snapshot's dir (in the upperdir option or the root field); most lines, one per
    // mount of every other pod on the node, are skipped on that before being parsed. Only a name mountinfo would
    // print escaped (space, tab, newline, backslash) is looked for the slow way.
    String name = upper.getParent() == null ? "" : upper.getParent().getFileName().toString();
    boolean prefilter = !name.isEmpty() && name.chars().noneMatch(c -> c == ' ' || c == '\t' || c == '\n' || c == '\\');
    List<String> out = new ArrayList<>();
    for (String line : lines) {
      if (prefilter && !line.contains(name)) {
        continue;
      }
      String[] f = line.split(" ");
      int dash = indexOf(f, "-");
      if (f.length < 5 || dash < 0 || dash + 3 >= f.length) {
        continue;
      }
      String rootField = unescape(f[3]);
      String mountPoint = unescape(f[4]);
      String fsType = f[dash + 1];
      String superOptions = unescape(f[dash + 3]);
      boolean overlayOfUpper = fsType.equals("overlay") && hasOption(superOptions, "upperdir=" + upperStr);
      boolean bindOfUpper = rootField.endsWith(tail) && upperStr.endsWith(rootField);
      if (overlayOfUpper || bindOfUpper) {
        out.addFirst(mountPoint);
      }
    }
    return out;
  }

  private static boolean hasOption(String options, String option) {
    for (String o : options.split(",")) {
      if (o.equals(option)) {
        return true;
      }
    }
    return false;
  }

  private static int indexOf(String[] f, String s) {
    for (int i = 6; i < f.length; i++) {
      if (f[i].equals(s)) {
        return i;
      }
    }
    return -1;
  }

  private static String unescape(String s) {
    return Mounts.unescape(s);
  }
}
