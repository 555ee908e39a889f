package io.berth.image;

import io.berth.core.Digest;
import java.util.List;

/** What one garbage collection removed: blobs from the content store and layer snapshots; {@code bytesFreed} counts the blobs. */
public record GcResult(List<Digest> blobsRemoved, List<Digest> layersRemoved, long bytesFreed) {
  public GcResult {
    blobsRemoved = List.copyOf(blobsRemoved);
    layersRemoved = List.copyOf(layersRemoved);
  }
}
