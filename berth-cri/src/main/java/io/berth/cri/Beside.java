package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.linux.BlockingIo;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/**
 * A step of a CRI call run beside the rest of it (network namespace, namespace pins, rootfs), on a platform thread
 * ({@link BlockingIo}: these steps wait in mount(2), unshare(2) and the like through foreign calls, which would hold a
 * virtual thread's carrier, one of as many as there are CPUs); the call joins it before it needs the result, and its
 * undo waits for it before releasing what it made.
 */
final class Beside {
  private Beside() {}

  /** Starts {@code step} on a platform thread, named {@code name} while it runs. */
  static <T> CompletableFuture<T> start(String name, Supplier<T> step) {
    return BlockingIo.submit(() -> {
      Thread self = Thread.currentThread();
      String pooled = self.getName();
      self.setName(name);
      try {
        return step.get();
      } finally {
        self.setName(pooled);
      }
    });
  }

  /** The step's result; its failure is the call's, as {@code what} (formatted with {@code id}). */
  static <T> T join(CompletableFuture<T> step, String what, String id) {
    try {
      return step.get();
    } catch (ExecutionException e) {
      throw BerthException.wrap(e.getCause(), what, id);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw BerthException.cancelled("interrupted: " + what, id);
    }
  }

  /** Waits for the step however it ends: its result, or empty when it failed (an undo then releases what it left). */
  static <T> Optional<T> settled(CompletableFuture<T> step) {
    try {
      return Optional.ofNullable(step.join());
    } catch (CompletionException | CancellationException e) {
      return Optional.empty();
    }
  }
}
