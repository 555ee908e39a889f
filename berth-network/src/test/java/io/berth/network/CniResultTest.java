package io.berth.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CniResultTest {
  // As printed by the Debian bridge plugin 1.1.1 for cniVersion 1.0.0.
  private static final String BRIDGE_1_0_0 = """
      {"cniVersion":"1.0.0",
       "interfaces":[{"name":"btry0","mac":"3a:39:26:52:88:6f"},{"name":"veth1f79784e","mac":"de:9f:ec:fa:19:96"},
                     {"name":"eth0","mac":"ea:df:d3:4d:ae:56","sandbox":"/run/netns/x"}],
       "ips":[{"interface":2,"address":"10.199.77.2/24","gateway":"10.199.77.1"},
              {"interface":2,"address":"fd00::5/64"}],
       "routes":[{"dst":"0.0.0.0/0"}],
       "dns":{"nameservers":["10.0.0.10"],"domain":"cluster.local","search":["svc.cluster.local"],"options":["ndots:5"]}}""";

  @Test
  void parse_v100_interfacesIpsRoutesDns() {
    CniResult r = CniResult.parse(BRIDGE_1_0_0);
    assertThat(r.cniVersion()).isEqualTo("1.0.0");
    assertThat(r.interfaces()).hasSize(3);
    assertThat(r.interfaces().get(2)).isEqualTo(new CniResult.Interface("eth0", "ea:df:d3:4d:ae:56", "/run/netns/x"));
    assertThat(r.ips().getFirst()).isEqualTo(new CniResult.IpConfig("10.199.77.2/24", "10.199.77.1", 2));
    assertThat(r.routes()).containsExactly(new CniResult.Route("0.0.0.0/0", ""));
    assertThat(r.dns().nameservers()).containsExactly("10.0.0.10");
    assertThat(r.dns().domain()).isEqualTo("cluster.local");
    assertThat(r.dns().search()).containsExactly("svc.cluster.local");
    assertThat(r.dns().options()).containsExactly("ndots:5");
    assertThat(r.podIps("eth0")).containsExactly("10.199.77.2", "fd00::5");
  }

  @Test
  void parse_v040_ipsWithVersionField() {
    CniResult r = CniResult.parse("""
        {"cniVersion":"0.4.0","interfaces":[{"name":"eth0","sandbox":"/proc/1/ns/net"}],
         "ips":[{"version":"6","interface":0,"address":"fd00::2/64"},
                {"version":"4","interface":0,"address":"10.1.2.3/24","gateway":"10.1.2.1"}],
         "routes":[{"dst":"0.0.0.0/0","gw":"10.1.2.1"}],"dns":{}}""");
    assertThat(r.podIps("eth0")).containsExactly("10.1.2.3", "fd00::2");
    assertThat(r.routes()).containsExactly(new CniResult.Route("0.0.0.0/0", "10.1.2.1"));
    assertThat(r.dns().nameservers()).isEmpty();
  }

  @Test
  void podIps_ipsOnHostSideInterfaceOrOtherName_notCounted() {
    CniResult r = CniResult.parse("""
        {"cniVersion":"1.0.0","interfaces":[{"name":"br0"},{"name":"eth0","sandbox":"/x"},{"name":"net1","sandbox":"/x"}],
         "ips":[{"interface":0,"address":"10.0.0.1/24"},{"interface":1,"address":"10.0.0.2/24"},
                {"interface":2,"address":"10.9.0.2/24"}]}""");
    assertThat(r.podIps("eth0")).containsExactly("10.0.0.2");
  }

  @Test
  void podIps_withoutInterfaceIndexes_allAddresses() {
    CniResult r = CniResult.parse("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.7/16\"}]}");
    assertThat(r.podIps("eth0")).containsExactly("10.0.0.7");
  }

  @Test
  void parse_oldFormatOrGarbage_rejected() {
    assertThatThrownBy(() -> CniResult.parse("{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.2/24\"}}"))
        .hasMessageContaining("unsupported cniVersion");
    assertThatThrownBy(() -> CniResult.parse("nope")).hasMessageContaining("not JSON");
  }
}
