package io.berth.runtime;

import io.berth.oci.RuntimeSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * One runtime handler's containers, each under its own conmon.
 *
 * <p>Lifecycle: {@link #create} starts a conmon that runs {@code <runtime> create} on a bundle the caller wrote
 * ({@code bundle/config.json}, see {@link io.berth.oci.SpecGenerator}) and stays as the container's monitor: it
 * holds the container's stdio, writes the CRI log file, records the exit code and notices OOM kills. conmon is a
 * daemon in its own session, so containers outlive berthd. {@link #start} runs the process; {@link #stop} signals
 * it and escalates to SIGKILL; {@link #delete} removes the runtime state, the cgroup and conmon's files.
 *
 * <p>Containers are named by id; all methods are safe to call from several threads for different ids. Unknown ids
 * throw NOT_FOUND, except {@link #delete}, which is idempotent.
 */
public interface OciRuntime {
  /** The handler this runtime serves. */
  RuntimeHandler handler();

  /** Creates a container from {@code bundle/config.json}; returns once the runtime created it (not started). */
  ContainerProcess create(String id, Path bundle, CreateOptions options);

  /** Starts a created container. */
  void start(String id);

  /** Sends a signal to the container's init ({@code all}: to every process of the container). */
  void kill(String id, int signal, boolean all);

  /**
   * Stops a container: {@code signal}, up to {@code timeout} for it to exit, then SIGKILL. Returns once conmon has
   * recorded the exit. A container that is not running is left alone.
   */
  void stop(String id, int signal, Duration timeout);

  /** Waits up to {@code timeout} for the container to exit; true when it did. */
  boolean awaitExit(String id, Duration timeout);

  /** Deletes the container ({@code force}: even a running one) with its cgroup and conmon files. Idempotent. */
  void delete(String id, boolean force);

  /** The container's current state. */
  ContainerState state(String id);

  /**
   * Runs a command in a running container and collects its output, each stream capped at {@code maxOutputBytes}.
   * Returns once the command exits even if a background child keeps its stdout open; kills it at the timeout.
   */
  ExecResult execSync(String id, List<String> command, Duration timeout, long maxOutputBytes);

  /** Changes a running container's cgroup limits. */
  void updateResources(String id, RuntimeSpec.Resources resources);

  /** Asks conmon to reopen the container's log file (after the kubelet rotated it). */
  void reopenLog(String id);

  /**
   * Attaches to the running container's stdio through conmon's attach socket: copies {@code stdin} (null: none) to
   * the container and the container's output to {@code stdout}/{@code stderr} (null: discarded; with a terminal
   * everything is stdout). Returns when conmon ends the output (the container exited), when writing to the client
   * fails, or when the calling thread is interrupted. The end of {@code stdin} reaches the container as end-of-file
   * only if it was created with {@code stdinOnce}.
   */
  void attach(String id, java.io.InputStream stdin, java.io.OutputStream stdout, java.io.OutputStream stderr)
      throws java.io.IOException;

  /**
   * Starts {@code command} in the running container for a streaming exec, with the container's process settings
   * (user, env, cwd, capabilities), with pipes or, when {@code tty}, a terminal that starts at {@code columns} x
   * {@code rows} (0: unknown). The caller owns the session and closes it.
   */
  ExecSession exec(String id, List<String> command, boolean tty, int columns, int rows);

  /** Resizes the terminal of a container created with one (conmon's control FIFO). */
  void resizeTerminal(String id, int width, int height);

  /** Ids of the containers this handler knows, from the runtime and conmon's directories (for recovery). */
  List<String> list();

  /**
   * True once conmon has recorded the container's exit. A file check, no runtime call: cheap enough for the status
   * polls of every container the kubelet makes.
   */
  boolean exitRecorded(String id);

  /**
   * Usage as the runtime reports it from inside its sandbox, for runtimes whose containers have no host cgroup of
   * their own (gVisor's sub-containers share the pod's); empty for the others, whose cgroups tell.
   */
  default java.util.Optional<SandboxedStats> sandboxedStats(String id) {
    return java.util.Optional.empty();
  }
}
