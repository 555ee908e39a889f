package io.berth.runtime;

import io.berth.core.BerthException;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code <runtime> exec} and collects its output without ever blocking on the pipes.
 *
 * <p>The exec'd process inherits the runtime's stdout and stderr, and so do its background children: reading to
 * EOF would hang as long as such a child lives. Here the pipes are only read when {@code available()} says there
 * is data, so the loop ends when the runtime exits (the exec'd process is gone); whatever is still buffered is read
 * then and the pipes are closed. Output beyond the cap is read and discarded so the process never blocks on a full
 * pipe, and memory stays bounded (CVE-2022-31030).
 */
final class ExecRunner {
  private static final int CHUNK = 64 * 1024;
  /** After exit, at most this much more is drained, so a child that keeps writing cannot keep us here. */
  private static final int MAX_DRAIN_ROUNDS = 64;

  /** Kills the exec'd process (the runtime does not forward SIGKILL). */
  interface Killer {
    void kill();
  }

  private ExecRunner() {}

  static ExecResult run(List<String> command, Duration timeout, long maxOutputBytes, Killer killer) {
    Process p;
    try {
      ProcessBuilder pb = new ProcessBuilder(command);
      pb.environment().put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
      pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      p = pb.start();
    } catch (IOException e) {
      throw BerthException.failedPrecondition("cannot run %s: %s", command.getFirst(), e.getMessage());
    }
    Capped out = new Capped(maxOutputBytes);
    Capped err = new Capped(maxOutputBytes);
    InputStream os = p.getInputStream();
    InputStream es = p.getErrorStream();
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean timedOut = false;
    long idleSleep = 1;
    try {
      while (true) {
        boolean any = drain(os, out) | drain(es, err);
        if (!p.isAlive()) {
          break;
        }
        if (System.nanoTime() - deadline > 0) {
          timedOut = true;
          killer.kill();
          if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
          }
          break;
        }
        if (any) {
          idleSleep = 1;
        } else {
          Thread.sleep(idleSleep);
          idleSleep = Math.min(idleSleep * 2, 20);
        }
      }
      for (int i = 0; i < MAX_DRAIN_ROUNDS; i++) {
        if (!(drain(os, out) | drain(es, err))) {
          break;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      killer.kill();
      p.destroyForcibly();
      throw BerthException.cancelled("exec interrupted");
    } finally {
      closeQuietly(os);
      closeQuietly(es);
      closeQuietly(p.getOutputStream());
    }
    int code = p.isAlive() ? 137 : p.exitValue();
    return new ExecResult(code, out.bytes(), err.bytes(), timedOut, out.truncated || err.truncated);
  }

  /** Reads what is available now; true when something was read. */
  private static boolean drain(InputStream in, Capped sink) {
    try {
      int n = in.available();
      if (n <= 0) {
        return false;
      }
      byte[] buf = new byte[Math.min(n, CHUNK)];
      int r = in.read(buf, 0, buf.length);
      if (r <= 0) {
        return false;
      }
      sink.add(buf, r);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void closeQuietly(java.io.Closeable c) {
    try {
      c.close();
    } catch (IOException e) {
      // nothing to do
    }
  }

  /** Keeps the first {@code max} bytes. */
  static final class Capped {
    private final long max;
    private final ByteArrayOutputStream data = new ByteArrayOutputStream();
    boolean truncated;

    Capped(long max) {
      this.max = max;
    }

    void add(byte[] b, int len) {
      long room = max - data.size();
      if (room >= len) {
        data.write(b, 0, len);
      } else {
        if (room > 0) {
          data.write(b, 0, (int) room);
        }
        truncated = true;
      }
    }

    byte[] bytes() {
      return data.toByteArray();
    }
  }
}
