package io.berth.daemon;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** One berthd per root: an exclusive lock on {@code <root>/berthd.lock}, held for the daemon's life. */
final class RootLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;

  private RootLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  static RootLock acquire(Path root) throws IOException {
    Path file = root.resolve("berthd.lock");
    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock l = ch.tryLock();
    if (l == null) {
      ch.close();
      throw new ConfigException("another berthd is already running with root " + root + " (" + file + " is locked)");
    }
    ch.truncate(0);
    ch.write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes()));
    return new RootLock(ch, l);
  }

  @Override
  public void close() throws IOException {
    lock.release();
    channel.close();
  }
}
