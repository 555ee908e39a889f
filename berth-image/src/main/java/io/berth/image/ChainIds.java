package io.berth.image;

import io.berth.core.Digest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Chain IDs per the OCI image spec (config.md, "Layer ChainID"): {@code ChainID(L0) = DiffID(L0)} and
 * {@code ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))}.
 */
final class ChainIds {
  private ChainIds() {}

  static List<Digest> of(List<Digest> diffIds) {
    List<Digest> out = new ArrayList<>(diffIds.size());
    Digest prev = null;
    for (Digest diffId : diffIds) {
      prev = prev == null ? diffId : Digest.sha256((prev + " " + diffId).getBytes(StandardCharsets.US_ASCII));
      out.add(prev);
    }
    return List.copyOf(out);
  }
}
