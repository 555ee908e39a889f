package io.berth.streaming;

import io.berth.core.BerthException;
import java.time.Duration;

/**
 * The {@code [streaming]} section: where the exec/attach/port-forward server listens and how long its URLs live.
 *
 * @param address     listen address; {@code null} means loopback ({@code 127.0.0.1}), as containerd defaults to
 * @param port        listen port; 0 picks a free one
 * @param tokenTtl    how long a URL handed out by Exec/Attach/PortForward stays valid; {@code null} means 30 s; must
 *                    be positive and at most one minute (kubelet's request cache uses one minute)
 * @param idleTimeout a session with no traffic in either direction for this long is closed; {@code null} means
 *                    4 h (kubelet's StreamIdleTimeout)
 */
public record StreamingConfig(String address, int port, Duration tokenTtl, Duration idleTimeout) {
  public static final String DEFAULT_ADDRESS = "127.0.0.1";
  public static final Duration DEFAULT_TOKEN_TTL = Duration.ofSeconds(30);
  public static final Duration MAX_TOKEN_TTL = Duration.ofMinutes(1);
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofHours(4);

  public StreamingConfig {
    if (address == null || address.isBlank()) {
      address = DEFAULT_ADDRESS;
    }
    if (port < 0 || port > 65535) {
      throw BerthException.invalidArgument("streaming port %d out of range", port);
    }
    if (tokenTtl == null) {
      tokenTtl = DEFAULT_TOKEN_TTL;
    }
    if (tokenTtl.isNegative() || tokenTtl.isZero() || tokenTtl.compareTo(MAX_TOKEN_TTL) > 0) {
      throw BerthException.invalidArgument("streaming token ttl %s must be in (0, 1m]", tokenTtl);
    }
    if (idleTimeout == null) {
      idleTimeout = DEFAULT_IDLE_TIMEOUT;
    }
    if (idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw BerthException.invalidArgument("streaming idle timeout %s must be positive", idleTimeout);
    }
  }

  /** Loopback, a random port, the defaults above. */
  public static StreamingConfig defaults() {
    return new StreamingConfig(null, 0, null, null);
  }
}
