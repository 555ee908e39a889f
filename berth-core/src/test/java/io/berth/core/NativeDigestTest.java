package io.berth.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.MessageDigest;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NativeDigestTest {

  @Test
  void libcryptoIsThereOnTheseMachines_soDigestsAreNative() {
    // scripts/setup.sh installs libssl3 (libcrypto.so.3).
    assertThat(NativeDigest.sha2("sha256")).isPresent();
    assertThat(Digest.newMessageDigest("sha512")).isInstanceOf(NativeDigest.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"sha256", "sha512"})
  void sameResultsAsTheJdk_forEveryWayOfFeedingIt(String algorithm) {
    Random random = new Random(42);
    MessageDigest ours = NativeDigest.sha2(algorithm).orElseThrow();
    for (int size : new int[] {0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 1 << 20}) {
      byte[] data = new byte[size];
      random.nextBytes(data);
      MessageDigest jdk = Digest.jdkMessageDigest(algorithm);

      // whole, then in uneven slices of a larger array, then byte by byte: the same digest each time
      assertThat(ours.digest(data)).as("size %d", size).isEqualTo(jdk.digest(data));
      byte[] padded = new byte[size + 7];
      System.arraycopy(data, 0, padded, 3, size);
      for (int off = 0; off < size; off += 333) {
        ours.update(padded, 3 + off, Math.min(333, size - off));
      }
      assertThat(ours.digest()).isEqualTo(jdk.digest(data));
      if (size <= 1000) {
        for (byte b : data) {
          ours.update(b);
        }
        assertThat(ours.digest()).isEqualTo(jdk.digest(data));
      }
    }
  }

  @Test
  void reset_dropsWhatWasFedSoFar() {
    MessageDigest ours = NativeDigest.sha2("sha256").orElseThrow();
    ours.update("thrown away".getBytes());
    ours.reset();
    assertThat(Digest.of("sha256", "abc".getBytes()).hex()).isEqualTo(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assertThat(ours.digest("abc".getBytes())).isEqualTo(Digest.jdkMessageDigest("sha256").digest("abc".getBytes()));
    assertThat(ours.getDigestLength()).isEqualTo(32);
    assertThat(ours.getAlgorithm()).isEqualTo("SHA-256");
  }
}
