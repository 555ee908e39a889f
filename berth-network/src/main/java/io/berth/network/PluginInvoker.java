package io.berth.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.core.BerthException;
import io.berth.linux.Spawn;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one CNI plugin binary the way SPEC.md "Protocol" says: parameters in {@code CNI_*} environment variables,
 * the network configuration on stdin, a result or an error JSON on stdout. Thread-safe.
 */
final class PluginInvoker {
  private static final Logger log = LoggerFactory.getLogger(PluginInvoker.class);
  private static final int MAX_OUTPUT = 1 << 20;

  /** The parameters of one call. {@code netns} may be empty (DEL of a pod whose namespace is gone). */
  record Call(String command, String containerId, String netns, String ifName, String cniArgs) {}

  private final List<Path> pluginDirs;
  private final Duration timeout;
  /** berthd's environment without CNI_* variables, with a PATH: what every call adds its CNI_* to. */
  private final Map<String, String> baseEnv;

  PluginInvoker(List<Path> pluginDirs, Duration timeout) {
    this.pluginDirs = List.copyOf(pluginDirs);
    this.timeout = timeout;
    Map<String, String> env = new HashMap<>(System.getenv());
    env.keySet().removeIf(k -> k.startsWith("CNI_"));
    env.putIfAbsent("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    this.baseEnv = Map.copyOf(env);
  }

  /** The binary for a plugin type: the first executable {@code dir/type} in the plugin dirs. */
  Optional<Path> find(String type) {
    ConfList.checkPluginType("plugin lookup", type);
    for (Path dir : pluginDirs) {
      Path p = dir.resolve(type);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  String cniPath() {
    return pluginDirs.stream().map(Path::toString).collect(Collectors.joining(":"));
  }

  /**
   * Runs {@code type} and returns its stdout.
   *
   * @throws BerthException naming the plugin and the command: INVALID_ARGUMENT for configuration errors (CNI codes
   *     1, 2, 4, 6, 7), UNAVAILABLE for any other failure, a missing binary or a timeout
   */
  String invoke(String type, Call call, ObjectNode stdin) {
    Path binary = find(type).orElseThrow(() -> BerthException.unavailable(
        "CNI plugin %s %s: no executable %s in %s", type, call.command(), type, pluginDirs));
    Map<String, String> env = new HashMap<>(baseEnv);
    env.put(CniSpec.CNI_COMMAND, call.command());
    env.put(CniSpec.CNI_CONTAINERID, call.containerId());
    env.put(CniSpec.CNI_NETNS, call.netns());
    env.put(CniSpec.CNI_IFNAME, call.ifName());
    env.put(CniSpec.CNI_ARGS, call.cniArgs());
    env.put(CniSpec.CNI_PATH, cniPath());
    byte[] input;
    try {
      input = CniSpec.JSON.writeValueAsBytes(stdin);
    } catch (IOException e) {
      throw BerthException.internal(e, "encode config for CNI plugin %s", type);
    }
    long start = System.nanoTime();
    Spawn.Result r;
    try {
      // posix_spawn, no JDK helper process: two or three plugin runs are on the path of every pod start.
      r = Spawn.run(List.of(binary.toAbsolutePath().toString()), env, input, timeout, MAX_OUTPUT);
    } catch (IOException e) {
      throw BerthException.unavailable("CNI plugin %s %s: cannot start %s: %s", type, call.command(), binary,
          e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw BerthException.cancelled("interrupted while running CNI plugin %s %s", type, call.command());
    }
    if (r.timedOut()) {
      throw BerthException.unavailable("CNI plugin %s %s timed out after %s", type, call.command(), timeout);
    }
    int exit = r.exitCode();
    String stdout = new String(r.stdout(), StandardCharsets.UTF_8);
    String stderr = new String(r.stderr(), StandardCharsets.UTF_8).strip();
    log.debug("CNI plugin {} {} for {} exited {} in {} ms", type, call.command(), call.containerId(), exit,
        (System.nanoTime() - start) / 1_000_000);
    if (!stderr.isEmpty()) {
      log.debug("CNI plugin {} stderr: {}", type, stderr);
    }
    if (exit != 0) {
      throw failure(type, call.command(), exit, stdout, stderr);
    }
    return stdout;
  }

  /** Builds the error for a failed plugin from its CNI error JSON ({@code code}, {@code msg}, {@code details}). */
  static BerthException failure(String type, String command, int exit, String stdout, String stderr) {
    JsonNode err = null;
    try {
      err = stdout.isBlank() ? null : CniSpec.JSON.readTree(stdout);
    } catch (IOException e) {
      // not JSON: fall back to the raw output
    }
    if (err != null && err.isObject() && err.has("msg")) {
      int code = err.path("code").asInt(0);
      String msg = err.path("msg").asText();
      String details = err.path("details").asText("");
      String text = String.format("CNI plugin %s %s failed: %s%s (code %d)", type, command, msg,
          details.isEmpty() ? "" : ": " + details, code);
      return CniSpec.isConfigError(code) ? BerthException.invalidArgument("%s", text)
          : BerthException.unavailable("%s", text);
    }
    String raw = !stdout.isBlank() ? stdout.strip() : stderr;
    if (raw.length() > 2000) {
      raw = raw.substring(0, 2000) + "...";
    }
    return BerthException.unavailable("CNI plugin %s %s failed with exit status %d%s", type, command, exit,
        raw.isEmpty() ? "" : ": " + raw);
  }
}
