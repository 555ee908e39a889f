package io.berth.network;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.berth.core.BerthException;
import java.util.ArrayList;
import java.util.List;

/**
 * The result of a CNI ADD in the format shared by CNI 0.3.x, 0.4.0 and 1.0.0 (SPEC.md "Success"): interfaces, IP
 * configurations, routes and DNS.
 */
public record CniResult(String cniVersion, List<Interface> interfaces, List<IpConfig> ips, List<Route> routes,
    Dns dns) {

  public CniResult {
    interfaces = List.copyOf(interfaces);
    ips = List.copyOf(ips);
    routes = List.copyOf(routes);
  }

  /** An interface a plugin created; {@code sandbox} is the netns path for interfaces inside the pod, else empty. */
  public record Interface(String name, String mac, String sandbox) {}

  /**
   * An assigned address in CIDR notation; {@code interfaceIndex} indexes {@link CniResult#interfaces()}, -1 when the
   * plugin did not say.
   */
  public record IpConfig(String address, String gateway, int interfaceIndex) {
    /** The address without its prefix length. */
    public String ip() {
      int slash = address.indexOf('/');
      return slash < 0 ? address : address.substring(0, slash);
    }

    public boolean isIpv4() {
      return !address.contains(":");
    }
  }

  public record Route(String dst, String gw) {}

  public record Dns(List<String> nameservers, String domain, List<String> search, List<String> options) {
    public Dns {
      nameservers = List.copyOf(nameservers);
      search = List.copyOf(search);
      options = List.copyOf(options);
    }
  }

  /**
   * The pod's addresses: those on the sandbox interface named {@code ifName} (all addresses when the result does not
   * link them to interfaces), IPv4 first as containerd orders them.
   */
  public List<String> podIps(String ifName) {
    boolean linked = ips.stream().anyMatch(ip -> ip.interfaceIndex() >= 0);
    List<IpConfig> mine = new ArrayList<>();
    for (IpConfig ip : ips) {
      if (!linked) {
        mine.add(ip);
      } else if (ip.interfaceIndex() >= 0 && ip.interfaceIndex() < interfaces.size()) {
        Interface itf = interfaces.get(ip.interfaceIndex());
        if (itf.name().equals(ifName) && !itf.sandbox().isEmpty()) {
          mine.add(ip);
        }
      }
    }
    List<String> out = new ArrayList<>();
    mine.stream().filter(IpConfig::isIpv4).forEach(ip -> out.add(ip.ip()));
    mine.stream().filter(ip -> !ip.isIpv4()).forEach(ip -> out.add(ip.ip()));
    return out;
  }

  /**
   * Parses a plugin's stdout.
   *
   * @throws BerthException INVALID_ARGUMENT when it is not a result of a supported version
   */
  static CniResult parse(String json) {
    JsonNode root;
    try {
      root = CniSpec.JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw BerthException.invalidArgument("CNI result is not JSON: %s", e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw BerthException.invalidArgument("CNI result is not a JSON object");
    }
    String version = root.path("cniVersion").asText("");
    if (!CniSpec.SUPPORTED_VERSIONS.contains(version)) {
      throw BerthException.invalidArgument("CNI result has unsupported cniVersion '%s'", version);
    }
    List<Interface> interfaces = new ArrayList<>();
    for (JsonNode i : root.path("interfaces")) {
      interfaces.add(new Interface(i.path("name").asText(""), i.path("mac").asText(""), i.path("sandbox").asText("")));
    }
    List<IpConfig> ips = new ArrayList<>();
    for (JsonNode ip : root.path("ips")) {
      String address = ip.path("address").asText("");
      if (address.isEmpty()) {
        throw BerthException.invalidArgument("CNI result has an IP entry without address");
      }
      JsonNode idx = ip.get("interface");
      ips.add(new IpConfig(address, ip.path("gateway").asText(""), idx != null && idx.isInt() ? idx.asInt() : -1));
    }
    List<Route> routes = new ArrayList<>();
    for (JsonNode r : root.path("routes")) {
      routes.add(new Route(r.path("dst").asText(""), r.path("gw").asText("")));
    }
    JsonNode d = root.path("dns");
    Dns dns = new Dns(strings(d.path("nameservers")), d.path("domain").asText(""), strings(d.path("search")),
        strings(d.path("options")));
    return new CniResult(version, interfaces, ips, routes, dns);
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    for (JsonNode n : array) {
      out.add(n.asText());
    }
    return out;
  }
}
