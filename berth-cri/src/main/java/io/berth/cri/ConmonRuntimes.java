package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import io.berth.oci.RuntimeOptions;
import io.berth.oci.ResourceUpdates;
import io.berth.runtime.ContainerState;
import io.berth.runtime.CreateOptions;
import io.berth.runtime.ExecSession;
import io.berth.runtime.HandlerStatus;
import io.berth.runtime.OciRuntime;
import io.berth.runtime.RuntimeHandler;
import io.berth.runtime.Runtimes;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** {@link OciRuntimes} over berth-runtime's conmon-monitored handlers. */
final class ConmonRuntimes implements OciRuntimes {
  private final Runtimes runtimes;
  private final Map<String, RuntimeHandler> configured;
  private final String cgroupDriver;
  private final Map<String, Handler> handlers = new ConcurrentHashMap<>();

  ConmonRuntimes(Runtimes runtimes, Map<String, RuntimeHandler> configured, String cgroupDriver) {
    this.runtimes = runtimes;
    this.configured = configured;
    this.cgroupDriver = cgroupDriver;
  }

  @Override
  public Handler handler(String name) {
    String n = name == null || name.isEmpty() ? runtimes.defaultHandler() : name;
    OciRuntime r = runtimes.get(n);
    return handlers.computeIfAbsent(n, k -> new ConmonHandler(k, r, configured.get(k),
        RuntimeOptions.detect(k, cgroupDriver, status(k).recursiveReadOnlyMounts(), status(k).gvisor())));
  }

  private HandlerStatus status(String name) {
    return runtimes.handlers().stream().filter(h -> h.name().equals(name)).findFirst().orElseThrow();
  }

  @Override
  public List<RuntimeInfo.HandlerInfo> handlers() {
    List<RuntimeInfo.HandlerInfo> out = new ArrayList<>();
    for (HandlerStatus s : runtimes.handlers()) {
      // Without rro in the runtime, berthd makes the recursively read-only mount itself (mount_setattr, Linux 5.12);
      // not for gVisor, whose gofer serves mounts its own way.
      boolean rro = s.recursiveReadOnlyMounts() || (!s.gvisor() && MOUNT_SETATTR);
      out.add(new RuntimeInfo.HandlerInfo(s.name(), s.usable(), s.reason(), rro, false));
    }
    return out;
  }

  private static final boolean MOUNT_SETATTR = kernelAtLeast(5, 12);

  static boolean kernelAtLeast(int major, int minor) {
    try {
      String[] v = java.nio.file.Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip().split("[.-]");
      int ma = Integer.parseInt(v[0]);
      int mi = Integer.parseInt(v[1]);
      return ma > major || (ma == major && mi >= minor);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private record ConmonHandler(String name, OciRuntime runtime, RuntimeHandler config, RuntimeOptions options)
      implements Handler {
    /** gVisor (found by its --version) starts the pod's sandbox with the infra container; Kata by its name. */
    @Override
    public boolean needsInfra() {
      return options.gvisor() || config.binary().getFileName().toString().contains("kata");
    }

    @Override
    public void create(String id, Path bundle, Path logPath, boolean tty, boolean stdin, boolean stdinOnce) {
      runtime.create(id, bundle, new CreateOptions(logPath, tty, stdin, stdinOnce));
    }

    @Override
    public void start(String id) {
      runtime.start(id);
    }

    @Override
    public State state(String id) {
      ContainerState s;
      try {
        s = runtime.state(id);
      } catch (BerthException e) {
        if (e.kind() == ErrorKind.NOT_FOUND) {
          return new State(State.Status.UNKNOWN, 0, 0, 0, false);
        }
        throw e;
      }
      State.Status status = switch (s.status()) {
        case CREATED -> State.Status.CREATED;
        case RUNNING, PAUSED -> State.Status.RUNNING;
        case STOPPED -> State.Status.STOPPED;
      };
      long finished = s.finished().map(i -> i.getEpochSecond() * 1_000_000_000L + i.getNano()).orElse(0L);
      return new State(status, s.pid(), s.exitCode(), finished, s.oomKilled());
    }

    @Override
    public boolean exitRecorded(String id) {
      return runtime.exitRecorded(id);
    }

    @Override
    public void stop(String id, int signal, Duration timeout) {
      runtime.stop(id, signal, timeout);
    }

    @Override
    public void delete(String id) {
      runtime.delete(id, true);
    }

    @Override
    public List<String> list() {
      return runtime.list();
    }

    @Override
    public ExecResult execSync(String id, List<String> cmd, Duration timeout, long maxOutputBytes) {
      io.berth.runtime.ExecResult r = runtime.execSync(id, cmd, timeout, maxOutputBytes);
      return new ExecResult(r.stdout(), r.stderr(), r.exitCode(), r.timedOut());
    }

    @Override
    public void updateResources(String id, io.berth.cri.api.LinuxContainerResources resources) {
      runtime.updateResources(id, ResourceUpdates.of(resources, options));
    }

    @Override
    public void reopenLog(String id) {
      runtime.reopenLog(id);
    }

    @Override
    public ExecSession exec(String id, List<String> cmd, boolean tty, io.berth.streaming.TerminalSize initialSize) {
      return initialSize == null ? runtime.exec(id, cmd, tty, 0, 0)
          : runtime.exec(id, cmd, tty, initialSize.width(), initialSize.height());
    }

    @Override
    public void attach(String id, java.io.InputStream stdin, java.io.OutputStream stdout,
        java.io.OutputStream stderr) throws IOException {
      runtime.attach(id, stdin, stdout, stderr);
    }

    @Override
    public void resizeTerminal(String id, int width, int height) {
      runtime.resizeTerminal(id, width, height);
    }

    @Override
    public java.util.Optional<io.berth.runtime.SandboxedStats> sandboxedStats(String id) {
      return runtime.sandboxedStats(id);
    }
  }
}
