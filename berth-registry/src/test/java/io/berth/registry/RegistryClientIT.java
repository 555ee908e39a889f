package io.berth.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.content.ContentStore;
import io.berth.core.BerthException;
import io.berth.core.Descriptor;
import io.berth.core.Digest;
import io.berth.core.ErrorKind;
import io.berth.core.ImageRef;
import io.berth.core.MediaTypes;
import io.berth.testing.FaultyRegistryProxy;
import io.berth.testing.LocalRegistry;
import io.berth.testing.TestImages;
import io.berth.testing.TestImages.Image;
import io.berth.testing.TestImages.Index;
import io.berth.testing.TestImages.Layer;
import io.berth.testing.TestImages.Platform;
import io.berth.testing.TokenServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** RegistryClient against Debian's real docker-registry on 127.0.0.1; fakes only for faults it cannot produce. */
class RegistryClientIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @TempDir
  Path tmp;

  private static final RegistryClient anonymous = RegistryClient.create(RegistryConfig.defaults());

  private static Layer bigLayer(int bytes, long seed) {
    byte[] data = new byte[bytes];
    new Random(seed).nextBytes(data);
    return TestImages.layer().dir("data", 0755).file("data/random.bin", data).uncompressed().build();
  }

  private static Image simpleImage() {
    return TestImages.image().layer(TestImages.busybox())
        .layer(TestImages.layer().file("hello.txt", "hello\n").zstd().build())
        .cmd("/bin/sh").build();
  }

  private static ImageRef ref(String host, TestImages.Pushed p) {
    return ImageRef.parse(host + "/" + p.repository() + ":" + p.tag());
  }

  private static void assertKind(ThrowingCallable call, ErrorKind kind, String... messageParts) {
    var a = assertThatThrownBy(call).isInstanceOfSatisfying(BerthException.class,
        e -> assertThat(e.kind()).as(e.getMessage()).isEqualTo(kind));
    for (String part : messageParts) {
      a.hasMessageContaining(part);
    }
  }

  private List<Path> ingestFiles(Path root) throws IOException {
    try (Stream<Path> s = Files.list(root.resolve("ingest"))) {
      return s.toList();
    }
  }

  /** Pulls the whole image (manifest, config, layers) into a fresh content store and checks every blob. */
  private static void pullAll(RegistryClient client, ImageRef ref, Image image, ContentStore store,
      Optional<Credentials> creds) {
    Resolved r = client.resolve(ref, creds);
    assertThat(r.digest()).isEqualTo(image.digest());
    assertThat(r.manifest()).isEqualTo(image.manifest());
    List<Descriptor> blobs = new java.util.ArrayList<>();
    blobs.add(new Descriptor(image.configMediaType(), image.configDigest(), image.config().length));
    image.layers().forEach(l -> blobs.add(l.descriptor()));
    for (Descriptor d : blobs) {
      store.ensure(d.digest(), d.size(), in -> client.fetchBlob(ref, d, creds, in, Progress.NONE));
    }
    assertThat(store.readAll(image.configDigest(), 1 << 20)).isEqualTo(image.config());
    for (Layer l : image.layers()) {
      assertThat(store.readAll(l.digest(), 64 << 20)).isEqualTo(l.blob());
    }
  }

  @Test
  void resolve_ociTag_returnsVerifiedManifest() {
    Image image = simpleImage();
    TestImages.Pushed p = TestImages.push(registry, "test/oci", "v1", image);
    Resolved r = anonymous.resolve(ImageRef.parse(p.reference()), Optional.empty());
    assertThat(r.digest()).isEqualTo(image.digest());
    assertThat(r.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
    assertThat(r.manifest()).isEqualTo(image.manifest());
    assertThat(r.endpoint()).isEqualTo(registry.url() + "/v2");
  }

  @Test
  void resolve_byDigest_verifiesBody() {
    Image image = simpleImage();
    TestImages.Pushed p = TestImages.push(registry, "test/bydigest", "v1", image);
    Resolved r = anonymous.resolve(ImageRef.parse(p.byDigest()), Optional.empty());
    assertThat(r.digest()).isEqualTo(image.digest());
    assertThat(r.manifest()).isEqualTo(image.manifest());
  }

  @Test
  void resolve_dockerSchema2_returnsDockerMediaType() {
    Image image = TestImages.image().docker().layer(TestImages.busybox()).build();
    TestImages.Pushed p = TestImages.push(registry, "test/docker", "v1", image);
    Resolved r = anonymous.resolve(ImageRef.parse(p.reference()), Optional.empty());
    assertThat(r.mediaType()).isEqualTo(MediaTypes.DOCKER_MANIFEST);
    assertThat(r.digest()).isEqualTo(image.digest());
  }

  @Test
  void resolve_ociIndex_childManifestsFetchedByDigest() throws IOException {
    Image amd64 = TestImages.image().platform(Platform.LINUX_AMD64).layer(TestImages.busybox()).build();
    Image arm64 = TestImages.image().platform(Platform.LINUX_ARM64)
        .layer(TestImages.layer().file("arch", "arm64\n").build()).build();
    Image armv7 = TestImages.image().platform(Platform.LINUX_ARM_V7)
        .layer(TestImages.layer().file("arch", "armv7\n").build()).build();
    Index index = TestImages.index().image(amd64).image(arm64).image(armv7).build();
    TestImages.Pushed p = TestImages.push(registry, "test/multi", "v1", index);
    ImageRef ref = ImageRef.parse(p.reference());
    Resolved r = anonymous.resolve(ref, Optional.empty());
    assertThat(r.mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
    assertThat(r.digest()).isEqualTo(index.digest());
    JsonNode manifests = JSON.readTree(r.manifest()).path("manifests");
    assertThat(manifests).hasSize(3);
    assertThat(manifests.get(1).path("platform").path("architecture").asText()).isEqualTo("arm64");
    Digest child = Digest.parse(manifests.get(1).path("digest").asText());
    assertThat(anonymous.fetchManifest(ref, child, Optional.empty(), 1 << 20)).isEqualTo(arm64.manifest());
  }

  @Test
  void resolve_dockerManifestList_returnsListMediaType() {
    Image amd64 = TestImages.image().docker().platform(Platform.LINUX_AMD64).layer(TestImages.busybox()).build();
    Image arm64 = TestImages.image().docker().platform(Platform.LINUX_ARM64)
        .layer(TestImages.layer().file("arch", "arm64\n").build()).build();
    Index list = TestImages.index().docker().image(amd64).image(arm64).build();
    TestImages.Pushed p = TestImages.push(registry, "test/list", "v1", list);
    Resolved r = anonymous.resolve(ImageRef.parse(p.reference()), Optional.empty());
    assertThat(r.mediaType()).isEqualTo(MediaTypes.DOCKER_MANIFEST_LIST);
    assertThat(r.digest()).isEqualTo(list.digest());
  }

  @Test
  void fetchManifest_overBound_resourceExhausted() {
    Image image = simpleImage();
    TestImages.Pushed p = TestImages.push(registry, "test/bound", "v1", image);
    assertKind(() -> anonymous.fetchManifest(ImageRef.parse(p.reference()), image.digest(), Optional.empty(), 10),
        ErrorKind.RESOURCE_EXHAUSTED);
  }

  @Test
  void fetchBlob_allBlobs_storedAndVerified() throws IOException {
    Image image = TestImages.image().layer(TestImages.busybox()).layer(bigLayer(3 << 20, 1))
        .layer(TestImages.layer().file("z", "zstd\n").zstd().build()).build();
    TestImages.Pushed p = TestImages.push(registry, "test/blobs", "v1", image);
    ContentStore store = ContentStore.open(tmp.resolve("content"));
    AtomicLong progress = new AtomicLong();
    ImageRef ref = ImageRef.parse(p.reference());
    Layer big = image.layers().get(1);
    store.ensure(big.digest(), big.blob().length,
        in -> anonymous.fetchBlob(ref, big.descriptor(), Optional.empty(), in, (d, n) -> progress.addAndGet(n)));
    assertThat(progress).hasValue(big.blob().length);
    pullAll(anonymous, ref, image, store, Optional.empty());
    assertThat(ingestFiles(tmp.resolve("content"))).isEmpty();
  }

  @Test
  void blobExists_presentAndAbsent() {
    Image image = simpleImage();
    TestImages.Pushed p = TestImages.push(registry, "test/exists", "v1", image);
    ImageRef ref = ImageRef.parse(p.reference());
    assertThat(anonymous.blobExists(ref, image.layers().getFirst().digest(), Optional.empty())).isTrue();
    assertThat(anonymous.blobExists(ref, Digest.sha256(new byte[] {42}), Optional.empty())).isFalse();
  }

  @Test
  void resolve_unknownTag_notFound() {
    TestImages.push(registry, "test/known", "v1", simpleImage());
    assertKind(() -> anonymous.resolve(ImageRef.parse(registry.host() + "/test/known:nope"), Optional.empty()),
        ErrorKind.NOT_FOUND, "test/known:nope", registry.url(), "MANIFEST_UNKNOWN");
  }

  @Test
  void resolve_unknownRepository_notFound() {
    assertKind(() -> anonymous.resolve(ImageRef.parse(registry.host() + "/no/such:v1"), Optional.empty()),
        ErrorKind.NOT_FOUND, "no/such");
  }

  @Test
  void fetchBlob_unknownBlob_notFoundAndNothingStored() throws IOException {
    TestImages.push(registry, "test/noblob", "v1", simpleImage());
    ContentStore store = ContentStore.open(tmp.resolve("content"));
    byte[] data = "absent".getBytes(StandardCharsets.UTF_8);
    Descriptor d = new Descriptor(MediaTypes.OCI_LAYER, Digest.sha256(data), data.length);
    ImageRef ref = ImageRef.parse(registry.host() + "/test/noblob:v1");
    assertKind(() -> store.ensure(d.digest(), d.size(),
        in -> anonymous.fetchBlob(ref, d, Optional.empty(), in, Progress.NONE)), ErrorKind.NOT_FOUND,
        "BLOB_UNKNOWN");
    assertThat(store.list()).isEmpty();
    assertThat(ingestFiles(tmp.resolve("content"))).isEmpty();
  }

  @Test
  void basicAuth_rightCredentials_pulls() {
    try (LocalRegistry secured = LocalRegistry.builder().basicAuth("alice", "s3cret").start()) {
      Image image = simpleImage();
      TestImages.Pushed p = TestImages.push(secured, "test/basic", "v1", image);
      pullAll(anonymous, ImageRef.parse(p.reference()), image, ContentStore.open(tmp.resolve("c")),
          Optional.of(Credentials.basic("alice", "s3cret")));
    }
  }

  @Test
  void basicAuth_authField_pulls() {
    try (LocalRegistry secured = LocalRegistry.builder().basicAuth("alice", "s3cret").start()) {
      TestImages.Pushed p = TestImages.push(secured, "test/basic", "v1", simpleImage());
      String auth = java.util.Base64.getEncoder().encodeToString("alice:s3cret".getBytes(StandardCharsets.UTF_8));
      Resolved r = anonymous.resolve(ImageRef.parse(p.reference()),
          Optional.of(new Credentials(null, null, auth, null, null)));
      assertThat(r.digest()).isEqualTo(p.digest());
    }
  }

  @Test
  void basicAuth_wrongPassword_unauthenticated() {
    try (LocalRegistry secured = LocalRegistry.builder().basicAuth("alice", "s3cret").start()) {
      TestImages.Pushed p = TestImages.push(secured, "test/basic", "v1", simpleImage());
      assertKind(() -> anonymous.resolve(ImageRef.parse(p.reference()),
          Optional.of(Credentials.basic("alice", "wrong"))), ErrorKind.UNAUTHENTICATED, secured.url(), "test/basic");
    }
  }

  @Test
  void basicAuth_noCredentials_unauthenticated() {
    try (LocalRegistry secured = LocalRegistry.builder().basicAuth("alice", "s3cret").start()) {
      TestImages.Pushed p = TestImages.push(secured, "test/basic", "v1", simpleImage());
      assertKind(() -> anonymous.resolve(ImageRef.parse(p.reference()), Optional.empty()),
          ErrorKind.UNAUTHENTICATED, "no credentials");
    }
  }

  @Test
  void basicAuth_dockerConfigJson_used() throws IOException {
    try (LocalRegistry secured = LocalRegistry.builder().basicAuth("alice", "s3cret").start()) {
      TestImages.Pushed p = TestImages.push(secured, "test/basic", "v1", simpleImage());
      Path config = tmp.resolve("config.json");
      String auth = java.util.Base64.getEncoder().encodeToString("alice:s3cret".getBytes(StandardCharsets.UTF_8));
      Files.writeString(config, "{\"auths\":{\"" + secured.host() + "\":{\"auth\":\"" + auth + "\"}}}");
      RegistryClient client = RegistryClient.create(RegistryConfig.defaults().withDockerConfigJson(config));
      assertThat(client.resolve(ImageRef.parse(p.reference()), Optional.empty()).digest()).isEqualTo(p.digest());
    }
  }

  @Test
  void basicAuth_hostConfigCredentials_used() {
    try (LocalRegistry secured = LocalRegistry.builder().basicAuth("alice", "s3cret").start()) {
      TestImages.Pushed p = TestImages.push(secured, "test/basic", "v1", simpleImage());
      RegistryClient client = RegistryClient.create(RegistryConfig.defaults().withHosts(Map.of(secured.host(),
          HostConfig.of(secured.host()).withCredentials(Credentials.basic("alice", "s3cret")))));
      assertThat(client.resolve(ImageRef.parse(p.reference()), Optional.empty()).digest()).isEqualTo(p.digest());
    }
  }

  @Test
  void bearer_tokenServer_pullsAndCachesToken() {
    try (TokenServer tokens = TokenServer.start().user("bob", "hunter2");
        LocalRegistry secured = LocalRegistry.builder().tokenAuth(tokens).start()) {
      Image image = simpleImage();
      TestImages.Pushed p = TestImages.push(secured.url(), "test/bearer", "v1", image,
          Optional.of(new TestImages.Auth("bob", "hunter2")));
      RegistryClient client = RegistryClient.create(RegistryConfig.defaults());
      int before = tokens.issuedTokens();
      pullAll(client, ImageRef.parse(p.reference()), image, ContentStore.open(tmp.resolve("c")),
          Optional.of(Credentials.basic("bob", "hunter2")));
      // One token for repository:test/bearer:pull, reused for the manifest and every blob.
      assertThat(tokens.issuedTokens() - before).isEqualTo(1);
    }
  }

  @Test
  void bearer_anonymousPullAllowed_pullsWithoutCredentials() {
    try (TokenServer tokens = TokenServer.start().user("bob", "hunter2").allowAnonymousPull(true);
        LocalRegistry secured = LocalRegistry.builder().tokenAuth(tokens).start()) {
      TestImages.Pushed p = TestImages.push(secured.url(), "test/anon", "v1", simpleImage(),
          Optional.of(new TestImages.Auth("bob", "hunter2")));
      assertThat(anonymous.resolve(ImageRef.parse(p.reference()), Optional.empty()).digest()).isEqualTo(p.digest());
    }
  }

  @Test
  void bearer_wrongPassword_unauthenticated() {
    try (TokenServer tokens = TokenServer.start().user("bob", "hunter2");
        LocalRegistry secured = LocalRegistry.builder().tokenAuth(tokens).start()) {
      TestImages.Pushed p = TestImages.push(secured.url(), "test/bearer", "v1", simpleImage(),
          Optional.of(new TestImages.Auth("bob", "hunter2")));
      assertKind(() -> anonymous.resolve(ImageRef.parse(p.reference()),
          Optional.of(Credentials.basic("bob", "nope"))), ErrorKind.UNAUTHENTICATED, "bob", "test/bearer");
      assertThat(tokens.refusedRequests()).isPositive();
    }
  }

  @Test
  void bearer_identityToken_pulls() {
    try (TokenServer tokens = TokenServer.start().identityToken("refresh-123");
        LocalRegistry secured = LocalRegistry.builder().tokenAuth(tokens).start()) {
      tokens.user("pusher", "pw");
      TestImages.Pushed p = TestImages.push(secured.url(), "test/identity", "v1", simpleImage(),
          Optional.of(new TestImages.Auth("pusher", "pw")));
      Resolved r = anonymous.resolve(ImageRef.parse(p.reference()),
          Optional.of(new Credentials(null, null, null, "refresh-123", null)));
      assertThat(r.digest()).isEqualTo(p.digest());
    }
  }

  @Test
  void bearer_pushAndPullBack() throws IOException {
    try (TokenServer tokens = TokenServer.start().user("bob", "hunter2");
        LocalRegistry secured = LocalRegistry.builder().tokenAuth(tokens).start()) {
      pushAndPullBack(secured.host(), Optional.of(Credentials.basic("bob", "hunter2")));
    }
  }

  @Test
  void push_anonymous_pullBackIdentical() throws IOException {
    pushAndPullBack(registry.host(), Optional.empty());
  }

  private void pushAndPullBack(String host, Optional<Credentials> creds) throws IOException {
    Image image = TestImages.image().layer(TestImages.busybox()).layer(bigLayer(1 << 20, 7)).build();
    ImageRef ref = ImageRef.parse(host + "/pushed/app:v2");
    RegistryClient client = RegistryClient.create(RegistryConfig.defaults());
    for (Layer l : image.layers()) {
      Path f = tmp.resolve(l.digest().hex());
      Files.write(f, l.blob());
      client.pushBlob(ref, l.digest(), l.blob().length, f, creds);
      client.pushBlob(ref, l.digest(), l.blob().length, f, creds); // second time: skipped, exists
    }
    Path cfg = tmp.resolve("config");
    Files.write(cfg, image.config());
    client.pushBlob(ref, image.configDigest(), image.config().length, cfg, creds);
    client.pushManifest(ref, "v2", image.mediaType(), image.manifest(), creds);
    pullAll(client, ref, image, ContentStore.open(tmp.resolve("pulled")), creds);
  }

  private static String deadUrl() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return "http://127.0.0.1:" + s.getLocalPort();
    }
  }

  @Test
  void mirrors_firstDown_nextServes() throws IOException {
    Image image = simpleImage();
    TestImages.push(registry, "library/mirrored", "v1", image);
    String dead = deadUrl();
    RegistryClient client = RegistryClient.create(RegistryConfig.defaults().withHosts(Map.of("docker.io",
        HostConfig.of("docker.io").withMirrors(List.of(dead, registry.url())))));
    ImageRef ref = ImageRef.parse("mirrored:v1");
    pullAll(client, ref, image, ContentStore.open(tmp.resolve("c")), Optional.empty());
    assertThat(client.resolve(ref, Optional.empty()).endpoint()).isEqualTo(registry.url() + "/v2");
  }

  @Test
  void mirrors_firstLacksImage_nextServes() {
    Image image = simpleImage();
    TestImages.push(registry, "test/only-in-second", "v1", image);
    try (LocalRegistry empty = LocalRegistry.start()) {
      RegistryClient client = RegistryClient.create(RegistryConfig.defaults().withHosts(Map.of("quay.io",
          HostConfig.of("quay.io").withMirrors(List.of(empty.url(), registry.url())))));
      Resolved r = client.resolve(ImageRef.parse("quay.io/test/only-in-second:v1"), Optional.empty());
      assertThat(r.digest()).isEqualTo(image.digest());
      assertThat(r.endpoint()).isEqualTo(registry.url() + "/v2");
    }
  }

  @Test
  void server_replacesUpstream() {
    Image image = simpleImage();
    TestImages.push(registry, "pause", "3.10", image);
    RegistryClient client = RegistryClient.create(RegistryConfig.defaults().withHosts(Map.of("registry.k8s.io",
        HostConfig.of("registry.k8s.io").withServer(registry.url()))));
    ImageRef ref = ImageRef.parse("registry.k8s.io/pause:3.10");
    pullAll(client, ref, image, ContentStore.open(tmp.resolve("c")), Optional.empty());
  }

  @Test
  void server_down_noFallbackToUpstream() throws IOException {
    String dead = deadUrl();
    RegistryClient client = RegistryClient.create(RegistryConfig.defaults().withHosts(Map.of("gcr.io",
        HostConfig.of("gcr.io").withServer(dead))));
    assertThatThrownBy(() -> client.resolve(ImageRef.parse("gcr.io/google/pause:3.10"), Optional.empty()))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.UNAVAILABLE))
        .hasMessageContaining(dead)
        .hasMessageNotContaining("https://gcr.io");
  }

  @Test
  void fetchBlob_connectionDroppedMidBlob_resumesWithRange() throws IOException {
    Image image = TestImages.image().layer(bigLayer(4 << 20, 2)).build();
    TestImages.push(registry, "test/drop", "v1", image);
    try (FaultyRegistryProxy proxy = FaultyRegistryProxy.dropping(registry.url(), 1 << 20)) {
      ImageRef ref = ImageRef.parse(proxy.host() + "/test/drop:v1");
      pullAll(anonymous, ref, image, ContentStore.open(tmp.resolve("c")), Optional.empty());
      assertThat(proxy.faultsInjected()).isEqualTo(1);
      Layer l = image.layers().getFirst();
      assertThat(proxy.blobRequests()).anyMatch(r -> r.contains(l.digest().toString()) && r.contains("bytes="));
    }
  }

  @Test
  void fetchBlob_stalledTransfer_detectedAndResumed() throws IOException {
    Image image = TestImages.image().layer(bigLayer(2 << 20, 3)).build();
    TestImages.push(registry, "test/stall", "v1", image);
    RegistryClient client = RegistryClient.create(RegistryConfig.defaults().withStallTimeout(Duration.ofMillis(500)));
    try (FaultyRegistryProxy proxy = FaultyRegistryProxy.stalling(registry.url(), 512 << 10)) {
      ImageRef ref = ImageRef.parse(proxy.host() + "/test/stall:v1");
      pullAll(client, ref, image, ContentStore.open(tmp.resolve("c")), Optional.empty());
      assertThat(proxy.faultsInjected()).isEqualTo(1);
      assertThat(proxy.blobRequests()).anyMatch(r -> r.contains("range=bytes=524288-"));
    }
  }

  @Test
  void fetchBlob_serverErrorOnce_retriedWithBackoff() {
    Image image = TestImages.image().layer(bigLayer(100_000, 10)).build();
    TestImages.push(registry, "test/503", "v1", image);
    try (FaultyRegistryProxy proxy = FaultyRegistryProxy.unavailableOnce(registry.url())) {
      ImageRef ref = ImageRef.parse(proxy.host() + "/test/503:v1");
      pullAll(anonymous, ref, image, ContentStore.open(tmp.resolve("c")), Optional.empty());
      assertThat(proxy.faultsInjected()).isEqualTo(1);
    }
  }

  @Test
  void fetchBlob_serverErrorsBeyondRetries_unavailable() {
    Image image = TestImages.image().layer(bigLayer(100_000, 11)).build();
    TestImages.push(registry, "test/503b", "v1", image);
    Layer l = image.layers().getFirst();
    RegistryClient noRetries = RegistryClient.create(RegistryConfig.defaults().withMaxRetries(0));
    ContentStore store = ContentStore.open(tmp.resolve("c"));
    try (FaultyRegistryProxy proxy = FaultyRegistryProxy.unavailableOnce(registry.url())) {
      ImageRef ref = ImageRef.parse(proxy.host() + "/test/503b:v1");
      assertKind(() -> store.ensure(l.digest(), l.blob().length,
          in -> noRetries.fetchBlob(ref, l.descriptor(), Optional.empty(), in, Progress.NONE)),
          ErrorKind.UNAVAILABLE, "503", proxy.url());
    }
    assertThat(store.list()).isEmpty();
  }

  @Test
  void fetchBlob_truncatedBody_failsAndStoresNothing() throws IOException {
    Image image = TestImages.image().layer(bigLayer(1 << 20, 4)).build();
    TestImages.push(registry, "test/trunc", "v1", image);
    Layer l = image.layers().getFirst();
    ContentStore store = ContentStore.open(tmp.resolve("c"));
    try (FaultyRegistryProxy proxy = FaultyRegistryProxy.truncating(registry.url())) {
      ImageRef ref = ImageRef.parse(proxy.host() + "/test/trunc:v1");
      assertKind(() -> store.ensure(l.digest(), l.blob().length,
          in -> anonymous.fetchBlob(ref, l.descriptor(), Optional.empty(), in, Progress.NONE)),
          ErrorKind.INVALID_ARGUMENT, l.digest().toString(), "test/trunc", String.valueOf(l.blob().length));
    }
    assertThat(store.list()).isEmpty();
    assertThat(ingestFiles(tmp.resolve("c"))).isEmpty();
  }

  @Test
  void fetchBlob_corruptedBody_digestMismatchAndStoresNothing() throws IOException {
    Image image = TestImages.image().layer(bigLayer(1 << 20, 5)).build();
    TestImages.push(registry, "test/corrupt", "v1", image);
    Layer l = image.layers().getFirst();
    ContentStore store = ContentStore.open(tmp.resolve("c"));
    try (FaultyRegistryProxy proxy = FaultyRegistryProxy.corrupting(registry.url())) {
      ImageRef ref = ImageRef.parse(proxy.host() + "/test/corrupt:v1");
      assertKind(() -> store.ensure(l.digest(), l.blob().length,
          in -> anonymous.fetchBlob(ref, l.descriptor(), Optional.empty(), in, Progress.NONE)),
          ErrorKind.INVALID_ARGUMENT, "digest mismatch", l.digest().toString());
    }
    assertThat(store.list()).isEmpty();
    assertThat(ingestFiles(tmp.resolve("c"))).isEmpty();
  }

  @Test
  void fetchBlob_manifestClaimsLargerSize_failsAndStoresNothing() throws IOException {
    Layer real = bigLayer(100_000, 6);
    Image image = TestImages.image().layer(real).layerSize(0, real.blob().length + 1000).build();
    TestImages.Pushed p = TestImages.push(registry, "test/liar", "v1", image);
    ContentStore store = ContentStore.open(tmp.resolve("c"));
    ImageRef ref = ImageRef.parse(p.reference());
    JsonNode layer = JSON.readTree(anonymous.resolve(ref, Optional.empty()).manifest()).path("layers").get(0);
    Descriptor claimed = new Descriptor(layer.path("mediaType").asText(), Digest.parse(layer.path("digest").asText()),
        layer.path("size").asLong());
    assertKind(() -> store.ensure(claimed.digest(), claimed.size(),
        in -> anonymous.fetchBlob(ref, claimed, Optional.empty(), in, Progress.NONE)),
        ErrorKind.INVALID_ARGUMENT, String.valueOf(real.blob().length + 1000), String.valueOf(real.blob().length));
    assertThat(store.list()).isEmpty();
    assertThat(ingestFiles(tmp.resolve("c"))).isEmpty();
  }

  @Test
  void fetchBlob_manifestClaimsSmallerSize_failsAndStoresNothing() throws IOException {
    Layer real = bigLayer(100_000, 8);
    Image image = TestImages.image().layer(real).layerSize(0, 5000).build();
    TestImages.Pushed p = TestImages.push(registry, "test/liar2", "v1", image);
    ContentStore store = ContentStore.open(tmp.resolve("c"));
    ImageRef ref = ImageRef.parse(p.reference());
    Descriptor claimed = new Descriptor(real.mediaType(), real.digest(), 5000);
    assertKind(() -> store.ensure(claimed.digest(), claimed.size(),
        in -> anonymous.fetchBlob(ref, claimed, Optional.empty(), in, Progress.NONE)),
        ErrorKind.INVALID_ARGUMENT, "5000");
    assertThat(store.list()).isEmpty();
    assertThat(ingestFiles(tmp.resolve("c"))).isEmpty();
  }

  @Test
  void fetchBlob_concurrentEnsureOfOneBlob_downloadsOnce() throws Exception {
    Image image = TestImages.image().layer(bigLayer(2 << 20, 9)).build();
    TestImages.push(registry, "test/once", "v1", image);
    Layer l = image.layers().getFirst();
    ContentStore store = ContentStore.open(tmp.resolve("c"));
    try (FaultyRegistryProxy proxy = FaultyRegistryProxy.passThrough(registry.url())) {
      ImageRef ref = ImageRef.parse(proxy.host() + "/test/once:v1");
      try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
        List<java.util.concurrent.Future<Path>> fs = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
          fs.add(pool.submit(() -> store.ensure(l.digest(), l.blob().length,
              in -> anonymous.fetchBlob(ref, l.descriptor(), Optional.empty(), in, Progress.NONE))));
        }
        for (var f : fs) {
          assertThat(Files.readAllBytes(f.get())).isEqualTo(l.blob());
        }
      }
      assertThat(proxy.blobRequests()).hasSize(1);
    }
  }
}
