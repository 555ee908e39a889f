package io.berth.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.oci.CriAnnotations;
import io.berth.oci.RuntimeSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GvisorSandboxesTest {
  @TempDir Path dir;

  static RuntimeSpec spec(String containerType, RuntimeSpec.Namespace... namespaces) {
    RuntimeSpec.Linux linux = new RuntimeSpec.Linux(null, null, null, List.of(namespaces), null, null, null, null,
        null);
    return new RuntimeSpec(RuntimeSpec.OCI_VERSION, null, null, null, List.of(),
        Map.of(CriAnnotations.CONTAINER_TYPE, containerType), linux);
  }

  @Test
  void sandboxArgs_hostNetworkPod_hostModeUnlessTheHandlerChoosesOne() {
    RuntimeSpec hostNet = spec("sandbox", new RuntimeSpec.Namespace("pid", null));
    assertThat(GvisorSandboxes.sandboxArgs(hostNet, List.of("--debug"))).containsExactly("--network=host");
    assertThat(GvisorSandboxes.sandboxArgs(hostNet, List.of("--network=none"))).isEmpty();
    assertThat(GvisorSandboxes.sandboxArgs(hostNet, List.of("-network", "sandbox"))).isEmpty();
    RuntimeSpec podNet = spec("sandbox", new RuntimeSpec.Namespace("network", "/run/berth/netns/p"));
    assertThat(GvisorSandboxes.sandboxArgs(podNet, List.of())).isEmpty();
    // a sub-container inherits the sandbox's network whatever its spec says
    assertThat(GvisorSandboxes.sandboxArgs(spec("container"), List.of())).isEmpty();
  }

  @Test
  void isSubcontainer_criContainerType() {
    assertThat(GvisorSandboxes.isSubcontainer(spec("container"))).isTrue();
    assertThat(GvisorSandboxes.isSubcontainer(spec("sandbox"))).isFalse();
  }

  @Test
  void ownNetns_onlyAPathThatIsNotTheHostsNamespace() throws IOException {
    // stands for a pinned pod namespace: any file that is not berthd's own namespace (unit tests cannot make one)
    Path pinned = Files.createFile(dir.resolve("netns"));
    assertThat(GvisorSandboxes.ownNetns(spec("sandbox", new RuntimeSpec.Namespace("network", pinned.toString()))))
        .contains(pinned);
    // one that cannot be looked at is not one to hide runsc's check for
    assertThat(GvisorSandboxes.ownNetns(spec("sandbox", new RuntimeSpec.Namespace("network",
        dir.resolve("gone").toString())))).isEmpty();
    // berthd's own namespace is the host's: runsc's refusal stands
    assertThat(GvisorSandboxes.ownNetns(spec("sandbox", new RuntimeSpec.Namespace("network", "/proc/self/ns/net"))))
        .isEmpty();
    assertThat(GvisorSandboxes.ownNetns(spec("sandbox", new RuntimeSpec.Namespace("network", null)))).isEmpty();
    assertThat(GvisorSandboxes.ownNetns(spec("sandbox"))).isEmpty();
  }

  @Test
  void withNetnsGuard_privateMountNamespaceHidingProcSysNet() {
    List<String> cmd = GvisorSandboxes.withNetnsGuard(List.of("/usr/bin/runsc", "--root=/r", "start", "p"));
    assertThat(cmd).startsWith("/usr/bin/unshare", "--mount", "--propagation", "slave", "/bin/sh", "-c")
        .endsWith("sh", "/usr/bin/runsc", "--root=/r", "start", "p");
    assertThat(cmd.get(6)).contains("mount -t tmpfs -o ro").contains("/proc/sys/net && exec \"$@\"");
  }

  @Test
  void lastError_runscLogOfBackToBackJsonObjects_lastMessage() throws IOException {
    Path log = dir.resolve("runsc.log");
    Files.writeString(log, "{\"msg\":\"first\",\"level\":\"error\",\"time\":\"t\"}"
        + "{\"msg\":\"starting container: out of memory\",\"level\":\"error\",\"time\":\"t\"}");
    assertThat(GvisorSandboxes.lastError(log)).isEqualTo("starting container: out of memory");
    assertThat(GvisorSandboxes.lastError(dir.resolve("none"))).isEqualTo("no message from runsc");
  }

  @Test
  void install_adapterExecutableAndRewrittenOnlyWhenChanged() throws IOException {
    GvisorSandboxes g = GvisorSandboxes.install(dir);
    assertThat(g.adapter()).isEqualTo(dir.resolve(GvisorSandboxes.ADAPTER)).isExecutable();
    assertThat(Files.readString(g.adapter())).startsWith("#!/bin/sh\n");
    long modified = Files.getLastModifiedTime(g.adapter()).toMillis();
    GvisorSandboxes.install(dir);
    assertThat(Files.getLastModifiedTime(g.adapter()).toMillis()).isEqualTo(modified);
    try (var files = Files.list(dir)) {
      assertThat(files).containsExactly(g.adapter());
    }
  }
}
