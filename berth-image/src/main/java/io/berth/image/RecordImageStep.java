package io.berth.image;

import io.berth.core.Descriptor;
import io.berth.core.Digest;
import io.berth.metadata.ImageRecord;
import io.berth.metadata.LayerRecord;
import io.berth.metadata.MetadataStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records a fully unpacked image in the metadata store, in one transaction: its row, layers and names. Names other
 * images held move here; an image left without any name is deleted (containerd CRI lists an untagged image only
 * while a digest reference still names it).
 */
final class RecordImageStep {
  private static final Logger log = LoggerFactory.getLogger(RecordImageStep.class);

  private RecordImageStep() {}

  static ImageRecord record(MetadataStore metadata, List<String> names, Descriptor target, Digest manifestDigest,
      Manifests.Manifest manifest, Manifests.Config config, List<Digest> chainIds, String configJson) {
    List<LayerRecord> layers = new ArrayList<>();
    long size = manifest.config().size();
    for (int i = 0; i < manifest.layers().size(); i++) {
      Descriptor l = manifest.layers().get(i);
      layers.add(new LayerRecord(chainIds.get(i), config.diffIds().get(i), l.digest(), l.mediaType(), l.size()));
      size += l.size();
    }
    Digest id = manifest.config().digest();
    boolean pinned = metadata.image(id).map(ImageRecord::pinned).orElse(false);
    ImageRecord rec = new ImageRecord(id, target.digest(), target.mediaType(), manifestDigest, size, configJson,
        Instant.now(), pinned, layers, names);
    List<Digest> orphaned = metadata.putImage(rec);
    for (Digest o : orphaned) {
      log.info("image {} lost its last name to {} and was removed", o, id);
    }
    return metadata.image(id).orElseThrow();
  }
}
