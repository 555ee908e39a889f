package io.berth.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs shell-script plugins; no root needed. */
class PluginInvokerTest {
  @TempDir Path dir;

  private Path plugin(String name, String body) throws IOException {
    Path p = dir.resolve(name);
    Files.writeString(p, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }

  private static ObjectNode conf() {
    ObjectNode o = CniSpec.JSON.createObjectNode();
    o.put("cniVersion", "1.0.0").put("name", "n").put("type", "x");
    return o;
  }

  private static final PluginInvoker.Call ADD = new PluginInvoker.Call("ADD", "sb1", "/var/run/netns/x", "eth0",
      "IgnoreUnknown=1;K8S_POD_NAME=p");

  @Test
  void invoke_passesEnvironmentAndStdin_returnsStdout() throws IOException {
    Path out = dir.resolve("seen");
    plugin("rec", "env | grep ^CNI_ | sort > " + out + "; cat >> " + out
        + "; echo '{\"cniVersion\":\"1.0.0\",\"ips\":[]}'");
    PluginInvoker inv = new PluginInvoker(List.of(dir.resolve("none"), dir), Duration.ofSeconds(30));
    String stdout = inv.invoke("rec", ADD, conf());
    assertThat(stdout).contains("\"cniVersion\":\"1.0.0\"");
    String seen = Files.readString(out);
    assertThat(seen).contains("CNI_COMMAND=ADD\n", "CNI_CONTAINERID=sb1\n", "CNI_NETNS=/var/run/netns/x\n",
        "CNI_IFNAME=eth0\n", "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=p\n",
        "CNI_PATH=" + dir.resolve("none") + ":" + dir + "\n");
    assertThat(seen).contains("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"x\"}");
  }

  @Test
  void invoke_cniErrorJson_messageCarriesPluginMsgAndDetails() throws IOException {
    plugin("bad", "cat >/dev/null; echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"no more addresses\","
        + "\"details\":\"range 10.0.0.0/30 full\"}'; exit 1");
    PluginInvoker inv = new PluginInvoker(List.of(dir), Duration.ofSeconds(30));
    assertThatThrownBy(() -> inv.invoke("bad", ADD, conf()))
        .isInstanceOf(BerthException.class)
        .hasMessage("CNI plugin bad ADD failed: no more addresses: range 10.0.0.0/30 full (code 11)")
        .extracting(e -> ((BerthException) e).kind()).isEqualTo(ErrorKind.UNAVAILABLE);
  }

  @Test
  void invoke_configErrorCode_invalidArgument() throws IOException {
    plugin("cfg", "echo '{\"code\":7,\"msg\":\"invalid network config\"}'; exit 1");
    PluginInvoker inv = new PluginInvoker(List.of(dir), Duration.ofSeconds(30));
    assertThatThrownBy(() -> inv.invoke("cfg", ADD, conf()))
        .extracting(e -> ((BerthException) e).kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT);
  }

  @Test
  void invoke_nonJsonFailure_carriesStderr() throws IOException {
    plugin("crash", "echo 'panic: boom' >&2; exit 2");
    PluginInvoker inv = new PluginInvoker(List.of(dir), Duration.ofSeconds(30));
    assertThatThrownBy(() -> inv.invoke("crash", ADD, conf()))
        .hasMessage("CNI plugin crash ADD failed with exit status 2: panic: boom");
  }

  @Test
  void invoke_hangingPlugin_killedAfterTimeout() throws IOException {
    Path pidFile = dir.resolve("pid");
    plugin("hang", "echo $$ > " + pidFile + "; exec sleep 600");
    PluginInvoker inv = new PluginInvoker(List.of(dir), Duration.ofMillis(500));
    assertThatThrownBy(() -> inv.invoke("hang", ADD, conf()))
        .hasMessageContaining("timed out")
        .extracting(e -> ((BerthException) e).kind()).isEqualTo(ErrorKind.UNAVAILABLE);
    long pid = Long.parseLong(Files.readString(pidFile).strip());
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
  }

  @Test
  void invoke_missingPlugin_unavailableNamingIt() {
    PluginInvoker inv = new PluginInvoker(List.of(dir), Duration.ofSeconds(30));
    assertThatThrownBy(() -> inv.invoke("nosuch", ADD, conf()))
        .hasMessageContaining("nosuch")
        .extracting(e -> ((BerthException) e).kind()).isEqualTo(ErrorKind.UNAVAILABLE);
  }

  @Test
  void find_pathLikeType_rejected() throws IOException {
    plugin("ok", "exit 0");
    PluginInvoker inv = new PluginInvoker(List.of(dir), Duration.ofSeconds(30));
    assertThat(inv.find("ok")).contains(dir.resolve("ok"));
    assertThatThrownBy(() -> inv.find("../ok")).hasMessageContaining("invalid plugin type");
  }
}
