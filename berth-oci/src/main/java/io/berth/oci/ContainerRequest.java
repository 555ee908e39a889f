package io.berth.oci;

import io.berth.cri.api.ContainerConfig;
import java.nio.file.Path;
import java.util.Map;

/**
 * Everything {@link SpecGenerator#containerSpec} turns into a container's runtime spec.
 *
 * @param id the container id
 * @param config the CRI container config
 * @param sandbox the pod the container joins
 * @param image the image config
 * @param imageName the image reference for the {@code io.kubernetes.cri.image-name} annotation
 * @param rootfs the container's root filesystem on the host (mounted, unless {@code userFiles} is given)
 * @param options handler and host facts
 * @param targetPid host pid of the target container when the PID namespace mode is TARGET, else 0
 * @param idmappedSources for each CRI mount with uid/gid mappings (by its container path as given), the host path of
 *     the idmapped bind mount berthd prepared for it; the runtime bind-mounts that instead of the host path
 * @param userFiles the image's user and group files when the caller has them, else {@code null}: they are read in
 *     {@code rootfs}
 */
public record ContainerRequest(
    String id,
    ContainerConfig config,
    SandboxInfo sandbox,
    ImageConfigView image,
    String imageName,
    Path rootfs,
    RuntimeOptions options,
    int targetPid,
    Map<String, Path> idmappedSources,
    UserFiles userFiles) {

  public ContainerRequest {
    idmappedSources = Map.copyOf(idmappedSources);
  }

  /** A request whose user files are read in the (mounted) rootfs. */
  public ContainerRequest(String id, ContainerConfig config, SandboxInfo sandbox, ImageConfigView image,
      String imageName, Path rootfs, RuntimeOptions options, int targetPid, Map<String, Path> idmappedSources) {
    this(id, config, sandbox, image, imageName, rootfs, options, targetPid, idmappedSources, null);
  }

  /** A request without idmapped mounts. */
  public ContainerRequest(String id, ContainerConfig config, SandboxInfo sandbox, ImageConfigView image,
      String imageName, Path rootfs, RuntimeOptions options, int targetPid) {
    this(id, config, sandbox, image, imageName, rootfs, options, targetPid, Map.of());
  }
}
