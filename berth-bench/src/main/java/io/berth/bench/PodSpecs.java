package io.berth.bench;

import io.berth.cri.api.ContainerConfig;
import io.berth.cri.api.ContainerMetadata;
import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.LinuxContainerConfig;
import io.berth.cri.api.LinuxContainerResources;
import io.berth.cri.api.LinuxContainerSecurityContext;
import io.berth.cri.api.LinuxPodSandboxConfig;
import io.berth.cri.api.LinuxSandboxSecurityContext;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.NamespaceOption;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxMetadata;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/**
 * The pod and container the pod benchmarks start, as a kubelet would send them: pod network (CNI), own IPC and
 * PID-per-container namespaces, a log directory the caller creates (as the kubelet does), and one container running
 * {@code sleep 3600} from the busybox image.
 */
final class PodSpecs {

    /** The cgroup (in every hierarchy) under which all bench pods live. */
    static final String CGROUP_PARENT = "berth-bench";

    private PodSpecs() {}

    static PodSandboxConfig sandbox(String name, Path logRoot) {
        String uid = UUID.randomUUID().toString();
        Path logDir = logRoot.resolve("berth-bench_" + name + "_" + uid);
        try {
            Files.createDirectories(logDir);
        } catch (IOException e) {
            throw new BenchException("cannot create pod log dir " + logDir + ": " + e.getMessage(), e);
        }
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setUid(uid).setNamespace("berth-bench").setAttempt(0))
                .setHostname(name.length() > 63 ? name.substring(0, 63) : name)
                .setLogDirectory(logDir.toString())
                .putLabels("io.berth.bench", "true")
                .setLinux(LinuxPodSandboxConfig.newBuilder()
                        // As the kubelet does: a pod-level cgroup under a common parent (removed by the harness).
                        .setCgroupParent("/" + CGROUP_PARENT + "/pod" + uid)
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder()
                                .setNamespaceOptions(NamespaceOption.newBuilder()
                                        .setNetwork(NamespaceMode.POD)
                                        .setPid(NamespaceMode.CONTAINER)
                                        .setIpc(NamespaceMode.POD))))
                .build();
    }

    /** The kubelet's default masked and read-only paths (pkg/securitycontext), sent for every unprivileged container. */
    static final List<String> KUBELET_MASKED_PATHS = List.of("/proc/asound", "/proc/acpi", "/proc/kcore",
            "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
            "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap");
    static final List<String> KUBELET_READONLY_PATHS = List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
            "/proc/sysrq-trigger");

    /**
     * What the kubelet sends for a best-effort container: its namespaces (its own PID namespace, the pod's network
     * and IPC), the default masked and read-only paths, and the resources of a best-effort pod. A runtime applies
     * what it is given: containerd masks nothing it is not sent, so a bare config would have it skip work that
     * every real pod asks for.
     */
    static ContainerConfig sleeper(String image) {
        return ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName("sleep").setAttempt(0))
                .setImage(ImageSpec.newBuilder().setImage(image))
                .addCommand("sleep")
                .addArgs("3600")
                .setLogPath("sleep.log")
                .setLinux(LinuxContainerConfig.newBuilder()
                        .setResources(LinuxContainerResources.newBuilder().setCpuShares(2).setOomScoreAdj(1000))
                        .setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                                .setNamespaceOptions(NamespaceOption.newBuilder()
                                        .setNetwork(NamespaceMode.POD)
                                        .setPid(NamespaceMode.CONTAINER)
                                        .setIpc(NamespaceMode.POD))
                                .addAllMaskedPaths(KUBELET_MASKED_PATHS)
                                .addAllReadonlyPaths(KUBELET_READONLY_PATHS)))
                .build();
    }
}
