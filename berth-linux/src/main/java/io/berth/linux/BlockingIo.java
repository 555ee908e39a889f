package io.berth.linux;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Platform threads for calls that block in the kernel where a virtual thread would hold its carrier: reads, writes
 * and opens on pipes and FIFOs berthd opened itself (a monitor's sync pipe, a command's output, a control FIFO), and
 * native calls that wait (posix_spawn returns once the child has exec'd; a mount can take milliseconds).
 *
 * <p>Why not virtual threads: a {@link java.io.FileInputStream} or {@link java.io.FileOutputStream} on such a
 * descriptor, or a foreign function call, blocks its carrier thread without the scheduler adding another (JDK 25
 * compensates only for its own process pipes, file system calls and NIO channels). berthd has as many carriers as
 * CPUs, two on a small node: two containers being created at once would otherwise stop every other virtual thread,
 * gRPC handlers included, until their runtimes answered. Threads are reused and end after a minute idle.
 */
public final class BlockingIo {
  private static final ExecutorService THREADS =
      Executors.newCachedThreadPool(Thread.ofPlatform().daemon().name("berth-blocking-io-", 0).factory());

  private BlockingIo() {}

  /** Runs {@code task} on a platform thread; its result or exception completes the future. */
  public static <T> CompletableFuture<T> submit(Callable<T> task) {
    CompletableFuture<T> f = new CompletableFuture<>();
    THREADS.execute(() -> {
      try {
        f.complete(task.call());
      } catch (Throwable t) {
        f.completeExceptionally(t);
      }
    });
    return f;
  }

  /** Runs {@code task} on a platform thread, for its effect only. */
  public static void execute(Runnable task) {
    THREADS.execute(task);
  }
}
