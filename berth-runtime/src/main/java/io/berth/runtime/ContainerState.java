package io.berth.runtime;

import java.time.Instant;
import java.util.Optional;

/**
 * A container as its runtime and conmon report it.
 *
 * @param pid the init pid, 0 when stopped
 * @param exitCode the exit code conmon recorded, -1 while unknown (128+n for a signal n)
 * @param finishedAt when conmon recorded the exit, {@code null} while running
 * @param oomKilled conmon saw the memory cgroup kill a process for lack of memory
 */
public record ContainerState(
    String id,
    Status status,
    int pid,
    Instant createdAt,
    Instant finishedAt,
    int exitCode,
    boolean oomKilled) {

  /** OCI runtime status. */
  public enum Status { CREATED, RUNNING, STOPPED, PAUSED }

  /** When the container finished, if it did. */
  public Optional<Instant> finished() {
    return Optional.ofNullable(finishedAt);
  }
}
