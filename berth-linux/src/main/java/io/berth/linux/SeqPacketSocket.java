package io.berth.linux;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A connected {@code AF_UNIX} {@code SOCK_SEQPACKET} client socket, which {@code java.nio} cannot make: conmon's
 * attach socket speaks it (each packet from conmon is one chunk of container output, its first byte naming the
 * stream). Paths longer than {@code sun_path} are reached through the parent directory's {@code /proc/self/fd} entry.
 *
 * <p>Calls block in native code and so pin the calling thread: use platform threads, not virtual ones.
 * {@link #shutdown()} from another thread wakes a blocked {@link #receive}. Errors are {@link IOException}s.
 */
public final class SeqPacketSocket implements AutoCloseable {
  private static final int AF_UNIX = 1;
  private static final int SOCK_SEQPACKET = 5;
  private static final int SOCK_CLOEXEC = 0x80000;
  private static final int MSG_NOSIGNAL = 0x4000;
  private static final int SHUT_WR = 1;
  private static final int SHUT_RDWR = 2;
  private static final int EINTR = 4;
  private static final int SUN_PATH = 108;

  private static final StructLayout CALL_STATE = Libc.CALL_STATE;
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
  private static final ValueLayout ADDR = ValueLayout.ADDRESS;
  private static final MethodHandle SOCKET = Libc.bind("socket", FunctionDescriptor.of(INT, INT, INT, INT));
  private static final MethodHandle CONNECT = Libc.bind("connect", FunctionDescriptor.of(INT, INT, ADDR, INT));
  private static final MethodHandle RECV = Libc.bind("recv", FunctionDescriptor.of(LONG, INT, ADDR, LONG, INT));
  private static final MethodHandle SEND = Libc.bind("send", FunctionDescriptor.of(LONG, INT, ADDR, LONG, INT));
  private static final MethodHandle SHUTDOWN = Libc.bind("shutdown", FunctionDescriptor.of(INT, INT, INT));
  private static final MethodHandle CLOSE = Libc.bind("close", FunctionDescriptor.of(INT, INT));

  private final int fd;
  private final String path;
  private volatile boolean closed;

  private SeqPacketSocket(int fd, String path) {
    this.fd = fd;
    this.path = path;
  }

  /** Connects to the listening socket at {@code socketPath}. */
  public static SeqPacketSocket connect(Path socketPath) throws IOException {
    String p = socketPath.toAbsolutePath().toString();
    int dirFd = -1;
    try {
      if (p.getBytes(StandardCharsets.UTF_8).length >= SUN_PATH) {
        dirFd = Syscalls.openReadOnly(socketPath.toAbsolutePath().getParent().toString());
        p = "/proc/self/fd/" + dirFd + "/" + socketPath.getFileName();
      }
      return connect0(p, socketPath.toString());
    } catch (LinuxException e) {
      throw new IOException(e.getMessage(), e);
    } finally {
      if (dirFd >= 0) {
        Syscalls.close(dirFd);
      }
    }
  }

  private static SeqPacketSocket connect0(String sunPath, String shown) throws IOException {
    byte[] name = sunPath.getBytes(StandardCharsets.UTF_8);
    if (name.length >= SUN_PATH) {
      throw new IOException("socket path too long: " + shown);
    }
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      int fd = (int) SOCKET.invokeExact(st, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        throw new IOException("socket(AF_UNIX, SOCK_SEQPACKET): " + Errno.describe(Libc.errno(st)));
      }
      MemorySegment addr = a.allocate(2 + SUN_PATH);
      addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
      MemorySegment.copy(name, 0, addr, ValueLayout.JAVA_BYTE, 2, name.length);
      int rc;
      do {
        rc = (int) CONNECT.invokeExact(st, fd, addr, 2 + SUN_PATH);
      } while (rc < 0 && Libc.errno(st) == EINTR);
      if (rc < 0) {
        int errno = Libc.errno(st);
        int ignored = (int) CLOSE.invokeExact(st, fd);
        throw new IOException("connect(" + shown + "): " + Errno.describe(errno));
      }
      return new SeqPacketSocket(fd, shown);
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** Receives one packet into {@code buf} (truncated to its length); returns its size, or -1 once the peer closed. */
  public int receive(byte[] buf) throws IOException {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      MemorySegment b = a.allocate(buf.length);
      long n;
      do {
        n = (long) RECV.invokeExact(st, fd, b, (long) buf.length, 0);
      } while (n < 0 && Libc.errno(st) == EINTR && !closed);
      if (n < 0) {
        throw new IOException("recv(" + path + "): " + Errno.describe(Libc.errno(st)));
      }
      if (n == 0) {
        return -1;
      }
      MemorySegment.copy(b, ValueLayout.JAVA_BYTE, 0, buf, 0, (int) n);
      return (int) n;
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** Sends {@code len} bytes as one packet. */
  public void send(byte[] buf, int off, int len) throws IOException {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      MemorySegment b = a.allocate(Math.max(1, len));
      MemorySegment.copy(buf, off, b, ValueLayout.JAVA_BYTE, 0, len);
      long n;
      do {
        n = (long) SEND.invokeExact(st, fd, b, (long) len, MSG_NOSIGNAL);
      } while (n < 0 && Libc.errno(st) == EINTR);
      if (n < 0) {
        throw new IOException("send(" + path + "): " + Errno.describe(Libc.errno(st)));
      }
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** Ends our direction: the peer reads end-of-file. */
  public void shutdownOutput() {
    shutdown(SHUT_WR);
  }

  /** Ends both directions; a {@link #receive} blocked in another thread returns -1. */
  public void shutdown() {
    shutdown(SHUT_RDWR);
  }

  private void shutdown(int how) {
    if (closed) {
      return;
    }
    try (Arena a = Arena.ofConfined()) {
      int ignored = (int) SHUTDOWN.invokeExact(a.allocate(CALL_STATE), fd, how);
    } catch (Throwable t) {
      // best effort
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try (Arena a = Arena.ofConfined()) {
      int ignored = (int) CLOSE.invokeExact(a.allocate(CALL_STATE), fd);
    } catch (Throwable t) {
      // nothing left to do
    }
  }
}
