package io.berth.streaming;

import java.util.Optional;

/**
 * Terminal resize events of one TTY session, in the order the client sent them. Bounded: when the backend falls
 * behind, the oldest pending events are dropped (only the latest size matters). Thread-safe.
 */
public interface ResizeQueue {
  /** Blocks for the next event; empty once the session has ended (the client went away or the command exited). */
  Optional<TerminalSize> next() throws InterruptedException;
}
