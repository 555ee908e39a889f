package io.berth.linux;

import io.berth.core.BerthException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A short-lived process in a new user namespace (with the given id mappings) and, optionally, new network, IPC and
 * UTS namespaces owned by it, for pinning them.
 *
 * <p>Why a process: a multi-threaded process such as the JVM cannot unshare(CLONE_NEWUSER) or setns() into a user
 * namespace (user_namespaces(7)), and a namespace owned by a user namespace must be created by a task inside it.
 * When one unshare(2) call gets CLONE_NEWUSER together with other CLONE_NEW* flags, the kernel creates the user
 * namespace first and makes it the owner of the others: a pod's root then has its capabilities over its own network
 * (sysctls, sysfs), IPC (mqueue) and UTS namespaces, and a runtime that joins the user namespace first (runc 1.1)
 * can still join them. This is the role CRI-O's pinns and containerd's {@code UnshareAfterEnterUserns} play.
 *
 * <p>The process is util-linux's {@code unshare(1)} running {@code cat(1)} on a pipe from berthd. Root in the parent
 * user namespace writes the id maps to {@code /proc/PID/{uid,gid}_map} (user_namespaces(7): any mapping of its own
 * ids is allowed then); callers bind-mount {@link #nsFile} to pin what they need; {@link #close()} closes the pipe
 * and the process ends. A berthd that dies meanwhile closes the pipe too, so no process outlives it.
 */
public final class NamespaceHolder implements AutoCloseable {
  private static final long READY_NANOS = TimeUnit.SECONDS.toNanos(10);

  /** Namespaces the holder can create besides its user namespace. */
  public enum Kind {
    NET("net", "--net"), IPC("ipc", "--ipc"), UTS("uts", "--uts");

    private final String file;
    private final String flag;

    Kind(String file, String flag) {
      this.file = file;
      this.flag = flag;
    }
  }

  /** One line of a uid_map or gid_map: {@code length} ids from {@code containerId} map to ones from {@code hostId}. */
  public record IdMap(long containerId, long hostId, long length) {
    public IdMap {
      if (containerId < 0 || hostId < 0 || length < 1 || containerId + length > 0xFFFF_FFFFL
          || hostId + length > 0xFFFF_FFFFL) {
        throw BerthException.invalidArgument("invalid id mapping %d %d %d", containerId, hostId, length);
      }
    }

    /** The line for {@code /proc/PID/uid_map}. */
    String line() {
      return containerId + " " + hostId + " " + length + "\n";
    }
  }

  private final Process process;
  private final Set<Kind> kinds;

  private NamespaceHolder(Process process, Set<Kind> kinds) {
    this.process = process;
    this.kinds = kinds;
  }

  /**
   * Starts the holder: a new user namespace mapped by {@code uid} and {@code gid}, plus the {@code others}, all
   * created by one unshare(2). On failure nothing is left running.
   */
  public static NamespaceHolder start(IdMap uid, IdMap gid, Set<Kind> others) {
    Set<Kind> kinds = others.isEmpty() ? EnumSet.noneOf(Kind.class) : EnumSet.copyOf(others);
    List<String> cmd = new ArrayList<>(List.of("unshare", "--user"));
    kinds.forEach(k -> cmd.add(k.flag));
    cmd.addAll(List.of("--", "cat"));
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot start unshare(1) to create a user namespace");
    }
    NamespaceHolder h = new NamespaceHolder(p, kinds);
    try {
      h.awaitUnshared();
      h.writeMap("uid_map", uid);
      h.writeMap("gid_map", gid);
      return h;
    } catch (RuntimeException e) {
      h.close();
      throw e;
    }
  }

  /** The holder's pid (for diagnostics). */
  public long pid() {
    return process.pid();
  }

  /** {@code /proc/PID/ns/user}: open it or bind-mount it while the holder lives. */
  public Path userNsFile() {
    return Path.of("/proc", Long.toString(process.pid()), "ns", "user");
  }

  /** {@code /proc/PID/ns/<kind>} of a namespace the holder created. */
  public Path nsFile(Kind kind) {
    if (!kinds.contains(kind)) {
      throw new IllegalArgumentException("the holder has no new " + kind + " namespace");
    }
    return Path.of("/proc", Long.toString(process.pid()), "ns", kind.file);
  }

  /** Whether the holder created a namespace of this kind. */
  public boolean has(Kind kind) {
    return kinds.contains(kind);
  }

  /** unshare(1) has unshared once its user namespace differs from ours (all were made by one unshare call). */
  private void awaitUnshared() {
    String ours = link(Path.of("/proc/self/ns/user"));
    Path theirs = userNsFile();
    long deadline = System.nanoTime() + READY_NANOS;
    while (true) {
      if (!process.isAlive()) {
        throw BerthException.internal("unshare(1) could not create a user namespace: exit %d: %s",
            process.exitValue(), stderr());
      }
      String now = linkOrEmpty(theirs);
      if (!now.isEmpty() && !now.equals(ours)) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw BerthException.internal("unshare(1) did not create a user namespace within 10 s");
      }
      Thread.onSpinWait();
      try {
        Thread.sleep(0, 200_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw BerthException.cancelled("interrupted while creating a user namespace");
      }
    }
  }

  private void writeMap(String file, IdMap map) {
    Path p = Path.of("/proc", Long.toString(process.pid()), file);
    try {
      // One write(2), as the kernel requires: the map can be written only once.
      Files.writeString(p, map.line());
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot write %s", p);
    }
  }

  private String stderr() {
    try (InputStream err = process.getErrorStream()) {
      return new String(err.readNBytes(4096), StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return e.toString();
    }
  }

  private static String link(Path p) {
    try {
      return Files.readSymbolicLink(p).toString();
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot read %s", p);
    }
  }

  private static String linkOrEmpty(Path p) {
    try {
      return Files.readSymbolicLink(p).toString();
    } catch (IOException e) {
      return "";
    }
  }

  /** Ends the process (closing its stdin) and reaps it; idempotent. */
  @Override
  public void close() {
    try {
      process.getOutputStream().close();
    } catch (IOException e) {
      // already closed
    }
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      process.getErrorStream().close();
    } catch (IOException e) {
      // nothing to release
    }
  }
}
