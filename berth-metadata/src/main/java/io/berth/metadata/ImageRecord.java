package io.berth.metadata;

import io.berth.core.Digest;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A stored image. {@code id} is the config digest (the CRI image id). {@code targetDigest} and {@code targetMediaType}
 * describe what the image's names resolve to (an index when pulled through one), {@code manifestDigest} the platform
 * manifest that was unpacked (equal to the target when there is no index). {@code size} is what CRI reports: config
 * plus compressed layers. {@code names} are full references, tags {@code repo:tag} and digests {@code repo@sha256:...},
 * sorted.
 */
public record ImageRecord(
    Digest id,
    Digest targetDigest,
    String targetMediaType,
    Digest manifestDigest,
    long size,
    String configJson,
    Instant created,
    boolean pinned,
    List<LayerRecord> layers,
    List<String> names) {

  public ImageRecord {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(targetDigest, "targetDigest");
    Objects.requireNonNull(targetMediaType, "targetMediaType");
    Objects.requireNonNull(manifestDigest, "manifestDigest");
    Objects.requireNonNull(configJson, "configJson");
    Objects.requireNonNull(created, "created");
    layers = List.copyOf(layers);
    names = names.stream().sorted().distinct().toList();
  }

  /** The same image with other names. */
  public ImageRecord withNames(List<String> newNames) {
    return new ImageRecord(id, targetDigest, targetMediaType, manifestDigest, size, configJson, created, pinned, layers,
        newNames);
  }
}
