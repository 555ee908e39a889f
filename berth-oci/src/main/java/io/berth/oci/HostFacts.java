package io.berth.oci;

import io.berth.core.BerthException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The few host facts spec generation reads: capabilities, device nodes, mount sources, files. A seam so the
 * generator stays a pure function in unit tests.
 */
interface HostFacts {
  /** This process's bounding set: what a privileged container can get. */
  List<String> currentCapabilities();

  /** The device node at a host path (symlinks followed), or empty when it is not a device. */
  Optional<RuntimeSpec.Device> device(Path hostPath);

  /** Every device node under the host's /dev, for privileged containers. */
  List<RuntimeSpec.Device> hostDevices();

  /** Makes a bind mount source usable: creates a missing directory and resolves symlinks, as containerd does. */
  Path prepareMountSource(Path hostPath);

  /** Reads a localhost seccomp profile. */
  String readFile(Path path);

  /** The host's name, for pods that set none. */
  String hostname();

  /** {@code os.arch} of this JVM. */
  String arch();

  /**
   * Which of nosuid, nodev and noexec the mount holding {@code source} has: flags a user namespace cannot drop
   * from a bind mount of it (mount_namespaces(7), "locked" mount flags).
   */
  List<String> lockedMountFlags(Path source);

  static HostFacts real() {
    return new Real();
  }

  /** The real host. */
  final class Real implements HostFacts {
    private static final int S_IFMT = 0170000;
    private static final int S_IFCHR = 0020000;
    private static final int S_IFBLK = 0060000;
    private static final int S_IFIFO = 0010000;

    @Override
    public List<String> currentCapabilities() {
      try {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
          if (line.startsWith("CapBnd:")) {
            return Capabilities.fromMask(Long.parseUnsignedLong(line.substring(7).trim(), 16));
          }
        }
      } catch (IOException e) {
        throw BerthException.internal(e, "cannot read /proc/self/status");
      }
      return Capabilities.ALL_KNOWN;
    }

    @Override
    public Optional<RuntimeSpec.Device> device(Path hostPath) {
      try {
        Map<String, Object> a = Files.readAttributes(hostPath, "unix:mode,rdev,uid,gid");
        int mode = (Integer) a.get("mode");
        long rdev = (Long) a.get("rdev");
        String type = switch (mode & S_IFMT) {
          case S_IFCHR -> "c";
          case S_IFBLK -> "b";
          case S_IFIFO -> "p";
          default -> null;
        };
        if (type == null) {
          return Optional.empty();
        }
        long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
        long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
        return Optional.of(new RuntimeSpec.Device(hostPath.toString(), type, type.equals("p") ? 0 : major,
            type.equals("p") ? 0 : minor, mode & 07777, ((Integer) a.get("uid")).longValue(),
            ((Integer) a.get("gid")).longValue()));
      } catch (IOException e) {
        throw BerthException.invalidArgument("device %s: %s", hostPath, e.getMessage());
      }
    }

    @Override
    public List<RuntimeSpec.Device> hostDevices() {
      List<RuntimeSpec.Device> out = new ArrayList<>();
      try (Stream<Path> s = Files.walk(Path.of("/dev"))) {
        for (Path p : (Iterable<Path>) s::iterator) {
          String rel = p.toString();
          // pts, shm, mqueue and console-like dynamic nodes are provided by the runtime's own mounts.
          if (rel.startsWith("/dev/pts/") || rel.startsWith("/dev/shm") || rel.startsWith("/dev/mqueue")
              || rel.equals("/dev/console") || rel.equals("/dev/ptmx") || Files.isSymbolicLink(p)
              || Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            continue;
          }
          try {
            device(p).filter(d -> !d.type().equals("p")).ifPresent(out::add);
          } catch (BerthException e) {
            // a node that vanished meanwhile
          }
        }
      } catch (IOException | java.io.UncheckedIOException e) {
        throw BerthException.internal(e, "cannot list host devices");
      }
      return out;
    }

    @Override
    public Path prepareMountSource(Path hostPath) {
      try {
        if (!Files.exists(hostPath)) {
          Files.createDirectories(hostPath);
        }
        return hostPath.toRealPath();
      } catch (IOException e) {
        throw BerthException.invalidArgument("mount source %s: %s", hostPath, e.getMessage());
      }
    }

    @Override
    public String readFile(Path path) {
      try {
        return Files.readString(path);
      } catch (IOException e) {
        throw BerthException.invalidArgument("cannot read %s: %s", path, e.getMessage());
      }
    }

    @Override
    public String hostname() {
      try {
        return Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
      } catch (IOException e) {
        return "localhost";
      }
    }

    @Override
    public String arch() {
      return System.getProperty("os.arch");
    }

    @Override
    public List<String> lockedMountFlags(Path source) {
      String path;
      List<String> lines;
      try {
        path = source.toRealPath().toString();
        lines = Files.readAllLines(Path.of("/proc/self/mountinfo"));
      } catch (IOException e) {
        throw BerthException.invalidArgument("mount source %s: %s", source, e.getMessage());
      }
      // proc(5): the 5th field is the mount point (octal escapes), the 6th the per-mount options. The last of the
      // longest matching mount points is the one on top.
      String best = null;
      String bestOptions = "";
      for (String line : lines) {
        String[] f = line.split(" ");
        if (f.length < 6) {
          continue;
        }
        String mp = unescape(f[4]);
        boolean covers = path.equals(mp) || mp.equals("/") || path.startsWith(mp + "/");
        if (covers && (best == null || mp.length() >= best.length())) {
          best = mp;
          bestOptions = f[5];
        }
      }
      List<String> out = new ArrayList<>();
      for (String o : bestOptions.split(",")) {
        if (o.equals("nosuid") || o.equals("nodev") || o.equals("noexec")) {
          out.add(o);
        }
      }
      return out;
    }

    private static String unescape(String s) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c == '\\' && i + 3 < s.length()) {
          sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
          i += 3;
        } else {
          sb.append(c);
        }
      }
      return sb.toString();
    }
  }
}
