package io.berth.image;

import io.berth.content.ContentStore;
import io.berth.core.BerthException;
import io.berth.core.Descriptor;
import io.berth.core.ImageRef;
import io.berth.registry.Credentials;
import io.berth.registry.RegistryClient;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;

/**
 * Makes one blob present in the content store, downloading it if needed. The content store's {@code ensure}
 * serializes per digest, so concurrent pulls sharing a blob download it once; the semaphore bounds the downloads of
 * one pull.
 */
final class FetchLayerStep implements Callable<Void> {
  private final ContentStore content;
  private final RegistryClient registry;
  private final ImageRef ref;
  private final Descriptor blob;
  private final Optional<Credentials> creds;
  private final Semaphore downloads;
  private final PullListener listener;

  FetchLayerStep(ContentStore content, RegistryClient registry, ImageRef ref, Descriptor blob,
      Optional<Credentials> creds, Semaphore downloads, PullListener listener) {
    this.content = content;
    this.registry = registry;
    this.ref = ref;
    this.blob = blob;
    this.creds = creds;
    this.downloads = downloads;
    this.listener = listener;
  }

  @Override
  public Void call() throws InterruptedException {
    if (content.contains(blob.digest())) {
      return null;
    }
    downloads.acquire();
    try {
      content.ensure(blob.digest(), blob.size(), ingest -> {
        listener.layer(blob.digest(), PullListener.LayerState.DOWNLOADING);
        registry.fetchBlob(ref, blob, creds, ingest, listener::bytes);
      });
    } catch (BerthException e) {
      throw BerthException.wrap(e, "fetch blob %s of %s", blob.digest(), ref);
    } finally {
      downloads.release();
    }
    listener.layer(blob.digest(), PullListener.LayerState.DOWNLOADED);
    return null;
  }
}
