package io.berth.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.core.BerthException;
import io.berth.linux.BlockingIo;
import io.berth.linux.Syscalls;
import io.berth.oci.CriAnnotations;
import io.berth.oci.RuntimeSpec;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What it takes to run a gVisor ({@code runsc}) pod under conmon, found with runsc 0.0~20221219 (Debian's).
 *
 * <p><b>Containers joining the pod sandbox.</b> A pod's first container (its infra, spec annotation
 * {@code io.kubernetes.cri.container-type=sandbox}) starts the sandbox: the sandbox process is conmon's (reparented)
 * child and holds conmon's pipes, as runc's container would. Every later container
 * ({@code container-type=container}, {@code sandbox-id=<pod>}) is a sub-container whose init runs inside that
 * sandbox: {@code runsc create} writes the sandbox's pid to the pid file (not conmon's child: conmon sees no child
 * and records exit -1 at once), and {@code runsc start} hands its <em>own</em> stdio to the sandbox. conmon
 * therefore runs these through {@code gvisor-subcontainer.sh}, which leaves a proxy process as the container: it
 * holds conmon's stdio, runs {@code runsc start} when berthd writes {@code start} into a FIFO in conmon's persist
 * dir, and exits with the exit code {@code runsc wait} reports. Proxy and conmon outlive berthd like any
 * container's monitor.
 *
 * <p><b>The pod's network namespace.</b> With its own netstack ({@code --network=sandbox}, the default) runsc
 * copies the addresses and routes of the sandbox's network namespace and takes them off the host side. Before that
 * it refuses to run in the root network namespace, which it recognises by {@code /proc/sys/net/core/rmem_default}
 * existing (runsc/sandbox/network.go, isRootNS). Since Linux 6.x made that sysctl per namespace (19249c0724f2), it
 * exists in every namespace and runsc refuses every pod ("cannot run with network enabled in root network
 * namespace"; gVisor issue 10704, fixed upstream in 2024 by checking {@code dev_weight}). berthd checks the fact
 * itself, that the pod's namespace is not the host's, and then runs the root container's {@code runsc start}, where
 * runsc makes that check, in a private mount namespace with an empty read-only tmpfs over {@code /proc/sys/net}.
 */
final class GvisorSandboxes {
  private static final Logger log = LoggerFactory.getLogger(GvisorSandboxes.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String ADAPTER = "gvisor-subcontainer";
  private static final String UNSHARE = "/usr/bin/unshare";
  private static final String GUARD = "mount -t tmpfs -o ro,nosuid,nodev,noexec,size=4k,mode=0555 berth-netns-guard "
      + "/proc/sys/net && exec \"$@\"";

  private final Path adapter;

  private GvisorSandboxes(Path adapter) {
    this.adapter = adapter;
  }

  /** Installs the sub-container adapter into {@code stateDir} (write, then rename). */
  static GvisorSandboxes install(Path stateDir) {
    Path target = stateDir.resolve(ADAPTER);
    try (InputStream in = GvisorSandboxes.class.getResourceAsStream("gvisor-subcontainer.sh")) {
      if (in == null) {
        throw BerthException.internal("gvisor-subcontainer.sh missing from berth-runtime");
      }
      byte[] script = in.readAllBytes();
      if (!Files.exists(target) || !java.util.Arrays.equals(Files.readAllBytes(target), script)) {
        Path tmp = Files.createTempFile(stateDir, ADAPTER, ".tmp",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Files.write(tmp, script);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot install %s", target);
    }
    return new GvisorSandboxes(target);
  }

  Path adapter() {
    return adapter;
  }

  /** Whether the bundle's container joins an existing sandbox (CRI annotation {@code container-type=container}). */
  static boolean isSubcontainer(RuntimeSpec spec) {
    return CriAnnotations.CONTAINER_TYPE_CONTAINER.equals(spec.annotations().get(CriAnnotations.CONTAINER_TYPE));
  }

  /**
   * Global runsc flags for one pod's sandbox, after the handler's own: {@code --network=host} when the pod uses the
   * host's network (its infra spec has no network namespace) and the handler does not choose a network mode itself.
   * With its own netstack runsc would start the sandbox in a new, empty network namespace and then refuse it as the
   * root namespace; a host-network pod wants the host's network, which {@code host} mode gives it. Empty for
   * sub-containers (the sandbox's network is settled by then).
   */
  static List<String> sandboxArgs(RuntimeSpec spec, List<String> handlerArgs) {
    if (isSubcontainer(spec) || handlerArgs.stream().anyMatch(a -> a.matches("--?network(=.*)?"))) {
      return List.of();
    }
    boolean netns = spec.linux() != null && spec.linux().namespaces() != null
        && spec.linux().namespaces().stream().anyMatch(n -> "network".equals(n.type()));
    return netns ? List.of() : List.of("--network=host");
  }

  /**
   * The network namespace the spec puts the sandbox in, when it is a namespace of its own: a path that is not
   * berthd's (the host's) network namespace. Empty for host-network pods and specs without a path.
   */
  static Optional<Path> ownNetns(RuntimeSpec spec) {
    if (spec.linux() == null || spec.linux().namespaces() == null) {
      return Optional.empty();
    }
    for (RuntimeSpec.Namespace ns : spec.linux().namespaces()) {
      if ("network".equals(ns.type()) && ns.path() != null && !ns.path().isEmpty()) {
        Path p = Path.of(ns.path());
        return sameFile(p, Path.of("/proc/self/ns/net")) ? Optional.empty() : Optional.of(p);
      }
    }
    return Optional.empty();
  }

  private static boolean sameFile(Path a, Path b) {
    try {
      return Files.getAttribute(a, "unix:ino").equals(Files.getAttribute(b, "unix:ino"))
          && Files.getAttribute(a, "unix:dev").equals(Files.getAttribute(b, "unix:dev"));
    } catch (IOException | UnsupportedOperationException e) {
      // a namespace we cannot stat is not one we may hide runsc's check for
      return true;
    }
  }

  /**
   * {@code command} (a {@code runsc ... start} of a sandbox whose network namespace is not the host's) wrapped so
   * that runsc's root-namespace heuristic sees no {@code /proc/sys/net}: a private mount namespace (slave, so
   * nothing propagates back to the host) that ends with the command.
   */
  static List<String> withNetnsGuard(List<String> command) {
    List<String> a = new ArrayList<>(List.of(UNSHARE, "--mount", "--propagation", "slave", "/bin/sh", "-c", GUARD,
        "sh"));
    a.addAll(command);
    return a;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // sub-containers: the proxy conmon watches

  /** The FIFO the proxy waits on; created before conmon starts. */
  static Path startFifo(Path persist) {
    return persist.resolve("start");
  }

  static void prepare(Path persist) {
    Syscalls.mknod(startFifo(persist).toString(), Syscalls.S_IFIFO | 0600, 0, 0);
  }

  /**
   * Makes the proxy run {@code runsc start} and waits up to {@code timeout} for its result. Throws
   * FAILED_PRECONDITION with runsc's message when start failed or the proxy is gone.
   */
  static void start(String id, Path persist, Duration timeout) {
    Path fifo = startFifo(persist);
    if (!Files.exists(fifo)) {
      throw BerthException.failedPrecondition("container %s was started before", id);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    // Opening a FIFO blocks until it has a reader: on a platform thread (see BlockingIo).
    Future<?> f = BlockingIo.submit(() -> {
      try (FileOutputStream o = new FileOutputStream(fifo.toFile())) {
        o.write("start\n".getBytes(StandardCharsets.US_ASCII));
      }
      return null;
    });
    while (true) {
      try {
        f.get(100, TimeUnit.MILLISECONDS);
        break;
      } catch (TimeoutException e) {
        if (!proxyAlive(persist) || System.nanoTime() - deadline > 0) {
          ConmonRuntime.releaseFifoWriter(fifo);
          f.cancel(true);
          throw BerthException.failedPrecondition("container %s: its monitor is gone (%s)", id,
              proxyAlive(persist) ? "no answer within " + timeout : "exited before start");
        }
      } catch (ExecutionException e) {
        throw BerthException.internal(e.getCause(), "cannot write to %s", fifo);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        ConmonRuntime.releaseFifoWriter(fifo);
        throw BerthException.cancelled("start of %s interrupted", id);
      }
    }
    ConmonRuntime.deleteQuietly(fifo);
    Path status = persist.resolve("start.status");
    long sleep = 2;
    while (true) {
      Optional<Integer> rc = readStatus(status);
      if (rc.isPresent()) {
        if (rc.get() != 0) {
          throw BerthException.failedPrecondition("runsc start of %s failed (exit %d): %s", id, rc.get(),
              lastError(persist.resolve("runsc-start.log")));
        }
        return;
      }
      if (!proxyAlive(persist)) {
        throw BerthException.failedPrecondition("container %s: its monitor exited during start", id);
      }
      if (System.nanoTime() - deadline > 0) {
        throw BerthException.deadlineExceeded("runsc start of %s took longer than %s", id, timeout);
      }
      sleepMillis(sleep);
      sleep = Math.min(sleep * 2, 50);
    }
  }

  /**
   * Ends the proxy of a container that never started (it waits on its FIFO), so that conmon records an exit and
   * leaves; a started one ends with its container.
   */
  static void releaseUnstarted(String id, Path persist) {
    Path fifo = startFifo(persist);
    int pid = proxyPid(persist);
    if (Files.exists(fifo) && pid > 0 && ProcStat.alive(pid)) {
      log.debug("container {}: ending the proxy {} of a container that never started", id, pid);
      Syscalls.kill(pid, 9);
    }
  }

  /** The proxy's pid, if it is still conmon's child (so a reused pid is never signalled). */
  private static int proxyPid(Path persist) {
    int pid = ConmonRuntime.readIntQuietly(persist.resolve("pidfile"));
    int conmon = ConmonRuntime.readIntQuietly(persist.resolve("conmon.pid"));
    return pid > 0 && conmon > 0 && ProcStat.ppid(pid) == conmon ? pid : -1;
  }

  private static boolean proxyAlive(Path persist) {
    int pid = proxyPid(persist);
    return pid > 0 && ProcStat.alive(pid);
  }

  private static Optional<Integer> readStatus(Path status) {
    try {
      String s = Files.readString(status);
      if (!s.endsWith("\n")) {
        return Optional.empty();
      }
      return Optional.of(Integer.parseInt(s.strip()));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException | NumberFormatException e) {
      return Optional.of(-1);
    }
  }

  /**
   * The last error runsc wrote to its {@code --log} file: JSON objects ({@code msg}, {@code level}, {@code time}),
   * written back to back without separators (runsc/cmd/util Errorf).
   */
  static String lastError(Path logFile) {
    String message = "no message from runsc";
    try (var values = JSON.readerFor(JsonNode.class).<JsonNode>readValues(Files.readAllBytes(logFile))) {
      while (values.hasNextValue()) {
        JsonNode n = values.nextValue();
        if (n.hasNonNull("msg")) {
          message = n.get("msg").asText();
        }
      }
    } catch (IOException | RuntimeException e) {
      // no log, or a torn last entry: keep what was read
    }
    return message;
  }

  private static void sleepMillis(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw BerthException.cancelled("interrupted");
    }
  }
}
