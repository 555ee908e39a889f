package io.berth.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.cri.api.ContainerConfig;
import io.berth.cri.api.CreateContainerRequest;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.RunPodSandboxRequest;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RunPlanTest {

    private static RunPlan.Options options(boolean hostNetwork, boolean stdin, boolean tty) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("A", "1");
        env.put("B", "x=y");
        return new RunPlan.Options("busybox:1.36", List.of("sh", "-c", "echo hi"), List.of(), "demo",
                "0000-uid", "crun", env, hostNetwork, stdin, tty, Optional.empty());
    }

    @Test
    void sandbox_mapsNameNamespaceUidLogDirectoryAndHandler() {
        RunPodSandboxRequest req = RunPlan.sandbox(options(false, false, false));
        PodSandboxConfig c = req.getConfig();
        assertThat(c.getMetadata().getName()).isEqualTo("demo");
        assertThat(c.getMetadata().getNamespace()).isEqualTo("default");
        assertThat(c.getMetadata().getUid()).isEqualTo("0000-uid");
        assertThat(c.getMetadata().getAttempt()).isZero();
        assertThat(c.getHostname()).isEqualTo("demo");
        assertThat(c.getLogDirectory()).isEqualTo("/var/log/pods/default_demo_0000-uid");
        assertThat(c.getLabelsMap()).containsEntry(RunPlan.RUN_LABEL, "true");
        assertThat(req.getRuntimeHandler()).isEqualTo("crun");
        var ns = c.getLinux().getSecurityContext().getNamespaceOptions();
        assertThat(ns.getNetwork()).isEqualTo(NamespaceMode.POD);
        assertThat(ns.getPid()).isEqualTo(NamespaceMode.CONTAINER);
        assertThat(ns.getIpc()).isEqualTo(NamespaceMode.POD);
    }

    @Test
    void sandbox_hostNetwork_usesNodeNetwork() {
        RunPodSandboxRequest req = RunPlan.sandbox(options(true, false, false));
        assertThat(req.getConfig().getLinux().getSecurityContext().getNamespaceOptions().getNetwork())
                .isEqualTo(NamespaceMode.NODE);
        assertThat(req.getConfig().getHostname()).isEmpty();
    }

    @Test
    void sandbox_noHandler_leavesDefault() {
        RunPlan.Options o = options(false, false, false);
        RunPlan.Options noHandler = new RunPlan.Options(o.image(), o.args(), o.entrypoint(), o.name(), o.uid(), null,
                o.env(), false, false, false, Optional.empty());
        assertThat(RunPlan.sandbox(noHandler).getRuntimeHandler()).isEmpty();
    }

    @Test
    void container_mapsCmdToArgsImageLogPathEnvAndSandbox() {
        RunPlan.Options o = options(false, false, false);
        RunPodSandboxRequest sandbox = RunPlan.sandbox(o);
        CreateContainerRequest req = RunPlan.container(o, "pod-1", sandbox.getConfig());
        ContainerConfig c = req.getConfig();
        assertThat(req.getPodSandboxId()).isEqualTo("pod-1");
        assertThat(req.getSandboxConfig()).isEqualTo(sandbox.getConfig());
        assertThat(c.getMetadata().getName()).isEqualTo("demo");
        assertThat(c.getImage().getImage()).isEqualTo("busybox:1.36");
        assertThat(c.getCommandList()).isEmpty();
        assertThat(c.getArgsList()).containsExactly("sh", "-c", "echo hi");
        assertThat(c.getLogPath()).isEqualTo("demo/0.log");
        assertThat(c.getEnvsList()).extracting(kv -> kv.getKey() + "=" + kv.getValue().toString(StandardCharsets.UTF_8))
                .containsExactly("A=1", "B=x=y");
        assertThat(c.getTty()).isFalse();
        assertThat(c.getStdin()).isFalse();
        assertThat(c.getLinux().getSecurityContext().getNamespaceOptions().getPid()).isEqualTo(NamespaceMode.CONTAINER);
    }

    @Test
    void container_interactiveTty_setsStdinOnceAndTty() {
        RunPlan.Options o = options(false, true, true);
        ContainerConfig c = RunPlan.container(o, "p", RunPlan.sandbox(o).getConfig()).getConfig();
        assertThat(c.getStdin()).isTrue();
        assertThat(c.getStdinOnce()).isTrue();
        assertThat(c.getTty()).isTrue();
    }

    @Test
    void container_entrypointAndWorkdir_areMapped() {
        RunPlan.Options o = new RunPlan.Options("img", List.of("-x"), List.of("/bin/tool"), "n", "u", null, Map.of(),
                false, false, false, Optional.of("/work"));
        ContainerConfig c = RunPlan.container(o, "p", RunPlan.sandbox(o).getConfig()).getConfig();
        assertThat(c.getCommandList()).containsExactly("/bin/tool");
        assertThat(c.getArgsList()).containsExactly("-x");
        assertThat(c.getWorkingDir()).isEqualTo("/work");
    }

    @Test
    void env_bareName_takesCallersValueOrIsSkipped() {
        Map<String, String> env = RunPlan.env(List.of("K=V", "HOME", "MISSING", "E="),
                name -> name.equals("HOME") ? "/root" : null);
        assertThat(env).containsExactly(Map.entry("K", "V"), Map.entry("HOME", "/root"), Map.entry("E", ""));
    }

    @Test
    void env_noName_isRejected() {
        assertThatThrownBy(() -> RunPlan.env(List.of("=x"), n -> null)).isInstanceOf(CliException.class);
    }

    @Test
    void randomName_hasPrefixAndHex() {
        assertThat(RunPlan.randomName(new Random(1))).matches("berthctl-run-[0-9a-f]{8}");
    }

    @Test
    void runCommand_options_parseFromCommandLine() {
        RunCommand cmd = new RunCommand();
        new picocli.CommandLine(cmd).setStopAtPositional(true).parseArgs("--rm", "-it", "--name", "x", "--runtime", "runc",
                "-e", "A=1", "--net", "host", "busybox", "sh", "-c", "ls -l");
        RunPlan.Options o = cmd.options();
        assertThat(o.name()).isEqualTo("x");
        assertThat(o.image()).isEqualTo("busybox");
        assertThat(o.args()).containsExactly("sh", "-c", "ls -l");
        assertThat(o.stdin()).isTrue();
        assertThat(o.tty()).isTrue();
        assertThat(o.hostNetwork()).isTrue();
        assertThat(o.runtimeHandler()).isEqualTo("runc");
        assertThat(o.env()).containsEntry("A", "1");
        assertThat(cmd.rm).isTrue();
    }

    @Test
    void runCommand_optionsAfterImage_belongToTheCommand() {
        RunCommand cmd = new RunCommand();
        new picocli.CommandLine(cmd).setStopAtPositional(true).parseArgs("busybox", "ls", "-la", "--rm");
        assertThat(cmd.rm).isFalse();
        assertThat(cmd.options().args()).containsExactly("ls", "-la", "--rm");
    }
}
