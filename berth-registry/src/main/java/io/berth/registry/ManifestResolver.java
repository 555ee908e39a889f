package io.berth.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.MediaTypes;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.Optional;

/**
 * GETs a manifest or index (distribution spec "Pulling manifests"), bounded in size, and establishes its digest: by
 * digest, the body must hash to it; by tag, the {@code Docker-Content-Digest} header is checked against the body,
 * else the body's sha256 is the digest.
 */
final class ManifestResolver {
  static final String ACCEPT = String.join(", ", MediaTypes.OCI_MANIFEST, MediaTypes.OCI_INDEX,
      MediaTypes.DOCKER_MANIFEST, MediaTypes.DOCKER_MANIFEST_LIST);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final TokenAuthenticator auth;
  private final int maxRetries;

  ManifestResolver(TokenAuthenticator auth, int maxRetries) {
    this.auth = auth;
    this.maxRetries = maxRetries;
  }

  Resolved resolve(Session s, String reference, Optional<Digest> expected, long maxBytes) {
    String path = s.ref().repository() + "/manifests/" + reference;
    String what = "manifest " + reference + " of " + s.where();
    HttpTransport.Request req = HttpTransport.Request.of("GET", s.endpoint().resolve(path)).header("Accept", ACCEPT);
    return Retries.run(maxRetries, what, () -> {
      try (HttpTransport.Response r = auth.send(s, req)) {
        if (r.status() != 200) {
          throw Responses.failure(r, what);
        }
        long cl = r.contentLength();
        if (cl > maxBytes) {
          r.abort();
          throw BerthException.resourceExhausted("%s is %d bytes, more than the %d allowed", what, cl, maxBytes);
        }
        byte[] body = readBounded(r.body(), maxBytes, what);
        if (cl >= 0 && body.length != cl) {
          throw new IOException("manifest body ended after " + body.length + " of " + cl + " bytes");
        }
        Digest digest = verify(body, expected, r.header("Docker-Content-Digest"), what);
        String mediaType = mediaType(r.header("Content-Type"), body, what);
        return new Resolved(digest, mediaType, body, s.endpoint().toString());
      }
    });
  }

  static byte[] readBounded(InputStream in, long maxBytes, String what) throws IOException {
    byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
    if (body.length > maxBytes) {
      throw BerthException.resourceExhausted("%s is larger than the %d bytes allowed", what, maxBytes);
    }
    return body;
  }

  private static Digest verify(byte[] body, Optional<Digest> expected, Optional<String> header, String what) {
    if (expected.isPresent()) {
      Digest want = expected.get();
      Digest actual = Digest.of(want.algorithm(), body);
      if (!actual.equals(want)) {
        throw BerthException.invalidArgument("%s: digest mismatch: expected %s, got %s", what, want, actual);
      }
      return want;
    }
    if (header.isPresent() && Digest.isDigest(header.get().strip())) {
      Digest claimed = Digest.parse(header.get().strip());
      Digest actual = Digest.of(claimed.algorithm(), body);
      if (!actual.equals(claimed)) {
        throw BerthException.invalidArgument("%s: Docker-Content-Digest %s does not match the body (%s)", what,
            claimed, actual);
      }
      return claimed;
    }
    return Digest.sha256(body);
  }

  /** The Content-Type if it is a manifest type, else the body's {@code mediaType}, else inferred from its fields. */
  static String mediaType(Optional<String> contentType, byte[] body, String what) {
    String ct = contentType.map(c -> c.split(";")[0].strip().toLowerCase(Locale.ROOT)).orElse("");
    if (MediaTypes.isManifest(ct) || MediaTypes.isIndex(ct)) {
      return ct;
    }
    JsonNode json;
    try {
      json = JSON.readTree(body);
    } catch (IOException e) {
      throw BerthException.invalidArgument("%s is not JSON: %s", what, e.getMessage());
    }
    if (json == null || !json.isObject()) {
      throw BerthException.invalidArgument("%s is not a JSON object", what);
    }
    String mt = json.path("mediaType").asText("");
    if (MediaTypes.isManifest(mt) || MediaTypes.isIndex(mt)) {
      return mt;
    }
    if (json.has("manifests")) {
      return MediaTypes.OCI_INDEX;
    }
    if (json.has("config") && json.has("layers")) {
      return MediaTypes.OCI_MANIFEST;
    }
    if (json.path("schemaVersion").asInt() == 1) {
      throw BerthException.unimplemented("%s is a Docker schema 1 manifest, which Berth does not support", what);
    }
    throw BerthException.invalidArgument("%s has unsupported media type '%s'", what, mt.isEmpty() ? ct : mt);
  }
}
