package io.berth.daemon;

import java.time.Duration;
import java.util.Arrays;

/** Validation of config values; every failure names the key. */
final class Checks {
  private Checks() {}

  static void positive(String key, int v) {
    if (v <= 0) {
      throw new ConfigException(key + ": must be positive, got " + v);
    }
  }

  static void nonNegative(String key, int v) {
    if (v < 0) {
      throw new ConfigException(key + ": must not be negative, got " + v);
    }
  }

  static void range(String key, int v, int min, int max) {
    if (v < min || v > max) {
      throw new ConfigException(key + ": must be between " + min + " and " + max + ", got " + v);
    }
  }

  static void oneOf(String key, String v, String... allowed) {
    if (!Arrays.asList(allowed).contains(v)) {
      throw new ConfigException(key + ": must be one of " + String.join(", ", allowed) + ", got '" + v + "'");
    }
  }

  static Duration duration(String key, String v) {
    try {
      return parseDuration(v);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key + ": not a duration like 30s, 5m or 1h30m: '" + v + "'");
    }
  }

  /** Go-style durations ("1m30s", "500ms", "10s"), as containerd's config uses. */
  static Duration parseDuration(String v) {
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException(v);
    }
    Duration total = Duration.ZERO;
    int i = 0;
    while (i < v.length()) {
      int start = i;
      while (i < v.length() && Character.isDigit(v.charAt(i))) {
        i++;
      }
      if (start == i) {
        throw new IllegalArgumentException(v);
      }
      long n = Long.parseLong(v.substring(start, i));
      int unitStart = i;
      while (i < v.length() && Character.isLetter(v.charAt(i))) {
        i++;
      }
      total = total.plus(switch (v.substring(unitStart, i)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> throw new IllegalArgumentException(v);
      });
    }
    return total;
  }
}
