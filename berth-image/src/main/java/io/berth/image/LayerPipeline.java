package io.berth.image;

import io.berth.core.BerthException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs the per-layer work of one pull or import on virtual threads, all at once (the steps bound themselves with
 * semaphores), and fails fast: the first failure cancels the rest and is thrown once every task has stopped, so no
 * task outlives the operation.
 */
final class LayerPipeline {
  private LayerPipeline() {}

  /** Work for one layer: steps run in order on one virtual thread. */
  static Callable<Void> sequence(List<Callable<Void>> steps) {
    return () -> {
      for (Callable<Void> s : steps) {
        s.call();
      }
      return null;
    };
  }

  static void runAll(List<Callable<Void>> tasks) {
    List<Future<Void>> futures = new ArrayList<>(tasks.size());
    RuntimeException failure = null;
    try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
      var completion = new java.util.concurrent.ExecutorCompletionService<Void>(ex);
      for (Callable<Void> t : tasks) {
        futures.add(completion.submit(t));
      }
      for (int i = 0; i < tasks.size(); i++) {
        try {
          completion.take().get();
        } catch (ExecutionException e) {
          failure = asBerth(e.getCause());
          break;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          failure = BerthException.cancelled("interrupted");
          break;
        }
      }
      if (failure != null) {
        futures.forEach(f -> f.cancel(true));
      }
    } // close() waits for cancelled tasks to stop
    if (failure != null) {
      throw failure;
    }
  }

  private static RuntimeException asBerth(Throwable t) {
    if (t instanceof BerthException b) {
      return b;
    }
    if (t instanceof InterruptedException) {
      return BerthException.cancelled("interrupted");
    }
    return BerthException.internal(t, "layer task failed");
  }
}
