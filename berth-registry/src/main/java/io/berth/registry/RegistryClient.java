package io.berth.registry;

import io.berth.content.Ingest;
import io.berth.core.BerthException;
import io.berth.core.Descriptor;
import io.berth.core.Digest;
import io.berth.core.ImageRef;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Talks to OCI distribution registries: resolves manifests and indexes, streams blobs into the content store, checks
 * and pushes blobs and manifests. Each call tries the host's endpoints in order (mirrors, then upstream, or only the
 * configured server; see {@link HostConfig}) and moves to the next endpoint when one fails; the error of the last
 * endpoint is thrown, naming the image and endpoint. Errors: NOT_FOUND for an unknown manifest, blob or repository;
 * UNAUTHENTICATED when credentials are missing or refused after the token dance; UNAVAILABLE when the registry cannot
 * be reached or keeps failing after retries; INVALID_ARGUMENT for content that does not match its digest or size.
 * Blocking; thread-safe; meant to be called from virtual threads.
 */
public final class RegistryClient {
  private static final Logger log = LoggerFactory.getLogger(RegistryClient.class);
  /** Manifests and indexes larger than this are refused when resolving (containerd uses the same bound). */
  public static final long MAX_MANIFEST_BYTES = 4L << 20;

  private final RegistryConfig config;
  private final EndpointResolver endpoints;
  private final ManifestResolver manifests;
  private final BlobFetcher blobs;
  private final BlobChecker checker;
  private final BlobPusher pusher;
  private final ManifestPusher manifestPusher;

  private RegistryClient(RegistryConfig config) {
    this.config = config;
    this.endpoints = new EndpointResolver(config.hosts());
    HttpTransport transport = new HttpTransport(config.connectTimeout(), config.stallTimeout());
    TokenAuthenticator auth = new TokenAuthenticator(transport, Clock.systemUTC());
    this.manifests = new ManifestResolver(auth, config.maxRetries());
    this.blobs = new BlobFetcher(auth, transport, config.maxRetries());
    this.checker = new BlobChecker(auth, config.maxRetries());
    this.pusher = new BlobPusher(auth, checker, config.maxRetries());
    this.manifestPusher = new ManifestPusher(auth, config.maxRetries());
  }

  /** Creates a client; INVALID_ARGUMENT if a host config is unusable (bad URL, plain HTTP not allowed, bad CA). */
  public static RegistryClient create(RegistryConfig config) {
    return new RegistryClient(config);
  }

  public RegistryConfig config() {
    return config;
  }

  /**
   * GETs the manifest or index {@code ref} names (its digest if it has one, else its tag), at most
   * {@link #MAX_MANIFEST_BYTES}. By digest the body is verified against it; by tag the digest is the registry's
   * {@code Docker-Content-Digest} (checked against the body) or the body's sha256.
   */
  public Resolved resolve(ImageRef ref, Optional<Credentials> creds) {
    return onPullEndpoints(ref, creds, "pull",
        s -> manifests.resolve(s, ref.reference(), ref.digest(), MAX_MANIFEST_BYTES));
  }

  /** GETs a manifest by digest (an index's child) and verifies it; RESOURCE_EXHAUSTED over {@code maxBytes}. */
  public byte[] fetchManifest(ImageRef ref, Digest digest, Optional<Credentials> creds, long maxBytes) {
    return onPullEndpoints(ref, creds, "pull",
        s -> manifests.resolve(s, digest.toString(), Optional.of(digest), maxBytes).manifest());
  }

  /**
   * Streams a blob into {@code into}, continuing from {@code into.offset()}. Returns when the ingest holds
   * {@code blob.size()} bytes; the caller commits it (which checks the digest). Retries and resumes as described in
   * {@link RegistryConfig}; on failure the ingest may hold a prefix, which the caller discards by closing it.
   */
  public void fetchBlob(ImageRef ref, Descriptor blob, Optional<Credentials> creds, Ingest into, Progress progress) {
    onPullEndpoints(ref, creds, "pull", s -> {
      blobs.fetch(s, blob, into, progress);
      return null;
    });
  }

  /** True if the registry has the blob (HEAD); follows the same endpoint order as pulls. */
  public boolean blobExists(ImageRef ref, Digest digest, Optional<Credentials> creds) {
    return onPullEndpoints(ref, creds, "pull", s -> checker.exists(s, digest));
  }

  /** Uploads a blob from a file unless the registry already has it. Pushes never go to mirrors. */
  public void pushBlob(ImageRef ref, Digest digest, long size, Path file, Optional<Credentials> creds) {
    Endpoint ep = endpoints.pushEndpoints(ref).getLast();
    pusher.push(session(ref, ep, "pull,push", creds), digest, size, file);
  }

  /** PUTs a manifest or index under a tag or digest. Pushes never go to mirrors. */
  public void pushManifest(ImageRef ref, String tagOrDigest, String mediaType, byte[] manifest,
      Optional<Credentials> creds) {
    Endpoint ep = endpoints.pushEndpoints(ref).getLast();
    manifestPusher.push(session(ref, ep, "pull,push", creds), tagOrDigest, mediaType, manifest);
  }

  /** Runs {@code call} against each pull endpoint in turn until one succeeds. */
  private <T> T onPullEndpoints(ImageRef ref, Optional<Credentials> creds, String actions, Function<Session, T> call) {
    List<Endpoint> eps = endpoints.pullEndpoints(ref);
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < eps.size(); i++) {
      Endpoint ep = eps.get(i);
      try {
        return call.apply(session(ref, ep, actions, creds));
      } catch (BerthException e) {
        boolean last = i == eps.size() - 1;
        if (last || isContentError(e)) {
          if (failures.isEmpty()) {
            throw e;
          }
          throw new BerthException(e.kind(), e.getMessage() + " (after trying " + String.join("; ", failures) + ")",
              e);
        }
        log.debug("{} failed at {}: {}; trying next endpoint", ref, ep, e.getMessage());
        failures.add(ep + ": " + e.getMessage());
      }
    }
    throw new IllegalStateException("no endpoints for " + ref);
  }

  /** Wrong content is wrong everywhere; do not fall through to another endpoint for it. */
  private static boolean isContentError(BerthException e) {
    return e.kind() == io.berth.core.ErrorKind.INVALID_ARGUMENT
        || e.kind() == io.berth.core.ErrorKind.RESOURCE_EXHAUSTED
        || e.kind() == io.berth.core.ErrorKind.CANCELLED;
  }

  private Session session(ImageRef ref, Endpoint ep, String actions, Optional<Credentials> creds) {
    return new Session(ref, ep, actions, credentialsFor(ref, ep, creds));
  }

  /** CRI AuthConfig first, then Docker config.json (endpoint host, then image host), then the host config. */
  private Optional<Credentials> credentialsFor(ImageRef ref, Endpoint ep, Optional<Credentials> given) {
    if (given.isPresent() && isUsable(given.get())) {
      return given;
    }
    if (config.dockerConfigJson().isPresent()) {
      Path file = config.dockerConfigJson().get();
      Optional<Credentials> c = DockerConfig.lookup(file, ep.authority());
      if (c.isEmpty() && !ep.authority().equals(ref.registry())) {
        c = DockerConfig.lookup(file, ref.registry());
      }
      if (c.isPresent()) {
        return c;
      }
    }
    return endpoints.hostConfig(ref.registry()).flatMap(HostConfig::credentials);
  }

  private static boolean isUsable(Credentials c) {
    return c.hasBasic() || c.identity().isPresent() || c.bearer().isPresent();
  }
}
