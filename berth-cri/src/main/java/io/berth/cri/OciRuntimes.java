package io.berth.cri;

import io.berth.oci.RuntimeOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What the CRI layer needs from the OCI runtime side, one handler per runtime class (runc, crun, runsc). Each
 * container (and each pod's infra process) runs under its own monitor, so it outlives berthd.
 */
interface OciRuntimes {
  /** INVALID_ARGUMENT for an unknown handler, FAILED_PRECONDITION (with the reason) for an unusable one. */
  Handler handler(String name);

  List<RuntimeInfo.HandlerInfo> handlers();

  /** One runtime handler. */
  interface Handler {
    String name();

    RuntimeOptions options();

    /** Sandboxed runtimes (gVisor, Kata) group a pod's containers around its infra container: never drop it. */
    boolean needsInfra();

    /** Creates the container from {@code bundle/config.json} under a new monitor, logging to {@code logPath}. */
    void create(String id, Path bundle, Path logPath, boolean tty, boolean stdin, boolean stdinOnce);

    void start(String id);

    State state(String id);

    /** True once the container's monitor recorded its exit; a file check, no runtime call. */
    boolean exitRecorded(String id);

    /** Sends {@code signal}, waits up to {@code timeout} for the process to exit, then SIGKILL. */
    void stop(String id, int signal, Duration timeout);

    /** Removes the container from the runtime and its monitor's files; idempotent. */
    void delete(String id);

    /** Ids of every container (and infra process) under this handler's runtime root and monitor dirs. */
    List<String> list();

    ExecResult execSync(String id, List<String> cmd, Duration timeout, long maxOutputBytes);

    void updateResources(String id, io.berth.cri.api.LinuxContainerResources resources);

    void reopenLog(String id);

    /**
     * Starts a process in the running container with pipes, or a terminal of {@code initialSize} (may be null) when
     * {@code tty}, for streaming exec.
     */
    io.berth.runtime.ExecSession exec(String id, List<String> cmd, boolean tty,
        io.berth.streaming.TerminalSize initialSize);

    /** Attaches to the container's stdio until its output ends or the caller is interrupted (streaming attach). */
    void attach(String id, java.io.InputStream stdin, java.io.OutputStream stdout, java.io.OutputStream stderr)
        throws java.io.IOException;

    /** Resizes the terminal of a container created with a tty. */
    void resizeTerminal(String id, int width, int height);

    /** Usage reported from inside a sandboxed runtime (gVisor); empty where the container's cgroup tells. */
    default java.util.Optional<io.berth.runtime.SandboxedStats> sandboxedStats(String id) {
      return java.util.Optional.empty();
    }
  }

  /** The state of a container as runtime and monitor report it. */
  record State(Status status, int pid, int exitCode, long finishedAtNanos, boolean oomKilled) {
    enum Status { CREATED, RUNNING, STOPPED, UNKNOWN }
  }

  record ExecResult(byte[] stdout, byte[] stderr, int exitCode, boolean timedOut) {}
}
