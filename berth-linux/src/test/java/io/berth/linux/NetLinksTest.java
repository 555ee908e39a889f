package io.berth.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

/** Needs root (CI runs as root): each test works in a fresh network namespace of a thread of its own. */
class NetLinksTest {

  @Test
  void bringUp_loInNewNamespace_upOnceAndAgainWithoutError() throws Exception {
    boolean[] seen = inNewNetns(() -> {
      boolean before = NetLinks.isUp("lo");
      NetLinks.bringUp("lo");
      boolean after = NetLinks.isUp("lo");
      NetLinks.bringUp("lo"); // already up: nothing to do
      return new boolean[] {before, after, NetLinks.isUp("lo")};
    });
    assertThat(seen).containsExactly(false, true, true);
  }

  @Test
  void bringUp_missingInterface_failsWithEnodev() throws Exception {
    Throwable failure = inNewNetns(() -> {
      try {
        NetLinks.bringUp("eth0");
        return null;
      } catch (LinuxException e) {
        return e;
      }
    });
    assertThat(failure).isInstanceOf(LinuxException.class).hasMessageContaining("eth0");
    assertThat(((LinuxException) failure).errno()).isEqualTo(19); // ENODEV
  }

  @Test
  void bringUp_badName_refusedBeforeAnyCall() {
    assertThatThrownBy(() -> NetLinks.bringUp("")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> NetLinks.bringUp("a-name-far-too-long")).isInstanceOf(IllegalArgumentException.class);
  }

  /** Runs {@code work} on a new platform thread in a network namespace of its own; the thread ends after. */
  private static <T> T inNewNetns(Callable<T> work) throws Exception {
    CompletableFuture<T> result = new CompletableFuture<>();
    Thread t = Thread.ofPlatform().start(() -> {
      try {
        Syscalls.unshare(Syscalls.CLONE_NEWNET);
        result.complete(work.call());
      } catch (Throwable e) {
        result.completeExceptionally(e);
      }
    });
    t.join();
    return result.get();
  }
}
