package io.berth.streaming;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** What every session handler needs from the server: the backend, timeouts, a timer and tracked threads. */
final class SessionContext {
  final StreamingBackend backend;
  final Duration idleTimeout;
  final Duration streamCreationTimeout;
  final Duration linger;
  final ScheduledExecutorService scheduler;
  private final ThreadFactory threads = Thread.ofVirtual().name("berth-streaming-", 0).factory();
  private final AtomicInteger live = new AtomicInteger();

  SessionContext(StreamingBackend backend, Duration idleTimeout, Duration streamCreationTimeout, Duration linger,
      ScheduledExecutorService scheduler) {
    this.backend = backend;
    this.idleTimeout = idleTimeout;
    this.streamCreationTimeout = streamCreationTimeout;
    this.linger = linger;
    this.scheduler = scheduler;
  }

  /** Starts {@code r} on a new virtual thread counted by {@link #liveThreads()}. */
  Thread spawn(Runnable r) {
    live.incrementAndGet();
    Thread t = threads.newThread(() -> {
      try {
        r.run();
      } finally {
        live.decrementAndGet();
      }
    });
    t.start();
    return t;
  }

  int liveThreads() {
    return live.get();
  }
}
