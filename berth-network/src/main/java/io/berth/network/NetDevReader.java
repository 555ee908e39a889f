package io.berth.network;

import io.berth.core.BerthException;
import io.berth.linux.Syscalls;
import io.berth.network.PodNetwork.InterfaceStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the interface counters of network namespaces from the kernel's {@code /proc/net/dev} table, without running
 * anything: a platform thread of its own enters each namespace in turn (setns(2) changes only the calling OS
 * thread), reads {@code /proc/thread-self/net/dev} (which shows the calling thread's namespace; {@code
 * /proc/self/net} would show the main thread's), and returns to the host's namespace before it ends.
 */
final class NetDevReader {
  private static final Logger log = LoggerFactory.getLogger(NetDevReader.class);
  private static final String SELF_NETNS = "/proc/thread-self/ns/net";
  private static final Path NET_DEV = Path.of("/proc/thread-self/net/dev");

  private NetDevReader() {}

  /**
   * The counters of every interface in each namespace, {@code lo} included; a namespace that cannot be entered (gone,
   * not a netns) is left out of the result. One thread for the whole batch, so polling many pods costs one thread
   * start, not one per pod.
   */
  static Map<Path, List<InterfaceStats>> read(Collection<Path> namespaces) {
    if (namespaces.isEmpty()) {
      return Map.of();
    }
    CompletableFuture<Map<Path, List<InterfaceStats>>> result = new CompletableFuture<>();
    Thread.ofPlatform().name("netns-stats").daemon().start(() -> {
      try {
        result.complete(readOnThisThread(namespaces));
      } catch (Throwable t) {
        result.completeExceptionally(t);
      }
    });
    try {
      return result.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : BerthException.internal(e.getCause(), "read netns stats");
    }
  }

  private static Map<Path, List<InterfaceStats>> readOnThisThread(Collection<Path> namespaces) throws IOException {
    Map<Path, List<InterfaceStats>> out = new HashMap<>();
    int self = Syscalls.openReadOnly(SELF_NETNS);
    boolean away = false;
    try {
      for (Path ns : namespaces) {
        int fd;
        try {
          fd = Syscalls.openReadOnly(ns.toString());
        } catch (RuntimeException e) {
          log.debug("netns {} is gone: {}", ns, e.getMessage());
          continue;
        }
        try {
          // a failed setns leaves the thread where it was, so nothing is read for this namespace
          Syscalls.setns(fd, Syscalls.CLONE_NEWNET);
          away = true;
          out.put(ns, parse(Files.readString(NET_DEV)));
        } catch (RuntimeException e) {
          log.debug("cannot enter netns {}: {}", ns, e.getMessage());
        } finally {
          Syscalls.close(fd);
        }
      }
    } finally {
      try {
        if (away) {
          Syscalls.setns(self, Syscalls.CLONE_NEWNET);
        }
      } finally {
        Syscalls.close(self);
      }
    }
    return out;
  }

  /**
   * Parses the {@code /proc/net/dev} table: two header lines, then {@code name: } and sixteen counters, eight
   * received (bytes packets errs drop fifo frame compressed multicast) and eight transmitted (bytes packets errs drop
   * fifo colls carrier compressed), as the kernel's {@code dev_seq_printf_stats} prints them.
   */
  static List<InterfaceStats> parse(String table) {
    List<InterfaceStats> out = new ArrayList<>();
    for (String line : table.split("\n")) {
      int colon = line.indexOf(':');
      if (colon < 0 || line.indexOf('|') >= 0) {
        continue;
      }
      String name = line.substring(0, colon).trim();
      String[] f = line.substring(colon + 1).trim().split("\\s+");
      if (name.isEmpty() || f.length < 16) {
        continue;
      }
      try {
        out.add(new InterfaceStats(name, num(f[0]), num(f[1]), num(f[2]), num(f[3]), num(f[8]), num(f[9]),
            num(f[10]), num(f[11])));
      } catch (NumberFormatException e) {
        log.debug("unparseable /proc/net/dev line: {}", line);
      }
    }
    return out;
  }

  private static long num(String s) {
    return Long.parseUnsignedLong(s);
  }
}
