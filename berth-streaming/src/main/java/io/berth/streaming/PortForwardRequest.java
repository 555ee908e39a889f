package io.berth.streaming;

import java.util.List;

/**
 * The fields of a CRI {@code PortForwardRequest}. An empty {@code ports} list lets the client name ports per
 * stream (SPDY) or in the {@code port} query parameter (WebSocket), as kubelet allows; otherwise only these ports
 * may be forwarded.
 */
public record PortForwardRequest(String podSandboxId, List<Integer> ports) {
  public PortForwardRequest {
    ports = ports == null ? List.of() : List.copyOf(ports);
  }
}
