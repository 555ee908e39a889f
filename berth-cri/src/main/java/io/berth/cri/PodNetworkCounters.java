package io.berth.cri;

import io.berth.network.PodNetwork;
import io.berth.network.PodNetwork.InterfaceStats;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Set;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * The interface counters of pods' network namespaces, as the kernel gave them, kept for {@link #TTL_NANOS} so that
 * the kubelet's stats and metrics polls arriving together enter each namespace once. Namespaces whose reading is
 * older are read again in one batch (one thread for all of them, see {@link PodNetwork#interfaceStats}).
 * Host-network pods have no counters of their own: nothing is reported for them, as containerd does. Thread-safe.
 */
final class PodNetworkCounters {
  static final long TTL_NANOS = 1_000_000_000L;

  /**
   * The counters of one pod's namespace and the wall-clock time (ns since the epoch) they were read; {@code live}
   * when read for this very call rather than taken from the cache.
   */
  record Reading(long timestamp, Path netns, List<InterfaceStats> interfaces, boolean live) {
    /** CNI's interface ({@code eth0}), else the first that is not {@code lo} (containerd's rule). */
    Optional<InterfaceStats> defaultInterface() {
      return interfaces.stream().filter(i -> i.name().equals(PodNetwork.POD_INTERFACE)).findFirst()
          .or(() -> interfaces.stream().filter(i -> !i.name().equals("lo")).findFirst());
    }
  }

  private record Cached(long atNanos, Reading reading) {}

  private final Function<Collection<Path>, Map<Path, List<InterfaceStats>>> reader;
  private final LongSupplier nanoTime;
  private final LongSupplier wallNanos;
  private final Map<String, Cached> cache = new ConcurrentHashMap<>();

  PodNetworkCounters(PodNetwork network) {
    this(network::interfaceStats, System::nanoTime, () -> System.currentTimeMillis() * 1_000_000L);
  }

  /** {@code reader} reads the namespaces' counters from the kernel ({@link PodNetwork#interfaceStats}). */
  PodNetworkCounters(Function<Collection<Path>, Map<Path, List<InterfaceStats>>> reader, LongSupplier nanoTime,
      LongSupplier wallNanos) {
    this.reader = reader;
    this.nanoTime = nanoTime;
    this.wallNanos = wallNanos;
  }

  /** Readings by sandbox id; sandboxes without a network namespace, or whose namespace is gone, are absent. */
  Map<String, Reading> read(Collection<Sandbox> sandboxes) {
    long now = nanoTime.getAsLong();
    Map<String, Reading> out = new HashMap<>();
    Map<Path, String> stale = new HashMap<>();
    for (Sandbox s : sandboxes) {
      if (s.hostNetwork()) {
        continue;
      }
      Path netns = Path.of(s.record().getNetnsPath());
      Cached c = cache.get(s.id());
      if (c != null && now - c.atNanos() < TTL_NANOS && c.reading().netns().equals(netns)) {
        out.put(s.id(), c.reading());  // stored with live = false
      } else {
        stale.put(netns, s.id());
      }
    }
    if (!stale.isEmpty()) {
      Map<Path, List<InterfaceStats>> fresh = reader.apply(new ArrayList<>(stale.keySet()));
      long at = wallNanos.getAsLong();
      long readAt = nanoTime.getAsLong();
      stale.forEach((netns, id) -> {
        List<InterfaceStats> ifaces = fresh.get(netns);
        if (ifaces == null) {
          cache.remove(id);
          return;
        }
        Reading r = new Reading(at, netns, List.copyOf(ifaces), true);
        cache.put(id, new Cached(readAt, new Reading(at, netns, r.interfaces(), false)));
        out.put(id, r);
      });
    }
    return out;
  }

  Optional<Reading> read(Sandbox sandbox) {
    return Optional.ofNullable(read(List.of(sandbox)).get(sandbox.id()));
  }

  /** Drops readings of sandboxes not in {@code live}, so the cache stays as large as the set of pods. */
  void retainOnly(Set<String> live) {
    cache.keySet().retainAll(live);
  }
}
