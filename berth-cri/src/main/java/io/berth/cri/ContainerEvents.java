package io.berth.cri;

import io.berth.cri.api.ContainerEventResponse;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fan-out of container lifecycle events to GetContainerEvents subscribers. Each subscriber has its own bounded
 * queue: publishing never blocks the runtime; a subscriber that falls too far behind is cut off (the kubelet then
 * reconnects and relists, as it does with containerd).
 */
final class ContainerEvents {
  private static final Logger log = LoggerFactory.getLogger(ContainerEvents.class);
  static final int QUEUE = 1024;

  /** One subscriber's queue; {@link #overflowed()} tells it to give up. */
  static final class Subscription implements AutoCloseable {
    final BlockingQueue<ContainerEventResponse> queue = new ArrayBlockingQueue<>(QUEUE);
    private volatile boolean overflowed;
    private final ContainerEvents owner;

    Subscription(ContainerEvents owner) {
      this.owner = owner;
    }

    boolean overflowed() {
      return overflowed;
    }

    @Override
    public void close() {
      owner.subscribers.remove(this);
    }
  }

  private final Set<Subscription> subscribers = ConcurrentHashMap.newKeySet();
  private final AtomicLong dropped = new AtomicLong();

  Subscription subscribe() {
    Subscription s = new Subscription(this);
    subscribers.add(s);
    return s;
  }

  void publish(ContainerEventResponse event) {
    for (Subscription s : subscribers) {
      if (!s.queue.offer(event)) {
        s.overflowed = true;
        subscribers.remove(s);
        log.warn("event subscriber fell {} events behind and was disconnected ({} so far)", QUEUE,
            dropped.incrementAndGet());
      }
    }
  }
}
