package io.berth.core;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Serializes work per key (a sandbox id, a container id, a blob digest) rather than globally, like containerd's
 * kmutex. Entries are removed when no thread holds or waits for them.
 */
public final class KeyedLock<K> {
  private static final class Entry {
    final ReentrantLock lock = new ReentrantLock();
    int users;
  }

  private final ConcurrentHashMap<K, Entry> entries = new ConcurrentHashMap<>();

  /** A held lock; close() releases it. */
  public interface Held extends AutoCloseable {
    @Override
    void close();
  }

  public Held lock(K key) {
    Entry e = entries.compute(key, (k, v) -> {
      Entry x = v == null ? new Entry() : v;
      x.users++;
      return x;
    });
    e.lock.lock();
    return () -> {
      e.lock.unlock();
      entries.compute(key, (k, v) -> {
        if (v == null) {
          return null;
        }
        v.users--;
        return v.users == 0 ? null : v;
      });
    };
  }
}
