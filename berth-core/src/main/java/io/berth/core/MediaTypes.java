package io.berth.core;

import java.util.Set;

/**
 * Media types of the OCI image spec and Docker's image manifest v2 schema 2, the two families Berth reads.
 * See https://github.com/opencontainers/image-spec/blob/main/media-types.md.
 */
public final class MediaTypes {
  private MediaTypes() {}

  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  public static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
  public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
  public static final String OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
  public static final String OCI_LAYER_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar";
  public static final String OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
  public static final String OCI_LAYER_NONDIST_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
  public static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";

  public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
  public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
  public static final String DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
  public static final String DOCKER_LAYER_FOREIGN_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
  public static final String DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd";

  /** The manifest types Berth asks a registry for, in order of preference (the HTTP Accept header). */
  public static final Set<String> MANIFESTS = Set.of(OCI_MANIFEST, DOCKER_MANIFEST);
  public static final Set<String> INDEXES = Set.of(OCI_INDEX, DOCKER_MANIFEST_LIST);

  /** Compression of a layer blob, derived from its media type. */
  public enum Compression { NONE, GZIP, ZSTD }

  public static boolean isManifest(String mediaType) {
    return MANIFESTS.contains(mediaType);
  }

  public static boolean isIndex(String mediaType) {
    return INDEXES.contains(mediaType);
  }

  public static boolean isLayer(String mediaType) {
    return mediaType.startsWith("application/vnd.oci.image.layer.")
        || mediaType.startsWith("application/vnd.docker.image.rootfs.");
  }

  /** The compression of a layer media type; INVALID_ARGUMENT for a type that is not a known layer. */
  public static Compression layerCompression(String mediaType) {
    return switch (mediaType) {
      case OCI_LAYER, OCI_LAYER_NONDIST -> Compression.NONE;
      case OCI_LAYER_GZIP, OCI_LAYER_NONDIST_GZIP, DOCKER_LAYER_GZIP, DOCKER_LAYER_FOREIGN_GZIP -> Compression.GZIP;
      case OCI_LAYER_ZSTD, OCI_LAYER_NONDIST_ZSTD, DOCKER_LAYER_ZSTD -> Compression.ZSTD;
      default -> throw BerthException.invalidArgument("unsupported layer media type %s", mediaType);
    };
  }
}
