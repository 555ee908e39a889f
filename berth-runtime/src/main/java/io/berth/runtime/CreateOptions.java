package io.berth.runtime;

import java.nio.file.Path;

/**
 * How conmon runs a container's stdio.
 *
 * @param logPath the CRI log file conmon writes ({@code k8s-file} format)
 * @param terminal allocate a pseudo-terminal
 * @param stdin keep a stdin pipe open for attach
 * @param stdinOnce close stdin after the first attach ends
 */
public record CreateOptions(Path logPath, boolean terminal, boolean stdin, boolean stdinOnce) {
  /** Output to {@code logPath}, no terminal, no stdin. */
  public static CreateOptions logTo(Path logPath) {
    return new CreateOptions(logPath, false, false, false);
  }
}
