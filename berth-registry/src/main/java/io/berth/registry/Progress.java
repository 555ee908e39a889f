package io.berth.registry;

import io.berth.core.Digest;

/**
 * Receives download progress of blobs. {@code delta} is negative when a transfer restarts from zero (a server that
 * ignored a Range request). Called on the downloading thread; must be cheap and thread-safe.
 */
@FunctionalInterface
public interface Progress {
  Progress NONE = (blob, delta) -> {};

  void bytes(Digest blob, long delta);
}
