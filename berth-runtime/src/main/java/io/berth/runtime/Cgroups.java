package io.berth.runtime;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Cgroup directories on the host (cgroupfs layout, v1 hybrid or v2). */
final class Cgroups {
  private static final Logger log = LoggerFactory.getLogger(Cgroups.class);
  static final Path ROOT = Path.of("/sys/fs/cgroup");

  private Cgroups() {}

  /** The hierarchy mount points: the v2 root, or every v1 hierarchy plus the hybrid's unified one. */
  static List<Path> hierarchies() {
    List<Path> out = new ArrayList<>();
    if (Files.exists(ROOT.resolve("cgroup.controllers"))) {
      out.add(ROOT);
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(ROOT)) {
      for (Path p : ds) {
        if (Files.isDirectory(p) && !Files.isSymbolicLink(p) && Files.exists(p.resolve("cgroup.procs"))) {
          out.add(p);
        }
      }
    } catch (IOException e) {
      log.debug("cannot list {}: {}", ROOT, e.getMessage());
    }
    return out;
  }

  /** The directories of a cgroup path that exist in some hierarchy. */
  static List<Path> existing(String cgroupsPath) {
    String rel = cgroupsPath.startsWith("/") ? cgroupsPath.substring(1) : cgroupsPath;
    List<Path> out = new ArrayList<>();
    for (Path h : hierarchies()) {
      Path d = h.resolve(rel);
      if (Files.isDirectory(d)) {
        out.add(d);
      }
    }
    return out;
  }

  /** rmdir of the cgroup in every hierarchy; a cgroup that still has processes stays (and is logged). */
  static void removeEverywhere(String cgroupsPath) {
    for (Path d : existing(cgroupsPath)) {
      try {
        Files.delete(d);
      } catch (IOException e) {
        log.warn("cannot remove cgroup {}: {}", d, e.getMessage());
      }
    }
  }
}
