package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.cri.api.AuthConfig;
import io.berth.cri.api.FilesystemIdentifier;
import io.berth.cri.api.FilesystemUsage;
import io.berth.cri.api.ImageFsInfoResponse;
import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.ImageStatusRequest;
import io.berth.cri.api.ImageStatusResponse;
import io.berth.cri.api.Int64Value;
import io.berth.cri.api.ListImagesRequest;
import io.berth.cri.api.ListImagesResponse;
import io.berth.cri.api.PullImageRequest;
import io.berth.cri.api.PullImageResponse;
import io.berth.cri.api.RemoveImageRequest;
import io.berth.cri.api.RemoveImageResponse;
import io.berth.cri.api.UInt64Value;
import io.berth.image.Image;
import io.berth.image.ImageService;
import io.berth.image.PullListener;
import io.berth.registry.Credentials;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The five CRI ImageService calls: thin mappings between CRI messages and {@link ImageService}. */
final class ImageHandlers {
  private static final Logger log = LoggerFactory.getLogger(ImageHandlers.class);

  private final ImageService images;
  private final CriMetrics metrics;

  ImageHandlers(ImageService images, CriMetrics metrics) {
    this.images = images;
    this.metrics = metrics;
  }

  PullImageResponse pull(PullImageRequest req) {
    String ref = requireRef(req.getImage());
    Image image = pull(ref, req.getAuth(), PullListener.NONE);
    // Like containerd, the returned reference is the image id, which every later call accepts.
    return PullImageResponse.newBuilder().setImageRef(image.id().toString()).build();
  }

  Image pull(String ref, AuthConfig auth, PullListener listener) {
    long start = System.nanoTime();
    Image image = images.pull(ref, credentials(auth), listener);
    metrics.pull(System.nanoTime() - start, image.size());
    return image;
  }

  ListImagesResponse list(ListImagesRequest req) {
    String filter = req.hasFilter() ? req.getFilter().getImage().getImage() : "";
    List<Image> found = filter.isEmpty() ? images.list() : images.find(filter).map(List::of).orElse(List.of());
    return ListImagesResponse.newBuilder().addAllImages(found.stream().map(ImageHandlers::toCri).toList()).build();
  }

  ImageStatusResponse status(ImageStatusRequest req) {
    String ref = requireRef(req.getImage());
    Optional<Image> image;
    try {
      image = images.find(ref);
    } catch (BerthException e) {
      // A reference that cannot name an image names no image: the CRI answer is an empty status, not an error.
      image = Optional.empty();
    }
    if (image.isEmpty()) {
      return ImageStatusResponse.getDefaultInstance();
    }
    ImageStatusResponse.Builder b = ImageStatusResponse.newBuilder().setImage(toCri(image.get()));
    if (req.getVerbose()) {
      Image i = image.get();
      b.putInfo("info", "{\"chainIDs\":" + jsonList(i.chainIds().stream().map(Object::toString).toList())
          + ",\"manifestDigest\":\"" + i.manifestDigest() + "\",\"imageSpec\":" + i.configJson() + "}");
    }
    return b.build();
  }

  RemoveImageResponse remove(RemoveImageRequest req) {
    String ref = requireRef(req.getImage());
    try {
      images.remove(ref);
    } catch (BerthException e) {
      if (e.kind() != io.berth.core.ErrorKind.NOT_FOUND) {
        throw e;
      }
    }
    return RemoveImageResponse.getDefaultInstance();
  }

  ImageFsInfoResponse fsInfo() {
    var usage = images.usage();
    FilesystemUsage fs = FilesystemUsage.newBuilder()
        .setTimestamp(System.currentTimeMillis() * 1_000_000L)
        .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(usage.mountpoint().toString()))
        .setUsedBytes(UInt64Value.newBuilder().setValue(usage.usedBytes()))
        .setInodesUsed(UInt64Value.newBuilder().setValue(usage.inodesUsed()))
        .build();
    return ImageFsInfoResponse.newBuilder().addImageFilesystems(fs).addContainerFilesystems(fs).build();
  }

  static io.berth.cri.api.Image toCri(Image i) {
    var b = io.berth.cri.api.Image.newBuilder()
        .setId(i.id().toString())
        .addAllRepoTags(i.repoTags())
        .addAllRepoDigests(i.repoDigests())
        .setSize(i.size())
        .setSpec(ImageSpec.newBuilder().setImage(i.id().toString()))
        .setPinned(i.pinned());
    String user = i.user().orElse("");
    String name = user.contains(":") ? user.substring(0, user.indexOf(':')) : user;
    if (!name.isEmpty()) {
      if (name.chars().allMatch(Character::isDigit)) {
        try {
          b.setUid(Int64Value.newBuilder().setValue(Long.parseLong(name)));
        } catch (NumberFormatException e) {
          log.debug("image {} has an out-of-range numeric user {}", i.id(), name);
        }
      } else {
        b.setUsername(name);
      }
    }
    return b.build();
  }

  static Optional<Credentials> credentials(AuthConfig a) {
    if (a.getUsername().isEmpty() && a.getPassword().isEmpty() && a.getAuth().isEmpty()
        && a.getIdentityToken().isEmpty() && a.getRegistryToken().isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new Credentials(a.getUsername(), a.getPassword(), a.getAuth(), a.getIdentityToken(),
        a.getRegistryToken()));
  }

  private static String requireRef(ImageSpec spec) {
    if (spec.getImage().isBlank()) {
      throw BerthException.invalidArgument("image reference is empty");
    }
    return spec.getImage();
  }

  private static String jsonList(List<String> items) {
    return items.stream().map(s -> "\"" + s + "\"").collect(Collectors.joining(",", "[", "]"));
  }
}
