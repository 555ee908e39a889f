package io.berth.runtime;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The {@code [runtime]} configuration.
 *
 * @param stateDir where conmon's per-container directories, exit files and attach sockets live
 * @param conmonPath the conmon binary
 * @param handlers handlers by name
 * @param defaultHandler the handler used when the CRI names none
 * @param cgroupDriver {@code cgroupfs} or {@code systemd}
 * @param createTimeout how long a create (conmon + runtime create) may take
 * @param primeCgroupAttach whether to start the kernel wait of the runtime's cgroup move ahead of it (see
 *     {@link CgroupAttachPrimer})
 */
public record RuntimeConfig(
    Path stateDir,
    Path conmonPath,
    Map<String, RuntimeHandler> handlers,
    String defaultHandler,
    String cgroupDriver,
    Duration createTimeout,
    boolean primeCgroupAttach) {

  /** With cgroup attach priming on. */
  public RuntimeConfig(Path stateDir, Path conmonPath, Map<String, RuntimeHandler> handlers, String defaultHandler,
      String cgroupDriver, Duration createTimeout) {
    this(stateDir, conmonPath, handlers, defaultHandler, cgroupDriver, createTimeout, true);
  }

  public RuntimeConfig {
    handlers = Map.copyOf(handlers);
    if (!handlers.containsKey(defaultHandler)) {
      throw new IllegalArgumentException("default handler " + defaultHandler + " is not configured");
    }
    if (createTimeout == null) {
      createTimeout = Duration.ofMinutes(2);
    }
  }
}
