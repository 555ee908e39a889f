package io.berth.linux;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * A pseudo-terminal pair on the host, in raw mode: berthd keeps the master, a child process gets the slave by path
 * (so {@link ProcessBuilder} redirects can hand it over). A TTY exec runs {@code runc exec --tty} on the slave; the
 * runtime copies between it and the container's own terminal and follows its size on {@code SIGWINCH}.
 *
 * <p>Reads and writes block in native code and so pin the calling thread: use platform threads. A read returns
 * end-of-file once every slave descriptor is closed (the kernel answers {@code EIO}).
 */
public final class Pty implements AutoCloseable {
  private static final int O_RDWR = 2;
  private static final int O_NOCTTY = 0400;
  private static final int O_CLOEXEC = 02000000;
  private static final long TIOCSWINSZ = 0x5414;
  private static final int TCSANOW = 0;
  private static final int EINTR = 4;
  private static final int EIO = 5;
  private static final int TERMIOS_SIZE = 64; // glibc's struct termios is 60 bytes on x86_64 and aarch64

  private static final StructLayout CALL_STATE = Libc.CALL_STATE;
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
  private static final ValueLayout ADDR = ValueLayout.ADDRESS;
  private static final MethodHandle POSIX_OPENPT = Libc.bind("posix_openpt", FunctionDescriptor.of(INT, INT));
  private static final MethodHandle GRANTPT = Libc.bind("grantpt", FunctionDescriptor.of(INT, INT));
  private static final MethodHandle UNLOCKPT = Libc.bind("unlockpt", FunctionDescriptor.of(INT, INT));
  private static final MethodHandle PTSNAME_R = Libc.bind("ptsname_r", FunctionDescriptor.of(INT, INT, ADDR, LONG));
  private static final MethodHandle TCGETATTR = Libc.bind("tcgetattr", FunctionDescriptor.of(INT, INT, ADDR));
  private static final MethodHandle TCSETATTR = Libc.bind("tcsetattr", FunctionDescriptor.of(INT, INT, INT, ADDR));
  private static final MethodHandle CFMAKERAW = Libc.bind("cfmakeraw", FunctionDescriptor.ofVoid(ADDR));
  private static final MethodHandle IOCTL_PTR = Libc.bind("ioctl", FunctionDescriptor.of(INT, INT, LONG, ADDR),
      Linker.Option.firstVariadicArg(2));
  private static final MethodHandle READ = Libc.bind("read", FunctionDescriptor.of(LONG, INT, ADDR, LONG));
  private static final MethodHandle WRITE = Libc.bind("write", FunctionDescriptor.of(LONG, INT, ADDR, LONG));
  private static final MethodHandle CLOSE = Libc.bind("close", FunctionDescriptor.of(INT, INT));

  private final int master;
  private final String slavePath;
  private volatile boolean closed;

  private Pty(int master, String slavePath) {
    this.master = master;
    this.slavePath = slavePath;
  }

  /** A new pair in raw mode (no echo, no line editing: the container's own terminal does that). */
  public static Pty open() throws IOException {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      int fd = (int) POSIX_OPENPT.invokeExact(st, O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (fd < 0) {
        throw new IOException("posix_openpt: " + Errno.describe(Libc.errno(st)));
      }
      try {
        if ((int) GRANTPT.invokeExact(st, fd) != 0 || (int) UNLOCKPT.invokeExact(st, fd) != 0) {
          throw new IOException("unlocking pty: " + Errno.describe(Libc.errno(st)));
        }
        MemorySegment name = a.allocate(128);
        int rc = (int) PTSNAME_R.invokeExact(st, fd, name, 128L);
        if (rc != 0) {
          throw new IOException("ptsname: " + Errno.describe(rc));
        }
        MemorySegment termios = a.allocate(TERMIOS_SIZE);
        if ((int) TCGETATTR.invokeExact(st, fd, termios) != 0) {
          throw new IOException("tcgetattr: " + Errno.describe(Libc.errno(st)));
        }
        CFMAKERAW.invokeExact(st, termios);
        if ((int) TCSETATTR.invokeExact(st, fd, TCSANOW, termios) != 0) {
          throw new IOException("tcsetattr: " + Errno.describe(Libc.errno(st)));
        }
        return new Pty(fd, name.getString(0));
      } catch (IOException | RuntimeException | Error e) {
        int ignored = (int) CLOSE.invokeExact(st, fd);
        throw e;
      }
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** The slave's device path, e.g. {@code /dev/pts/3}. */
  public String slavePath() {
    return slavePath;
  }

  /** Sets the terminal size; the process on the slave learns it on its next {@code SIGWINCH}. */
  public void resize(int columns, int rows) throws IOException {
    if (columns <= 0 || rows <= 0 || columns > 0xffff || rows > 0xffff) {
      throw new IllegalArgumentException("terminal size out of range: " + columns + "x" + rows);
    }
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      MemorySegment ws = a.allocate(8);
      ws.set(ValueLayout.JAVA_SHORT, 0, (short) rows);
      ws.set(ValueLayout.JAVA_SHORT, 2, (short) columns);
      int rc = (int) IOCTL_PTR.invokeExact(st, master, TIOCSWINSZ, ws);
      if (rc != 0) {
        throw new IOException("TIOCSWINSZ: " + Errno.describe(Libc.errno(st)));
      }
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** What the slave side writes; end-of-file once no process holds the slave any more. */
  public InputStream input() {
    return new InputStream() {
      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] buf, int off, int len) throws IOException {
        return Pty.this.read(buf, off, len);
      }
    };
  }

  /** Feeds the slave side's input. */
  public OutputStream output() {
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] buf, int off, int len) throws IOException {
        Pty.this.write(buf, off, len);
      }
    };
  }

  private int read(byte[] buf, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      MemorySegment b = a.allocate(len);
      long n;
      do {
        if (closed) {
          return -1;
        }
        n = (long) READ.invokeExact(st, master, b, (long) len);
      } while (n < 0 && Libc.errno(st) == EINTR);
      if (n < 0) {
        if (Libc.errno(st) == EIO) {
          return -1;
        }
        throw new IOException("read(" + slavePath + " master): " + Errno.describe(Libc.errno(st)));
      }
      if (n == 0) {
        return -1;
      }
      MemorySegment.copy(b, ValueLayout.JAVA_BYTE, 0, buf, off, (int) n);
      return (int) n;
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  // Synchronized with close: a late write must never reach a recycled descriptor number.
  private synchronized void write(byte[] buf, int off, int len) throws IOException {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      MemorySegment b = a.allocate(Math.max(1, len));
      MemorySegment.copy(buf, off, b, ValueLayout.JAVA_BYTE, 0, len);
      long done = 0;
      while (done < len) {
        if (closed) {
          throw new IOException("pty closed");
        }
        long n = (long) WRITE.invokeExact(st, master, b.asSlice(done), len - done);
        if (n < 0) {
          if (Libc.errno(st) == EINTR) {
            continue;
          }
          throw new IOException("write(" + slavePath + " master): " + Errno.describe(Libc.errno(st)));
        }
        done += n;
      }
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** Closes the master; the process on the slave gets a hangup. Call once the readers are done. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try (Arena a = Arena.ofConfined()) {
      int ignored = (int) CLOSE.invokeExact(a.allocate(CALL_STATE), master);
    } catch (Throwable t) {
      // nothing left to do
    }
  }
}
