package io.berth.oci;

import java.util.List;
import java.util.Map;

/**
 * What spec generation needs from an OCI image config
 * (https://github.com/opencontainers/image-spec/blob/main/config.md): strings as the image wrote them.
 *
 * @param user {@code ""}, {@code uid}, {@code uid:gid}, {@code name}, {@code name:group} (any mix)
 * @param env {@code KEY=value} entries
 * @param stopSignal signal name such as {@code SIGTERM}, or {@code ""}
 */
public record ImageConfigView(
    String user,
    List<String> env,
    List<String> entrypoint,
    List<String> cmd,
    String workingDir,
    List<String> volumes,
    String stopSignal,
    Map<String, String> labels) {

  public ImageConfigView {
    user = user == null ? "" : user;
    env = env == null ? List.of() : List.copyOf(env);
    entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
    cmd = cmd == null ? List.of() : List.copyOf(cmd);
    workingDir = workingDir == null ? "" : workingDir;
    volumes = volumes == null ? List.of() : List.copyOf(volumes);
    stopSignal = stopSignal == null ? "" : stopSignal;
    labels = labels == null ? Map.of() : Map.copyOf(labels);
  }

  /** An image config with nothing set. */
  public static ImageConfigView empty() {
    return new ImageConfigView("", List.of(), List.of(), List.of(), "", List.of(), "", Map.of());
  }
}
