package io.berth.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Process liveness from {@code /proc/PID/stat}. PID 1 on these machines reaps orphans lazily, so a dead daemon can
 * linger as a zombie for which {@code kill -0} still succeeds: only the state letter tells.
 */
final class ProcStat {
  private ProcStat() {}

  /** The state letter (R, S, D, Z, ...), or 0 when the process does not exist. */
  static char state(int pid) {
    if (pid <= 0) {
      return 0;
    }
    try {
      String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
      int close = s.lastIndexOf(')');
      return close < 0 || close + 2 >= s.length() ? 0 : s.charAt(close + 2);
    } catch (IOException e) {
      return 0;
    }
  }

  /** The process exists and is neither a zombie nor dead. */
  static boolean alive(int pid) {
    char c = state(pid);
    return c != 0 && c != 'Z' && c != 'X' && c != 'x';
  }

  /** The parent pid, or 0. */
  static int ppid(int pid) {
    return field(pid, 1);
  }

  /** The process group id, or 0. */
  static int pgrp(int pid) {
    return field(pid, 2);
  }

  /** The session id, or 0 (also 0 when the session leader is outside our pid namespace). */
  static int session(int pid) {
    return field(pid, 3);
  }

  /** Field after the state: 1 = ppid, 2 = pgrp, 3 = session. */
  private static int field(int pid, int index) {
    try {
      String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
      return Integer.parseInt(f[index]);
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }
}
