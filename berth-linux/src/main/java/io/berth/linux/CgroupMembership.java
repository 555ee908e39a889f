package io.berth.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One line of {@code /proc/PID/cgroup}: a hierarchy's id, its controllers ({@code name=...} for named v1 hierarchies;
 * none for the v2 one, id 0) and the process's cgroup in it, an absolute path from the hierarchy's root.
 */
public record CgroupMembership(int id, List<String> controllers, String path) {
  /** The lines of {@code file}, or none when it cannot be read (no such process, no cgroups). */
  public static List<CgroupMembership> read(Path file) {
    List<CgroupMembership> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(file)) {
        String[] f = line.split(":", 3);
        if (f.length == 3) {
          try {
            out.add(new CgroupMembership(Integer.parseInt(f[0]),
                f[1].isEmpty() ? List.of() : List.of(f[1].split(",")), f[2]));
          } catch (NumberFormatException e) {
            // not a hierarchy line
          }
        }
      }
    } catch (IOException e) {
      return List.of();
    }
    return out;
  }

  /** The cgroup v2 line. */
  public boolean unified() {
    return id == 0 && controllers.isEmpty();
  }

  /** The path relative to the hierarchy's root ("" for the root itself). */
  public String relativePath() {
    return path.startsWith("/") ? path.substring(1) : path;
  }
}
