package io.berth.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import io.berth.cri.api.IDMapping;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.NamespaceOption;
import io.berth.cri.api.UserNamespace;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class PodUserNamespaceTest {
  static IDMapping map(long container, long host, long length) {
    return IDMapping.newBuilder().setContainerId((int) container).setHostId((int) host).setLength((int) length)
        .build();
  }

  static NamespaceOption pod(NamespaceMode mode, List<IDMapping> uids, List<IDMapping> gids) {
    return NamespaceOption.newBuilder().setNetwork(NamespaceMode.POD).setIpc(NamespaceMode.POD)
        .setPid(NamespaceMode.CONTAINER)
        .setUsernsOptions(UserNamespace.newBuilder().setMode(mode).addAllUids(uids).addAllGids(gids)).build();
  }

  static NamespaceOption pod(IDMapping m) {
    return pod(NamespaceMode.POD, List.of(m), List.of(m));
  }

  static void invalid(ThrowingCallable c, String message) {
    assertThatThrownBy(c).isInstanceOf(BerthException.class).hasMessageContaining(message)
        .satisfies(e -> assertThat(((BerthException) e).kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
  }

  @Test
  void of_noOptionsOrNode_hostUserNamespace() {
    assertThat(PodUserNamespace.of(NamespaceOption.getDefaultInstance())).isEmpty();
    assertThat(PodUserNamespace.of(pod(NamespaceMode.NODE, List.of(), List.of()))).isEmpty();
  }

  @Test
  void of_nodeWithMappings_invalid() {
    invalid(() -> PodUserNamespace.of(pod(NamespaceMode.NODE, List.of(map(0, 1000, 10)), List.of())),
        "takes no mappings");
  }

  @Test
  void of_podWithOneMappingEach_rangesAndRootIds() {
    PodUserNamespace u = PodUserNamespace.of(pod(NamespaceMode.POD, List.of(map(0, 65536, 65536)),
        List.of(map(0, 131072, 65536)))).orElseThrow();
    assertThat(u.uids()).isEqualTo(new PodUserNamespace.Range(65536, 65536));
    assertThat(u.rootUid()).isEqualTo(65536);
    assertThat(u.rootGid()).isEqualTo(131072);
    assertThat(u.uids().lastHostId()).isEqualTo(131071);
    assertThat(u.uids().maps(65535)).isTrue();
    assertThat(u.uids().maps(65536)).isFalse();
  }

  @Test
  void of_critestMapping_accepted() {
    assertThat(PodUserNamespace.of(pod(map(0, 1000, 100000)))).isPresent();
  }

  @Test
  void of_containerAndTargetModes_unsupported() {
    invalid(() -> PodUserNamespace.of(pod(NamespaceMode.CONTAINER, List.of(), List.of())), "not supported");
    invalid(() -> PodUserNamespace.of(pod(NamespaceMode.TARGET, List.of(), List.of())), "not supported");
  }

  @Test
  void of_podWithoutMappings_invalid() {
    invalid(() -> PodUserNamespace.of(pod(NamespaceMode.POD, List.of(), List.of(map(0, 1000, 10)))),
        "exactly one uid mapping, got 0");
    invalid(() -> PodUserNamespace.of(pod(NamespaceMode.POD, List.of(map(0, 1000, 10)), List.of())),
        "exactly one gid mapping, got 0");
  }

  @Test
  void of_twoMappings_invalid() {
    invalid(() -> PodUserNamespace.of(pod(NamespaceMode.POD, List.of(map(0, 1000, 100000), map(0, 2000, 100000)),
        List.of(map(0, 1000, 100000)))), "exactly one uid mapping, got 2");
  }

  @Test
  void of_rootNotMapped_invalid() {
    invalid(() -> PodUserNamespace.of(pod(map(1, 1000, 100000))), "must start at container id 0");
  }

  @Test
  void of_zeroLength_invalid() {
    invalid(() -> PodUserNamespace.of(pod(map(0, 1000, 0))), "length 0");
  }

  @Test
  void of_hostRoot_invalid() {
    invalid(() -> PodUserNamespace.of(pod(map(0, 0, 65536))), "host's root");
  }

  @Test
  void of_overflow_invalid() {
    invalid(() -> PodUserNamespace.of(pod(map(0, 0xFFFF_0000L, 0x10000L))), "overflows");
    // the largest valid range ends at 2^32-2
    assertThat(PodUserNamespace.of(pod(map(0, 0xFFFF_0000L, 0xFFFFL)))).isPresent();
  }

  @Test
  void of_hostNamespaces_invalid() {
    NamespaceOption base = pod(map(0, 65536, 65536));
    invalid(() -> PodUserNamespace.of(base.toBuilder().setNetwork(NamespaceMode.NODE).build()), "network");
    invalid(() -> PodUserNamespace.of(base.toBuilder().setIpc(NamespaceMode.NODE).build()), "IPC");
    invalid(() -> PodUserNamespace.of(base.toBuilder().setPid(NamespaceMode.NODE).build()), "PID");
  }

  @Test
  void checkContainer_sameOrBothHost_accepted() {
    NamespaceOption p = pod(map(0, 65536, 65536));
    PodUserNamespace.checkContainer(p, NamespaceOption.newBuilder().setPid(NamespaceMode.CONTAINER)
        .setUsernsOptions(p.getUsernsOptions()).build());
    PodUserNamespace.checkContainer(NamespaceOption.getDefaultInstance(), NamespaceOption.getDefaultInstance());
    PodUserNamespace.checkContainer(NamespaceOption.getDefaultInstance(), NamespaceOption.newBuilder()
        .setUsernsOptions(UserNamespace.newBuilder().setMode(NamespaceMode.NODE)).build());
  }

  @Test
  void checkContainer_different_invalid() {
    NamespaceOption p = pod(map(0, 65536, 65536));
    invalid(() -> PodUserNamespace.checkContainer(p, NamespaceOption.getDefaultInstance()), "differ");
    invalid(() -> PodUserNamespace.checkContainer(p, pod(map(0, 131072, 65536))), "differ");
    invalid(() -> PodUserNamespace.checkContainer(NamespaceOption.getDefaultInstance(), p), "differ");
  }
}
