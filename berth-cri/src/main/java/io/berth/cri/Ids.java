package io.berth.cri;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Random 64-hex-digit ids for sandboxes and containers, as containerd and CRI-O use. */
final class Ids {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Ids() {}

  static String newId() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}
