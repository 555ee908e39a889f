package io.berth.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.network.PodNetwork.PodNetworkRequest;
import io.berth.network.PodNetwork.PortMapping;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CniArgsTest {
  private static PodNetworkRequest req(List<PortMapping> pms, Map<String, String> annotations) {
    return new PodNetworkRequest("sb1", "web-0", "default", "uid-123", Optional.empty(), pms, annotations,
        Optional.of("/kubepods/pod123"));
  }

  @Test
  void cniArgs_kubernetesKeys_inContainerdOrder() {
    assertThat(CniArgs.cniArgs(req(List.of(), Map.of()))).isEqualTo(
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=uid-123");
  }

  @Test
  void cniArgs_valueWithSeparator_rejected() {
    PodNetworkRequest r = new PodNetworkRequest("sb1", "a;b=c", "ns", "u", Optional.empty(), List.of(), Map.of(),
        Optional.empty());
    assertThatThrownBy(() -> CniArgs.cniArgs(r)).hasMessageContaining("K8S_POD_NAME");
  }

  @Test
  void capabilityArgs_portMappings_hostPortZeroSkippedProtocolLowercased() {
    ObjectNode caps = CniArgs.capabilityArgs(req(List.of(
        new PortMapping("TCP", 80, 8080, ""),
        new PortMapping("udp", 53, 5353, "127.0.0.1"),
        new PortMapping("tcp", 9000, 0, "")), Map.of()));
    assertThat(caps.get("portMappings").toString()).isEqualTo(
        "[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\"},"
            + "{\"hostPort\":5353,\"containerPort\":53,\"protocol\":\"udp\",\"hostIP\":\"127.0.0.1\"}]");
    assertThat(caps.get("cgroupPath").asText()).isEqualTo("/kubepods/pod123");
  }

  @Test
  void capabilityArgs_badProtocol_rejected() {
    assertThatThrownBy(() -> CniArgs.capabilityArgs(req(List.of(new PortMapping("icmp", 1, 2, "")), Map.of())))
        .hasMessageContaining("icmp");
  }

  @Test
  void capabilityArgs_bandwidthAnnotations_inBitsPerSecond() {
    ObjectNode caps = CniArgs.capabilityArgs(req(List.of(), Map.of(
        "kubernetes.io/ingress-bandwidth", "10M", "kubernetes.io/egress-bandwidth", "1Mi")));
    assertThat(caps.at("/bandwidth/ingressRate").asLong()).isEqualTo(10_000_000L);
    assertThat(caps.at("/bandwidth/egressRate").asLong()).isEqualTo(1_048_576L);
    assertThat(caps.at("/bandwidth/ingressBurst").asLong()).isEqualTo(CniArgs.UNLIMITED_BURST);
    assertThat(caps.at("/io.kubernetes.cri.pod-annotations/kubernetes.io~1ingress-bandwidth").asText())
        .isEqualTo("10M");
  }

  @Test
  void capabilityArgs_noBandwidthAnnotations_noBandwidth() {
    assertThat(CniArgs.capabilityArgs(req(List.of(), Map.of())).has("bandwidth")).isFalse();
  }

  @Test
  void bitsPerSecond_quantities() {
    assertThat(CniArgs.bitsPerSecond("k", "500k")).isEqualTo(500_000L);
    assertThat(CniArgs.bitsPerSecond("k", "1.5G")).isEqualTo(1_500_000_000L);
    assertThat(CniArgs.bitsPerSecond("k", "2Gi")).isEqualTo(2L << 30);
    assertThatThrownBy(() -> CniArgs.bitsPerSecond("k", "10X")).hasMessageContaining("bad quantity");
    assertThatThrownBy(() -> CniArgs.bitsPerSecond("k", "0")).hasMessageContaining("positive");
  }
}
