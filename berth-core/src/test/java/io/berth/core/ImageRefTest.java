package io.berth.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ImageRefTest {
  @ParameterizedTest
  @CsvSource({
    "busybox, docker.io/library/busybox:latest",
    "busybox:1.36, docker.io/library/busybox:1.36",
    "library/busybox, docker.io/library/busybox:latest",
    "docker.io/busybox, docker.io/library/busybox:latest",
    "index.docker.io/library/busybox:1, docker.io/library/busybox:1",
    "gcr.io/k8s-staging-cri-tools/test-image-tag:all, gcr.io/k8s-staging-cri-tools/test-image-tag:all",
    "127.0.0.1:5000/pause:3.10, 127.0.0.1:5000/pause:3.10",
    "localhost/foo, localhost/foo:latest",
    "user/repo, docker.io/user/repo:latest",
  })
  void parse_validReference_normalizes(String in, String normalized) {
    assertThat(ImageRef.parse(in).toString()).isEqualTo(normalized);
  }

  @Test
  void parse_digestOnly_hasNoDefaultTag() {
    String d = "sha256:" + "a".repeat(64);
    ImageRef ref = ImageRef.parse("registry.k8s.io/pause@" + d);
    assertThat(ref.tag()).isEmpty();
    assertThat(ref.reference()).isEqualTo(d);
    assertThat(ref.toString()).isEqualTo("registry.k8s.io/pause@" + d);
  }

  @Test
  void parse_tagAndDigest_fetchesByDigest() {
    String d = "sha256:" + "b".repeat(64);
    ImageRef ref = ImageRef.parse("busybox:1@" + d);
    assertThat(ref.tag()).contains("1");
    assertThat(ref.reference()).isEqualTo(d);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "Busybox", "busybox:", "busybox@sha256:xyz", "a//b", "-a", "busybox:!tag"})
  void parse_invalidReference_isInvalidArgument(String in) {
    assertThatThrownBy(() -> ImageRef.parse(in))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
  }
}
