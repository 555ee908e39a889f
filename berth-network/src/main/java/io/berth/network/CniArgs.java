package io.berth.network;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.core.BerthException;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The per-pod arguments a runtime gives plugins: {@code CNI_ARGS} with the Kubernetes keys, and the {@code
 * runtimeConfig} values of CONVENTIONS.md (portMappings, bandwidth, cgroupPath, pod annotations).
 */
final class CniArgs {
  private CniArgs() {}

  static final String INGRESS_BANDWIDTH = "kubernetes.io/ingress-bandwidth";
  static final String EGRESS_BANDWIDTH = "kubernetes.io/egress-bandwidth";
  /** kubenet's and containerd's burst when only a rate is given: effectively no burst limit. */
  static final long UNLIMITED_BURST = Integer.MAX_VALUE;
  private static final Set<String> PROTOCOLS = Set.of("tcp", "udp", "sctp");

  /** {@code IgnoreUnknown=1;K8S_POD_NAMESPACE=..;K8S_POD_NAME=..;K8S_POD_INFRA_CONTAINER_ID=..;K8S_POD_UID=..}. */
  static String cniArgs(PodNetwork.PodNetworkRequest req) {
    Map<String, String> args = new LinkedHashMap<>();
    args.put("IgnoreUnknown", "1");
    args.put("K8S_POD_NAMESPACE", req.podNamespace());
    args.put("K8S_POD_NAME", req.podName());
    args.put("K8S_POD_INFRA_CONTAINER_ID", req.sandboxId());
    args.put("K8S_POD_UID", req.podUid());
    for (Map.Entry<String, String> e : args.entrySet()) {
      String v = e.getValue();
      if (v.indexOf(';') >= 0 || v.indexOf('=') >= 0) {
        throw BerthException.invalidArgument("%s must not contain ';' or '=': %s", e.getKey(), v);
      }
    }
    return args.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(";"));
  }

  /** Every capability argument Berth can supply; each plugin receives only those it declares. */
  static ObjectNode capabilityArgs(PodNetwork.PodNetworkRequest req) {
    ObjectNode caps = CniSpec.JSON.createObjectNode();
    ArrayNode pms = caps.putArray("portMappings");
    for (PodNetwork.PortMapping pm : req.portMappings()) {
      if (pm.hostPort() <= 0) {
        continue; // no host port: nothing to map (containerd skips these too)
      }
      String proto = pm.protocol() == null || pm.protocol().isEmpty() ? "tcp" : pm.protocol().toLowerCase(Locale.ROOT);
      if (!PROTOCOLS.contains(proto)) {
        throw BerthException.invalidArgument("port mapping protocol %s is not tcp, udp or sctp", pm.protocol());
      }
      if (pm.hostPort() > 65535 || pm.containerPort() <= 0 || pm.containerPort() > 65535) {
        throw BerthException.invalidArgument("port mapping %d->%d is out of range", pm.hostPort(),
            pm.containerPort());
      }
      ObjectNode o = pms.addObject();
      o.put("hostPort", pm.hostPort());
      o.put("containerPort", pm.containerPort());
      o.put("protocol", proto);
      if (pm.hostIp() != null && !pm.hostIp().isEmpty()) {
        o.put("hostIP", pm.hostIp());
      }
    }
    String ingress = req.annotations().get(INGRESS_BANDWIDTH);
    String egress = req.annotations().get(EGRESS_BANDWIDTH);
    if (ingress != null || egress != null) {
      ObjectNode bw = caps.putObject("bandwidth");
      if (ingress != null) {
        bw.put("ingressRate", bitsPerSecond(INGRESS_BANDWIDTH, ingress));
        bw.put("ingressBurst", UNLIMITED_BURST);
      }
      if (egress != null) {
        bw.put("egressRate", bitsPerSecond(EGRESS_BANDWIDTH, egress));
        bw.put("egressBurst", UNLIMITED_BURST);
      }
    }
    req.cgroupParent().ifPresent(cg -> caps.put("cgroupPath", cg));
    ObjectNode annotations = caps.putObject("io.kubernetes.cri.pod-annotations");
    new TreeMap<>(req.annotations()).forEach(annotations::put);
    return caps;
  }

  /** A Kubernetes quantity ("10M", "1Gi", "500k") as bits per second. */
  static long bitsPerSecond(String key, String quantity) {
    String q = quantity.strip();
    int i = 0;
    while (i < q.length() && (Character.isDigit(q.charAt(i)) || q.charAt(i) == '.')) {
      i++;
    }
    String number = q.substring(0, i);
    String suffix = q.substring(i);
    BigDecimal multiplier = switch (suffix) {
      case "" -> BigDecimal.ONE;
      case "k" -> BigDecimal.TEN.pow(3);
      case "M" -> BigDecimal.TEN.pow(6);
      case "G" -> BigDecimal.TEN.pow(9);
      case "T" -> BigDecimal.TEN.pow(12);
      case "P" -> BigDecimal.TEN.pow(15);
      case "Ki" -> BigDecimal.valueOf(2).pow(10);
      case "Mi" -> BigDecimal.valueOf(2).pow(20);
      case "Gi" -> BigDecimal.valueOf(2).pow(30);
      case "Ti" -> BigDecimal.valueOf(2).pow(40);
      case "Pi" -> BigDecimal.valueOf(2).pow(50);
      default -> throw BerthException.invalidArgument("annotation %s: bad quantity %s", key, quantity);
    };
    try {
      long v = new BigDecimal(number).multiply(multiplier).setScale(0, java.math.RoundingMode.CEILING)
          .longValueExact();
      if (v <= 0) {
        throw BerthException.invalidArgument("annotation %s: %s is not a positive rate", key, quantity);
      }
      return v;
    } catch (NumberFormatException | ArithmeticException e) {
      throw BerthException.invalidArgument("annotation %s: bad quantity %s", key, quantity);
    }
  }
}
