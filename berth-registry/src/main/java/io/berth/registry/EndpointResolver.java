package io.berth.registry;

import io.berth.core.BerthException;
import io.berth.core.ImageRef;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.HostnameVerifier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Turns a registry host into the ordered list of endpoints to try, after containerd's {@code hosts.toml} rules:
 * mirrors in order, then upstream; or only {@code server} when set. Pushes never go to mirrors. Plain HTTP only for
 * loopback or insecure hosts. Builds and caches one TLS socket factory per host config (JDK trust store plus the
 * host's CA files), so keep-alive connections are pooled per factory.
 */
final class EndpointResolver {
  static final String DOCKER_HUB_UPSTREAM = "https://registry-1.docker.io";

  private final Map<String, HostConfig> hosts;
  private final Map<String, List<Endpoint>> pull = new ConcurrentHashMap<>();
  private final Map<String, List<Endpoint>> push = new ConcurrentHashMap<>();

  EndpointResolver(Map<String, HostConfig> hosts) {
    this.hosts = hosts;
    // Validate every configured host now, so a bad URL is reported at start, naming the host.
    hosts.keySet().forEach(h -> {
      pullEndpoints(h);
      pushEndpoints(h);
    });
  }

  Optional<HostConfig> hostConfig(String registry) {
    return Optional.ofNullable(hosts.get(registry));
  }

  List<Endpoint> pullEndpoints(ImageRef ref) {
    return pullEndpoints(ref.registry());
  }

  List<Endpoint> pushEndpoints(ImageRef ref) {
    return pushEndpoints(ref.registry());
  }

  private List<Endpoint> pullEndpoints(String registry) {
    return pull.computeIfAbsent(registry, r -> build(r, true));
  }

  private List<Endpoint> pushEndpoints(String registry) {
    return push.computeIfAbsent(registry, r -> build(r, false));
  }

  private List<Endpoint> build(String registry, boolean withMirrors) {
    HostConfig hc = hosts.getOrDefault(registry, HostConfig.of(registry));
    TlsSettings tls = tlsFor(hc);
    List<Endpoint> out = new ArrayList<>();
    if (withMirrors) {
      for (String m : hc.mirrors()) {
        out.add(endpoint(registry, hc, m, true, tls));
      }
    }
    if (hc.server().isPresent()) {
      out.add(endpoint(registry, hc, hc.server().get(), false, tls));
    } else {
      String upstream;
      if (registry.equals(ImageRef.DOCKER_HUB)) {
        upstream = DOCKER_HUB_UPSTREAM;
      } else {
        upstream = (isLoopback(hostOf(registry)) || hc.insecure() ? "http://" : "https://") + registry;
      }
      out.add(endpoint(registry, hc, upstream, false, tls));
    }
    return List.copyOf(out);
  }

  private static Endpoint endpoint(String registry, HostConfig hc, String url, boolean mirror, TlsSettings tls) {
    URI u;
    try {
      u = URI.create(url.strip());
    } catch (IllegalArgumentException e) {
      throw BerthException.invalidArgument("registry host %s: bad URL %s: %s", registry, url, e.getMessage());
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (u.getHost() == null || !(scheme.equals("http") || scheme.equals("https"))) {
      throw BerthException.invalidArgument("registry host %s: URL %s must be http:// or https:// with a host", registry,
          url);
    }
    if (scheme.equals("http") && !hc.insecure() && !isLoopback(u.getHost())) {
      throw BerthException.invalidArgument(
          "registry host %s: plain HTTP to %s is allowed only for loopback or hosts marked insecure", registry, url);
    }
    String path = u.getRawPath() == null ? "" : u.getRawPath();
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    if (!path.endsWith("/v2")) {
      path = path + "/v2";
    }
    URI base = URI.create(scheme + "://" + u.getRawAuthority() + path);
    String authority = u.getRawAuthority();
    return new Endpoint(base, authority, mirror, hc.insecure(), tls.factory(), tls.hostnames());
  }

  static String hostOf(String authority) {
    if (authority.startsWith("[")) {
      int end = authority.indexOf(']');
      return authority.substring(1, end < 0 ? authority.length() : end);
    }
    int colon = authority.lastIndexOf(':');
    return colon < 0 ? authority : authority.substring(0, colon);
  }

  /** localhost, 127.0.0.0/8 and ::1, without a DNS lookup for other names. */
  static boolean isLoopback(String host) {
    String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    if (h.equalsIgnoreCase("localhost")) {
      return true;
    }
    if (!h.matches("[0-9.]+") && !h.contains(":")) {
      return false;
    }
    try {
      return InetAddress.getByName(h).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private record TlsSettings(Optional<SSLSocketFactory> factory, Optional<HostnameVerifier> hostnames) {}

  private static TlsSettings tlsFor(HostConfig hc) {
    try {
      if (hc.insecure()) {
        // insecure = containerd's skip_verify: TLS without certificate or host name checks.
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new TrustAll()}, null);
        return new TlsSettings(Optional.of(ctx.getSocketFactory()), Optional.of((h, s) -> true));
      }
      if (hc.caFiles().isEmpty()) {
        return new TlsSettings(Optional.empty(), Optional.empty());
      }
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int n = 0;
      TrustManagerFactory defaults = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      defaults.init((KeyStore) null);
      for (TrustManager tm : defaults.getTrustManagers()) {
        if (tm instanceof X509TrustManager x) {
          for (X509Certificate c : x.getAcceptedIssuers()) {
            ks.setCertificateEntry("jdk-" + n++, c);
          }
        }
      }
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      for (Path p : hc.caFiles()) {
        try (InputStream in = Files.newInputStream(p)) {
          for (Certificate c : cf.generateCertificates(in)) {
            ks.setCertificateEntry("ca-" + n++, c);
          }
        } catch (IOException e) {
          throw BerthException.invalidArgument("registry host %s: cannot read CA file %s: %s", hc.host(), p,
              e.getMessage());
        }
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return new TlsSettings(Optional.of(ctx.getSocketFactory()), Optional.empty());
    } catch (GeneralSecurityException | IOException e) {
      throw BerthException.invalidArgument("registry host %s: cannot set up TLS: %s", hc.host(), e.getMessage());
    }
  }

  private static final class TrustAll implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
