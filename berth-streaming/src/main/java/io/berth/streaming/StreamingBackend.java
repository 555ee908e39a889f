package io.berth.streaming;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * Runs the processes and connections a streaming session needs; implemented over the OCI runtime by the daemon.
 *
 * <p>Each method is called on its own virtual thread and may block. When the client goes away mid-session the
 * server: ends {@code stdin} (reads return -1), makes writes to {@code stdout}/{@code stderr}/{@code toClient} throw
 * {@link IOException}, closes the {@link ResizeQueue} and interrupts the calling thread. Implementations must
 * then return promptly (and release the process's or socket's resources) so that no thread outlives the session.
 * The server closes every stream it passes in after the method returns; implementations need not.
 */
public interface StreamingBackend {
  /**
   * Runs {@code cmd} in the container, wiring the streams; returns the exit code. {@code stdin} is null when not
   * requested (likewise stdout/stderr); when {@code tty}, stderr is null and resize events arrive on
   * {@code resizes}. Throws {@link io.berth.core.BerthException} NOT_FOUND / FAILED_PRECONDITION for unknown / not
   * running containers.
   */
  int exec(String containerId, List<String> cmd, boolean tty, InputStream stdin, OutputStream stdout,
      OutputStream stderr, ResizeQueue resizes) throws IOException;

  /** Attaches to the container's main process; returns when the container exits or the client goes away. */
  int attach(String containerId, boolean tty, InputStream stdin, OutputStream stdout, OutputStream stderr,
      ResizeQueue resizes) throws IOException;

  /**
   * Connects to localhost:{@code port} inside the pod's network namespace and copies both ways until both
   * directions are done. {@code fromClient} ends when the client half-closes.
   */
  void portForward(String podSandboxId, int port, InputStream fromClient, OutputStream toClient) throws IOException;
}
