package io.berth.oci;

import io.berth.core.BerthException;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Validates pod sysctls: only namespaced ones, with a strict name syntax and a value that cannot carry a second
 * setting (CVE-2022-0811 smuggled {@code +kernel.core_pattern=...} through a value).
 */
final class Sysctls {
  // Kubernetes' sysctl name syntax (pkg/apis/core/validation), dot form.
  private static final Pattern NAME =
      Pattern.compile("^([a-z0-9]([-_a-z0-9]*[a-z0-9])?\\.)*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$");
  private static final int MAX_NAME = 253;
  private static final int MAX_VALUE = 4096;

  private Sysctls() {}

  /**
   * The validated sysctls, names in dot form.
   *
   * @param hostNetwork the pod uses the host's network namespace: {@code net.*} would change the host
   * @param hostIpc the pod uses the host's IPC namespace: {@code kernel.shm*}, {@code kernel.msg*},
   *     {@code kernel.sem} and {@code fs.mqueue.*} would change the host
   */
  static Map<String, String> validate(Map<String, String> sysctls, boolean hostNetwork, boolean hostIpc) {
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<String, String> e : sysctls.entrySet()) {
      String name = normalize(e.getKey());
      String value = e.getValue();
      if (name.length() > MAX_NAME || !NAME.matcher(name).matches()) {
        throw BerthException.invalidArgument("invalid sysctl name %s", e.getKey());
      }
      if (value == null || value.length() > MAX_VALUE) {
        throw BerthException.invalidArgument("invalid value for sysctl %s", name);
      }
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        if (c < 0x20 && c != '\t' || c == 0x7f || c == '=') {
          throw BerthException.invalidArgument("invalid value for sysctl %s: control character or '='", name);
        }
      }
      boolean ipc = name.startsWith("kernel.shm") || name.startsWith("kernel.msg") || name.equals("kernel.sem")
          || name.startsWith("fs.mqueue.");
      boolean net = name.startsWith("net.");
      if (!ipc && !net) {
        throw BerthException.invalidArgument("sysctl %s is not namespaced; only net.*, kernel.shm*, kernel.msg*,"
            + " kernel.sem and fs.mqueue.* are allowed", name);
      }
      if (net && hostNetwork) {
        throw BerthException.invalidArgument("sysctl %s is not allowed with the host network", name);
      }
      if (ipc && hostIpc) {
        throw BerthException.invalidArgument("sysctl %s is not allowed with the host IPC namespace", name);
      }
      out.put(name, value);
    }
    return out;
  }

  /** Kubernetes accepts the slash form ({@code net/ipv4/ip_forward}); dots and slashes swap roles there. */
  static String normalize(String name) {
    if (name.indexOf('/') < 0) {
      return name;
    }
    StringBuilder b = new StringBuilder(name.length());
    for (char c : name.toCharArray()) {
      b.append(c == '/' ? '.' : c == '.' ? '/' : c);
    }
    String swapped = b.toString();
    if (swapped.indexOf('/') >= 0) {
      // An interface name with a dot (eno2.100) cannot be written in dot form safely.
      throw BerthException.invalidArgument("unsupported sysctl name %s", name);
    }
    return swapped;
  }
}
