package io.berth.network;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Facts of the CNI specification (https://github.com/containernetworking/cni/blob/main/SPEC.md) that Berth relies
 * on: environment variable names, versions, error codes, naming rules.
 */
final class CniSpec {
  private CniSpec() {}

  static final ObjectMapper JSON = new ObjectMapper();

  static final String ADD = "ADD";
  static final String DEL = "DEL";
  static final String CHECK = "CHECK";

  static final String CNI_COMMAND = "CNI_COMMAND";
  static final String CNI_CONTAINERID = "CNI_CONTAINERID";
  static final String CNI_NETNS = "CNI_NETNS";
  static final String CNI_IFNAME = "CNI_IFNAME";
  static final String CNI_ARGS = "CNI_ARGS";
  static final String CNI_PATH = "CNI_PATH";

  /** Versions whose result format ({@code ips}, {@code interfaces}, {@code routes}, {@code dns}) Berth parses. */
  static final List<String> SUPPORTED_VERSIONS = List.of("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0");

  /** Network names: "must be unique across all network configurations on a host"; libcni's validation pattern. */
  static final Pattern NETWORK_NAME = Pattern.compile("^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$");

  /** Plugin types are file names inside the plugin dirs: no separators, no dot-dot. */
  static final Pattern PLUGIN_TYPE = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9_.\\-]*$");

  // Well-known error codes (SPEC.md "Error"): the ones that mean "the configuration or the call is wrong".
  static final int ERR_INCOMPATIBLE_VERSION = 1;
  static final int ERR_UNSUPPORTED_FIELD = 2;
  static final int ERR_UNKNOWN_CONTAINER = 3;
  static final int ERR_INVALID_ENV = 4;
  static final int ERR_IO = 5;
  static final int ERR_DECODE = 6;
  static final int ERR_INVALID_CONFIG = 7;
  static final int ERR_TRY_AGAIN_LATER = 11;

  static boolean isConfigError(int code) {
    return code == ERR_INCOMPATIBLE_VERSION
        || code == ERR_UNSUPPORTED_FIELD
        || code == ERR_INVALID_ENV
        || code == ERR_DECODE
        || code == ERR_INVALID_CONFIG;
  }

  /** Compares dotted versions numerically; "0.4.0" &lt; "1.0.0". */
  static int compareVersions(String a, String b) {
    String[] x = a.split("\\.");
    String[] y = b.split("\\.");
    for (int i = 0; i < Math.max(x.length, y.length); i++) {
      int p = i < x.length ? parse(x[i]) : 0;
      int q = i < y.length ? parse(y[i]) : 0;
      if (p != q) {
        return Integer.compare(p, q);
      }
    }
    return 0;
  }

  private static int parse(String s) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** CHECK exists from 0.4.0 on (SPEC.md: "CHECK ... was introduced in 0.4.0"). */
  static boolean supportsCheck(String cniVersion) {
    return compareVersions(cniVersion, "0.4.0") >= 0;
  }
}
