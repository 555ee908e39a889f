package io.berth.streaming;

/**
 * The {@code metav1.Status} documents the kubelet writes on the error channel of a remote command (v4 and later):
 * see kubelet {@code cri/streaming/remotecommand/exec.go} and apimachinery {@code util/remotecommand/constants.go}.
 */
final class StatusJson {
  private StatusJson() {}

  static final String SUCCESS = "{\"metadata\":{},\"status\":\"Success\"}";

  /** What the client's v4 decoder turns into an {@code ExitError} with this code. */
  static String nonZeroExit(String message, int code) {
    return "{\"metadata\":{},\"status\":\"Failure\",\"message\":" + quote("command terminated with non-zero exit code: "
        + message) + ",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":"
        + quote(Integer.toString(code)) + "}]}}";
  }

  /** {@code apierrors.NewInternalError(err)}, or NotFound when the target does not exist. */
  static String failure(String reason, int httpCode, String message) {
    String full = reason.equals("InternalError") ? "Internal error occurred: " + message : message;
    return "{\"metadata\":{},\"status\":\"Failure\",\"message\":" + quote(full) + ",\"reason\":" + quote(reason)
        + ",\"details\":{\"causes\":[{\"message\":" + quote(message) + "}]},\"code\":" + httpCode + "}";
  }

  static String portForwardError(String message, boolean closeConnection) {
    return "{" + (closeConnection ? "\"closeConnection\":true," : "") + "\"message\":" + quote(message) + "}\n";
  }

  static String quote(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }
}
