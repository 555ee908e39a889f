package io.berth.testing;

import io.berth.core.Digest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A minimal registry pusher for fixtures, independent of berth-registry (which is under test): monolithic blob
 * uploads and manifest PUTs, Basic auth up front, and one Bearer-token round trip when challenged.
 */
final class ImagePusher {
  private static final Pattern PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final String base;
  private final String repository;
  private final Optional<TestImages.Auth> auth;
  private String authorization;

  ImagePusher(String registryUrl, String repository, Optional<TestImages.Auth> auth) {
    this.base = registryUrl.endsWith("/") ? registryUrl.substring(0, registryUrl.length() - 1) : registryUrl;
    this.repository = repository;
    this.auth = auth;
    this.authorization = auth.map(a -> "Basic " + Base64.getEncoder()
        .encodeToString((a.username() + ":" + a.password()).getBytes(StandardCharsets.UTF_8))).orElse(null);
  }

  void pushImage(TestImages.Image image) {
    for (TestImages.Layer l : image.layers()) {
      pushBlob(l.blob(), l.digest());
    }
    pushBlob(image.config(), image.configDigest());
  }

  void pushBlob(byte[] blob, Digest digest) {
    URI blobUri = URI.create(base + "/v2/" + repository + "/blobs/" + digest);
    HttpResponse<byte[]> head = send(u -> HttpRequest.newBuilder(u).method("HEAD", HttpRequest.BodyPublishers
        .noBody()), blobUri);
    if (head.statusCode() == 200) {
      return;
    }
    URI start = URI.create(base + "/v2/" + repository + "/blobs/uploads/");
    HttpResponse<byte[]> post = send(u -> HttpRequest.newBuilder(u).POST(HttpRequest.BodyPublishers.noBody()), start);
    expect(post, 202, "start upload of " + digest);
    URI location = start.resolve(post.headers().firstValue("Location").orElseThrow());
    String sep = location.getRawQuery() == null ? "?" : "&";
    URI put = URI.create(location + sep + "digest=" + URLEncoder.encode(digest.toString(), StandardCharsets.UTF_8));
    HttpResponse<byte[]> r = send(u -> HttpRequest.newBuilder(u).header("Content-Type", "application/octet-stream")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(blob)), put);
    expect(r, 201, "upload of " + digest);
  }

  void putManifest(String reference, String mediaType, byte[] manifest) {
    URI u0 = URI.create(base + "/v2/" + repository + "/manifests/" + reference);
    HttpResponse<byte[]> r = send(u -> HttpRequest.newBuilder(u).header("Content-Type", mediaType)
        .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest)), u0);
    expect(r, 201, "manifest " + reference);
  }

  private HttpResponse<byte[]> send(Function<URI, HttpRequest.Builder> req, URI uri) {
    try {
      HttpResponse<byte[]> r = http.send(withAuth(req.apply(uri)).build(), HttpResponse.BodyHandlers.ofByteArray());
      if (r.statusCode() == 401) {
        String challenge = r.headers().firstValue("WWW-Authenticate").orElse("");
        if (challenge.regionMatches(true, 0, "Bearer ", 0, 7)) {
          authorization = "Bearer " + token(challenge);
          r = http.send(withAuth(req.apply(uri)).build(), HttpResponse.BodyHandlers.ofByteArray());
        }
      }
      return r;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private HttpRequest.Builder withAuth(HttpRequest.Builder b) {
    return authorization == null ? b : b.header("Authorization", authorization);
  }

  private String token(String challenge) throws IOException, InterruptedException {
    String realm = null;
    String service = null;
    Matcher m = PARAM.matcher(challenge);
    while (m.find()) {
      switch (m.group(1)) {
        case "realm" -> realm = m.group(2);
        case "service" -> service = m.group(2);
        default -> { }
      }
    }
    String scope = "repository:" + repository + ":pull,push";
    URI u = URI.create(realm + "?service=" + URLEncoder.encode(String.valueOf(service), StandardCharsets.UTF_8)
        + "&scope=" + URLEncoder.encode(scope, StandardCharsets.UTF_8));
    HttpRequest.Builder b = HttpRequest.newBuilder(u).GET();
    auth.ifPresent(a -> b.header("Authorization", "Basic " + Base64.getEncoder()
        .encodeToString((a.username() + ":" + a.password()).getBytes(StandardCharsets.UTF_8))));
    HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    expect(r, 200, "token for " + scope);
    return TestImages.JSON.readTree(r.body()).path("token").asText();
  }

  private static void expect(HttpResponse<byte[]> r, int status, String what) {
    if (r.statusCode() != status) {
      throw new IllegalStateException("push " + what + " to " + r.uri() + ": HTTP " + r.statusCode() + " "
          + new String(r.body(), StandardCharsets.UTF_8));
    }
  }
}
