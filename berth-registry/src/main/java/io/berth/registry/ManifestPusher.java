package io.berth.registry;

/** PUTs a manifest or index under a tag or digest (distribution spec "Pushing Manifests"). */
final class ManifestPusher {
  private final TokenAuthenticator auth;
  private final int maxRetries;

  ManifestPusher(TokenAuthenticator auth, int maxRetries) {
    this.auth = auth;
    this.maxRetries = maxRetries;
  }

  void push(Session s, String tagOrDigest, String mediaType, byte[] manifest) {
    String what = "push manifest " + tagOrDigest + " of " + s.where();
    HttpTransport.Request req = HttpTransport.Request.of("PUT",
        s.endpoint().resolve(s.ref().repository() + "/manifests/" + tagOrDigest))
        .header("Content-Type", mediaType).body(manifest);
    Retries.run(maxRetries, what, () -> {
      try (HttpTransport.Response r = auth.send(s, req)) {
        if (r.status() != 201 && r.status() != 200) {
          throw Responses.failure(r, what);
        }
        return null;
      }
    });
  }
}
