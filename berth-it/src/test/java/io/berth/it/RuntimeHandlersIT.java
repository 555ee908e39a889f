package io.berth.it;

import static io.berth.it.Cri.container;
import static io.berth.it.Cri.create;
import static io.berth.it.Cri.createAndStart;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.cri.api.AttachRequest;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStatus;
import io.berth.cri.api.ExecRequest;
import io.berth.cri.api.ExecSyncResponse;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.PodSandbox;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.PodSandboxStatusRequest;
import io.berth.cri.api.RemoveContainerRequest;
import io.berth.cri.api.RemovePodSandboxRequest;
import io.berth.cri.api.StopContainerRequest;
import io.berth.cri.api.StopPodSandboxRequest;
import io.berth.streaming.WebSocketTestClient;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Pods on runc, crun and runsc (gVisor) side by side in one daemon, each with its own network namespace from CNI.
 * crun needs the test-host step {@code scripts/prepare-test-host.sh} (hugetlb moved out of cgroup2). runsc runs with
 * the shipped handler options: its own netstack in the pod's netns, containers after the first one joining the pod's
 * sandbox under conmon (berth-runtime's GvisorSandboxes says how).
 */
class RuntimeHandlersIT {
  /** What gVisor 20221219's sentry reports as its kernel release (pkg/sentry/kernel/version.go). */
  private static final String GVISOR_RELEASE = "4.4.0";
  private static final String V5 = "v5.channel.k8s.io";

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
    image = Cri.pushAndPull(berthd, registry, "it/handlers");
  }

  private static String hostKernel() throws IOException {
    return Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
  }

  @Test
  void podsOnRuncCrunAndRunsc_sideBySide_eachContainerSeesItsHandlersKernel() throws Exception {
    assertThat(hostKernel()).isNotEqualTo(GVISOR_RELEASE);
    Map<String, String> pods = new LinkedHashMap<>();
    Map<String, String> containers = new LinkedHashMap<>();
    for (String handler : List.of("runc", "crun", "runsc")) {
      PodSandboxConfig.Builder pod = pod(berthd, "on-" + handler);
      String podId = runPod(berthd, pod, handler);
      pods.put(handler, podId);
      containers.put(handler, createAndStart(berthd, podId, pod, container("c", image, "sleep", "3600")));
    }
    // all three run at the same time, each under its own runtime's state dir
    for (Map.Entry<String, String> e : containers.entrySet()) {
      String handler = e.getKey();
      assertThat(Cri.status(berthd, e.getValue()).getState()).as(handler)
          .isEqualTo(ContainerState.CONTAINER_RUNNING);
      ExecSyncResponse uname = Cri.exec(berthd, e.getValue(), "uname", "-r");
      assertThat(uname.getExitCode()).as(handler).isZero();
      assertThat(uname.getStdout().toStringUtf8().strip()).as(handler)
          .isEqualTo(handler.equals("runsc") ? GVISOR_RELEASE : hostKernel());
    }
    assertThat(berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList())
        .extracting(PodSandbox::getId, PodSandbox::getRuntimeHandler, PodSandbox::getState)
        .contains(Tuple.tuple(pods.get("runc"), "runc", PodSandboxState.SANDBOX_READY),
            Tuple.tuple(pods.get("crun"), "crun", PodSandboxState.SANDBOX_READY),
            Tuple.tuple(pods.get("runsc"), "runsc", PodSandboxState.SANDBOX_READY));

    // the gVisor sandbox (the pod's kernel, all its containers) is accounted in the infra container's cgroup
    assertThat(sandboxCgroups(pods.get("runsc"))).as("cgroups of the runsc sandbox")
        .anyMatch(l -> l.matches("\\d+:memory:" + berthd.cgroupParent() + "/berth-" + pods.get("runsc")));

    // a second container in the running gVisor pod: its output reaches the CRI log through conmon, and its exit code
    PodSandboxConfig.Builder runscPod = pod(berthd, "on-runsc");
    String uname = createAndStart(berthd, pods.get("runsc"), runscPod, container("uname", image, "uname", "-r"));
    ContainerStatus s = Cri.awaitExit(berthd, uname);
    assertThat(s.getExitCode()).isZero();
    assertThat(s.getFinishedAt()).isGreaterThanOrEqualTo(s.getStartedAt());
    assertThat(Cri.logLines(s, 1)).singleElement().satisfies(line ->
        assertThat(line).matches("^\\S+ stdout F " + GVISOR_RELEASE.replace(".", "\\.") + "$"));

    for (String podId : pods.values()) {
      stopAndRemove(podId);
    }
  }

  @Test
  void runscContainer_outputAndExitCode_recordedByConmon() {
    PodSandboxConfig.Builder pod = pod(berthd, "runsc-exit");
    String podId = runPod(berthd, pod, "runsc");
    String id = createAndStart(berthd, podId, pod, container("c", image,
        "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"));
    ContainerStatus s = Cri.awaitExit(berthd, id);
    assertThat(s.getExitCode()).isEqualTo(3);
    assertThat(s.getReason()).isEqualTo("Error");
    assertThat(Cri.logLines(s, 2)).extracting(l -> l.substring(l.indexOf(' ') + 1))
        .containsExactlyInAnyOrder("stdout F to-stdout", "stderr F to-stderr");

    // a container that runs until stopped: SIGTERM, then SIGKILL after the timeout
    String sleeper = createAndStart(berthd, podId, pod, container("sleeper", image, "sleep", "3600"));
    assertThat(Cri.status(berthd, sleeper).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
    berthd.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(sleeper).setTimeout(2).build());
    ContainerStatus stopped = Cri.status(berthd, sleeper);
    assertThat(stopped.getState()).isEqualTo(ContainerState.CONTAINER_EXITED);
    assertThat(stopped.getExitCode()).isIn(137, 143);

    // created, never started: removal ends its monitor
    String never = create(berthd, podId, pod, container("never", image, "true"));
    assertThat(Cri.status(berthd, never).getState()).isEqualTo(ContainerState.CONTAINER_CREATED);
    berthd.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(never).build());
    stopAndRemove(podId);
  }

  /**
   * A runsc container has no host cgroup of its own (gVisor's sub-containers share the pod's): its stats come from
   * inside the sandbox ({@code runsc events --stats}), as containerd's runsc shim gets them.
   */
  @Test
  void runscContainer_stats_fromInsideTheSandbox() throws Exception {
    PodSandboxConfig.Builder pod = pod(berthd, "runsc-stats");
    String podId = runPod(berthd, pod, "runsc");
    // a busy loop that also holds ~16 MiB in a shell variable
    String id = createAndStart(berthd, podId, pod, container("busy", image, "sh", "-c",
        "x=$(head -c 16777216 /dev/zero | tr '\\0' a); while :; do :; done"));
    io.berth.cri.api.ContainerStats first = awaitStats(id, 8L << 20);
    Thread.sleep(1500);
    io.berth.cri.api.ContainerStats second = berthd.runtime().containerStats(
        io.berth.cri.api.ContainerStatsRequest.newBuilder().setContainerId(id).build()).getStats();

    assertThat(second.getCpu().getUsageCoreNanoSeconds().getValue())
        .as("CPU time keeps rising").isGreaterThan(first.getCpu().getUsageCoreNanoSeconds().getValue());
    assertThat(second.getCpu().getUsageNanoCores().getValue()).as("a busy loop's rate").isGreaterThan(100_000_000L);
    assertThat(second.getMemory().getWorkingSetBytes().getValue()).isGreaterThanOrEqualTo(8L << 20);
    assertThat(berthd.runtime().listContainerStats(io.berth.cri.api.ListContainerStatsRequest.getDefaultInstance())
        .getStatsList()).filteredOn(st -> st.getAttributes().getId().equals(id))
        .singleElement().satisfies(st -> assertThat(st.getMemory().getUsageBytes().getValue()).isPositive());
    stopAndRemove(podId);
  }

  private static io.berth.cri.api.ContainerStats awaitStats(String id, long minMemory) throws InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    io.berth.cri.api.ContainerStats s;
    do {
      s = berthd.runtime().containerStats(io.berth.cri.api.ContainerStatsRequest.newBuilder().setContainerId(id)
          .build()).getStats();
      if (s.getMemory().getUsageBytes().getValue() >= minMemory) {
        return s;
      }
      Thread.sleep(200);
    } while (System.nanoTime() < deadline);
    throw new AssertionError("no memory use of " + minMemory + " bytes reported for " + id + ": " + s);
  }

  /** gVisor's netstack takes over the pod's CNI interface: the pod answers on its IP from the host. */
  @Test
  void runscPod_cniNetns_answersOnPodIpFromHost() throws Exception {
    PodSandboxConfig.Builder pod = pod(berthd, "runsc-net");
    String podId = runPod(berthd, pod, "runsc");
    String ip = berthd.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId)
        .build()).getStatus().getNetwork().getIp();
    assertThat(ip).startsWith(berthd.subnet().substring(0, berthd.subnet().lastIndexOf('.')));
    createAndStart(berthd, podId, pod, container("web", image, "httpd", "-f", "-p", "8080", "-h", "/www"));
    assertThat(httpGet(ip, 8080, "/index.html")).matches("(?s)HTTP/1\\.[01] 200 .*").endsWith("hello from berth\n");
    stopAndRemove(podId);
  }

  /** A host-network pod on runsc: berthd runs its sandbox with {@code --network=host}, on the host's stack. */
  @Test
  void runscPod_hostNetwork_listensOnTheHostsLoopback() throws Exception {
    int port;
    try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort();
    }
    PodSandboxConfig.Builder pod = pod(berthd, "runsc-hostnet");
    pod.getLinuxBuilder().getSecurityContextBuilder().getNamespaceOptionsBuilder().setNetwork(NamespaceMode.NODE);
    String podId = runPod(berthd, pod, "runsc");
    String web = createAndStart(berthd, podId, pod, container("web", image, "httpd", "-f", "-p",
        "127.0.0.1:" + port, "-h", "/www"));
    assertThat(httpGet("127.0.0.1", port, "/index.html")).matches("(?s)HTTP/1\\.[01] 200 .*")
        .endsWith("hello from berth\n");
    assertThat(Cri.exec(berthd, web, "uname", "-r").getStdout().toStringUtf8().strip()).isEqualTo(GVISOR_RELEASE);
    stopAndRemove(podId);
  }

  /**
   * A terminal container joined to the gVisor sandbox: conmon owns its terminal (runsc create got conmon's console
   * socket), so attach and resize reach it as on runc. The sandboxed process sees the new size but gets no SIGWINCH:
   * the host kernel signals the host terminal's foreground process group, and gVisor's processes are not host
   * processes (gVisor's own containerd shim resizes the same way).
   */
  @Test
  void runscContainer_ttyAndStdin_attachAndExecThroughConmon() throws Exception {
    PodSandboxConfig.Builder pod = pod(berthd, "runsc-tty");
    String podId = runPod(berthd, pod, "runsc");
    String id = createAndStart(berthd, podId, pod, container("c", image, "sh", "-c",
        "while read line; do echo said:$line:$(stty size); done").setTty(true).setStdin(true));
    String url = berthd.runtime().attach(AttachRequest.newBuilder().setContainerId(id).setTty(true)
        .setStdin(true).setStdout(true).build()).getUrl();
    try (var c = WebSocketTestClient.connect(url, V5)) {
      assertThat(c.status).isEqualTo(101);
      c.send(0, "hi\n");
      c.await(1, "said:hi:");
      c.send(4, "{\"Width\":77,\"Height\":22}");
      c.send(0, "again\n");
      c.await(1, "said:again:22 77");
    }
    String exec = berthd.runtime().exec(ExecRequest.newBuilder().setContainerId(id).addAllCmd(List.of("sh"))
        .setTty(true).setStdin(true).setStdout(true).build()).getUrl();
    try (var c = WebSocketTestClient.connect(exec, V5)) {
      c.send(4, "{\"Width\":100,\"Height\":30}");
      c.send(0, "stty size; uname -r; exit 3\n");
      c.await(1, "30 100");
      c.await(1, GVISOR_RELEASE);
      c.awaitClosed();
      assertThat(c.channel(3)).contains("\"reason\":\"NonZeroExitCode\"").contains("\"message\":\"3\"");
    }
    stopAndRemove(podId);
  }

  /** /proc/PID/cgroup of the gVisor sandbox process of a pod ({@code runsc-sandbox ... boot ... --bundle=...}). */
  private static List<String> sandboxCgroups(String podId) throws IOException {
    for (long pid : LeakCheck.processesMentioning(podId, "exe")) {
      String cmd = Files.readString(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ');
      if (cmd.startsWith("runsc-sandbox ") && cmd.contains(" boot ")) {
        return Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"));
      }
    }
    throw new AssertionError("no gVisor sandbox process for pod " + podId);
  }

  private static void stopAndRemove(String podId) {
    berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    berthd.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
  }

  private static String httpGet(String ip, int port, String path) {
    return new String(Cri.httpGet(ip, port, path), StandardCharsets.UTF_8);
  }
}
