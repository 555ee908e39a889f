package io.berth.oci;

import io.berth.core.BerthException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Capability names and the default set. */
final class Capabilities {
  /** containerd's and Docker's default set (containerd pkg/oci defaultUnixCaps). */
  static final List<String> DEFAULT = List.of(
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
      "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
      "CAP_AUDIT_WRITE");

  /** Capability numbers 0..40 (linux/capability.h). */
  static final List<String> ALL_KNOWN = List.of(
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
      "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
      "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
      "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
      "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
      "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
      "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE");

  private Capabilities() {}

  /** {@code net_admin} or {@code CAP_NET_ADMIN} to {@code CAP_NET_ADMIN}; unknown names are refused. */
  static String canonical(String name) {
    String up = name.trim().toUpperCase(Locale.ROOT);
    String full = up.startsWith("CAP_") ? up : "CAP_" + up;
    if (!ALL_KNOWN.contains(full)) {
      throw BerthException.invalidArgument("unknown capability %s", name);
    }
    return full;
  }

  /** Applies CRI add/drop lists ("ALL" included, add ALL first, then drop ALL, then the named ones). */
  static List<String> apply(List<String> base, List<String> add, List<String> drop, List<String> all) {
    Set<String> caps = new LinkedHashSet<>(base);
    if (add.stream().anyMatch(c -> c.equalsIgnoreCase("ALL"))) {
      caps.addAll(all);
    }
    if (drop.stream().anyMatch(c -> c.equalsIgnoreCase("ALL"))) {
      caps.clear();
    }
    for (String c : add) {
      if (!c.equalsIgnoreCase("ALL")) {
        caps.add(canonical(c));
      }
    }
    for (String c : drop) {
      if (!c.equalsIgnoreCase("ALL")) {
        caps.remove(canonical(c));
      }
    }
    return new ArrayList<>(caps);
  }

  /** Names of the bits set in a /proc/PID/status capability mask. */
  static List<String> fromMask(long mask) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < ALL_KNOWN.size(); i++) {
      if ((mask & (1L << i)) != 0) {
        out.add(ALL_KNOWN.get(i));
      }
    }
    return out;
  }
}
