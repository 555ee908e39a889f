package io.berth.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import io.berth.core.ImageRef;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EndpointResolverTest {
  private static List<String> pull(Map<String, HostConfig> hosts, String image) {
    return new EndpointResolver(hosts).pullEndpoints(ImageRef.parse(image)).stream().map(e -> e.base().toString())
        .toList();
  }

  @Test
  void dockerHub_noConfig_upstreamIsRegistry1() {
    assertThat(pull(Map.of(), "busybox")).containsExactly("https://registry-1.docker.io/v2");
  }

  @Test
  void otherHost_noConfig_https() {
    assertThat(pull(Map.of(), "quay.io/a/b:1")).containsExactly("https://quay.io/v2");
  }

  @Test
  void loopbackHost_noConfig_plainHttp() {
    assertThat(pull(Map.of(), "127.0.0.1:5000/a:1")).containsExactly("http://127.0.0.1:5000/v2");
    assertThat(pull(Map.of(), "localhost:5000/a:1")).containsExactly("http://localhost:5000/v2");
  }

  @Test
  void mirrors_triedInOrderThenUpstream() {
    var hosts = Map.of("docker.io", HostConfig.of("docker.io")
        .withMirrors(List.of("http://127.0.0.1:5000", "https://mirror.example/prefix/")));
    assertThat(pull(hosts, "busybox")).containsExactly("http://127.0.0.1:5000/v2",
        "https://mirror.example/prefix/v2", "https://registry-1.docker.io/v2");
  }

  @Test
  void server_replacesUpstream() {
    var hosts = Map.of("gcr.io", HostConfig.of("gcr.io").withServer("http://127.0.0.1:5000"));
    assertThat(pull(hosts, "gcr.io/x/y:1")).containsExactly("http://127.0.0.1:5000/v2");
  }

  @Test
  void push_skipsMirrors() {
    var hosts = Map.of("docker.io", HostConfig.of("docker.io").withMirrors(List.of("http://127.0.0.1:5000")));
    assertThat(new EndpointResolver(hosts).pushEndpoints(ImageRef.parse("busybox")))
        .extracting(e -> e.base().toString()).containsExactly("https://registry-1.docker.io/v2");
  }

  @Test
  void plainHttpMirror_nonLoopbackNotInsecure_rejectedAtCreate() {
    var hosts = Map.of("docker.io", HostConfig.of("docker.io").withMirrors(List.of("http://mirror.example")));
    assertThatThrownBy(() -> RegistryClient.create(RegistryConfig.defaults().withHosts(hosts)))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessageContaining("docker.io").hasMessageContaining("http://mirror.example");
  }

  @Test
  void plainHttp_insecureHost_allowed() {
    var hosts = Map.of("reg.example", HostConfig.of("reg.example").withInsecure(true)
        .withMirrors(List.of("http://mirror.example:5000")));
    assertThat(pull(hosts, "reg.example/a:1")).containsExactly("http://mirror.example:5000/v2",
        "http://reg.example/v2");
  }

  @Test
  void badScheme_rejected() {
    var hosts = Map.of("x.io", HostConfig.of("x.io").withServer("ftp://x.io"));
    assertThatThrownBy(() -> new EndpointResolver(hosts)).isInstanceOf(BerthException.class)
        .hasMessageContaining("ftp://x.io");
  }

  @Test
  void missingCaFile_rejectedNamingIt() {
    var hosts = Map.of("x.io", HostConfig.of("x.io").withCaFiles(List.of(java.nio.file.Path.of("/nonexistent.pem"))));
    assertThatThrownBy(() -> new EndpointResolver(hosts)).isInstanceOf(BerthException.class)
        .hasMessageContaining("/nonexistent.pem");
  }

  @Test
  void isLoopback_recognisesLoopbackOnly() {
    assertThat(EndpointResolver.isLoopback("127.0.0.1")).isTrue();
    assertThat(EndpointResolver.isLoopback("127.3.4.5")).isTrue();
    assertThat(EndpointResolver.isLoopback("[::1]")).isTrue();
    assertThat(EndpointResolver.isLoopback("localhost")).isTrue();
    assertThat(EndpointResolver.isLoopback("10.0.0.1")).isFalse();
    assertThat(EndpointResolver.isLoopback("registry.example")).isFalse();
  }
}
