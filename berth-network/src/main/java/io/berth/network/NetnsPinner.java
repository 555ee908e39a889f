package io.berth.network;

import io.berth.core.BerthException;
import io.berth.linux.LinuxException;
import io.berth.linux.NetLinks;
import io.berth.linux.Syscalls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates network namespaces and keeps them alive without a process by bind-mounting their nsfs file onto a file in
 * the pin dir, as {@code ip netns add} and containerd's {@code pkg/netns} do. Thread-safe.
 */
final class NetnsPinner {
  private static final Logger log = LoggerFactory.getLogger(NetnsPinner.class);

  private final Path dir;
  private boolean dirReady;

  NetnsPinner(Path dir) {
    this.dir = dir.toAbsolutePath().normalize();
  }

  /** Creates a new network namespace pinned at {@code dir/name}, with its {@code lo} up. */
  Path create(String name) {
    Path pin = newPinFile(name);
    try {
      pinNewNamespace(pin);
    } catch (RuntimeException e) {
      deleteQuietly(pin);
      throw e;
    }
    return pin;
  }

  /** Pins the existing network namespace {@code nsFile} at {@code dir/name}, with its {@code lo} brought up. */
  Path adopt(String name, Path nsFile) {
    bringUpLoopback(nsFile);
    Path pin = newPinFile(name);
    try {
      Syscalls.mount(nsFile.toString(), pin.toString(), "none", Syscalls.MS_BIND, null);
    } catch (RuntimeException e) {
      deleteQuietly(pin);
      throw BerthException.wrap(e, "pin network namespace %s", nsFile);
    }
    return pin;
  }

  /** The empty file a namespace is bind-mounted on; ALREADY_EXISTS when the name is taken. */
  private Path newPinFile(String name) {
    ensureDir();
    Path pin = dir.resolve(name);
    try {
      Files.createFile(pin);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw BerthException.alreadyExists("netns pin %s already exists", pin);
    } catch (IOException e) {
      throw BerthException.internal(e, "create netns pin %s", pin);
    }
    return pin;
  }

  /**
   * Brings {@code lo} up in the network namespace {@code nsFile}, from a platform thread of its own that enters it
   * and returns to the original namespace (and then ends), like the creation below.
   */
  static void bringUpLoopback(Path nsFile) {
    RuntimeException failure = onOwnThread("netns-lo", () -> awayFromOwnNetns(() -> {
      int target = Syscalls.openReadOnly(nsFile.toString());
      try {
        Syscalls.setns(target, Syscalls.CLONE_NEWNET);
      } finally {
        Syscalls.close(target);
      }
    }, () -> NetLinks.bringUp(PodNetwork.LOOPBACK_INTERFACE)), nsFile);
    if (failure != null) {
      throw BerthException.wrap(failure, "bring up %s in network namespace %s", PodNetwork.LOOPBACK_INTERFACE, nsFile);
    }
  }

  /**
   * unshare(CLONE_NEWNET) changes only the calling OS thread, so it runs on a platform thread of its own that
   * returns to the original namespace (and then ends) after the bind mount: no JVM thread stays in the pod's netns.
   * Its {@code lo} is brought up there and then, as the CNI loopback plugin would (without a process).
   */
  private static void pinNewNamespace(Path pin) {
    RuntimeException failure = onOwnThread("netns-pin", () -> awayFromOwnNetns(
        () -> Syscalls.unshare(Syscalls.CLONE_NEWNET),
        () -> {
          NetLinks.bringUp(PodNetwork.LOOPBACK_INTERFACE);
          Syscalls.mount("/proc/self/task/" + Syscalls.gettid() + "/ns/net", pin.toString(), "none",
              Syscalls.MS_BIND, null);
        }), pin);
    if (failure != null) {
      try {
        Syscalls.umount2(pin.toString(), Syscalls.MNT_DETACH);
      } catch (LinuxException ignored) {
        // not mounted
      }
      throw BerthException.wrap(failure, "create network namespace %s", pin);
    }
  }

  /**
   * On the calling thread: {@code enter} another network namespace (a failed enter leaves the thread where it was),
   * run {@code work} there, and return to the thread's own namespace whatever happens.
   */
  private static void awayFromOwnNetns(Runnable enter, Runnable work) {
    int own = Syscalls.openReadOnly("/proc/self/task/" + Syscalls.gettid() + "/ns/net");
    try {
      enter.run();
      try {
        work.run();
      } finally {
        Syscalls.setns(own, Syscalls.CLONE_NEWNET);
      }
    } finally {
      Syscalls.close(own);
    }
  }

  /**
   * Runs {@code work} on a new platform thread and waits for it: namespace changes stay on that OS thread, which
   * ends after it. Returns what it threw, or null.
   */
  private static RuntimeException onOwnThread(String name, Runnable work, Path about) {
    AtomicReference<RuntimeException> failure = new AtomicReference<>();
    Thread t = Thread.ofPlatform().name(name).unstarted(() -> {
      try {
        work.run();
      } catch (RuntimeException e) {
        failure.set(e);
      }
    });
    t.start();
    try {
      t.join();
    } catch (InterruptedException e) {
      // The thread finishes on its own; the caller's undo removes what it made.
      Thread.currentThread().interrupt();
      throw BerthException.cancelled("interrupted while working in netns %s", about);
    }
    return failure.get();
  }

  /** Every file in the pin dir: pins, and files a crash left before their mount. */
  List<Path> list() {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(Files::isRegularFile).sorted().toList();
    } catch (IOException e) {
      throw BerthException.internal(e, "list netns dir %s", dir);
    }
  }

  /** Unmounts and deletes a pin; a missing or unmounted pin is fine. */
  void remove(Path pin) {
    try {
      Syscalls.umount2(pin.toString(), Syscalls.MNT_DETACH);
    } catch (LinuxException e) {
      if (e.errno() != LinuxException.EINVAL && e.errno() != LinuxException.ENOENT) {
        throw BerthException.wrap(e, "unmount netns %s", pin);
      }
    }
    try {
      Files.deleteIfExists(pin);
    } catch (IOException e) {
      throw BerthException.internal(e, "delete netns pin %s", pin);
    }
  }

  /** True when {@code pin} is a mounted namespace file (its device differs from its directory's: nsfs). */
  static boolean isPinned(Path pin) {
    try {
      Object dev = Files.getAttribute(pin, "unix:dev");
      Object dirDev = Files.getAttribute(pin.getParent(), "unix:dev");
      return !dev.equals(dirDev);
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  /**
   * Makes the pin dir a shared mount point, as {@code ip netns} does for {@code /run/netns}: a pin made later then
   * propagates into mount namespaces copied from ours, and its unmount propagates too, so no copy keeps a namespace
   * alive after {@link #remove}.
   */
  private synchronized void ensureDir() {
    if (dirReady) {
      return;
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw BerthException.internal(e, "create netns dir %s", dir);
    }
    try {
      Syscalls.mount(null, dir.toString(), null, Syscalls.MS_SHARED | Syscalls.MS_REC, null);
    } catch (LinuxException e) {
      if (e.errno() != LinuxException.EINVAL) {
        throw BerthException.wrap(e, "make netns dir %s shared", dir);
      }
      // Not a mount point yet: bind it onto itself, then share it.
      Syscalls.mount(dir.toString(), dir.toString(), null, Syscalls.MS_BIND | Syscalls.MS_REC, null);
      Syscalls.mount(null, dir.toString(), null, Syscalls.MS_SHARED | Syscalls.MS_REC, null);
      log.debug("made {} a shared mount point", dir);
    }
    dirReady = true;
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      log.warn("cannot delete {}: {}", p, e.toString());
    }
  }
}
