package io.berth.runtime;

import io.berth.core.BerthException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs a short runtime command (state, start, kill, delete, update, list) with a timeout. */
final class RuntimeCommand {
  static final int MAX_OUTPUT = 1 << 20;

  record Result(int exitCode, String stdout, String stderr) {
    boolean ok() {
      return exitCode == 0;
    }

    /** stderr, else stdout, trimmed: what the runtime said. */
    String message() {
      String s = stderr.isBlank() ? stdout : stderr;
      return s.strip();
    }
  }

  private RuntimeCommand() {}

  static Result run(List<String> command, byte[] stdin, Duration timeout) {
    Process p;
    try {
      ProcessBuilder pb = new ProcessBuilder(command);
      pb.environment().put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
      if (stdin == null) {
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      }
      p = pb.start();
    } catch (IOException e) {
      throw BerthException.failedPrecondition("cannot run %s: %s", command.getFirst(), e.getMessage());
    }
    try (var exec = Executors.newVirtualThreadPerTaskExecutor()) {
      Future<String> out = exec.submit(() -> readCapped(p.getInputStream()));
      Future<String> err = exec.submit(() -> readCapped(p.getErrorStream()));
      if (stdin != null) {
        try (OutputStream o = p.getOutputStream()) {
          o.write(stdin);
        } catch (IOException e) {
          // the command exited early; its exit code says why
        }
      }
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
        throw BerthException.deadlineExceeded("%s did not finish within %s", String.join(" ", command), timeout);
      }
      return new Result(p.exitValue(), out.get(5, TimeUnit.SECONDS), err.get(5, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw BerthException.cancelled("interrupted running %s", command.getFirst());
    } catch (ExecutionException | TimeoutException e) {
      throw BerthException.internal(e, "cannot read output of %s", command.getFirst());
    }
  }

  private static String readCapped(InputStream in) throws IOException {
    byte[] data = in.readNBytes(MAX_OUTPUT);
    in.transferTo(OutputStream.nullOutputStream());
    return new String(data, StandardCharsets.UTF_8);
  }
}
