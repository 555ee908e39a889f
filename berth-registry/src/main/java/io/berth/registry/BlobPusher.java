package io.berth.registry;

import io.berth.core.BerthException;
import io.berth.core.Digest;
import java.net.URI;
import java.nio.file.Path;

/**
 * Uploads a blob monolithically: POST to start an upload session, then one PUT with the whole body and the digest
 * (distribution spec "Pushing a blob monolithically"). Skipped when the registry already has the blob.
 */
final class BlobPusher {
  private final TokenAuthenticator auth;
  private final BlobChecker checker;
  private final int maxRetries;

  BlobPusher(TokenAuthenticator auth, BlobChecker checker, int maxRetries) {
    this.auth = auth;
    this.checker = checker;
    this.maxRetries = maxRetries;
  }

  void push(Session s, Digest digest, long size, Path file) {
    if (checker.exists(s, digest)) {
      return;
    }
    String what = "push blob " + digest + " of " + s.where();
    Retries.run(maxRetries, what, () -> {
      URI start = s.endpoint().resolve(s.ref().repository() + "/blobs/uploads/");
      URI location;
      try (HttpTransport.Response r = auth.send(s, HttpTransport.Request.of("POST", start))) {
        if (r.status() != 202) {
          throw Responses.failure(r, what + " (start upload)");
        }
        String loc = r.header("Location")
            .orElseThrow(() -> BerthException.internal("%s: upload answer has no Location", what));
        location = start.resolve(loc);
      }
      String sep = location.getRawQuery() == null ? "?" : "&";
      URI put = URI.create(location + sep + "digest=" + digest);
      HttpTransport.Request req = HttpTransport.Request.of("PUT", put)
          .header("Content-Type", "application/octet-stream").body(file);
      if (java.nio.file.Files.size(file) != size) {
        throw BerthException.invalidArgument("%s: file %s is not %d bytes", what, file, size);
      }
      try (HttpTransport.Response r = auth.send(s, req)) {
        if (r.status() != 201) {
          throw Responses.failure(r, what);
        }
      }
      return null;
    });
  }
}
