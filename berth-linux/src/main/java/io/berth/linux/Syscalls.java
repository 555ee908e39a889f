package io.berth.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The one seam between Berth and the kernel: libc calls bound through Java's FFM API. Every call throws
 * {@link LinuxException} carrying errno on failure. Other modules never touch {@code java.lang.foreign}.
 *
 * <p>Thread-safe. Namespace calls ({@link #unshare}, {@link #setns}) act on the calling OS thread only: run them on a
 * dedicated platform thread, never on a virtual thread.
 */
public final class Syscalls {
  private Syscalls() {}

  // mount(2) flags
  public static final long MS_RDONLY = 1;
  public static final long MS_NOSUID = 2;
  public static final long MS_NODEV = 4;
  public static final long MS_NOEXEC = 8;
  public static final long MS_REMOUNT = 32;
  public static final long MS_BIND = 4096;
  public static final long MS_MOVE = 8192;
  public static final long MS_REC = 16384;
  public static final long MS_PRIVATE = 1 << 18;
  public static final long MS_SLAVE = 1 << 19;
  public static final long MS_SHARED = 1 << 20;
  // umount2(2) flags
  public static final int MNT_DETACH = 2;
  // clone flags for unshare/setns
  public static final int CLONE_NEWNS = 0x00020000;
  public static final int CLONE_NEWUTS = 0x04000000;
  public static final int CLONE_NEWIPC = 0x08000000;
  public static final int CLONE_NEWNET = 0x40000000;
  public static final int CLONE_NEWUSER = 0x10000000;
  // mknod modes
  public static final int S_IFCHR = 0020000;
  public static final int S_IFBLK = 0060000;
  public static final int S_IFIFO = 0010000;
  // *at flags
  public static final int AT_FDCWD = -100;
  public static final int AT_SYMLINK_NOFOLLOW = 0x100;
  static final long AT_EMPTY_PATH = 0x1000;
  static final long AT_RECURSIVE = 0x8000;
  // open_tree(2), mount_setattr(2), move_mount(2): the new mount API (Linux 5.2 and 5.12)
  static final long OPEN_TREE_CLONE = 1;
  static final long OPEN_TREE_CLOEXEC = 02000000;
  static final long MOUNT_ATTR_IDMAP = 0x00100000;
  static final long MOUNT_ATTR_RDONLY = 0x00000001;
  static final long MOVE_MOUNT_F_EMPTY_PATH = 0x00000004;
  // The same numbers on every architecture Berth runs on (the syscall table was unified for new calls in 5.1).
  static final long SYS_OPEN_TREE = 428;
  static final long SYS_MOVE_MOUNT = 429;
  static final long SYS_MOUNT_SETATTR = 442;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final SymbolLookup LIBC = LINKER.defaultLookup();
  private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
  private static final ValueLayout ADDR = ValueLayout.ADDRESS;

  private static final MethodHandle MOUNT = bind("mount", FunctionDescriptor.of(INT, ADDR, ADDR, ADDR, LONG, ADDR));
  private static final MethodHandle UMOUNT2 = bind("umount2", FunctionDescriptor.of(INT, ADDR, INT));
  private static final MethodHandle UNSHARE = bind("unshare", FunctionDescriptor.of(INT, INT));
  private static final MethodHandle SETNS = bind("setns", FunctionDescriptor.of(INT, INT, INT));
  private static final MethodHandle OPEN = bind("open", FunctionDescriptor.of(INT, ADDR, INT, INT));
  private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(INT, INT));
  private static final MethodHandle MKNOD = bind("mknod", FunctionDescriptor.of(INT, ADDR, INT, LONG));
  private static final MethodHandle LCHOWN = bind("lchown", FunctionDescriptor.of(INT, ADDR, INT, INT));
  private static final MethodHandle LSETXATTR =
      bind("lsetxattr", FunctionDescriptor.of(INT, ADDR, ADDR, ADDR, LONG, INT));
  private static final MethodHandle LGETXATTR = bind("lgetxattr", FunctionDescriptor.of(LONG, ADDR, ADDR, ADDR, LONG));
  private static final MethodHandle LLISTXATTR = bind("llistxattr", FunctionDescriptor.of(LONG, ADDR, ADDR, LONG));
  private static final MethodHandle UTIMENSAT =
      bind("utimensat", FunctionDescriptor.of(INT, INT, ADDR, ADDR, INT));
  private static final MethodHandle GETTID = bind("gettid", FunctionDescriptor.of(INT));
  private static final MethodHandle GETEUID = bind("geteuid", FunctionDescriptor.of(INT));
  private static final MethodHandle KILL = bind("kill", FunctionDescriptor.of(INT, INT, INT));
  private static final MethodHandle SETHOSTNAME = bind("sethostname", FunctionDescriptor.of(INT, ADDR, LONG));
  // syscall(2) for calls older C libraries have no wrapper for; every variadic argument is passed as a long (or a
  // pointer), the width syscall(2) reads them with.
  private static final MethodHandle SYSCALL4 = bindVariadic("syscall",
      FunctionDescriptor.of(LONG, LONG, LONG, ADDR, LONG));
  private static final MethodHandle SYSCALL6 = bindVariadic("syscall",
      FunctionDescriptor.of(LONG, LONG, LONG, ADDR, LONG, ADDR, LONG));
  private static final StructLayout MOUNT_ATTR = MemoryLayout.structLayout(
      LONG.withName("attr_set"), LONG.withName("attr_clr"), LONG.withName("propagation"),
      LONG.withName("userns_fd"));

  private static MethodHandle bind(String name, FunctionDescriptor fd) {
    MemorySegment sym = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc lacks " + name));
    return LINKER.downcallHandle(sym, fd, Linker.Option.captureCallState("errno"));
  }

  private static MethodHandle bindVariadic(String name, FunctionDescriptor fd) {
    MemorySegment sym = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc lacks " + name));
    return LINKER.downcallHandle(sym, fd, Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
  }

  private static MemorySegment str(Arena a, String s) {
    return s == null ? MemorySegment.NULL : a.allocateFrom(s);
  }

  private static int check(String call, String arg, MemorySegment state, long rc) {
    if (rc < 0) {
      int errno = (int) ERRNO.get(state, 0L);
      throw new LinuxException(call, arg, errno);
    }
    return (int) rc;
  }


  /** mount(2). {@code source}, {@code fstype} and {@code data} may be null. */
  public static void mount(String source, String target, String fstype, long flags, String data) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      int rc = (int) MOUNT.invokeExact(st, str(a, source), str(a, target), str(a, fstype), flags, str(a, data));
      check("mount", target, st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** umount2(2). */
  public static void umount2(String target, int flags) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      int rc = (int) UMOUNT2.invokeExact(st, str(a, target), flags);
      check("umount2", target, st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** unshare(2) for the calling OS thread. */
  public static void unshare(int flags) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      int rc = (int) UNSHARE.invokeExact(st, flags);
      check("unshare", Integer.toHexString(flags), st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** setns(2) for the calling OS thread. */
  public static void setns(int fd, int nstype) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      int rc = (int) SETNS.invokeExact(st, fd, nstype);
      check("setns", Integer.toString(fd), st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** open(2) read-only with O_CLOEXEC; returns the fd. */
  public static int openReadOnly(String path) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      int rc = (int) OPEN.invokeExact(st, str(a, path), 0x80000 /* O_RDONLY|O_CLOEXEC */, 0);
      return check("open", path, st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  public static void close(int fd) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      int rc = (int) CLOSE.invokeExact(st, fd);
      check("close", Integer.toString(fd), st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** mknod(2): {@code mode} includes the file type bits (S_IFCHR, S_IFBLK, S_IFIFO). */
  public static void mknod(String path, int mode, int major, int minor) {
    long dev = makedev(major, minor);
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      int rc = (int) MKNOD.invokeExact(st, str(a, path), mode, dev);
      check("mknod", path, st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  static long makedev(long major, long minor) {
    return ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8) | ((minor & 0xffffff00L) << 12) | (minor & 0xffL);
  }

  /** lchown(2): does not follow a final symlink. */
  public static void lchown(String path, int uid, int gid) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      int rc = (int) LCHOWN.invokeExact(st, str(a, path), uid, gid);
      check("lchown", path, st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** lsetxattr(2): sets an extended attribute without following a final symlink. */
  public static void lsetxattr(String path, String name, byte[] value) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      MemorySegment v = a.allocateFrom(ValueLayout.JAVA_BYTE, value);
      int rc = (int) LSETXATTR.invokeExact(st, str(a, path), str(a, name), v, (long) value.length, 0);
      check("lsetxattr", path + " " + name, st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** lgetxattr(2); empty if the attribute is absent (ENODATA). */
  public static java.util.Optional<byte[]> lgetxattr(String path, String name) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      MemorySegment buf = a.allocate(65536);
      long rc = (long) LGETXATTR.invokeExact(st, str(a, path), str(a, name), buf, 65536L);
      if (rc < 0 && (int) ERRNO.get(st, 0L) == 61 /* ENODATA */) {
        return java.util.Optional.empty();
      }
      check("lgetxattr", path + " " + name, st, rc);
      return java.util.Optional.of(buf.asSlice(0, rc).toArray(ValueLayout.JAVA_BYTE));
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** llistxattr(2): names of the extended attributes of a path, without following a final symlink. */
  public static java.util.List<String> llistxattr(String path) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      MemorySegment buf = a.allocate(65536);
      long rc = (long) LLISTXATTR.invokeExact(st, str(a, path), buf, 65536L);
      check("llistxattr", path, st, rc);
      java.util.List<String> names = new java.util.ArrayList<>();
      byte[] bytes = buf.asSlice(0, rc).toArray(ValueLayout.JAVA_BYTE);
      int start = 0;
      for (int i = 0; i < bytes.length; i++) {
        if (bytes[i] == 0) {
          if (i > start) {
            names.add(new String(bytes, start, i - start, java.nio.charset.StandardCharsets.UTF_8));
          }
          start = i + 1;
        }
      }
      return names;
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** utimensat(2) on a path without following a final symlink; times in nanoseconds since the epoch. */
  public static void lutimes(String path, long atimeNanos, long mtimeNanos) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      MemorySegment ts = a.allocate(LONG, 4);
      ts.setAtIndex(LONG, 0, Math.floorDiv(atimeNanos, 1_000_000_000L));
      ts.setAtIndex(LONG, 1, Math.floorMod(atimeNanos, 1_000_000_000L));
      ts.setAtIndex(LONG, 2, Math.floorDiv(mtimeNanos, 1_000_000_000L));
      ts.setAtIndex(LONG, 3, Math.floorMod(mtimeNanos, 1_000_000_000L));
      int rc = (int) UTIMENSAT.invokeExact(st, AT_FDCWD, str(a, path), ts, AT_SYMLINK_NOFOLLOW);
      check("utimensat", path, st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** sethostname(2) in the calling thread's UTS namespace. */
  public static void sethostname(String name) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      byte[] b = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      int rc = (int) SETHOSTNAME.invokeExact(st, a.allocateFrom(ValueLayout.JAVA_BYTE, b), (long) b.length);
      check("sethostname", name, st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** The calling OS thread's id. */
  public static int gettid() {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      return (int) GETTID.invokeExact(st);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  public static int geteuid() {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      return (int) GETEUID.invokeExact(st);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** kill(2); returns false with ESRCH (no such process) instead of throwing. */
  public static boolean kill(int pid, int signal) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      int rc = (int) KILL.invokeExact(st, pid, signal);
      if (rc < 0 && (int) ERRNO.get(st, 0L) == 3 /* ESRCH */) {
        return false;
      }
      check("kill", Integer.toString(pid), st, rc);
      return true;
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /**
   * open_tree(2) with OPEN_TREE_CLONE: a detached copy of the mount at {@code path} (of its submounts too when
   * {@code recursive}), as a close-on-exec fd. Nothing is attached anywhere: closing the fd (with no mount left
   * using it) releases it, so it cannot leak a mount.
   */
  public static int openTree(String path, boolean recursive) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      long flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
      long rc = (long) SYSCALL4.invokeExact(st, SYS_OPEN_TREE, (long) AT_FDCWD, str(a, path), flags);
      return check("open_tree", path, st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /**
   * mount_setattr(2) with MOUNT_ATTR_IDMAP: makes the detached mount {@code treeFd} (from {@link #openTree}) an
   * idmapped mount, showing its files through the id mappings of the user namespace {@code usernsFd}.
   */
  public static void mountSetattrIdmap(int treeFd, int usernsFd, boolean recursive) {
    mountSetattr(treeFd, MOUNT_ATTR_IDMAP, usernsFd, recursive);
  }

  /**
   * mount_setattr(2) with MOUNT_ATTR_RDONLY: makes the detached mount {@code treeFd}, and with {@code recursive}
   * every mount below it, read-only.
   */
  public static void mountSetattrReadOnly(int treeFd, boolean recursive) {
    mountSetattr(treeFd, MOUNT_ATTR_RDONLY, 0, recursive);
  }

  private static void mountSetattr(int treeFd, long attrSet, int usernsFd, boolean recursive) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      MemorySegment attr = a.allocate(MOUNT_ATTR);
      attr.set(LONG, 0, attrSet);
      attr.set(LONG, 24, (long) usernsFd);
      long flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
      long rc = (long) SYSCALL6.invokeExact(st, SYS_MOUNT_SETATTR, (long) treeFd, str(a, ""), flags, attr,
          MOUNT_ATTR.byteSize());
      check("mount_setattr", "fd " + treeFd, st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** move_mount(2): attaches the detached mount {@code treeFd} at {@code target}. */
  public static void moveMount(int treeFd, String target) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment st = a.allocate(CALL_STATE);
      long rc = (long) SYSCALL6.invokeExact(st, SYS_MOVE_MOUNT, (long) treeFd, str(a, ""), (long) AT_FDCWD,
          str(a, target), MOVE_MOUNT_F_EMPTY_PATH);
      check("move_mount", target, st, rc);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }
}
