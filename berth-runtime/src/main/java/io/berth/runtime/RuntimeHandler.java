package io.berth.runtime;

import java.nio.file.Path;
import java.util.List;

/**
 * A runtime handler: a name the CRI's {@code runtime_handler} picks, mapped to an OCI runtime binary.
 *
 * @param name handler name ({@code runc}, {@code crun}, {@code runsc})
 * @param binary the runtime binary
 * @param root the runtime's state directory ({@code --root}), e.g. {@code /run/berth/runc}
 * @param extraArgs global arguments placed before every subcommand (runsc: {@code --platform=ptrace})
 */
public record RuntimeHandler(String name, Path binary, Path root, List<String> extraArgs) {
  public RuntimeHandler {
    extraArgs = extraArgs == null ? List.of() : List.copyOf(extraArgs);
  }
}
