package io.berth.cri;

import io.berth.linux.Mounts;
import io.berth.network.PodNetwork;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Releases, at start, what berthd made for pods and containers that no record claims: what a crash left between
 * making something and recording it, and what a rollback or removal could not release. Every such thing is named
 * after the id of its sandbox or container, so a record claims it by id alone.
 *
 * <p>Looks only at berthd's own places, in the reverse order of how a pod is made: the runtime roots of the handlers
 * and conmon's dirs (runtime containers, infra processes and their monitors are killed and deleted), the IPC, UTS
 * and user namespace pin dir, the CNI result cache (CNI DEL with the cached netns, arguments and result, which
 * releases IPAM addresses, port mappings and veths), the netns pin dir, the per-pod and per-container dirs under the
 * state dir (mounts under them, such as shm and rootfs, unmounted first), and the active snapshots. Each thing swept is logged on a line of its own. A failure is logged and the sweep goes on; what is
 * left is tried again at the next start.
 */
final class OrphanSweep {
  private static final Logger log = LoggerFactory.getLogger(OrphanSweep.class);

  private final RuntimeState st;
  private final Set<String> claimed;
  private int swept;

  private OrphanSweep(RuntimeState st, Set<String> claimed) {
    this.st = st;
    this.claimed = Set.copyOf(claimed);
  }

  /** Sweeps everything named after an id not in {@code claimed}; returns how many things it released. */
  static int sweep(RuntimeState st, Set<String> claimed) {
    long start = System.nanoTime();
    OrphanSweep s = new OrphanSweep(st, claimed);
    s.runtimeContainers();
    s.namespacePins();
    s.cniAttachments();
    s.netnsPins();
    s.dirs(st.settings.stateDir().resolve("sandboxes"), "sandbox dir");
    s.dirs(st.settings.stateDir().resolve("containers"), "container dir");
    s.snapshots();
    long millis = (System.nanoTime() - start) / 1_000_000;
    if (s.swept > 0) {
      log.warn("swept {} leftovers that no record claims in {} ms", s.swept, millis);
    } else {
      log.debug("sweep found no leftovers in {} ms", millis);
    }
    return s.swept;
  }

  private void runtimeContainers() {
    Set<String> done = new HashSet<>();
    for (RuntimeInfo.HandlerInfo h : st.runtimes.handlers()) {
      if (!h.usable()) {
        continue;
      }
      List<String> ids;
      try {
        ids = st.runtimes.handler(h.name()).list();
      } catch (RuntimeException e) {
        log.error("cannot list the containers of runtime handler {}: {}", h.name(), e.toString());
        continue;
      }
      for (String id : ids) {
        if (!claimed.contains(id) && done.add(id)) {
          release("runtime container " + id + " of " + h.name() + " and its monitor",
              () -> st.runtimes.handler(h.name()).delete(id));
        }
      }
    }
  }

  private void cniAttachments() {
    for (String id : list(() -> st.network.cachedSandboxIds())) {
      if (!claimed.contains(id)) {
        release("CNI attachment of " + id + " (CNI DEL)", () -> st.network.tearDown(
            new PodNetwork.PodNetworkRequest(id, "", "", "", Optional.empty(), List.of(), null, null)));
      }
    }
  }

  private void netnsPins() {
    for (Path pin : list(() -> st.network.netnsPins())) {
      if (claimed.stream().noneMatch(id -> PodNetwork.isPinOf(pin, id))) {
        release("netns pin " + pin, () -> st.network.removeNetns(new PodNetwork.NetNs("", pin)));
      }
    }
  }

  /** {@code <dir>/<id>-<kind>}, as {@link io.berth.linux.NamespacePins} names them. */
  private void namespacePins() {
    for (Path pin : list(() -> entries(st.settings.stateDir().resolve("ns")))) {
      String name = pin.getFileName().toString();
      int dash = name.lastIndexOf('-');
      if (dash > 0 && !claimed.contains(name.substring(0, dash))) {
        release("namespace pin " + pin, () -> {
          if (Mounts.isMountPoint(pin)) {
            Mounts.unmountAllUnder(pin);
          }
          Files.deleteIfExists(pin);
        });
      }
    }
  }

  private void dirs(Path parent, String what) {
    for (Path dir : list(() -> entries(parent))) {
      if (Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)
          && !claimed.contains(dir.getFileName().toString())) {
        release(what + " " + dir, () -> Dirs.deleteWithMounts(dir));
      }
    }
  }

  private void snapshots() {
    for (String key : list(() -> st.snapshotter.active())) {
      if (!claimed.contains(key)) {
        release("rootfs snapshot " + key, () -> st.snapshotter.remove(key));
      }
    }
  }

  private void release(String what, Action action) {
    try {
      action.run();
      swept++;
      log.warn("swept {}: no record claims it", what);
    } catch (Exception e) {
      log.error("cannot sweep {}: {}", what, e.toString());
    }
  }

  @FunctionalInterface
  private interface Action {
    void run() throws Exception;
  }

  @FunctionalInterface
  private interface Lister<T> {
    List<T> list() throws Exception;
  }

  private static <T> List<T> list(Lister<T> lister) {
    try {
      return lister.list();
    } catch (Exception e) {
      log.error("cannot list for the sweep: {}", e.toString());
      return List.of();
    }
  }

  private static List<Path> entries(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      ds.forEach(out::add);
    }
    out.sort(null);
    return out;
  }
}
