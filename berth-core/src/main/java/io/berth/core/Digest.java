package io.berth.core;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A content digest as the OCI image spec defines it: {@code algorithm:encoded}. Only sha256 and sha512 are accepted,
 * and the encoded part is validated so a digest can be used as a file name without escaping anything.
 */
public record Digest(String algorithm, String hex) implements Comparable<Digest> {
  private static final Pattern SHA256 = Pattern.compile("[a-f0-9]{64}");
  private static final Pattern SHA512 = Pattern.compile("[a-f0-9]{128}");

  public Digest {
    switch (algorithm) {
      case "sha256" -> {
        if (!SHA256.matcher(hex).matches()) {
          throw BerthException.invalidArgument("invalid sha256 digest %s", hex);
        }
      }
      case "sha512" -> {
        if (!SHA512.matcher(hex).matches()) {
          throw BerthException.invalidArgument("invalid sha512 digest %s", hex);
        }
      }
      default -> throw BerthException.invalidArgument("unsupported digest algorithm %s", algorithm);
    }
  }

  /** Parses {@code sha256:...}; throws INVALID_ARGUMENT on anything else. */
  public static Digest parse(String s) {
    int colon = s == null ? -1 : s.indexOf(':');
    if (colon <= 0) {
      throw BerthException.invalidArgument("invalid digest %s", s);
    }
    return new Digest(s.substring(0, colon), s.substring(colon + 1));
  }

  /** True if {@link #parse} accepts {@code s}; without an exception, as image lookups ask it of every reference. */
  public static boolean isDigest(String s) {
    int colon = s == null ? -1 : s.indexOf(':');
    if (colon <= 0) {
      return false;
    }
    String hex = s.substring(colon + 1);
    return switch (s.substring(0, colon)) {
      case "sha256" -> SHA256.matcher(hex).matches();
      case "sha512" -> SHA512.matcher(hex).matches();
      default -> false;
    };
  }

  public static Digest sha256(byte[] data) {
    return of("sha256", data);
  }

  public static Digest of(String algorithm, byte[] data) {
    MessageDigest md = newMessageDigest(algorithm);
    return new Digest(algorithm, HexFormat.of().formatHex(md.digest(data)));
  }

  /** A fresh digester for this digest's algorithm. */
  public MessageDigest newMessageDigest() {
    return newMessageDigest(algorithm);
  }

  /** A fresh digester: OpenSSL's when the system has it (see {@link NativeDigest}), else the JDK's. */
  public static MessageDigest newMessageDigest(String algorithm) {
    Optional<MessageDigest> fast = NativeDigest.sha2(algorithm);
    if (fast.isPresent()) {
      return fast.get();
    }
    return jdkMessageDigest(algorithm);
  }

  static MessageDigest jdkMessageDigest(String algorithm) {
    try {
      return MessageDigest.getInstance(switch (algorithm) {
        case "sha256" -> "SHA-256";
        case "sha512" -> "SHA-512";
        default -> throw BerthException.invalidArgument("unsupported digest algorithm %s", algorithm);
      });
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** True if the finished digester's result equals this digest. */
  public boolean matches(MessageDigest finished) {
    return hex.equals(HexFormat.of().formatHex(finished.digest()));
  }

  @Override
  public int compareTo(Digest o) {
    return toString().compareTo(o.toString());
  }

  @Override
  public String toString() {
    return algorithm + ":" + hex;
  }
}
