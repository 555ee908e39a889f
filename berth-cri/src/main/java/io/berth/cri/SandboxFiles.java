package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.cri.api.DNSConfig;
import io.berth.cri.api.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * The per-pod files bind-mounted into every container of the pod: /etc/hostname, /etc/hosts and /etc/resolv.conf
 * (from the CRI DNSConfig, or the host's resolv.conf when the pod gives none).
 */
final class SandboxFiles {
  // A DNS server, search domain or option must be one token: no whitespace or newline can add lines to the file.
  private static final Pattern TOKEN = Pattern.compile("[^\\s#;]+");

  private SandboxFiles() {}

  record Paths(Path hostname, Path hosts, Path resolvConf) {}

  static Paths write(Path dir, PodSandboxConfig config, boolean hostNetwork) throws IOException {
    String hostname = config.getHostname().isEmpty() ? hostHostname(hostNetwork) : config.getHostname();
    validateHostname(hostname);
    Path hostnameFile = dir.resolve("hostname");
    Files.writeString(hostnameFile, hostname + "\n");
    Path hosts = dir.resolve("hosts");
    if (hostNetwork && Files.isReadable(Path.of("/etc/hosts"))) {
      Files.copy(Path.of("/etc/hosts"), hosts, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } else {
      Files.writeString(hosts, """
          127.0.0.1\tlocalhost
          ::1\tlocalhost ip6-localhost ip6-loopback
          fe00::0\tip6-localnet
          fe00::0\tip6-mcastprefix
          fe00::1\tip6-allnodes
          fe00::2\tip6-allrouters
          """);
    }
    Path resolv = dir.resolve("resolv.conf");
    Files.writeString(resolv, resolvConf(config.getDnsConfig()));
    return new Paths(hostnameFile, hosts, resolv);
  }

  static String resolvConf(DNSConfig dns) throws IOException {
    if (dns.getServersCount() == 0 && dns.getSearchesCount() == 0 && dns.getOptionsCount() == 0) {
      Path host = Path.of("/etc/resolv.conf");
      return Files.isReadable(host) ? Files.readString(host) : "";
    }
    StringBuilder sb = new StringBuilder();
    if (dns.getSearchesCount() > 0) {
      dns.getSearchesList().forEach(s -> check("dns search", s));
      sb.append("search ").append(String.join(" ", dns.getSearchesList())).append('\n');
    }
    for (String s : dns.getServersList()) {
      check("dns server", s);
      sb.append("nameserver ").append(s).append('\n');
    }
    if (dns.getOptionsCount() > 0) {
      dns.getOptionsList().forEach(s -> check("dns option", s));
      sb.append("options ").append(String.join(" ", dns.getOptionsList())).append('\n');
    }
    return sb.toString();
  }

  private static void check(String what, String value) {
    if (!TOKEN.matcher(value).matches()) {
      throw BerthException.invalidArgument("invalid %s %s", what, value);
    }
  }

  private static void validateHostname(String hostname) {
    if (hostname.length() > 64 || !hostname.matches("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")) {
      throw BerthException.invalidArgument("invalid hostname %s", hostname);
    }
  }

  private static String hostHostname(boolean hostNetwork) {
    try {
      return Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
    } catch (IOException e) {
      return "localhost";
    }
  }
}
