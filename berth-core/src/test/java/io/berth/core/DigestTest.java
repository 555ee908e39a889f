package io.berth.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DigestTest {
  @Test
  void sha256_knownInput_matchesKnownDigest() {
    assertThat(Digest.sha256("abc".getBytes(StandardCharsets.UTF_8)).toString())
        .isEqualTo("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  @Test
  void parse_pathLikeHex_isRejected() {
    assertThatThrownBy(() -> Digest.parse("sha256:../../etc/passwd")).isInstanceOf(BerthException.class);
    assertThatThrownBy(() -> Digest.parse("md5:abc")).isInstanceOf(BerthException.class);
  }
}
