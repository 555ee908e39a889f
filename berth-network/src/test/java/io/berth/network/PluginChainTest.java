package io.berth.network;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PluginChainTest {
  private static final ConfList LIST = ConfList.parse("t", """
      {"cniVersion":"1.0.0","name":"podnet","plugins":[
        {"type":"bridge","bridge":"b0","capabilities":{"ips":true}},
        {"type":"portmap","capabilities":{"portMappings":true,"bandwidth":false}},
        {"type":"bandwidth","capabilities":{"bandwidth":true},"runtimeConfig":{"smuggled":1}}]}""", true);

  private static ObjectNode caps() throws Exception {
    return (ObjectNode) CniSpec.JSON.readTree("""
        {"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],
         "bandwidth":{"ingressRate":1000,"ingressBurst":2147483647}}""");
  }

  @Test
  void pluginConfig_first_getsNameAndVersionButNoPrevResult() throws Exception {
    ObjectNode c = PluginChain.pluginConfig(LIST, LIST.plugins().get(0), Optional.empty(), caps());
    assertThat(c.get("name").asText()).isEqualTo("podnet");
    assertThat(c.get("cniVersion").asText()).isEqualTo("1.0.0");
    assertThat(c.get("bridge").asText()).isEqualTo("b0");
    assertThat(c.has("prevResult")).isFalse();
    assertThat(c.has("runtimeConfig")).as("no declared capability has an argument").isFalse();
  }

  @Test
  void pluginConfig_chained_getsPrevResultAndOnlyDeclaredCapabilities() throws Exception {
    JsonNode prev = CniSpec.JSON.readTree("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/24\"}]}");
    ObjectNode c = PluginChain.pluginConfig(LIST, LIST.plugins().get(1), Optional.of(prev), caps());
    assertThat(c.get("prevResult")).isEqualTo(prev);
    assertThat(c.get("runtimeConfig").size()).isEqualTo(1);
    assertThat(c.at("/runtimeConfig/portMappings/0/hostPort").asInt()).isEqualTo(8080);
    assertThat(c.get("type").asText()).isEqualTo("portmap");
  }

  @Test
  void pluginConfig_runtimeConfigFromFile_replacedByRuntimeValues() throws Exception {
    ObjectNode c = PluginChain.pluginConfig(LIST, LIST.plugins().get(2), Optional.empty(), caps());
    assertThat(c.get("runtimeConfig").has("smuggled")).isFalse();
    assertThat(c.at("/runtimeConfig/bandwidth/ingressRate").asLong()).isEqualTo(1000);
  }

  @Test
  void pluginConfig_doesNotModifyTheList() throws Exception {
    PluginChain.pluginConfig(LIST, LIST.plugins().get(0), Optional.of(CniSpec.JSON.readTree("{}")), caps());
    assertThat(LIST.plugins().get(0).has("prevResult")).isFalse();
    assertThat(LIST.plugins().get(0).has("name")).isFalse();
  }
}
