package io.berth.image;

import io.berth.content.ContentStore;
import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.ImageRef;
import io.berth.metadata.ImageRecord;
import io.berth.metadata.LayerRecord;
import io.berth.metadata.MetadataStore;
import io.berth.registry.Credentials;
import io.berth.registry.RegistryClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pushes one image: every layer blob and the config the registry lacks, then the platform manifest under the target's
 * tag (or digest). The manifest goes last so the registry never holds a manifest whose blobs are missing
 * (distribution spec, "Pushing manifests").
 */
final class ImagePusher {
  private static final Logger log = LoggerFactory.getLogger(ImagePusher.class);

  private final ContentStore content;
  private final RegistryClient registry;
  private final MetadataStore metadata;

  ImagePusher(ContentStore content, RegistryClient registry, MetadataStore metadata) {
    this.content = content;
    this.registry = registry;
    this.metadata = metadata;
  }

  void push(Digest imageId, ImageRef target, Optional<Credentials> creds) {
    ImageRecord img = metadata.image(imageId).orElseThrow(() -> BerthException.notFound("image %s not found", imageId));
    List<Digest> blobs = new ArrayList<>();
    for (LayerRecord l : img.layers()) {
      blobs.add(l.blobDigest());
    }
    blobs.add(img.id());
    for (Digest blob : blobs) {
      if (!content.contains(blob)) {
        throw BerthException.notFound("blob %s of image %s is not in the content store; pull the image again", blob,
            imageId);
      }
      if (registry.blobExists(target, blob, creds)) {
        continue;
      }
      registry.pushBlob(target, blob, content.size(blob), content.blobPath(blob), creds);
    }
    byte[] manifest = content.readAll(img.manifestDigest(), ImageConfig.DEFAULT_MAX_MANIFEST_BYTES * 4);
    String mediaType = Manifests.mediaType(manifest, "", "manifest " + img.manifestDigest() + " of image " + imageId);
    String reference = target.digest().map(Digest::toString).orElseGet(() -> target.tag().orElseThrow());
    if (target.digest().isPresent() && !target.digest().get().equals(img.manifestDigest())) {
      throw BerthException.invalidArgument("target digest %s is not the image's manifest digest %s",
          target.digest().get(), img.manifestDigest());
    }
    registry.pushManifest(target, reference, mediaType, manifest, creds);
    log.info("pushed image {} to {}", imageId, target);
  }
}
