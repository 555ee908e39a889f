package io.berth.core;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A normalized image reference, as Docker's distribution/reference grammar defines it: {@code docker.io} is the
 * default registry, {@code library/} the default namespace on it, and {@code latest} the default tag when neither a
 * tag nor a digest is given. Both a tag and a digest may be present ({@code name:tag@sha256:...}); the digest wins
 * for fetching.
 */
public record ImageRef(String registry, String repository, Optional<String> tag, Optional<Digest> digest) {
  public static final String DOCKER_HUB = "docker.io";

  private static final Pattern PATH_COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*");
  private static final Pattern DOMAIN =
      Pattern.compile("(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
          + "(?::[0-9]+)?|\\[[0-9a-fA-F:]+\\](?::[0-9]+)?");
  private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");

  public ImageRef {
    if (tag.isEmpty() && digest.isEmpty()) {
      tag = Optional.of("latest");
    }
  }

  /** Parses and normalizes a reference; throws INVALID_ARGUMENT with the reason on bad input. */
  public static ImageRef parse(String ref) {
    if (ref == null || ref.isBlank()) {
      throw BerthException.invalidArgument("image reference is empty");
    }
    String rest = ref.trim();
    Optional<Digest> digest = Optional.empty();
    int at = rest.indexOf('@');
    if (at >= 0) {
      try {
        digest = Optional.of(Digest.parse(rest.substring(at + 1)));
      } catch (BerthException e) {
        throw BerthException.invalidArgument("invalid image reference %s: %s", ref, e.getMessage());
      }
      rest = rest.substring(0, at);
    }
    Optional<String> tag = Optional.empty();
    int slash = rest.lastIndexOf('/');
    int colon = rest.lastIndexOf(':');
    if (colon > slash) {
      String t = rest.substring(colon + 1);
      if (!TAG.matcher(t).matches()) {
        throw BerthException.invalidArgument("invalid image reference %s: bad tag %s", ref, t);
      }
      tag = Optional.of(t);
      rest = rest.substring(0, colon);
    }
    String registry;
    String path;
    int first = rest.indexOf('/');
    String head = first < 0 ? "" : rest.substring(0, first);
    if (first >= 0 && (head.contains(".") || head.contains(":") || head.equals("localhost") || head.startsWith("["))) {
      registry = head;
      path = rest.substring(first + 1);
      if (!DOMAIN.matcher(registry).matches()) {
        throw BerthException.invalidArgument("invalid image reference %s: bad registry %s", ref, registry);
      }
    } else {
      registry = DOCKER_HUB;
      path = rest;
    }
    if (registry.equals("index.docker.io") || registry.equals("registry-1.docker.io")) {
      registry = DOCKER_HUB;
    }
    if (registry.equals(DOCKER_HUB) && !path.contains("/")) {
      path = "library/" + path;
    }
    if (path.isEmpty()) {
      throw BerthException.invalidArgument("invalid image reference %s: no repository", ref);
    }
    for (String component : path.split("/", -1)) {
      if (!PATH_COMPONENT.matcher(component).matches()) {
        throw BerthException.invalidArgument(
            "invalid image reference %s: repository component '%s' must be lowercase letters, digits and separators",
            ref, component);
      }
    }
    if (registry.length() + 1 + path.length() > 255) {
      throw BerthException.invalidArgument("invalid image reference %s: name longer than 255 characters", ref);
    }
    return new ImageRef(registry, path, tag, digest);
  }

  /** {@code registry/repository}, e.g. {@code docker.io/library/busybox}. */
  public String name() {
    return registry + "/" + repository;
  }

  /** The reference to fetch: the digest if there is one, else the tag. */
  public String reference() {
    return digest.map(Digest::toString).orElseGet(() -> tag.orElseThrow());
  }

  /** {@code name:tag}, if tagged. */
  public Optional<String> tagged() {
    return tag.map(t -> name() + ":" + t);
  }

  /** This reference pinned to a digest: {@code name@digest}. */
  public String withDigest(Digest d) {
    return name() + "@" + d;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(name());
    tag.ifPresent(t -> sb.append(':').append(t));
    digest.ifPresent(d -> sb.append('@').append(d));
    return sb.toString();
  }
}
