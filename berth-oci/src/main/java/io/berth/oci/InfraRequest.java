package io.berth.oci;

import java.nio.file.Path;

/**
 * Everything {@link SpecGenerator#infraSpec} turns into the spec of a pod's infra (pause) process.
 *
 * @param sandbox the pod; its {@code infraPid} is ignored
 * @param rootfs an empty directory Berth owns; {@link SpecGenerator#prepareInfraRootfs} fills it
 * @param catatonit the static catatonit binary on the host, bind-mounted read-only at {@code /catatonit}
 * @param options handler and host facts
 */
public record InfraRequest(SandboxInfo sandbox, Path rootfs, Path catatonit, RuntimeOptions options) {}
