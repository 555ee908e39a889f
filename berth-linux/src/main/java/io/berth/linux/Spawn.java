package io.berth.linux;

import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Starts programs with posix_spawn(3), directly: no helper process or shell in between (the JDK's
 * {@link ProcessBuilder} starts each child through its {@code jspawnhelper}, an extra exec that costs about a
 * millisecond on these machines, on every runtime and CNI call of a pod start). Every child gets only the
 * descriptors named here (everything else berthd holds is closed in it), default signal handlers and an empty
 * signal mask.
 *
 * <ul>
 *   <li>{@link #start}: for monitors such as conmon that report on an inherited pipe and then daemonize. The pipe's
 *       write end is file descriptor 3 (which {@link ProcessBuilder} cannot do), stdin is {@code /dev/null}, stdout
 *       and stderr are appended to a log file. The caller reads the pipe and must {@link Child#reap reap} the child.
 *   <li>{@link #run}: a short command (runtime CLI, CNI plugin) with stdin given, stdout and stderr captured, and a
 *       deadline after which it and its descendants are killed.
 * </ul>
 *
 * <p>Both call posix_spawn on a {@link BlockingIo} platform thread: it returns only once the child has exec'd (a
 * millisecond or more on a busy node), time for which a virtual thread caller would hold one of berthd's few carriers.
 */
public final class Spawn {
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
  private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT;
  private static final java.lang.foreign.AddressLayout ADDR = ValueLayout.ADDRESS;

  /** The descriptor the pipe's write end gets in the child. */
  public static final int PIPE_FD = 3;

  // glibc's opaque types, with room to spare (posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336,
  // sigset_t 128 on x86_64 and aarch64).
  private static final long FILE_ACTIONS_SIZE = 256;
  private static final long ATTR_SIZE = 512;
  private static final long SIGSET_SIZE = 128;
  private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
  private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
  private static final int O_RDONLY = 0;
  private static final int O_WRONLY = 1;
  private static final int O_CREAT = 0100;
  private static final int O_APPEND = 02000;
  private static final int O_CLOEXEC = 02000000;
  private static final int WNOHANG = 1;
  private static final int EINTR = 4;
  private static final int ECHILD = 10;
  private static final int EAGAIN = 11;
  private static final short POLLIN = 0x1;
  private static final long SYS_PIDFD_OPEN = 434; // the same number on x86_64 and aarch64
  private static final long READ_CHUNK = 64 * 1024;

  private static final MethodHandle PIPE2 = Libc.bind("pipe2", FunctionDescriptor.of(INT, ADDR, INT));
  private static final MethodHandle CLOSE = Libc.bind("close", FunctionDescriptor.of(INT, INT));
  private static final MethodHandle WAITPID = Libc.bind("waitpid", FunctionDescriptor.of(INT, INT, ADDR, INT));
  private static final MethodHandle POLL = Libc.bind("poll", FunctionDescriptor.of(INT, ADDR, ValueLayout.JAVA_LONG, INT));
  private static final MethodHandle READ =
      Libc.bind("read", FunctionDescriptor.of(ValueLayout.JAVA_LONG, INT, ADDR, ValueLayout.JAVA_LONG));
  private static final MethodHandle PIDFD_OPEN = Libc.bind("syscall", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
      ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), Linker.Option.firstVariadicArg(1));
  // The posix_spawn family returns an error number instead of setting errno.
  private static final MethodHandle FA_INIT =
      Libc.bindPlain("posix_spawn_file_actions_init", FunctionDescriptor.of(INT, ADDR));
  private static final MethodHandle FA_DESTROY =
      Libc.bindPlain("posix_spawn_file_actions_destroy", FunctionDescriptor.of(INT, ADDR));
  private static final MethodHandle FA_OPEN = Libc.bindPlain("posix_spawn_file_actions_addopen",
      FunctionDescriptor.of(INT, ADDR, INT, ADDR, INT, INT));
  private static final MethodHandle FA_DUP2 =
      Libc.bindPlain("posix_spawn_file_actions_adddup2", FunctionDescriptor.of(INT, ADDR, INT, INT));
  private static final MethodHandle FA_CLOSEFROM =
      Libc.bindPlain("posix_spawn_file_actions_addclosefrom_np", FunctionDescriptor.of(INT, ADDR, INT));
  private static final MethodHandle FA_CHDIR =
      Libc.bindPlain("posix_spawn_file_actions_addchdir_np", FunctionDescriptor.of(INT, ADDR, ADDR));
  private static final MethodHandle ATTR_INIT =
      Libc.bindPlain("posix_spawnattr_init", FunctionDescriptor.of(INT, ADDR));
  private static final MethodHandle ATTR_DESTROY =
      Libc.bindPlain("posix_spawnattr_destroy", FunctionDescriptor.of(INT, ADDR));
  private static final MethodHandle ATTR_FLAGS =
      Libc.bindPlain("posix_spawnattr_setflags", FunctionDescriptor.of(INT, ADDR, SHORT));
  private static final MethodHandle ATTR_SIGMASK =
      Libc.bindPlain("posix_spawnattr_setsigmask", FunctionDescriptor.of(INT, ADDR, ADDR));
  private static final MethodHandle ATTR_SIGDEFAULT =
      Libc.bindPlain("posix_spawnattr_setsigdefault", FunctionDescriptor.of(INT, ADDR, ADDR));
  private static final MethodHandle SIGEMPTYSET = Libc.bindPlain("sigemptyset", FunctionDescriptor.of(INT, ADDR));
  private static final MethodHandle SIGFILLSET = Libc.bindPlain("sigfillset", FunctionDescriptor.of(INT, ADDR));
  private static final MethodHandle POSIX_SPAWN =
      Libc.bindPlain("posix_spawn", FunctionDescriptor.of(INT, ADDR, ADDR, ADDR, ADDR, ADDR, ADDR));

  private Spawn() {}

  /** A started child: its pid and the read end of its pipe (EOF once every holder of the write end closed it). */
  public record Child(int pid, InputStream pipe) {
    /**
     * Collects the child's exit status once it has exited (a daemonizing monitor's first process exits at once),
     * waiting at most {@code timeout}; empty when it still runs. Exit code, or 128 + signal when killed.
     */
    public OptionalInt reap(Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      try (Arena a = Arena.ofConfined()) {
        MemorySegment status = a.allocate(INT);
        MemorySegment state = a.allocate(Libc.CALL_STATE);
        long pause = 50_000L;
        while (true) {
          int rc = (int) WAITPID.invokeExact(state, pid, status, WNOHANG);
          if (rc == pid) {
            int s = status.get(INT, 0);
            return OptionalInt.of((s & 0x7f) == 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f));
          }
          if (rc < 0 && Libc.errno(state) == ECHILD) {
            return OptionalInt.of(-1); // reaped elsewhere
          }
          if (rc < 0 && Libc.errno(state) != EINTR) {
            throw new LinuxException("waitpid", String.valueOf(pid), Libc.errno(state));
          }
          if (System.nanoTime() > deadline) {
            return OptionalInt.empty();
          }
          // Short commands end within a few milliseconds: look often at first, then once a millisecond.
          Thread.sleep(Duration.ofNanos(pause));
          pause = Math.min(pause * 2, 1_000_000L);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return OptionalInt.empty();
      } catch (Throwable t) {
        throw Libc.rethrow(t);
      }
    }
  }

  /**
   * Starts {@code argv} (its first element an absolute path) in {@code directory} with exactly {@code env}.
   *
   * @throws IOException when the program cannot be started (missing, not executable: the message says which)
   */
  public static Child start(List<String> argv, Map<String, String> env, Path directory, Path log) throws IOException {
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(log, "log");
    checkArgv(argv);
    // On a platform thread: posix_spawn returns only once the child has exec'd, and a virtual thread would hold its
    // carrier that long (see BlockingIo). Not interruptible (a spawn takes milliseconds): an interrupt stays set for
    // the caller's next wait, which then stops the child as it would have without this hop.
    try {
      return BlockingIo.submit(() -> startHere(argv, env, directory, log)).join();
    } catch (CompletionException e) {
      throw rethrown(e.getCause());
    }
  }

  private static Child startHere(List<String> argv, Map<String, String> env, Path directory, Path log)
      throws IOException {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment fds = a.allocate(INT, 2);
      MemorySegment state = a.allocate(Libc.CALL_STATE);
      if ((int) PIPE2.invokeExact(state, fds, O_CLOEXEC) != 0) {
        throw new IOException("pipe2: " + Errno.describe(Libc.errno(state)));
      }
      int readEnd = fds.getAtIndex(INT, 0);
      int writeEnd = fds.getAtIndex(INT, 1);
      try {
        int pid = spawn(a, argv, env, directory, log, writeEnd);
        // Opened again through /proc while this process still holds the write end, so the open cannot block; the
        // stream owns its own descriptor and both raw ends are closed below.
        try {
          return new Child(pid, new FileInputStream("/proc/self/fd/" + readEnd));
        } catch (IOException | RuntimeException e) {
          // nobody could read its answer: the child must not outlive this failure
          Syscalls.kill(pid, 9);
          new Child(pid, InputStream.nullInputStream()).reap(Duration.ofSeconds(10));
          throw e;
        }
      } finally {
        int ignored = (int) CLOSE.invokeExact(state, readEnd);
        ignored = (int) CLOSE.invokeExact(state, writeEnd);
      }
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** What a {@link #run} command did: exit code (128 + signal when killed), output (each capped), deadline hit. */
  public record Result(int exitCode, byte[] stdout, byte[] stderr, boolean timedOut) {}

  /** How long a descendant left holding the output pipes open may delay a result after the command exited. */
  private static final Duration OUTPUT_GRACE = Duration.ofSeconds(10);
  /** How often {@link #run} looks at waitpid while the command's output is still open. */
  private static final long EXIT_LOOK_NANOS = 5_000_000L;
  /** What {@link #run} knows of its command's pid before it has one: not started yet, or the caller gave up. */
  private static final int NOT_STARTED = -1;
  private static final int CANCELLED = -2;
  /** Input up to this size fits an empty pipe (64 KiB) and is written without a helper thread. */
  private static final int INLINE_STDIN = 16 * 1024;

  /**
   * Runs {@code argv} (its first element an absolute path) in {@code /} with exactly {@code env}: {@code stdin} on
   * its standard input (closed after), stdout and stderr captured up to {@code maxOutput} bytes each (the rest is
   * read and dropped). When it has not exited within {@code timeout}, it and its descendants are killed and the
   * result says so. Its output is what it wrote until it exited, or until {@link #OUTPUT_GRACE} later when a
   * descendant still holds the pipes.
   *
   * @throws IOException when the program cannot be started (missing, not executable: the message says which)
   * @throws InterruptedException when interrupted while waiting; the command is killed and reaped first
   */
  public static Result run(List<String> argv, Map<String, String> env, byte[] stdin, Duration timeout,
      int maxOutput) throws IOException, InterruptedException {
    checkArgv(argv);
    long deadline = System.nanoTime() + timeout.toNanos();
    // The command's pid once started; NOT_STARTED until then, CANCELLED when the caller gave up first.
    AtomicInteger started = new AtomicInteger(NOT_STARTED);
    // One platform thread per command starts it (posix_spawn waits until the child has exec'd, which pins a virtual
    // thread's carrier: see BlockingIo), then reads both outputs and learns of the exit in the same poll(2), on a
    // pidfd: the caller is woken once, when all is known.
    CompletableFuture<Result> done = BlockingIo.submit(() -> {
      Piped p = startPiped(argv, env);
      if (!started.compareAndSet(NOT_STARTED, p.pid())) {
        killAll(p.pid()); // the caller was interrupted meanwhile; collect still reaps it and closes the pipes
      }
      feed(p.stdin(), stdin);
      return collect(p, maxOutput, deadline);
    });
    try {
      return done.get();
    } catch (InterruptedException e) {
      int pid = started.getAndUpdate(v -> v == NOT_STARTED ? CANCELLED : v);
      if (pid > 0) {
        killAll(pid);
      }
      try {
        done.get(OUTPUT_GRACE.toMillis() * 2, TimeUnit.MILLISECONDS);
      } catch (ExecutionException | TimeoutException | InterruptedException ignored) {
        // reaped or not, the interruption is what the caller hears about
      }
      throw new InterruptedException("interrupted waiting for " + argv.getFirst());
    } catch (ExecutionException e) {
      throw rethrown(e.getCause());
    }
  }

  /** A spawning task's failure as the caller's: IOException (cannot start) and unchecked exceptions as they are. */
  private static IOException rethrown(Throwable cause) {
    if (cause instanceof IOException io) {
      return io;
    }
    if (cause instanceof RuntimeException r) {
      throw r;
    }
    if (cause instanceof Error err) {
      throw err;
    }
    throw new IllegalStateException(cause);
  }

  /**
   * Reads stdout and stderr until both end, reaps the command when its pidfd says it exited, kills it and its
   * descendants at the deadline. A descendant still holding the pipes after the command exited delays the result by
   * at most {@link #OUTPUT_GRACE}. Closes the output pipes.
   */
  private static Result collect(Piped p, int maxOutput, long deadline) {
    Output out = new Output(p.stdout(), maxOutput);
    Output err = new Output(p.stderr(), maxOutput);
    int pidfd = pidfdOpen(p.pid());
    Child child = new Child(p.pid(), InputStream.nullInputStream());
    OptionalInt exit = OptionalInt.empty();
    boolean timedOut = false;
    long graceEnd = Long.MAX_VALUE;
    try (Arena a = Arena.ofConfined()) {
      MemorySegment pollfds = a.allocate(POLLFD_SIZE * 3, 4);
      MemorySegment buf = a.allocate(READ_CHUNK);
      MemorySegment state = a.allocate(Libc.CALL_STATE);
      Output[] polled = new Output[3];
      while (!(exit.isPresent() && out.ended && err.ended)) {
        long now = System.nanoTime();
        if (exit.isEmpty() && !timedOut && now >= deadline) {
          timedOut = true;
          killAll(p.pid());
          graceEnd = now + OUTPUT_GRACE.toNanos();
        }
        if (now >= graceEnd) {
          break;
        }
        int n = 0;
        for (Output o : new Output[] {out, err}) {
          if (!o.ended) {
            polled[n] = o;
            setPollfd(pollfds, n++, o.fd);
          }
        }
        if (exit.isEmpty() && pidfd >= 0) {
          polled[n] = null;
          setPollfd(pollfds, n++, pidfd);
        }
        long until = exit.isEmpty() && !timedOut ? deadline : graceEnd;
        // Without a pidfd (kernels before 5.3) waitpid is looked at every few milliseconds.
        long waitNanos = Math.min(until - now, exit.isEmpty() && pidfd < 0 ? EXIT_LOOK_NANOS : Long.MAX_VALUE);
        int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, (waitNanos + 999_999) / 1_000_000));
        int ready = (int) POLL.invokeExact(state, pollfds, (long) n, millis);
        if (ready < 0 && Libc.errno(state) != EINTR) {
          throw new LinuxException("poll", String.valueOf(p.pid()), Libc.errno(state));
        }
        for (int i = 0; i < n && ready > 0; i++) {
          short revents = pollfds.get(SHORT, i * POLLFD_SIZE + 6);
          if (revents != 0 && polled[i] != null) {
            polled[i].read(state, buf);
          }
        }
        if (exit.isEmpty()) {
          exit = child.reap(Duration.ZERO);
          if (exit.isPresent() && graceEnd == Long.MAX_VALUE) {
            graceEnd = System.nanoTime() + OUTPUT_GRACE.toNanos();
          }
        }
      }
      if (exit.isEmpty()) {
        // killed at the deadline and not yet gone: it cannot outlive SIGKILL for long
        exit = child.reap(OUTPUT_GRACE);
      }
      return new Result(exit.orElse(-1), out.bytes(), err.bytes(), timedOut);
    } catch (Throwable t) {
      // whatever broke the collecting (an error included), the command must not outlive it unreaped
      killAll(p.pid());
      child.reap(OUTPUT_GRACE);
      throw Libc.rethrow(t);
    } finally {
      out.close();
      err.close();
      closeFd(pidfd);
    }
  }

  /** struct pollfd: int fd, short events, short revents. */
  private static final long POLLFD_SIZE = 8;

  private static void setPollfd(MemorySegment pollfds, int i, int fd) {
    pollfds.set(INT, i * POLLFD_SIZE, fd);
    pollfds.set(SHORT, i * POLLFD_SIZE + 4, POLLIN);
    pollfds.set(SHORT, i * POLLFD_SIZE + 6, (short) 0);
  }

  /** One output pipe's read end and what was read from it, capped; the rest is read and dropped. */
  private static final class Output {
    final int fd;
    final int max;
    final ByteArrayOutputStream data = new ByteArrayOutputStream();
    boolean ended;

    Output(int fd, int max) {
      this.fd = fd;
      this.max = max;
    }

    void read(MemorySegment state, MemorySegment buf) throws Throwable {
      long got = (long) READ.invokeExact(state, fd, buf, buf.byteSize());
      if (got == 0) {
        ended = true;
      } else if (got < 0) {
        int errno = Libc.errno(state);
        if (errno != EINTR && errno != EAGAIN) {
          ended = true;
        }
      } else if (data.size() < max) {
        data.writeBytes(buf.asSlice(0, Math.min(got, max - data.size())).toArray(ValueLayout.JAVA_BYTE));
      }
    }

    byte[] bytes() {
      return data.toByteArray();
    }

    void close() {
      closeFd(fd);
    }
  }

  /** False in tests of the path for kernels without pidfd_open (before 5.3). */
  static volatile boolean usePidfd = true;

  /** A pidfd for the child (readable once it exited), or -1 where the kernel has none. */
  private static int pidfdOpen(int pid) {
    if (!usePidfd) {
      return -1;
    }
    try (Arena a = Arena.ofConfined()) {
      return (int) (long) PIDFD_OPEN.invokeExact(a.allocate(Libc.CALL_STATE), SYS_PIDFD_OPEN, (long) pid, 0L);
    } catch (Throwable t) {
      return -1;
    }
  }

  private static void closeFd(int fd) {
    if (fd < 0) {
      return;
    }
    try (Arena a = Arena.ofConfined()) {
      int ignored = (int) CLOSE.invokeExact(a.allocate(Libc.CALL_STATE), fd);
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  /** A started command: its pid, berthd's end of its stdin as a stream, the read ends of stdout and stderr. */
  private record Piped(int pid, OutputStream stdin, int stdout, int stderr) {}

  private static Piped startPiped(List<String> argv, Map<String, String> env) throws IOException {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment state = a.allocate(Libc.CALL_STATE);
      // 0/1 stdin read/write end, 2/3 stdout, 4/5 stderr; all close-on-exec until dup2'd into the child.
      int[] fds = {-1, -1, -1, -1, -1, -1};
      try {
        for (int i = 0; i < fds.length; i += 2) {
          MemorySegment pair = a.allocate(INT, 2);
          if ((int) PIPE2.invokeExact(state, pair, O_CLOEXEC) != 0) {
            throw new IOException("pipe2: " + Errno.describe(Libc.errno(state)));
          }
          fds[i] = pair.getAtIndex(INT, 0);
          fds[i + 1] = pair.getAtIndex(INT, 1);
        }
        int pid = spawn(a, argv, env, Path.of("/"), (arena, actions) -> {
          check("adddup2 stdin", (int) FA_DUP2.invokeExact(actions, fds[0], 0));
          check("adddup2 stdout", (int) FA_DUP2.invokeExact(actions, fds[3], 1));
          check("adddup2 stderr", (int) FA_DUP2.invokeExact(actions, fds[5], 2));
          check("addclosefrom", (int) FA_CLOSEFROM.invokeExact(actions, 3));
        });
        // stdin is opened again through /proc while this process holds both ends (the open cannot block), and the
        // stream owns that descriptor; the read ends of stdout and stderr go to the collector, which closes them.
        try {
          OutputStream in = new FileOutputStream("/proc/self/fd/" + fds[1]);
          Piped piped = new Piped(pid, in, fds[2], fds[4]);
          fds[2] = -1;
          fds[4] = -1;
          return piped;
        } catch (IOException | RuntimeException e) {
          killAll(pid);
          new Child(pid, InputStream.nullInputStream()).reap(OUTPUT_GRACE);
          throw e;
        }
      } finally {
        for (int fd : fds) {
          if (fd >= 0) {
            int ignored = (int) CLOSE.invokeExact(state, fd);
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw Libc.rethrow(t);
    }
  }

  private static void feed(OutputStream toChild, byte[] stdin) {
    byte[] data = stdin == null ? new byte[0] : stdin;
    Runnable write = () -> {
      try (toChild) {
        toChild.write(data);
      } catch (IOException e) {
        // it exited or closed stdin without reading all: its exit code and output tell why
      }
    };
    if (data.length <= INLINE_STDIN) {
      write.run();
    } else {
      BlockingIo.execute(write);
    }
  }

  /**
   * SIGKILL to a command and everything it started. It is stopped first, so it starts nothing more, and its
   * descendants (found by their parent links, which its death would cut) die before it can see them go.
   */
  private static void killAll(int pid) {
    Syscalls.kill(pid, 19); // SIGSTOP
    ProcessHandle.of(pid).ifPresent(h -> h.descendants().forEach(ProcessHandle::destroyForcibly));
    Syscalls.kill(pid, 9);
  }

  private static void checkArgv(List<String> argv) {
    if (argv.isEmpty() || !argv.getFirst().startsWith("/")) {
      throw new IllegalArgumentException("spawn needs an absolute program path: " + argv);
    }
  }

  /** What a child's descriptors 0, 1, 2 (and more) become: posix_spawn file actions. */
  @FunctionalInterface
  private interface Stdio {
    void add(Arena a, MemorySegment actions) throws Throwable;
  }

  private static int spawn(Arena a, List<String> argv, Map<String, String> env, Path directory, Path log,
      int pipeWriteEnd) throws Throwable {
    return spawn(a, argv, env, directory, (arena, actions) -> {
      MemorySegment dev = arena.allocateFrom("/dev/null");
      MemorySegment logPath = arena.allocateFrom(log.toString());
      check("addopen stdin", (int) FA_OPEN.invokeExact(actions, 0, dev, O_RDONLY, 0));
      check("addopen stdout", (int) FA_OPEN.invokeExact(actions, 1, logPath, O_WRONLY | O_APPEND | O_CREAT, 0640));
      check("adddup2 stderr", (int) FA_DUP2.invokeExact(actions, 1, 2));
      // dup2 onto a different number clears close-on-exec; onto the same number glibc clears it explicitly.
      check("adddup2 pipe", (int) FA_DUP2.invokeExact(actions, pipeWriteEnd, PIPE_FD));
      check("addclosefrom", (int) FA_CLOSEFROM.invokeExact(actions, PIPE_FD + 1));
    });
  }

  private static int spawn(Arena a, List<String> argv, Map<String, String> env, Path directory, Stdio stdio)
      throws Throwable {
    MemorySegment actions = a.allocate(FILE_ACTIONS_SIZE, 16);
    MemorySegment attr = a.allocate(ATTR_SIZE, 16);
    check("posix_spawn_file_actions_init", (int) FA_INIT.invokeExact(actions));
    try {
      check("posix_spawnattr_init", (int) ATTR_INIT.invokeExact(attr));
      try {
        stdio.add(a, actions);
        check("addchdir", (int) FA_CHDIR.invokeExact(actions, a.allocateFrom(directory.toString())));

        MemorySegment none = a.allocate(SIGSET_SIZE, 8);
        MemorySegment all = a.allocate(SIGSET_SIZE, 8);
        int ignored = (int) SIGEMPTYSET.invokeExact(none);
        ignored = (int) SIGFILLSET.invokeExact(all);
        check("setsigmask", (int) ATTR_SIGMASK.invokeExact(attr, none));
        check("setsigdefault", (int) ATTR_SIGDEFAULT.invokeExact(attr, all));
        check("setflags", (int) ATTR_FLAGS.invokeExact(attr, (short) (POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)));

        MemorySegment argvC = cStrings(a, argv);
        MemorySegment envC = cStrings(a, env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
        MemorySegment pid = a.allocate(INT);
        int rc = (int) POSIX_SPAWN.invokeExact(pid, argvC.getAtIndex(ADDR, 0), actions, attr, argvC, envC);
        if (rc != 0) {
          throw new IOException("cannot run " + argv.getFirst() + ": " + Errno.describe(rc));
        }
        return pid.get(INT, 0);
      } finally {
        int ignored = (int) ATTR_DESTROY.invokeExact(attr);
      }
    } finally {
      int ignored = (int) FA_DESTROY.invokeExact(actions);
    }
  }

  private static MemorySegment cStrings(Arena a, List<String> strings) {
    MemorySegment array = a.allocate(ADDR, strings.size() + 1);
    for (int i = 0; i < strings.size(); i++) {
      array.setAtIndex(ADDR, i, a.allocateFrom(strings.get(i)));
    }
    array.setAtIndex(ADDR, strings.size(), MemorySegment.NULL);
    return array;
  }

  private static void check(String what, int rc) throws IOException {
    if (rc != 0) {
      throw new IOException(what + ": " + Errno.describe(rc));
    }
  }

}
