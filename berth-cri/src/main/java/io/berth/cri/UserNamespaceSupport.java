package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.snapshot.Snapshotter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether pods can run in their own user namespace here, checked once on first use: user namespaces enabled,
 * idmapped overlay layers working on the snapshot file system (which also proves unshare(1) works), and a state
 * dir whose ancestors anyone may walk through (the pod's root, an unprivileged host id, sets up its rootfs under
 * it). The runtime itself only needs to join a user namespace by path with the same mappings, which runc 1.1 and
 * crun do; sandboxed runtimes (runsc, kata) do not take a user namespace from the host this way and never claim it.
 */
final class UserNamespaceSupport {
  private static final Logger log = LoggerFactory.getLogger(UserNamespaceSupport.class);

  private final Snapshotter snapshotter;
  private final Path stateDir;
  private String problem;

  UserNamespaceSupport(Snapshotter snapshotter, Path stateDir) {
    this.snapshotter = snapshotter;
    this.stateDir = stateDir;
  }

  /** Empty when user namespaces work, else why not. */
  synchronized String problem() {
    if (problem == null) {
      problem = probe();
      if (problem.isEmpty()) {
        log.info("pods can run in their own user namespaces (idmapped overlay layers work)");
      } else {
        log.warn("pods cannot run in their own user namespaces: {}", problem);
      }
    }
    return problem;
  }

  boolean available() {
    return problem().isEmpty();
  }

  /** Whether a handler can run pods in their own user namespace. */
  boolean supports(OciRuntimes.Handler handler) {
    return !handler.needsInfra() && available();
  }

  /** INVALID_ARGUMENT naming the reason when {@code handler} cannot run a pod in its own user namespace. */
  void require(OciRuntimes.Handler handler) {
    if (handler.needsInfra()) {
      throw BerthException.invalidArgument(
          "runtime handler %s does not support user namespaces (a sandboxed runtime)", handler.name());
    }
    if (!available()) {
      throw BerthException.invalidArgument("user namespaces are not supported here: %s", problem());
    }
  }

  private String probe() {
    try {
      Path max = Path.of("/proc/sys/user/max_user_namespaces");
      if (Files.exists(max) && Long.parseLong(Files.readString(max).strip()) == 0) {
        return "user namespaces are disabled (" + max + " is 0)";
      }
      for (Path p = stateDir.toAbsolutePath().normalize(); p != null; p = p.getParent()) {
        if (Files.exists(p) && !Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
          return p + " is not searchable by other users, but a pod's root (an unprivileged host id) must pass "
              + "through it to its rootfs";
        }
      }
    } catch (IOException | NumberFormatException e) {
      return "cannot check the host: " + e;
    }
    if (!snapshotter.supportsIdmappedLayers()) {
      return "idmapped overlay layers do not work on this kernel or file system (see berthd's log)";
    }
    return "";
  }
}
