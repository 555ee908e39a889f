package io.berth.runtime;

import io.berth.core.BerthException;
import io.berth.linux.Pty;
import io.berth.linux.Syscalls;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One streaming exec (kubectl exec): {@code RUNTIME exec --process} as a child of berthd, with pipes, or with a
 * terminal. For a terminal the runtime runs on a host pty of ours in raw mode ({@code runc exec --tty} wants its own
 * stdio to be a terminal) and copies between it and the container's terminal; a resize sets the host pty's size and
 * sends the runtime {@code SIGWINCH}, on which it resizes the container's terminal, whose foreground process then gets
 * its own {@code SIGWINCH}. The client's first size goes into the process spec's {@code consoleSize}, so the command
 * starts at that size rather than 0x0. CRI-O runs streaming execs the same way, outside conmon.
 */
public final class ExecSession implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ExecSession.class);
  private static final int SIGKILL = 9;
  private static final int SIGWINCH = 28;

  private final Process runtime;
  private final Pty pty;
  private final Path dir;
  private final Path pidFile;

  private ExecSession(Process runtime, Pty pty, Path dir) {
    this.runtime = runtime;
    this.pty = pty;
    this.dir = dir;
    this.pidFile = dir.resolve("pid");
  }

  /**
   * Starts the process described by {@code dir/process.json} in container {@code id}; {@code runtimeArgv} is the
   * runtime binary with its global options. {@code dir} is the session's own and is removed at {@link #close}.
   * {@code ttyFlag}: the runtime is told about the terminal with {@code --tty} (runc, crun); runsc has no such flag
   * and takes the process spec's {@code terminal}: it hands its stdin to the sandbox as the process's terminal for
   * reading and writing, so stdin must be open read-write, and forwards the {@code SIGWINCH} it gets to the process
   * (runsc/cmd/exec.go).
   */
  static ExecSession start(List<String> runtimeArgv, String id, Path dir, boolean tty, boolean ttyFlag, int columns,
      int rows) {
    Pty pty = null;
    try {
      List<String> argv = new ArrayList<>(runtimeArgv);
      argv.add("exec");
      argv.add("--process=" + dir.resolve("process.json"));
      argv.add("--pid-file=" + dir.resolve("pid"));
      if (tty && ttyFlag) {
        argv.add("--tty");
      }
      argv.add(id);
      if (tty) {
        pty = Pty.open();
        if (columns > 0 && rows > 0) {
          pty.resize(columns, rows);
        }
        // The child opens the terminal, never berthd: a session leader without one (berthd under systemd or
        // setsid) that opens a tty makes it its controlling terminal, and gets SIGHUP when the session ends.
        // Read-write, as runsc needs.
        List<String> sh = new ArrayList<>(List.of("/bin/sh", "-c", "exec \"$@\" 0<>\"$0\" 1>&0 2>&0",
            pty.slavePath()));
        sh.addAll(argv);
        argv = sh;
      }
      ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile());
      return new ExecSession(pb.start(), pty, dir);
    } catch (IOException | IllegalArgumentException e) {
      if (pty != null) {
        pty.close();
      }
      ConmonRuntime.deleteTree(dir);
      throw BerthException.internal(e, "cannot exec in container %s", id);
    }
  }

  public boolean tty() {
    return pty != null;
  }

  /** The process's input (the terminal's, with a tty). */
  public OutputStream stdin() {
    return pty != null ? pty.output() : runtime.getOutputStream();
  }

  /** Its output; with a tty, stdout and stderr together, as a terminal shows them. */
  public InputStream stdout() {
    return pty != null ? pty.input() : runtime.getInputStream();
  }

  /** Its error output; null with a tty. */
  public InputStream stderr() {
    return pty != null ? null : runtime.getErrorStream();
  }

  /** Closes the process's input: end-of-file, which on a terminal is the EOF character. */
  public void closeStdin() {
    try {
      if (pty != null) {
        pty.output().write(4); // ^D: a raw host pty passes it on; the container's terminal reads it as EOF
      } else {
        runtime.getOutputStream().close();
      }
    } catch (IOException e) {
      // the process is gone already
    }
  }

  public void resize(int columns, int rows) {
    if (pty == null) {
      return;
    }
    try {
      pty.resize(columns, rows);
      Syscalls.kill((int) runtime.pid(), SIGWINCH);
    } catch (IOException | IllegalArgumentException e) {
      log.debug("exec resize to {}x{} ignored: {}", columns, rows, e.getMessage());
    }
  }

  public int waitFor() throws InterruptedException {
    return runtime.waitFor();
  }

  /**
   * Ends the session: kills the process in the container (a client that went away must not leave it running), then
   * the runtime, and releases the terminal and pid file. Idempotent.
   */
  @Override
  public void close() {
    kill();
    if (pty != null) {
      pty.close();
    }
    ConmonRuntime.deleteTree(dir);
  }

  /** Kills the process in the container, then the runtime, if they still run; the terminal stays open. */
  public void kill() {
    if (runtime.isAlive()) {
      try {
        String pid = Files.readString(pidFile).strip();
        if (!pid.isEmpty()) {
          Syscalls.kill(Integer.parseInt(pid), SIGKILL);
        }
      } catch (IOException | NumberFormatException e) {
        // not started yet, or gone
      }
      runtime.destroyForcibly();
      try {
        runtime.waitFor(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
