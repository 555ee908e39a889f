package io.berth.registry;

import io.berth.core.Digest;

/** HEADs a blob (distribution spec "Checking if content exists in the registry"). */
final class BlobChecker {
  private final TokenAuthenticator auth;
  private final int maxRetries;

  BlobChecker(TokenAuthenticator auth, int maxRetries) {
    this.auth = auth;
    this.maxRetries = maxRetries;
  }

  boolean exists(Session s, Digest digest) {
    String what = "blob " + digest + " of " + s.where();
    HttpTransport.Request req = HttpTransport.Request.of("HEAD",
        s.endpoint().resolve(s.ref().repository() + "/blobs/" + digest));
    return Retries.run(maxRetries, what, () -> {
      try (HttpTransport.Response r = auth.send(s, req)) {
        return switch (r.status()) {
          case 200 -> true;
          case 404 -> false;
          default -> throw Responses.failure(r, what);
        };
      }
    });
  }
}
