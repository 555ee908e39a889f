package io.berth.streaming;

import java.util.List;

/** The fields of a CRI {@code ExecRequest} that the streaming server needs. */
public record ExecRequest(String containerId, List<String> cmd, boolean tty, boolean stdin, boolean stdout,
    boolean stderr) {
  public ExecRequest {
    cmd = cmd == null ? List.of() : List.copyOf(cmd);
  }
}
