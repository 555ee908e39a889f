package io.berth.image;

import io.berth.core.BerthException;
import java.util.Locale;
import java.util.Objects;

/**
 * An OCI platform ({@code os/architecture[/variant]}), normalized as containerd's platforms package does: {@code x86_64}
 * is {@code amd64} (whose {@code v1} is no variant), {@code aarch64} is {@code arm64} (default variant {@code v8}),
 * 32-bit {@code arm} defaults to {@code v7}.
 */
public record Platform(String os, String architecture, String variant) {
  public Platform {
    Objects.requireNonNull(os, "os");
    Objects.requireNonNull(architecture, "architecture");
    variant = variant == null ? "" : variant;
    os = os.toLowerCase(Locale.ROOT);
    String arch = architecture.toLowerCase(Locale.ROOT);
    String v = variant.toLowerCase(Locale.ROOT);
    switch (arch) {
      case "x86_64", "x86-64", "amd64" -> {
        arch = "amd64";
        if (v.equals("v1")) {
          v = "";
        }
      }
      case "aarch64", "arm64" -> {
        arch = "arm64";
        if (v.isEmpty() || v.equals("8") || v.equals("v8.0")) {
          v = "v8";
        }
      }
      case "armhf" -> {
        arch = "arm";
        v = "v7";
      }
      case "armel" -> {
        arch = "arm";
        v = "v6";
      }
      case "arm" -> {
        if (v.isEmpty() || v.equals("7")) {
          v = "v7";
        } else if (v.matches("[5-8]")) {
          v = "v" + v;
        }
      }
      case "i386", "i486", "i586", "i686", "386" -> arch = "386";
      default -> { }
    }
    architecture = arch;
    variant = v;
  }

  /** Parses {@code os/arch[/variant]}; INVALID_ARGUMENT on anything else. */
  public static Platform parse(String s) {
    String[] parts = s == null ? new String[0] : s.split("/", -1);
    if (parts.length < 2 || parts.length > 3 || parts[0].isBlank() || parts[1].isBlank()) {
      throw BerthException.invalidArgument("invalid platform %s: want os/architecture[/variant]", s);
    }
    return new Platform(parts[0], parts[1], parts.length == 3 ? parts[2] : "");
  }

  /** The platform of this JVM's host (always linux here). */
  public static Platform host() {
    return new Platform("linux", System.getProperty("os.arch"), "");
  }

  @Override
  public String toString() {
    return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
  }
}
