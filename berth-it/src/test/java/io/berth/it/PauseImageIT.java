package io.berth.it;

import static io.berth.it.Cri.container;
import static io.berth.it.Cri.createAndStart;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.ImageStatusRequest;
import io.berth.cri.api.LinuxPodSandboxConfig;
import io.berth.cri.api.LinuxSandboxSecurityContext;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.NamespaceOption;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.RemovePodSandboxRequest;
import io.berth.cri.api.StopPodSandboxRequest;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import io.berth.testing.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code [pod] infra = "image"}: a pod that needs an infra process runs the pause image's, pulled on first use. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PauseImageIT {
  private static final String PAUSE = "pause.berth.test/it/pause:1.0";

  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @RegisterExtension
  @Order(2)
  static final BerthdProcess berthd = BerthdProcess.builder().registryHost("pause.berth.test", registry)
      .pauseImage(PAUSE).build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  static String image;

  @BeforeAll
  static void images() {
    image = Cri.pushAndPull(berthd, registry, "it/app");
    // A stand-in pause image: busybox whose process waits for SIGTERM, as /pause does.
    TestImages.push(registry.url(), "it/pause", "1.0", TestImages.image().layer(TestImages.busyboxLayer().gzip()
        .build()).entrypoint("/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done").build(),
        Optional.empty());
  }

  @Test
  @Order(1) // first: it sees the pause image pulled by RunPodSandbox
  void runPodSandbox_sharedPidNamespace_pausePulledPinnedAndItsProcessIsPid1() throws Exception {
    PodSandboxConfig.Builder p = pod(berthd, "pause").setLinux(LinuxPodSandboxConfig.newBuilder()
        .setCgroupParent(berthd.cgroupParent()).setSecurityContext(LinuxSandboxSecurityContext.newBuilder()
            .setNamespaceOptions(NamespaceOption.newBuilder().setPid(NamespaceMode.POD))));
    assertThat(berthd.images().imageStatus(ImageStatusRequest.newBuilder()
        .setImage(ImageSpec.newBuilder().setImage(PAUSE)).build()).hasImage()).isFalse();

    String podId = runPod(berthd, p, "");
    var pause = berthd.images().imageStatus(ImageStatusRequest.newBuilder()
        .setImage(ImageSpec.newBuilder().setImage(PAUSE)).build());
    assertThat(pause.hasImage()).as("pulled by RunPodSandbox").isTrue();
    assertThat(pause.getImage().getPinned()).as("pinned, never pruned").isTrue();

    String id = createAndStart(berthd, podId, p, container("c", image, "sleep", "3600"));
    String pid1 = Cri.exec(berthd, id, "cat", "/proc/1/cmdline").getStdout().toStringUtf8().replace('\0', ' ');
    assertThat(pid1).startsWith("/bin/sh -c trap 'exit 0' TERM");
    Path infraRootfs;
    try (Stream<Path> dirs = Files.walk(berthd.state(), 6)) {
      infraRootfs = dirs.filter(d -> d.endsWith("bundle/rootfs") && d.toString().contains(podId)).findFirst()
          .orElseThrow();
    }
    assertThat(infraRootfs.resolve("bin/busybox")).exists();

    berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    berthd.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    assertThat(infraRootfs).doesNotExist(); // unmounted and removed with the pod (LeakCheck: no mount left)
  }

  @Test
  @Order(2)
  void runPodSandbox_ownUserNamespace_pauseRootfsIdmappedLikeTheContainers() throws Exception {
    // host ids from 70 * 65536: a range of its own (UserNamespacesIT uses 40 and up)
    long hostId = 70L * 65536;
    NamespaceOption ns = UserNamespacesIT.userns(hostId, NamespaceMode.POD);
    PodSandboxConfig.Builder p = pod(berthd, "pause-userns").setLinux(LinuxPodSandboxConfig.newBuilder()
        .setCgroupParent(berthd.cgroupParent()).setSecurityContext(LinuxSandboxSecurityContext.newBuilder()
            .setNamespaceOptions(ns)));
    String podId = runPod(berthd, p, "");
    String id = createAndStart(berthd, podId, p, UserNamespacesIT.inPod(container("c", image, "sleep", "3600"), ns));

    String pid1 = Cri.exec(berthd, id, "cat", "/proc/1/cmdline").getStdout().toStringUtf8().replace('\0', ' ');
    assertThat(pid1).as("the pause process runs in the pod").startsWith("/bin/sh -c trap 'exit 0' TERM");
    // Its rootfs is mounted idmapped, as the containers' are: the image's root-owned files show as owned by the
    // pod's root (host id hostId) seen from the host, so as root's inside the pod. Without the idmap they were the
    // host's root's, shown as nobody in the pod.
    Path infraRootfs;
    try (Stream<Path> dirs = Files.walk(berthd.state(), 6)) {
      infraRootfs = dirs.filter(d -> d.endsWith("bundle/rootfs") && d.toString().contains(podId)).findFirst()
          .orElseThrow();
    }
    assertThat(Files.getAttribute(infraRootfs.resolve("bin/busybox"), "unix:uid")).as("seen from the host")
        .isEqualTo((int) hostId);

    berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    berthd.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    assertThat(infraRootfs).doesNotExist();
  }
}
