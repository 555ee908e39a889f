package io.berth.registry;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Registry client settings: per-host config (mirrors, server override, TLS), a Docker {@code config.json} to read
 * credentials from, and the retry policy. A pull is cut only after {@code stallTimeout} without a byte, never by a
 * wall-clock cap; {@code maxRetries} bounds consecutive attempts that make no progress.
 */
public record RegistryConfig(
    Map<String, HostConfig> hosts,
    Optional<Path> dockerConfigJson,
    Duration stallTimeout,
    int maxRetries,
    Duration connectTimeout) {

  public static final Duration DEFAULT_STALL_TIMEOUT = Duration.ofSeconds(60);
  public static final int DEFAULT_MAX_RETRIES = 5;
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

  public RegistryConfig {
    hosts = hosts == null ? Map.of() : Map.copyOf(hosts);
    dockerConfigJson = Objects.requireNonNullElse(dockerConfigJson, Optional.empty());
    stallTimeout = Objects.requireNonNullElse(stallTimeout, DEFAULT_STALL_TIMEOUT);
    connectTimeout = Objects.requireNonNullElse(connectTimeout, DEFAULT_CONNECT_TIMEOUT);
    if (maxRetries < 0) {
      throw new IllegalArgumentException("maxRetries must be >= 0");
    }
    if (stallTimeout.isNegative() || stallTimeout.isZero()) {
      throw new IllegalArgumentException("stallTimeout must be positive");
    }
  }

  /** No host config, no config.json, 60 s stall timeout, 5 retries, 10 s connect timeout. */
  public static RegistryConfig defaults() {
    return new RegistryConfig(Map.of(), Optional.empty(), DEFAULT_STALL_TIMEOUT, DEFAULT_MAX_RETRIES,
        DEFAULT_CONNECT_TIMEOUT);
  }

  public RegistryConfig withHosts(Map<String, HostConfig> newHosts) {
    return new RegistryConfig(newHosts, dockerConfigJson, stallTimeout, maxRetries, connectTimeout);
  }

  public RegistryConfig withStallTimeout(Duration d) {
    return new RegistryConfig(hosts, dockerConfigJson, d, maxRetries, connectTimeout);
  }

  public RegistryConfig withMaxRetries(int n) {
    return new RegistryConfig(hosts, dockerConfigJson, stallTimeout, n, connectTimeout);
  }

  public RegistryConfig withDockerConfigJson(Path p) {
    return new RegistryConfig(hosts, Optional.of(p), stallTimeout, maxRetries, connectTimeout);
  }
}
