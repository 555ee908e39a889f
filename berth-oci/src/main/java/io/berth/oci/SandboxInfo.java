package io.berth.oci;

import io.berth.cri.api.PodSandboxConfig;
import java.nio.file.Path;

/**
 * What a container's spec needs from its pod sandbox.
 *
 * @param id the sandbox id
 * @param config the pod's CRI config (cgroup parent, hostname, security context, sysctls)
 * @param infraPid pid of the infra process on the host; its {@code /proc/<pid>/ns/*} are joined. 0 when unknown
 *     (then only {@code netnsPath} is used and IPC/UTS/PID are private)
 * @param netnsPath the pinned network namespace, or {@code null} for the host network
 * @param hostnameFile host file bind-mounted at {@code /etc/hostname}, or {@code null}
 * @param hostsFile host file bind-mounted at {@code /etc/hosts}, or {@code null}
 * @param resolvConfFile host file bind-mounted at {@code /etc/resolv.conf}, or {@code null}
 * @param ipcPath a pinned IPC namespace to join (pods without an infra process, and pods in a user namespace),
 *     else {@code null}
 * @param utsPath a pinned UTS namespace to join (pods without an infra process, and pods in a user namespace),
 *     else {@code null}
 * @param usernsPath the pod's pinned user namespace, or {@code null} for the host's
 * @param shmDir host directory (a tmpfs) bind-mounted at {@code /dev/shm} when the pod shares IPC, or {@code null}
 *     for a private tmpfs
 */
public record SandboxInfo(
    String id,
    PodSandboxConfig config,
    int infraPid,
    Path netnsPath,
    Path hostnameFile,
    Path hostsFile,
    Path resolvConfFile,
    Path shmDir,
    Path ipcPath,
    Path utsPath,
    Path usernsPath) {

  public SandboxInfo {
    if (id == null || id.isEmpty()) {
      throw new IllegalArgumentException("sandbox id is required");
    }
    config = config == null ? PodSandboxConfig.getDefaultInstance() : config;
  }

  /** A sandbox whose namespaces (but the network one) are held by its infra process. */
  public SandboxInfo(String id, PodSandboxConfig config, int infraPid, Path netnsPath, Path hostnameFile,
      Path hostsFile, Path resolvConfFile, Path shmDir) {
    this(id, config, infraPid, netnsPath, hostnameFile, hostsFile, resolvConfFile, shmDir, null, null, null);
  }

  /** A sandbox in the host's user namespace. */
  public SandboxInfo(String id, PodSandboxConfig config, int infraPid, Path netnsPath, Path hostnameFile,
      Path hostsFile, Path resolvConfFile, Path shmDir, Path ipcPath, Path utsPath) {
    this(id, config, infraPid, netnsPath, hostnameFile, hostsFile, resolvConfFile, shmDir, ipcPath, utsPath, null);
  }
}
