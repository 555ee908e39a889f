package io.berth.cri;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.cri.api.NetworkUsage;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.ext.SandboxRecord;
import io.berth.network.PodNetwork.InterfaceStats;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The counters cache: one batch read for the stale pods, none for host-network pods, expiry by a fake clock. */
class PodNetworkCountersTest {
  final AtomicLong clock = new AtomicLong(1_000);
  final List<List<Path>> reads = new ArrayList<>();
  final AtomicLong rx = new AtomicLong(100);

  final PodNetworkCounters counters = new PodNetworkCounters(this::read, clock::get, () -> 77L);

  Map<Path, List<InterfaceStats>> read(Collection<Path> netns) {
    reads.add(List.copyOf(netns));
    Map<Path, List<InterfaceStats>> out = new java.util.HashMap<>();
    for (Path p : netns) {
      if (!p.toString().contains("gone")) {
        out.put(p, List.of(new InterfaceStats("lo", 1, 1, 0, 0, 1, 1, 0, 0),
            new InterfaceStats("eth0", rx.get(), 1, 0, 0, 50, 1, 0, 0)));
      }
    }
    return out;
  }

  static Sandbox pod(String id, String netns) {
    return new Sandbox(SandboxRecord.newBuilder().setId(id).setNetnsPath(netns)
        .setState(PodSandboxState.SANDBOX_READY_VALUE).build());
  }

  @Test
  void read_severalPods_oneBatchForAllAndNoneForHostNetwork() {
    Map<String, PodNetworkCounters.Reading> r = counters.read(List.of(pod("a", "/run/ns/a"), pod("b", "/run/ns/b"),
        pod("host", ""), pod("c", "/run/ns/gone")));
    assertThat(reads).hasSize(1);
    assertThat(reads.getFirst()).containsExactlyInAnyOrder(Path.of("/run/ns/a"), Path.of("/run/ns/b"),
        Path.of("/run/ns/gone"));
    assertThat(r).containsOnlyKeys("a", "b");
    assertThat(r.get("a").timestamp()).isEqualTo(77L);
    assertThat(r.get("a").defaultInterface().orElseThrow().name()).isEqualTo("eth0");
  }

  @Test
  void read_withinTtl_cachedThenReadAgainAfter() {
    Sandbox a = pod("a", "/run/ns/a");
    PodNetworkCounters.Reading first = counters.read(a).orElseThrow();
    assertThat(first.interfaces().get(1).rxBytes()).isEqualTo(100);
    assertThat(first.live()).isTrue();
    rx.set(500);
    clock.addAndGet(PodNetworkCounters.TTL_NANOS - 1);
    PodNetworkCounters.Reading cached = counters.read(a).orElseThrow();
    assertThat(cached.interfaces().get(1).rxBytes()).isEqualTo(100);
    assertThat(cached.live()).as("from the cache").isFalse();
    assertThat(cached.timestamp()).isEqualTo(first.timestamp());
    assertThat(reads).hasSize(1);
    clock.addAndGet(1);
    assertThat(counters.read(a).orElseThrow().interfaces().get(1).rxBytes()).isEqualTo(500);
    assertThat(reads).hasSize(2);
  }

  @Test
  void retainOnly_removedPod_readAgainIfItCameBack() {
    Sandbox a = pod("a", "/run/ns/a");
    counters.read(a);
    counters.retainOnly(Set.of());
    counters.read(a);
    assertThat(reads).hasSize(2);
  }

  @Test
  void networkUsage_interfacesWithoutLoAndEth0AsDefault() {
    NetworkUsage n = Stats.networkUsage(new PodNetworkCounters.Reading(5, Path.of("/x"), List.of(
        new InterfaceStats("lo", 1, 1, 0, 0, 1, 1, 0, 0), new InterfaceStats("net1", 7, 1, 0, 0, 8, 1, 0, 0),
        new InterfaceStats("eth0", 10, 1, 2, 0, 20, 1, 3, 0)), true));
    assertThat(n.getTimestamp()).isEqualTo(5);
    assertThat(n.getInterfacesList()).extracting(i -> i.getName()).containsExactly("net1", "eth0");
    assertThat(n.getDefaultInterface().getName()).isEqualTo("eth0");
    assertThat(n.getDefaultInterface().getRxBytes().getValue()).isEqualTo(10);
    assertThat(n.getDefaultInterface().getRxErrors().getValue()).isEqualTo(2);
    assertThat(n.getDefaultInterface().getTxBytes().getValue()).isEqualTo(20);
    assertThat(n.getDefaultInterface().getTxErrors().getValue()).isEqualTo(3);
  }

  @Test
  void networkUsage_noEth0_firstInterfaceButLoIsDefault() {
    NetworkUsage n = Stats.networkUsage(new PodNetworkCounters.Reading(5, Path.of("/x"), List.of(
        new InterfaceStats("lo", 1, 1, 0, 0, 1, 1, 0, 0), new InterfaceStats("net1", 7, 1, 0, 0, 8, 1, 0, 0)),
        true));
    assertThat(n.getDefaultInterface().getName()).isEqualTo("net1");
  }
}
