package io.berth.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfListTest {
  @TempDir Path dir;

  private static final String LIST = """
      {"cniVersion":"1.0.0","name":"%s","plugins":[
        {"type":"bridge","bridge":"b0","ipam":{"type":"host-local"}},
        {"type":"portmap","capabilities":{"portMappings":true}}]}""";

  @Test
  void parse_conflist_namesVersionAndPluginTypes() {
    ConfList l = ConfList.parse("x", LIST.formatted("net1"), true);
    assertThat(l.name()).isEqualTo("net1");
    assertThat(l.cniVersion()).isEqualTo("1.0.0");
    assertThat(l.pluginTypes()).containsExactly("bridge", "portmap");
    assertThat(l.disableCheck()).isFalse();
  }

  @Test
  void parse_singlePluginConf_isWrappedIntoList() {
    ConfList l = ConfList.parse("x.conf",
        "{\"cniVersion\":\"0.4.0\",\"name\":\"single\",\"type\":\"ptp\",\"ipam\":{\"type\":\"host-local\"}}", false);
    assertThat(l.name()).isEqualTo("single");
    assertThat(l.pluginTypes()).containsExactly("ptp");
    assertThat(l.plugins().getFirst().get("ipam").get("type").asText()).isEqualTo("host-local");
    assertThat(l.json().get("plugins").size()).isEqualTo(1);
  }

  @Test
  void parse_brokenJson_errorNamesFile() {
    assertThatThrownBy(() -> ConfList.parse("/etc/cni/net.d/99-bad.conflist", "{\"name\": ", true))
        .isInstanceOf(BerthException.class)
        .hasMessageContaining("/etc/cni/net.d/99-bad.conflist")
        .hasMessageContaining("invalid JSON")
        .extracting(e -> ((BerthException) e).kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT);
  }

  @Test
  void parse_unsupportedVersion_rejected() {
    assertThatThrownBy(() -> ConfList.parse("f", "{\"cniVersion\":\"0.2.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\"}]}",
        true)).hasMessageContaining("unsupported cniVersion 0.2.0");
  }

  @Test
  void parse_missingName_rejected() {
    assertThatThrownBy(() -> ConfList.parse("f", "{\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"a\"}]}", true))
        .hasMessageContaining("\"name\"");
  }

  @Test
  void parse_emptyPlugins_rejected() {
    assertThatThrownBy(() -> ConfList.parse("f", "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[]}", true))
        .hasMessageContaining("non-empty");
  }

  @Test
  void parse_pluginTypeWithPathOrDotDot_rejected() {
    for (String type : List.of("../bin/sh", "/bin/sh", "a/b", "..", "x..y")) {
      assertThatThrownBy(() -> ConfList.parse("f",
          "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"" + type + "\"}]}", true))
          .as(type).hasMessageContaining("invalid plugin type");
    }
  }

  @Test
  void parse_pluginWithoutType_rejected() {
    assertThatThrownBy(() -> ConfList.parse("f", "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{}]}", true))
        .hasMessageContaining("plugin 0 has no \"type\"");
  }

  @Test
  void load_severalFiles_firstInLexicalOrderWins() throws IOException {
    Files.writeString(dir.resolve("20-b.conflist"), LIST.formatted("second"));
    Files.writeString(dir.resolve("10-a.conflist"), LIST.formatted("first"));
    Files.writeString(dir.resolve("05-ignored.txt"), "not a config");
    assertThat(ConfList.load(List.of(dir), "").orElseThrow().name()).isEqualTo("first");
  }

  @Test
  void load_confAndJsonExtensions_areCandidates() throws IOException {
    Files.writeString(dir.resolve("50-x.json"),
        "{\"cniVersion\":\"1.0.0\",\"name\":\"fromjson\",\"type\":\"bridge\"}");
    assertThat(ConfList.load(List.of(dir), "").orElseThrow().name()).isEqualTo("fromjson");
  }

  @Test
  void load_byName_picksMatchingNetwork() throws IOException {
    Files.writeString(dir.resolve("10-a.conflist"), LIST.formatted("first"));
    Files.writeString(dir.resolve("20-b.conflist"), LIST.formatted("second"));
    assertThat(ConfList.load(List.of(dir), "second").orElseThrow().source()).endsWith("20-b.conflist");
    assertThat(ConfList.load(List.of(dir), "third")).isEmpty();
  }

  @Test
  void load_dirsInOrder_firstDirWins() throws IOException {
    Path d1 = Files.createDirectory(dir.resolve("d1"));
    Path d2 = Files.createDirectory(dir.resolve("d2"));
    Files.writeString(d1.resolve("90-z.conflist"), LIST.formatted("fromd1"));
    Files.writeString(d2.resolve("00-a.conflist"), LIST.formatted("fromd2"));
    assertThat(ConfList.load(List.of(d1, d2), "").orElseThrow().name()).isEqualTo("fromd1");
    assertThat(ConfList.load(List.of(dir.resolve("missing"), d2), "").orElseThrow().name()).isEqualTo("fromd2");
  }

  @Test
  void load_firstFileBroken_errorNamesFile() throws IOException {
    Files.writeString(dir.resolve("10-broken.conflist"), "{");
    Files.writeString(dir.resolve("20-ok.conflist"), LIST.formatted("ok"));
    assertThatThrownBy(() -> ConfList.load(List.of(dir), "")).hasMessageContaining("10-broken.conflist");
    assertThat(ConfList.load(List.of(dir), "ok")).isPresent();
  }

  @Test
  void load_noFiles_empty() {
    assertThat(ConfList.load(List.of(dir), "")).isEmpty();
  }

  @Test
  void deployedConflist_isValidAndHasNoMasquerade() {
    Path deployed = Path.of("../deploy/cni/10-berth.conflist");
    ConfList l = ConfList.parseFile(deployed);
    assertThat(l.name()).isEqualTo("berth");
    assertThat(l.cniVersion()).isEqualTo("1.0.0");
    assertThat(l.pluginTypes()).containsExactly("bridge", "portmap");
    assertThat(l.plugins().get(0).get("bridge").asText()).isEqualTo("berth0");
    assertThat(l.plugins().get(0).get("ipMasq").asBoolean(true)).isFalse();
    assertThat(l.plugins().get(0).at("/ipam/ranges/0/0/subnet").asText()).isEqualTo("10.88.0.0/16");
    assertThat(l.plugins().get(1).at("/capabilities/portMappings").asBoolean()).isTrue();
  }
}
