package io.berth.runtime;

import io.berth.core.BerthException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runtime handlers of a node: each configured handler is probed once at start (binary, {@code --version},
 * features, host conditions such as crun's hybrid-cgroup refusal) and served by its own {@link OciRuntime}.
 * Unusable handlers stay listed with the reason. Thread-safe.
 */
public final class Runtimes {
  private static final Logger log = LoggerFactory.getLogger(Runtimes.class);

  private final RuntimeConfig config;
  private final Map<String, HandlerStatus> statuses;
  private final Map<String, OciRuntime> runtimes;

  private Runtimes(RuntimeConfig config, Map<String, HandlerStatus> statuses, Map<String, OciRuntime> runtimes) {
    this.config = config;
    this.statuses = statuses;
    this.runtimes = runtimes;
  }

  /** Probes every handler and creates the state directories. */
  public static Runtimes create(RuntimeConfig config) {
    Map<String, HandlerStatus> statuses = new TreeMap<>();
    Map<String, OciRuntime> runtimes = new TreeMap<>();
    CgroupAttachPrimer primer = CgroupAttachPrimer.open(config.primeCgroupAttach(), Cgroups.ROOT,
        Path.of("/proc/self/cgroup"));
    for (RuntimeHandler h : config.handlers().values()) {
      HandlerStatus s = HandlerProbe.probe(h, config.conmonPath(), Path.of("/sys/fs/cgroup"));
      statuses.put(h.name(), s);
      if (s.usable()) {
        runtimes.put(h.name(), new ConmonRuntime(h, config.conmonPath(), config.stateDir(), config.cgroupDriver(),
            config.createTimeout(), s.gvisor(), primer));
        log.info("runtime handler {}: {} ({})", h.name(), h.binary(), s.version());
      } else {
        log.warn("runtime handler {} is unusable: {}", h.name(), s.reason());
      }
    }
    return new Runtimes(config, statuses, runtimes);
  }

  /**
   * The runtime of a handler ({@code ""} for the default). Unknown handler: INVALID_ARGUMENT; configured but
   * unusable: FAILED_PRECONDITION with the reason.
   */
  public OciRuntime get(String handler) {
    String name = handler == null || handler.isEmpty() ? config.defaultHandler() : handler;
    HandlerStatus s = statuses.get(name);
    if (s == null) {
      throw BerthException.invalidArgument("unknown runtime handler %s", name);
    }
    OciRuntime r = runtimes.get(name);
    if (r == null) {
      throw BerthException.failedPrecondition("runtime handler %s is unusable: %s", name, s.reason());
    }
    return r;
  }

  /** Every configured handler with what the probe found. */
  public List<HandlerStatus> handlers() {
    return new ArrayList<>(statuses.values());
  }

  /** The default handler's name. */
  public String defaultHandler() {
    return config.defaultHandler();
  }
}
