package io.berth.image;

import io.berth.core.Digest;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An image as CRI and the runtime see it. {@code id} is the config digest; {@code repoTags} ({@code name:tag}) and
 * {@code repoDigests} ({@code name@sha256:...}) are full normalized references; {@code size} is the config plus the
 * compressed layers, as containerd reports it. The {@code ImageSpec} fields come from the config's {@code config}
 * object (empty when absent). {@code chainIds} are the layer snapshots, bottom-most first, ready for
 * {@code Snapshotter.prepare}. {@code manifestDigest} is the platform manifest that was unpacked.
 */
public record Image(
    Digest id,
    List<String> repoTags,
    List<String> repoDigests,
    long size,
    Optional<String> user,
    List<String> env,
    List<String> entrypoint,
    List<String> cmd,
    Optional<String> workingDir,
    List<String> volumes,
    Optional<String> stopSignal,
    Map<String, String> labels,
    List<String> exposedPorts,
    String os,
    String architecture,
    Optional<Instant> created,
    List<Digest> chainIds,
    List<Digest> diffIds,
    Digest manifestDigest,
    boolean pinned,
    String configJson) {

  public Image {
    repoTags = List.copyOf(repoTags);
    repoDigests = List.copyOf(repoDigests);
    env = List.copyOf(env);
    entrypoint = List.copyOf(entrypoint);
    cmd = List.copyOf(cmd);
    volumes = List.copyOf(volumes);
    labels = Map.copyOf(labels);
    exposedPorts = List.copyOf(exposedPorts);
    chainIds = List.copyOf(chainIds);
    diffIds = List.copyOf(diffIds);
  }
}
