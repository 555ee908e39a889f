package io.berth.content;

import io.berth.core.BerthException;
import io.berth.core.Digest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;

/** A temp file in {@code ingest/} with a running digest; see {@link Ingest}. */
final class FileIngest implements Ingest {
  private final Path tmp;
  private final Path target;
  private final Digest expected;
  private final long expectedSize;
  private final FileChannel channel;
  private MessageDigest md;
  private long offset;
  private boolean done;
  private final OutputStream stream = new OutputStream() {
    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      append(b, off, len);
    }
  };

  FileIngest(Path tmp, Path target, Digest expected, long expectedSize) throws IOException {
    this.tmp = tmp;
    this.target = target;
    this.expected = expected;
    this.expectedSize = expectedSize;
    this.channel = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
    this.md = expected.newMessageDigest();
  }

  private void append(byte[] b, int off, int len) throws IOException {
    if (done) {
      throw new IOException("ingest of " + expected + " is closed");
    }
    if (expectedSize >= 0 && offset + len > expectedSize) {
      throw BerthException.invalidArgument("blob %s is larger than its expected size of %d bytes", expected,
          expectedSize);
    }
    ByteBuffer buf = ByteBuffer.wrap(b, off, len);
    while (buf.hasRemaining()) {
      channel.write(buf);
    }
    md.update(b, off, len);
    offset += len;
  }

  @Override
  public Digest expected() {
    return expected;
  }

  @Override
  public long offset() {
    return offset;
  }

  @Override
  public OutputStream stream() {
    return stream;
  }

  @Override
  public void reset() {
    try {
      channel.truncate(0);
      channel.position(0);
    } catch (IOException e) {
      throw FileContentStore.ioError(e, "reset ingest of " + expected);
    }
    md = expected.newMessageDigest();
    offset = 0;
  }

  @Override
  public Path commit() {
    if (done) {
      throw BerthException.failedPrecondition("ingest of %s already closed", expected);
    }
    try {
      if (expectedSize >= 0 && offset != expectedSize) {
        throw BerthException.invalidArgument("blob %s size mismatch: expected %d bytes, got %d", expected,
            expectedSize, offset);
      }
      String actualHex = HexFormat.of().formatHex(md.digest());
      if (!actualHex.equals(expected.hex())) {
        throw BerthException.invalidArgument("blob digest mismatch: expected %s, got %s:%s", expected,
            expected.algorithm(), actualHex);
      }
      channel.force(true);
      channel.close();
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException e) {
        Files.deleteIfExists(tmp);
      }
      // rename(2) replaces an existing target on Linux; either way the target now holds verified content.
      fsyncDir(target.getParent());
      done = true;
      return target;
    } catch (IOException e) {
      throw FileContentStore.ioError(e, "commit blob " + expected);
    } finally {
      if (!done) {
        close();
      }
    }
  }

  private static void fsyncDir(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some file systems refuse fsync on directories; the rename itself is still atomic.
    }
  }

  @Override
  public void close() {
    if (done) {
      return;
    }
    done = true;
    try {
      channel.close();
    } catch (IOException ignored) {
      // deleting below is what matters
    }
    try {
      Files.deleteIfExists(tmp);
    } catch (IOException e) {
      throw FileContentStore.ioError(e, "delete ingest " + tmp);
    }
  }
}
