package io.berth.registry;

import java.net.URI;
import java.util.Optional;
import javax.net.ssl.HostnameVerifier;
import javax.net.ssl.SSLSocketFactory;

/**
 * One place to talk to for a registry: {@code base} is the URL of its {@code /v2} root, {@code authority} the
 * host[:port] credentials and tokens are looked up under, {@code mirror} whether it is a pull-only mirror.
 */
record Endpoint(URI base, String authority, boolean mirror, boolean insecure, Optional<SSLSocketFactory> tls,
    Optional<HostnameVerifier> hostnames) {

  /** {@code base + "/" + path}, path without a leading slash. */
  URI resolve(String path) {
    return URI.create(base.toString() + "/" + path);
  }

  @Override
  public String toString() {
    return base.toString();
  }
}
