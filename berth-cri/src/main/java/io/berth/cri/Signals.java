package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.cri.api.Signal;
import java.util.Map;

/** Signal names (image STOPSIGNAL, CRI stop_signal) to Linux x86_64 numbers. */
final class Signals {
  static final int SIGKILL = 9;
  static final int SIGTERM = 15;

  private static final Map<String, Integer> NUMBERS = Map.ofEntries(
      Map.entry("SIGHUP", 1), Map.entry("SIGINT", 2), Map.entry("SIGQUIT", 3), Map.entry("SIGILL", 4),
      Map.entry("SIGTRAP", 5), Map.entry("SIGABRT", 6), Map.entry("SIGIOT", 6), Map.entry("SIGBUS", 7),
      Map.entry("SIGFPE", 8), Map.entry("SIGKILL", 9), Map.entry("SIGUSR1", 10), Map.entry("SIGSEGV", 11),
      Map.entry("SIGUSR2", 12), Map.entry("SIGPIPE", 13), Map.entry("SIGALRM", 14), Map.entry("SIGTERM", 15),
      Map.entry("SIGSTKFLT", 16), Map.entry("SIGCHLD", 17), Map.entry("SIGCLD", 17), Map.entry("SIGCONT", 18),
      Map.entry("SIGSTOP", 19), Map.entry("SIGTSTP", 20), Map.entry("SIGTTIN", 21), Map.entry("SIGTTOU", 22),
      Map.entry("SIGURG", 23), Map.entry("SIGXCPU", 24), Map.entry("SIGXFSZ", 25), Map.entry("SIGVTALRM", 26),
      Map.entry("SIGPROF", 27), Map.entry("SIGWINCH", 28), Map.entry("SIGIO", 29), Map.entry("SIGPOLL", 29),
      Map.entry("SIGPWR", 30), Map.entry("SIGSYS", 31), Map.entry("SIGRTMIN", 34), Map.entry("SIGRTMAX", 64));

  private Signals() {}

  /** Parses {@code SIGTERM}, {@code TERM} or {@code 15}; INVALID_ARGUMENT otherwise. */
  static int parse(String s) {
    String name = s.trim().toUpperCase();
    if (name.matches("[0-9]+")) {
      int n = Integer.parseInt(name);
      if (n >= 1 && n <= 64) {
        return n;
      }
    }
    Integer n = NUMBERS.get(name.startsWith("SIG") ? name : "SIG" + name);
    if (n == null) {
      throw BerthException.invalidArgument("unknown signal %s", s);
    }
    return n;
  }

  /** The CRI enum's name is the signal name, except for the real-time offsets. */
  static String name(Signal s) {
    String n = s.name();
    if (n.startsWith("SIGRTMINPLUS")) {
      return Integer.toString(34 + Integer.parseInt(n.substring("SIGRTMINPLUS".length())));
    }
    if (n.startsWith("SIGRTMAXMINUS")) {
      return Integer.toString(64 - Integer.parseInt(n.substring("SIGRTMAXMINUS".length())));
    }
    return n;
  }
}
