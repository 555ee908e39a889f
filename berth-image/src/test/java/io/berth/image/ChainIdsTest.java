package io.berth.image;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.core.Digest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChainIdsTest {
  static Digest d(String s) {
    return Digest.sha256(s.getBytes(StandardCharsets.UTF_8));
  }

  static Digest sha256Of(String s) throws Exception {
    byte[] h = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.US_ASCII));
    return new Digest("sha256", HexFormat.of().formatHex(h));
  }

  @Test
  void of_singleLayer_isItsDiffId() {
    assertThat(ChainIds.of(List.of(d("a")))).containsExactly(d("a"));
  }

  @Test
  void of_threeLayers_followsOciFormula() throws Exception {
    Digest a = d("a");
    Digest b = d("b");
    Digest c = d("c");
    Digest ab = sha256Of(a + " " + b);
    Digest abc = sha256Of(ab + " " + c);
    assertThat(ChainIds.of(List.of(a, b, c))).containsExactly(a, ab, abc);
  }

  @Test
  void of_repeatedDiffIds_giveDistinctChainIds() throws Exception {
    // Two identical diff ids still give distinct chain ids: the chain names the whole stack.
    Digest a = d("same");
    assertThat(ChainIds.of(List.of(a, a))).doesNotHaveDuplicates();
    assertThat(ChainIds.of(List.of())).isEmpty();
  }
}
