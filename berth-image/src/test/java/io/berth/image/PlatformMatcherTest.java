package io.berth.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.Descriptor;
import io.berth.core.Digest;
import io.berth.core.MediaTypes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PlatformMatcherTest {

  static List<Manifests.IndexEntry> index(String... platforms) {
    List<Manifests.IndexEntry> out = new ArrayList<>();
    for (String p : platforms) {
      Descriptor d = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(p.getBytes()), 100);
      out.add(new Manifests.IndexEntry(d, p.equals("none") ? Optional.empty() : Optional.of(Platform.parse(p))));
    }
    return out;
  }

  static Optional<String> choose(String host, String... platforms) {
    return PlatformMatcher.choose(index(platforms), Platform.parse(host)).map(e -> e.platform().orElseThrow().toString());
  }

  @Test
  void parse_normalizesArchitecturesAndDefaultVariants() {
    assertThat(Platform.parse("linux/x86_64")).isEqualTo(new Platform("linux", "amd64", ""));
    assertThat(Platform.parse("linux/amd64/v1")).isEqualTo(new Platform("linux", "amd64", ""));
    assertThat(Platform.parse("linux/aarch64")).isEqualTo(new Platform("linux", "arm64", "v8"));
    assertThat(Platform.parse("linux/arm")).isEqualTo(new Platform("linux", "arm", "v7"));
    assertThat(Platform.parse("Linux/ARM/7").toString()).isEqualTo("linux/arm/v7");
    assertThatThrownBy(() -> Platform.parse("linux")).isInstanceOf(BerthException.class);
  }

  @Test
  void choose_amd64Host_picksAmd64AmongOthers() {
    assertThat(choose("linux/amd64", "linux/arm64", "linux/arm/v7", "linux/amd64", "linux/s390x"))
        .contains("linux/amd64");
  }

  @Test
  void choose_amd64Host_acceptsV1AsNoVariant() {
    assertThat(choose("linux/amd64", "linux/arm64", "linux/amd64/v1")).contains("linux/amd64");
  }

  @Test
  void choose_plainAmd64Host_refusesHigherVariants() {
    assertThat(choose("linux/amd64", "linux/amd64/v3", "linux/arm64")).isEmpty();
  }

  @Test
  void choose_amd64V3Host_prefersExactThenBestLower() {
    assertThat(choose("linux/amd64/v3", "linux/amd64", "linux/amd64/v3", "linux/amd64/v2")).contains("linux/amd64/v3");
    assertThat(choose("linux/amd64/v3", "linux/amd64", "linux/amd64/v2", "linux/amd64/v4")).contains("linux/amd64/v2");
    assertThat(choose("linux/amd64/v3", "linux/amd64")).contains("linux/amd64");
  }

  @Test
  void choose_arm64Host_matchesMissingVariantAsV8() {
    assertThat(choose("linux/arm64", "linux/amd64", "linux/arm64")).contains("linux/arm64/v8");
    assertThat(choose("linux/arm64/v8", "linux/arm64/v8")).contains("linux/arm64/v8");
  }

  @Test
  void choose_armV7Host_fallsBackToV6NotV8() {
    assertThat(choose("linux/arm/v7", "linux/arm/v8", "linux/arm/v6", "linux/arm/v5")).contains("linux/arm/v6");
    assertThat(choose("linux/arm/v6", "linux/arm/v7")).isEmpty();
  }

  @Test
  void choose_ignoresEntriesWithoutPlatformAndOtherOs() {
    assertThat(choose("linux/amd64", "none", "windows/amd64", "unknown/unknown")).isEmpty();
  }

  @Test
  void choose_equalCandidates_firstInIndexWins() {
    var entries = index("linux/amd64", "linux/amd64");
    var chosen = PlatformMatcher.choose(entries, Platform.parse("linux/amd64")).orElseThrow();
    assertThat(chosen).isSameAs(entries.get(0));
  }

  @Test
  void host_isLinuxWithNormalizedArch() {
    Platform p = Platform.host();
    assertThat(p.os()).isEqualTo("linux");
    assertThat(p.architecture()).isNotEqualTo("x86_64").isNotEqualTo("aarch64");
  }
}
