package io.berth.image;

import io.berth.core.Digest;
import io.berth.metadata.ImageRecord;
import io.berth.metadata.LayerRecord;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Stored images as the CRI sees them. The parsed config is kept by image id: the id is the config's digest, so it
 * never changes, while parsing it again on every CreateContainer, ImageStatus and ListImages showed on the pod start
 * path. Names are not cached: tags move between images.
 */
final class ImageViews {
  /** Far more images than a node keeps; past it the cache starts over rather than tracking use. */
  private static final int MAX_CONFIGS = 1024;

  private final Map<Digest, Manifests.Config> configs = new ConcurrentHashMap<>();

  Image of(ImageRecord r) {
    Manifests.Config c = configs.get(r.id());
    if (c == null) {
      c = Manifests.parseConfig(r.configJson().getBytes(StandardCharsets.UTF_8), "config of image " + r.id());
      if (configs.size() >= MAX_CONFIGS) {
        configs.clear();
      }
      configs.put(r.id(), c);
    }
    List<String> tags = r.names().stream().filter(n -> !n.contains("@")).toList();
    List<String> digests = r.names().stream().filter(n -> n.contains("@")).toList();
    return new Image(r.id(), tags, digests, r.size(), c.user(), c.env(), c.entrypoint(), c.cmd(), c.workingDir(),
        c.volumes(), c.stopSignal(), c.labels(), c.exposedPorts(), c.os(), c.architecture(), c.created(),
        r.layers().stream().map(LayerRecord::chainId).toList(), r.layers().stream().map(LayerRecord::diffId).toList(),
        r.manifestDigest(), r.pinned(), r.configJson());
  }
}
