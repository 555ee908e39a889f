package io.berth.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * Network interfaces of the calling thread's network namespace, through the classic interface ioctls: enough to bring
 * a link up without a netlink socket or a process.
 */
public final class NetLinks {
  private static final int AF_INET = 2;
  private static final int SOCK_DGRAM = 2;
  private static final int SOCK_CLOEXEC = 02000000;
  private static final long SIOCGIFFLAGS = 0x8913;
  private static final long SIOCSIFFLAGS = 0x8914;
  private static final short IFF_UP = 0x1;
  // struct ifreq: the name (IFNAMSIZ bytes, NUL-terminated), then a union whose first member is short ifr_flags;
  // 40 bytes on 64-bit Linux.
  private static final int IFNAMSIZ = 16;
  private static final int IFREQ_SIZE = 40;

  private static final MethodHandle SOCKET =
      Libc.bind("socket", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
          ValueLayout.JAVA_INT));
  private static final MethodHandle IOCTL = Libc.bind("ioctl",
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
      Linker.Option.firstVariadicArg(2));

  private NetLinks() {}

  /**
   * Sets {@code IFF_UP} on the interface {@code name} of the calling thread's network namespace (for {@code lo} the
   * kernel then adds 127.0.0.1 and ::1 itself). A link already up is left as it is.
   */
  public static void bringUp(String name) {
    withIfreq(name, (fd, ifr, st) -> {
      short flags = getFlags(fd, ifr, st, name);
      if ((flags & IFF_UP) == 0) {
        ifr.set(ValueLayout.JAVA_SHORT, IFNAMSIZ, (short) (flags | IFF_UP));
        if ((int) IOCTL.invokeExact(st, fd, SIOCSIFFLAGS, ifr) < 0) {
          throw new LinuxException("ioctl SIOCSIFFLAGS", name, Libc.errno(st));
        }
      }
      return null;
    });
  }

  /** Whether {@code name} is up in the calling thread's network namespace; a missing one throws (ENODEV). */
  public static boolean isUp(String name) {
    return withIfreq(name, (fd, ifr, st) -> (getFlags(fd, ifr, st, name) & IFF_UP) != 0);
  }

  private static short getFlags(int fd, MemorySegment ifr, MemorySegment st, String name) throws Throwable {
    if ((int) IOCTL.invokeExact(st, fd, SIOCGIFFLAGS, ifr) < 0) {
      throw new LinuxException("ioctl SIOCGIFFLAGS", name, Libc.errno(st));
    }
    return ifr.get(ValueLayout.JAVA_SHORT, IFNAMSIZ);
  }

  private interface IfreqCall<T> {
    T call(int socket, MemorySegment ifreq, MemorySegment callState) throws Throwable;
  }

  /** Runs {@code call} with a datagram socket and an ifreq naming {@code name}; closes the socket after. */
  private static <T> T withIfreq(String name, IfreqCall<T> call) {
    byte[] n = name.getBytes(StandardCharsets.US_ASCII);
    if (n.length == 0 || n.length >= IFNAMSIZ) {
      throw new IllegalArgumentException("not an interface name: " + name);
    }
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(Libc.CALL_STATE);
      int fd = (int) SOCKET.invokeExact(st, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        throw new LinuxException("socket", "AF_INET", Libc.errno(st));
      }
      try {
        MemorySegment ifr = a.allocate(IFREQ_SIZE);
        MemorySegment.copy(n, 0, ifr, ValueLayout.JAVA_BYTE, 0, n.length);
        return call.call(fd, ifr, st);
      } finally {
        Syscalls.close(fd);
      }
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }
}
