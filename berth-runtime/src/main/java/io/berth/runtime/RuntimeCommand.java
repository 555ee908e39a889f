package io.berth.runtime;

import io.berth.core.BerthException;
import io.berth.linux.Spawn;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a short runtime command (state, start, kill, delete, update, list) with a timeout. Started with posix_spawn
 * ({@link Spawn#run}): no JDK helper process per call, on the path of every container start.
 */
final class RuntimeCommand {
  static final int MAX_OUTPUT = 1 << 20;
  private static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  /** berthd's own environment with a sane PATH, as the runtimes got it through ProcessBuilder before. */
  private static final Map<String, String> ENV;

  static {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("PATH", PATH);
    ENV = Map.copyOf(env);
  }

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
    List<String> argv = new ArrayList<>(command);
    argv.set(0, executable(command.getFirst()));
    Spawn.Result r;
    try {
      r = Spawn.run(argv, ENV, stdin, timeout, MAX_OUTPUT);
    } catch (IOException e) {
      throw BerthException.failedPrecondition("cannot run %s: %s", command.getFirst(), e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw BerthException.cancelled("interrupted running %s", command.getFirst());
    }
    if (r.timedOut()) {
      throw BerthException.deadlineExceeded("%s did not finish within %s", String.join(" ", command), timeout);
    }
    return new Result(r.exitCode(), new String(r.stdout(), StandardCharsets.UTF_8),
        new String(r.stderr(), StandardCharsets.UTF_8));
  }

  /** A bare program name is looked up in PATH, as a shell would; a path is used as it is. */
  static String executable(String program) {
    if (program.contains("/")) {
      return Path.of(program).toAbsolutePath().toString();
    }
    for (String dir : PATH.split(":")) {
      Path p = Path.of(dir, program);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p.toString();
      }
    }
    throw BerthException.failedPrecondition("cannot run %s: not found in %s", program, PATH);
  }
}
