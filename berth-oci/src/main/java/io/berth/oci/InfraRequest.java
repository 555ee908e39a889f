package io.berth.oci;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything {@link SpecGenerator#infraSpec} turns into the spec of a pod's infra (pause) process.
 *
 * @param sandbox the pod; its {@code infraPid} is ignored
 * @param rootfs the infra's root: a directory Berth owns that {@link SpecGenerator#prepareInfraRootfs} fills, or the
 *               mounted rootfs of a pause image
 * @param catatonit the static catatonit binary on the host, bind-mounted read-only at {@code /catatonit}; null when
 *                  the infra runs a pause image's own process
 * @param command the process of a pause image (its entrypoint and cmd); empty for catatonit
 * @param options handler and host facts
 */
public record InfraRequest(SandboxInfo sandbox, Path rootfs, Path catatonit, List<String> command,
    RuntimeOptions options) {
  public InfraRequest {
    command = List.copyOf(command);
    if ((catatonit == null) == command.isEmpty()) {
      throw new IllegalArgumentException("an infra runs either catatonit or an image's command");
    }
  }

  /** catatonit in pause mode on a rootfs holding only its bind-mounted binary. */
  public static InfraRequest catatonit(SandboxInfo sandbox, Path rootfs, Path catatonit, RuntimeOptions options) {
    return new InfraRequest(sandbox, rootfs, catatonit, List.of(), options);
  }

  /** A pause image's process on that image's rootfs. */
  public static InfraRequest image(SandboxInfo sandbox, Path rootfs, List<String> command, RuntimeOptions options) {
    return new InfraRequest(sandbox, rootfs, null, command, options);
  }
}
