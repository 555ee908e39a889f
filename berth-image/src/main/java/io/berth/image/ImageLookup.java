package io.berth.image;

import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.ImageRef;
import io.berth.metadata.MetadataStore;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How a user's string names an image, in the order containerd CRI and crictl users expect: a full id
 * ({@code sha256:<hex>}) or its bare hex, a reference (normalized: {@code busybox} is
 * {@code docker.io/library/busybox:latest}; {@code name@sha256:...} by digest), then a unique id prefix of at least
 * {@value #MIN_PREFIX} hex digits. An ambiguous prefix is INVALID_ARGUMENT rather than a guess.
 */
final class ImageLookup {
  static final int MIN_PREFIX = 4;
  private static final Pattern HEX = Pattern.compile("[0-9a-f]+");

  private ImageLookup() {}

  static Optional<Digest> find(MetadataStore metadata, String refOrId) {
    if (refOrId == null || refOrId.isBlank()) {
      return Optional.empty();
    }
    String s = refOrId.strip();
    if (Digest.isDigest(s)) {
      Digest d = Digest.parse(s);
      return metadata.image(d).map(r -> d);
    }
    if (s.length() == 64 && HEX.matcher(s).matches()) {
      Digest d = new Digest("sha256", s);
      if (metadata.image(d).isPresent()) {
        return Optional.of(d);
      }
    }
    Optional<ImageRef> ref = parse(s);
    if (ref.isPresent()) {
      ImageRef r = ref.get();
      Optional<Digest> byName = r.digest().isPresent()
          ? metadata.imageIdByName(r.withDigest(r.digest().get()))
          : metadata.imageIdByName(r.tagged().orElseThrow());
      if (byName.isPresent()) {
        return byName;
      }
    }
    String prefix = s.startsWith("sha256:") ? s.substring(7) : s;
    if (prefix.length() >= MIN_PREFIX && prefix.length() <= 64 && HEX.matcher(prefix).matches()) {
      List<Digest> ids = metadata.imageIdsByPrefix(prefix);
      if (ids.size() > 1) {
        throw BerthException.invalidArgument("image id prefix %s is ambiguous: it matches %d images", prefix,
            ids.size());
      }
      return ids.stream().findFirst();
    }
    return Optional.empty();
  }

  private static Optional<ImageRef> parse(String s) {
    try {
      return Optional.of(ImageRef.parse(s));
    } catch (BerthException e) {
      return Optional.empty();
    }
  }
}
