package io.berth.it;

import static io.berth.it.Cri.container;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStatus;
import io.berth.cri.api.CreateContainerRequest;
import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.LinuxContainerConfig;
import io.berth.cri.api.LinuxContainerSecurityContext;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PullImageRequest;
import io.berth.cri.api.StartContainerRequest;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Failures give clear errors and leave nothing behind: the leak check after each test finds no mount, netns,
 * cgroup, conmon process or state directory left by the failed call.
 */
class FailuresIT {
  static final Path CNI = makeFailingCni();
  static final Path STUCK_CNI = makeStuckCni();

  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @RegisterExtension
  @Order(2)
  static final BerthdProcess berthd = BerthdProcess.builder()
      .handler("ghost", "/nonexistent/bin/ghost-runc")
      .build();

  /** A second daemon whose only network is a conflist with a plugin that fails. */
  @RegisterExtension
  @Order(3)
  static final BerthdProcess failingCni = BerthdProcess.builder()
      .cniConfDir(CNI.resolve("net.d")).cniPluginDir(CNI.resolve("bin"))
      .build();

  /** A third whose network's plugin refuses ADD and, while a marker file exists, DEL too. */
  @RegisterExtension
  @Order(4)
  static final BerthdProcess stuckCni = BerthdProcess.builder()
      .cniConfDir(STUCK_CNI.resolve("net.d")).cniPluginDir(STUCK_CNI.resolve("bin"))
      .build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  @RegisterExtension
  final LeakCheck stuckLeaks = stuckCni.leakCheck();

  @RegisterExtension
  final LeakCheck cniLeaks = failingCni.leakCheck();

  static String image;

  @BeforeAll
  static void pullImage() {
    image = Cri.pushAndPull(berthd, registry, "it/failures");
  }

  @AfterAll
  static void removeCniDirs() throws IOException {
    for (Path dir : java.util.List.of(CNI, STUCK_CNI)) {
      try (var s = Files.walk(dir)) {
        for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  private static Status.Code code(Throwable t) {
    return ((StatusRuntimeException) t).getStatus().getCode();
  }

  private static String message(Throwable t) {
    return String.valueOf(((StatusRuntimeException) t).getStatus().getDescription());
  }

  @Test
  void createContainer_imageNotPresent_notFound() {
    PodSandboxConfig.Builder pod = pod(berthd, "no-image");
    String podId = runPod(berthd, pod, "");
    String missing = registry.host() + "/it/not-pulled:1";
    assertThatThrownBy(() -> Cri.create(berthd, podId, pod, container("c", missing, "true")))
        .isInstanceOf(StatusRuntimeException.class)
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.NOT_FOUND))
        .satisfies(e -> assertThat(message(e)).contains("not-pulled"));
  }

  @Test
  void createContainer_userNotInTheImage_invalidArgumentAndItsRootfsGone() {
    PodSandboxConfig.Builder pod = pod(berthd, "no-user");
    String podId = runPod(berthd, pod, "");
    // Twice: the first reads the image's /etc/passwd once the rootfs is mounted, the second is refused from the
    // kept files while its rootfs is still being made; the leak check after the test finds neither rootfs.
    for (int attempt = 0; attempt < 2; attempt++) {
      assertThatThrownBy(() -> Cri.create(berthd, podId, pod, container("c", image, "true")
          .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
              .setRunAsUsername("ghost")))))
          .isInstanceOf(StatusRuntimeException.class)
          .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.INVALID_ARGUMENT))
          .satisfies(e -> assertThat(message(e)).contains("ghost"));
    }
  }

  @Test
  void createContainer_malformedImageReference_invalidArgumentOrNotFound() {
    PodSandboxConfig.Builder pod = pod(berthd, "bad-ref");
    String podId = runPod(berthd, pod, "");
    assertThatThrownBy(() -> Cri.create(berthd, podId, pod, container("c", "Bad::Ref@@x", "true")))
        .isInstanceOf(StatusRuntimeException.class)
        .satisfies(e -> assertThat(code(e)).isIn(Status.Code.INVALID_ARGUMENT, Status.Code.NOT_FOUND));
  }

  @Test
  void pullImage_malformedReference_invalidArgument() {
    assertThatThrownBy(() -> berthd.images().pullImage(PullImageRequest.newBuilder()
        .setImage(ImageSpec.newBuilder().setImage("127.0.0.1:1/Bad Name:tag")).build()))
        .isInstanceOf(StatusRuntimeException.class)
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.INVALID_ARGUMENT));
  }

  @Test
  void runPodSandbox_unknownHandler_invalidArgument() {
    assertThatThrownBy(() -> runPod(berthd, pod(berthd, "unknown-handler"), "no-such-handler"))
        .isInstanceOf(StatusRuntimeException.class)
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .satisfies(e -> assertThat(message(e)).contains("no-such-handler"));
    assertThat(berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()).isEmpty();
  }

  @Test
  void runPodSandbox_handlerBinaryMissing_failedPreconditionNamingIt() {
    assertThatThrownBy(() -> runPod(berthd, pod(berthd, "ghost"), "ghost"))
        .isInstanceOf(StatusRuntimeException.class)
        .satisfies(e -> assertThat(code(e)).isEqualTo(Status.Code.FAILED_PRECONDITION))
        .satisfies(e -> assertThat(message(e)).contains("/nonexistent/bin/ghost-runc"));
    assertThat(berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()).isEmpty();
    // the name was released: the same pod can run on a working handler
    assertThat(runPod(berthd, pod(berthd, "ghost"), "runc")).isNotEmpty();
  }

  @Test
  void runPodSandbox_cniPluginFails_errorWithPluginMessageAndNothingLeft() {
    assertThatThrownBy(() -> runPod(failingCni, pod(failingCni, "cni-fails"), ""))
        .isInstanceOf(StatusRuntimeException.class)
        .satisfies(e -> assertThat(message(e)).contains("berth-it failing plugin: no addresses today"));
    assertThat(failingCni.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList())
        .isEmpty();
  }

  @Test
  void runPodSandbox_cniAddFailsAndItsDelToo_podKeptNotReadyUntilRemoveReleasesIt() throws Exception {
    Path blocked = Files.writeString(STUCK_CNI.resolve("del-blocked"), "");
    Path calls = STUCK_CNI.resolve("calls");
    try {
      assertThatThrownBy(() -> runPod(stuckCni, pod(stuckCni, "cni-stuck"), ""))
          .isInstanceOf(StatusRuntimeException.class)
          .satisfies(e -> assertThat(message(e)).contains("berth-it stuck plugin: ADD refused"));

      // As containerd keeps such a sandbox: listed NOT_READY, so the kubelet stops and removes it.
      var pods = stuckCni.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList();
      assertThat(pods).hasSize(1);
      assertThat(pods.getFirst().getState()).isEqualTo(io.berth.cri.api.PodSandboxState.SANDBOX_NOTREADY);
      String podId = pods.getFirst().getId();
      assertThat(Files.readString(calls)).as("the rollback's DEL").contains("DEL " + podId);

      // While DEL still fails, removal fails and says why; the pod stays for another try.
      assertThatThrownBy(() -> stuckCni.runtime().removePodSandbox(io.berth.cri.api.RemovePodSandboxRequest
          .newBuilder().setPodSandboxId(podId).build()))
          .isInstanceOf(StatusRuntimeException.class)
          .satisfies(e -> assertThat(message(e)).contains("DEL blocked"));
      assertThat(stuckCni.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList())
          .extracting(p -> p.getId()).containsExactly(podId);

      Files.delete(blocked);
      Files.writeString(calls, "");
      stuckCni.runtime().removePodSandbox(io.berth.cri.api.RemovePodSandboxRequest.newBuilder()
          .setPodSandboxId(podId).build());

      assertThat(Files.readString(calls)).as("DEL run again, now successfully").contains("DEL " + podId);
      assertThat(stuckCni.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList())
          .isEmpty();
      // the name is free again
      assertThatThrownBy(() -> runPod(stuckCni, pod(stuckCni, "cni-stuck"), ""))
          .satisfies(e -> assertThat(message((StatusRuntimeException) e)).contains("ADD refused"));
      assertThat(stuckCni.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList())
          .as("DEL worked this time: nothing kept").isEmpty();
    } finally {
      Files.deleteIfExists(blocked);
    }
  }

  @Test
  void container_commandDoesNotExist_clearErrorAndNothingLeft() {
    PodSandboxConfig.Builder pod = pod(berthd, "no-command");
    String podId = runPod(berthd, pod, "");
    String cmd = "/no/such/binary";
    String id;
    try {
      id = berthd.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(podId)
          .setConfig(container("c", image, cmd)).setSandboxConfig(pod).build()).getContainerId();
    } catch (StatusRuntimeException e) {
      assertThat(message(e)).contains(cmd);
      return;
    }
    String created = id;
    assertThatThrownBy(() -> berthd.runtime().startContainer(StartContainerRequest.newBuilder()
        .setContainerId(created).build()))
        .isInstanceOf(StatusRuntimeException.class)
        .satisfies(e -> assertThat(message(e)).contains(cmd));
    ContainerStatus s = Cri.status(berthd, created);
    assertThat(s.getState()).isIn(ContainerState.CONTAINER_EXITED, ContainerState.CONTAINER_CREATED);
    if (s.getState() == ContainerState.CONTAINER_EXITED) {
      assertThat(s.getExitCode()).isNotZero();
      assertThat(s.getMessage()).contains(cmd);
    }
  }

  /**
   * A CNI plugin that refuses every ADD and refuses DEL while {@code del-blocked} exists next to it; it notes each
   * DEL in {@code calls}.
   */
  private static Path makeStuckCni() {
    return cniWithOnePlugin("berth-it-stuck", """
        case "$CNI_COMMAND" in
        VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}'; exit 0 ;;
        DEL)
          echo "DEL $CNI_CONTAINERID" >> "$DIR/calls"
          if [ -e "$DIR/del-blocked" ]; then
            echo '{"cniVersion":"1.0.0","code":11,"msg":"berth-it stuck plugin: DEL blocked"}'; exit 1
          fi
          exit 0 ;;
        esac
        echo '{"cniVersion":"1.0.0","code":11,"msg":"berth-it stuck plugin: ADD refused"}'
        exit 1
        """);
  }

  /** A CNI plugin that prints a CNI error result and exits 1, as the spec says a failing plugin does. */
  private static Path makeFailingCni() {
    return cniWithOnePlugin("berth-it-fail", """
        if [ "$CNI_COMMAND" = VERSION ]; then
          echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}'; exit 0
        fi
        if [ "$CNI_COMMAND" = DEL ]; then exit 0; fi
        echo '{"cniVersion":"1.0.0","code":11,"msg":"berth-it failing plugin: no addresses today"}'
        exit 1
        """);
  }

  /**
   * A temp dir with {@code bin/NAME}, a shell plugin running {@code body} after reading its config ({@code $DIR} is
   * the temp dir), and {@code net.d/} with one conflist of just that plugin.
   */
  private static Path cniWithOnePlugin(String name, String body) {
    try {
      Path dir = Files.createTempDirectory(Path.of("/tmp"), name + "-");
      Path plugin = Files.createDirectories(dir.resolve("bin")).resolve(name);
      Files.writeString(plugin, "#!/bin/sh\nDIR='" + dir + "'\ncat >/dev/null\n" + body);
      Files.setPosixFilePermissions(plugin, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.writeString(Files.createDirectories(dir.resolve("net.d")).resolve("10-" + name + ".conflist"), """
          {"cniVersion": "1.0.0", "name": "%1$s", "plugins": [{"type": "%1$s"}]}
          """.formatted(name));
      return dir;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
