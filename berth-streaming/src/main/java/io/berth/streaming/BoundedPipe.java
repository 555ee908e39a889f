package io.berth.streaming;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * A fixed-size byte pipe from the connection's reader to a backend: the writer blocks when full (backpressure),
 * the reader blocks when empty. {@code onConsumed} learns how many bytes left the pipe (read or discarded), which
 * drives SPDY WINDOW_UPDATEs. Thread-safe.
 */
final class BoundedPipe {
  private final int capacity;
  private byte[] buf; // allocated on first write: most streams never carry data this way
  private final IntConsumer onConsumed;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notEmpty = lock.newCondition();
  private final Condition notFull = lock.newCondition();
  private int head;
  private int count;
  private boolean writeClosed;  // EOF after the buffered bytes
  private boolean readClosed;   // nobody reads any more: discard what arrives
  private boolean aborted;      // session over: EOF now, writers fail
  private final InputStream in = new PipeInputStream();

  BoundedPipe(int capacity, IntConsumer onConsumed) {
    this.capacity = capacity;
    this.onConsumed = onConsumed;
  }

  InputStream inputStream() {
    return in;
  }

  /** Appends all of {@code b}; blocks while full. Bytes arriving after {@link #closeRead()} are discarded. */
  void write(byte[] b, int off, int len) throws IOException {
    int discarded = 0;
    lock.lock();
    try {
      while (len > 0) {
        if (aborted || writeClosed) {
          throw new IOException("pipe closed");
        }
        if (readClosed) {
          discarded += len;
          break;
        }
        if (buf == null) {
          buf = new byte[capacity];
        }
        if (count == buf.length) {
          try {
            notFull.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException();
          }
          continue;
        }
        int tail = (head + count) % buf.length;
        int n = Math.min(len, Math.min(buf.length - count, buf.length - tail));
        System.arraycopy(b, off, buf, tail, n);
        count += n;
        off += n;
        len -= n;
        notEmpty.signalAll();
      }
    } finally {
      lock.unlock();
    }
    if (discarded > 0) {
      onConsumed.accept(discarded);
    }
  }

  /** The writer is done: the reader sees EOF after the buffered bytes. */
  void closeWrite() {
    lock.lock();
    try {
      writeClosed = true;
      notEmpty.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** The reader is done: buffered and future bytes are dropped (and credited), writers never block. */
  void closeRead() {
    int dropped;
    lock.lock();
    try {
      readClosed = true;
      dropped = count;
      count = 0;
      notFull.signalAll();
    } finally {
      lock.unlock();
    }
    if (dropped > 0) {
      onConsumed.accept(dropped);
    }
  }

  /** Ends the pipe in both directions at once: reads return EOF, writes fail. */
  void abort() {
    lock.lock();
    try {
      aborted = true;
      count = 0;
      notEmpty.signalAll();
      notFull.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private final class PipeInputStream extends InputStream {
    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      int n;
      lock.lock();
      try {
        while (count == 0) {
          if (aborted || writeClosed || readClosed) {
            return -1;
          }
          try {
            notEmpty.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading from the client");
          }
        }
        n = Math.min(len, Math.min(count, buf.length - head));
        System.arraycopy(buf, head, b, off, n);
        head = (head + n) % buf.length;
        count -= n;
        notFull.signalAll();
      } finally {
        lock.unlock();
      }
      onConsumed.accept(n);
      return n;
    }

    @Override
    public int available() {
      lock.lock();
      try {
        return count;
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void close() {
      closeRead();
    }
  }
}
