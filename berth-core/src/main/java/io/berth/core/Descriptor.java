package io.berth.core;

import java.util.Map;

/**
 * An OCI content descriptor: what a manifest or index says about a blob it points at. The size is a claim until
 * the blob has been read and checked.
 */
public record Descriptor(String mediaType, Digest digest, long size, Map<String, String> annotations) {
  public Descriptor {
    if (size < 0) {
      throw BerthException.invalidArgument("descriptor %s has negative size %d", digest, size);
    }
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  public Descriptor(String mediaType, Digest digest, long size) {
    this(mediaType, digest, size, Map.of());
  }
}
