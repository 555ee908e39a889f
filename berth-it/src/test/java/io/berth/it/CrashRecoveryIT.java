package io.berth.it;

import static io.berth.it.Cri.container;
import static io.berth.it.Cri.create;
import static io.berth.it.Cri.createAndStart;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static io.berth.it.Cri.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import io.berth.cri.api.ContainerFilter;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ListContainersRequest;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.PodSandbox;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.PortMapping;
import io.berth.cri.api.Protocol;
import io.berth.cri.api.RemoveContainerRequest;
import io.berth.cri.api.RemovePodSandboxRequest;
import io.berth.cri.api.StopPodSandboxRequest;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import io.berth.testing.TestImages;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * berthd SIGKILLed at named points inside RunPodSandbox, CreateContainer, RemoveContainer and RemovePodSandbox (the
 * daemon is started with {@link BerthdProcess#startPausingAt} and blocks there), then started again: nothing the
 * cut-short call made is leaked (mounts, netns and namespace pins, IPAM addresses, veths, port mappings, conmon and
 * runtime containers, cgroups, dirs, snapshots), the pod is NOT_READY and removable or gone, and the same pod or
 * container can be made again. Also: leftovers that no record knows at all are swept at start, and nothing outside
 * berthd's own dirs and runtime roots is touched.
 */
class CrashRecoveryIT {
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
    image = Cri.pushAndPull(berthd, registry, "it/crash");
  }

  @ParameterizedTest(name = "{0} ({1})")
  @CsvSource({
      "runpod.after-record, infra-less",
      "runpod.after-netns, infra-less",
      "runpod.after-cni, infra-less",
      "runpod.after-infra, infra-less",
      "runpod.after-cni, infra",
      "runpod.after-infra, infra"})
  void runPodSandbox_killedMidway_rolledBackNotReadyAndSamePodStartsAgain(String point, String kind)
      throws Exception {
    PodSandboxConfig.Builder pod = pod(berthd, "crash-run").addPortMappings(PortMapping.newBuilder()
        .setProtocol(Protocol.TCP).setContainerPort(80).setHostPort(freePort()).setHostIp("127.0.0.1"));
    // a shared PID namespace (the CRI's default) needs an infra process (catatonit under conmon); without it the
    // pod's IPC and UTS namespaces are pinned files
    pod.getLinuxBuilder().getSecurityContextBuilder().getNamespaceOptionsBuilder()
        .setPid(kind.equals("infra") ? NamespaceMode.POD : NamespaceMode.CONTAINER);

    String log = crashDuring(point, () -> runPod(berthd, pod, ""));

    List<PodSandbox> found = podsOf(pod);
    assertThat(found).hasSize(1);
    String lost = found.getFirst().getId();
    assertThat(found.getFirst().getState()).isEqualTo(PodSandboxState.SANDBOX_NOTREADY);
    assertNothingLeftOf(lost);
    // each thing the lost start had made is swept, on a line of its own
    List<String> made = List.of("runpod.after-record", "runpod.after-netns", "runpod.after-cni", "runpod.after-infra");
    int reached = made.indexOf(point);
    if (reached >= 1) {
      assertThat(log).contains("swept sandbox dir " + berthd.state().resolve("sandboxes").resolve(lost))
          .contains("swept netns pin " + berthd.state().resolve("netns/berth-" + lost.substring(0, 16)));
    }
    if (reached >= 2) {
      assertThat(log).contains("swept CNI attachment of " + lost);
    }
    if (reached >= 3) {
      assertThat(log).contains(kind.equals("infra") ? "swept runtime container " + lost + " of runc"
          : "swept namespace pin " + berthd.state().resolve("ns").resolve(lost + "-uts"));
    }

    // the same pod (name, uid and attempt) starts again: the lost start does not hold its name
    String again = runPod(berthd, pod, "");
    assertThat(podsOf(pod)).extracting(PodSandbox::getId, PodSandbox::getState).containsExactlyInAnyOrder(
        tuple(lost, PodSandboxState.SANDBOX_NOTREADY), tuple(again, PodSandboxState.SANDBOX_READY));
    String c = createAndStart(berthd, again, pod, container("c", image, "sleep", "3600"));
    assertThat(status(berthd, c).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);

    // and the lost one is removable, as the kubelet will do
    berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(lost).build());
    berthd.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(lost).build());
    assertThat(podsOf(pod)).extracting(PodSandbox::getId).containsExactly(again);
    assertThat(Cri.exec(berthd, c, "echo", "still here").getStdout().toStringUtf8()).isEqualTo("still here\n");
  }

  @ParameterizedTest
  @ValueSource(strings = {"createcontainer.after-record", "createcontainer.after-rootfs",
      "createcontainer.after-runtime-create"})
  void createContainer_killedMidway_forgottenAndSameNameCreatedAgain(String point) throws Exception {
    PodSandboxConfig.Builder pod = pod(berthd, "crash-create");
    String podId = runPod(berthd, pod, "");

    crashDuring(point, () -> create(berthd, podId, pod, container("c", image, "sleep", "3600")));

    assertThat(podsOf(pod)).extracting(PodSandbox::getState).containsExactly(PodSandboxState.SANDBOX_READY);
    assertThat(containersOf(podId)).isEmpty();
    assertThat(entries(berthd.state().resolve("containers"))).isEmpty();
    // only the pod's infra process is left in the runtime, under its conmon
    assertThat(entries(berthd.state().resolve("containers-runtime/containers")))
        .containsExactly(berthd.state().resolve("containers-runtime/containers").resolve(podId).toString());
    assertThat(runtimeIds("runc")).containsExactly(podId);
    assertThat(LeakCheck.processesMentioning(berthd.dir().toString(), "conmon")).hasSize(1);
    assertThat(entries(berthd.root().resolve("snapshots/active"))).isEmpty();
    assertThat(LeakCheck.mountPointsUnder(berthd.state().resolve("containers"))).isEmpty();

    String c = createAndStart(berthd, podId, pod, container("c", image, "sleep", "3600"));
    assertThat(Cri.exec(berthd, c, "echo", "created again").getStdout().toStringUtf8())
        .isEqualTo("created again\n");
  }

  @Test
  void removeContainer_killedMidway_finishedAtStart() throws Exception {
    PodSandboxConfig.Builder pod = pod(berthd, "crash-rmc");
    String podId = runPod(berthd, pod, "");
    String keep = createAndStart(berthd, podId, pod, container("keep", image, "sleep", "3600"));
    String gone = createAndStart(berthd, podId, pod, container("gone", image, "sleep", "3600"));

    crashDuring("removecontainer.after-runtime-delete", () -> berthd.runtime().removeContainer(
        RemoveContainerRequest.newBuilder().setContainerId(gone).build()));

    assertThat(containersOf(podId)).containsExactly(keep);
    assertThat(status(berthd, keep).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
    assertThat(berthd.state().resolve("containers").resolve(gone)).doesNotExist();
    assertThat(berthd.root().resolve("snapshots/active").resolve(gone)).doesNotExist();
    assertThat(LeakCheck.mountPointsUnder(berthd.dir())).noneMatch(m -> m.contains(gone));
    assertThat(runtimeIds("runc")).doesNotContain(gone);
    String again = createAndStart(berthd, podId, pod, container("gone", image, "sleep", "3600"));
    assertThat(status(berthd, again).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
  }

  @Test
  void removePodSandbox_killedMidway_finishedAtStart() throws Exception {
    PodSandboxConfig.Builder pod = pod(berthd, "crash-rmp").addPortMappings(PortMapping.newBuilder()
        .setProtocol(Protocol.TCP).setContainerPort(80).setHostPort(freePort()).setHostIp("127.0.0.1"));
    String podId = runPod(berthd, pod, "");
    String c = createAndStart(berthd, podId, pod, container("c", image, "sleep", "3600"));

    crashDuring("removepod.after-containers", () -> berthd.runtime().removePodSandbox(
        RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build()));

    assertThat(podsOf(pod)).isEmpty();
    assertThat(containersOf(podId)).isEmpty();
    assertNothingLeftOf(podId);
    assertThat(berthd.state().resolve("containers").resolve(c)).doesNotExist();
    String again = runPod(berthd, pod, "");
    assertThat(podsOf(pod)).extracting(PodSandbox::getId).containsExactly(again);
  }

  @Test
  void restart_leftoversWithoutRecords_sweptAndNothingElseTouched() throws Exception {
    PodSandboxConfig.Builder pod = pod(berthd, "crash-keep");
    String podId = runPod(berthd, pod, "");
    String running = createAndStart(berthd, podId, pod, container("running", image, "sleep", "3600"));
    Path state = berthd.state();
    String podGhost = newId();
    String ctrGhost = newId();
    String snapGhost = newId();
    String monitorGhost = newId();
    String decoy = newId();
    Path decoyRoot = berthd.dir().resolve("other-runtime-root");
    Path decoyBundle = berthd.dir().resolve("decoy-bundle");
    try {
      berthd.kill();
      // what a crash could leave with no record at all, made by hand in berthd's own places:
      Path netnsPin = state.resolve("netns/berth-" + podGhost.substring(0, 16) + "-0badf00d");
      Files.createFile(netnsPin);
      run("unshare", "--net=" + netnsPin, "true");
      Path ipcPin = Files.createDirectories(state.resolve("ns")).resolve(podGhost + "-ipc");
      Files.createFile(ipcPin);
      run("unshare", "--ipc=" + ipcPin, "true");
      Path shm = Files.createDirectories(state.resolve("sandboxes").resolve(podGhost).resolve("shm"));
      run("mount", "-t", "tmpfs", "-o", "size=64k", "shm", shm.toString());
      // a runtime container under berthd's runc root, with its bundle and rootfs mount in a container dir
      Path bundle = state.resolve("containers").resolve(ctrGhost).resolve("bundle");
      writeBundle(bundle, ctrGhost);
      run("mount", "--bind", bundle.resolve("rootfs").toString(), bundle.resolve("rootfs").toString());
      runcCreate(state.resolve("runtime/runc"), bundle, ctrGhost);
      // a rootfs snapshot and a conmon dir that a create cut short before it wrote the handler
      Files.createDirectories(berthd.root().resolve("snapshots/active").resolve(snapGhost).resolve("upper"));
      Files.createDirectories(berthd.root().resolve("snapshots/active").resolve(snapGhost).resolve("work"));
      Path monitor = Files.createDirectories(state.resolve("containers-runtime/containers").resolve(monitorGhost));
      Files.writeString(monitor.resolve("bundle"), "/nonexistent");
      // and one thing outside berthd's places that it must leave alone: a container under another runc root
      writeBundle(decoyBundle, decoy);
      runcCreate(decoyRoot, decoyBundle, decoy);
      assertThat(runtimeIds("runc")).contains(ctrGhost);

      long logStart = Files.size(berthd.logFile());
      berthd.start();

      assertThat(netnsPin).doesNotExist();
      assertThat(ipcPin).doesNotExist();
      assertThat(state.resolve("sandboxes").resolve(podGhost)).doesNotExist();
      assertThat(state.resolve("containers").resolve(ctrGhost)).doesNotExist();
      assertThat(berthd.root().resolve("snapshots/active").resolve(snapGhost)).doesNotExist();
      assertThat(monitor).doesNotExist();
      assertThat(runtimeIds("runc")).doesNotContain(ctrGhost);
      assertThat(LeakCheck.mountPointsUnder(berthd.dir())).noneMatch(m -> m.contains(podGhost) || m.contains(ctrGhost));
      String log = logSince(logStart);
      for (String what : List.of("netns pin " + netnsPin, "namespace pin " + ipcPin,
          "runtime container " + ctrGhost, "sandbox dir " + state.resolve("sandboxes").resolve(podGhost),
          "container dir " + state.resolve("containers").resolve(ctrGhost), "rootfs snapshot " + snapGhost)) {
        assertThat(log).contains("swept " + what);
      }
      // what records claim, and what is not berthd's, is untouched
      assertThat(status(berthd, running).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
      assertThat(Cri.exec(berthd, running, "echo", "untouched").getStdout().toStringUtf8()).isEqualTo("untouched\n");
      assertThat(run("/usr/sbin/runc", "--root", decoyRoot.toString(), "list", "-q")).contains(decoy);
    } finally {
      run("/usr/sbin/runc", "--root", decoyRoot.toString(), "delete", "--force", decoy);
      run("rm", "-rf", "--one-file-system", decoyRoot.toString(), decoyBundle.toString());
      if (!berthd.isRunning()) {
        berthd.start();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------

  /**
   * Restarts berthd so that it pauses at {@code point}, makes the call (which blocks there), SIGKILLs berthd while it
   * is paused, and starts it again normally.
   */
  private static String crashDuring(String point, Runnable call) throws IOException {
    berthd.kill();
    berthd.startPausingAt(point);
    CompletableFuture<Void> rpc = CompletableFuture.runAsync(call);
    assertThat(berthd.awaitPaused()).isEqualTo(point);
    assertThat(rpc).isNotDone();
    berthd.kill();
    assertThat(rpc).failsWithin(30, TimeUnit.SECONDS);
    long logStart = Files.size(berthd.logFile());
    berthd.start();
    return logSince(logStart);
  }

  /** berthd's log from byte {@code start} on (what the last start logged, once it answers). */
  private static String logSince(long start) throws IOException {
    byte[] all = Files.readAllBytes(berthd.logFile());
    return new String(all, (int) start, all.length - (int) start, StandardCharsets.UTF_8);
  }

  /** Nothing named after the sandbox is left in berthd's places, the CNI network or the runtime. */
  private static void assertNothingLeftOf(String id) throws Exception {
    Path state = berthd.state();
    assertThat(entries(state.resolve("netns"))).noneMatch(p -> p.contains(id.substring(0, 16)));
    assertThat(entries(state.resolve("ns"))).noneMatch(p -> p.contains(id));
    assertThat(state.resolve("sandboxes").resolve(id)).doesNotExist();
    assertThat(state.resolve("cni-cache").resolve(id)).doesNotExist();
    assertThat(LeakCheck.mountPointsUnder(berthd.dir())).noneMatch(m -> m.contains(id.substring(0, 16)));
    // host-local writes the container id into the file of each address it hands out
    assertThat(ipamAllocations()).noneMatch(content -> content.contains(id));
    // portmap's rules carry the container id in their comments
    assertThat(run("iptables-save", "-t", "nat")).doesNotContain(id);
    assertThat(runtimeIds("runc")).doesNotContain(id);
    assertThat(LeakCheck.processesMentioning(id, "conmon")).isEmpty();
    // a veth goes with its netns; the kernel may take a moment after the pin is gone
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (bridgePorts().size() != readyPodsWithNetwork() && System.nanoTime() < deadline) {
      Cri.sleep(100);
    }
    assertThat(bridgePorts()).hasSize(readyPodsWithNetwork());
  }

  private static List<PodSandbox> podsOf(PodSandboxConfig.Builder pod) {
    return berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList().stream()
        .filter(p -> p.getMetadata().getUid().equals(pod.getMetadata().getUid())).toList();
  }

  private static int readyPodsWithNetwork() {
    return (int) berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList().stream()
        .filter(p -> p.getState() == PodSandboxState.SANDBOX_READY).count();
  }

  private static List<String> containersOf(String podId) {
    return berthd.runtime().listContainers(ListContainersRequest.newBuilder()
            .setFilter(ContainerFilter.newBuilder().setPodSandboxId(podId)).build())
        .getContainersList().stream().map(c -> c.getId()).toList();
  }

  /** The contents of host-local's address files in the test network's IPAM dir. */
  private static List<String> ipamAllocations() throws IOException {
    Path dir = berthd.dir().resolve("cni/ipam").resolve(berthd.networkName());
    List<String> out = new ArrayList<>();
    for (String name : entries(dir)) {
      Path f = Path.of(name);
      String file = f.getFileName().toString();
      if (!file.equals("lock") && !file.startsWith("last_reserved_ip")) {
        out.add(file + ": " + Files.readString(f));
      }
    }
    return out;
  }

  /** The veths attached to the test network's bridge. */
  private static List<String> bridgePorts() {
    String out = run("ip", "-o", "link", "show", "master", berthd.bridgeName());
    return out.lines().filter(l -> l.contains("master " + berthd.bridgeName())).toList();
  }

  private static List<String> runtimeIds(String handler) {
    return run("/usr/sbin/runc", "--root", berthd.state().resolve("runtime").resolve(handler).toString(), "list",
        "-q").lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
  }

  /** An OCI bundle that runs busybox's sleep, in a cgroup the leak check watches. */
  private static void writeBundle(Path bundle, String id) throws IOException {
    Path bin = Files.createDirectories(bundle.resolve("rootfs/bin"));
    Files.copy(TestImages.BUSYBOX, bin.resolve("busybox"));
    String out = run("sh", "-c", "cd '" + bundle + "' && /usr/sbin/runc spec && jq '.process.terminal = false"
        + " | .process.args = [\"/bin/busybox\", \"sleep\", \"3600\"] | .linux.cgroupsPath = \""
        + berthd.cgroupParent() + "/berth-" + id + "\"' config.json > config.json.new"
        + " && mv config.json.new config.json && echo ok");
    assertThat(out).as("runc spec in %s", bundle).contains("ok");
  }

  /** {@code runc create}: its output goes to a file, as the container's init keeps runc's stdio. */
  private static void runcCreate(Path root, Path bundle, String id) throws Exception {
    Path out = bundle.resolveSibling(bundle.getFileName() + ".create.log");
    Process p = new ProcessBuilder("/usr/sbin/runc", "--root", root.toString(), "create", "--bundle",
        bundle.toString(), id).redirectErrorStream(true).redirectOutput(out.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("runc create %s: %s", id, Files.readString(out)).isZero();
  }

  private static List<String> entries(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(Path::toString).sorted().toList();
    }
  }

  private static String newId() {
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static String run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
          new java.io.File("/dev/null"))).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(String.join(" ", cmd) + " did not finish");
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
