package io.berth.metadata;

import io.berth.core.Digest;
import java.util.Objects;

/**
 * One layer of an image, bottom-most first: its chain ID (the snapshot key), diff ID (sha256 of the uncompressed tar),
 * and the compressed blob it was unpacked from.
 */
public record LayerRecord(Digest chainId, Digest diffId, Digest blobDigest, String mediaType, long size) {
  public LayerRecord {
    Objects.requireNonNull(chainId, "chainId");
    Objects.requireNonNull(diffId, "diffId");
    Objects.requireNonNull(blobDigest, "blobDigest");
    Objects.requireNonNull(mediaType, "mediaType");
  }
}
