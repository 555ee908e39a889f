package io.berth.image;

import io.berth.core.Descriptor;
import io.berth.core.Digest;
import java.util.List;

/**
 * Receives the progress of one pull, for a progress bar. Called from several virtual threads at once; must be
 * thread-safe and cheap. All methods default to doing nothing.
 */
public interface PullListener {
  PullListener NONE = new PullListener() {};

  /** What a layer is doing. {@code CACHED}: its blob and snapshot were already there. */
  enum LayerState { WAITING, DOWNLOADING, DOWNLOADED, UNPACKING, DONE, CACHED, FAILED }

  /**
   * The manifest is known: {@code layers} bottom-most first with their compressed sizes; {@code totalBytes} is the sum
   * of the config's and the layers' sizes.
   */
  default void resolved(String ref, Digest manifestDigest, List<Descriptor> layers, long totalBytes) {}

  /** A layer moved to {@code state}. */
  default void layer(Digest blob, LayerState state) {}

  /** {@code delta} bytes of {@code blob} arrived (negative when a download restarts from zero). */
  default void bytes(Digest blob, long delta) {}
}
