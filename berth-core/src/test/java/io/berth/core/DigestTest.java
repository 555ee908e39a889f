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

  @Test
  void isDigest_agreesWithParse() {
    String sha256 = "sha256:" + "a".repeat(64);
    String sha512 = "sha512:" + "0".repeat(128);
    for (String s : new String[] {sha256, sha512}) {
      assertThat(Digest.isDigest(s)).as(s).isTrue();
      assertThat(Digest.parse(s).toString()).isEqualTo(s);
    }
    for (String s : new String[] {null, "", ":", "sha256:", "sha256:" + "A".repeat(64), "sha256:" + "a".repeat(63),
        "sha512:" + "a".repeat(64), "md5:abc", "127.0.0.1:5000/bench/busybox", "busybox:latest", ":" + "a".repeat(64),
        "sha256:../../etc/passwd"}) {
      assertThat(Digest.isDigest(s)).as(String.valueOf(s)).isFalse();
      assertThatThrownBy(() -> Digest.parse(s)).as(String.valueOf(s)).isInstanceOf(BerthException.class);
    }
  }
}
