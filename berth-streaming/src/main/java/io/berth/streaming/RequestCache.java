package io.berth.streaming;

import io.berth.core.BerthException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Single-use, expiring tokens for pending streaming requests, after kubelet's {@code request_cache.go}: at most
 * {@code maxInFlight} pending requests, expired ones evicted first, RESOURCE_EXHAUSTED when still full. Thread-safe.
 */
final class RequestCache {
  static final int MAX_IN_FLIGHT = 1000;
  private static final int TOKEN_BYTES = 18; // 144 bits; base64url without padding: 24 characters

  private record Entry(Object request, Instant expiry) {}

  private final Clock clock;
  private final Duration ttl;
  private final int maxInFlight;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, Entry> entries = new LinkedHashMap<>(); // insertion order = expiry order

  RequestCache(Clock clock, Duration ttl, int maxInFlight) {
    this.clock = clock;
    this.ttl = ttl;
    this.maxInFlight = maxInFlight;
  }

  synchronized String insert(Object request) {
    Instant now = clock.instant();
    evictExpired(now);
    if (entries.size() >= maxInFlight) {
      throw BerthException.resourceExhausted("too many streaming requests in flight (%d); retry later", maxInFlight);
    }
    String token;
    do {
      byte[] b = new byte[TOKEN_BYTES];
      random.nextBytes(b);
      token = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    } while (entries.containsKey(token));
    entries.put(token, new Entry(request, now.plus(ttl)));
    return token;
  }

  /** Removes and returns the request if the token is known and not expired: a token works once. */
  synchronized Optional<Object> consume(String token) {
    Entry e = entries.remove(token);
    if (e == null || !clock.instant().isBefore(e.expiry())) {
      return Optional.empty();
    }
    return Optional.of(e.request());
  }

  synchronized int size() {
    return entries.size();
  }

  private void evictExpired(Instant now) {
    Iterator<Entry> it = entries.values().iterator();
    while (it.hasNext()) {
      if (now.isBefore(it.next().expiry())) {
        return; // entries are in expiry order
      }
      it.remove();
    }
  }
}
