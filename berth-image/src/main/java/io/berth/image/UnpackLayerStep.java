package io.berth.image;

import io.berth.content.ContentStore;
import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.MediaTypes;
import io.berth.snapshot.Snapshotter;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;

/**
 * Unpacks one layer blob from the content store into its snapshot, keyed by chain ID. The snapshotter checks the
 * diff ID, unpacks atomically and dedupes concurrent unpacks of one chain ID; the semaphore bounds the unpacks of one
 * operation.
 */
final class UnpackLayerStep implements Callable<Void> {
  private final ContentStore content;
  private final Snapshotter snapshotter;
  private final String image;
  private final int index;
  private final Digest blob;
  private final String mediaType;
  private final Digest chainId;
  private final Digest diffId;
  private final Semaphore unpacks;

  UnpackLayerStep(ContentStore content, Snapshotter snapshotter, String image, int index, Digest blob,
      String mediaType, Digest chainId, Digest diffId, Semaphore unpacks) {
    this.content = content;
    this.snapshotter = snapshotter;
    this.image = image;
    this.index = index;
    this.blob = blob;
    this.mediaType = mediaType;
    this.chainId = chainId;
    this.diffId = diffId;
    this.unpacks = unpacks;
  }

  @Override
  public Void call() throws InterruptedException {
    if (snapshotter.hasLayer(chainId)) {
      return null;
    }
    unpacks.acquire();
    try (InputStream in = content.open(blob)) {
      snapshotter.applyLayer(chainId, in, MediaTypes.layerCompression(mediaType), diffId);
    } catch (IOException e) {
      throw BerthException.internal(e, "unpack layer %d (blob %s) of %s", index, blob, image);
    } catch (BerthException e) {
      throw BerthException.wrap(e, "unpack layer %d (blob %s) of %s", index, blob, image);
    } finally {
      unpacks.release();
    }
    return null;
  }
}
