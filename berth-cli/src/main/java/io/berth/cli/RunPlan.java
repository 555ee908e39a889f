package io.berth.cli;

import com.google.protobuf.ByteString;
import io.berth.cri.api.ContainerConfig;
import io.berth.cri.api.ContainerMetadata;
import io.berth.cri.api.CreateContainerRequest;
import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.KeyValue;
import io.berth.cri.api.LinuxContainerConfig;
import io.berth.cri.api.LinuxContainerSecurityContext;
import io.berth.cri.api.LinuxPodSandboxConfig;
import io.berth.cri.api.LinuxSandboxSecurityContext;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.NamespaceOption;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxMetadata;
import io.berth.cri.api.RunPodSandboxRequest;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * What {@code berthctl run} asks the runtime for, as pure functions of the command line: a one-pod, one-container
 * workload in the spirit of {@code nerdctl run}.
 */
final class RunPlan {

    static final String NAMESPACE = "default";
    static final String RUN_LABEL = "io.berth.cli/run";

    /** The parsed command line. {@code args} replace the image's CMD; {@code entrypoint}, if given, its ENTRYPOINT. */
    record Options(String image, List<String> args, List<String> entrypoint, String name, String uid,
            String runtimeHandler, Map<String, String> env, boolean hostNetwork, boolean stdin, boolean tty,
            Optional<String> workingDir) {
    }

    private RunPlan() {
    }

    static String randomName(RandomGenerator random) {
        byte[] b = new byte[4];
        random.nextBytes(b);
        return "berthctl-run-" + HexFormat.of().formatHex(b);
    }

    static String randomUid() {
        return UUID.randomUUID().toString();
    }

    /** {@code K=V} pairs in order; a bare {@code K} takes its value from {@code lookup} (the caller's environment). */
    static Map<String, String> env(List<String> pairs, Function<String, String> lookup) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String p : pairs) {
            int eq = p.indexOf('=');
            if (eq == 0) {
                throw new CliException("environment variable %s has no name", p);
            }
            if (eq < 0) {
                String v = lookup.apply(p);
                if (v != null) {
                    env.put(p, v);
                }
            } else {
                env.put(p.substring(0, eq), p.substring(eq + 1));
            }
        }
        return env;
    }

    static NamespaceOption namespaces(boolean hostNetwork) {
        return NamespaceOption.newBuilder()
                .setNetwork(hostNetwork ? NamespaceMode.NODE : NamespaceMode.POD)
                .setPid(NamespaceMode.CONTAINER)
                .setIpc(NamespaceMode.POD)
                .build();
    }

    static RunPodSandboxRequest sandbox(Options o) {
        PodSandboxConfig.Builder config = PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(o.name()).setNamespace(NAMESPACE).setUid(o.uid())
                        .setAttempt(0))
                .setLogDirectory("/var/log/pods/" + NAMESPACE + "_" + o.name() + "_" + o.uid())
                .putLabels(RUN_LABEL, "true")
                .setLinux(LinuxPodSandboxConfig.newBuilder().setSecurityContext(
                        LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(namespaces(o.hostNetwork()))));
        if (!o.hostNetwork()) {
            config.setHostname(o.name()); // as the kubelet: a host-network pod shares the node's UTS namespace
        }
        RunPodSandboxRequest.Builder req = RunPodSandboxRequest.newBuilder().setConfig(config);
        if (o.runtimeHandler() != null && !o.runtimeHandler().isEmpty()) {
            req.setRuntimeHandler(o.runtimeHandler());
        }
        return req.build();
    }

    static CreateContainerRequest container(Options o, String podSandboxId, PodSandboxConfig sandboxConfig) {
        ContainerConfig.Builder c = ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName(o.name()).setAttempt(0))
                .setImage(ImageSpec.newBuilder().setImage(o.image()).setUserSpecifiedImage(o.image()))
                .addAllCommand(o.entrypoint())
                .addAllArgs(o.args())
                .setLogPath(o.name() + "/0.log")
                .setStdin(o.stdin())
                .setStdinOnce(o.stdin())
                .setTty(o.tty())
                .putLabels(RUN_LABEL, "true")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder().setNamespaceOptions(namespaces(o.hostNetwork()))));
        o.workingDir().ifPresent(c::setWorkingDir);
        o.env().forEach((k, v) -> c.addEnvs(KeyValue.newBuilder().setKey(k)
                .setValue(ByteString.copyFrom(v, StandardCharsets.UTF_8))));
        return CreateContainerRequest.newBuilder().setPodSandboxId(podSandboxId).setConfig(c)
                .setSandboxConfig(sandboxConfig).build();
    }
}
