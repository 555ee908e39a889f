package io.berth.linux;

import io.berth.core.BerthException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

/**
 * New IPC and UTS namespaces kept alive without any process, by bind-mounting their nsfs files onto pin files (as
 * CRI-O's pinns does). A pod whose containers only need to share these (and the network namespace) then needs no
 * infra process at all: one fewer runtime call and monitor per pod.
 */
public final class NamespacePins {
  private final Path dir;
  private volatile boolean shared;

  public NamespacePins(Path dir) {
    this.dir = dir.toAbsolutePath().normalize();
  }

  /** Pin files of one pod; {@code null} for a namespace not pinned. */
  public record Pins(Path ipc, Path uts, Path user) {
    /** Pins without a user namespace. */
    public Pins(Path ipc, Path uts) {
      this(ipc, uts, null);
    }
  }

  /**
   * Creates new IPC and/or UTS namespaces (null when not wanted), sets the hostname in the UTS one, and pins them at
   * {@code dir/<id>-ipc} and {@code dir/<id>-uts}. On failure nothing is left.
   */
  public Pins pin(String id, boolean ipc, boolean uts, String hostname) {
    ensureSharedDir();
    Path ipcPin = ipc ? dir.resolve(id + "-ipc") : null;
    Path utsPin = uts ? dir.resolve(id + "-uts") : null;
    AtomicReference<RuntimeException> failure = new AtomicReference<>();
    // unshare() changes only the calling OS thread: do it on a platform thread of its own that returns to the
    // original namespaces before it ends, so no JVM thread is left in the pod's namespaces.
    Thread t = Thread.ofPlatform().name("ns-pin").unstarted(() -> {
      int origIpc = -1;
      int origUts = -1;
      try {
        String self = "/proc/self/task/" + Syscalls.gettid() + "/ns/";
        origIpc = Syscalls.openReadOnly(self + "ipc");
        origUts = Syscalls.openReadOnly(self + "uts");
        int flags = (ipc ? Syscalls.CLONE_NEWIPC : 0) | (uts ? Syscalls.CLONE_NEWUTS : 0);
        Syscalls.unshare(flags);
        try {
          if (uts) {
            Syscalls.sethostname(hostname);
            bind(self + "uts", utsPin);
          }
          if (ipc) {
            bind(self + "ipc", ipcPin);
          }
        } finally {
          Syscalls.setns(origIpc, Syscalls.CLONE_NEWIPC);
          Syscalls.setns(origUts, Syscalls.CLONE_NEWUTS);
        }
      } catch (RuntimeException e) {
        failure.set(e);
      } finally {
        if (origIpc >= 0) {
          Syscalls.close(origIpc);
        }
        if (origUts >= 0) {
          Syscalls.close(origUts);
        }
      }
    });
    t.start();
    try {
      t.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure.compareAndSet(null, BerthException.cancelled("interrupted while pinning namespaces of %s", id));
    }
    Pins pins = new Pins(ipcPin, utsPin);
    if (failure.get() != null) {
      unpin(pins);
      throw BerthException.wrap(failure.get(), "create namespaces of %s", id);
    }
    return pins;
  }

  /**
   * Pins the namespaces a {@link NamespaceHolder} made: its user namespace at {@code dir/<id>-user}, and its IPC and
   * UTS namespaces (when it made them) at {@code dir/<id>-ipc} and {@code dir/<id>-uts}, with {@code hostname} set in
   * the UTS one. These are owned by the pod's user namespace. On failure nothing is left.
   */
  public Pins pin(String id, NamespaceHolder holder, String hostname) {
    ensureSharedDir();
    Pins pins = new Pins(holder.has(NamespaceHolder.Kind.IPC) ? dir.resolve(id + "-ipc") : null,
        holder.has(NamespaceHolder.Kind.UTS) ? dir.resolve(id + "-uts") : null, dir.resolve(id + "-user"));
    try {
      bind(holder.userNsFile().toString(), pins.user());
      if (pins.ipc() != null) {
        bind(holder.nsFile(NamespaceHolder.Kind.IPC).toString(), pins.ipc());
      }
      if (pins.uts() != null) {
        bind(holder.nsFile(NamespaceHolder.Kind.UTS).toString(), pins.uts());
        setHostname(pins.uts(), hostname, id);
      }
      return pins;
    } catch (RuntimeException e) {
      unpin(pins);
      throw BerthException.wrap(e, "pin namespaces of %s", id);
    }
  }

  /** sethostname(2) in a pinned UTS namespace, from a platform thread that returns to ours before it ends. */
  private static void setHostname(Path uts, String hostname, String id) {
    AtomicReference<RuntimeException> failure = new AtomicReference<>();
    Thread t = Thread.ofPlatform().name("ns-hostname").unstarted(() -> {
      int orig = -1;
      int target = -1;
      try {
        orig = Syscalls.openReadOnly("/proc/self/task/" + Syscalls.gettid() + "/ns/uts");
        target = Syscalls.openReadOnly(uts.toString());
        Syscalls.setns(target, Syscalls.CLONE_NEWUTS);
        try {
          Syscalls.sethostname(hostname);
        } finally {
          Syscalls.setns(orig, Syscalls.CLONE_NEWUTS);
        }
      } catch (RuntimeException e) {
        failure.set(e);
      } finally {
        if (orig >= 0) {
          Syscalls.close(orig);
        }
        if (target >= 0) {
          Syscalls.close(target);
        }
      }
    });
    t.start();
    try {
      t.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure.compareAndSet(null, BerthException.cancelled("interrupted while setting the hostname of %s", id));
    }
    if (failure.get() != null) {
      throw failure.get();
    }
  }

  private static void bind(String nsFile, Path pin) {
    try {
      Files.deleteIfExists(pin);
      Files.createFile(pin);
    } catch (IOException e) {
      throw BerthException.internal(e, "create namespace pin %s", pin);
    }
    Syscalls.mount(nsFile, pin.toString(), "none", Syscalls.MS_BIND, null);
  }

  /** Unmounts and deletes the pins; idempotent. */
  public static void unpin(Pins pins) {
    for (Path p : new Path[] {pins.ipc(), pins.uts(), pins.user()}) {
      if (p == null) {
        continue;
      }
      try {
        Syscalls.umount2(p.toString(), Syscalls.MNT_DETACH);
      } catch (LinuxException e) {
        if (e.errno() != LinuxException.EINVAL && e.errno() != LinuxException.ENOENT) {
          throw e;
        }
      }
      try {
        Files.deleteIfExists(p);
      } catch (IOException e) {
        throw BerthException.internal(e, "delete namespace pin %s", p);
      }
    }
  }

  /** The pin dir is a shared mount point, so pins unmounted here vanish from containers' mount namespaces too. */
  private synchronized void ensureSharedDir() {
    if (shared) {
      return;
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw BerthException.internal(e, "create namespace pin dir %s", dir);
    }
    try {
      Syscalls.mount(null, dir.toString(), null, Syscalls.MS_SHARED | Syscalls.MS_REC, null);
    } catch (LinuxException e) {
      if (e.errno() != LinuxException.EINVAL) {
        throw e;
      }
      Syscalls.mount(dir.toString(), dir.toString(), null, Syscalls.MS_BIND | Syscalls.MS_REC, null);
      Syscalls.mount(null, dir.toString(), null, Syscalls.MS_SHARED | Syscalls.MS_REC, null);
    }
    shared = true;
  }
}
