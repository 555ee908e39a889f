package io.berth.image;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Chooses the manifest of an index for a host platform, with containerd's platform vector rules: the host matches
 * its own os and architecture, with its variant first and then each lower variant it can run (amd64 v4 runs v3, v2,
 * v1 = no variant; arm v7 runs v6 and v5; arm64 v9+ runs v8). An exact match beats a lower variant; among equals the
 * first in the index wins.
 */
final class PlatformMatcher {
  private PlatformMatcher() {}

  /** The acceptable platforms for {@code host}, best first. */
  static List<Platform> vector(Platform host) {
    List<Platform> out = new ArrayList<>();
    out.add(host);
    switch (host.architecture()) {
      case "amd64" -> {
        int level = level(host.variant(), 1);
        for (int v = level - 1; v >= 1; v--) {
          out.add(new Platform(host.os(), "amd64", v == 1 ? "" : "v" + v));
        }
      }
      case "arm" -> {
        int level = level(host.variant(), 7);
        for (int v = level - 1; v >= 5; v--) {
          out.add(new Platform(host.os(), "arm", "v" + v));
        }
      }
      case "arm64" -> {
        if (!host.variant().equals("v8")) {
          out.add(new Platform(host.os(), "arm64", "v8"));
        }
      }
      default -> { }
    }
    return out;
  }

  private static int level(String variant, int dflt) {
    if (variant.isEmpty()) {
      return dflt;
    }
    try {
      return Integer.parseInt(variant.substring(1).replaceAll("\\..*", ""));
    } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
      return dflt;
    }
  }

  /** The best entry for {@code host}, if any. */
  static Optional<Manifests.IndexEntry> choose(List<Manifests.IndexEntry> entries, Platform host) {
    List<Platform> vector = vector(host);
    return entries.stream()
        .filter(e -> e.platform().isPresent() && vector.contains(e.platform().get()))
        .min(Comparator.comparingInt(e -> vector.indexOf(e.platform().get())));
  }
}
