package io.berth.image;

import io.berth.core.BerthException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Settings of the image service (the {@code [image]} TOML section).
 *
 * <ul>
 *   <li>{@code root}: the service's own working directory (temp files of imports), created mode 0700.</li>
 *   <li>{@code maxConcurrentDownloads}: layer blobs fetched at once per pull. Default 3, containerd's and Docker's
 *       default: enough to keep a local or LAN registry's pipe full while a layer unpacks, few enough not to open
 *       a burst of connections per pull against a rate-limited registry.</li>
 *   <li>{@code maxConcurrentUnpacks}: layers unpacked at once per pull; default the number of CPUs (unpacking is
 *       decompression plus file creation, CPU and disk bound).</li>
 *   <li>{@code platform}: the platform pulled from an index; default the host's.</li>
 *   <li>{@code maxManifestBytes}: largest manifest or index accepted (default 4 MiB, containerd's limit).</li>
 *   <li>{@code maxConfigBytes}: largest image config accepted (default 16 MiB), and the bound on any JSON file read
 *       from an archive.</li>
 * </ul>
 */
public record ImageConfig(
    Path root,
    int maxConcurrentDownloads,
    int maxConcurrentUnpacks,
    Platform platform,
    long maxManifestBytes,
    long maxConfigBytes) {

  public static final int DEFAULT_MAX_CONCURRENT_DOWNLOADS = 3;
  public static final long DEFAULT_MAX_MANIFEST_BYTES = 4L << 20;
  public static final long DEFAULT_MAX_CONFIG_BYTES = 16L << 20;

  public ImageConfig {
    Objects.requireNonNull(root, "root");
    Objects.requireNonNull(platform, "platform");
    if (maxConcurrentDownloads < 1 || maxConcurrentUnpacks < 1) {
      throw BerthException.invalidArgument("image: max_concurrent_downloads and max_concurrent_unpacks must be >= 1");
    }
    if (maxManifestBytes < 1024 || maxConfigBytes < 1024) {
      throw BerthException.invalidArgument("image: max_manifest_bytes and max_config_bytes must be >= 1024");
    }
  }

  /** Every default, working in {@code root}. */
  public static ImageConfig defaults(Path root) {
    return new ImageConfig(root, DEFAULT_MAX_CONCURRENT_DOWNLOADS,
        Math.max(2, Runtime.getRuntime().availableProcessors()), Platform.host(), DEFAULT_MAX_MANIFEST_BYTES,
        DEFAULT_MAX_CONFIG_BYTES);
  }

  public ImageConfig withMaxConcurrentDownloads(int n) {
    return new ImageConfig(root, n, maxConcurrentUnpacks, platform, maxManifestBytes, maxConfigBytes);
  }

  public ImageConfig withPlatform(Platform p) {
    return new ImageConfig(root, maxConcurrentDownloads, maxConcurrentUnpacks, p, maxManifestBytes, maxConfigBytes);
  }

  public ImageConfig withMaxConfigBytes(long n) {
    return new ImageConfig(root, maxConcurrentDownloads, maxConcurrentUnpacks, platform, maxManifestBytes, n);
  }
}
