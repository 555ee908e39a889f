package io.berth.image;

import io.berth.content.ContentStore;
import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.ErrorKind;
import io.berth.metadata.MetadataStore;
import io.berth.snapshot.Snapshotter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mark and sweep over the content store and the layer snapshots: whatever no recorded image references and no
 * container uses is removed. The caller holds the service's exclusive lock, so no pull or import is between writing a
 * blob or layer and recording its image.
 */
final class GarbageCollector {
  private static final Logger log = LoggerFactory.getLogger(GarbageCollector.class);

  private GarbageCollector() {}

  static GcResult collect(MetadataStore metadata, ContentStore content, Snapshotter snapshotter,
      Supplier<Set<Digest>> layersInUse) {
    Set<Digest> blobs = metadata.referencedBlobs();
    Set<Digest> layers = new HashSet<>(metadata.referencedChainIds());
    layers.addAll(layersInUse.get());
    List<Digest> blobsRemoved = new ArrayList<>();
    List<Digest> layersRemoved = new ArrayList<>();
    long freed = 0;
    for (Digest d : content.list()) {
      if (!blobs.contains(d)) {
        long size = sizeOrZero(content, d);
        content.delete(d);
        blobsRemoved.add(d);
        freed += size;
      }
    }
    for (Digest chainId : snapshotter.layers()) {
      if (!layers.contains(chainId)) {
        try {
          snapshotter.removeLayer(chainId);
          layersRemoved.add(chainId);
        } catch (BerthException e) {
          if (e.kind() != ErrorKind.FAILED_PRECONDITION) {
            throw e;
          }
          log.debug("layer {} is in use by an active snapshot; kept", chainId);
        }
      }
    }
    if (!blobsRemoved.isEmpty() || !layersRemoved.isEmpty()) {
      log.info("garbage collection removed {} blobs ({} bytes) and {} layers", blobsRemoved.size(), freed,
          layersRemoved.size());
    }
    return new GcResult(blobsRemoved, layersRemoved, freed);
  }

  private static long sizeOrZero(ContentStore content, Digest d) {
    try {
      return content.size(d);
    } catch (BerthException e) {
      return 0;
    }
  }
}
