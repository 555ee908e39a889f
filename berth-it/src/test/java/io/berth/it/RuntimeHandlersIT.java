package io.berth.it;

import static io.berth.it.Cri.container;
import static io.berth.it.Cri.createAndStart;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStatus;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.PodSandbox;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Pods on runc, crun and runsc side by side in one daemon. crun needs the test-host step
 * {@code scripts/prepare-test-host.sh} (hugetlb moved out of cgroup2); runsc's state on this machine is documented
 * by the runsc tests below.
 */
class RuntimeHandlersIT {
  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  /** runsc with host networking inside the pod's netns: the only mode runsc 20221219 accepts on this kernel. */
  @RegisterExtension
  @Order(2)
  static final BerthdProcess berthd = BerthdProcess.builder()
      .handler("runsc-hostinet", "/usr/bin/runsc", "--ignore-cgroups", "--network=host")
      .build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  static String image;

  @BeforeAll
  static void pullImage() {
    image = Cri.pushAndPull(berthd, registry, "it/handlers");
  }

  private static String hostKernel() throws Exception {
    return Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
  }

  @Test
  void podsOnRuncAndCrun_sideBySide_runWithTheirHandler() throws Exception {
    Map<String, String> containers = new LinkedHashMap<>();
    Map<String, String> pods = new LinkedHashMap<>();
    for (String handler : new String[] {"runc", "crun"}) {
      PodSandboxConfig.Builder pod = pod(berthd, "on-" + handler);
      String podId = runPod(berthd, pod, handler);
      pods.put(handler, podId);
      containers.put(handler, createAndStart(berthd, podId, pod, container("c", image, "sleep", "3600")));
    }
    // both run at the same time, each under its own runtime's state dir
    for (Map.Entry<String, String> e : containers.entrySet()) {
      ContainerStatus s = Cri.status(berthd, e.getValue());
      assertThat(s.getState()).as(e.getKey()).isEqualTo(ContainerState.CONTAINER_RUNNING);
      assertThat(Cri.exec(berthd, e.getValue(), "uname", "-r").getStdout().toStringUtf8().strip())
          .isEqualTo(hostKernel());
      assertThat(berthd.state().resolve("runtime").resolve(e.getKey()).resolve(e.getValue())).exists();
    }
    assertThat(berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList())
        .extracting(PodSandbox::getId, PodSandbox::getRuntimeHandler)
        .contains(org.assertj.core.groups.Tuple.tuple(pods.get("runc"), "runc"),
            org.assertj.core.groups.Tuple.tuple(pods.get("crun"), "crun"));
  }

  /**
   * Documents why the shipped runsc handler (gVisor's own netstack) cannot run pods here. runsc 0.0~20221219 decides
   * it runs "in the root network namespace" when {@code /proc/sys/net/core/rmem_default} exists (its isRootNS
   * heuristic in runsc/sandbox/network.go); kernels since net.core.rmem_default became per-netns show that file in
   * every namespace, so runsc refuses every pod netns. Not Berth's bug; the error reaches the client intact.
   */
  @Test
  void runscPod_defaultNetstack_refusedByRunscRootNetnsHeuristicOnThisKernel() throws Exception {
    Process p = new ProcessBuilder("unshare", "-n", "test", "-e", "/proc/sys/net/core/rmem_default").start();
    boolean fileInFreshNetns = p.waitFor() == 0;
    if (!fileInFreshNetns) {
      // an older kernel: runsc's heuristic works, and so must the pod
      String podId = runPod(berthd, pod(berthd, "runsc-netstack"), "runsc");
      assertThat(podId).isNotEmpty();
      return;
    }
    assertThatThrownBy(() -> runPod(berthd, pod(berthd, "runsc-netstack"), "runsc"))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription())
              .contains("cannot run with network enabled in root network namespace");
        });
  }

  /** With {@code --network=host} (hostinet inside the pod netns) runsc starts the pod sandbox itself. */
  @Test
  void runscPod_hostinetInPodNetns_sandboxReady() {
    String podId = runPod(berthd, pod(berthd, "runsc-hostinet"), "runsc-hostinet");
    assertThat(berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList())
        .filteredOn(s -> s.getId().equals(podId)).singleElement()
        .satisfies(s -> assertThat(s.getState().name()).isEqualTo("SANDBOX_READY"));
  }

  /**
   * KNOWN BROKEN in Berth (berth-runtime/berth-cri): a container joining a runsc pod sandbox is a runsc
   * sub-container. runsc takes a sub-container's stdio from the {@code runsc start} process (which berthd runs, not
   * conmon) and the container's process lives inside the sandbox, so conmon neither captures its output nor sees
   * its exit: the container shows EXITED with exit code -1, an empty log and finished_at before started_at. Needs a
   * runsc-aware monitor (start under conmon, or wait through {@code runsc wait}); not a minimal fix.
   */
  @Test
  @Disabled("KNOWN BROKEN: runsc sub-container stdio and exit bypass conmon (see javadoc); uname under gVisor "
      + "cannot be read from the log or ExecSync")
  void runscPod_container_unameShowsGvisorKernel() throws Exception {
    PodSandboxConfig.Builder pod = pod(berthd, "runsc-uname");
    String podId = runPod(berthd, pod, "runsc-hostinet");
    String id = createAndStart(berthd, podId, pod, container("c", image, "uname", "-r"));
    ContainerStatus s = Cri.awaitExit(berthd, id);
    assertThat(s.getExitCode()).isZero();
    String kernel = Cri.logLines(s, 1).getFirst().replaceFirst("^\\S+ stdout F ", "");
    assertThat(kernel).isNotEqualTo(hostKernel());
  }
}
