package io.berth.core;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stack of undo actions for a multi-step operation: unless {@link #commit()} is called, {@link #close()} runs them
 * in reverse order. Undo failures are logged, never thrown, so they cannot mask the original error.
 *
 * <pre>
 * try (var undo = new Undo()) {
 *   Path netns = netnsManager.create(id);  undo.push("remove netns", () -> netnsManager.remove(netns));
 *   ...
 *   undo.commit();
 * }
 * </pre>
 */
public final class Undo implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Undo.class);

  /** An undo step that may throw. */
  @FunctionalInterface
  public interface Action {
    void run() throws Exception;
  }

  private record Step(String what, Action action) {}

  private final Deque<Step> steps = new ArrayDeque<>();
  private boolean committed;
  private boolean failed;

  public void push(String what, Action action) {
    steps.push(new Step(what, action));
  }

  public void commit() {
    committed = true;
  }

  /**
   * Whether a step run so far by {@link #close()} failed: a later step (run last, pushed first) can then keep what
   * it would have dropped, so the leftover can be released again instead of being forgotten.
   */
  public boolean failed() {
    return failed;
  }

  @Override
  public void close() {
    if (committed) {
      return;
    }
    while (!steps.isEmpty()) {
      Step s = steps.pop();
      try {
        s.action.run();
      } catch (Exception e) {
        failed = true;
        log.warn("undo step '{}' failed: {}", s.what, e.toString());
      }
    }
  }
}
