package io.berth.registry;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How to reach one registry host, in the spirit of containerd's {@code hosts.toml}. {@code mirrors} (base URLs such
 * as {@code http://127.0.0.1:5000} or {@code https://mirror.example/prefix}) are tried in order for pulls, then the
 * upstream host; {@code server}, if set, replaces upstream entirely (no fallback to the real host) and is also where
 * pushes go. Plain HTTP is used only for a URL that says {@code http://} and is loopback or whose host config is
 * {@code insecure}; {@code insecure} also skips TLS verification. Upstream without a server is
 * {@code https://<host>} ({@code https://registry-1.docker.io} for docker.io), or {@code http://<host>} when the
 * host is loopback or insecure. {@code caFiles} are PEM certificates trusted in addition to the JDK's.
 */
public record HostConfig(
    String host,
    List<String> mirrors,
    Optional<String> server,
    boolean insecure,
    List<Path> caFiles,
    Optional<Credentials> credentials) {

  public HostConfig {
    Objects.requireNonNull(host, "host");
    mirrors = mirrors == null ? List.of() : List.copyOf(mirrors);
    server = Objects.requireNonNullElse(server, Optional.empty());
    caFiles = caFiles == null ? List.of() : List.copyOf(caFiles);
    credentials = Objects.requireNonNullElse(credentials, Optional.empty());
  }

  /** A host with nothing configured. */
  public static HostConfig of(String host) {
    return new HostConfig(host, List.of(), Optional.empty(), false, List.of(), Optional.empty());
  }

  public HostConfig withMirrors(List<String> m) {
    return new HostConfig(host, m, server, insecure, caFiles, credentials);
  }

  public HostConfig withServer(String s) {
    return new HostConfig(host, mirrors, Optional.of(s), insecure, caFiles, credentials);
  }

  public HostConfig withInsecure(boolean i) {
    return new HostConfig(host, mirrors, server, i, caFiles, credentials);
  }

  public HostConfig withCaFiles(List<Path> files) {
    return new HostConfig(host, mirrors, server, insecure, files, credentials);
  }

  public HostConfig withCredentials(Credentials c) {
    return new HostConfig(host, mirrors, server, insecure, caFiles, Optional.of(c));
  }
}
