package io.berth.streaming;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one exec or attach against the backend, independent of the transport, and computes the status the kubelet
 * would report (kubelet {@code cri/streaming/remotecommand/exec.go}, {@code attach.go}).
 */
final class RemoteCommand {
  private static final Logger log = LoggerFactory.getLogger(RemoteCommand.class);

  /** Which streams the CRI request asked for. */
  record Options(boolean stdin, boolean stdout, boolean stderr, boolean tty) {}

  /** An exec ({@code cmd} non-null) or an attach. */
  record Target(String containerId, List<String> cmd, Options options) {
    static Target of(Object request) {
      return switch (request) {
        case ExecRequest r -> new Target(r.containerId(), r.cmd(),
            new Options(r.stdin(), r.stdout(), r.stderr() && !r.tty(), r.tty()));
        case AttachRequest r -> new Target(r.containerId(), null,
            new Options(r.stdin(), r.stdout(), r.stderr() && !r.tty(), r.tty()));
        default -> throw new IllegalArgumentException("not a remote command: " + request);
      };
    }

    boolean isExec() {
      return cmd != null;
    }
  }

  /**
   * How the session ended: {@code json} is the v4 error-channel document, {@code message} the text that v1-v3 write
   * (null on success).
   */
  record Outcome(boolean success, String json, String message) {}

  private RemoteCommand() {}

  static Outcome run(StreamingBackend backend, Target t, InputStream stdin, OutputStream stdout, OutputStream stderr,
      ResizeQueue resizes, BooleanSupplier clientGone) {
    String what = t.isExec() ? "exec" : "attach";
    try {
      int code = t.isExec()
          ? backend.exec(t.containerId(), t.cmd(), t.options().tty(), stdin, stdout, stderr, resizes)
          : backend.attach(t.containerId(), t.options().tty(), stdin, stdout, stderr, resizes);
      log.debug("{} in container {} returned {}", what, t.containerId(), code);
      if (code == 0 || !t.isExec()) {
        return new Outcome(true, StatusJson.SUCCESS, null);
      }
      // containerd's wording for the exit error, which the kubelet wraps
      String detail = "error executing command " + goList(t.cmd()) + ", exit code " + code;
      return new Outcome(false, StatusJson.nonZeroExit(detail, code),
          "command terminated with non-zero exit code: " + detail);
    } catch (BerthException e) {
      log.debug("{} in container {} failed: {}", what, t.containerId(), e.getMessage());
      if (e.kind() == ErrorKind.NOT_FOUND) {
        return new Outcome(false, StatusJson.failure("NotFound", 404, e.getMessage()), e.getMessage());
      }
      String m = "error " + (t.isExec() ? "executing command in" : "attaching to") + " container: " + e.getMessage();
      return new Outcome(false, StatusJson.failure("InternalError", 500, m), "Internal error occurred: " + m);
    } catch (IOException e) {
      if (clientGone.getAsBoolean()) {
        log.debug("{} in container {} ended with the client: {}", what, t.containerId(), e.toString());
      } else {
        log.warn("{} in container {} failed", what, t.containerId(), e);
      }
      String m = "error " + (t.isExec() ? "executing command in" : "attaching to") + " container: " + e.getMessage();
      return new Outcome(false, StatusJson.failure("InternalError", 500, m), "Internal error occurred: " + m);
    } catch (RuntimeException e) {
      log.error("{} in container {} failed", what, t.containerId(), e);
      String m = "error " + (t.isExec() ? "executing command in" : "attaching to") + " container: internal error";
      return new Outcome(false, StatusJson.failure("InternalError", 500, m), "Internal error occurred: " + m);
    }
  }

  /** Go's {@code %v} of a []string: {@code [sh -c exit 3]}. */
  static String goList(List<String> l) {
    return "[" + String.join(" ", Objects.requireNonNullElse(l, List.of())) + "]";
  }
}
