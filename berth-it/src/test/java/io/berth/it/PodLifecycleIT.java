package io.berth.it;

import static io.berth.it.Cri.await;
import static io.berth.it.Cri.awaitExit;
import static io.berth.it.Cri.container;
import static io.berth.it.Cri.create;
import static io.berth.it.Cri.createAndStart;
import static io.berth.it.Cri.exec;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static io.berth.it.Cri.status;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.cri.api.Capability;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStatus;
import io.berth.cri.api.ExecSyncResponse;
import io.berth.cri.api.LinuxContainerConfig;
import io.berth.cri.api.LinuxContainerResources;
import io.berth.cri.api.LinuxContainerSecurityContext;
import io.berth.cri.api.ListContainersRequest;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.PodSandboxStatusRequest;
import io.berth.cri.api.PortMapping;
import io.berth.cri.api.Protocol;
import io.berth.cri.api.RemoveContainerRequest;
import io.berth.cri.api.RemovePodSandboxRequest;
import io.berth.cri.api.StartContainerRequest;
import io.berth.cri.api.StopContainerRequest;
import io.berth.cri.api.StopPodSandboxRequest;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Pods and containers over the real socket: states, logs, exit codes, limits, security, networking. */
class PodLifecycleIT {
  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @RegisterExtension
  @Order(2)
  static final BerthdProcess berthd = BerthdProcess.builder().build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  static String image;

  @BeforeAll
  static void pullImage() {
    image = Cri.pushAndPull(berthd, registry, "it/busybox");
  }

  @Test
  void lifecycle_everyState_reportedAndIdempotent() {
    PodSandboxConfig.Builder pod = pod(berthd, "lifecycle");
    String podId = runPod(berthd, pod, "");
    assertThat(berthd.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId).build())
        .getStatus().getState()).isEqualTo(PodSandboxState.SANDBOX_READY);

    String id = create(berthd, podId, pod, container("c", image, "sleep", "3600"));
    ContainerStatus created = status(berthd, id);
    assertThat(created.getState()).isEqualTo(ContainerState.CONTAINER_CREATED);
    assertThat(created.getCreatedAt()).isPositive();
    assertThat(created.getStartedAt()).isZero();

    berthd.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    ContainerStatus running = status(berthd, id);
    assertThat(running.getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
    assertThat(running.getStartedAt()).isGreaterThanOrEqualTo(running.getCreatedAt());
    assertThat(berthd.runtime().listContainers(ListContainersRequest.getDefaultInstance()).getContainersList())
        .extracting(c -> c.getId()).contains(id);

    berthd.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(2).build());
    ContainerStatus exited = status(berthd, id);
    assertThat(exited.getState()).isEqualTo(ContainerState.CONTAINER_EXITED);
    assertThat(exited.getFinishedAt()).isGreaterThanOrEqualTo(exited.getStartedAt());
    // ended by the stop signal (SIGTERM, 128+15) or, after the timeout, SIGKILL (128+9)
    assertThat(exited.getExitCode()).isIn(143, 137);
    berthd.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(2).build());

    berthd.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
    berthd.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
    berthd.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId("0123456789abcdef").build());
    berthd.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId("0123456789abcdef").build());

    berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    assertThat(berthd.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId).build())
        .getStatus().getState()).isEqualTo(PodSandboxState.SANDBOX_NOTREADY);
    berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    berthd.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    berthd.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId("fedcba9876543210").build());
    berthd.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId("fedcba9876543210")
        .build());
    assertThat(berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList())
        .extracting(p -> p.getId()).doesNotContain(podId);
  }

  @Test
  void output_stdoutAndStderr_inCriLogFormat() {
    PodSandboxConfig.Builder pod = pod(berthd, "logs");
    String podId = runPod(berthd, pod, "");
    String id = createAndStart(berthd, podId, pod,
        container("c", image, "sh", "-c", "echo hello; echo oops >&2; printf partial"));
    ContainerStatus s = awaitExit(berthd, id);
    assertThat(s.getLogPath()).startsWith(berthd.logDir().toString());
    List<String> lines = Cri.logLines(s, 3);
    String ts = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,9})?(Z|[+-]\\d\\d:\\d\\d)";
    assertThat(lines).hasSize(3);
    assertThat(lines).anySatisfy(l -> assertThat(l).matches(ts + " stdout F hello"));
    assertThat(lines).anySatisfy(l -> assertThat(l).matches(ts + " stderr F oops"));
    assertThat(lines).anySatisfy(l -> assertThat(l).matches(ts + " stdout P partial"));
  }

  @Test
  void exitCodes_reportedWithReason() {
    PodSandboxConfig.Builder pod = pod(berthd, "exits");
    String podId = runPod(berthd, pod, "");
    String ok = createAndStart(berthd, podId, pod, container("ok", image, "true"));
    String three = createAndStart(berthd, podId, pod, container("three", image, "sh", "-c", "exit 3"));
    ContainerStatus okStatus = awaitExit(berthd, ok);
    ContainerStatus threeStatus = awaitExit(berthd, three);
    assertThat(okStatus.getExitCode()).isZero();
    assertThat(okStatus.getReason()).isEqualTo("Completed");
    assertThat(threeStatus.getExitCode()).isEqualTo(3);
    assertThat(threeStatus.getReason()).isEqualTo("Error");
  }

  @Test
  void memoryLimit_exceeded_oomKilled() {
    PodSandboxConfig.Builder pod = pod(berthd, "oom");
    String podId = runPod(berthd, pod, "");
    // tail keeps a line without newline in memory: /dev/zero never ends one, so it grows until the limit kills it
    String id = createAndStart(berthd, podId, pod, container("hog", image, "tail", "/dev/zero")
        .setLinux(LinuxContainerConfig.newBuilder().setResources(LinuxContainerResources.newBuilder()
            .setMemoryLimitInBytes(32L << 20))));
    ContainerStatus s = awaitExit(berthd, id);
    assertThat(s.getReason()).isEqualTo("OOMKilled");
    assertThat(s.getExitCode()).isEqualTo(137);
  }

  @Test
  void readOnlyRootfs_write_refused() {
    PodSandboxConfig.Builder pod = pod(berthd, "ro");
    String podId = runPod(berthd, pod, "");
    String id = createAndStart(berthd, podId, pod, container("c", image, "sleep", "3600")
        .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
            .setReadonlyRootfs(true))));
    ExecSyncResponse r = exec(berthd, id, "sh", "-c", "touch /data/new 2>&1; echo rc=$?");
    assertThat(r.getStdout().toStringUtf8()).contains("Read-only file system").contains("rc=1");
    ExecSyncResponse tmp = exec(berthd, id, "sh", "-c", "cat /data/marker.txt");
    assertThat(tmp.getStdout().toStringUtf8()).isEqualTo("marker content\n");
  }

  @Test
  void droppedCapability_absentFromEffectiveSet() {
    PodSandboxConfig.Builder pod = pod(berthd, "caps");
    String podId = runPod(berthd, pod, "");
    String dropped = createAndStart(berthd, podId, pod, container("dropped", image, "sleep", "3600")
        .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
            .setCapabilities(Capability.newBuilder().addDropCapabilities("CHOWN")))));
    String kept = createAndStart(berthd, podId, pod, container("kept", image, "sleep", "3600"));
    long droppedCaps = capEff(exec(berthd, dropped, "grep", "CapEff", "/proc/self/status"));
    long keptCaps = capEff(exec(berthd, kept, "grep", "CapEff", "/proc/self/status"));
    long capChown = 1L; // CAP_CHOWN is bit 0
    assertThat(keptCaps & capChown).isEqualTo(capChown);
    assertThat(droppedCaps & capChown).isZero();
    assertThat(droppedCaps).isEqualTo(keptCaps & ~capChown);
    ExecSyncResponse chown = exec(berthd, dropped, "sh", "-c", "touch /tmp/f && chown 65534 /tmp/f");
    assertThat(chown.getExitCode()).isNotZero();
  }

  @Test
  void runAsUsername_resolvedFromTheImage_alikeInEveryContainerOfIt() {
    PodSandboxConfig.Builder pod = pod(berthd, "users");
    String podId = runPod(berthd, pod, "");
    // The first container of an image reads its /etc/passwd in the mounted rootfs; later ones use what was read.
    for (String name : List.of("first", "second", "third")) {
      String id = createAndStart(berthd, podId, pod, container(name, image, "sleep", "3600")
          .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
              .setRunAsUsername("nobody"))));
      ExecSyncResponse r = exec(berthd, id, "sh", "-c", "echo $(id -u) $(id -g) $(id -G)");
      assertThat(r.getStdout().toStringUtf8().strip()).as(name).isEqualTo("65534 65534 65534");
    }
  }

  private static long capEff(ExecSyncResponse r) {
    String line = r.getStdout().toStringUtf8().strip();
    assertThat(line).startsWith("CapEff:");
    return Long.parseUnsignedLong(line.substring("CapEff:".length()).strip(), 16);
  }

  @Test
  void twoContainers_samePod_reachEachOtherOnLocalhost() {
    PodSandboxConfig.Builder pod = pod(berthd, "localhost");
    String podId = runPod(berthd, pod, "");
    String server = createAndStart(berthd, podId, pod, container("server", image,
        "httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www"));
    String client = createAndStart(berthd, podId, pod, container("client", image, "sleep", "3600"));
    await(berthd, server, s -> s.getState() == ContainerState.CONTAINER_RUNNING);
    ExecSyncResponse r = null;
    for (int i = 0; i < 50; i++) {
      r = exec(berthd, client, "wget", "-q", "-O", "-", "http://127.0.0.1:8080/index.html");
      if (r.getExitCode() == 0) {
        break;
      }
      Cri.sleep(100);
    }
    assertThat(r.getStdout().toStringUtf8()).isEqualTo("hello from berth\n");
  }

  @Test
  void portMapping_answersOnHostLoopback() throws IOException {
    int hostPort;
    try (ServerSocket s = new ServerSocket(0)) {
      hostPort = s.getLocalPort();
    }
    PodSandboxConfig.Builder pod = pod(berthd, "ports").addPortMappings(PortMapping.newBuilder()
        .setProtocol(Protocol.TCP).setContainerPort(80).setHostPort(hostPort).setHostIp("127.0.0.1"));
    String podId = runPod(berthd, pod, "");
    createAndStart(berthd, podId, pod, container("web", image, "httpd", "-f", "-p", "80", "-h", "/www"));
    String body = null;
    IOException last = null;
    for (int i = 0; i < 100 && body == null; i++) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", hostPort), 2000);
        s.setSoTimeout(5000);
        s.getOutputStream().write("GET /index.html HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        InputStream in = s.getInputStream();
        String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        if (response.startsWith("HTTP/1.")) {
          body = response;
        }
      } catch (IOException e) {
        last = e;
        Cri.sleep(100);
      }
    }
    assertThat(body).as("answer on 127.0.0.1:%d (last error %s)", hostPort, last).isNotNull();
    assertThat(body).matches("(?s)HTTP/1\\.[01] 200 .*").endsWith("hello from berth\n");
  }
}
